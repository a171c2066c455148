package front

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ParseBackends reads a comma-separated list of backends, each host:port
// (taken as http://host:port) or an http:// URL with no path, as the front
// command's -backends flag gives them.
func ParseBackends(list string) ([]*url.URL, error) {
	var out []*url.URL
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "://") {
			item = "http://" + item
		}
		u, err := url.Parse(item)
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", item, err)
		}
		out = append(out, u)
	}
	if err := checkBackends(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkBackends refuses what the proxy could not forward to as given: it
// speaks plain HTTP to host:port and keeps the request's own path.
func checkBackends(backends []*url.URL) error {
	if len(backends) == 0 {
		return errors.New("no backend")
	}
	for _, u := range backends {
		if u.Scheme != "http" {
			return fmt.Errorf("backend %s: want http://host:port", u)
		}
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return fmt.Errorf("backend %s: want http://host:port", u)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("backend %s: want no path, query or user", u)
		}
	}
	return nil
}

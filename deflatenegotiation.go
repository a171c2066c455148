package websocket

import (
	"fmt"
	"strconv"
	"strings"
)

// The negotiation of permessage-deflate (RFC 7692 section 7), for both
// roles: a server answers the client's offers, a client checks the
// server's answer to its own.

// deflateParams is a negotiated permessage-deflate, from this side's point
// of view, so that one Conn serves both roles: on a server localNoContext
// is server_no_context_takeover and peerNoContext client_no_context_takeover;
// on a client the other way round.
type deflateParams struct {
	localNoContext bool // our compressor starts afresh for each message
	peerNoContext  bool // the peer's does, so our decompressor keeps no window
}

// negotiateDeflate takes the first offer of permessage-deflate in the
// client's Sec-WebSocket-Extensions headers that mode can accept, and
// returns its parameters and the response header's value. An offer with a
// malformed, duplicated or unknown parameter is declined, as is one that
// limits our window below 32 KiB (our compressor always uses all of it).
func negotiateDeflate(headers []string, mode CompressionMode) (deflateParams, string, bool) {
	if mode == CompressionDisabled {
		return deflateParams{}, "", false
	}
	for _, line := range headers {
		for _, offer := range strings.Split(line, ",") {
			p, ok := parseDeflateOffer(offer)
			if !ok {
				continue
			}
			if mode == CompressionNoContextTakeover {
				p = deflateParams{localNoContext: true, peerNoContext: true}
			}
			resp := "permessage-deflate"
			if p.localNoContext {
				resp += "; server_no_context_takeover"
			}
			if p.peerNoContext {
				resp += "; client_no_context_takeover"
			}
			return p, resp, true
		}
	}
	return deflateParams{}, "", false
}

// parseDeflateOffer parses one extension offer; ok is false when it is not
// an acceptable permessage-deflate offer.
func parseDeflateOffer(offer string) (p deflateParams, ok bool) {
	parts := strings.Split(offer, ";")
	if !strings.EqualFold(strings.TrimSpace(parts[0]), "permessage-deflate") {
		return p, false
	}
	seen := map[string]bool{}
	for _, param := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.TrimSpace(param), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return p, false // [RFC7692 7]: a duplicated parameter declines the offer
		}
		seen[name] = true
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		switch name {
		case "server_no_context_takeover":
			if hasValue {
				return p, false
			}
			p.localNoContext = true
		case "client_no_context_takeover":
			if hasValue {
				return p, false
			}
			p.peerNoContext = true
		case "server_max_window_bits":
			// Our compressor always uses the whole window.
			if bits, err := strconv.Atoi(value); !hasValue || err != nil || bits != 15 {
				return p, false
			}
		case "client_max_window_bits":
			// A client able to limit its window; ours takes any window.
			if hasValue {
				if bits, err := strconv.Atoi(value); err != nil || bits < 8 || bits > 15 {
					return p, false
				}
			}
		default:
			return p, false
		}
	}
	return p, true
}

// deflateOffers are the Sec-WebSocket-Extensions a client sends for each
// mode. client_max_window_bits is never offered: our compressor always
// uses the whole 32 KiB window.
var deflateOffers = [...]string{
	CompressionNoContextTakeover: "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
	CompressionContextTakeover:   "permessage-deflate",
}

// acceptDeflate checks the extensions the server accepted against our
// offer: none, or permessage-deflate once when we offered it, with
// parameters we can keep to (RFC 7692 section 7.1). It returns the
// parameters from our side: nil for no compression.
func acceptDeflate(headers []string, mode CompressionMode) (*deflateParams, error) {
	var params *deflateParams
	for _, line := range headers {
		for _, ext := range strings.Split(line, ",") {
			if strings.TrimSpace(ext) == "" {
				continue
			}
			parts := strings.Split(ext, ";")
			name := strings.TrimSpace(parts[0])
			if !strings.EqualFold(name, "permessage-deflate") || mode == CompressionDisabled {
				return nil, fmt.Errorf("the server accepted extension %q, which was not offered", name)
			}
			if params != nil {
				return nil, fmt.Errorf("the server accepted permessage-deflate twice")
			}
			p, err := parseDeflateAnswer(parts[1:])
			if err != nil {
				return nil, fmt.Errorf("permessage-deflate: %w", err)
			}
			if mode == CompressionNoContextTakeover {
				// We offered client_no_context_takeover and keep to it,
				// whether or not the server took it up.
				p.localNoContext = true
			}
			params = &p
		}
	}
	return params, nil
}

// parseDeflateAnswer reads the parameters of the server's
// permessage-deflate, from the client's side.
func parseDeflateAnswer(params []string) (deflateParams, error) {
	var p deflateParams
	seen := map[string]bool{}
	for _, param := range params {
		name, value, hasValue := strings.Cut(strings.TrimSpace(param), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return p, fmt.Errorf("parameter %s given twice", name)
		}
		seen[name] = true
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch name {
		case "server_no_context_takeover":
			if hasValue {
				return p, fmt.Errorf("server_no_context_takeover has a value")
			}
			p.peerNoContext = true
		case "client_no_context_takeover":
			if hasValue {
				return p, fmt.Errorf("client_no_context_takeover has a value")
			}
			p.localNoContext = true
		case "server_max_window_bits":
			// Our decompressor reads a stream of any window size.
			if bits, err := strconv.Atoi(value); !hasValue || err != nil || bits < 8 || bits > 15 {
				return p, fmt.Errorf("server_max_window_bits=%q is not 8 to 15", value)
			}
		case "client_max_window_bits":
			// Never offered. [RFC7692 7.1.2.2] would have the client fail
			// on it; 15 asks nothing our compressor does not do anyway,
			// so only a smaller window, which it cannot keep to, fails.
			if bits, err := strconv.Atoi(value); !hasValue || err != nil || bits != 15 {
				return p, fmt.Errorf("client_max_window_bits=%q asks for a window our compressor cannot keep to (it uses 15 bits)", value)
			}
		default:
			return p, fmt.Errorf("unknown parameter %q", name)
		}
	}
	return p, nil
}

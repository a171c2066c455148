package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file tests what stands between the client and the server: a proxy,
// TLS, timeouts, cancellation and cookies.

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that wants basic
// credentials user:secret and records the targets it was asked for.
type connectProxy struct {
	url     *url.URL
	targets chan string
	wg      sync.WaitGroup
}

func startConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectProxy{url: &url.URL{Scheme: "http", Host: ln.Addr().String()}, targets: make(chan string, 4)}
	var mu sync.Mutex
	var open []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			track(conn)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(conn, track)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) serve(conn net.Conn, track func(net.Conn)) {
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	user, pass, ok := (&http.Request{Header: http.Header{"Authorization": req.Header.Values("Proxy-Authorization")}}).BasicAuth()
	if !ok || user != "user" || pass != "secret" {
		_, _ = io.WriteString(conn, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(conn, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.targets <- req.Host
	upstream, err := net.Dial("tcp", req.Host)
	if err != nil {
		_, _ = io.WriteString(conn, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	track(upstream)
	_, _ = io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(upstream, br)
		_ = upstream.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(conn, upstream)
	_ = conn.(*net.TCPConn).CloseWrite()
	<-done
}

// TestDialProxy: a ws:// dial through an HTTP proxy, with the proxy's
// credentials from its URL.
func TestDialProxy(t *testing.T) {
	proxy := startConnectProxy(t)
	srv, conns := startServer(t, &Upgrader{})
	target := srv.Listener.Addr().String()
	withCreds := *proxy.url
	withCreds.User = url.UserPassword("user", "secret")
	d := &Dialer{Proxy: http.ProxyURL(&withCreds)}
	client, _, err := d.Dial("ws://"+target+"/", nil)
	require.NoError(t, err)
	assert.Equal(t, target, <-proxy.targets)
	server := <-conns
	echo(server)
	require.NoError(t, client.WriteMessage(TextMessage, []byte("through the tunnel")))
	_, got, err := client.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "through the tunnel", string(got))
	require.NoError(t, client.Close(StatusNormalClosure, ""))

	wrongCreds := *proxy.url
	wrongCreds.User = url.UserPassword("user", "guess")
	_, resp, err := (&Dialer{Proxy: http.ProxyURL(&wrongCreds)}).Dial("ws://"+target+"/", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused to CONNECT to "+target+": 407 Proxy Authentication Required")
	assert.Nil(t, resp)
}

// TestDialTLS: wss:// with the test server's certificate; the caller's
// tls.Config is not changed.
func TestDialTLS(t *testing.T) {
	conns := make(chan *Conn, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	before := cfg.Clone()
	d := &Dialer{TLSClientConfig: cfg}
	client, resp, err := d.Dial("wss://"+srv.Listener.Addr().String()+"/", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Terminate() })
	server := <-conns
	t.Cleanup(func() { _ = server.Terminate() })
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, before.ServerName, cfg.ServerName, "the caller's config")
	assert.Equal(t, before.NextProtos, cfg.NextProtos, "the caller's config")
	echo(server)
	require.NoError(t, client.WriteMessage(BinaryMessage, make([]byte, 100<<10)))
	_, got, err := client.ReadMessage()
	require.NoError(t, err)
	assert.Len(t, got, 100<<10)
	require.NoError(t, client.Close(StatusNormalClosure, ""))
	assert.True(t, client.CloseEvent().WasClean)

	// wss through a proxy: TLS runs inside the tunnel, with the server's
	// name, not the proxy's.
	proxy := startConnectProxy(t)
	withCreds := *proxy.url
	withCreds.User = url.UserPassword("user", "secret")
	d.Proxy = http.ProxyURL(&withCreds)
	tunnelled, _, err := d.Dial("wss://"+srv.Listener.Addr().String()+"/", nil)
	require.NoError(t, err)
	assert.Equal(t, srv.Listener.Addr().String(), <-proxy.targets)
	other := <-conns
	t.Cleanup(func() { _ = other.Terminate() })
	echo(other)
	require.NoError(t, tunnelled.WriteMessage(TextMessage, []byte("tls in a tunnel")))
	_, got, err = tunnelled.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "tls in a tunnel", string(got))
	require.NoError(t, tunnelled.Close(StatusNormalClosure, ""))

	// Without the test's root, the certificate is refused.
	_, _, err = Dial(context.Background(), "wss://"+srv.Listener.Addr().String()+"/", nil)
	var unknown *tls.CertificateVerificationError
	assert.ErrorAs(t, err, &unknown)
}

// silentServer accepts connections on 127.0.0.1, reads what they send and
// never answers; got receives a signal once a request has arrived.
func silentServer(t *testing.T) (addr string, got <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	signal := make(chan struct{}, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
					signal <- struct{}{}
				}
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), signal
}

// TestDialHandshakeTimeout: a server that never answers fails the dial
// once HandshakeTimeout has passed.
func TestDialHandshakeTimeout(t *testing.T) {
	addr, _ := silentServer(t)
	d := &Dialer{HandshakeTimeout: 50 * time.Millisecond}
	c, resp, err := d.Dial("ws://"+addr+"/", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "handshake timeout of 50ms passed")
	assert.Nil(t, c)
	assert.Nil(t, resp)
}

// TestDialCancel: cancelling the context ends a dial that waits for the
// server's answer.
func TestDialCancel(t *testing.T) {
	addr, got := silentServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-got
		cancel()
	}()
	c, _, err := Dial(ctx, "ws://"+addr+"/", nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, c)
}

// TestDialCookies: the jar's cookies go with the request, and those the
// 101 sets land in the jar.
func TestDialCookies(t *testing.T) {
	sent := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("session")
		if err == nil {
			sent <- ck.Value
		} else {
			sent <- ""
		}
		c, err := (&Upgrader{}).Upgrade(w, r, http.Header{"Set-Cookie": {"seen=yes; Path=/"}})
		if err == nil {
			_ = c.Terminate()
		}
	}))
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	httpURL, err := url.Parse(srv.URL)
	require.NoError(t, err)
	jar.SetCookies(httpURL, []*http.Cookie{{Name: "session", Value: "abc", Path: "/"}})
	c, _, err := (&Dialer{Jar: jar}).Dial("ws://"+httpURL.Host+"/", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Terminate() })
	assert.Equal(t, "abc", <-sent)
	var names []string
	for _, ck := range jar.Cookies(httpURL) {
		names = append(names, ck.Name+"="+ck.Value)
	}
	assert.ElementsMatch(t, []string{"session=abc", "seen=yes"}, names)
}

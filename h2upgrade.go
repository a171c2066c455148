package websocket

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The opening handshake over HTTP/2 (RFC 8441): the client opens a
// stream with an extended CONNECT, and a 200 answer makes the stream the
// WebSocket's byte stream. The key and accept of RFC 6455 have no part
// in it (section 5: the :protocol pseudo-header does their job); the
// version, origin, subprotocol and extension headers mean what they mean
// over HTTP/1.1.

// protocolHeader is where net/http puts the :protocol pseudo-header of an
// extended CONNECT.
const protocolHeader = ":protocol"

// upgradeH2 is Upgrade for an HTTP/2 request.
func (u *Upgrader) upgradeH2(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*Conn, error) {
	subprotocol, herr := u.checkExtendedConnect(r)
	if herr == nil {
		herr = u.checkDraining()
	}
	if herr != nil {
		return nil, u.refuseRequest(w, r, herr)
	}

	cfg := u.config(subprotocol)
	var extensions string
	if params, offer, ok := negotiateDeflate(r.Header.Values("Sec-Websocket-Extensions"), u.Compression); ok {
		cfg.deflate, extensions = &params, offer
	}
	h := w.Header()
	for k, vs := range responseHeader {
		if handshakeHeaders[http.CanonicalHeaderKey(k)] || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vs {
			if httpguts.ValidHeaderFieldValue(v) {
				h.Add(k, v)
			}
		}
	}
	if subprotocol != "" {
		h.Set("Sec-Websocket-Protocol", subprotocol)
	}
	if extensions != "" {
		h.Set("Sec-Websocket-Extensions", extensions)
	}

	s := newH2Stream(w, r)
	// The http.Server's ReadTimeout and WriteTimeout bound the request,
	// not the WebSocket, as they do over HTTP/1.1, where the hijack lifts
	// them: net/http would reset the stream when they pass.
	_ = s.rc.SetReadDeadline(time.Time{})
	_ = s.rc.SetWriteDeadline(time.Time{})
	// open bounds the answer's flush by the close timeout: a client that
	// does not read cannot hold the handler in it. A failed answer ends
	// the Conn, which resets the stream.
	c, err := u.open(s, cfg, func() error {
		w.WriteHeader(http.StatusOK)
		if _, err := s.Write(nil); err != nil {
			return fmt.Errorf("websocket: failed to send the HTTP/2 handshake response: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.watch(r.Context(), func() { c.abort(errStreamGone, SidePeer) })
	return c, nil
}

// checkExtendedConnect applies RFC 8441 sections 4 and 5 to an HTTP/2
// request and returns the chosen subprotocol.
func (u *Upgrader) checkExtendedConnect(r *http.Request) (subprotocol string, err *handshakeError) {
	if r.Method != http.MethodConnect {
		e := refuse(http.StatusMethodNotAllowed, RefusalMethod, "websocket: over HTTP/2 the handshake must be a CONNECT request")
		e.header = http.Header{"Allow": {http.MethodConnect}}
		return "", e
	}
	// [RFC8441 5]: "The :protocol pseudo-header field included in the
	// CONNECT request indicates that the stream is to be used for the
	// WebSocket Protocol. The value of this field MUST be 'websocket'."
	protocol := r.Header.Values(protocolHeader)
	if len(protocol) == 0 {
		return "", refuse(http.StatusBadRequest, RefusalProtocol, "websocket: the CONNECT request has no :protocol: it is not an extended CONNECT (RFC 8441)")
	}
	if len(protocol) != 1 || !strings.EqualFold(protocol[0], "websocket") {
		// RFC 9220 section 3 asks for 501 for a protocol the server does
		// not serve.
		return "", refuse(http.StatusNotImplemented, RefusalProtocol, "websocket: the extended CONNECT's :protocol is not websocket")
	}
	// The stream carries the WebSocket frames: a request with a length
	// announces a body of its own, one with none ended its stream with
	// its headers.
	if r.ContentLength != -1 {
		return "", refuse(http.StatusBadRequest, RefusalBody, "websocket: the extended CONNECT has a Content-Length or ended its stream")
	}
	// 426 needs an Upgrade header, which HTTP/2 does not have.
	if e := checkVersion(r, http.StatusBadRequest); e != nil {
		return "", e
	}
	if e := u.checkOrigin(r); e != nil {
		return "", e
	}
	return u.chooseSubprotocol(r), nil
}

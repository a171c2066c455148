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
	// localWindowBits limits how far back our compressor may refer, as a
	// power of two (8 to 14; 0 for the whole 32 KiB window): the peer's
	// decompressor keeps no more. Our decompressor takes any window.
	localWindowBits uint8
}

// windowBits is the negotiated limit of our compressor's window: 15, or
// less when the peer asked for less.
func (p deflateParams) windowBits() int {
	if p.localWindowBits == 0 {
		return maxWindowBits
	}
	return int(p.localWindowBits)
}

// The window sizes of RFC 7692 section 7.1.2, as powers of two.
const (
	minWindowBits = 8
	maxWindowBits = 15
)

// parseWindowBits reads a max_window_bits value: 8 to 15.
func parseWindowBits(value string) (uint8, bool) {
	bits, err := strconv.Atoi(value)
	if err != nil || bits < minWindowBits || bits > maxWindowBits {
		return 0, false
	}
	return uint8(bits), true
}

// negotiateDeflate takes the first offer of permessage-deflate in the
// client's Sec-WebSocket-Extensions headers that mode can accept, and
// returns its parameters and the response header's value. An offer with a
// malformed, duplicated or unknown parameter is declined. One that limits
// our window (server_max_window_bits) is accepted with that limit, which
// our compressor keeps to.
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
				p.localNoContext, p.peerNoContext = true, true
			}
			resp := "permessage-deflate"
			if p.localNoContext {
				resp += "; server_no_context_takeover"
			}
			if p.peerNoContext {
				resp += "; client_no_context_takeover"
			}
			if p.localWindowBits != 0 {
				// [RFC7692 7.1.2.1]: accepted by answering with it.
				resp += "; server_max_window_bits=" + strconv.Itoa(int(p.localWindowBits))
			}
			if p.localWindowBits == maxWindowBits {
				p.localWindowBits = 0 // the whole window: the usual compressor
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
	params, err := splitDeflateParams(parts[1:])
	if err != nil {
		return p, false // [RFC7692 7]: a duplicated parameter declines the offer
	}
	for _, param := range params {
		name, value, hasValue := param.name, param.value, param.hasValue
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
			bits, valid := parseWindowBits(value)
			if !hasValue || !valid {
				return p, false
			}
			p.localWindowBits = bits
		case "client_max_window_bits":
			// A client able to limit its window; our decompressor takes
			// any window, so we ask for no limit.
			if hasValue {
				if _, valid := parseWindowBits(value); !valid {
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
// mode. client_max_window_bits says that our compressor can keep to a
// smaller window if the server asks, as browsers say.
var deflateOffers = [...]string{
	CompressionNoContextTakeover: "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits",
	CompressionContextTakeover:   "permessage-deflate; client_max_window_bits",
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
	split, err := splitDeflateParams(params)
	if err != nil {
		return p, err
	}
	for _, param := range split {
		name, value, hasValue := param.name, param.value, param.hasValue
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
			if _, valid := parseWindowBits(value); !hasValue || !valid {
				return p, fmt.Errorf("server_max_window_bits=%q is not 8 to 15", value)
			}
		case "client_max_window_bits":
			// Offered without a value: the server may limit our window.
			bits, valid := parseWindowBits(value)
			if !hasValue || !valid {
				return p, fmt.Errorf("client_max_window_bits=%q is not 8 to 15", value)
			}
			if bits < maxWindowBits {
				p.localWindowBits = bits
			}
		default:
			return p, fmt.Errorf("unknown parameter %q", name)
		}
	}
	return p, nil
}

// deflateParam is one parameter of a permessage-deflate offer or answer.
type deflateParam struct {
	name     string // in lower case
	value    string // without its quotes
	hasValue bool
}

// splitDeflateParams reads the parameters of an offer or an answer, the
// same way for both roles. A parameter given twice is an error ([RFC7692
// 7]).
func splitDeflateParams(raw []string) ([]deflateParam, error) {
	params := make([]deflateParam, 0, len(raw))
	for _, r := range raw {
		name, value, hasValue := strings.Cut(strings.TrimSpace(r), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		for _, q := range params {
			if q.name == name {
				return nil, fmt.Errorf("parameter %s given twice", name)
			}
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		params = append(params, deflateParam{name: name, value: value, hasValue: hasValue})
	}
	return params, nil
}

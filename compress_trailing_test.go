package websocket

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// finalBlockPayload is data compressed into a deflate stream that ends
// with a final block (the compressor closed, not flushed), as a message's
// payload may legally be.
func finalBlockPayload(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	fw, err := flate.NewWriter(&out, flate.BestSpeed)
	require.NoError(t, err)
	_, _ = fw.Write(data)
	require.NoError(t, fw.Close())
	return out.Bytes()
}

// TestBytesAfterFinalBlock: a compressed message whose deflate stream ends
// with a final block is read whole; any byte after that block fails the
// connection with 1007, whether it stands in the same frame or a later
// fragment, in a small frame or one too large to read whole, and through
// ReadMessage or NextReader.
func TestBytesAfterFinalBlock(t *testing.T) {
	small := []byte("a message that ends with a final block")
	large := make([]byte, 70<<10)
	for i := range large {
		large[i] = byte(i*7 + i/300)
	}
	tests := []struct {
		name  string
		data  []byte
		extra int  // bytes after the final block
		later bool // the extra bytes come in a continuation frame
	}{
		{"small, nothing after", small, 0, false},
		{"large, nothing after", large, 0, false},
		{"small, 3 bytes in the frame", small, 3, false},
		{"small, 60000 bytes in the frame", small, 60_000, false},
		{"large, 3 bytes in the frame", large, 3, false},
		{"large, 60000 bytes in the frame", large, 60_000, false},
		{"small, 3 bytes in a later fragment", small, 3, true},
		{"large, 60000 bytes in a later fragment", large, 60_000, true},
		{"small, the tail itself after", small, -1, false},
	}
	for _, api := range []string{"ReadMessage", "NextReader"} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s", api, tt.name), func(t *testing.T) {
				p, c, _ := connectDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover}, "permessage-deflate")
				payload := finalBlockPayload(t, tt.data)
				var extra []byte
				switch {
				case tt.extra < 0:
					extra = deflateTail[:]
				case tt.extra > 0:
					extra = bytes.Repeat([]byte{0x5a}, tt.extra)
				}
				go func() {
					if tt.later {
						p.sendRaw(append(p.frame(rsv1|wBinary, payload), p.frame(fin|wCont, extra)...))
					} else {
						p.send(fin|rsv1|wBinary, append(payload, extra...))
					}
				}()
				type result struct {
					got []byte
					err error
				}
				done := make(chan result, 1)
				go func() {
					var res result
					if api == "ReadMessage" {
						_, res.got, res.err = c.ReadMessage()
					} else {
						var r io.Reader
						if _, r, res.err = c.NextReader(); res.err == nil {
							res.got, res.err = io.ReadAll(r)
						}
					}
					done <- res
				}()
				if len(extra) == 0 {
					res := <-done
					require.NoError(t, res.err)
					assert.True(t, bytes.Equal(tt.data, res.got), "the message as sent")
					return
				}
				assert.Equal(t, "invalid compressed data", p.wantClose(StatusInvalidFramePayloadData))
				p.wantEOF()
				p.conn.Close()
				res := <-done
				require.ErrorIs(t, res.err, ErrBadCompressedData)
				assert.NotErrorIs(t, res.err, ErrInvalidUTF8)
			})
		}
	}
}

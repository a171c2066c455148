package websocket

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// The client's side of masking (RFC 6455 section 5.3): every frame a
// client sends is masked with a fresh key, into buffers of the Conn's, so
// that the caller's slices stay as they are.

// writeMasked writes a client's frame whose payload is the caller's data:
// the caller's slice must stay as it is, so the payload is copied through
// a pooled buffer, a chunk at a time, and masked there. The caller holds
// frameLock.
func (c *Conn) writeMasked(hdr []byte, key [4]byte, data []byte) error {
	buf := streamPool.get()
	defer streamPool.put(buf)
	b := *buf
	start := maxHeaderSize - len(hdr) // the header leaves with the first chunk
	copy(b[start:], hdr)
	pos := 0
	for len(data) > 0 {
		n := copy(b[maxHeaderSize:], data)
		pos = mask(key, pos, b[maxHeaderSize:maxHeaderSize+n])
		if _, err := c.stream.Write(b[start : maxHeaderSize+n]); err != nil {
			return err
		}
		data = data[n:]
		start = maxHeaderSize
	}
	return nil
}

// newMaskKey returns the masking key of a client's frame. [RFC6455 10.3]:
// the key must be unpredictable to whoever chose the payload, so that a
// script cannot make the masked bytes look like another protocol to a
// proxy: "derived from a strong source of entropy". Keys come from
// ChaCha8 generators (math/rand/v2 documents ChaCha8 as cryptographically
// strong), each seeded from crypto/rand when the pool makes it: a draw
// costs neither a system call, as crypto/rand would per frame, nor an
// allocation.
func newMaskKey() [4]byte {
	g := maskKeys.Get().(*rand.ChaCha8)
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], uint32(g.Uint64()))
	maskKeys.Put(g)
	return k
}

// maskKeys holds the generators of newMaskKey.
var maskKeys = sync.Pool{New: func() any {
	var seed [32]byte
	_, _ = cryptorand.Read(seed[:]) // never fails (crypto/rand)
	return rand.NewChaCha8(seed)
}}

//go:build !amd64 || purego

package websocket

import "encoding/binary"

// maskBlocks XORs b, whose length is a multiple of 64, with the key stream
// k64 repeated, a machine word at a time.
func maskBlocks(b []byte, k64 uint64) {
	for len(b) >= 32 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k64)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k64)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k64)
		b = b[32:]
	}
}

//go:build !amd64 || purego

package websocket

// maskBlocks XORs b, whose length is a multiple of 64, with the key stream
// k64 repeated, a machine word at a time.
func maskBlocks(b []byte, k64 uint64) { maskWords(b, k64) }

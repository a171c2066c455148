//go:build !purego

package websocket

// maskBlocks XORs b, whose length is a multiple of 64, with the key stream
// k64 repeated, 16 bytes at a time in SSE2 registers, which every amd64
// CPU has: twice the speed of the word loop of mask_generic.go
// (BenchmarkMask, 64 KiB: about 45 against 23 GB/s). AVX2 measured 75
// GB/s, but would need CPU detection for about 1 % of a server's CPU at
// 64 KiB messages. In mask_amd64.s; the build tag purego leaves it out.
//
//go:noescape
func maskBlocks(b []byte, k64 uint64)

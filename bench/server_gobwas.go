package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// serveGobwas accepts TCP itself and upgrades with gobwas's zero-copy
// upgrader, then runs the low-level frame loop.
func (s *echoServer) serveGobwas() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.gobwasConn(nc)
	}
}

// gobwasConn is gobwas's low-level loop (ws.ReadHeader, ws.Cipher,
// ws.WriteHeader) with buffers kept per connection: a 4 KiB bufio reader
// and writer, a payload buffer that grows to the largest message, and
// header scratch space. Frames are echoed one for one.
//
// With permessage-deflate (wsflate, no context takeover: wsflate's helpers
// have no other mode) a compressed frame is inflated and the result
// deflated again with wsflate's Reader and Writer around compress/flate at
// BestSpeed, taken from pools for the one message, into buffers kept per
// connection. It must be a whole message: this loop does not reassemble
// fragments (the load generator never fragments).
type gobwasConn struct {
	nc      net.Conn
	br      *bufio.Reader
	hr      [ws.MaxHeaderSize]byte
	payload []byte

	deflate bool         // permessage-deflate negotiated
	zsrc    bytes.Reader // a compressed payload being inflated
	plain   []byte       // its inflated bytes
	zout    sliceWriter  // those bytes deflated again

	wmu       sync.Mutex // guards the fields below: the close storm writes from another goroutine
	closeSent bool
	bw        *bufio.Writer
	hw        [ws.MaxHeaderSize]byte
	hb        sliceWriter
	vec       [2][]byte
	bufs      net.Buffers
}

func (s *echoServer) gobwasConn(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	var ext *wsflate.Extension
	if s.gobwas != nil {
		ext = &wsflate.Extension{Parameters: *s.gobwas}
		u := ws.Upgrader{Negotiate: ext.Negotiate}
		if _, err := u.Upgrade(nc); err != nil {
			return
		}
	} else if _, err := ws.Upgrade(nc); err != nil {
		return
	}
	_ = nc.SetDeadline(time.Time{})
	g := &gobwasConn{
		nc: nc,
		br: bufio.NewReaderSize(nc, 4096),
		bw: bufio.NewWriterSize(nc, 4096),
	}
	if ext != nil {
		_, g.deflate = ext.Accepted()
	}
	g.hb.b = make([]byte, 0, ws.MaxHeaderSize)
	s.track(g, func() error {
		g.wmu.Lock()
		defer g.wmu.Unlock()
		g.closeSent = true
		_ = nc.SetReadDeadline(time.Now().Add(closeWait))
		body := ws.NewCloseFrameBody(ws.StatusNormalClosure, "")
		return g.writeLocked(ws.Header{Fin: true, OpCode: ws.OpClose}, body)
	})
	defer s.untrack(g)
	g.loop()
}

func (g *gobwasConn) loop() {
	for {
		h, err := ws.ReadHeaderBuffer(g.br, g.hr[:])
		if err != nil {
			return
		}
		if h.Length > readLimit || !h.Masked {
			return
		}
		if int64(cap(g.payload)) < h.Length {
			g.payload = make([]byte, h.Length)
		}
		p := g.payload[:h.Length]
		if _, err := io.ReadFull(g.br, p); err != nil {
			return
		}
		ws.Cipher(p, h.Mask, 0)
		if g.deflate && h.OpCode.IsData() && h.Rsv1() {
			if !h.Fin {
				return // fragmented compressed messages: see gobwasConn
			}
			if p, err = g.recompress(p); err != nil {
				return
			}
			h.Rsv = ws.Rsv(true, false, false)
		}
		g.wmu.Lock()
		switch h.OpCode {
		case ws.OpClose:
			if !g.closeSent {
				// The peer started: answer with its code, then close.
				code, _ := ws.ParseCloseFrameData(p)
				_ = g.writeLocked(ws.Header{Fin: true, OpCode: ws.OpClose}, ws.NewCloseFrameBody(code, ""))
			}
			err = io.EOF
		case ws.OpPing:
			err = g.writeLocked(ws.Header{Fin: true, OpCode: ws.OpPong}, p)
		case ws.OpPong:
		default:
			if !g.closeSent { // no data after our close frame
				err = g.writeLocked(h, p)
			}
		}
		g.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// Pools of wsflate's Reader and Writer, each around compress/flate.
var (
	gobwasReaders = sync.Pool{New: func() any {
		return wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor {
			return flateReadResetter{flate.NewReader(r)}
		})
	}}
	gobwasWriters = sync.Pool{New: func() any {
		return wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
			fw, _ := flate.NewWriter(w, flate.BestSpeed)
			return fw
		})
	}}
)

// flateReadResetter gives compress/flate's decompressor the Reset that
// wsflate.Reader looks for, so that a pooled Reader keeps it.
type flateReadResetter struct{ io.ReadCloser }

func (f flateReadResetter) Reset(r io.Reader) { _ = f.ReadCloser.(flate.Resetter).Reset(r, nil) }

var errInflateLimit = errors.New("message inflates past the read limit")

// recompress inflates one compressed message and deflates the result
// again, as an echo server that looks at its messages must; the result is
// valid until the next call.
func (g *gobwasConn) recompress(p []byte) ([]byte, error) {
	g.zsrc.Reset(p)
	fr := gobwasReaders.Get().(*wsflate.Reader)
	fr.Reset(&g.zsrc)
	g.plain = g.plain[:0]
	var err error
	for {
		if len(g.plain) == cap(g.plain) {
			if len(g.plain) >= readLimit {
				err = errInflateLimit
				break
			}
			g.plain = append(g.plain, 0)[:len(g.plain)]
		}
		var n int
		n, err = fr.Read(g.plain[len(g.plain):cap(g.plain)])
		g.plain = g.plain[:len(g.plain)+n]
		if err != nil {
			break
		}
	}
	gobwasReaders.Put(fr)
	if err != io.EOF {
		return nil, err
	}
	g.zout.b = g.zout.b[:0]
	fw := gobwasWriters.Get().(*wsflate.Writer)
	fw.Reset(&g.zout)
	_, err = fw.Write(g.plain)
	if err == nil {
		err = fw.Flush() // strips the sync flush's tail
	}
	gobwasWriters.Put(fw)
	return g.zout.b, err
}

// writeLocked writes one unmasked frame; the caller holds wmu.
func (g *gobwasConn) writeLocked(h ws.Header, p []byte) error {
	h.Masked = false
	h.Length = int64(len(p))
	g.hb.b = g.hb.b[:0]
	if err := ws.WriteHeaderBuffer(&g.hb, h, g.hw[:]); err != nil {
		return err
	}
	if len(g.hb.b)+len(p) > g.bw.Size() {
		// Too big to buffer: header and payload in one writev.
		g.vec = [2][]byte{g.hb.b, p}
		g.bufs = g.vec[:]
		_, err := g.bufs.WriteTo(g.nc)
		return err
	}
	_, _ = g.bw.Write(g.hb.b)
	_, _ = g.bw.Write(p)
	return g.bw.Flush()
}

// sliceWriter collects what is written to it.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// broadcastGobwas encodes each message once as a whole frame (header and
// payload; a compressed copy too, deflated once with wsflate, when some
// connection negotiated permessage-deflate) and writes those bytes to
// every connection's socket under its write lock. A write deadline set
// once bounds the whole broadcast.
func broadcastGobwas(keys []any, msgs [][]byte) (delivered, failed int64, err error) {
	conns := connsOf[*gobwasConn](keys)
	deadline := time.Now().Add(broadcastWait)
	anyDeflate := false
	for _, g := range conns {
		_ = g.nc.SetWriteDeadline(deadline)
		anyDeflate = anyDeflate || g.deflate
	}
	var plain, compressed sliceWriter
	for _, m := range msgs {
		plain.b = plain.b[:0]
		if err := ws.WriteFrame(&plain, ws.NewTextFrame(m)); err != nil {
			return delivered, failed, err
		}
		if anyDeflate {
			if compressed.b, err = deflateFrame(compressed.b[:0], m); err != nil {
				return delivered, failed, err
			}
		}
		for _, g := range conns {
			frame := plain.b
			if g.deflate {
				frame = compressed.b
			}
			g.wmu.Lock()
			if g.closeSent {
				err = net.ErrClosed
			} else {
				_, err = g.nc.Write(frame)
			}
			g.wmu.Unlock()
			if err == nil {
				delivered++
			} else {
				failed++
			}
		}
	}
	return delivered, failed, nil
}

// deflateFrame appends to dst a text frame of m compressed with wsflate,
// RSV1 set (RFC 7692 section 6).
func deflateFrame(dst, m []byte) ([]byte, error) {
	var z sliceWriter
	fw := gobwasWriters.Get().(*wsflate.Writer)
	fw.Reset(&z)
	_, err := fw.Write(m)
	if err == nil {
		err = fw.Flush() // strips the sync flush's tail
	}
	gobwasWriters.Put(fw)
	if err != nil {
		return dst, err
	}
	f := ws.NewTextFrame(z.b)
	f.Header.Rsv = ws.Rsv(true, false, false)
	out := sliceWriter{b: dst}
	err = ws.WriteFrame(&out, f)
	return out.b, err
}

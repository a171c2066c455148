package websocket

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// poller watches served connections that have nothing to read, so that
// they need no goroutine: an epoll instance where each connection's socket
// is registered once, edge-triggered, for as long as it is served, so that
// parking a connection after a message costs no system call (see
// serveState.run). The poller's own goroutine
// waits for the epoll descriptor in the runtime's poller, like any socket,
// so it holds no thread. A poller runs while it watches a connection.
type poller struct {
	file    *os.File         // the epoll descriptor
	raw     syscall.RawConn  // file's, so that no use of it races its close
	conns   map[uint32]*Conn // guarded by pollers.mu
	next    uint32           // guarded by pollers.mu: the next key to try
	stopped bool             // guarded by pollers.mu

	// Workers serve connections that turn readable. One that has parked
	// its connection waits on work for the next, so that a goroutine's
	// start, and the growth of its stack, is not paid per message; at
	// most maxIdleWorkers wait, and all leave when the poller stops.
	work chan *serveState
	idle atomic.Int32
	done chan struct{}
}

const maxIdleWorkers = 64

// pollers holds the running poller, if any. It is one per process, like
// the runtime's own poller: one epoll set serves every Upgrader, and a
// served connection needs no more than its registration.
var pollers struct {
	mu sync.Mutex
	p  *poller
}

// watched: readable, or the peer's end; edge-triggered, so that bytes are
// reported as they arrive, whoever serves the connection then, and not
// again while they wait.
// (syscall spells EPOLLET as a negative number.)
const watched = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLET&0xFFFFFFFF

// watch registers c with the poller, starting one if none runs, and
// starts its first serveReady, which arms it once it finds nothing to
// read. It reports whether it could.
func watch(c *Conn, s *serveState) bool {
	pollers.mu.Lock()
	defer pollers.mu.Unlock()
	if s.ended.Load() {
		return false // end ran first and found no poller to forget c in
	}
	p := pollers.p
	if p == nil {
		var err error
		if p, err = newPoller(); err != nil {
			return false
		}
		pollers.p = p
		go p.run()
	}
	id := p.next
	for p.conns[id] != nil {
		id++
	}
	p.next = id + 1
	// The first serveReady runs at once: bytes may already wait in c's
	// buffer, where epoll cannot see them. s.run is runActive until it
	// parks c, so an event meanwhile only asks it to read again.
	s.handle.init(c.br.raw)
	if !p.ctl(s, syscall.EPOLL_CTL_ADD, id, watched) {
		if len(p.conns) == 0 {
			p.stop()
		}
		return false
	}
	p.conns[id] = c
	s.poller, s.id = p, id
	p.dispatch(s)
	return true
}

func newPoller() (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.File waits for it in the runtime's poller.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	p := &poller{
		file:  os.NewFile(uintptr(fd), "websocket-epoll"),
		conns: map[uint32]*Conn{},
		work:  make(chan *serveState),
		done:  make(chan struct{}),
	}
	if p.raw, err = p.file.SyscallConn(); err != nil {
		p.file.Close()
		return nil, err
	}
	return p, nil
}

// pollHandle is a served connection's side of its epoll registration,
// with the closures of the epoll calls made once, so that re-arming after
// each message allocates nothing. One goroutine at a time uses it: watch,
// then the goroutine serving the connection.
type pollHandle struct {
	sock     syscall.RawConn // the connection's socket
	op       int
	ev       syscall.EpollEvent
	epfd     uintptr
	ctlErr   error
	onEpoll  func(epfd uintptr) // run inside the poller's Control
	onSocket func(fd uintptr)   // run inside the socket's Control
}

func (h *pollHandle) init(sock syscall.RawConn) {
	h.sock = sock
	h.onEpoll = func(epfd uintptr) {
		h.epfd = epfd
		if err := h.sock.Control(h.onSocket); err != nil {
			h.ctlErr = err
		}
	}
	h.onSocket = func(fd uintptr) {
		h.ctlErr = syscall.EpollCtl(int(h.epfd), h.op, int(fd), &h.ev)
	}
}

// ctl adds or modifies s's registration, and reports whether it could:
// not once the socket or the poller is closed. Both are used inside their
// Control, so that neither descriptor can be closed, and its number
// reused, during the call.
func (p *poller) ctl(s *serveState, op int, id uint32, events uint32) bool {
	h := &s.handle
	h.op, h.ev, h.ctlErr = op, syscall.EpollEvent{Events: events, Fd: int32(id)}, nil
	if err := p.raw.Control(h.onEpoll); err != nil {
		return false
	}
	return h.ctlErr == nil
}

// run starts a goroutine for each connection whose socket turns readable,
// until the poller is stopped.
func (p *poller) run() {
	var events [64]syscall.EpollEvent
	var n int
	var waitErr error
	wait := func(epfd uintptr) bool {
		for {
			n, waitErr = syscall.EpollWait(int(epfd), events[:], 0)
			if waitErr != syscall.EINTR {
				break
			}
		}
		// Nothing ready: wait until the descriptor is readable.
		return waitErr != nil || n > 0
	}
	for {
		if err := p.raw.Read(wait); err != nil {
			return // stopped
		}
		pollers.mu.Lock()
		if waitErr != nil {
			// Cannot happen on a live descriptor; if it does, the
			// connections go on with a goroutine each. The descriptor is
			// closed first, so that a rearm after the sweep fails and its
			// goroutine keeps serving.
			p.stop()
			for _, c := range p.conns {
				if s := c.served.Load(); s.take() {
					go c.serveLoop(s)
				}
			}
			p.conns = nil
			pollers.mu.Unlock()
			return
		}
		for _, ev := range events[:n] {
			if c := p.conns[uint32(ev.Fd)]; c != nil {
				if s := c.served.Load(); s.readable() {
					p.dispatch(s)
				}
			}
		}
		pollers.mu.Unlock()
	}
}

// forget drops a connection that has ended: closing its socket took it
// out of the epoll set (were the socket kept open elsewhere, its
// registration could report once more, for a key nobody holds). The last
// one stops the poller.
func forget(s *serveState) {
	pollers.mu.Lock()
	defer pollers.mu.Unlock()
	p := s.poller
	if p == nil {
		return
	}
	delete(p.conns, s.id)
	if len(p.conns) == 0 {
		p.stop()
	}
}

// stop ends run. The caller holds pollers.mu.
func (p *poller) stop() {
	if pollers.p == p {
		pollers.p = nil
	}
	if !p.stopped {
		p.stopped = true
		p.file.Close()
		close(p.done)
	}
}

// dispatch has a worker serve s: one that waits, or a new one.
func (p *poller) dispatch(s *serveState) {
	select {
	case p.work <- s:
	default:
		go p.worker(s)
	}
}

// worker serves s, then each connection it is given, until none comes
// while enough other workers wait, or the poller stops.
func (p *poller) worker(s *serveState) {
	for {
		s.ready()
		if p.idle.Add(1) > maxIdleWorkers {
			p.idle.Add(-1)
			return
		}
		select {
		case s = <-p.work:
			p.idle.Add(-1)
		case <-p.done:
			p.idle.Add(-1)
			return
		}
	}
}

package sqlserver

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// rawSocket reads and writes a client socket with system calls the Go scheduler is not told
// about (syscall.RawSyscall on the non-blocking descriptor, waiting through the runtime's
// poller when the call would block).
//
// Why: every read and write through net.Conn enters the scheduler's system-call state. On an
// otherwise idle server (one client at a time: a sysbench thread) all of Go's Ps are idle
// between two commands, so sysmon sleeps, and the first system call of the next command wakes
// it (a futex wake, ≈12% of the server's CPU at 1 thread); under load a write that takes more
// than 20 µs has sysmon hand the P to another thread. A read or write of a non-blocking socket
// returns at once, so holding the P through it costs nothing. Writes larger than
// rawWriteLimit (whose copy into the kernel may take a while) go through net.Conn.
//
// Errors are what net.Conn returns: io.EOF at the peer's end, a *net.OpError (op "read" or
// "write") that errors.Is os.ErrDeadlineExceeded after a deadline and net.ErrClosed after
// Close, or one wrapping the system call's error (ECONNRESET, EPIPE).
type rawSocket struct {
	c  net.Conn
	rc syscall.RawConn

	// The state of the call under way, kept here so that the poller's callbacks (made once,
	// in newRawSocket) allocate nothing. rmu and wmu serialize Read and Write callers; both are
	// leaf locks, never held together or while taking another lock.
	rmu, wmu   sync.Mutex
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr syscall.Errno
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool

	// Spinning (see readSpin). state is the socket's part in load: sockIdle, sockExecuting
	// (counted in load.executing) or sockDetached. retries counts the empty reads readOnce
	// retried instead of parking (under rmu; tests and diagnostics).
	load    *readLoad
	state   atomic.Int32
	retries uint64
}

// readLoad is what readOnce looks at to decide whether to spin: how many connections are
// executing a command and how many readers are spinning. All of a server's sockets share
// serverLoad; tests give a socket its own.
type readLoad struct {
	executing atomic.Int32 // sockets in sockExecuting
	spinning  atomic.Int32 // readOnce calls retrying an empty socket now
}

// serverLoad is the readLoad of every socket newRawSocket makes.
var serverLoad readLoad

// A rawSocket's state in its readLoad.
const (
	sockIdle      int32 = iota // waiting for (or reading) the client's next command
	sockExecuting              // a read returned bytes; the command runs until the next Read
	sockDetached               // closed, or a binlog dump's: never counted, never spins
)

// rawWriteLimit is the largest write sent with raw system calls.
const rawWriteLimit = 64 << 10

// newRawSocket returns the raw reader/writer of c, or nil when c has no file descriptor
// (a net.Pipe in tests, a TLS connection).
func newRawSocket(c net.Conn) *rawSocket {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &rawSocket{c: c, rc: rc, load: &serverLoad}
	s.readFn, s.writeFn = s.readOnce, s.writeAll
	return s
}

// readSpin is how long readOnce keeps retrying an empty socket, yielding the processor
// between tries, before it asks the poller to park the goroutine. A client that answers its
// last result with its next command within this time (a sysbench thread, an ORM's loop) is
// read without the park and the wake-up across CPUs that follows it, which on a 2-core VM
// cost more than the statement itself.
//
// The spin is adaptive: readOnce retries only while the server is not saturated, that is
// while the connections executing a command (from the end of a Read that returned bytes to
// the start of the connection's next Read) plus the readers spinning, itself included, are
// at most runtime.GOMAXPROCS(0) (spinAllowed); otherwise it parks at once. The load is
// looked at once, when a read first finds the socket empty. A detached socket (closed, or
// taken over by a binlog dump, whose reads are a replica's ACKs that come when a commit is
// sent, not after a reply) never spins and is never counted; a connection stays detached
// after its dump ends. A statement that runs past 10 ms stops counting early: GMS's
// client-activity watcher then reads the socket, and that Read ends the claim.
//
// Measured side by side before the spin was adaptive (sysbench, 1 table × 10k rows, no
// replica, 4 s runs, two rounds, 2 cores): point_select 1 thread 4.6–4.8k → 7.8–8.2k TPS,
// 16 threads +4–8%; read_only 1 thread +28–56%, 16 threads +10–17%; write_only 1 thread
// +7–12%, but 16 threads −6% (the retries cost CPU when every core is busy). The cost is
// bounded: at most readSpin of read(2) retries after each command, yielding to any runnable
// goroutine between them.
//
// Adaptive against always (semisync-bench --no-mariadb --baseline at the always-spinning
// build, primary + replica, 5–8 s runs, 8 runs a cell over three rounds, 2 cores shared with
// other servers, load average 2–8), median TPS ratios async / semi-sync: point_select
// 1 thread 0.94 / 1.02, 16 threads 1.08 / 0.92; write_only 1 thread 0.96 / 1.12, 16 threads
// 1.02 / 1.11; insert (5 runs) 1 thread 0.96 / 0.82, 16 threads 0.91 / 1.06. Runs of one cell
// spread by 10–50%, so none of these differs beyond the noise; server CPU per write_only
// transaction at 16 threads was 1.54–1.63 ms against 1.45–1.68 ms. A build counting
// startSpin's answers saw every empty read spin at 1 thread and 99% (write_only) and 92%
// (point_select) of them park at once at 16 threads.
const readSpin = 50 * time.Microsecond

// spinAllowed reports whether a reader that found its socket empty may spin, given the
// connections executing a command and the readers spinning (the asking one included).
func spinAllowed(executing, spinning int32, procs int) bool {
	return int(executing)+int(spinning) <= procs
}

// startSpin decides whether readOnce spins; true counts the caller in load.spinning until
// it calls endSpin.
func (s *rawSocket) startSpin() bool {
	if s.state.Load() == sockDetached {
		return false
	}
	n := s.load.spinning.Add(1)
	if spinAllowed(s.load.executing.Load(), n, runtime.GOMAXPROCS(0)) {
		return true
	}
	s.load.spinning.Add(-1)
	return false
}

// endSpin ends what startSpin began, if it did.
func (s *rawSocket) endSpin(spinning bool) {
	if spinning {
		s.load.spinning.Add(-1)
	}
}

// claim marks the socket's connection as executing the command just read.
func (s *rawSocket) claim() {
	if s.state.CompareAndSwap(sockIdle, sockExecuting) {
		s.load.executing.Add(1)
	}
}

// release marks the command claim began as over (the connection reads again).
func (s *rawSocket) release() {
	if s.state.CompareAndSwap(sockExecuting, sockIdle) {
		s.load.executing.Add(-1)
	}
}

// detach takes the socket out of load for good: it is closed, or a binlog dump owns it.
// Safe to call from any goroutine, more than once.
func (s *rawSocket) detach() {
	if s.state.Swap(sockDetached) == sockExecuting {
		s.load.executing.Add(-1)
	}
}

// readOnce is the poller's read callback: false asks it to wait until the socket is readable.
// On an empty socket it first retries for up to readSpin when startSpin allows (see readSpin).
func (s *rawSocket) readOnce(fd uintptr) bool {
	var spinUntil time.Time
	spinning := false
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)))
		switch e {
		case 0:
			s.rn = int(r)
			s.endSpin(spinning)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			if !spinning {
				if !s.startSpin() {
					return false
				}
				spinning, spinUntil = true, time.Now().Add(readSpin)
			} else if !time.Now().Before(spinUntil) {
				s.endSpin(spinning)
				return false
			}
			s.retries++
			runtime.Gosched()
		default:
			s.rerr = e
			s.endSpin(spinning)
			return true
		}
	}
}

// writeAll is the poller's write callback: it writes the rest of wbuf, false asks the poller
// to wait until the socket is writable.
func (s *rawSocket) writeAll(fd uintptr) bool {
	for s.wn < len(s.wbuf) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&s.wbuf[s.wn])), uintptr(len(s.wbuf)-s.wn))
		switch e {
		case 0:
			s.wn += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.werr = e
			return true
		}
	}
	return true
}

// Read reads at most len(p) bytes; it blocks (in the poller) until some arrive. It ends the
// command the previous Read began (release) and, when it returns bytes, begins one (claim).
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.release()
	s.rbuf, s.rn, s.rerr = p, 0, 0
	err := s.rc.Read(s.readFn)
	n, errno := s.rn, s.rerr
	s.rbuf = nil
	switch {
	case err != nil:
		return 0, s.opError("read", err)
	case errno != 0:
		return 0, s.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	s.claim()
	return n, nil
}

// Write writes all of p, or returns how much it wrote and why it stopped.
func (s *rawSocket) Write(p []byte) (int, error) {
	if len(p) > rawWriteLimit {
		return s.c.Write(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf, s.wn, s.werr = p, 0, 0
	err := s.rc.Write(s.writeFn)
	n, errno := s.wn, s.werr
	s.wbuf = nil
	switch {
	case err != nil:
		return n, s.opError("write", err)
	case errno != 0:
		return n, s.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// opError is err as net.Conn reports it: a *net.OpError named op. RawConn's own errors
// (deadline, closed) are *net.OpError named "raw-read"/"raw-write"; they keep their cause.
func (s *rawSocket) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: s.c.LocalAddr().Network(), Source: s.c.LocalAddr(), Addr: s.c.RemoteAddr(), Err: err}
}

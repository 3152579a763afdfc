package sqlserver

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
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
}

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
	s := &rawSocket{c: c, rc: rc}
	s.readFn, s.writeFn = s.readOnce, s.writeAll
	return s
}

// readSpin is how long readOnce keeps retrying an empty socket, yielding the processor
// between tries, before it asks the poller to park the goroutine. A client that answers its
// last result with its next command within this time (a sysbench thread, an ORM's loop) is
// read without the park and the wake-up across CPUs that follows it, which on a 2-core VM
// cost more than the statement itself. Measured side by side (sysbench, 1 table × 10k rows,
// no replica, 4 s runs, two rounds, 2 cores): point_select 1 thread 4.6–4.8k → 7.8–8.2k TPS,
// 16 threads +4–8%; read_only 1 thread +28–56%, 16 threads +10–17%; write_only 1 thread
// +7–12%, but 16 threads −6% (the retries cost CPU when every core is busy). The cost is
// bounded: at most readSpin of read(2) retries after each command, yielding to any runnable
// goroutine between them.
const readSpin = 50 * time.Microsecond

// readOnce is the poller's read callback: false asks it to wait until the socket is readable.
// On an empty socket it first retries for up to readSpin (see there).
func (s *rawSocket) readOnce(fd uintptr) bool {
	var spinUntil time.Time
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)))
		switch e {
		case 0:
			s.rn = int(r)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			now := time.Now()
			if spinUntil.IsZero() {
				spinUntil = now.Add(readSpin)
			}
			if now.Before(spinUntil) {
				runtime.Gosched()
				continue
			}
			return false
		default:
			s.rerr = e
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

// Read reads at most len(p) bytes; it blocks (in the poller) until some arrive.
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
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

package sqlserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	acc := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		acc <- res{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-acc
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.c.Close(); client.Close() })
	return r.c, client
}

// TestRawSocketReadsAndWritesAsNetConn checks rawSocket against what net.Conn promises: every
// byte of a write arrives (small ones through raw calls, a large one through net.Conn), reads
// return what the peer sent, the peer's close reads as io.EOF, a deadline as
// os.ErrDeadlineExceeded, and the local Close as net.ErrClosed.
func TestRawSocketReadsAndWritesAsNetConn(t *testing.T) {
	srv, cli := tcpPair(t)
	raw := newRawSocket(srv)
	if raw == nil {
		t.Fatal("no raw socket for a TCP connection")
	}
	for _, size := range []int{1, 4 << 10, rawWriteLimit, rawWriteLimit + 1, 4 << 20} {
		msg := bytes.Repeat([]byte{byte(size), 0x5a, byte(size >> 8)}, size/3+1)[:size]
		got := make(chan []byte, 1)
		go func() {
			b := make([]byte, size)
			_, err := io.ReadFull(cli, b)
			if err != nil {
				b = nil
			}
			got <- b
		}()
		n, err := raw.Write(msg)
		if err != nil || n != size {
			t.Fatalf("write of %d bytes: %d, %v", size, n, err)
		}
		if b := <-got; !bytes.Equal(b, msg) {
			t.Fatalf("write of %d bytes: the peer read other bytes", size)
		}

		go func() { _, _ = cli.Write(msg) }()
		b := make([]byte, size)
		if _, err := io.ReadFull(raw, b); err != nil || !bytes.Equal(b, msg) {
			t.Fatalf("read of %d bytes: %v, equal %v", size, err, bytes.Equal(b, msg))
		}
	}

	if err := srv.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := raw.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v", err)
	}
	var oe *net.OpError
	if _, err := raw.Read(make([]byte, 8)); !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read past its deadline: %#v, want a *net.OpError named read", err)
	}
	if err := srv.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}

	// Bytes that arrive while Read retries an empty socket (within readSpin) and bytes
	// that arrive after it gave up and parked are both read, in order.
	for _, delay := range []time.Duration{0, readSpin / 5, 5 * time.Millisecond} {
		go func() {
			time.Sleep(delay)
			cli.Write([]byte("w"))
		}()
		b := make([]byte, 8)
		if n, err := raw.Read(b); n != 1 || err != nil || b[0] != 'w' {
			t.Fatalf("read of a byte sent after %v: %d %q, %v", delay, n, b[:n], err)
		}
	}

	if _, err := cli.Write([]byte("xy")); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	b := make([]byte, 8)
	n, err := raw.Read(b)
	if n != 2 || err != nil || string(b[:2]) != "xy" {
		t.Fatalf("read before the peer's close: %d %q, %v", n, b[:n], err)
	}
	if n, err := raw.Read(b); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer's close: %d, %v; want io.EOF", n, err)
	}

	srv.Close()
	if _, err := raw.Read(b); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
	if _, err := raw.Write([]byte("z")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

// TestRawSocketWriteToResetPeer: a write to a peer that reset the connection fails with the
// system call's error instead of blocking or losing the error.
func TestRawSocketWriteToResetPeer(t *testing.T) {
	srv, cli := tcpPair(t)
	raw := newRawSocket(srv)
	if err := cli.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	cli.Close() // RST
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = raw.Write([]byte("after reset"))
		if err == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("write to a reset peer: %v, want a *net.OpError named write", err)
	}
}

// TestCountingConnReadsRawOverTCP: the status listener's connections over TCP use rawSocket,
// and a net.Pipe (no descriptor) goes through net.Conn.
func TestCountingConnReadsRawOverTCP(t *testing.T) {
	srv, _ := tcpPair(t)
	if newRawSocket(srv) == nil {
		t.Fatal("TCP connection without a raw socket")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if newRawSocket(p1) != nil {
		t.Fatal("a raw socket for net.Pipe")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &statusListener{Listener: ln, st: &serverStatus{}}
	defer sl.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			_, _ = c.Write([]byte("hello"))
			_, _ = io.ReadAll(c)
		}
	}()
	c, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := c.(*countingConn)
	if cc.raw == nil {
		t.Fatal("accepted TCP connection reads through net.Conn")
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(cc, b); err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	if got := cc.st.bytesReceived.Load(); got != 5 {
		t.Fatalf("Bytes_received %d, want 5", got)
	}
}

// emptyRead reads raw's empty socket until a short deadline and returns how many times
// readOnce retried instead of parking.
func emptyRead(t *testing.T, srv net.Conn, raw *rawSocket) uint64 {
	t.Helper()
	if err := srv.SetReadDeadline(time.Now().Add(5 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.SetReadDeadline(time.Time{}) }()
	before := raw.retries
	if _, err := raw.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of an empty socket: %v, want a deadline error", err)
	}
	return raw.retries - before
}

// TestRawSocketSpinsOnlyWhenNotSaturated: a read of an empty socket retries (readSpin) while
// the connections executing a command plus the spinning readers, itself included, are at most
// GOMAXPROCS, and parks at once when they are more, or when the socket is detached (a binlog
// dump's). The load is driven directly; what is checked is whether readOnce retried, not how
// long it took.
func TestRawSocketSpinsOnlyWhenNotSaturated(t *testing.T) {
	procs := int32(runtime.GOMAXPROCS(0))
	srv, _ := tcpPair(t)
	raw := newRawSocket(srv)
	if raw.load != &serverLoad {
		t.Fatal("a server socket outside serverLoad")
	}
	for _, tc := range []struct {
		name                string
		executing, spinning int32 // other connections'
		detached            bool
		spin                bool
	}{
		{"idle server", 0, 0, false, true},
		{"one core left", procs - 1, 0, false, true},
		{"every core executing", procs, 0, false, false},
		{"more executing than cores", 4 * procs, 0, false, false},
		{"every core spinning", 0, procs, false, false},
		{"executing and spinning fill the cores", procs - 1, 1, false, false},
		{"detached on an idle server", 0, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			load := &readLoad{}
			load.executing.Store(tc.executing)
			load.spinning.Store(tc.spinning)
			raw.load = load
			raw.state.Store(sockIdle)
			if tc.detached {
				raw.state.Store(sockDetached)
			}
			retries := emptyRead(t, srv, raw)
			if spun := retries > 0; spun != tc.spin {
				t.Fatalf("executing %d, spinning %d, GOMAXPROCS %d, detached %v: retried %d times, want spin %v",
					tc.executing, tc.spinning, procs, tc.detached, retries, tc.spin)
			}
			if e, s := load.executing.Load(), load.spinning.Load(); e != tc.executing || s != tc.spinning {
				t.Fatalf("after the read: executing %d, spinning %d; want %d, %d", e, s, tc.executing, tc.spinning)
			}
		})
	}
}

// TestRawSocketCountsExecutingCommands: a connection counts as executing from a Read that
// returned bytes to its next Read; detach (a binlog dump's takeover) and countingConn.Close
// take it out of the count for good, once however often they are called.
func TestRawSocketCountsExecutingCommands(t *testing.T) {
	srv, cli := tcpPair(t)
	raw := newRawSocket(srv)
	load := &readLoad{}
	raw.load = load
	b := make([]byte, 8)
	expect := func(what string, want int32) {
		t.Helper()
		if got := load.executing.Load(); got != want {
			t.Fatalf("%s: executing %d, want %d", what, got, want)
		}
	}
	send := func(msg string) {
		t.Helper()
		if _, err := cli.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if n, err := raw.Read(b); err != nil || string(b[:n]) != msg {
			t.Fatalf("read %q, %v; want %q", b[:n], err, msg)
		}
	}
	expect("before any read", 0)
	send("a")
	expect("after a command's read", 1)
	send("b")
	expect("after the next command's read", 1)
	emptyRead(t, srv, raw)
	expect("after a read that returned nothing", 0)
	send("c")
	expect("after a command's read", 1)
	raw.detach()
	expect("after detach", 0)
	raw.detach()
	expect("after a second detach", 0)
	send("d")
	expect("after a detached socket's read", 0)
	if n := emptyRead(t, srv, raw); n != 0 {
		t.Fatalf("a detached socket retried %d times on an idle server", n)
	}

	srv2, cli2 := tcpPair(t)
	cc := &countingConn{Conn: srv2, st: &serverStatus{}, raw: newRawSocket(srv2)}
	cc.raw.load = load
	if _, err := cli2.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Read(b); err != nil {
		t.Fatal(err)
	}
	expect("after a command's read through countingConn", 1)
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	expect("after Close in the middle of a command", 0)
	_ = cc.Close()
	expect("after a second Close", 0)
}

// TestDumpDetachesRawSocket: once the shim passes on a binlog dump command, the connection's
// raw socket is detached (its ACK reads do not spin), and a command before it is not.
func TestDumpDetachesRawSocket(t *testing.T) {
	srv, cli := tcpPair(t)
	cc := &countingConn{Conn: srv, st: &serverStatus{}, raw: newRawSocket(srv)}
	cc.raw.load = &readLoad{}
	sc := newShimConn(cc, nil, nil)
	sc.greeted, sc.maxPacket = true, DefaultMaxAllowedPacket
	packet := func(payload []byte) []byte {
		return append([]byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}, payload...)
	}
	readCommand := func(payload []byte) {
		t.Helper()
		if _, err := cli.Write(packet(payload)); err != nil {
			t.Fatal(err)
		}
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(sc, hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(sc, make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)); err != nil {
			t.Fatal(err)
		}
	}
	readCommand([]byte{0x03, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'}) // COM_QUERY
	if st := cc.raw.state.Load(); st != sockExecuting {
		t.Fatalf("after COM_QUERY the raw socket is in state %d, want executing", st)
	}
	dump := []byte{comBinlogDump}
	dump = binary.LittleEndian.AppendUint32(dump, 4)
	dump = binary.LittleEndian.AppendUint16(dump, 0)
	dump = binary.LittleEndian.AppendUint32(dump, 77)
	dump = append(dump, "binlog.000001"...)
	readCommand(dump)
	if st := cc.raw.state.Load(); st != sockDetached {
		t.Fatalf("after COM_BINLOG_DUMP the raw socket is in state %d, want detached", st)
	}
	if n := cc.raw.load.executing.Load(); n != 0 {
		t.Fatalf("a dump connection counts as executing (%d)", n)
	}
}

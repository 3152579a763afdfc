package sqlserver

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
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

package integration

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/semisyncd/semisyncd/internal/wireclient"
)

// rss is the server's resident set size in KiB (rssKB); it skips the test without /proc.
func rss(t testing.TB, s *Server) int {
	t.Helper()
	n := rssKB(s.cmd.Process.Pid)
	if n == 0 {
		t.Skip("no VmRSS in /proc/<pid>/status")
	}
	return n
}

// wantErr checks that p is MySQL's error packet code.
func wantErr(t *testing.T, what string, p []byte, err error, code uint16) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: no answer: %v", what, err)
	}
	if got, _, msg := wireclient.ErrOf(p); got != code {
		t.Fatalf("%s: got %d %q (%x), want error %d", what, got, msg, p[:min(len(p), 16)], code)
	}
}

// TestHostileClientsLeaveNoTrace: after a battery of hostile clients — truncated handshakes,
// malformed replication commands, a COM_STMT_EXECUTE with 65,535 parameters, a message past
// max_allowed_packet, a flood past max_connections, sockets that never send a handshake until
// connect_timeout, and an expression too deep to plan — the real server answers a new
// client's SELECT 1, and its resident memory comes back to within 10% of where it was after a
// warm-up with ordinary clients.
func TestHostileClientsLeaveNoTrace(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	ctx := context.Background()

	// Warm-up: what ordinary clients do, so lazily built state is in the baseline.
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.t (id INT PRIMARY KEY, s TEXT)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO d.t VALUES (?, ?)", i, strings.Repeat("x", i)); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM d.t WHERE id <= ?", i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("count %d, %v", n, err)
		}
	}
	for i := 0; i < 20; i++ {
		rc := wireclient.Dial(t, srv.Addr)
		rc.Login()
		rc.Prepare("SELECT ?, ?")
		if p, err := rc.Command(append([]byte{vmysql.ComQuery}, "SELECT 1"...)); err != nil || p[0] == 0xff {
			t.Fatalf("warm-up raw client: %x %v", p, err)
		}
		rc.Conn.Close()
	}
	waitSettled(t, srv)
	base := rss(t, srv)
	t.Logf("RSS after warm-up: %d KiB", base)
	step := func(name string) { t.Logf("RSS after %s: %d KiB", name, rss(t, srv)) }

	// Truncated and garbled handshake responses: 1043 Bad handshake.
	full := wireclient.HandshakeResponse("root")
	for i, hr := range [][]byte{nil, full[:4], full[:20], full[:32], append(append([]byte(nil), full[:32]...), "root\x00\x40abc"...)} {
		rc := wireclient.Dial(t, srv.Addr)
		if err := rc.Write(1, hr); err != nil {
			t.Fatal(err)
		}
		p, _, err := rc.Read()
		wantErr(t, fmt.Sprintf("handshake %d", i), p, err, 1043)
		rc.Conn.Close()
	}

	step("handshakes")

	rc := wireclient.Dial(t, srv.Addr)
	rc.Login()
	// Malformed COM_BINLOG_DUMP_GTID: 1835, the connection keeps serving.
	for i, p := range [][]byte{
		{wireclient.ComBinlogDumpGTID, 4},
		wireclient.DumpGTID(1000, "binlog.000001", 0, nil),
		wireclient.DumpGTID(13, "binlog.000001", 500, nil),
	} {
		r, err := rc.Command(p)
		wantErr(t, fmt.Sprintf("COM_BINLOG_DUMP_GTID %d", i), r, err, 1835)
	}
	// 65,535 placeholders: 1390 at prepare; executing an unknown id with 65,535 parameters: 1243.
	q := "SELECT 1 FROM dual WHERE 1 IN (?" + strings.Repeat(",?", 65534) + ")"
	r, err := rc.Command(append([]byte{vmysql.ComPrepare}, q...))
	wantErr(t, "prepare with 65,535 placeholders", r, err, 1390)
	exec := []byte{vmysql.ComStmtExecute}
	exec = bin.LittleEndian.AppendUint32(exec, 1)
	exec = append(exec, 0, 1, 0, 0, 0)
	exec = append(exec, make([]byte, 8192)...)
	exec = append(exec, 1)
	exec = append(exec, bytes.Repeat([]byte{8, 0}, 65535)...)
	r, err = rc.Command(exec)
	wantErr(t, "COM_STMT_EXECUTE with 65,535 parameters", r, err, 1243)
	if p, err := rc.Command([]byte{vmysql.ComPing}); err != nil || p[0] != 0 {
		t.Fatalf("COM_PING after the malformed commands: %x %v", p, err)
	}
	rc.Conn.Close()

	step("malformed commands")

	// A message past max_allowed_packet (64 MB): 1153 and the connection closed.
	rc = wireclient.Dial(t, srv.Addr)
	rc.Login()
	big := append([]byte{vmysql.ComQuery}, "SELECT '"...)
	big = append(big, bytes.Repeat([]byte{'a'}, 64<<20)...)
	big = append(big, '\'')
	_ = rc.Conn.SetDeadline(time.Now().Add(60 * time.Second))
	r, err = rc.Command(big)
	wantErr(t, "a 64 MB query", r, err, 1153)
	big = nil
	rc.Conn.Close()

	step("oversize message")

	// A flood past max_connections: the connections past it get 1040.
	if _, err := db.ExecContext(ctx, "SET GLOBAL max_connections = 30"); err != nil {
		t.Fatal(err)
	}
	refused := 0
	var flood []*wireclient.Conn
	for i := 0; i < 60; i++ {
		c := wireclient.Dial(t, srv.Addr)
		if err := c.Write(1, full); err != nil {
			t.Fatal(err)
		}
		p, _, err := c.Read()
		if err == nil && p[0] == 0xfe { // auth switch
			if err = c.Write(2, nil); err == nil {
				p, _, err = c.Read()
			}
		}
		if err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
		if code, _, _ := wireclient.ErrOf(p); code == 1040 {
			refused++
			c.Conn.Close()
			continue
		}
		flood = append(flood, c)
	}
	if refused < 25 {
		t.Fatalf("%d of 60 connections refused with max_connections = 30, want at least 25", refused)
	}
	for _, c := range flood {
		c.Conn.Close()
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL max_connections = DEFAULT"); err != nil {
		t.Fatal(err)
	}

	step("connection flood")

	// Sockets that never send their handshake response: closed after connect_timeout.
	if _, err := db.ExecContext(ctx, "SET GLOBAL connect_timeout = 2"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	silentErrs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		c := wireclient.Dial(t, srv.Addr) // read deadline 20 s: the server must close first
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.Read(); err == nil {
				silentErrs <- fmt.Errorf("a silent client got a packet instead of a close")
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				silentErrs <- fmt.Errorf("the server kept a silent client past connect_timeout")
			}
			c.Conn.Close()
		}()
	}
	wg.Wait()
	close(silentErrs)
	for err := range silentErrs {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL connect_timeout = DEFAULT"); err != nil {
		t.Fatal(err)
	}

	step("silent sockets")

	// An expression too deep to plan: 1436.
	var v int64
	err = db.QueryRowContext(ctx, "SELECT 1"+strings.Repeat("+1", 99999)).Scan(&v)
	if n := mysqlErrorNumber(err); n != 1436 {
		t.Fatalf("100,000-term sum: %v, want 1436", err)
	}

	step("deep expression")

	// A new client is answered.
	fresh := openDB(t, srv.DSN(""))
	if err := fresh.QueryRowContext(ctx, "SELECT 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("a new client's SELECT 1: %d, %v", v, err)
	}
	fresh.Close()

	if strings.Contains(strings.ToLower(srv.Logs()), "panic") {
		t.Fatalf("the server logged a panic:\n%s", srv.Logs())
	}

	// Resident memory returns to within 10% of the warm-up's.
	limit := base + base/10
	var now int
	deadline := time.Now().Add(90 * time.Second)
	for {
		now = rss(t, srv)
		if now <= limit || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("RSS after the battery: %d KiB (warm-up %d KiB, limit %d KiB)", now, base, limit)
	if now > limit {
		t.Fatalf("RSS %d KiB after the hostile clients, more than 10%% above the %d KiB after warm-up", now, base)
	}
}

// waitSettled waits (bounded) until the server's RSS stops moving by more than 1% between
// samples a second apart, so the baseline is not taken mid-collection.
func waitSettled(t *testing.T, srv *Server) {
	t.Helper()
	prev := rss(t, srv)
	for i := 0; i < 20; i++ {
		time.Sleep(time.Second)
		now := rss(t, srv)
		if d := now - prev; d*100 <= prev && -d*100 <= prev {
			return
		}
		prev = now
	}
}

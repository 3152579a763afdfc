package sqlserver

import (
	"context"
	gosql "database/sql"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/internal/wireclient"
)

// idleFor is how long the tests stay idle with wait_timeout = 1: well past it.
const idleFor = 2500 * time.Millisecond

// expectTimeoutClose reads what the server sends an idle client: MySQL's 4031 error packet
// (sequence 0) and then the end of the connection.
func expectTimeoutClose(t *testing.T, rc *wireclient.Conn) {
	t.Helper()
	_ = rc.Conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	p, seq, err := rc.Read()
	if err != nil {
		t.Fatalf("an idle client got no 4031 packet: %v", err)
	}
	if code, state, msg := wireclient.ErrOf(p); code != 4031 || state != "HY000" || msg != clientInteractionTimeoutText || seq != 0 {
		t.Fatalf("idle client got %d (%s) %q seq %d, want 4031 (HY000) %q seq 0", code, state, msg, seq, clientInteractionTimeoutText)
	}
	if _, _, err := rc.Read(); err == nil {
		t.Fatal("the connection is still open after 4031")
	}
}

// TestWaitTimeout: a session idle past its wait_timeout gets 4031 and is closed, over the raw
// protocol and through go-sql-driver (whose next statement fails with 4031); a session that
// keeps running statements, or runs one longer than wait_timeout, is not; SET GLOBAL sets it
// for new sessions.
func TestWaitTimeout(t *testing.T) {
	s, _ := wireServer(t)

	t.Run("raw", func(t *testing.T) {
		rc := wireclient.Dial(t, s.Addr())
		rc.Login()
		if p, err := rc.Command(append([]byte{mysql.ComQuery}, "SET SESSION wait_timeout = 1"...)); err != nil || p[0] != 0 {
			t.Fatalf("SET wait_timeout: %x %v", p, err)
		}
		time.Sleep(idleFor)
		expectTimeoutClose(t, rc)
	})

	db := open(t, dsn(s, "root", ""))
	ctx := context.Background()
	// Through the driver, in plain and over TLS (the shim terminates TLS, so it sees commands).
	for name, db := range map[string]*gosql.DB{"driver": db, "driver over TLS": open(t, tlsDSN(s, "root", "", "skip-verify"))} {
		t.Run(name, func(t *testing.T) { expectDriverTimeout(t, db) })
	}

	t.Run("active", func(t *testing.T) {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "SET SESSION wait_timeout = 1"); err != nil {
			t.Fatal(err)
		}
		// A statement running longer than wait_timeout (GMS watches the socket meanwhile).
		var v int
		if err := c.QueryRowContext(ctx, "SELECT SLEEP(2)").Scan(&v); err != nil {
			t.Fatalf("SELECT SLEEP(2) with wait_timeout 1: %v", err)
		}
		// Statements every 300 ms, for longer than wait_timeout in all.
		for end := time.Now().Add(idleFor); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
			if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&v); err != nil {
				t.Fatalf("an active session was closed: %v", err)
			}
			if err := c.PingContext(ctx); err != nil { // COM_PING never reaches a handler
				t.Fatalf("ping of an active session: %v", err)
			}
		}
	})

	t.Run("global and interactive", func(t *testing.T) {
		if _, err := db.Exec("SET GLOBAL interactive_timeout = 1"); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = db.Exec("SET GLOBAL interactive_timeout = DEFAULT") }()
		// An interactive client's wait_timeout starts as interactive_timeout; a plain one's as
		// wait_timeout (28800 here).
		interactive, plain := wireclient.Dial(t, s.Addr()), wireclient.Dial(t, s.Addr())
		hr := wireclient.HandshakeResponse("root")
		binary.LittleEndian.PutUint32(hr, binary.LittleEndian.Uint32(hr)|capClientInteractive)
		interactive.LoginWith(hr)
		plain.Login()
		time.Sleep(idleFor)
		expectTimeoutClose(t, interactive)
		if p, err := plain.Command([]byte{mysql.ComPing}); err != nil || p[0] != 0 {
			t.Fatalf("a non-interactive client was closed by interactive_timeout: %x %v", p, err)
		}

		if _, err := db.Exec("SET GLOBAL wait_timeout = 1"); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = db.Exec("SET GLOBAL wait_timeout = DEFAULT") }()
		var sess int64
		fresh := wireclient.Dial(t, s.Addr())
		fresh.Login()
		time.Sleep(idleFor)
		expectTimeoutClose(t, fresh)
		// A new pool: db's connections predate SET GLOBAL and keep their session value.
		if err := open(t, dsn(s, "root", "")).QueryRow("SELECT @@session.wait_timeout").Scan(&sess); err != nil || sess != 1 {
			t.Fatalf("a new session's wait_timeout after SET GLOBAL: %d, %v", sess, err)
		}
	})
	assertServes(t, s)
}

// TestWaitTimeoutSparesDump: a replica's dump connection with wait_timeout = 1 is not closed
// while it streams and sends nothing: events committed after it idled still arrive.
func TestWaitTimeoutSparesDump(t *testing.T) {
	s, _ := wireServer(t)
	db := open(t, dsn(s, "root", ""))
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.t (a INT PRIMARY KEY)", "SET GLOBAL wait_timeout = 1"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = db.Exec("SET GLOBAL wait_timeout = DEFAULT") })
	var file string
	var pos int64
	var rest [3]interface{}
	row := db.QueryRow("SHOW MASTER STATUS")
	if err := row.Scan(&file, &pos, &rest[0], &rest[1], &rest[2]); err != nil {
		t.Fatal(err)
	}
	rc := wireclient.Dial(t, s.Addr())
	rc.Login()
	dump := []byte{comBinlogDump}
	dump = binary.LittleEndian.AppendUint32(dump, uint32(pos))
	dump = binary.LittleEndian.AppendUint16(dump, 0)
	dump = binary.LittleEndian.AppendUint32(dump, 77)
	dump = append(dump, file...)
	if err := rc.Write(0, dump); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events [][]byte
	readErr := make(chan error, 1)
	go func() {
		_ = rc.Conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			p, _, err := rc.Read()
			if err != nil {
				readErr <- err
				return
			}
			mu.Lock()
			events = append(events, p)
			mu.Unlock()
		}
	}()
	time.Sleep(idleFor)
	if _, err := db.Exec("INSERT INTO d.t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := false
		for _, e := range events {
			// An event packet is 0x00 + a 19-byte header; 30 is WRITE_ROWS_EVENT (v2).
			if len(e) > 20 && e[0] == 0 && e[5] == 30 {
				got = true
			}
		}
		n := len(events)
		mu.Unlock()
		if got {
			break
		}
		select {
		case err := <-readErr:
			t.Fatalf("the dump connection ended after %d packets: %v", n, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no WRITE_ROWS event arrived (%d packets)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectDriverTimeout sets wait_timeout = 1 on one of db's connections, idles past it and
// expects the server to have closed the session and the next statement to fail with 4031.
func expectDriverTimeout(t *testing.T, db *gosql.DB) {
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var id int64
	if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET SESSION wait_timeout = 1"); err != nil {
		t.Fatal(err)
	}
	// Idle until the server has closed the session (it leaves the process list), so a
	// late timer on a loaded machine cannot let the next statement in first; a timer that
	// never fires fails here.
	time.Sleep(idleFor)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d still open 15 s after its wait_timeout of 1 s", id)
		}
	}
	var one int
	err = c.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	if errNumber(err) != 4031 || !strings.Contains(err.Error(), "disconnected by the server because of inactivity") {
		t.Fatalf("the statement after idling: %v, want 4031", err)
	}
}

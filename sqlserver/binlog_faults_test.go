package sqlserver

import (
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/semisyncd/semisyncd/binlog/vfs"
)

// TestBinlogFailuresOverTheWire: what a client sees when the binlog cannot
// be written. A full disk fails that statement with 1026 and the next one,
// once space is back, succeeds; a failed fsync fails the statement with
// 1598, stops the server (binlog_error_action = ABORT_SERVER) and the row is
// never visible to another session; every later write fails too.
func TestBinlogFailuresOverTheWire(t *testing.T) {
	fs := vfs.NewFaulty(nil)
	var aborts atomic.Int32
	s, _ := startServer(t, Config{DataDir: t.TempDir(), FS: fs, OnBinlogAbort: func() { aborts.Add(1) }})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	other := open(t, dsn(s, "root", ""))
	for _, q := range []string{"CREATE DATABASE f", "CREATE TABLE f.t (id INT PRIMARY KEY)", "INSERT INTO f.t VALUES (1)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	count := func() int {
		var n int
		if err := other.QueryRow("SELECT COUNT(*) FROM f.t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	fs.Inject(vfs.Fault{Op: vfs.OpWrite, Match: "binlog.0", Err: syscall.ENOSPC, Short: 9})
	_, err := db.Exec("INSERT INTO f.t VALUES (2)")
	if errNumber(err) != 1026 || !strings.Contains(err.Error(), "Error writing file 'binlog.000001' (errno: 28 - No space left on device)") {
		t.Fatalf("insert on a full disk: %v", err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d rows after the failed insert, want 1", n)
	}
	if _, err := db.Exec("INSERT INTO f.t VALUES (2)"); err != nil {
		t.Fatalf("insert once space is back: %v", err)
	}
	if n := count(); n != 2 || aborts.Load() != 0 {
		t.Fatalf("%d rows, %d aborts", n, aborts.Load())
	}

	fs.Inject(vfs.Fault{Op: vfs.OpSync, Match: "binlog.0", Err: syscall.EIO})
	_, err = db.Exec("INSERT INTO f.t VALUES (3)")
	if errNumber(err) != 1598 || !strings.Contains(err.Error(), "Binary logging not possible. Message: An error occurred during sync stage of the commit. 'binlog_error_action' is set to 'ABORT_SERVER'. Hence aborting the server.") {
		t.Fatalf("insert whose fsync failed: %v", err)
	}
	if aborts.Load() != 1 {
		t.Fatalf("ABORT_SERVER ran %d times", aborts.Load())
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows visible after the failed fsync, want 2: the row that is not durable was published", n)
	}
	if _, err := db.Exec("INSERT INTO f.t VALUES (4)"); errNumber(err) != 1598 {
		t.Fatalf("insert after the failure: %v", err)
	}
	var action string
	if err := other.QueryRow("SELECT @@global.binlog_error_action").Scan(&action); err != nil || action != "ABORT_SERVER" {
		t.Fatalf("binlog_error_action = %q, %v", action, err)
	}
}

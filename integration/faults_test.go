package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSecondServerOnDataDir: a second semisyncd on a data directory in use
// exits 1 at once with the lock message, touching no file there; the first
// keeps serving.
func TestSecondServerOnDataDir(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE dl")
	before := dirState(t, dir)

	cmd := exec.Command(binary, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dir)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("second server: %v, exit %v\n%s", err, cmd.ProcessState, out)
	}
	if !strings.Contains(string(out), "Unable to lock "+filepath.Join(dir, "semisyncd.lock")) ||
		!strings.Contains(string(out), "another semisyncd process using the same data directory") {
		t.Fatalf("second server's message:\n%s", out)
	}
	if after := dirState(t, dir); after != before {
		t.Fatalf("the second server touched the data directory:\nbefore %s\nafter  %s", before, after)
	}
	mustExec(t, db, "CREATE TABLE dl.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO dl.t VALUES (1)")
	srv = srv.Restart(t) // the lock is released at exit
	var n int
	if err := srv.DB(t, "").QueryRow("SELECT COUNT(*) FROM dl.t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after restart: %d rows, %v", n, err)
	}
}

// dirState lists a directory's files with size and modification time.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s:%d:%d ", rel, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// insertLoad runs n sessions of autocommit INSERTs of unique ids into
// table until ctx ends, recording every acknowledged id.
type insertLoad struct {
	mu     sync.Mutex
	acked  map[int]bool
	errs   map[uint16]int
	next   atomic.Int64
	wg     sync.WaitGroup
	failed atomic.Int64
}

func startInserts(ctx context.Context, db *sql.DB, table string, sessions int, payload int) *insertLoad {
	l := &insertLoad{acked: map[int]bool{}, errs: map[uint16]int{}}
	pad := strings.Repeat("x", payload)
	for s := 0; s < sessions; s++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				id := int(l.next.Add(1))
				_, err := db.ExecContext(ctx, "INSERT INTO "+table+" VALUES (?, ?)", id, pad)
				l.mu.Lock()
				if err == nil {
					l.acked[id] = true
				} else if ctx.Err() == nil {
					l.errs[mysqlErrorNumber(err)]++
					l.failed.Add(1)
				}
				l.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()
	}
	return l
}

func (l *insertLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// checkAcked fails unless every acknowledged id is in table.
func checkAcked(t *testing.T, db *sql.DB, table string, acked map[int]bool, what string) {
	t.Helper()
	rows, err := db.Query("SELECT id FROM " + table)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	present := map[int]bool{}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		present[id] = true
	}
	rows.Close()
	missing := 0
	for id := range acked {
		if !present[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%s: %d of %d acknowledged rows are missing", what, missing, len(acked))
	}
}

// TestFlushBinaryLogsUnderLoad is the regression test for the rotation
// hang: 8 sessions of autocommit INSERTs while FLUSH BINARY LOGS and a tiny
// max_binlog_size rotate the binlog; every write completes, later writes on
// a new connection work, and SIGTERM stops the server in time.
func TestFlushBinaryLogsUnderLoad(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	db.SetMaxOpenConns(16)
	mustExec(t, db, "CREATE DATABASE fl")
	mustExec(t, db, "CREATE TABLE fl.t (id INT PRIMARY KEY, pad TEXT)")
	mustExec(t, db, "SET GLOBAL max_binlog_size = 4096")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	load := startInserts(ctx, db, "fl.t", 8, 64)
	flushes := 0
	for ctx.Err() == nil {
		if _, err := db.ExecContext(ctx, "FLUSH BINARY LOGS"); err != nil && ctx.Err() == nil {
			t.Fatalf("FLUSH BINARY LOGS: %v", err)
		}
		flushes++
	}
	load.wg.Wait()
	if load.failed.Load() != 0 || load.count() < 100 || flushes < 10 {
		t.Fatalf("%d inserts acknowledged, %d failed (%v), %d flushes", load.count(), load.failed.Load(), load.errs, flushes)
	}
	other := srv.DB(t, "")
	mustExec(t, other, "CREATE DATABASE after_flushes")
	checkAcked(t, other, "fl.t", load.acked, "before restart")
	srv.Stop(t)
	srv = srv.Restart(t)
	checkAcked(t, srv.DB(t, ""), "fl.t", load.acked, "after restart")
}

// TestKillLoopBinlogMaintenance: 50 rounds of SIGKILL at a random moment of
// a FLUSH BINARY LOGS / PURGE BINARY LOGS TO / RESET MASTER loop with a
// tiny max_binlog_size, under 4 writers: every restart succeeds and no
// acknowledged row is missing.
func TestKillLoopBinlogMaintenance(t *testing.T) {
	if testing.Short() {
		t.Skip("kill loop skipped in -short mode")
	}
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE kl")
	mustExec(t, db, "CREATE TABLE kl.t (id INT PRIMARY KEY, pad TEXT)")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := map[int]bool{}
	base := 0
	const rounds = 50
	for round := 0; round < rounds; round++ {
		db := srv.DB(t, "")
		db.SetMaxOpenConns(8)
		mustExec(t, db, "SET GLOBAL max_binlog_size = 4096")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		load := startInserts(ctx, db, "kl.t", 4, 100)
		load.next.Store(int64(base))
		maint := make(chan struct{})
		go func() {
			defer close(maint)
			for i := 0; ctx.Err() == nil; i++ {
				var q string
				switch {
				case i%7 == 6:
					q = "RESET MASTER"
				case i%2 == 1:
					var file string
					var pos int64
					var a, b, c string
					if err := db.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &a, &b, &c); err != nil {
						return
					}
					q = "PURGE BINARY LOGS TO '" + file + "'"
				default:
					q = "FLUSH BINARY LOGS"
				}
				if _, err := db.ExecContext(ctx, q); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(5+rng.Intn(60)) * time.Millisecond)
		srv.Kill(t)
		cancel()
		load.wg.Wait()
		<-maint
		for id := range load.acked {
			acked[id] = true
		}
		base = int(load.next.Load()) + 1000
		srv = srv.Restart(t)
		checkAcked(t, srv.DB(t, ""), "kl.t", acked, fmt.Sprintf("round %d", round))
	}
	if len(acked) < rounds {
		t.Fatalf("only %d rows acknowledged in %d rounds: the loop did not load the server", len(acked), rounds)
	}
}

package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// TestDiskFullOnRealFilesystem fills a real 64 MB tmpfs under the primary's
// data directory (mounted by the test; root only): writes fail with 1026
// (errno 28) while it is full, with nothing half-written kept; once space
// is freed they succeed again with no restart; after a SIGKILL and a
// restart every acknowledged row is there, mariadb-binlog decodes every
// file, and a semi-sync replica ends equal to the primary.
func TestDiskFullOnRealFilesystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a 64 MB tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", mnt, err, out)
		}
	})
	dataDir := filepath.Join(mnt, "data")
	port := fmt.Sprint(freePort(t))
	primary := StartServer(t, WithDataDir(dataDir), WithArgs("--server-id", "1", "--port", port))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	pdb.SetMaxOpenConns(8)
	mustExec(t, pdb, "CREATE DATABASE df")
	mustExec(t, pdb, "CREATE TABLE df.t (id INT PRIMARY KEY, pad LONGTEXT)")
	mustExec(t, pdb, "SET GLOBAL max_binlog_size = 1048576")
	mustExec(t, pdb, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_timeout = 30000")
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_enabled = ON")
	mustExec(t, rdb, "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'")
	mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = ON")
	rplConnect(t, rdb, primary, "SOURCE_RETRY_COUNT=1000")
	waitFor(t, replicationTimeout, "semi-sync negotiated", func() bool {
		return semiSyncStatus(t, pdb, "Rpl_semi_sync_source_clients") == "1" && semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status") == "ON"
	})
	yesBefore := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx")

	// Ballast: most of the filesystem, freed later.
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 56<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	load := startInserts(ctx, pdb, "df.t", 4, 16<<10)
	waitFor(t, 45*time.Second, "the disk to fill (1026 errors)", func() bool {
		load.mu.Lock()
		defer load.mu.Unlock()
		return load.errs[1026] >= 20
	})
	// The probe runs on a filesystem with no byte left: space a failed write gave back (a
	// binlog tail cut back to its last good transaction, an interrupted checkpoint's
	// temporary file) is taken by a filler first, so the probe cannot succeed by chance.
	filler := filepath.Join(mnt, "filler")
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		fillFilesystem(t, filler)
		if _, err = pdb.Exec("INSERT INTO df.t VALUES (-1, REPEAT('y', 65536))"); err != nil {
			break
		}
		mustExec(t, pdb, "DELETE FROM df.t WHERE id = -1")
	}
	var text string
	if err != nil {
		text = err.Error()
	}
	if mysqlErrorNumber(err) != 1026 || !strings.Contains(text, "(errno: 28 - No space left on device)") || !strings.Contains(text, "Error writing file 'binlog.") {
		t.Fatalf("an insert on the full disk got %v", err)
	}
	full := load.count()
	for _, f := range []string{ballast, filler} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "writes to succeed again once space is freed", func() bool { return load.count() >= full+100 })
	cancel()
	load.wg.Wait()
	other := map[uint16]int{}
	for code, n := range load.errs {
		if code != 1026 {
			other[code] = n
		}
	}
	if len(other) != 0 {
		t.Fatalf("errors other than 1026: %v", other)
	}
	if got := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx") - yesBefore; got < len(load.acked) || semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatalf("yes_tx rose by %d for %d acknowledged inserts; status %s", got, len(load.acked), semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"))
	}
	checkAcked(t, pdb, "df.t", load.acked, "before the kill")
	t.Logf("%d inserts acknowledged (%d before the space was freed), %d failed with 1026", len(load.acked), full, load.errs[1026])

	primary.Kill(t)
	primary = primary.Restart(t)
	if strings.Contains(primary.Logs(), "truncating torn binlog tail") {
		t.Fatalf("the restart found a torn tail:\n%s", primary.Logs())
	}
	pdb = primary.DB(t, "")
	checkAcked(t, pdb, "df.t", load.acked, "after SIGKILL and restart")

	if tool, err := exec.LookPath("mariadb-binlog"); err == nil {
		files, _ := filepath.Glob(filepath.Join(dataDir, "binlog.0*"))
		for _, f := range files {
			out, err := exec.Command(tool, "--base64-output=DECODE-ROWS", "-v", f).CombinedOutput()
			if err != nil || strings.Contains(string(out), "ERROR") {
				t.Fatalf("mariadb-binlog %s: %v\n%.2000s", filepath.Base(f), err, out)
			}
		}
	} else {
		t.Log("mariadb-binlog not installed (Debian package mariadb-client): its decode check is skipped")
	}

	mustExec(t, pdb, "INSERT INTO df.t VALUES (-2, 'after the restart')")
	waitCaughtUp(t, pdb, rdb, replica)
	sums := func(db *sql.DB) string {
		var n, ids, bytes sql.NullString
		if err := db.QueryRow("SELECT COUNT(*), SUM(id), SUM(LENGTH(pad)) FROM df.t").Scan(&n, &ids, &bytes); err != nil {
			t.Fatal(err)
		}
		return n.String + " " + ids.String + " " + bytes.String
	}
	if p, r := sums(pdb), sums(rdb); p != r {
		t.Fatalf("primary %s, replica %s (count, sum of ids, bytes)", p, r)
	}
	if pg, rg := gtidExecuted(t, pdb), gtidExecuted(t, rdb); pg != rg {
		t.Fatalf("gtid_executed: primary %q, replica %q", pg, rg)
	}
}

// TestDamagedBinlogRefusesToStart: damage followed by valid events is not a
// torn tail: serve exits 1 naming the file and position, and the binlog is
// left as it was (nothing acknowledged is silently dropped).
func TestDamagedBinlogRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE dmg")
	mustExec(t, db, "CREATE TABLE dmg.t (id INT PRIMARY KEY)")
	var file string
	var pos int64
	var a, b, c string
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b, &c); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "INSERT INTO dmg.t VALUES (1), (2)")
	mustExec(t, db, "INSERT INTO dmg.t VALUES (3)")
	srv.Kill(t)
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[pos+30] ^= 0xff // inside the first INSERT's GTID event
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dir).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve on a damaged binlog: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%s is damaged at position %d", file, pos)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "Refusing to start") {
		t.Fatalf("serve's message does not say %q:\n%s", want, out)
	}
	if after, _ := os.ReadFile(path); len(after) != len(data) {
		t.Fatalf("the damaged file was changed: %d bytes, was %d", len(after), len(data))
	}
}

// TestShutdownStatement: SHUTDOWN needs the SHUTDOWN privilege (1227 without); with it the
// server answers OK and stops cleanly (exit 0), as on SIGTERM, and the data is there after a
// restart with no binlog to replay (the shutdown checkpoint).
func TestShutdownStatement(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE sd")
	mustExec(t, db, "CREATE TABLE sd.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO sd.t VALUES (1)")
	mustExec(t, db, "CREATE USER 'plain'@'%' IDENTIFIED BY 'pw'")
	plain := openDB(t, srv.UserDSN("plain", "pw", ""))
	if _, err := plain.Exec("SHUTDOWN"); mysqlErrorNumber(err) != 1227 || !strings.Contains(err.Error(), "the SHUTDOWN privilege(s)") {
		t.Fatalf("SHUTDOWN without the privilege: %v", err)
	}
	if _, err := db.Exec("SHUTDOWN"); err != nil {
		t.Fatalf("SHUTDOWN: %v", err)
	}
	if err := srv.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("the server did not exit cleanly after SHUTDOWN: %v\n%s", err, srv.Logs())
	}
	srv = srv.Restart(t)
	if n := replayedTransactions(t, srv); n != 0 {
		t.Fatalf("the restart after SHUTDOWN replayed %d transactions", n)
	}
	var n int
	if err := srv.DB(t, "").QueryRow("SELECT COUNT(*) FROM sd.t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows after SHUTDOWN and restart: %d, %v", n, err)
	}
}

// fillFilesystem appends to path until the filesystem holding it has no space left (ENOSPC),
// so that the next write anyone makes there fails.
func fillFilesystem(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for i := 0; i < 1<<16; i++ { // at most 256 MB: the tmpfs is 64 MB
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: the filesystem never filled", path)
}

package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/sqlserver"
	"github.com/semisyncd/semisyncd/storage"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// startInProcess starts a semisyncd server inside the test process (so a
// test can inject file-system faults) on a free port of 127.0.0.1, and its
// client pool.
func startInProcess(t *testing.T, cfg sqlserver.Config) (*sqlserver.Server, *sql.DB) {
	t.Helper()
	logger, _ := logtest.NewNullLogger()
	s, err := sqlserver.New(cfg, storage.New(storage.Options{}), logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	mc := mysql.NewConfig()
	mc.User, mc.Net, mc.Addr = "root", "tcp", s.Addr()
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// TestReplicaBinlogFsyncFailsWhilePipelined: the replica's SQL thread appends
// several transactions before their group fsync. When that fsync fails the
// thread stops with 1598, none of those rows is visible, the applier
// position stays before the first of them, and after a restart the replica
// applies them again and matches the primary.
func TestReplicaBinlogFsyncFailsWhilePipelined(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	pdb := primary.DB(t, "")

	rdir := t.TempDir()
	fs := vfs.NewFaulty(nil)
	var aborts atomic.Int32
	rep, rdb := startInProcess(t, sqlserver.Config{DataDir: rdir, ServerID: 2, FS: fs, OnBinlogAbort: func() { aborts.Add(1) }})
	defer func() {
		if rep != nil {
			rdb.Close()
			rep.Close()
		}
	}()
	rplConnect(t, rdb, primary, "SOURCE_AUTO_POSITION=1")
	mustExec(t, pdb, "CREATE DATABASE pf")
	mustExec(t, pdb, "CREATE TABLE pf.t (id INT PRIMARY KEY, v VARCHAR(20))")
	for i := 1; i <= 5; i++ {
		mustExec(t, pdb, fmt.Sprintf("INSERT INTO pf.t VALUES (%d, 'before')", i))
	}
	waitCaughtUp(t, pdb, rdb, primary)
	mustExec(t, rdb, "STOP REPLICA SQL_THREAD")
	before := rplStatus(t, rdb, "")

	// Twenty transactions wait in the relay log, so the SQL thread finds
	// them at once and pipelines them.
	for i := 6; i <= 25; i++ {
		mustExec(t, pdb, fmt.Sprintf("INSERT INTO pf.t VALUES (%d, 'after')", i))
	}
	want := gtidExecuted(t, pdb)
	waitFor(t, replicationTimeout, "the IO thread has every transaction", func() bool {
		return rplStatus(t, rdb, "")["Retrieved_Gtid_Set"] == want
	})
	fs.Inject(vfs.Fault{Op: vfs.OpSync, Match: "binlog.0", Err: syscall.EIO})
	mustExec(t, rdb, "START REPLICA SQL_THREAD")
	waitFor(t, replicationTimeout, "the SQL thread stopping", func() bool {
		return rplStatus(t, rdb, "")["Replica_SQL_Running"] == "No"
	})
	st := rplStatus(t, rdb, "")
	if st["Last_SQL_Errno"] != "1598" || !strings.Contains(st["Last_SQL_Error"], "Binary logging not possible") {
		t.Fatalf("after the failed fsync: errno %s, error %q", st["Last_SQL_Errno"], st["Last_SQL_Error"])
	}
	if st["Exec_Source_Log_Pos"] != before["Exec_Source_Log_Pos"] || st["Relay_Log_Pos"] != before["Relay_Log_Pos"] {
		t.Fatalf("the applier position moved past transactions that are not durable: before %s/%s, after %s/%s",
			before["Exec_Source_Log_Pos"], before["Relay_Log_Pos"], st["Exec_Source_Log_Pos"], st["Relay_Log_Pos"])
	}
	var n int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM pf.t").Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d rows visible on the replica after the failed fsync (%v), want 5", n, err)
	}
	if aborts.Load() != 1 {
		t.Fatalf("ABORT_SERVER ran %d times, want 1", aborts.Load())
	}

	// Restarted on the same data dir, the replica applies the twenty again.
	rdb.Close()
	if err := rep.Close(); err != nil {
		t.Logf("close after the binlog failure: %v", err)
	}
	rep, rdb = startInProcess(t, sqlserver.Config{DataDir: rdir, ServerID: 2})
	waitFor(t, replicationTimeout, "the restarted replica catching up", func() bool { return gtidExecuted(t, rdb) == want })
	if err := rdb.QueryRow("SELECT COUNT(*) FROM pf.t").Scan(&n); err != nil || n != 25 {
		t.Fatalf("the restarted replica has %d rows (%v), want 25", n, err)
	}
}

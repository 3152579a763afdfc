package integration

import (
	"context"
	"strconv"
	"testing"
)

// TestSQLLogBinSurvivesKillNotReplicated: a row written with sql_log_bin = 0 on a semi-sync
// primary commits without waiting for an ACK (yes_tx counts only the logged commits, status
// stays ON), never reaches the replica, takes no GTID, and survives SIGKILL of the primary: the
// restart replays it from the unlogged journal between the logged commits.
func TestSQLLogBinSurvivesKillNotReplicated(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	primary := StartServer(t, WithArgs("--server-id", "1", "--port", port))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)
	mustExec(t, pdb, "CREATE DATABASE k")
	mustExec(t, pdb, "CREATE TABLE k.t (id INT PRIMARY KEY, v VARCHAR(20))")
	mustExec(t, pdb, "INSERT INTO k.t VALUES (1, 'logged')")
	waitCaughtUp(t, pdb, rdb, replica)
	yes0, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"))
	g0 := gtidExecuted(t, pdb)

	conn := primary.Conn(t)
	ctx := context.Background()
	for _, q := range []string{"SET sql_log_bin = 0", "INSERT INTO k.t VALUES (2, 'unlogged')", "UPDATE k.t SET v = 'unlogged too' WHERE id = 1"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if g := gtidExecuted(t, pdb); g != g0 {
		t.Fatalf("gtid_executed moved with sql_log_bin = 0: %s -> %s", g0, g)
	}
	if y, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx")); y != yes0 {
		t.Fatalf("yes_tx moved for unlogged commits: %d -> %d", yes0, y)
	}
	mustExec(t, pdb, "INSERT INTO k.t VALUES (3, 'logged')")
	waitCaughtUp(t, pdb, rdb, replica)
	if y, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx")); y != yes0+1 {
		t.Fatalf("yes_tx = %d, want %d (the one logged commit)", y, yes0+1)
	}
	if s := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); s != "ON" {
		t.Fatalf("Rpl_semi_sync_source_status = %s", s)
	}
	var n int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM k.t WHERE v = 'logged'").Scan(&n); err != nil || n != 2 {
		t.Fatalf("the replica has %d logged rows (%v), want 2", n, err)
	}
	if err := rdb.QueryRow("SELECT COUNT(*) FROM k.t WHERE id = 2 OR v = 'unlogged too'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the replica has %d unlogged rows (%v)", n, err)
	}
	conn.Close()

	primary.Kill(t)
	primary = primary.Restart(t)
	pdb = primary.DB(t, "")
	var v1, v2 string
	if err := pdb.QueryRow("SELECT (SELECT v FROM k.t WHERE id = 1), (SELECT v FROM k.t WHERE id = 2)").Scan(&v1, &v2); err != nil {
		t.Fatalf("after SIGKILL and restart: %v; log:\n%s", err, primary.Logs())
	}
	if v1 != "unlogged too" || v2 != "unlogged" {
		t.Fatalf("after SIGKILL: rows 1, 2 = %q, %q; want the unlogged values", v1, v2)
	}
	if err := pdb.QueryRow("SELECT COUNT(*) FROM k.t").Scan(&n); err != nil || n != 3 {
		t.Fatalf("after SIGKILL: %d rows (%v), want 3", n, err)
	}
	if g := gtidExecuted(t, pdb); g != gtidExecuted(t, rdb) {
		t.Fatalf("gtid_executed after restart %s, replica %s", g, gtidExecuted(t, rdb))
	}
}

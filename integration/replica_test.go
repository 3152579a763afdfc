package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
)

// Replication between semisyncd processes: a primary and replicas
// configured with CHANGE REPLICATION SOURCE TO, checked through what a user
// sees (rows, SHOW REPLICA STATUS, @@gtid_executed, semi-sync status).

// replicationTimeout bounds every wait for a replica to catch up.
const replicationTimeout = 30 * time.Second

// freePort returns a TCP port free at the time of the call, for servers
// that must come back on the same port after a restart.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func serverPort(t testing.TB, s *Server) int {
	t.Helper()
	_, p, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// rplConnect points db's server at source and starts replication; extra
// options are appended to CHANGE REPLICATION SOURCE TO.
func rplConnect(t testing.TB, db *sql.DB, source *Server, extra string) {
	t.Helper()
	q := fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', SOURCE_CONNECT_RETRY=1", serverPort(t, source))
	if extra != "" {
		q += ", " + extra
	}
	mustExec(t, db, q)
	mustExec(t, db, "START REPLICA")
}

// enableSemiSync installs and enables the semi-sync plugins on a primary (timeout 60 s) and
// its replica.
func enableSemiSync(t testing.TB, pdb, rdb *sql.DB) {
	t.Helper()
	mustExec(t, pdb, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	mustExec(t, pdb, "SET GLOBAL rpl_semi_sync_source_enabled = 1")
	mustExec(t, rdb, "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'")
	mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = 1")
}

// semiSyncPair enables semi-sync on primary and replica, starts replication and waits until
// it is negotiated: the replica's status is ON and the primary counts one client.
func semiSyncPair(t testing.TB, primary *Server, pdb, rdb *sql.DB) {
	t.Helper()
	enableSemiSync(t, pdb, rdb)
	rplConnect(t, rdb, primary, "")
	waitFor(t, replicationTimeout, "semi-sync negotiated", func() bool {
		return semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status") == "ON" &&
			semiSyncStatus(t, pdb, "Rpl_semi_sync_source_clients") == "1"
	})
}

// rplStatus returns SHOW REPLICA STATUS (or the statement given) as a map;
// NULL is "NULL"; nil when the result is empty.
func rplStatus(t testing.TB, db *sql.DB, stmt string) map[string]string {
	t.Helper()
	if stmt == "" {
		stmt = "SHOW REPLICA STATUS"
	}
	rows, err := db.Query(stmt)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return nil
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(cols))
	for i, c := range cols {
		out[c] = "NULL"
		if vals[i].Valid {
			out[c] = vals[i].String
		}
	}
	return out
}

func gtidExecuted(t testing.TB, db *sql.DB) string {
	t.Helper()
	var s string
	if err := db.QueryRow("SELECT @@GLOBAL.gtid_executed").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func gtidContains(t testing.TB, have, want string) bool {
	t.Helper()
	h, err := binlog.ParseGTIDSet(have)
	if err != nil {
		t.Fatalf("gtid set %q: %v", have, err)
	}
	w, err := binlog.ParseGTIDSet(want)
	if err != nil {
		t.Fatalf("gtid set %q: %v", want, err)
	}
	return h.ContainsSet(w)
}

// caughtUp reports whether the replica has applied the GTID set want and
// the commits are visible. @@gtid_executed alone is not enough: the binlog
// records a GTID when the commit is appended, before it is published to
// readers; the SQL thread reports itself idle only after its last commit
// returned, so the state is read after the GTIDs.
func caughtUp(t testing.TB, replica *sql.DB, want string) bool {
	t.Helper()
	if !gtidContains(t, gtidExecuted(t, replica), want) {
		return false
	}
	st := rplStatus(t, replica, "")
	return st == nil || st["Replica_SQL_Running"] != "Yes" ||
		st["Replica_SQL_Running_State"] == "Replica has read all relay log; waiting for more updates"
}

// waitCaughtUp waits until the replica executed everything the primary has
// (failing with both servers' replica status and logs otherwise).
func waitCaughtUp(t testing.TB, primary, replica *sql.DB, rs *Server) {
	t.Helper()
	want := gtidExecuted(t, primary)
	deadline := time.Now().Add(replicationTimeout)
	for {
		if caughtUp(t, replica, want) {
			return
		}
		got := gtidExecuted(t, replica)
		if time.Now().After(deadline) {
			t.Fatalf("replica has %q, primary %q after %v; SHOW REPLICA STATUS: %v\nreplica log:\n%s", got, want, replicationTimeout, rplStatus(t, replica, ""), rs.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func semiSyncStatus(t testing.TB, db *sql.DB, name string) string {
	t.Helper()
	var n, v string
	if err := db.QueryRow("SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&n, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// gtidCount is the number of transactions in a GTID set.
func gtidCount(t testing.TB, s string) int {
	t.Helper()
	n := 0
	for _, part := range strings.Split(s, ",") {
		fields := strings.Split(strings.TrimSpace(part), ":")
		for _, iv := range fields[1:] {
			a, b, found := strings.Cut(iv, "-")
			lo, _ := strconv.Atoi(a)
			hi := lo
			if found {
				hi, _ = strconv.Atoi(b)
			}
			n += hi - lo + 1
		}
	}
	return n
}

// TestReplicationWithSemiSync: both semi-sync plugins installed through
// SQL, a workload of every column type, multi-statement transactions and
// DDL replicates; every table is equal on both sides; the primary counted
// each transaction as yes_tx and the replica's semi-sync status is ON;
// SHOW REPLICA STATUS reports the positions and GTID sets.
func TestReplicationWithSemiSync(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)

	binlogWorkload(t, pdb, "w", true)
	// A multi-statement transaction over two tables.
	tx, err := pdb.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO w.u VALUES ('x', 10), ('y', 20)",
		"UPDATE w.t SET c_varchar = 'from a transaction' WHERE id = 1",
		"DELETE FROM w.u WHERE k = 'a'",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pdb, "CREATE TABLE w.v (a INT PRIMARY KEY, b TEXT, KEY (b(10)))")
	mustExec(t, pdb, "INSERT INTO w.v VALUES (1, 'one'), (2, NULL)")
	mustExec(t, pdb, "DROP TABLE w.v")
	waitCaughtUp(t, pdb, rdb, replica)

	if p, r := dumpTables(t, pdb, "w"), dumpTables(t, rdb, "w"); p != r {
		t.Fatalf("tables differ\nprimary:\n%s\nreplica:\n%s", p, r)
	}
	pg, rg := gtidExecuted(t, pdb), gtidExecuted(t, rdb)
	if pg != rg {
		t.Fatalf("gtid_executed: primary %q, replica %q", pg, rg)
	}
	txs := gtidCount(t, pg)
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"); got != strconv.Itoa(txs) {
		t.Errorf("Rpl_semi_sync_source_yes_tx = %s, want %d (every transaction)", got, txs)
	}
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_no_tx"); got != "0" {
		t.Errorf("Rpl_semi_sync_source_no_tx = %s", got)
	}
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); got != "ON" {
		t.Errorf("Rpl_semi_sync_source_status = %s", got)
	}
	if got := semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status"); got != "ON" {
		t.Errorf("Rpl_semi_sync_replica_status = %s", got)
	}

	var file, uuid string
	var pos uint64
	if err := pdb.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if err := pdb.QueryRow("SELECT @@server_uuid").Scan(&uuid); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Replica_IO_State": "Waiting for source to send event", "Source_Host": "127.0.0.1", "Source_User": "root",
		"Source_Port": strconv.Itoa(serverPort(t, primary)), "Connect_Retry": "1",
		"Source_Log_File": file, "Read_Source_Log_Pos": strconv.FormatUint(pos, 10),
		"Relay_Source_Log_File": file, "Exec_Source_Log_Pos": strconv.FormatUint(pos, 10),
		"Replica_IO_Running": "Yes", "Replica_SQL_Running": "Yes",
		"Last_IO_Errno": "0", "Last_IO_Error": "", "Last_SQL_Errno": "0", "Last_SQL_Error": "",
		"Seconds_Behind_Source": "0", "Source_Server_Id": "1", "Source_UUID": uuid,
		"Retrieved_Gtid_Set": pg, "Executed_Gtid_Set": pg, "Auto_Position": "0",
		"Replica_SQL_Running_State": "Replica has read all relay log; waiting for more updates",
		"Relay_Log_File":            "relay-bin.000001",
	}
	got := rplStatus(t, rdb, "")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("SHOW REPLICA STATUS %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != 60 {
		t.Errorf("SHOW REPLICA STATUS has %d columns, want MySQL 8.0's 60", len(got))
	}

	// The replica plugin cannot go while its IO thread runs semi-sync.
	_, err = rdb.Exec("UNINSTALL PLUGIN rpl_semi_sync_replica")
	if mysqlErrorNumber(err) != 1883 || !strings.Contains(err.Error(), "Stop any active semisynchronous I/O threads on this replica first.") {
		t.Fatalf("UNINSTALL PLUGIN with semi-sync running: %v, want 1883", err)
	}

	// Disabling the replica side takes effect at the next connection.
	mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = 0")
	if s := semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status"); s != "ON" {
		t.Fatalf("status %s right after disabling; MySQL keeps the negotiated connection", s)
	}
	mustExec(t, rdb, "STOP REPLICA IO_THREAD")
	if s := semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status"); s != "OFF" {
		t.Fatalf("status %s with the IO thread stopped", s)
	}
	mustExec(t, rdb, "START REPLICA IO_THREAD")
	waitFor(t, replicationTimeout, "IO thread connected", func() bool { return rplStatus(t, rdb, "")["Replica_IO_Running"] == "Yes" })
	if s := semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status"); s != "OFF" {
		t.Fatalf("status %s after reconnecting with semi-sync disabled", s)
	}
	waitFor(t, replicationTimeout, "the primary losing its semi-sync client", func() bool {
		return semiSyncStatus(t, pdb, "Rpl_semi_sync_source_clients") == "0"
	})
	mustExec(t, rdb, "UNINSTALL PLUGIN rpl_semi_sync_replica")
}

// TestReplicaStatusMoves: Read_Source_Log_Pos and Retrieved_Gtid_Set move
// as the IO thread receives, Exec_Source_Log_Pos and Executed_Gtid_Set as
// the SQL thread applies; the thread columns follow START and STOP; SHOW
// SLAVE STATUS has the old names.
func TestReplicaStatusMoves(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	mustExec(t, pdb, "CREATE DATABASE m")
	mustExec(t, pdb, "CREATE TABLE m.t (id INT PRIMARY KEY, v INT)")

	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', SOURCE_CONNECT_RETRY=1", serverPort(t, primary)))
	st := rplStatus(t, rdb, "")
	if st["Replica_IO_Running"] != "No" || st["Replica_SQL_Running"] != "No" || st["Read_Source_Log_Pos"] != "4" ||
		st["Source_Log_File"] != "" || st["Seconds_Behind_Source"] != "NULL" || st["Retrieved_Gtid_Set"] != "" {
		t.Fatalf("after CHANGE: %v", st)
	}
	mustExec(t, rdb, "START REPLICA IO_THREAD")
	waitCaughtUpRetrieved := func(want string) map[string]string {
		var st map[string]string
		waitFor(t, replicationTimeout, "retrieved "+want, func() bool {
			st = rplStatus(t, rdb, "")
			return st["Retrieved_Gtid_Set"] != "" && gtidContains(t, st["Retrieved_Gtid_Set"], want)
		})
		return st
	}
	pg := gtidExecuted(t, pdb)
	st = waitCaughtUpRetrieved(pg)
	var file string
	var pos uint64
	if err := pdb.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	if st["Replica_IO_Running"] != "Yes" || st["Replica_SQL_Running"] != "No" || st["Source_Log_File"] != file ||
		st["Read_Source_Log_Pos"] != strconv.FormatUint(pos, 10) || st["Exec_Source_Log_Pos"] != "4" ||
		st["Executed_Gtid_Set"] != "" || st["Seconds_Behind_Source"] != "NULL" {
		t.Fatalf("IO thread only, primary at %s:%d: %v", file, pos, st)
	}
	if n, _ := strconv.Atoi(st["Relay_Log_Space"]); n <= 0 {
		t.Fatalf("Relay_Log_Space %q", st["Relay_Log_Space"])
	}

	mustExec(t, rdb, "START REPLICA SQL_THREAD")
	waitCaughtUp(t, pdb, rdb, replica)
	waitFor(t, replicationTimeout, "Exec_Source_Log_Pos at the primary's position", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Exec_Source_Log_Pos"] == strconv.FormatUint(pos, 10)
	})
	if st["Executed_Gtid_Set"] != pg || st["Relay_Source_Log_File"] != file || st["Replica_SQL_Running"] != "Yes" || st["Seconds_Behind_Source"] != "0" {
		t.Fatalf("after the SQL thread applied: %v", st)
	}
	relayPos := st["Relay_Log_Pos"]

	// One more transaction moves both positions again.
	mustExec(t, pdb, "INSERT INTO m.t VALUES (1, 1), (2, 2)")
	waitCaughtUp(t, pdb, rdb, replica)
	var pos2 uint64
	if err := pdb.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos2, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, replicationTimeout, "positions after the insert", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Exec_Source_Log_Pos"] == strconv.FormatUint(pos2, 10) && st["Read_Source_Log_Pos"] == strconv.FormatUint(pos2, 10)
	})
	if pos2 <= pos || st["Relay_Log_Pos"] == relayPos {
		t.Fatalf("positions did not move: source %d → %d, relay %s → %s", pos, pos2, relayPos, st["Relay_Log_Pos"])
	}

	old := rplStatus(t, rdb, "SHOW SLAVE STATUS")
	for _, k := range []string{"Slave_IO_State", "Master_Host", "Read_Master_Log_Pos", "Relay_Master_Log_File", "Slave_IO_Running",
		"Slave_SQL_Running", "Exec_Master_Log_Pos", "Seconds_Behind_Master", "Master_Server_Id", "Master_UUID", "Master_Retry_Count",
		"Slave_SQL_Running_State", "Get_master_public_key", "Master_TLS_Version"} {
		if _, ok := old[k]; !ok {
			t.Errorf("SHOW SLAVE STATUS has no column %s", k)
		}
	}
	if old["Read_Master_Log_Pos"] != st["Read_Source_Log_Pos"] || old["Slave_IO_Running"] != "Yes" {
		t.Errorf("SHOW SLAVE STATUS %v disagrees with SHOW REPLICA STATUS %v", old, st)
	}

	mustExec(t, rdb, "STOP REPLICA")
	st = rplStatus(t, rdb, "")
	if st["Replica_IO_Running"] != "No" || st["Replica_SQL_Running"] != "No" || st["Seconds_Behind_Source"] != "NULL" ||
		st["Replica_IO_State"] != "" || st["Exec_Source_Log_Pos"] != strconv.FormatUint(pos2, 10) {
		t.Fatalf("after STOP REPLICA: %v", st)
	}
	// The configuration and positions survive a restart with
	// --skip-replica-start; START REPLICA continues from them.
	replica.Stop(t)
	replica = StartServer(t, WithDataDir(replica.DataDir), WithArgs("--server-id", "2", "--skip-replica-start"))
	rdb = replica.DB(t, "")
	st2 := rplStatus(t, rdb, "")
	for _, k := range []string{"Source_Host", "Source_Port", "Exec_Source_Log_Pos", "Relay_Source_Log_File", "Source_UUID", "Retrieved_Gtid_Set", "Executed_Gtid_Set"} {
		if st2[k] != st[k] {
			t.Errorf("after restart %s = %q, before %q", k, st2[k], st[k])
		}
	}
	if st2["Replica_IO_Running"] != "No" {
		t.Fatalf("--skip-replica-start: IO thread %s", st2["Replica_IO_Running"])
	}
	mustExec(t, pdb, "INSERT INTO m.t VALUES (3, 3)")
	mustExec(t, rdb, "START REPLICA")
	waitCaughtUp(t, pdb, rdb, replica)
	if p, r := dumpTables(t, pdb, "m"), dumpTables(t, rdb, "m"); p != r {
		t.Fatalf("tables differ\nprimary:\n%s\nreplica:\n%s", p, r)
	}
}

// TestReplicaStatementErrors: MySQL 8.0's errors and warnings for misuse.
func TestReplicaStatementErrors(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	rdb := replica.DB(t, "")
	conn := replica.Conn(t)
	ctx := context.Background()
	expectErr := func(q string, code uint16, text string) {
		t.Helper()
		_, err := conn.ExecContext(ctx, q)
		if mysqlErrorNumber(err) != code || !strings.Contains(fmt.Sprint(err), text) {
			t.Errorf("%s: got %v, want %d %q", q, err, code, text)
		}
	}
	warnings := func() []string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, "SHOW WARNINGS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var level, code, msg string
			if err := rows.Scan(&level, &code, &msg); err != nil {
				t.Fatal(err)
			}
			out = append(out, code+" "+msg)
		}
		return out
	}
	if st := rplStatus(t, rdb, ""); st != nil {
		t.Fatalf("SHOW REPLICA STATUS on a fresh server: %v", st)
	}
	// Privileges: REPLICATION_SLAVE_ADMIN (or SUPER) to control the
	// replica, RELOAD to reset it, REPLICATION CLIENT to look at it.
	mustExec(t, rdb, "CREATE USER 'nopriv'@'%' IDENTIFIED BY 'pw'")
	udb := openDB(t, replica.UserDSN("nopriv", "pw", ""))
	for q, code := range map[string]uint16{
		"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h'": 1227, "START REPLICA": 1227, "STOP SLAVE": 1227,
		"RESET REPLICA": 1227, "SHOW REPLICA STATUS": 1227,
	} {
		if _, err := udb.Exec(q); mysqlErrorNumber(err) != code {
			t.Errorf("%s without privileges: %v, want %d", q, err, code)
		}
	}
	expectErr("START REPLICA", 1200, "The server is not configured as replica; fix in config file or with CHANGE REPLICATION SOURCE TO")
	// A configuration without a host is not enough for the receiver.
	if _, err := conn.ExecContext(ctx, "CHANGE REPLICATION SOURCE TO SOURCE_CONNECT_RETRY=3"); err != nil {
		t.Fatal(err)
	}
	expectErr("START REPLICA IO_THREAD", 1200, "not configured as replica")
	if st := rplStatus(t, rdb, ""); st == nil || st["Source_Host"] != "" || st["Connect_Retry"] != "3" || st["Replica_IO_Running"] != "No" {
		t.Fatalf("after a CHANGE without a host: %v", st)
	}
	expectErr("START SLAVE", 1200, "not configured as replica")
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_HOST=1", 1064, "syntax")
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_BOGUS='x'", 1064, "syntax")
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=1, SOURCE_LOG_POS=100", 1777, "cannot be set when SOURCE_AUTO_POSITION is active")
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_HEARTBEAT_PERIOD=5000000", 1703, "heartbeat period")
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_HOST='h' FOR CHANNEL 'other'", 3074, "Replica channel 'other' does not exist.")

	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='root', MASTER_CONNECT_RETRY=1 FOR CHANNEL ''", serverPort(t, primary))); err != nil {
		t.Fatal(err)
	}
	w := strings.Join(warnings(), "\n")
	if !strings.Contains(w, "1287 'CHANGE MASTER' is deprecated and will be removed in a future release. Please use CHANGE REPLICATION SOURCE instead") {
		t.Errorf("CHANGE MASTER warnings: %s", w)
	}
	if _, err := conn.ExecContext(ctx, "START SLAVE"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, replicationTimeout, "IO thread connected", func() bool { return rplStatus(t, rdb, "")["Replica_IO_Running"] == "Yes" })
	if _, err := conn.ExecContext(ctx, "START REPLICA"); err != nil {
		t.Fatal(err)
	}
	if w := warnings(); len(w) != 1 || w[0] != "3083 Replication thread(s) for channel '' are already runnning." {
		t.Errorf("START REPLICA while running: warnings %q", w)
	}
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_CONNECT_RETRY=2", 3021, "This operation cannot be performed with a running replica io thread; run STOP REPLICA IO_THREAD FOR CHANNEL '' first.")
	expectErr("RESET REPLICA", 3081, "This operation cannot be performed with running replication threads; run STOP REPLICA FOR CHANNEL '' first")
	if _, err := conn.ExecContext(ctx, "STOP REPLICA IO_THREAD"); err != nil {
		t.Fatal(err)
	}
	expectErr("CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000001', SOURCE_LOG_POS=4", 3082, "running replica sql thread")
	if _, err := conn.ExecContext(ctx, "CHANGE REPLICATION SOURCE TO SOURCE_CONNECT_RETRY=2"); err != nil {
		t.Fatalf("a connection option with only the SQL thread running: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "STOP REPLICA"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "STOP REPLICA"); err != nil {
		t.Fatal(err)
	}
	if w := warnings(); len(w) != 1 || w[0] != "3084 Replication thread(s) for channel '' are already stopped." {
		t.Errorf("STOP REPLICA while stopped: warnings %q", w)
	}
	expectErr("START REPLICA UNTIL SQL_AFTER_MTS_GAPS", 1235, "doesn't yet support")

	// RESET REPLICA keeps the connection settings; RESET REPLICA ALL
	// forgets them.
	if _, err := conn.ExecContext(ctx, "RESET REPLICA"); err != nil {
		t.Fatal(err)
	}
	st := rplStatus(t, rdb, "")
	if st == nil || st["Source_Host"] != "127.0.0.1" || st["Connect_Retry"] != "2" || st["Read_Source_Log_Pos"] != "4" || st["Retrieved_Gtid_Set"] != "" {
		t.Fatalf("after RESET REPLICA: %v", st)
	}
	if _, err := conn.ExecContext(ctx, "RESET SLAVE ALL"); err != nil {
		t.Fatal(err)
	}
	if st := rplStatus(t, rdb, ""); st != nil {
		t.Fatalf("after RESET REPLICA ALL: %v", st)
	}
	expectErr("START REPLICA", 1200, "not configured as replica")

	// A position the source does not have stops the IO thread with the
	// source's 1236 in MySQL's wording.
	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', SOURCE_LOG_FILE='binlog.999999', SOURCE_LOG_POS=4", serverPort(t, primary)))
	mustExec(t, rdb, "START REPLICA IO_THREAD")
	waitFor(t, replicationTimeout, "the IO thread stopping", func() bool { return rplStatus(t, rdb, "")["Replica_IO_Running"] == "No" })
	if st := rplStatus(t, rdb, ""); st["Last_IO_Errno"] != "13114" ||
		st["Last_IO_Error"] != "Got fatal error 1236 from source when reading data from binary log: 'Could not find first log file name in binary log index file'" ||
		st["Last_IO_Error_Timestamp"] == "" {
		t.Fatalf("unknown source log file: %v", st)
	}
	mustExec(t, rdb, "RESET REPLICA ALL")

	// A source with this server's own id is refused for good.
	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root'", serverPort(t, replica)))
	mustExec(t, rdb, "START REPLICA IO_THREAD")
	waitFor(t, replicationTimeout, "the IO thread stopping", func() bool { return rplStatus(t, rdb, "")["Replica_IO_Running"] == "No" })
	if st := rplStatus(t, rdb, ""); st["Last_IO_Errno"] != "13117" || !strings.Contains(st["Last_IO_Error"], "equal MySQL server ids") {
		t.Fatalf("replicating from itself: %v", st)
	}
}

// TestReplicaConflicts: a duplicate key (1062) and a missing row (1032)
// stop the SQL thread with MySQL's Last_SQL_Errno and Last_SQL_Error, the
// IO thread keeps running; once the conflict is resolved START REPLICA
// retries the transaction and the replica converges.
func TestReplicaConflicts(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	rplConnect(t, rdb, primary, "")
	mustExec(t, pdb, "CREATE DATABASE c")
	mustExec(t, pdb, "CREATE TABLE c.t (id INT PRIMARY KEY, v VARCHAR(10))")
	mustExec(t, pdb, "INSERT INTO c.t VALUES (1, 'one')")
	waitCaughtUp(t, pdb, rdb, replica)

	// A row written on the replica collides with the primary's insert.
	mustExec(t, rdb, "INSERT INTO c.t VALUES (5, 'replica')")
	mustExec(t, pdb, "INSERT INTO c.t VALUES (5, 'primary')")
	var file string
	var pos uint64
	if err := pdb.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	var st map[string]string
	waitFor(t, replicationTimeout, "the SQL thread stopping on the duplicate", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Replica_SQL_Running"] == "No"
	})
	want := "Could not execute Write_rows event on table c.t; Duplicate entry '5' for key 't.PRIMARY', Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's source log " + file + ", end_log_pos "
	if st["Last_SQL_Errno"] != "1062" || !strings.HasPrefix(st["Last_SQL_Error"], want) || st["Last_Errno"] != "1062" || st["Last_Error"] != st["Last_SQL_Error"] {
		t.Fatalf("duplicate key: Last_SQL_Errno %s Last_SQL_Error %q; want 1062 %q…", st["Last_SQL_Errno"], st["Last_SQL_Error"], want)
	}
	if st["Replica_IO_Running"] != "Yes" || st["Last_SQL_Error_Timestamp"] == "" || st["Read_Source_Log_Pos"] != strconv.FormatUint(pos, 10) {
		t.Fatalf("after the SQL thread stopped: %v", st)
	}
	exec := st["Exec_Source_Log_Pos"]
	if exec == strconv.FormatUint(pos, 10) {
		t.Fatal("Exec_Source_Log_Pos moved past the failed transaction")
	}
	// Resolve and retry: the failed transaction is applied, the error cleared.
	mustExec(t, rdb, "DELETE FROM c.t WHERE id = 5")
	mustExec(t, rdb, "START REPLICA SQL_THREAD")
	waitCaughtUp(t, pdb, rdb, replica)
	waitFor(t, replicationTimeout, "the error cleared", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Last_SQL_Errno"] == "0" && st["Exec_Source_Log_Pos"] == strconv.FormatUint(pos, 10)
	})

	// A row deleted on the replica is missing for the primary's update.
	mustExec(t, rdb, "DELETE FROM c.t WHERE id = 1")
	mustExec(t, pdb, "UPDATE c.t SET v = 'uno' WHERE id = 1")
	waitFor(t, replicationTimeout, "the SQL thread stopping on the missing row", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Replica_SQL_Running"] == "No"
	})
	if st["Last_SQL_Errno"] != "1032" || !strings.HasPrefix(st["Last_SQL_Error"], "Could not execute Update_rows event on table c.t; Can't find record in 't', Error_code: 1032; handler error HA_ERR_KEY_NOT_FOUND; the event's source log "+file) {
		t.Fatalf("missing row: %s %q", st["Last_SQL_Errno"], st["Last_SQL_Error"])
	}
	mustExec(t, rdb, "INSERT INTO c.t VALUES (1, 'one')")
	mustExec(t, rdb, "START REPLICA SQL_THREAD")
	waitCaughtUp(t, pdb, rdb, replica)
	if p, r := dumpTables(t, pdb, "c"), dumpTables(t, rdb, "c"); p != r {
		t.Fatalf("tables differ after resolving\nprimary:\n%s\nreplica:\n%s", p, r)
	}
}

// writer commits transactions on the primary from several clients until
// stopped: each one inserts a few rows into rw.t and updates a counter, so
// a transaction applied twice or lost shows in the tables.
type writer struct {
	db   *sql.DB
	wg   sync.WaitGroup
	stop chan struct{}
	mu   sync.Mutex
	n    int
	err  error
}

func startWriter(t *testing.T, db *sql.DB, clients int) *writer {
	t.Helper()
	mustExec(t, db, "CREATE DATABASE IF NOT EXISTS rw")
	mustExec(t, db, "CREATE TABLE rw.t (id INT PRIMARY KEY, client INT, payload VARCHAR(64))")
	mustExec(t, db, "CREATE TABLE rw.c (client INT PRIMARY KEY, n INT)")
	w := &writer{db: db, stop: make(chan struct{})}
	for c := 0; c < clients; c++ {
		mustExec(t, db, "INSERT INTO rw.c VALUES (?, 0)", c)
	}
	for c := 0; c < clients; c++ {
		w.wg.Add(1)
		go func(c int) {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				if err := w.one(c, i); err != nil {
					w.mu.Lock()
					if w.err == nil {
						w.err = err
					}
					w.mu.Unlock()
					return
				}
			}
		}(c)
	}
	return w
}

func (w *writer) one(c, i int) error {
	tx, err := w.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	base := (c*1000000 + i) * 3
	for k := 0; k < 3; k++ {
		if _, err := tx.Exec("INSERT INTO rw.t VALUES (?, ?, ?)", base+k, c, fmt.Sprintf("client %d tx %d row %d", c, i, k)); err != nil {
			return err
		}
	}
	if _, err := tx.Exec("UPDATE rw.c SET n = n + 1 WHERE client = ?", c); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.mu.Lock()
	w.n++
	w.mu.Unlock()
	return nil
}

func (w *writer) committed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *writer) finish(t *testing.T) {
	t.Helper()
	close(w.stop)
	w.wg.Wait()
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
}

// abandon stops the writer after its server went away: errors are
// expected and ignored.
func (w *writer) abandon() {
	close(w.stop)
	w.wg.Wait()
}

// TestReplicaKill9Resumes: the replica is killed with SIGKILL while
// transactions stream in and restarted on its data directory: it resumes
// by itself and applies every transaction exactly once (tables and
// gtid_executed equal), in file/position mode and with GTID auto-position.
func TestReplicaKill9Resumes(t *testing.T) {
	for _, mode := range []struct{ name, opts string }{
		{"file-position", ""},
		{"auto-position", "SOURCE_AUTO_POSITION=1"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			primary := StartServer(t, WithArgs("--server-id", "1"))
			replica := StartServer(t, WithArgs("--server-id", "2"))
			pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
			pdb.SetMaxOpenConns(8)
			// Small relay log files: the restarts also cross rotations and
			// purges.
			mustExec(t, rdb, "SET GLOBAL max_relay_log_size = 4096")
			rplConnect(t, rdb, primary, mode.opts)
			w := startWriter(t, pdb, 4)
			for round := 0; round < 2; round++ {
				target := w.committed() + 60
				waitFor(t, replicationTimeout, "transactions to stream", func() bool { return w.committed() >= target })
				// Wait until the replica is applying, then kill it mid-stream.
				waitFor(t, replicationTimeout, "the replica applying", func() bool {
					return gtidCount(t, gtidExecuted(t, rdb)) >= target/2
				})
				replica.Kill(t)
				target = w.committed() + 40
				waitFor(t, replicationTimeout, "more transactions while the replica is down", func() bool { return w.committed() >= target })
				replica = replica.Restart(t)
				rdb = replica.DB(t, "")
				mustExec(t, rdb, "SET GLOBAL max_relay_log_size = 4096")
			}
			w.finish(t)
			waitCaughtUp(t, pdb, rdb, replica)
			if pg, rg := gtidExecuted(t, pdb), gtidExecuted(t, rdb); pg != rg {
				t.Fatalf("gtid_executed: primary %q, replica %q", pg, rg)
			}
			if p, r := dumpTables(t, pdb, "rw"), dumpTables(t, rdb, "rw"); p != r {
				t.Fatalf("tables differ after kill -9 and restart (%d transactions)", w.committed())
			}
			var rows, sum int
			if err := rdb.QueryRow("SELECT (SELECT COUNT(*) FROM rw.t), (SELECT SUM(n) FROM rw.c)").Scan(&rows, &sum); err != nil {
				t.Fatal(err)
			}
			if sum != w.committed() || rows != 3*w.committed() {
				t.Fatalf("replica has %d rows and counters summing to %d; the primary committed %d transactions", rows, sum, w.committed())
			}
			st := rplStatus(t, rdb, "")
			if st["Replica_IO_Running"] != "Yes" || st["Replica_SQL_Running"] != "Yes" || st["Last_SQL_Errno"] != "0" {
				t.Fatalf("after the restarts: %v", st)
			}
			if st["Relay_Log_File"] <= "relay-bin.000002" {
				t.Fatalf("Relay_Log_File %s: the relay log did not rotate", st["Relay_Log_File"])
			}
		})
	}
}

// TestReplicaReconnectsAfterPrimaryRestart: the primary is killed and
// restarted on the same port; while it is down the IO thread reports
// Connecting and the connection error, then it reconnects by itself and the
// replica converges, applying each transaction once.
func TestReplicaReconnectsAfterPrimaryRestart(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	primary := StartServer(t, WithArgs("--server-id", "1", "--port", port))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	rplConnect(t, rdb, primary, "SOURCE_RETRY_COUNT=1000")
	w := startWriter(t, pdb, 4)
	target := w.committed() + 50
	waitFor(t, replicationTimeout, "transactions", func() bool { return w.committed() >= target })
	primary.Kill(t) // mid-stream: the writer is still committing
	w.abandon()
	committed := w.committed()

	var st map[string]string
	waitFor(t, replicationTimeout, "the IO thread noticing the primary is gone", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Replica_IO_Running"] == "Connecting" && st["Last_IO_Errno"] == "2003"
	})
	if !strings.HasPrefix(st["Last_IO_Error"], "error reconnecting to source 'root@127.0.0.1:"+port+"' - retry-time: 1 retries: ") {
		t.Fatalf("Last_IO_Error %q", st["Last_IO_Error"])
	}

	primary = primary.Restart(t)
	pdb = primary.DB(t, "")
	mustExec(t, pdb, "INSERT INTO rw.t VALUES (-1, -1, 'after the restart')")
	waitCaughtUp(t, pdb, rdb, replica)
	waitFor(t, replicationTimeout, "the IO thread reconnected", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Replica_IO_Running"] == "Yes" && st["Last_IO_Errno"] == "0"
	})
	if pg, rg := gtidExecuted(t, pdb), gtidExecuted(t, rdb); pg != rg {
		t.Fatalf("gtid_executed: primary %q, replica %q", pg, rg)
	}
	if p, r := dumpTables(t, pdb, "rw"), dumpTables(t, rdb, "rw"); p != r {
		t.Fatal("tables differ after the primary's restart")
	}
	var sum int
	if err := rdb.QueryRow("SELECT SUM(n) FROM rw.c").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	// A commit whose OK was lost in the kill may still be there: at least
	// every acknowledged one is.
	if sum < committed {
		t.Fatalf("replica counters sum to %d, the primary acknowledged %d commits", sum, committed)
	}
}

// TestReplicationChain: primary → replica → replica. The middle server
// writes the transactions it applies to its own binlog with the source's
// GTIDs (log_replica_updates), so the last one gets everything, and all
// three have the same @@gtid_executed.
func TestReplicationChain(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	middle := StartServer(t, WithArgs("--server-id", "2"))
	last := StartServer(t, WithArgs("--server-id", "3"))
	pdb, mdb, ldb := primary.DB(t, ""), middle.DB(t, ""), last.DB(t, "")
	rplConnect(t, mdb, primary, "")
	rplConnect(t, ldb, middle, "SOURCE_AUTO_POSITION=1")
	binlogWorkload(t, pdb, "chn", true)
	waitCaughtUp(t, pdb, mdb, middle)
	waitCaughtUp(t, pdb, ldb, last)
	pg, mg, lg := gtidExecuted(t, pdb), gtidExecuted(t, mdb), gtidExecuted(t, ldb)
	if pg != mg || pg != lg {
		t.Fatalf("gtid_executed: primary %q, middle %q, last %q", pg, mg, lg)
	}
	var puuid string
	if err := pdb.QueryRow("SELECT @@server_uuid").Scan(&puuid); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lg, puuid+":") {
		t.Fatalf("the last replica's GTIDs %q are not the primary's (%s)", lg, puuid)
	}
	p := dumpTables(t, pdb, "chn")
	if m, l := dumpTables(t, mdb, "chn"), dumpTables(t, ldb, "chn"); p != m || p != l {
		t.Fatalf("tables differ\nprimary:\n%s\nmiddle:\n%s\nlast:\n%s", p, m, l)
	}
	if st := rplStatus(t, ldb, ""); st["Source_Server_Id"] != "2" || st["Auto_Position"] != "1" || st["Retrieved_Gtid_Set"] != pg {
		t.Fatalf("last replica's status: %v", st)
	}
}

// linkProxy forwards TCP connections to a server and can fail them: cut
// closes every open connection (a reset link), blackhole keeps them open
// but drops everything (a silent link, found only by timeouts).
type linkProxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	holed bool
}

func newLinkProxy(t *testing.T, target string) *linkProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{l: l, target: target}
	t.Cleanup(func() {
		l.Close()
		p.cut()
	})
	go p.serve()
	return p
}

func (p *linkProxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *linkProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies src to dst, dropping the bytes while the link is a black
// hole.
func (p *linkProxy) pipe(src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		holed := p.holed
		p.mu.Unlock()
		if holed {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// cut closes every connection made so far.
func (p *linkProxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// blackhole makes the open connections drop what they carry (on) or
// forgets them, keeping them open but useless (off: new connections work).
func (p *linkProxy) blackhole(on bool) {
	p.mu.Lock()
	p.holed = on
	if !on {
		p.conns = nil
	}
	p.mu.Unlock()
}

// TestReplicaReconnectsAfterCutLink: the replica reaches a password-
// protected primary through a proxy. A reset link is noticed at once; a
// silent one (nothing arrives, nothing closes) after replica_net_timeout,
// heartbeats keeping a healthy idle link alive meanwhile. Either way the IO
// thread reconnects by itself and nothing is lost or applied twice.
func TestReplicaReconnectsAfterCutLink(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"), WithPassword("s3cret"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	proxy := newLinkProxy(t, primary.Addr)
	mustExec(t, rdb, "SET GLOBAL replica_net_timeout = 2")
	mustExec(t, rdb, fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', SOURCE_PASSWORD='s3cret', SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=0.25", proxy.port()))
	mustExec(t, rdb, "START REPLICA")
	mustExec(t, pdb, "CREATE DATABASE cut")
	mustExec(t, pdb, "CREATE TABLE cut.t (id INT PRIMARY KEY)")
	waitCaughtUp(t, pdb, rdb, replica)

	// Idle for longer than the timeout: heartbeats keep the link.
	time.Sleep(2500 * time.Millisecond)
	if st := rplStatus(t, rdb, ""); st["Replica_IO_Running"] != "Yes" || st["Last_IO_Errno"] != "0" || !strings.Contains(replica.Logs(), "replica I/O thread started") ||
		strings.Contains(replica.Logs(), "reconnecting") {
		t.Fatalf("an idle link with heartbeats was dropped: %v", st)
	}

	n := 0
	insert := func(k int) {
		for i := 0; i < k; i++ {
			n++
			mustExec(t, pdb, "INSERT INTO cut.t VALUES (?)", n)
		}
	}
	insert(20)
	proxy.cut()
	insert(20)
	waitCaughtUp(t, pdb, rdb, replica)

	proxy.blackhole(true)
	insert(20)
	start := time.Now()
	waitFor(t, replicationTimeout, "the silent link noticed", func() bool {
		return strings.Contains(replica.Logs(), "i/o timeout")
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a silent link took %v to notice with replica_net_timeout = 2", d)
	}
	proxy.blackhole(false)
	insert(20)
	waitCaughtUp(t, pdb, rdb, replica)
	if pg, rg := gtidExecuted(t, pdb), gtidExecuted(t, rdb); pg != rg {
		t.Fatalf("gtid_executed: primary %q, replica %q", pg, rg)
	}
	var count int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM cut.t").Scan(&count); err != nil || count != n {
		t.Fatalf("replica has %d rows (%v), want %d", count, err, n)
	}
}

// TestReplicaShutdownInterruptsApplier: a replica whose SQL thread waits for
// a row lock held by a local session still shuts down promptly and cleanly;
// the interrupted transaction is applied after the restart.
func TestReplicaShutdownInterruptsApplier(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	rplConnect(t, rdb, primary, "")
	mustExec(t, pdb, "CREATE DATABASE sd")
	mustExec(t, pdb, "CREATE TABLE sd.t (id INT PRIMARY KEY, v INT)")
	mustExec(t, pdb, "INSERT INTO sd.t VALUES (1, 0)")
	waitCaughtUp(t, pdb, rdb, replica)

	holder := replica.Conn(t)
	ctx := context.Background()
	if _, err := holder.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(ctx, "SELECT * FROM sd.t WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pdb, "UPDATE sd.t SET v = 1 WHERE id = 1")
	waitFor(t, replicationTimeout, "the SQL thread applying (blocked on the lock)", func() bool {
		return rplStatus(t, rdb, "")["Replica_SQL_Running_State"] == "Applying a transaction"
	})
	start := time.Now()
	replica.Stop(t) // SIGTERM: a clean exit within the harness's bound
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v with the applier waiting on a lock", d)
	}
	replica = replica.Restart(t)
	rdb = replica.DB(t, "")
	waitCaughtUp(t, pdb, rdb, replica)
	var v int
	if err := rdb.QueryRow("SELECT v FROM sd.t WHERE id = 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("after the restart v = %d (%v), want 1", v, err)
	}
}

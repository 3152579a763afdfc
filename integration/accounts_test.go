package integration

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// accountSecrets are the clear-text passwords the account tests set; none may be written
// anywhere in a data directory (binlog, relay log, journal, privileges).
var accountSecrets = []string{"first-Secret-1", "second-Secret-2", "gone-Secret-3", "hidden-Secret-4", "shown-Secret-5",
	"ren-Secret-6", "renamed-Secret-7", "self-Secret-8"}

// binlogInfos returns the Info column of every event of every binlog file of db's server.
func binlogInfos(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, f := range queryStrings(t, db, "SHOW BINARY LOGS") {
		for _, e := range queryStrings(t, db, "SHOW BINLOG EVENTS IN '"+f[0].String+"'") {
			out = append(out, e[5].String)
		}
	}
	return out
}

// secretsOnDisk names the files under dir that contain one of secrets.
func secretsOnDisk(t *testing.T, dir string, secrets []string) []string {
	t.Helper()
	var found []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // a file removed meanwhile (a temporary)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				found = append(found, path+": "+s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// grantsFor returns SHOW GRANTS FOR account, one string per row, or the error.
func grantsFor(db *sql.DB, account string) ([]string, error) {
	rows, err := db.Query("SHOW GRANTS FOR " + account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// loginError connects to s over TLS (caching_sha2_password needs it) as user with password
// and runs a SELECT on acc.t; nil when both work.
func loginError(t *testing.T, s *Server, user, password string) error {
	t.Helper()
	cfg, err := mysql.ParseDSN(s.UserDSN(user, password, ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = "skip-verify"
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	return db.QueryRow("SELECT COUNT(*) FROM acc.t").Scan(&n)
}

// TestAccountStatementsReplicate: account statements on a semi-sync primary reach a semi-sync
// replica as Query events with the password hashed (never in clear anywhere on disk), each in
// its own GTID transaction that waited for the ACK; the replica's grants equal the primary's,
// the new account logs in to the replica with its current password only, and a dropped
// account is gone there too. After SIGKILL the primary replays its binlog without running the
// account statements again: it starts, with the accounts as they were.
func TestAccountStatementsReplicate(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	primary := StartServer(t, WithArgs("--server-id", "1", "--port", port))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)
	mustExec(t, pdb, "CREATE DATABASE acc")
	mustExec(t, pdb, "CREATE TABLE acc.t (id INT PRIMARY KEY)")
	mustExec(t, pdb, "INSERT INTO acc.t VALUES (1), (2)")
	waitCaughtUp(t, pdb, rdb, replica)
	yes0, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"))
	g0 := gtidCount(t, gtidExecuted(t, pdb))

	statements := []string{
		"CREATE USER 'app'@'%' IDENTIFIED BY 'first-Secret-1'",
		"CREATE USER 'gone'@'%' IDENTIFIED WITH mysql_native_password BY 'gone-Secret-3'",
		"GRANT SELECT, INSERT ON acc.* TO 'app'@'%'",
		"GRANT SELECT ON acc.* TO 'gone'@'%'",
		"ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY 'second-Secret-2'",
		"REVOKE INSERT ON acc.* FROM 'app'@'%'",
		"DROP USER 'gone'@'%'",
		"CREATE USER 'ren'@'%' IDENTIFIED BY 'ren-Secret-6'",
		"GRANT SELECT ON acc.t TO 'ren'@'%'",
		"RENAME USER 'ren'@'%' TO 'renamed'@'%'",
		"SET PASSWORD FOR 'renamed'@'%' = 'renamed-Secret-7'",
		"CREATE ROLE 'reader'",
		"GRANT SELECT ON acc.* TO 'reader'",
		"GRANT 'reader' TO 'app'@'%'",
		"ALTER USER 'app'@'%' REQUIRE SSL",
	}
	for _, q := range statements {
		mustExec(t, pdb, q)
	}
	// SET PASSWORD for one's own account.
	self := openDB(t, primary.UserDSN("renamed", "renamed-Secret-7", ""))
	mustExec(t, self, "SET PASSWORD = 'self-Secret-8'")
	self.Close()
	statements = append(statements, "SET PASSWORD = …")
	waitCaughtUp(t, pdb, rdb, replica)

	// Each statement is one GTID transaction, acknowledged by the replica.
	txs := gtidCount(t, gtidExecuted(t, pdb))
	if txs != g0+len(statements) {
		t.Errorf("gtid_executed grew by %d transactions, want %d (one per account statement)", txs-g0, len(statements))
	}
	if y, _ := strconv.Atoi(semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx")); y != yes0+len(statements) {
		t.Errorf("Rpl_semi_sync_source_yes_tx = %d, want %d", y, yes0+len(statements))
	}
	if s := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); s != "ON" {
		t.Errorf("Rpl_semi_sync_source_status = %s", s)
	}
	if s := semiSyncStatus(t, rdb, "Rpl_semi_sync_replica_status"); s != "ON" {
		t.Errorf("Rpl_semi_sync_replica_status = %s", s)
	}
	if g, r := gtidExecuted(t, pdb), gtidExecuted(t, rdb); g != r {
		t.Errorf("gtid_executed: primary %s, replica %s", g, r)
	}

	// The binlog holds the statements, with hashes for passwords.
	infos := strings.Join(binlogInfos(t, pdb), "\n")
	for _, want := range []string{
		"CREATE USER 'app'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*",
		"CREATE USER 'gone'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*",
		"GRANT SELECT, INSERT ON acc.* TO 'app'@'%'",
		"ALTER USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$",
		"REVOKE INSERT ON acc.* FROM 'app'@'%'",
		"DROP USER 'gone'@'%'",
		"RENAME USER 'ren'@'%' TO 'renamed'@'%'",
		"ALTER USER 'renamed'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*",
	} {
		if !strings.Contains(infos, want) {
			t.Errorf("SHOW BINLOG EVENTS has no %q:\n%s", want, infos)
		}
	}
	for _, dir := range []string{primary.DataDir, replica.DataDir} {
		if found := secretsOnDisk(t, dir, accountSecrets); len(found) > 0 {
			t.Errorf("clear-text passwords on disk: %v", found)
		}
	}

	// The replica has the same accounts.
	pg, err := grantsFor(pdb, "'app'@'%'")
	if err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(pg, ";"); !strings.Contains(joined, "GRANT SELECT ON `acc`.* TO `app`@`%`") || strings.Contains(joined, "INSERT") ||
		!strings.Contains(joined, "GRANT `reader`@`%` TO `app`@`%`") {
		t.Fatalf("primary grants of app: %v", pg)
	}
	rg, err := grantsFor(rdb, "'app'@'%'")
	if err != nil {
		t.Fatalf("replica SHOW GRANTS FOR app: %v; replica status %v", err, rplStatus(t, rdb, ""))
	}
	if strings.Join(rg, ";") != strings.Join(pg, ";") {
		t.Errorf("replica grants of app %v, primary %v", rg, pg)
	}
	for name, db := range map[string]*sql.DB{"primary": pdb, "replica": rdb} {
		if _, err := grantsFor(db, "'gone'@'%'"); mysqlErrorNumber(err) != 1141 {
			t.Errorf("%s SHOW GRANTS FOR the dropped account: %v, want 1141", name, err)
		}
	}
	for name, db := range map[string]*sql.DB{"primary": pdb, "replica": rdb} {
		var ssl string
		if err := db.QueryRow("SELECT ssl_type FROM mysql.user WHERE user = 'app'").Scan(&ssl); err != nil || ssl != "ANY" {
			t.Errorf("%s: app's ssl_type %q (%v), want ANY (REQUIRE SSL)", name, ssl, err)
		}
	}
	if err := loginError(t, replica, "app", "second-Secret-2"); err != nil {
		t.Errorf("app on the replica with its new password: %v", err)
	}
	if err := loginError(t, replica, "app", "first-Secret-1"); mysqlErrorNumber(err) != 1045 {
		t.Errorf("app on the replica with its old password: %v, want 1045", err)
	}
	if err := loginError(t, replica, "gone", "gone-Secret-3"); mysqlErrorNumber(err) != 1045 {
		t.Errorf("the dropped account on the replica: %v, want 1045", err)
	}
	pr, err := grantsFor(pdb, "'renamed'@'%'")
	if err != nil || !strings.Contains(strings.Join(pr, ";"), "GRANT SELECT ON `acc`.`t` TO `renamed`@`%`") {
		t.Errorf("primary grants of the renamed account: %v (%v)", pr, err)
	}
	if rr, err := grantsFor(rdb, "'renamed'@'%'"); err != nil || strings.Join(rr, ";") != strings.Join(pr, ";") {
		t.Errorf("replica grants of the renamed account %v (%v), primary %v", rr, err, pr)
	}
	if _, err := grantsFor(rdb, "'ren'@'%'"); mysqlErrorNumber(err) != 1141 {
		t.Errorf("replica SHOW GRANTS FOR the old name: %v, want 1141", err)
	}
	if err := loginError(t, replica, "renamed", "self-Secret-8"); err != nil {
		t.Errorf("the renamed account on the replica with the password it set itself: %v", err)
	}
	if err := loginError(t, replica, "renamed", "renamed-Secret-7"); mysqlErrorNumber(err) != 1045 {
		t.Errorf("the renamed account on the replica with its previous password: %v, want 1045", err)
	}
	if st := rplStatus(t, rdb, ""); st["Last_SQL_Errno"] != "0" || st["Replica_SQL_Running"] != "Yes" {
		t.Errorf("replica SQL thread: %s %s", st["Last_SQL_Errno"], st["Last_SQL_Error"])
	}

	// A crash: the restart replays the binlog but not the account statements.
	gBefore := gtidExecuted(t, pdb)
	primary.Kill(t)
	primary = primary.Restart(t)
	pdb = primary.DB(t, "")
	replayed := false
	for _, line := range strings.Split(primary.Logs(), "\n") {
		if strings.Contains(line, "replayed the binlog") {
			n, _ := strconv.Atoi(logFields(line)["transactions"])
			replayed = n >= len(statements)
		}
	}
	if !replayed {
		t.Errorf("the restart did not replay the account statements' transactions; log:\n%s", primary.Logs())
	}
	if g := gtidExecuted(t, pdb); g != gBefore {
		t.Errorf("gtid_executed after the restart %s, before %s", g, gBefore)
	}
	after, err := grantsFor(pdb, "'app'@'%'")
	if err != nil || strings.Join(after, ";") != strings.Join(pg, ";") {
		t.Errorf("grants of app after the restart %v (%v), want %v", after, err, pg)
	}
	if err := loginError(t, primary, "app", "second-Secret-2"); err != nil {
		t.Errorf("app on the restarted primary: %v", err)
	}
	if _, err := grantsFor(pdb, "'gone'@'%'"); mysqlErrorNumber(err) != 1141 {
		t.Errorf("the dropped account after the restart: %v, want 1141", err)
	}
	// The replica follows the restarted primary.
	mustExec(t, pdb, "CREATE USER 'late'@'%'")
	waitCaughtUp(t, pdb, rdb, replica)
	if _, err := grantsFor(rdb, "'late'@'%'"); err != nil {
		t.Errorf("replica SHOW GRANTS FOR an account created after the restart: %v", err)
	}
}

// TestAccountStatementSQLLogBinOff: with sql_log_bin = 0 an account statement changes the
// account but stays out of the binlog (no GTID, no event); with it ON again the next one is
// logged.
func TestAccountStatementSQLLogBinOff(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE acc")
	mustExec(t, db, "CREATE TABLE acc.t (id INT PRIMARY KEY)")
	g0 := gtidExecuted(t, db)
	conn := srv.Conn(t)
	ctx := context.Background()
	for _, q := range []string{
		"SET sql_log_bin = 0",
		"CREATE USER 'hidden'@'%' IDENTIFIED BY 'hidden-Secret-4'",
		"GRANT SELECT ON acc.* TO 'hidden'@'%'",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if g := gtidExecuted(t, db); g != g0 {
		t.Fatalf("gtid_executed moved with sql_log_bin = 0: %s -> %s", g0, g)
	}
	if err := loginError(t, srv, "hidden", "hidden-Secret-4"); err != nil {
		t.Fatalf("the unlogged account cannot log in: %v", err)
	}
	for _, q := range []string{"SET sql_log_bin = 1", "CREATE USER 'shown'@'%' IDENTIFIED BY 'shown-Secret-5'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	infos := strings.Join(binlogInfos(t, db), "\n")
	if strings.Contains(infos, "hidden") {
		t.Errorf("the binlog has the statements run with sql_log_bin = 0:\n%s", infos)
	}
	if !strings.Contains(infos, "CREATE USER 'shown'@'%'") {
		t.Errorf("the binlog lacks the statement run with sql_log_bin = 1:\n%s", infos)
	}
	if n := gtidCount(t, gtidExecuted(t, db)) - gtidCount(t, g0); n != 1 {
		t.Errorf("gtid_executed grew by %d, want 1", n)
	}
	if found := secretsOnDisk(t, srv.DataDir, accountSecrets); len(found) > 0 {
		t.Errorf("clear-text passwords on disk: %v", found)
	}
}

// TestAccountStatementErrorStopsReplica: an account statement that fails on the replica (the
// account exists there already) stops the SQL thread with MySQL's error, 1396, and the text
// MySQL's SQL thread reports; the IO thread goes on.
func TestAccountStatementErrorStopsReplica(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	mustExec(t, rdb, "CREATE USER 'dup'@'%'")
	rplConnect(t, rdb, primary, "")
	mustExec(t, pdb, "CREATE USER 'dup'@'%' IDENTIFIED BY 'first-Secret-1'")
	var st map[string]string
	waitFor(t, replicationTimeout, "the SQL thread to stop", func() bool {
		st = rplStatus(t, rdb, "")
		return st["Replica_SQL_Running"] == "No"
	})
	want := "Error 'Operation CREATE USER failed for 'dup'@'%'' on query. Default database: ''. Query: 'CREATE USER 'dup'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*"
	if st["Last_SQL_Errno"] != "1396" || !strings.HasPrefix(st["Last_SQL_Error"], want) {
		t.Errorf("Last_SQL_Errno %s, Last_SQL_Error %q; want 1396, %q…", st["Last_SQL_Errno"], st["Last_SQL_Error"], want)
	}
	if st["Replica_IO_Running"] != "Yes" {
		t.Errorf("Replica_IO_Running = %s", st["Replica_IO_Running"])
	}
	if strings.Contains(st["Last_SQL_Error"], "first-Secret-1") {
		t.Errorf("the clear password is in Last_SQL_Error")
	}
}

// TestMariaDBReplicaAccounts: a stock MariaDB semi-sync replica applies the account statements
// semisyncd logs (mysql_native_password accounts as IDENTIFIED WITH … AS '*hash'): the account
// has the same hash and grants there, logs in to MariaDB with its password, and yes_tx counted
// the statements.
func TestMariaDBReplicaAccounts(t *testing.T) {
	rep := startMariaDB(t, 2)
	srv := StartServer(t)
	db := srv.DB(t, "")
	mariaDBSemiSyncReplica(t, srv, db, rep)
	yesBefore, _ := strconv.Atoi(globalStatus(t, db, "Rpl_semi_sync_master_yes_tx"))

	mustExec(t, db, "CREATE DATABASE acc")
	mustExec(t, db, "CREATE TABLE acc.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO acc.t VALUES (1)")
	mustExec(t, db, "CREATE USER 'mapp'@'%' IDENTIFIED WITH mysql_native_password BY 'first-Secret-1'")
	mustExec(t, db, "GRANT SELECT ON acc.* TO 'mapp'@'%'")
	const transactions = 5
	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, replicationTimeout, "the MariaDB replica to apply everything", func() bool {
		st := rep.slaveStatus(t)
		if st["Last_SQL_Error"] != "" || st["Last_IO_Error"] != "" {
			t.Fatalf("replica error: IO %q SQL %q", st["Last_IO_Error"], st["Last_SQL_Error"])
		}
		return st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == strconv.Itoa(int(pos))
	})
	var hash string
	if err := db.QueryRow("SELECT authentication_string FROM mysql.user WHERE user = 'mapp'").Scan(&hash); err != nil || !strings.HasPrefix(hash, "*") {
		t.Fatalf("primary hash %q (%v)", hash, err)
	}
	if got := strings.TrimSpace(rep.mustQuery(t, "SELECT authentication_string FROM mysql.user WHERE user = 'mapp' AND host = '%'")); got != hash {
		t.Errorf("MariaDB replica hash %q, primary %q", got, hash)
	}
	if got := rep.mustQuery(t, "SHOW GRANTS FOR 'mapp'@'%'"); !strings.Contains(got, "GRANT SELECT ON `acc`.* TO `mapp`@`%`") {
		t.Errorf("MariaDB replica grants: %s", got)
	}
	out, err := exec.Command("mariadb", "-h", "127.0.0.1", "-P", strconv.Itoa(rep.port), "-umapp", "-pfirst-Secret-1",
		"--skip-ssl", "-B", "-N", "-e", "SELECT COUNT(*) FROM acc.t").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Errorf("mapp logging in to the MariaDB replica: %v %s", err, out)
	}
	if yes, _ := strconv.Atoi(globalStatus(t, db, "Rpl_semi_sync_master_yes_tx")); yes-yesBefore != transactions {
		t.Errorf("yes_tx rose by %d, want %d", yes-yesBefore, transactions)
	}
	if s := globalStatus(t, db, "Rpl_semi_sync_master_status"); s != "ON" {
		t.Errorf("semi-sync status %s", s)
	}
}

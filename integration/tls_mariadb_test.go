package integration

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMariaDBReplicaOverTLS: a stock MariaDB replica replicates from a semisyncd primary that
// requires secure transport, with CHANGE MASTER TO … MASTER_SSL=1, MASTER_SSL_CA (the
// primary's generated ca.pem) and MASTER_SSL_VERIFY_SERVER_CERT=1, and semi-sync: MariaDB's
// status ON, our yes_tx counts every transaction, our status ON, the rows arrived.
func TestMariaDBReplicaOverTLS(t *testing.T) {
	rep := startMariaDB(t, 2)
	srv := StartServer(t, WithArgs("--require-secure-transport"))
	db := openDB(t, tlsDSN(t, srv))
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_master_timeout = 10000")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_master_enabled = ON")
	host, port, _ := net.SplitHostPort(srv.Addr)
	ca := filepath.Join(srv.DataDir, "ca.pem")
	rep.mustQuery(t, fmt.Sprintf("SET GLOBAL rpl_semi_sync_slave_enabled = ON; "+
		"CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%s, MASTER_USER='root', MASTER_PASSWORD='', "+
		"MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4, MASTER_CONNECT_RETRY=1, "+
		"MASTER_SSL=1, MASTER_SSL_CA='%s', MASTER_SSL_VERIFY_SERVER_CERT=1; START SLAVE", host, port, ca))
	waitFor(t, replicationTimeout, "MariaDB's semi-sync over TLS", func() bool {
		out, _ := rep.query("SHOW STATUS LIKE 'Rpl_semi_sync_slave_status'")
		return globalStatus(t, db, "Rpl_semi_sync_master_clients") == "1" && strings.Contains(out, "ON")
	})
	if st := rep.slaveStatus(t); st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_Verify_Server_Cert"] != "Yes" || st["Master_SSL_CA_File"] != ca {
		t.Errorf("MariaDB's SHOW SLAVE STATUS: SSL_Allowed %q, Verify %q, CA %q", st["Master_SSL_Allowed"], st["Master_SSL_Verify_Server_Cert"], st["Master_SSL_CA_File"])
	}

	yesBefore, _ := strconv.Atoi(globalStatus(t, db, "Rpl_semi_sync_master_yes_tx"))
	mustExec(t, db, "CREATE DATABASE sec")
	mustExec(t, db, "CREATE TABLE sec.t (id INT PRIMARY KEY, v VARCHAR(40))")
	for i := 1; i <= 10; i++ {
		mustExec(t, db, fmt.Sprintf("INSERT INTO sec.t VALUES (%d, 'over TLS %d')", i, i))
	}
	const transactions = 12
	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, replicationTimeout, "MariaDB at our position", func() bool {
		st := rep.slaveStatus(t)
		if st["Last_SQL_Error"] != "" || st["Last_IO_Error"] != "" {
			t.Fatalf("MariaDB replica error: IO %q SQL %q", st["Last_IO_Error"], st["Last_SQL_Error"])
		}
		return st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == strconv.Itoa(int(pos))
	})
	if got := strings.TrimSpace(rep.mustQuery(t, "SELECT COUNT(*), MAX(v) FROM sec.t")); got != "10\tover TLS 9" {
		t.Errorf("MariaDB replica rows: %q", got)
	}
	if yes, _ := strconv.Atoi(globalStatus(t, db, "Rpl_semi_sync_master_yes_tx")); yes-yesBefore != transactions {
		t.Errorf("yes_tx rose by %d, want %d", yes-yesBefore, transactions)
	}
	if s := globalStatus(t, db, "Rpl_semi_sync_master_status"); s != "ON" {
		t.Errorf("Rpl_semi_sync_master_status = %s", s)
	}
}

// TestReplicaFromMariaDBPrimaryOverTLS: our replica replicates with semi-sync from a stock
// MariaDB primary that has TLS (certificates semisyncd generated) and require_secure_transport,
// as an account with REQUIRE SSL, through CHANGE MASTER TO … MASTER_SSL=1, MASTER_SSL_CA and
// MASTER_SSL_VERIFY_SERVER_CERT=1: MariaDB's yes_tx rose, our status ON, the rows arrived.
func TestReplicaFromMariaDBPrimaryOverTLS(t *testing.T) {
	replica := StartServer(t, WithArgs("--server-id", "2"))
	d := replica.DataDir
	mdb := startMariaDB(t, 11, "log_bin=mariadb-bin", "binlog_format=ROW",
		"ssl_ca="+filepath.Join(d, "ca.pem"), "ssl_cert="+filepath.Join(d, "server-cert.pem"),
		"ssl_key="+filepath.Join(d, "server-key.pem"), "require_secure_transport=ON")
	if out := mdb.mustQuery(t, "SHOW VARIABLES LIKE 'have_ssl'"); !strings.Contains(out, "YES") {
		t.Fatalf("MariaDB has no TLS: %s", out)
	}
	mdb.mustQuery(t, "CREATE USER 'repl'@'%' IDENTIFIED BY 'pw' REQUIRE SSL; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'")
	mdb.mustQuery(t, "SET GLOBAL rpl_semi_sync_master_timeout = 10000; SET GLOBAL rpl_semi_sync_master_enabled = ON")
	var file string
	var pos int
	if _, err := fmt.Sscan(mdb.mustQuery(t, "SHOW MASTER STATUS"), &file, &pos); err != nil {
		t.Fatal(err)
	}

	rdb := replica.DB(t, "")
	mustExec(t, rdb, "INSTALL PLUGIN rpl_semi_sync_slave SONAME 'semisync_slave.so'")
	mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_slave_enabled = ON")
	mustExec(t, rdb, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', MASTER_PASSWORD='pw', "+
		"MASTER_LOG_FILE='%s', MASTER_LOG_POS=%d, MASTER_CONNECT_RETRY=1, MASTER_SSL=1, MASTER_SSL_CA='ca.pem', MASTER_SSL_VERIFY_SERVER_CERT=1",
		mdb.port, file, pos))
	mustExec(t, rdb, "START SLAVE")
	waitFor(t, replicationTimeout, "semi-sync with MariaDB over TLS", func() bool {
		out, _ := mdb.query("SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'")
		return strings.Contains(out, "\t1") && semiSyncStatus(t, rdb, "Rpl_semi_sync_slave_status") == "ON"
	})
	yesOut := mdb.mustQuery(t, "SHOW STATUS LIKE 'Rpl_semi_sync_master_yes_tx'")
	yesBefore, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(yesOut), "Rpl_semi_sync_master_yes_tx")))
	mdb.mustQuery(t, "CREATE DATABASE fm; CREATE TABLE fm.t (id INT PRIMARY KEY, v VARCHAR(40)); "+
		"INSERT INTO fm.t VALUES (1, 'one'), (2, 'two'); INSERT INTO fm.t VALUES (3, 'three')")
	if _, err := fmt.Sscan(mdb.mustQuery(t, "SHOW MASTER STATUS"), &file, &pos); err != nil {
		t.Fatal(err)
	}
	waitFor(t, replicationTimeout, "the replica at MariaDB's position", func() bool {
		st := rplStatus(t, rdb, "SHOW SLAVE STATUS")
		if st["Last_SQL_Errno"] != "0" || st["Last_IO_Errno"] != "0" {
			t.Fatalf("replica error: %v", st)
		}
		return st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == strconv.Itoa(pos)
	})
	var n int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM fm.t").Scan(&n); err != nil || n != 3 {
		t.Fatalf("replica has %d rows (%v), want 3", n, err)
	}
	yesOut = mdb.mustQuery(t, "SHOW STATUS LIKE 'Rpl_semi_sync_master_yes_tx'")
	yes, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(yesOut), "Rpl_semi_sync_master_yes_tx")))
	if yes-yesBefore != 4 {
		t.Errorf("MariaDB's yes_tx rose by %d, want 4", yes-yesBefore)
	}
	if s := semiSyncStatus(t, rdb, "Rpl_semi_sync_slave_status"); s != "ON" {
		t.Errorf("Rpl_semi_sync_slave_status = %s", s)
	}
	if st := rplStatus(t, rdb, "SHOW SLAVE STATUS"); st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_CA_File"] != "ca.pem" {
		t.Errorf("SHOW SLAVE STATUS: Master_SSL_Allowed %q, Master_SSL_CA_File %q", st["Master_SSL_Allowed"], st["Master_SSL_CA_File"])
	}
}

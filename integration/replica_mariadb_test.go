package integration

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// startMariaDBPrimary starts a stock MariaDB with a row-based binlog, for
// our replica to replicate from.
func startMariaDBPrimary(t *testing.T) *mariadbServer {
	return startMariaDB(t, 11, "log_bin=mariadb-bin", "binlog_format=ROW")
}

// TestReplicaFromMariaDBPrimary: our replica replicates from a stock
// MariaDB 10.11 primary with semi-sync: the probe finds MariaDB's
// rpl_semi_sync_master_enabled, every commit is acknowledged (MariaDB's
// yes_tx, our status ON); MariaDB's v1 row events and the comment-only
// queries it sends in place of its own event types are handled, and the
// rows end up equal (read with the mariadb client on both sides).
func TestReplicaFromMariaDBPrimary(t *testing.T) {
	mdb := startMariaDBPrimary(t)
	mdb.mustQuery(t, "CREATE USER 'repl'@'%' IDENTIFIED BY 'pw'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'")
	mdb.mustQuery(t, "SET GLOBAL rpl_semi_sync_master_timeout = 10000; SET GLOBAL rpl_semi_sync_master_enabled = ON")
	var file string
	var pos int
	if _, err := fmt.Sscan(mdb.mustQuery(t, "SHOW MASTER STATUS"), &file, &pos); err != nil {
		t.Fatal(err)
	}

	replica := StartServer(t, WithArgs("--server-id", "2"))
	rdb := replica.DB(t, "")
	mustExec(t, rdb, "INSTALL PLUGIN rpl_semi_sync_slave SONAME 'semisync_slave.so'")
	mustExec(t, rdb, "SET GLOBAL rpl_semi_sync_slave_enabled = ON")
	mustExec(t, rdb, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', MASTER_PASSWORD='pw', MASTER_LOG_FILE='%s', MASTER_LOG_POS=%d, MASTER_CONNECT_RETRY=1", mdb.port, file, pos))
	mustExec(t, rdb, "START SLAVE")
	waitFor(t, replicationTimeout, "semi-sync with MariaDB", func() bool {
		out, _ := mdb.query("SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'")
		return strings.Contains(out, "\t1") && semiSyncStatus(t, rdb, "Rpl_semi_sync_slave_status") == "ON"
	})

	for _, q := range []string{
		"CREATE DATABASE fm",
		`CREATE TABLE fm.t (id INT PRIMARY KEY, ti TINYINT, us SMALLINT UNSIGNED, bi BIGINT, ub BIGINT UNSIGNED,
			de DECIMAL(12,3), do DOUBLE, da DATE, dt DATETIME(6), ts TIMESTAMP NULL, yr YEAR, ch CHAR(4), vc VARCHAR(30),
			tx TEXT, bl BLOB, vb VARBINARY(8), en ENUM('a','b','c'), st SET('x','y','z')) DEFAULT CHARSET=utf8mb4`,
		`INSERT INTO fm.t VALUES
			(1, -128, 65535, -9223372036854775808, 18446744073709551615, -123456789.125, 3.141592653589793,
			 '2024-02-29', '2024-02-29 23:59:59.123456', '2024-02-29 12:00:00', 2155, 'ab', 'héllo ✓', 'line1\nline2',
			 x'00FF7F80', x'0102', 'b', 'x,z'),
			(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		"BEGIN; INSERT INTO fm.t (id, vc) VALUES (3, 'three'); UPDATE fm.t SET vc = 'seven', bi = 7 WHERE id = 3; DELETE FROM fm.t WHERE id = 2; COMMIT",
		"ALTER TABLE fm.t ADD COLUMN extra INT",
		"UPDATE fm.t SET extra = id * 10",
	} {
		mdb.mustQuery(t, q)
	}
	const transactions = 6
	if _, err := fmt.Sscan(mdb.mustQuery(t, "SHOW MASTER STATUS"), &file, &pos); err != nil {
		t.Fatal(err)
	}
	var st map[string]string
	waitFor(t, replicationTimeout, "the replica at MariaDB's position", func() bool {
		st = rplStatus(t, rdb, "SHOW SLAVE STATUS")
		if st["Last_SQL_Errno"] != "0" || st["Last_IO_Errno"] != "0" {
			t.Fatalf("replica error: %v", st)
		}
		return st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == strconv.Itoa(pos) &&
			st["Slave_SQL_Running_State"] == "Replica has read all relay log; waiting for more updates"
	})
	const sel = "SELECT id, ti, us, bi, ub, de, do, da, dt, ts, yr, ch, vc, tx, HEX(bl), HEX(vb), en, st, extra FROM fm.t ORDER BY id"
	want := mdb.mustQuery(t, sel)
	host, port, _ := net.SplitHostPort(replica.Addr)
	got, err := exec.Command("mariadb", "-h", host, "-P", port, "-uroot", "--default-character-set=utf8mb4", "-B", "-N", "-e", sel).CombinedOutput()
	if err != nil {
		t.Fatalf("replica rows: %v %s", err, got)
	}
	if string(got) != want {
		t.Fatalf("replica rows differ:\n%s\nMariaDB rows:\n%s", got, want)
	}
	yes := mdb.mustQuery(t, "SHOW STATUS LIKE 'Rpl_semi_sync_master_yes_tx'")
	if strings.TrimSpace(yes) != "Rpl_semi_sync_master_yes_tx\t"+strconv.Itoa(transactions) {
		t.Fatalf("MariaDB %s; want %d acknowledged transactions", strings.TrimSpace(yes), transactions)
	}
	if semiSyncStatus(t, rdb, "Rpl_semi_sync_slave_status") != "ON" {
		t.Fatal("our semi-sync status is not ON")
	}
}

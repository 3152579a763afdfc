package integration

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/internal/mariadbd"
)

// mariadbServer is a stock MariaDB server started by internal/mariadbd from
// Debian's mariadb-server package, on 127.0.0.1 and a free port, in a
// temporary directory, as a replica or (with log_bin in extraConf) a
// primary. The test talks to it through the mariadb client on its socket.
type mariadbServer struct {
	dir, sock string
	port      int
	cmd       *exec.Cmd
}

func startMariaDB(t testing.TB, serverID int, extraConf ...string) *mariadbServer {
	t.Helper()
	if _, err := mariadbd.Installed(); err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "mdbreplica")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m, err := mariadbd.Start(dir, freePort(t), serverID, extraConf...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return &mariadbServer{dir: m.Dir, sock: m.Sock, port: m.Port, cmd: m.Cmd}
}

// query runs SQL through the mariadb client in batch mode without headers.
func (r *mariadbServer) query(q string) (string, error) {
	out, err := exec.Command("mariadb", "-S", r.sock, "-uroot", "--default-character-set=utf8mb4", "-B", "-N", "-e", q).CombinedOutput()
	return string(out), err
}

func (r *mariadbServer) mustQuery(t testing.TB, q string) string {
	t.Helper()
	out, err := r.query(q)
	if err != nil {
		t.Fatalf("replica: %s: %v\n%s", q, err, out)
	}
	return out
}

// slaveStatus returns SHOW SLAVE STATUS as a map.
func (r *mariadbServer) slaveStatus(t testing.TB) map[string]string {
	t.Helper()
	out, err := exec.Command("mariadb", "-S", r.sock, "-uroot", "-e", "SHOW SLAVE STATUS\\G").CombinedOutput()
	if err != nil {
		t.Fatalf("SHOW SLAVE STATUS: %v %s", err, out)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
			m[k] = v
		}
	}
	return m
}

// TestMariaDBReplicaInterop: a stock MariaDB replica with semi-sync
// enabled replicates from semisyncd: it negotiates semi-sync (its status
// ON; ours ON with yes_tx counting every transaction), applies row events
// of many column types, multi-statement transactions, updates, deletes and
// DDL, and ends with the same rows.
func TestMariaDBReplicaInterop(t *testing.T) {
	rep := startMariaDB(t, 2)
	srv := StartServer(t)
	db := srv.DB(t, "")
	mariaDBSemiSyncReplica(t, srv, db, rep)
	host, port, _ := net.SplitHostPort(srv.Addr)
	if out := rep.mustQuery(t, "SHOW STATUS LIKE 'Rpl_semi_sync_slave_status'"); !strings.Contains(out, "ON") {
		t.Fatalf("the MariaDB replica did not negotiate semi-sync: %s", out)
	}

	yesBefore, _ := strconv.Atoi(globalStatus(t, db, "Rpl_semi_sync_master_yes_tx"))
	// The interop workload: the types MariaDB applies from a MySQL source
	// (MySQL's binary JSON and GMS's always-fractional TIME are left out).
	mustExec(t, db, "CREATE DATABASE interop")
	mustExec(t, db, `CREATE TABLE interop.t (id INT PRIMARY KEY, ti TINYINT, us SMALLINT UNSIGNED, bi BIGINT, ub BIGINT UNSIGNED,
		de DECIMAL(12,3), fl FLOAT, do DOUBLE, da DATE, dt DATETIME(6), ts TIMESTAMP, yr YEAR, ch CHAR(4), vc VARCHAR(30),
		tx TEXT, bl BLOB, vb VARBINARY(8), en ENUM('a','b','c'), st SET('x','y','z'), bt BIT(8))`)
	mustExec(t, db, `INSERT INTO interop.t VALUES
		(1, -128, 65535, -9223372036854775808, 18446744073709551615, -123456789.125, 1.5, 3.141592653589793,
		 '2024-02-29', '2024-02-29 23:59:59.123456', '2024-02-29 12:00:00', 2155, 'ab', 'héllo ✓', 'line1\nline2',
		 x'00FF7F80', x'0102', 'b', 'x,z', b'10100101'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO interop.t (id, vc) VALUES (3, 'three')",
		"UPDATE interop.t SET vc = 'seven', bi = 7 WHERE id = 3",
		"DELETE FROM interop.t WHERE id = 2",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "ALTER TABLE interop.t ADD COLUMN extra INT")
	mustExec(t, db, "UPDATE interop.t SET extra = id * 10")
	const transactions = 6 // CREATE DATABASE, CREATE TABLE, INSERT, the transaction, ALTER, UPDATE

	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := rep.slaveStatus(t)
		if st["Last_SQL_Error"] != "" || st["Last_IO_Error"] != "" {
			t.Fatalf("replica error: IO %q SQL %q", st["Last_IO_Error"], st["Last_SQL_Error"])
		}
		if st["Relay_Master_Log_File"] == file && st["Exec_Master_Log_Pos"] == strconv.Itoa(int(pos)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica stuck at %s:%s, source at %s:%d", st["Relay_Master_Log_File"], st["Exec_Master_Log_Pos"], file, pos)
		}
		time.Sleep(20 * time.Millisecond)
	}
	const sel = "SELECT id, ti, us, bi, ub, de, fl, do, da, dt, ts, yr, ch, vc, tx, HEX(bl), HEX(vb), en, st, HEX(bt), extra FROM interop.t ORDER BY id"
	want, err := exec.Command("mariadb", "-h", host, "-P", port, "-uroot", "-B", "-N", "-e", sel).CombinedOutput()
	if err != nil {
		t.Fatalf("source rows: %v %s", err, want)
	}
	got := rep.mustQuery(t, sel)
	if got != string(want) {
		t.Fatalf("replica rows differ:\n%s\nsource rows:\n%s", got, want)
	}
	if yes, _ := strconv.Atoi(globalStatus(t, db, "Rpl_semi_sync_master_yes_tx")); yes-yesBefore != transactions {
		t.Fatalf("yes_tx rose by %d, want %d", yes-yesBefore, transactions)
	}
	if globalStatus(t, db, "Rpl_semi_sync_master_status") != "ON" {
		t.Fatal("semi-sync status is not ON")
	}
}

// mariaDBSemiSyncReplica enables semi-sync on srv (db is its connection; MariaDB's plugin names,
// a 5 s timeout), points the stock MariaDB replica rep at srv's first binlog with semi-sync
// on, and waits until srv counts it as a semi-sync client.
func mariaDBSemiSyncReplica(t *testing.T, srv *Server, db *sql.DB, rep *mariadbServer) {
	t.Helper()
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_master_timeout = 5000")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_master_enabled = ON")
	host, port, _ := net.SplitHostPort(srv.Addr)
	rep.mustQuery(t, fmt.Sprintf("SET GLOBAL rpl_semi_sync_slave_enabled = ON; "+
		"CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%s, MASTER_USER='root', MASTER_PASSWORD='', "+
		"MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4; START SLAVE", host, port))
	waitStatus(t, db, "Rpl_semi_sync_master_clients", "1")
}

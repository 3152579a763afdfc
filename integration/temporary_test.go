package integration

import (
	"strings"
	"testing"
)

// TestTemporaryTablesOverTheWire: a temporary table shadows the base table of its name for
// its session only, works in transactions (ROLLBACK undoes its rows), is not listed by SHOW
// TABLES or information_schema.TABLES, is gone when its session disconnects, and nothing of it
// reaches the binlog (MySQL 8.0 with binlog_format=ROW) or a semi-sync replica, which gets
// the base table's rows.
func TestTemporaryTablesOverTheWire(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)
	yesBefore := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx")

	mustExec(t, pdb, "CREATE DATABASE tt")
	mustExec(t, pdb, "CREATE TABLE tt.t (id INT PRIMARY KEY, v VARCHAR(20))")
	mustExec(t, pdb, "INSERT INTO tt.t VALUES (1, 'base')")

	a := primary.DB(t, "tt")
	a.SetMaxOpenConns(1)
	a.SetMaxIdleConns(1)
	b := primary.DB(t, "tt")
	b.SetMaxOpenConns(1)

	mustExec(t, a, "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, v VARCHAR(20), KEY (v))")
	mustExec(t, a, "INSERT INTO t VALUES (10, 'temp'), (11, 'temp')")
	// A committed transaction and a rolled-back one.
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (12, 'temp')")
	mustExec(t, a, "COMMIT")
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (13, 'rolled back')")
	mustExec(t, a, "ROLLBACK")
	mustExec(t, b, "INSERT INTO tt.t VALUES (2, 'base')")

	for _, c := range []struct {
		what, query, want string
		onA               bool
	}{
		{"the temporary table shadows the base table", "SELECT GROUP_CONCAT(id ORDER BY id) FROM t", "10,11,12", true},
		{"its secondary index", "SELECT GROUP_CONCAT(id ORDER BY id) FROM t WHERE v = 'temp'", "10,11,12", true},
		{"another session sees the base table", "SELECT GROUP_CONCAT(id ORDER BY id) FROM t", "1,2", false},
		{"information_schema.TABLES lists the base table only", "SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'tt'", "t", true},
	} {
		db := b
		if c.onA {
			db = a
		}
		var got string
		if err := db.QueryRow(c.query).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: %s = %q (%v), want %q", c.what, c.query, got, err, c.want)
		}
	}
	if rows := queryStrings(t, a, "SHOW TABLES"); len(rows) != 1 || rows[0][0].String != "t" {
		t.Errorf("SHOW TABLES in the session with a temporary table: %v, want the base table once", rows)
	}
	if _, err := b.Exec("DROP TEMPORARY TABLE t"); mysqlErrorNumber(err) != 1051 {
		t.Errorf("DROP TEMPORARY TABLE of another session's table: %v, want 1051", err)
	}

	// DROP TEMPORARY TABLE, then a new one; the disconnect drops that.
	mustExec(t, a, "DROP TEMPORARY TABLE t")
	var got string
	if err := a.QueryRow("SELECT GROUP_CONCAT(id ORDER BY id) FROM t").Scan(&got); err != nil || got != "1,2" {
		t.Errorf("after DROP TEMPORARY TABLE: %q %v, want the base rows", got, err)
	}
	mustExec(t, a, "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY)")
	mustExec(t, a, "INSERT INTO t VALUES (20)")
	a.Close()

	// The binlog holds the base table's DDL and rows only.
	waitCaughtUp(t, pdb, rdb, replica)
	tableMaps := 0
	for _, e := range queryStrings(t, pdb, "SHOW BINLOG EVENTS") {
		info := strings.ToLower(e[5].String)
		if strings.Contains(info, "temporary") {
			t.Errorf("binlog event of a temporary table: %v", e)
		}
		if e[2].String == "Table_map" {
			tableMaps++
		}
	}
	if tableMaps != 2 {
		t.Errorf("%d Table_map events, want 2 (the two base-table inserts)", tableMaps)
	}
	if err := rdb.QueryRow("SELECT GROUP_CONCAT(id ORDER BY id) FROM tt.t").Scan(&got); err != nil || got != "1,2" {
		t.Errorf("replica's tt.t: %q %v, want 1,2", got, err)
	}
	if got := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx") - yesBefore; got != 4 {
		t.Errorf("Rpl_semi_sync_source_yes_tx rose by %d, want 4 (CREATE DATABASE, CREATE TABLE, two inserts)", got)
	}
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); got != "ON" {
		t.Errorf("Rpl_semi_sync_source_status = %s", got)
	}
}

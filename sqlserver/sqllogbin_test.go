package sqlserver

import (
	"strings"
	"testing"
)

// TestSQLLogBinVariable: sql_log_bin is MySQL 8.0's session-only, restricted variable: ON by
// default, SET GLOBAL is 1228, SHOW GLOBAL VARIABLES leaves it out, an account without SUPER,
// SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN gets 1227, and inside a transaction 1694.
func TestSQLLogBinVariable(t *testing.T) {
	s, _ := startServer(t, Config{DataDir: t.TempDir()})
	root := open(t, dsn(s, "root", ""))
	root.SetMaxOpenConns(1)
	var on int
	if err := root.QueryRow("SELECT @@sql_log_bin").Scan(&on); err != nil || on != 1 {
		t.Fatalf("@@sql_log_bin = %d, %v; want 1", on, err)
	}
	_, err := root.Exec("SET GLOBAL sql_log_bin = 0")
	if errNumber(err) != 1228 || !strings.Contains(err.Error(), "Variable 'sql_log_bin' is a SESSION variable and can't be used with SET GLOBAL") {
		t.Fatalf("SET GLOBAL sql_log_bin: %v, want 1228", err)
	}
	var name, val string
	if err := root.QueryRow("SHOW GLOBAL VARIABLES LIKE 'sql_log_bin'").Scan(&name, &val); err == nil {
		t.Fatalf("SHOW GLOBAL VARIABLES lists the session-only sql_log_bin (%s)", val)
	}
	tx, err := root.Begin()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec("SET sql_log_bin = 0")
	if errNumber(err) != 1694 || !strings.Contains(err.Error(), "Cannot modify @@session.sql_log_bin inside a transaction") {
		t.Fatalf("SET sql_log_bin in a transaction: %v, want 1694", err)
	}
	_ = tx.Rollback()
	if _, err := root.Exec("SET sql_log_bin = 0"); err != nil {
		t.Fatal(err)
	}
	if err := root.QueryRow("SELECT @@session.sql_log_bin").Scan(&on); err != nil || on != 0 {
		t.Fatalf("@@session.sql_log_bin after SET = %d, %v; want 0", on, err)
	}
	if _, err := root.Exec("CREATE USER 'u'@'%' IDENTIFIED BY 'pw'"); err != nil {
		t.Fatal(err)
	}
	u := open(t, dsn(s, "u", "pw"))
	_, err = u.Exec("SET sql_log_bin = 0")
	if errNumber(err) != 1227 || !strings.Contains(err.Error(), "Access denied; you need (at least one of) the SUPER, SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN privilege(s) for this operation") {
		t.Fatalf("SET sql_log_bin without privilege: %v, want 1227", err)
	}
	if _, err := root.Exec("GRANT SUPER ON *.* TO 'u'@'%'"); err != nil {
		t.Fatal(err)
	}
	u2 := open(t, dsn(s, "u", "pw"))
	if _, err := u2.Exec("SET sql_log_bin = 0"); err != nil {
		t.Fatalf("SET sql_log_bin with SUPER: %v", err)
	}
}

// TestSQLLogBinKeepsChangesOutOfTheBinlog: with sql_log_bin OFF a session's DDL and rows are
// committed and visible, but SHOW BINLOG EVENTS shows none of them and @@gtid_executed does not
// move; with it ON again the next commit takes the next GTID.
func TestSQLLogBinKeepsChangesOutOfTheBinlog(t *testing.T) {
	dir := t.TempDir()
	s, _ := startServer(t, Config{DataDir: dir})
	root := open(t, dsn(s, "root", ""))
	root.SetMaxOpenConns(1)
	exec := func(q string) {
		t.Helper()
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	gtids := func() string {
		var g string
		if err := root.QueryRow("SELECT @@global.gtid_executed").Scan(&g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	exec("CREATE DATABASE d")
	before := gtids()
	exec("SET sql_log_bin = 0")
	exec("CREATE TABLE d.hidden (id INT PRIMARY KEY, v VARCHAR(20))")
	exec("INSERT INTO d.hidden VALUES (1, 'unlogged_row')")
	if g := gtids(); g != before {
		t.Fatalf("gtid_executed moved with sql_log_bin OFF: %s -> %s", before, g)
	}
	var v string
	if err := root.QueryRow("SELECT v FROM d.hidden WHERE id = 1").Scan(&v); err != nil || v != "unlogged_row" {
		t.Fatalf("the unlogged row: %q, %v", v, err)
	}
	exec("SET sql_log_bin = 1")
	exec("CREATE TABLE d.shown (id INT PRIMARY KEY)")
	after := gtids()
	if after == before {
		t.Fatalf("gtid_executed did not move with sql_log_bin ON: %s", after)
	}
	rows, err := root.Query("SHOW BINLOG EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var all strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, x := range vals {
			if b, ok := x.([]byte); ok {
				all.Write(b)
				all.WriteByte(' ')
			}
		}
	}
	if strings.Contains(all.String(), "hidden") {
		t.Fatalf("SHOW BINLOG EVENTS shows the unlogged DDL: %s", all.String())
	}
	if !strings.Contains(all.String(), "shown") {
		t.Fatalf("SHOW BINLOG EVENTS lacks the logged DDL: %s", all.String())
	}
}

// TestSQLLogBinResetMasterAndRestart: RESET MASTER after unlogged commits (its checkpoint holds
// them and the journal is pruned under the commit lock) and a restart keep the unlogged rows.
func TestSQLLogBinResetMasterAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, _ := startServer(t, Config{DataDir: dir})
	root := open(t, dsn(s, "root", ""))
	root.SetMaxOpenConns(1)
	for _, q := range []string{"CREATE DATABASE d", "SET sql_log_bin = 0", "CREATE TABLE d.h (id INT PRIMARY KEY)", "INSERT INTO d.h VALUES (1)",
		"RESET MASTER", "INSERT INTO d.h VALUES (2)", "SET sql_log_bin = 1", "INSERT INTO d.h VALUES (3)"} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	root.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, _ := startServer(t, Config{DataDir: dir})
	var n int
	if err := open(t, dsn(s2, "root", "")).QueryRow("SELECT COUNT(*) FROM d.h").Scan(&n); err != nil || n != 3 {
		t.Fatalf("after RESET MASTER and a restart: %d rows (%v), want 3", n, err)
	}
}

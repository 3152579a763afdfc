package integration

import (
	"fmt"
	"testing"
)

// Locks on the rows a statement reads but does not write. Under REPEATABLE
// READ InnoDB reads the sources of INSERT … SELECT, REPLACE … SELECT, CREATE
// TABLE … SELECT and the other tables of multi-table UPDATE and DELETE (and
// the tables of their subqueries) with shared locks; under READ COMMITTED
// INSERT … SELECT and CREATE TABLE … SELECT read them consistently, locking
// nothing. The rows a multi-table UPDATE or DELETE changes are locked X.

var sourcesSetup = []string{
	"CREATE TABLE src (id INT PRIMARY KEY, n INT NOT NULL)",
	"INSERT INTO src VALUES (1, 10), (2, 20), (3, 30)",
	"CREATE TABLE dst (id INT PRIMARY KEY, n INT NOT NULL)",
	"INSERT INTO dst VALUES (1, 0), (2, 0), (3, 0)",
	"CREATE TABLE ins (id INT PRIMARY KEY, n INT NOT NULL)",
}

// TestRowLocksStatementSourcesOverTheWire: a runs a statement reading src
// (and writing another table) in an open transaction; b, with
// innodb_lock_wait_timeout = 1, then changes or locks a row. b gets 1205 when
// a's statement locked that row (S on a source row blocks b's X; the X of a
// row a's statement changed blocks anything), and succeeds otherwise (another
// row; S beside S; READ COMMITTED).
func TestRowLocksStatementSourcesOverTheWire(t *testing.T) {
	srv := StartServer(t)
	const (
		insertSelect = "INSERT INTO ins SELECT * FROM src WHERE id = 1"
		updateJoin   = "UPDATE dst JOIN src ON dst.id = src.id SET dst.n = src.n WHERE src.id = 1"
		deleteJoin   = "DELETE dst FROM dst JOIN src ON dst.id = src.id WHERE src.id = 1"
		updateIn     = "UPDATE dst SET n = 5 WHERE id IN (SELECT id FROM src WHERE id = 1)"
		deleteIn     = "DELETE FROM dst WHERE id IN (SELECT id FROM src WHERE id = 1)"
		updateSrc1   = "UPDATE src SET n = 11 WHERE id = 1"
		updateSrc2   = "UPDATE src SET n = 22 WHERE id = 2"
	)
	cases := []struct {
		name, iso, a, b string
		want            uint16 // b's error number, 0 for success
	}{
		{"insert select: source row", "", insertSelect, updateSrc1, 1205},
		{"insert select: delete of source row", "", insertSelect, "DELETE FROM src WHERE id = 1", 1205},
		{"insert select: other row", "", insertSelect, updateSrc2, 0},
		{"insert select: shared beside shared", "", insertSelect, "SELECT * FROM src WHERE id = 1 FOR SHARE", 0},
		{"insert select: inserted key", "", insertSelect, "INSERT INTO ins VALUES (1, 0)", 1205},
		{"insert select: read committed", "READ-COMMITTED", insertSelect, updateSrc1, 0},
		{"replace select: source row", "", "REPLACE INTO ins SELECT * FROM src WHERE id = 1", updateSrc1, 1205},
		{"update join: source row", "", updateJoin, updateSrc1, 1205},
		{"update join: changed row", "", updateJoin, "DELETE FROM dst WHERE id = 1", 1205},
		{"update join: other row", "", updateJoin, updateSrc2, 0},
		{"update join: shared beside shared", "", updateJoin, "SELECT * FROM src WHERE id = 1 LOCK IN SHARE MODE", 0},
		{"delete join: source row", "", deleteJoin, updateSrc1, 1205},
		{"delete join: deleted row", "", deleteJoin, "UPDATE dst SET n = 9 WHERE id = 1", 1205},
		{"delete join: other row", "", deleteJoin, "UPDATE dst SET n = 9 WHERE id = 2", 0},
		{"update with subquery: source row", "", updateIn, updateSrc1, 1205},
		{"delete with subquery: source row", "", deleteIn, updateSrc1, 1205},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b, _ := lockConns(t, srv, fmt.Sprintf("src_lock%d", i), sourcesSetup...)
			if tc.iso != "" {
				connExec(t, a, "ROLLBACK")
				connExec(t, a, "SET SESSION transaction_isolation = '"+tc.iso+"'")
				connExec(t, a, "BEGIN")
			}
			connExec(t, b, "SET innodb_lock_wait_timeout = 1")
			connExec(t, a, tc.a)
			err := <-runAsync(b, tc.b)
			if got := mysqlErrorNumber(err); got != tc.want || (tc.want == 0 && err != nil) {
				t.Fatalf("%s after the other's %s: %v (number %d), want %d", tc.b, tc.a, err, got, tc.want)
			}
		})
	}
}

// TestRowLocksStatementWaitsForSourceOverTheWire: with a row of src X-locked
// by an open transaction, the statements that read src with shared locks wait
// for it (1205 after innodb_lock_wait_timeout = 1) while a plain SELECT, a
// consistent read, does not; under READ COMMITTED INSERT … SELECT and CREATE
// TABLE … SELECT do not wait either. A waiting statement goes on when the
// holder commits and copies the committed row.
func TestRowLocksStatementWaitsForSourceOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct {
		name, iso, b string
		want         uint16
	}{
		{"plain select", "", "SELECT * FROM src WHERE id = 1", 0},
		{"insert select", "", "INSERT INTO ins SELECT * FROM src WHERE id = 1", 1205},
		{"create table select", "", "CREATE TABLE ct SELECT * FROM src WHERE id = 1", 1205},
		{"update join", "", "UPDATE dst JOIN src ON dst.id = src.id SET dst.n = src.n WHERE src.id = 1", 1205},
		{"insert select read committed", "READ-COMMITTED", "INSERT INTO ins SELECT * FROM src WHERE id = 1", 0},
		{"create table select read committed", "READ-COMMITTED", "CREATE TABLE ct SELECT * FROM src WHERE id = 1", 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b, _ := lockConns(t, srv, fmt.Sprintf("src_wait%d", i), sourcesSetup...)
			if tc.iso != "" {
				connExec(t, b, "ROLLBACK")
				connExec(t, b, "SET SESSION transaction_isolation = '"+tc.iso+"'")
				connExec(t, b, "BEGIN")
			}
			connExec(t, b, "SET innodb_lock_wait_timeout = 1")
			connExec(t, a, "UPDATE src SET n = 11 WHERE id = 1")
			err := <-runAsync(b, tc.b)
			if got := mysqlErrorNumber(err); got != tc.want || (tc.want == 0 && err != nil) {
				t.Fatalf("%s while src row 1 is X-locked: %v (number %d), want %d", tc.b, err, got, tc.want)
			}
		})
	}

	t.Run("goes on after the commit", func(t *testing.T) {
		a, b, admin := lockConns(t, srv, "src_wait_commit", sourcesSetup...)
		connExec(t, a, "UPDATE src SET n = 11 WHERE id = 1")
		const q = "INSERT INTO ins SELECT * FROM src WHERE id <= 2"
		done := runAsync(b, q)
		waitRunning(t, admin, q, done)
		connExec(t, a, "COMMIT")
		if err := <-done; err != nil {
			t.Fatalf("%s after the holder committed: %v", q, err)
		}
		connExec(t, b, "COMMIT")
		if got := tableRows(t, admin, "SELECT id, n FROM src_wait_commit.ins ORDER BY id"); got != "1 11; 2 20" {
			t.Fatalf("copied %q, want the committed row 1", got)
		}
	})
}

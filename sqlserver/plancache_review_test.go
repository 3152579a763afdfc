package sqlserver

import (
	"testing"
)

// TestPlanCacheReviewSchemaChanges: a cached shape must never answer with a stale plan after
// the table's columns move, the table is replaced, or the same text names another table.
func TestPlanCacheReviewSchemaChanges(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE r1", "CREATE DATABASE r2", "USE r1",
		"CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10))",
		"INSERT INTO t VALUES (1, 11, 'one'), (2, 22, 'two'), (3, 33, 'three')",
		"CREATE TABLE r2.t (id INT PRIMARY KEY, b VARCHAR(10), a INT)",
		"INSERT INTO r2.t VALUES (1, 'r2one', 111), (2, 'r2two', 222), (3, 'r2three', 333)")
	q := func(want string, id int) {
		t.Helper()
		var b string
		if err := db.QueryRow("SELECT b FROM t WHERE id = ?", id).Scan(&b); err != nil {
			t.Fatalf("id %d: %v", id, err)
		}
		if b != want {
			t.Fatalf("id %d: b = %q, want %q", id, b, want)
		}
	}
	for i := 0; i < 5; i++ {
		q("one", 1)
		q("two", 2)
	}
	mustExec(t, db, "ALTER TABLE t ADD COLUMN z INT FIRST")
	q("three", 3)
	q("one", 1)
	mustExec(t, db, "ALTER TABLE t DROP COLUMN a")
	q("two", 2)
	q("three", 3)
	mustExec(t, db, "USE r2")
	q("r2one", 1)
	q("r2two", 2)
	mustExec(t, db, "DROP TABLE r1.t", "USE r1", "CREATE TABLE t (b VARCHAR(10), id INT PRIMARY KEY)",
		"INSERT INTO t VALUES ('new1', 1), ('new2', 2)")
	q("new1", 1)
	q("new2", 2)
	mustExec(t, db, "ALTER TABLE t MODIFY b VARCHAR(30)", "UPDATE t SET b = LEFT(b, 3)")
	q("new", 1)
	// a transaction's own writes and snapshots
	mustExec(t, db, "BEGIN", "UPDATE t SET b = 'tx' WHERE id = 1")
	q("tx", 1)
	mustExec(t, db, "ROLLBACK")
	q("new", 1)
}

package sqlserver

import "testing"

// TestDDLInReadOnlyTransaction: DDL inside START TRANSACTION READ ONLY commits the transaction
// first and runs, as in MySQL (it was 1792); DML on base tables is still 1792, and the altered
// table is seen by another session.
func TestDDLInReadOnlyTransaction(t *testing.T) {
	s, _ := startServer(t, Config{})
	a := open(t, dsn(s, "root", ""))
	a.SetMaxOpenConns(1)
	b := open(t, dsn(s, "root", ""))
	for _, q := range []string{
		"CREATE DATABASE rod", "USE rod", "CREATE TABLE t2 (pk INT PRIMARY KEY, val INT)",
		"INSERT INTO t2 VALUES (0, 0)", "SET autocommit = OFF", "START TRANSACTION READ ONLY",
	} {
		if _, err := a.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := a.Exec("INSERT INTO t2 VALUES (1, 1)"); errNumber(err) != 1792 {
		t.Fatalf("insert in a READ ONLY transaction: %v, want 1792", err)
	}
	if _, err := a.Exec("ALTER TABLE t2 ADD val2 INT"); err != nil {
		t.Fatalf("ALTER TABLE in a READ ONLY transaction: %v, want it to commit first and run", err)
	}
	if _, err := a.Exec("COMMIT"); err != nil {
		t.Fatal(err)
	}
	rows, err := b.Query("SELECT * FROM rod.t2")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	if len(cols) != 3 {
		t.Fatalf("another session sees columns %v, want pk, val, val2", cols)
	}
}

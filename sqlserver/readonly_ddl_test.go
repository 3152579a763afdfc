package sqlserver

import (
	"fmt"
	"testing"
)

// TestDDLInReadOnlyTransaction: DDL inside START TRANSACTION READ ONLY commits the transaction
// first and runs, as in MySQL (it was 1792); DML on base tables is still 1792, and the altered
// table is seen by another session. A client's leading comment changes nothing (the
// statement sniffers once read "/* app */ ALTER …" as not DDL and refused it with 1792).
func TestDDLInReadOnlyTransaction(t *testing.T) {
	s, _ := startServer(t, Config{})
	for i, alter := range []string{
		"ALTER TABLE t2 ADD val2 INT",
		"/* client a */ alter table t2 add val2 int",
		"-- migration\n  ALTER TABLE t2 ADD val2 INT",
		"# tool\nALTER TABLE t2 ADD val2 INT",
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			db := fmt.Sprintf("rod%d", i)
			a := open(t, dsn(s, "root", ""))
			a.SetMaxOpenConns(1)
			b := open(t, dsn(s, "root", ""))
			b.SetMaxOpenConns(1)
			for _, q := range []string{
				"CREATE DATABASE " + db, "USE " + db, "CREATE TABLE t2 (pk INT PRIMARY KEY, val INT)",
				"INSERT INTO t2 VALUES (0, 0)", "SET autocommit = OFF", "START TRANSACTION READ ONLY",
			} {
				if _, err := a.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if _, err := a.Exec("/* c */ INSERT INTO t2 VALUES (1, 1)"); errNumber(err) != 1792 {
				t.Fatalf("insert in a READ ONLY transaction: %v, want 1792", err)
			}
			if _, err := a.Exec(alter); err != nil {
				t.Fatalf("%q in a READ ONLY transaction: %v, want it to commit first and run", alter, err)
			}
			if _, err := a.Exec("COMMIT"); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Exec("START TRANSACTION READ ONLY"); err != nil {
				t.Fatal(err)
			}
			rows, err := b.Query("SELECT * FROM " + db + ".t2")
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			rows.Close()
			if len(cols) != 3 {
				t.Fatalf("another session sees columns %v, want pk, val, val2", cols)
			}
			if _, err := b.Exec("COMMIT"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

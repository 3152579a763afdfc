package sqlserver

import (
	gosql "database/sql"
	"fmt"
	"strconv"
	"testing"
)

// dmlTable makes pcd.t (sysbench's shape: id, k with an index, c, pad) with rows 1..n.
func dmlTable(t *testing.T, db *gosql.DB, n int) {
	t.Helper()
	mustExec(t, db, "CREATE DATABASE pcd", "USE pcd",
		"CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT '0', c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))")
	for i := 1; i <= n; i++ {
		if _, err := db.Exec("INSERT INTO t VALUES (?, ?, ?, 'p')", i, i*10, "c"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// tableRows returns pcd.t as id → "k/c".
func tableRows(t *testing.T, db interface {
	Query(string, ...any) (*gosql.Rows, error)
}) map[int]string {
	t.Helper()
	rows, err := db.Query("SELECT id, k, c FROM pcd.t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var id, k int
		var c string
		if err := rows.Scan(&id, &k, &c); err != nil {
			t.Fatal(err)
		}
		out[id] = fmt.Sprintf("%d/%s", k, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// mustPrepare prepares q on db, closed when the test ends.
func mustPrepare(t *testing.T, db *gosql.DB, q string) *gosql.Stmt {
	t.Helper()
	st, err := db.Prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestPlanCacheDMLAnswersWrites: sysbench's UPDATE and DELETE statements, prepared and as
// text, are answered from templates after their first executions, and every one of them
// changes exactly the row it names, with the right Rows matched / affected.
func TestPlanCacheDMLAnswersWrites(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	dmlTable(t, db, 60)
	want := map[int]string{}
	for i := 1; i <= 60; i++ {
		want[i] = fmt.Sprintf("%d/c%d", i*10, i)
	}
	k := map[int]int{}
	for i := 1; i <= 60; i++ {
		k[i] = i * 10
	}
	c := map[int]string{}
	for i := 1; i <= 60; i++ {
		c[i] = "c" + strconv.Itoa(i)
	}

	incr := mustPrepare(t, db, "UPDATE t SET k=k+1 WHERE id=?")
	setC := mustPrepare(t, db, "UPDATE t SET c=? WHERE id=?")
	del := mustPrepare(t, db, "DELETE FROM t WHERE id=?")

	affected := func(r gosql.Result, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := s.plans.dmlHits.Load()
	for i := 1; i <= 40; i++ {
		if n := affected(incr.Exec(i)); n != 1 {
			t.Fatalf("UPDATE k=k+1 WHERE id=%d affected %d rows, want 1", i, n)
		}
		k[i]++
		v := "v" + strconv.Itoa(i*7)
		if n := affected(setC.Exec(v, i)); n != 1 {
			t.Fatalf("UPDATE c=? WHERE id=%d affected %d rows, want 1", i, n)
		}
		c[i] = v
		// the same value again: matched, not changed
		if n := affected(setC.Exec(v, i)); n != 0 {
			t.Fatalf("UPDATE c=%q WHERE id=%d again affected %d rows, want 0", v, i, n)
		}
		// text, with other literals each time
		if n := affected(db.Exec(fmt.Sprintf("UPDATE t SET k=k+1 WHERE id=%d", 61-i))); n != 1 {
			t.Fatalf("text UPDATE WHERE id=%d affected %d rows, want 1", 61-i, n)
		}
		k[61-i]++
	}
	// a missing row: nothing matched
	if n := affected(incr.Exec(1000)); n != 0 {
		t.Fatalf("UPDATE of a missing id affected %d rows", n)
	}
	for i := 1; i <= 20; i++ {
		if n := affected(del.Exec(i * 3)); n != 1 {
			t.Fatalf("DELETE WHERE id=%d affected %d rows, want 1", i*3, n)
		}
		delete(k, i*3)
		if n := affected(del.Exec(i * 3)); n != 0 {
			t.Fatalf("second DELETE WHERE id=%d affected %d rows, want 0", i*3, n)
		}
	}
	if got := s.plans.dmlHits.Load() - before; got < 150 {
		t.Fatalf("%d of about 200 UPDATE/DELETE executions answered from templates, want ≥ 150", got)
	}
	for id := range want {
		if _, ok := k[id]; !ok {
			delete(want, id)
			continue
		}
		want[id] = fmt.Sprintf("%d/%s", k[id], c[id])
	}
	got := tableRows(t, db)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("id %d: %q, want %q", id, got[id], w)
		}
	}
}

// TestPlanCacheDMLFollowsDefinitions: once UPDATE and DELETE templates are trusted, every
// definition that changes what the statement must do is seen: a CHECK constraint (3819), a
// foreign key from another table (1451), a trigger, a new column, foreign_key_checks, a
// READ ONLY transaction (1792), and a definition committed while a transaction held an
// older snapshot.
func TestPlanCacheDMLFollowsDefinitions(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	dmlTable(t, db, 50)
	incr := mustPrepare(t, db, "UPDATE t SET k=k+1 WHERE id=?")
	setK := mustPrepare(t, db, "UPDATE t SET k=? WHERE id=?")
	del := mustPrepare(t, db, "DELETE FROM t WHERE id=?")
	warm := func(from int) {
		t.Helper()
		before := s.plans.dmlHits.Load()
		for i := from; i < from+5; i++ {
			if _, err := incr.Exec(i); err != nil {
				t.Fatal(err)
			}
			if _, err := setK.Exec(i*10+1, i); err != nil {
				t.Fatal(err)
			}
		}
		if s.plans.dmlHits.Load() == before {
			t.Fatalf("no UPDATE answered from a template (from %d)", from)
		}
	}
	wantErr := func(what string, err error, code uint16) {
		t.Helper()
		if errNumber(err) != code {
			t.Fatalf("%s: %v, want error %d", what, err, code)
		}
	}

	warm(1)
	mustExec(t, db, "ALTER TABLE t ADD CONSTRAINT k_small CHECK (k < 100000)")
	_, err := setK.Exec(200000, 2)
	wantErr("UPDATE past a new CHECK", err, 3819)
	mustExec(t, db, "ALTER TABLE t DROP CHECK k_small")

	warm(6)
	mustExec(t, db, "CREATE TABLE child (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES t (id))",
		"INSERT INTO child VALUES (1, 7)")
	// warm the DELETE on unreferenced rows, then the referenced one must fail
	for i := 40; i < 45; i++ {
		if _, err := del.Exec(i); err != nil {
			t.Fatal(err)
		}
	}
	_, err = del.Exec(7)
	wantErr("DELETE of a row a new foreign key references", err, 1451)
	_, err = db.Exec("UPDATE t SET id=1007 WHERE id=7")
	wantErr("UPDATE of a referenced key", err, 1451)
	mustExec(t, db, "SET foreign_key_checks=0")
	for i := 45; i < 48; i++ {
		if _, err := del.Exec(i); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, db, "SET foreign_key_checks=1")
	_, err = del.Exec(7)
	wantErr("DELETE of a referenced row after foreign_key_checks came back", err, 1451)
	mustExec(t, db, "DROP TABLE child")

	warm(11)
	mustExec(t, db, "CREATE TABLE audit (id INT, k INT)",
		"CREATE TRIGGER t_au AFTER UPDATE ON t FOR EACH ROW INSERT INTO audit VALUES (NEW.id, NEW.k)")
	if _, err := setK.Exec(4242, 12); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM audit WHERE id=12 AND k=4242").Scan(&n); err != nil || n != 1 {
		t.Fatalf("trigger rows after a cached UPDATE: %d, %v; want 1", n, err)
	}
	mustExec(t, db, "DROP TRIGGER t_au")

	warm(16)
	mustExec(t, db, "ALTER TABLE t ADD COLUMN z INT NOT NULL DEFAULT 5 FIRST")
	if _, err := setK.Exec(777, 17); err != nil {
		t.Fatal(err)
	}
	var z, k int
	if err := db.QueryRow("SELECT z, k FROM t WHERE id=17").Scan(&z, &k); err != nil || z != 5 || k != 777 {
		t.Fatalf("after ADD COLUMN FIRST: z=%d k=%d (%v), want 5, 777", z, k, err)
	}

	warm(21)
	mustExec(t, db, "START TRANSACTION READ ONLY")
	_, err = incr.Exec(22)
	wantErr("UPDATE in a READ ONLY transaction", err, 1792)
	mustExec(t, db, "ROLLBACK")

	// A definition committed by another session while this one's transaction reads an older
	// snapshot (a foreign key that now references t): templates learned in that transaction
	// must not outlive it.
	warm(26)
	other := open(t, dsn(s, "root", ""))
	mustExec(t, db, "BEGIN")
	var dummy int
	if err := db.QueryRow("SELECT k FROM t WHERE id=1").Scan(&dummy); err != nil {
		t.Fatal(err)
	}
	mustExec(t, other, "CREATE TABLE pcd.child2 (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES pcd.t (id))",
		"INSERT INTO pcd.child2 VALUES (1, 29)")
	for i := 30; i < 34; i++ {
		if _, err := del.Exec(i); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, db, "COMMIT")
	_, err = del.Exec(29)
	wantErr("DELETE of a row referenced by a foreign key made during an older snapshot", err, 1451)
	var left int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE id=29").Scan(&left); err != nil || left != 1 {
		t.Fatalf("id 29: %d rows (%v), want 1", left, err)
	}
}

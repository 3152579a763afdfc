package storage

import (
	"strings"
	"testing"
)

// TestTemporaryTables: nothing of a temporary table (CREATE, DML, ALTER,
// DROP) reaches the commit hook while the base table's changes do; the
// table is in no checkpoint image and no database list; the session's end
// drops it from the committed catalog.
func TestTemporaryTables(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("USE d")
	c.mustExec("CREATE TABLE t (id INT PRIMARY KEY)")
	c.mustExec("INSERT INTO t VALUES (1)")
	c.mustExec("CREATE TABLE b (id INT PRIMARY KEY)")
	before := len(h.hook.all())
	steps := []struct{ sql, want string }{
		{"CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, v INT)", ""},
		{"INSERT INTO t VALUES (10, 1), (11, 2)", ""},
		{"ALTER TABLE t ADD COLUMN w INT", ""},
		{"CREATE INDEX iv ON t (v)", ""},
		{"UPDATE t SET w = 5 WHERE id = 10", ""},
		{"CREATE TEMPORARY TABLE k (a INT)", ""}, // no primary key: table-level slot
		{"INSERT INTO k VALUES (1), (2)", ""},
		{"CREATE TEMPORARY TABLE s SELECT * FROM t", ""},
		{"CREATE TEMPORARY TABLE l LIKE b", ""},
		{"INSERT INTO l SELECT id FROM t", ""},
		{"TRUNCATE TABLE l", ""},
		{"DROP TABLE l", ""}, // the temporary table: nothing logged
		{"INSERT INTO b SELECT id FROM t WHERE id = 11", "insert d.b []->[11]"},
		{"DELETE FROM t WHERE id = 11", ""},
	}
	seen := before
	for _, st := range steps {
		c.mustExec(st.sql)
		sets := h.hook.all()
		var got []string
		for _, cs := range sets[seen:] {
			got = append(got, describe(cs))
		}
		seen = len(sets)
		if strings.Join(got, " | ") != st.want {
			t.Fatalf("%s: logged %q, want %q", st.sql, strings.Join(got, " | "), st.want)
		}
	}
	if rows := c.mustExec("SELECT id, w FROM t"); len(rows) != 1 || toInt64(t, rows[0][0]) != 10 || toInt64(t, rows[0][1]) != 5 {
		t.Fatalf("temporary table's rows: %v", rows)
	}
	other := h.conn()
	other.mustExec("USE d")
	if rows := other.mustExec("SELECT id FROM t"); len(rows) != 1 || toInt64(t, rows[0][0]) != 1 {
		t.Fatalf("another session's t: %v, want the base row 1", rows)
	}
	if _, err := other.query("SELECT * FROM k"); err == nil {
		t.Fatal("another session reads the temporary table k")
	}
	for _, db := range h.store.CaptureImage(nil).Databases() {
		if isHiddenDB(db.Name) {
			t.Fatalf("checkpoint image holds the temporary tables: %q", db.Name)
		}
	}
	for _, n := range h.store.DatabaseNames() {
		if isHiddenDB(n) {
			t.Fatalf("database list holds %q", n)
		}
	}
	hiddenDBs := func() int {
		n := 0
		for k := range h.store.latest.Load().dbs {
			if isHiddenDB(k) {
				n++
			}
		}
		return n
	}
	if hiddenDBs() != 1 {
		t.Fatalf("%d hidden databases before the session ends, want 1", hiddenDBs())
	}
	c.sess.(*Session).SessionEnd()
	if hiddenDBs() != 0 {
		t.Fatalf("%d hidden databases after the session ended", hiddenDBs())
	}
	if len(h.hook.all()) != seen {
		t.Fatalf("the session's end logged %v", describe(h.hook.all()[seen]))
	}
}

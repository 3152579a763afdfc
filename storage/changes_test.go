package storage

import (
	"fmt"
	"strings"
	"testing"
)

// describe renders a change set compactly for comparisons.
func describe(cs *ChangeSet) string {
	var parts []string
	for _, ch := range cs.Changes {
		switch ch.Kind {
		case DDL:
			parts = append(parts, fmt.Sprintf("ddl[%s] %s", ch.CurrentDB, ch.Query))
		default:
			parts = append(parts, fmt.Sprintf("%v %s.%s %v->%v", ch.Kind, ch.Database, ch.Table, ch.Before, ch.After))
		}
	}
	return strings.Join(parts, "; ")
}

// TestChangeCapture: each committed transaction reaches the hook once, in
// commit order, with exact row images and DDL text; rolled-back work and
// failed statements never do.
func TestChangeCapture(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	steps := []struct {
		sql  string
		want string // expected new change sets, joined by " | "; "" = none
		err  bool
	}{
		{"CREATE DATABASE d", "ddl[] CREATE DATABASE d", false},
		{"USE d", "", false},
		{"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), UNIQUE KEY uv (v))", "ddl[d] CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), UNIQUE KEY uv (v))", false},
		{"INSERT INTO t VALUES (1, 'a'), (2, 'b')", "insert d.t []->[1 a]; insert d.t []->[2 b]", false},
		{"UPDATE t SET v = 'c' WHERE id = 2", "update d.t [2 b]->[2 c]", false},
		{"DELETE FROM t WHERE id = 1", "delete d.t [1 a]->[]", false},
		{"INSERT INTO t VALUES (3, 'x'), (4, 'c')", "", true}, // duplicate v: statement undone
		{"BEGIN", "", false},
		{"INSERT INTO t VALUES (5, 'e')", "", false},
		{"INSERT INTO t VALUES (6, 'e')", "", true}, // statement fails; tx goes on
		{"UPDATE t SET v = 'f' WHERE id = 5", "", false},
		{"COMMIT", "insert d.t []->[5 e]; update d.t [5 e]->[5 f]", false},
		{"BEGIN", "", false},
		{"INSERT INTO t VALUES (7, 'g')", "", false},
		{"ROLLBACK", "", false},
		{"SELECT * FROM t", "", false},
		{"DELETE FROM t", "delete d.t [2 c]->[]; delete d.t [5 f]->[]", false},
		{"INSERT INTO t VALUES (8, 'h')", "insert d.t []->[8 h]", false},
		{"TRUNCATE TABLE t", "ddl[d] TRUNCATE TABLE t", false},
		{"ALTER TABLE t ADD COLUMN w INT", "ddl[d] ALTER TABLE t ADD COLUMN w INT", false},
	}
	seen := 0
	for _, st := range steps {
		_, err := c.query(st.sql)
		if (err != nil) != st.err {
			t.Fatalf("%s: err = %v, want error %v", st.sql, err, st.err)
		}
		sets := h.hook.all()
		var got []string
		for _, cs := range sets[seen:] {
			got = append(got, describe(cs))
		}
		seen = len(sets)
		if strings.Join(got, " | ") != st.want {
			t.Fatalf("%s:\n got  %q\n want %q", st.sql, strings.Join(got, " | "), st.want)
		}
	}
	if rows := c.mustExec("SELECT COUNT(*) FROM t"); toInt64(t, rows[0][0]) != 0 {
		t.Fatalf("rows after truncate: %v", rows)
	}
}

// TestApplyRowChange: replayed row events change the table, are captured,
// and conflicts give MySQL's replica errors.
func TestApplyRowChange(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(10))")
	sess := c.sess.(*Session)
	apply := func(chs ...Change) error {
		c.mustExec("BEGIN")
		ctx := c.ctx("")
		for _, ch := range chs {
			if err := sess.ApplyRowChange(ctx, ch); err != nil {
				c.mustExec("ROLLBACK")
				return err
			}
		}
		c.mustExec("COMMIT")
		return nil
	}
	if err := apply(
		Change{Kind: RowInsert, Database: "d", Table: "t", After: []interface{}{int32(1), "a"}},
		Change{Kind: RowInsert, Database: "d", Table: "t", After: []interface{}{int32(2), "b"}},
		Change{Kind: RowUpdate, Database: "d", Table: "t", Before: []interface{}{int32(2), "b"}, After: []interface{}{int32(2), "B"}},
		Change{Kind: RowDelete, Database: "d", Table: "t", Before: []interface{}{int32(1), "a"}},
	); err != nil {
		t.Fatal(err)
	}
	if rows := c.mustExec("SELECT * FROM d.t"); fmt.Sprint(rows) != "[[2 B]]" {
		t.Fatalf("rows = %v", rows)
	}
	if err := apply(Change{Kind: RowDelete, Database: "d", Table: "t", Before: []interface{}{int32(9), "z"}}); mysqlCode(err) != ErKeyNotFound {
		t.Fatalf("missing row: err = %v, want 1032", err)
	}
	if err := apply(Change{Kind: RowInsert, Database: "d", Table: "t", After: []interface{}{int32(2), "x"}}); mysqlCode(err) != ErDupEntry {
		t.Fatalf("duplicate: err = %v, want 1062", err)
	}
	last := h.hook.all()
	if got := describe(last[len(last)-1]); !strings.Contains(got, "update d.t [2 b]->[2 B]") {
		t.Fatalf("applied changes not captured: %s", got)
	}
}

// TestCreateTableSelectLoggedAsCreateTable: CREATE TABLE … SELECT is logged
// as the table's definition followed by its rows, never as the statement
// (replaying that would insert the rows twice).
func TestCreateTableSelectLoggedAsCreateTable(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(10))")
	c.mustExec("INSERT INTO d.t VALUES (1, 'a'), (2, 'b')")
	c.mustExec("CREATE TABLE d.p (id INT PRIMARY KEY, KEY kv (v)) SELECT id, v FROM d.t")
	sets := h.hook.all()
	got := describe(sets[len(sets)-1])
	want := "ddl[] CREATE TABLE `d`.`p` (\n  `id` int NOT NULL,\n  `v` varchar(10),\n  PRIMARY KEY (`id`),\n  KEY `kv` (`v`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_bin; " +
		"insert d.p []->[1 a]; insert d.p []->[2 b]"
	if got != want {
		t.Fatalf("logged:\n%s\nwant:\n%s", got, want)
	}
	// The generated statement creates the same table.
	c.mustExec("DROP TABLE d.p")
	c.mustExec(strings.SplitN(strings.TrimPrefix(got, "ddl[] "), "; insert", 2)[0])
	if rows := c.mustExec("SHOW CREATE TABLE d.p"); !strings.Contains(fmt.Sprint(rows), "KEY `kv` (`v`)") {
		t.Fatalf("re-created table: %v", rows)
	}
	// A plain CREATE TABLE keeps its text.
	c.mustExec("CREATE TABLE d.q (id INT)")
	sets = h.hook.all()
	if got := describe(sets[len(sets)-1]); got != "ddl[] CREATE TABLE d.q (id INT)" {
		t.Fatalf("plain CREATE TABLE logged as %q", got)
	}
}

// TestLogStatement: a logged statement commits at once as a DDL change of
// its own after what the transaction changed before it (an implicit commit,
// as MySQL's around account statements), carries a GTID set for the next
// commit, and ends the transaction: later statements commit on their own.
func TestLogStatement(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("USE d")
	c.mustExec("CREATE TABLE t (id INT PRIMARY KEY)")
	sess := c.sess.(*Session)
	steps := []struct {
		sql  string // run through the engine first ("" for none)
		log  string // then logged with LogStatement ("" for none)
		gtid string
		want string // change sets committed by the step, joined by " | "
	}{
		{log: "CREATE USER 'a'@'%'", want: "ddl[d] CREATE USER 'a'@'%'"},
		{sql: "BEGIN"},
		{sql: "INSERT INTO t VALUES (1)"},
		{log: "GRANT SELECT ON d.* TO 'a'@'%'", want: "insert d.t []->[1]; ddl[d] GRANT SELECT ON d.* TO 'a'@'%'"},
		{sql: "INSERT INTO t VALUES (2)", want: ""},
		{sql: "COMMIT", want: "insert d.t []->[2]"},
		{log: "DROP USER 'a'@'%'", gtid: "3e11fa47-71ca-11e1-9e33-c80aa9429562:7", want: "ddl[d] DROP USER 'a'@'%' gtid 3e11fa47-71ca-11e1-9e33-c80aa9429562:7"},
	}
	seen := len(h.hook.all())
	for i, st := range steps {
		if st.sql != "" {
			c.mustExec(st.sql)
		}
		if st.log != "" {
			ctx := c.ctx(st.log)
			if st.gtid != "" {
				sess.SetNextGTID(st.gtid)
			}
			if err := sess.LogStatement(ctx, st.log); err != nil {
				t.Fatalf("step %d: LogStatement(%q): %v", i, st.log, err)
			}
		}
		sets := h.hook.all()
		var got []string
		for _, cs := range sets[seen:] {
			d := describe(cs)
			if cs.GTID != "" {
				d += " gtid " + cs.GTID
			}
			got = append(got, d)
		}
		seen = len(sets)
		if strings.Join(got, " | ") != st.want {
			t.Fatalf("step %d (%q %q):\n got  %q\n want %q", i, st.sql, st.log, strings.Join(got, " | "), st.want)
		}
	}
	if rows := c.mustExec("SELECT COUNT(*) FROM t"); toInt64(t, rows[0][0]) != 2 {
		t.Fatalf("rows: %v", rows)
	}
}

package storage

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestFulltextNotLogged: a FULLTEXT table's statements and its own rows are
// captured; its pseudo-tables' creation and rows never are.
func TestFulltextNotLogged(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	steps := []struct{ sql, want string }{
		{"CREATE DATABASE d", "ddl[] CREATE DATABASE d"},
		{"USE d", ""},
		{"CREATE TABLE f (id INT PRIMARY KEY, s TEXT, FULLTEXT KEY fs (s))", "ddl[d] CREATE TABLE f (id INT PRIMARY KEY, s TEXT, FULLTEXT KEY fs (s))"},
		{"INSERT INTO f VALUES (1, 'red fox')", "insert d.f []->[1 red fox]"},
		{"UPDATE f SET s = 'blue fox' WHERE id = 1", "update d.f [1 red fox]->[1 blue fox]"},
		{"CREATE TABLE g (id INT PRIMARY KEY, s TEXT)", "ddl[d] CREATE TABLE g (id INT PRIMARY KEY, s TEXT)"},
		{"INSERT INTO g VALUES (1, 'green owl')", "insert d.g []->[1 green owl]"},
		{"ALTER TABLE g ADD FULLTEXT KEY gs (s)", "ddl[d] ALTER TABLE g ADD FULLTEXT KEY gs (s)"},
		{"ALTER TABLE g ADD COLUMN n INT", "ddl[d] ALTER TABLE g ADD COLUMN n INT"},
		{"DELETE FROM f WHERE id = 1", "delete d.f [1 blue fox]->[]"},
		{"DROP TABLE f", "ddl[d] DROP TABLE f"},
	}
	seen := 0
	for _, st := range steps {
		if _, err := c.query(st.sql); err != nil {
			t.Fatalf("%s: %v", st.sql, err)
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
}

// TestFulltextScripts: searches follow DML and DDL; pseudo-tables are not
// listed and go with their index or table; a renamed table keeps its
// index, and a new table of the old name gets pseudo-tables of its own.
func TestFulltextScripts(t *testing.T) {
	runScripts(t, []script{
		{"search follows writes", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(100), FULLTEXT KEY ts (s))"},
			{sql: "INSERT INTO t VALUES (1, 'quick brown fox'), (2, 'lazy dog'), (3, 'brown dog')"},
			{sql: "SELECT id FROM t WHERE MATCH (s) AGAINST ('brown') ORDER BY id", rows: "[[1] [3]]"},
			{sql: "UPDATE t SET s = 'white dog' WHERE id = 3"},
			{sql: "DELETE FROM t WHERE id = 1"},
			{sql: "SELECT id FROM t WHERE MATCH (s) AGAINST ('brown') ORDER BY id", rows: "[]"},
			{sql: "SELECT id FROM t WHERE MATCH (s) AGAINST ('dog') ORDER BY id", rows: "[[2] [3]]"},
			{sql: "SHOW TABLES", rows: "[[t]]"},
			{sql: "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'd'", rows: "[[1]]"},
			{sql: "ALTER TABLE t MODIFY COLUMN s VARBINARY(100)", errText: "Full-Text"},
			{sql: "ALTER TABLE t DROP INDEX ts"},
			{sql: "SELECT id FROM t WHERE MATCH (s) AGAINST ('dog')", errText: "index"},
		}},
		{"rename keeps the index apart", []scriptStep{
			{sql: "CREATE TABLE a (id INT PRIMARY KEY, s TEXT, FULLTEXT KEY fa (s))"},
			{sql: "INSERT INTO a VALUES (1, 'old words')"},
			{sql: "RENAME TABLE a TO b"},
			{sql: "CREATE TABLE a (id INT PRIMARY KEY, s TEXT, FULLTEXT KEY fa (s))"},
			{sql: "INSERT INTO a VALUES (1, 'new words')"},
			{sql: "DROP TABLE b"},
			{sql: "INSERT INTO a VALUES (2, 'more new words')"},
			{sql: "SELECT id FROM a WHERE MATCH (s) AGAINST ('new') ORDER BY id", rows: "[[1] [2]]"},
			{sql: "SELECT id FROM a WHERE MATCH (s) AGAINST ('old')", rows: "[]"},
			{sql: "SHOW TABLES", rows: "[[a]]"},
		}},
	})
}

// TestFulltextConcurrentWriters: connections inserting, in autocommit and
// in explicit transactions, rows sharing words (new and existing) into one
// FULLTEXT table all succeed, and every word's search finds every row
// holding it.
func TestFulltextConcurrentWriters(t *testing.T) {
	const conns, perConn = 6, 40
	for _, explicit := range []bool{false, true} {
		t.Run(fmt.Sprintf("explicit=%v", explicit), func(t *testing.T) {
			h := newHarness(t)
			c := h.conn()
			c.mustExec("CREATE DATABASE d")
			c.mustExec("USE d")
			c.mustExec("CREATE TABLE f (id INT PRIMARY KEY, s TEXT, FULLTEXT KEY fs (s))")
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i := 0; i < conns; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					w := h.conn()
					w.db = "d"
					for j := 0; j < perConn; j++ {
						id := i*perConn + j
						// "common" in every row; word<j%5> shared across
						// connections; own<i> per connection.
						q := fmt.Sprintf("INSERT INTO f VALUES (%d, 'common word%d own%d')", id, j%5, i)
						if explicit {
							if _, err := w.query("BEGIN"); err != nil {
								errs <- err
								return
							}
						}
						if _, err := w.query(q); err != nil {
							errs <- fmt.Errorf("%s: %w", q, err)
							return
						}
						if explicit {
							if _, err := w.query("COMMIT"); err != nil {
								errs <- err
								return
							}
						}
					}
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for _, c2 := range []struct {
				word string
				want int64
			}{{"common", conns * perConn}, {"word3", conns * perConn / 5}, {"own2", perConn}} {
				rows := c.mustExec("SELECT COUNT(*) FROM f WHERE MATCH (s) AGAINST ('" + c2.word + "')")
				if got := toInt64(t, rows[0][0]); got != c2.want {
					t.Errorf("%s: %d rows, want %d", c2.word, got, c2.want)
				}
			}
		})
	}
}

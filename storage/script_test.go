package storage

import (
	"fmt"
	"strings"
	"testing"
)

// scriptStep is one statement and what it must produce: rows printed with
// fmt (e.g. "[[1 a] [2 b]]"), or a MySQL error code.
type scriptStep struct {
	sql  string
	rows string // compared when not ""
	code int    // expected error code, 0 = success
	// errText: the error must contain this text. For errors GMS itself
	// raises with its catch-all code (1105), mapped to MySQL's code only at
	// the wire by sqlserver.
	errText string
}

type script struct {
	name  string
	steps []scriptStep
}

func runScripts(t *testing.T, scripts []script) {
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.conn()
			c.mustExec("CREATE DATABASE d")
			c.mustExec("USE d")
			for _, st := range sc.steps {
				rows, err := c.query(st.sql)
				if st.errText != "" {
					if err == nil || !strings.Contains(err.Error(), st.errText) {
						t.Fatalf("%s: err = %v, want one containing %q", st.sql, err, st.errText)
					}
					continue
				}
				if st.code != 0 {
					if got := mysqlCode(err); got != st.code {
						t.Fatalf("%s: err = %v (code %d), want code %d", st.sql, err, got, st.code)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", st.sql, err)
				}
				if st.rows != "" && fmt.Sprint(rows) != st.rows {
					t.Fatalf("%s:\n got  %v\n want %s", st.sql, rows, st.rows)
				}
			}
		})
	}
}

func TestDDLScripts(t *testing.T) {
	runScripts(t, []script{
		{"alter columns", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(5))"},
			{sql: "INSERT INTO t VALUES (1, 10, 'x'), (2, 20, 'y')"},
			{sql: "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 5 AFTER id"},
			{sql: "SELECT * FROM t ORDER BY id", rows: "[[1 5 10 x] [2 5 20 y]]"},
			{sql: "ALTER TABLE t DROP COLUMN a"},
			{sql: "SELECT * FROM t ORDER BY id", rows: "[[1 5 x] [2 5 y]]"},
			{sql: "ALTER TABLE t MODIFY COLUMN c BIGINT FIRST"},
			{sql: "SELECT * FROM t ORDER BY id", rows: "[[5 1 x] [5 2 y]]"},
			{sql: "ALTER TABLE t RENAME COLUMN b TO bb"},
			{sql: "SELECT bb FROM t WHERE id = 2", rows: "[[y]]"},
			{sql: "ALTER TABLE t CHANGE COLUMN bb b2 VARCHAR(10)"},
			{sql: "SELECT b2 FROM t WHERE id = 1", rows: "[[x]]"},
		}},
		{"indexes", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)"},
			{sql: "INSERT INTO t VALUES (1, 1, 1), (2, 1, 2), (3, 2, 3)"},
			{sql: "CREATE UNIQUE INDEX ua ON t (a)", code: ErDupEntry},
			{sql: "CREATE INDEX ia ON t (a)"},
			{sql: "CREATE INDEX ia ON t (b)", errText: "Duplicate key name 'ia'"},
			{sql: "CREATE INDEX IF NOT EXISTS ia ON t (b)"},
			{sql: "SELECT id FROM t WHERE a = 1 ORDER BY id", rows: "[[1] [2]]"},
			{sql: "ALTER TABLE t ADD UNIQUE KEY ub (b)"},
			{sql: "INSERT INTO t VALUES (4, 9, 3)", code: ErDupEntry},
			{sql: "ALTER TABLE t RENAME INDEX ub TO ub2"},
			{sql: "ALTER TABLE t DROP INDEX ub2"},
			{sql: "INSERT INTO t VALUES (4, 9, 3)"},
			{sql: "DROP INDEX ia ON t"},
			{sql: "DROP INDEX nope ON t", errText: "can't drop 'nope'"},
			{sql: "DROP INDEX IF EXISTS nope ON t"},
			{sql: "SELECT id FROM t WHERE a = 1 ORDER BY id", rows: "[[1] [2]]"},
		}},
		{"primary key changes", []scriptStep{
			{sql: "CREATE TABLE t (a INT NOT NULL, b INT)"},
			{sql: "INSERT INTO t VALUES (1, 1), (1, 2)"},
			{sql: "ALTER TABLE t ADD PRIMARY KEY (a)", code: ErDupEntry},
			{sql: "DELETE FROM t WHERE b = 2"},
			{sql: "ALTER TABLE t ADD PRIMARY KEY (a)"},
			{sql: "INSERT INTO t VALUES (1, 3)", code: ErDupEntry},
			{sql: "ALTER TABLE t DROP PRIMARY KEY"},
			{sql: "INSERT INTO t VALUES (1, 3)"},
			{sql: "SELECT COUNT(*) FROM t", rows: "[[2]]"},
		}},
		{"rename truncate drop", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)"},
			{sql: "INSERT INTO t (v) VALUES (1), (2)"},
			{sql: "RENAME TABLE t TO u"},
			{sql: "SELECT * FROM t", code: ErNoSuchTable},
			{sql: "SELECT id FROM u ORDER BY id", rows: "[[1] [2]]"},
			{sql: "CREATE TABLE u (x INT)", errText: "already exists"},
			{sql: "DELETE FROM u"},
			{sql: "INSERT INTO u (v) VALUES (3)"},
			{sql: "SELECT id FROM u", rows: "[[3]]"},
			{sql: "TRUNCATE TABLE u"},
			{sql: "INSERT INTO u (v) VALUES (4)"},
			{sql: "SELECT id FROM u", rows: "[[1]]"},
			{sql: "DROP TABLE u"},
			{sql: "DROP TABLE u", errText: "table not found"}, // MySQL: 1051 (mapped at the wire)
			{sql: "SHOW TABLES", rows: "[]"},
		}},
		{"auto_increment", []scriptStep{
			{sql: "CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT, v INT)"},
			{sql: "INSERT INTO t (v) VALUES (1)"},
			{sql: "INSERT INTO t (id, v) VALUES (10, 2)"},
			{sql: "INSERT INTO t (v) VALUES (3)"},
			{sql: "SELECT id FROM t ORDER BY id", rows: "[[1] [10] [11]]"},
			{sql: "SELECT LAST_INSERT_ID()", rows: "[[11]]"},
			{sql: "ALTER TABLE t AUTO_INCREMENT = 100"},
			{sql: "INSERT INTO t (v) VALUES (4)"},
			{sql: "SELECT MAX(id) FROM t", rows: "[[100]]"},
		}},
		{"views", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY, v INT)"},
			{sql: "INSERT INTO t VALUES (1, 10), (2, 20)"},
			{sql: "CREATE VIEW big AS SELECT id FROM t WHERE v > 15"},
			{sql: "SELECT * FROM big", rows: "[[2]]"},
			{sql: "CREATE OR REPLACE VIEW big AS SELECT id FROM t WHERE v > 5"},
			{sql: "SELECT * FROM big ORDER BY id", rows: "[[1] [2]]"},
			{sql: "DROP VIEW big"},
			{sql: "SELECT * FROM big", code: ErNoSuchTable},
		}},
		{"foreign keys", []scriptStep{
			{sql: "CREATE TABLE p (id INT PRIMARY KEY)"},
			{sql: "CREATE TABLE ch (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)"},
			{sql: "INSERT INTO p VALUES (1), (2)"},
			{sql: "INSERT INTO ch VALUES (10, 1), (20, 2)"},
			{sql: "INSERT INTO ch VALUES (30, 3)", code: 1452},
			{sql: "DELETE FROM p WHERE id = 1"},
			{sql: "SELECT id FROM ch", rows: "[[20]]"},
			{sql: "ALTER TABLE ch DROP FOREIGN KEY fk_p"},
			{sql: "INSERT INTO ch VALUES (30, 3)"},
		}},
		{"check constraints", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY, v INT, CONSTRAINT pos CHECK (v > 0))"},
			{sql: "INSERT INTO t VALUES (1, 1)"},
			{sql: "INSERT INTO t VALUES (2, -1)", errText: `Check constraint "pos" violated`},
			{sql: "ALTER TABLE t DROP CHECK pos"},
			{sql: "INSERT INTO t VALUES (2, -1)"},
			{sql: "SELECT COUNT(*) FROM t", rows: "[[2]]"},
		}},
		{"triggers and procedures", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY, v INT)"},
			{sql: "CREATE TABLE log (id INT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(20))"},
			{sql: "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT INTO log (what) VALUES (CONCAT('ins ', NEW.id))"},
			{sql: "INSERT INTO t VALUES (1, 1)"},
			{sql: "SELECT what FROM log", rows: "[[ins 1]]"},
			{sql: "CREATE PROCEDURE bump() UPDATE t SET v = v + 1"},
			{sql: "CALL bump()"},
			{sql: "SELECT v FROM t", rows: "[[2]]"},
			{sql: "DROP PROCEDURE bump"},
			{sql: "DROP TRIGGER tr"},
			{sql: "INSERT INTO t VALUES (2, 1)"},
			{sql: "SELECT COUNT(*) FROM log", rows: "[[1]]"},
		}},
		{"savepoints and statement atomicity", []scriptStep{
			{sql: "CREATE TABLE t (id INT PRIMARY KEY)"},
			{sql: "BEGIN"},
			{sql: "INSERT INTO t VALUES (1)"},
			{sql: "SAVEPOINT s1"},
			{sql: "INSERT INTO t VALUES (2)"},
			{sql: "INSERT INTO t VALUES (3), (1)", code: ErDupEntry},
			{sql: "SELECT id FROM t ORDER BY id", rows: "[[1] [2]]"},
			{sql: "ROLLBACK TO SAVEPOINT s1"},
			{sql: "SELECT id FROM t ORDER BY id", rows: "[[1]]"},
			{sql: "INSERT IGNORE INTO t VALUES (1), (4)"},
			{sql: "COMMIT"},
			{sql: "SELECT id FROM t ORDER BY id", rows: "[[1] [4]]"},
		}},
		{"keyless tables", []scriptStep{
			{sql: "CREATE TABLE t (a INT, b VARCHAR(5))"},
			{sql: "INSERT INTO t VALUES (1, 'x'), (1, 'x'), (2, 'y')"},
			{sql: "DELETE FROM t WHERE a = 1 LIMIT 1"},
			{sql: "SELECT COUNT(*) FROM t WHERE a = 1", rows: "[[1]]"},
			{sql: "UPDATE t SET b = 'z' WHERE a = 2"},
			{sql: "SELECT a, b FROM t ORDER BY a", rows: "[[1 x] [2 z]]"},
		}},
		{"databases", []scriptStep{
			{sql: "CREATE DATABASE d", code: ErDBCreateExists},
			{sql: "CREATE DATABASE e"},
			{sql: "CREATE TABLE e.t (id INT PRIMARY KEY)"},
			{sql: "INSERT INTO e.t VALUES (1)"},
			{sql: "DROP DATABASE e"},
			{sql: "SELECT * FROM e.t", code: 1049},
			{sql: "DROP DATABASE e", errText: "database not found"}, // MySQL: 1008 (mapped at the wire)
		}},
	})
}

// TestPointLookupUsesIndex: primary and secondary key lookups are index
// accesses in the plan, not scans.
func TestPointLookupUsesIndex(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("USE d")
	c.mustExec("CREATE TABLE t (id INT PRIMARY KEY, k INT, v VARCHAR(10), KEY kk (k))")
	for i := 0; i < 1000; i += 100 {
		var vals []string
		for j := i; j < i+100; j++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, 'v%d')", j, j%37, j))
		}
		c.mustExec("INSERT INTO t VALUES " + strings.Join(vals, ","))
	}
	for _, q := range []string{
		"SELECT * FROM t WHERE id = 500",
		"SELECT * FROM t WHERE k = 7",
		"SELECT * FROM t WHERE id BETWEEN 10 AND 20",
	} {
		plan := fmt.Sprint(c.mustExec("EXPLAIN PLAN " + q))
		if !strings.Contains(plan, "IndexedTableAccess") {
			t.Fatalf("%s: plan is not an index access:\n%s", q, plan)
		}
	}
	if rows := c.mustExec("SELECT v FROM t WHERE id = 500"); fmt.Sprint(rows) != "[[v500]]" {
		t.Fatalf("rows = %v", rows)
	}
	if rows := c.mustExec("SELECT COUNT(*) FROM t WHERE k = 7"); fmt.Sprint(rows) != "[[27]]" {
		t.Fatalf("rows = %v", rows)
	}
	if rows := c.mustExec("SELECT COUNT(*) FROM t WHERE id BETWEEN 10 AND 20"); fmt.Sprint(rows) != "[[11]]" {
		t.Fatalf("rows = %v", rows)
	}
	if rows := c.mustExec("SELECT id FROM t WHERE k IN (1, 2) AND id < 40 ORDER BY id"); fmt.Sprint(rows) != "[[1] [2] [38] [39]]" {
		t.Fatalf("rows = %v", rows)
	}
	if rows := c.mustExec("SELECT id FROM t WHERE k IS NULL"); fmt.Sprint(rows) != "[]" {
		t.Fatalf("rows = %v", rows)
	}
}

// TestDeleteWithoutDefaultDatabase: DELETE FROM db.t with no USE works (GMS's
// truncate rewrite must not fail on the missing current database) and logs
// each row.
func TestDeleteWithoutDefaultDatabase(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("CREATE TABLE d.t (id INT PRIMARY KEY)")
	c.mustExec("INSERT INTO d.t VALUES (1), (2)")
	c.db = ""
	c.mustExec("DELETE FROM d.t")
	sets := h.hook.all()
	if got := describe(sets[len(sets)-1]); got != "delete d.t [1]->[]; delete d.t [2]->[]" {
		t.Fatalf("changes = %s", got)
	}
	if _, err := c.query("SELECT * FROM nodb_table"); err == nil {
		t.Fatal("a table without a database resolved")
	}
}

package integration

// Over-the-wire tests of the engine defects issue #11 confirmed with the mysql client: each
// case is a script of statements on named sessions of one server, with the rows, error
// number or warnings MySQL 8.0 gives.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// wireStep is one statement on session conn ("a" when empty). rows, when not nil, are the
// expected result rows, columns joined by "|" and NULL as "NULL"; code is the expected
// error number; warnings, when not nil, is what SHOW WARNINGS must print right after
// ("Level|Code|Message").
type wireStep struct {
	conn     string
	query    string
	rows     []string
	code     uint16
	warnings []string
}

type wireScript struct {
	name  string
	steps []wireStep
}

// TestEngineDefectsOverTheWire runs the scripts of issue #11's confirmed defects, each in
// its own database of one server.
func TestEngineDefectsOverTheWire(t *testing.T) {
	srv := StartServer(t)
	for i, sc := range []wireScript{
		{"create table if not exists on an existing table", []wireStep{
			{query: "CREATE TABLE t (a INT PRIMARY KEY)"},
			{query: "CREATE TABLE IF NOT EXISTS t (a INT PRIMARY KEY)", warnings: []string{"Note|1050|Table 't' already exists"}},
			{query: "CREATE TABLE t (a INT PRIMARY KEY)", code: 1050},
			{query: "/* migration 7 */ CREATE TABLE IF NOT EXISTS t (a INT PRIMARY KEY)", warnings: []string{"Note|1050|Table 't' already exists"}},
			{query: "-- fixture\n  create temporary table if not exists t (a INT PRIMARY KEY)"},
			{query: "/* again */ CREATE TEMPORARY TABLE IF NOT EXISTS t (a INT PRIMARY KEY)", warnings: []string{"Note|1050|Table 't' already exists"}},
		}},
		{"multi-table update sets each row once", []wireStep{
			{query: "CREATE TABLE p (id INT PRIMARY KEY, v INT)"},
			{query: "CREATE TABLE q (id INT PRIMARY KEY)"},
			{query: "INSERT INTO p VALUES (1,0),(2,0),(3,0)"},
			{query: "INSERT INTO q VALUES (1),(2),(3)"},
			{query: "UPDATE p CROSS JOIN q SET p.v = p.v + 1"},
			{query: "SELECT id, v FROM p ORDER BY id", rows: []string{"1|1", "2|1", "3|1"}},
			{query: "UPDATE p JOIN q ON p.id = q.id SET p.v = p.v + 10, q.id = q.id + 10"},
			{query: "SELECT id, v FROM p ORDER BY id", rows: []string{"1|11", "2|11", "3|11"}},
			{query: "SELECT id FROM q ORDER BY id", rows: []string{"11", "12", "13"}},
		}},
		{"after insert trigger calls a writing procedure", []wireStep{
			{query: "CREATE TABLE log (x INT)"},
			{query: "CREATE PROCEDURE wr(x INT) INSERT INTO log VALUES (x)"},
			{query: "CREATE TABLE tt (a INT)"},
			{query: "CREATE TRIGGER trg AFTER INSERT ON tt FOR EACH ROW CALL wr(NEW.a)"},
			{query: "INSERT INTO tt VALUES (5), (6)"},
			{query: "SELECT a FROM tt ORDER BY a", rows: []string{"5", "6"}},
			{query: "SELECT x FROM log ORDER BY x", rows: []string{"5", "6"}},
			{query: "BEGIN"},
			{query: "CALL wr(7)"},
			{query: "ROLLBACK"},
			{query: "SELECT x FROM log ORDER BY x", rows: []string{"5", "6"}},
		}},
		{"add column auto_increment numbers existing rows", []wireStep{
			{query: "CREATE TABLE ai (v INT)"},
			{query: "INSERT INTO ai VALUES (10),(20),(30)"},
			{query: "ALTER TABLE ai ADD COLUMN id INT AUTO_INCREMENT PRIMARY KEY"},
			{query: "SELECT v, id FROM ai ORDER BY v", rows: []string{"10|1", "20|2", "30|3"}},
			{query: "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_NAME = 'ai' AND TABLE_SCHEMA = DATABASE()", rows: []string{"4"}},
		}},
		{"index if not exists / if exists", []wireStep{
			{query: "CREATE TABLE ix (a INT, b INT)"},
			{query: "CREATE INDEX i1 ON ix (a)"},
			{query: "CREATE INDEX i1 ON ix (b)", code: 1061},
			{query: "CREATE INDEX IF NOT EXISTS i1 ON ix (b)"},
			{query: "DROP INDEX nope ON ix", code: 1091},
			{query: "DROP INDEX IF EXISTS nope ON ix"},
			{query: "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_NAME = 'ix' AND TABLE_SCHEMA = DATABASE()", rows: []string{"1"}},
		}},
		{"view reads keep the transaction", []wireStep{
			{query: "CREATE TABLE vt (id INT PRIMARY KEY)"},
			{query: "CREATE VIEW vv AS SELECT id FROM vt"},
			{query: "BEGIN"},
			{query: "INSERT INTO vt VALUES (1)"},
			{query: "SAVEPOINT s1"},
			{query: "SELECT id FROM vv", rows: []string{"1"}},
			{query: "SHOW CREATE TABLE vv"},
			{query: "INSERT INTO vt VALUES (2)"},
			{query: "ROLLBACK TO SAVEPOINT s1"},
			{query: "SELECT id FROM vt", rows: []string{"1"}},
			{query: "ROLLBACK"},
			{query: "SELECT id FROM vt", rows: []string{}},
		}},
		{"read committed takes a snapshot per statement", []wireStep{
			{query: "CREATE TABLE rc (id INT PRIMARY KEY)"},
			{query: "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"},
			{query: "BEGIN"},
			{query: "SELECT id FROM rc", rows: []string{}},
			{conn: "b", query: "INSERT INTO rc VALUES (1)"},
			{query: "SELECT id FROM rc", rows: []string{"1"}},
			{query: "COMMIT"},
			{query: "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"},
			{query: "BEGIN"},
			{query: "SELECT id FROM rc", rows: []string{"1"}},
			{conn: "b", query: "INSERT INTO rc VALUES (2)"},
			{query: "SELECT id FROM rc", rows: []string{"1"}},
			{query: "COMMIT"},
			{query: "SELECT id FROM rc ORDER BY id", rows: []string{"1", "2"}},
		}},
		{"ddl checks MySQL makes", []wireStep{
			{query: "CREATE TABLE ck (id INT PRIMARY KEY AUTO_INCREMENT, a INT CHECK (a > 0), b INT, CHECK (b < 10))"},
			{query: "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY CONSTRAINT_NAME", rows: []string{"ck_chk_1", "ck_chk_2"}},
			{query: "CREATE TABLE ck2 LIKE ck"},
			{query: "INSERT INTO ck2 (a, b) VALUES (0, 1)", code: 3819},
			{query: "ALTER TABLE ck DROP PRIMARY KEY", code: 1075},
			{query: "ALTER TABLE ck MODIFY id INT"},
			{query: "INSERT INTO ck (id, a, b) VALUES (NULL, 1, 1)", code: 1048},
			{query: "CREATE TABLE co (s VARCHAR(10)) COLLATE utf8mb4_0900_bin"},
			{query: "ALTER TABLE co COLLATE utf8mb4_general_ci"},
			{query: "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_NAME = 'co' AND TABLE_SCHEMA = DATABASE()", rows: []string{"utf8mb4_general_ci"}},
			{query: "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_NAME = 'co' AND TABLE_SCHEMA = DATABASE()", rows: []string{"utf8mb4_0900_bin"}},
		}},
		{"read only transactions refuse writes", []wireStep{
			{query: "CREATE TABLE ro (id INT PRIMARY KEY)"},
			{query: "START TRANSACTION READ ONLY"},
			{query: "SELECT id FROM ro", rows: []string{}},
			{query: "INSERT INTO ro VALUES (1)", code: 1792},
			{query: "UPDATE ro SET id = 2", code: 1792},
			{query: "COMMIT"},
			{query: "INSERT INTO ro VALUES (1)"},
			{query: "SELECT id FROM ro", rows: []string{"1"}},
		}},
		{"index order as MySQL's", []wireStep{
			{query: "CREATE TABLE o (a INT, b INT NOT NULL, c VARCHAR(100), d INT, KEY k1 (a), UNIQUE KEY u_null (a), UNIQUE KEY u_pref (c(10)), UNIQUE KEY u_nn (b), KEY k0 (d))"},
			{query: "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'o'", rows: []string{"u_nn", "u_null", "u_pref", "k1", "k0"}},
			{query: "SHOW CREATE TABLE o", rows: []string{"o|CREATE TABLE `o` (\n  `a` int DEFAULT NULL,\n  `b` int NOT NULL,\n  `c` varchar(100) DEFAULT NULL,\n  `d` int DEFAULT NULL,\n  UNIQUE KEY `u_nn` (`b`),\n  UNIQUE KEY `u_null` (`a`),\n  UNIQUE KEY `u_pref` (`c`(10)),\n  KEY `k1` (`a`),\n  KEY `k0` (`d`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"}},
			{query: "CREATE TABLE Mixed (Id INT PRIMARY KEY, Val1 INT, KEY idx_one (val1))"},
			{query: "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'Mixed' AND INDEX_NAME = 'idx_one'", rows: []string{"Val1"}},
		}},
		{"foreign keys by name; a referenced index with the implicit primary key", []wireStep{
			{query: "CREATE TABLE theparent (i INT PRIMARY KEY)"},
			{query: "CREATE TABLE child5 (j INT PRIMARY KEY)"},
			{query: "ALTER TABLE child5 ADD CONSTRAINT zz FOREIGN KEY (j) REFERENCES theparent (i)"},
			{query: "ALTER TABLE child5 ADD CONSTRAINT AA FOREIGN KEY (j) REFERENCES theparent (i)"},
			{query: "SHOW CREATE TABLE child5", rows: []string{"child5|CREATE TABLE `child5` (\n  `j` int NOT NULL,\n  PRIMARY KEY (`j`),\n  CONSTRAINT `AA` FOREIGN KEY (`j`) REFERENCES `theparent` (`i`),\n  CONSTRAINT `zz` FOREIGN KEY (`j`) REFERENCES `theparent` (`i`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"}},
			{query: "CREATE TABLE parent1 (fk1 INT, pk1 INT, pk2 INT, pk3 INT, PRIMARY KEY (pk1, pk2, pk3), INDEX (fk1, pk2))"},
			{query: "INSERT INTO parent1 VALUES (0, 1, 2, 3)"},
			{query: "CREATE TABLE child3 (fk1 INT, pk1 INT, pk2 INT, pk3 INT, PRIMARY KEY (pk1, pk2, pk3), CONSTRAINT fk3 FOREIGN KEY (fk1, pk2, pk1, pk3) REFERENCES parent1 (fk1, pk2, pk1, pk3))"},
			{query: "INSERT INTO child3 VALUES (0, 1, 2, 3)"},
			{query: "INSERT INTO child3 VALUES (0, 1, 2, 99)", code: 1452},
			{query: "SELECT fk1, pk1, pk2, pk3 FROM child3", rows: []string{"0|1|2|3"}},
		}},
		{"cascade through generated columns", []wireStep{
			{query: "CREATE TABLE p (id INT PRIMARY KEY)"},
			{query: "CREATE TABLE c (id INT PRIMARY KEY, x INT, pid INT, g INT GENERATED ALWAYS AS (x + 100) STORED, v INT GENERATED ALWAYS AS (pid * 10) VIRTUAL, KEY kv (v), FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE ON DELETE SET NULL)"},
			{query: "INSERT INTO p VALUES (1), (2)"},
			{query: "INSERT INTO c (id, x, pid) VALUES (1, 5, 1), (2, 6, 2)"},
			{query: "UPDATE p SET id = 3 WHERE id = 1"},
			{query: "UPDATE p SET id = 4 WHERE id = 3"},
			{query: "SELECT id, x, pid, g, v FROM c ORDER BY id", rows: []string{"1|5|4|105|40", "2|6|2|106|20"}},
			{query: "DELETE FROM p WHERE id = 2"},
			{query: "SELECT id, pid, v FROM c WHERE v IS NULL", rows: []string{"2|NULL|NULL"}},
			{query: "INSERT INTO c (id, x, pid) VALUES (3, 7, 4)"},
			{query: "SELECT id, g, v FROM c WHERE v = 40 ORDER BY id", rows: []string{"1|105|40", "3|107|40"}},
			{query: "SHOW CREATE TABLE c", rows: []string{"c|CREATE TABLE `c` (\n  `id` int NOT NULL,\n  `x` int DEFAULT NULL,\n  `pid` int DEFAULT NULL,\n  `g` int GENERATED ALWAYS AS ((`x` + 100)) STORED,\n  `v` int GENERATED ALWAYS AS ((`pid` * 10)) VIRTUAL,\n  PRIMARY KEY (`id`),\n  KEY `pid` (`pid`),\n  KEY `kv` (`v`),\n  CONSTRAINT `c_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE SET NULL ON UPDATE CASCADE\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"}},
		}},
		{"auto_increment stops at the type's maximum", []wireStep{
			{query: "CREATE TABLE t8 (i TINYINT AUTO_INCREMENT PRIMARY KEY)"},
			{query: "INSERT INTO t8 VALUES (127)"},
			{query: "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't8'", rows: []string{"127"}},
			{query: "INSERT INTO t8 VALUES ()", code: 1062},
			{query: "CREATE TABLE tu (i BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY)"},
			{query: "INSERT INTO tu VALUES (18446744073709551615)"},
			{query: "SHOW CREATE TABLE tu", rows: []string{"tu|CREATE TABLE `tu` (\n  `i` bigint unsigned NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`i`)\n) ENGINE=InnoDB AUTO_INCREMENT=18446744073709551615 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"}},
		}},
		{"table status sizes as InnoDB's", []wireStep{
			{query: "CREATE TABLE othertable (s2 TEXT, i2 BIGINT PRIMARY KEY)"},
			{query: "INSERT INTO othertable VALUES ('first', 1), ('second', 2), ('third', 3)"},
			{query: "SELECT TABLE_ROWS, AVG_ROW_LENGTH, DATA_LENGTH, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'othertable'", rows: []string{"3|5461|16384|NULL"}},
		}},
		{"information_schema.ROUTINES lists procedures", []wireStep{
			{query: "CREATE PROCEDURE p1() SELECT 1"},
			{query: "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()", rows: []string{"p1|PROCEDURE"}},
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			runWireScript(t, srv, fmt.Sprintf("wire%d", i), sc)
		})
	}
}

func runWireScript(t *testing.T, srv *Server, db string, sc wireScript) {
	t.Helper()
	mustExec(t, srv.DB(t, ""), "CREATE DATABASE "+db)
	conns := map[string]*sql.Conn{}
	conn := func(name string) *sql.Conn {
		if name == "" {
			name = "a"
		}
		if c := conns[name]; c != nil {
			return c
		}
		c := srv.Conn(t)
		if _, err := c.ExecContext(context.Background(), "USE "+db); err != nil {
			t.Fatal(err)
		}
		conns[name] = c
		return c
	}
	for _, st := range sc.steps {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c := conn(st.conn)
		got, err := queryJoined(ctx, c, st.query)
		switch {
		case st.code != 0:
			if n := mysqlErrorNumber(err); n != st.code {
				t.Fatalf("%s: got %v (number %d), want error %d", st.query, err, n, st.code)
			}
		case err != nil:
			t.Fatalf("%s: %v", st.query, err)
		case st.rows != nil && strings.Join(got, "\n") != strings.Join(st.rows, "\n"):
			t.Fatalf("%s: rows\n%s\nwant\n%s", st.query, strings.Join(got, "\n"), strings.Join(st.rows, "\n"))
		}
		if st.warnings != nil {
			w, err := queryJoined(ctx, c, "SHOW WARNINGS")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(w, "\n") != strings.Join(st.warnings, "\n") {
				t.Fatalf("%s: warnings %q, want %q", st.query, w, st.warnings)
			}
		}
		cancel()
	}
}

// queryJoined runs q and returns its rows, columns joined by "|" and NULL as "NULL" (no rows
// for a statement without a result set).
func queryJoined(ctx context.Context, c *sql.Conn, q string) ([]string, error) {
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "NULL"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out, rows.Err()
}

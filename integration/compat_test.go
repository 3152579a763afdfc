package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// compatCase is one statement drivers, ORMs or dump tools send, and what MySQL 8.0 answers.
type compatCase struct {
	name  string
	setup []string // run first, in the test's database
	query string
	args  []any    // parameters: the text protocol interpolates them, the binary one binds them
	want  []string // rows, columns joined by a tab, NULL as "NULL"
	// wantErr is the error number the query fails with (0: it succeeds).
	wantErr uint16
	// textOnly: the case is a statement the binary protocol does not prepare in MySQL either.
	textOnly bool
	// exec: the query is run with Exec; its one row is the OK packet's "insert id<TAB>rows affected".
	exec bool
	// columns, when not 0, compares only the rows' first columns.
	columns int
}

// compatCases are the MySQL 8.0 behaviours of issue 12, each checked through the text protocol
// and the binary protocol (prepared statements) of go-sql-driver.
var compatCases = []compatCase{
	{
		name: "show create table: ENUM/SET defaults are values, nullable columns DEFAULT NULL, TIME is time",
		setup: []string{`CREATE TABLE sc (id int PRIMARY KEY AUTO_INCREMENT,
			tier enum('free','pro','team') NOT NULL DEFAULT 'pro', digits enum('1','2','3') DEFAULT '3',
			tags set('a','b','c') DEFAULT 'a,c', n int, tm time, y year(4), t text, j json, ts timestamp NULL,
			g int AS (n + 1), d decimal(10,2) NOT NULL DEFAULT 1.50, c varchar(9) DEFAULT 'it''s' COMMENT 'q')`},
		query: "SHOW CREATE TABLE sc",
		want: []string{"sc\tCREATE TABLE `sc` (\n" +
			"  `id` int NOT NULL AUTO_INCREMENT,\n" +
			"  `tier` enum('free','pro','team') NOT NULL DEFAULT 'pro',\n" +
			"  `digits` enum('1','2','3') DEFAULT '3',\n" +
			"  `tags` set('a','b','c') DEFAULT 'a,c',\n" +
			"  `n` int DEFAULT NULL,\n" +
			"  `tm` time DEFAULT NULL,\n" +
			"  `y` year DEFAULT NULL,\n" +
			"  `t` text,\n" +
			"  `j` json DEFAULT NULL,\n" +
			"  `ts` timestamp NULL DEFAULT NULL,\n" +
			"  `g` int GENERATED ALWAYS AS ((`n` + 1)) VIRTUAL,\n" +
			"  `d` decimal(10,2) NOT NULL DEFAULT '1.50',\n" +
			"  `c` varchar(9) DEFAULT 'it''s' COMMENT 'q',\n" +
			"  PRIMARY KEY (`id`)\n" +
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"},
		textOnly: true,
	},
	{name: "MariaDB executable comments are comments", query: "/*M!999999\\- enable the sandbox mode */ SELECT 5", want: []string{"5"}},
	{name: "MariaDB versioned comment is a comment", query: "SELECT 1 /*M!100101 + 1 */", want: []string{"1"}},
	{name: "MySQL versioned comment for a later version is a comment", query: "SELECT 1 /*!90000 + 1 */", want: []string{"1"}},
	{name: "MySQL versioned comment runs", query: "SELECT 1 /*!40101 + 1 */", want: []string{"2"}},
	{name: "FLUSH LOCAL TABLES", query: "FLUSH /*!40101 LOCAL */ TABLES", textOnly: true},
	{name: "FLUSH NO_WRITE_TO_BINLOG TABLES", query: "FLUSH NO_WRITE_TO_BINLOG TABLES", textOnly: true},
	{name: "YEAR(4)", setup: []string{"CREATE TABLE yr (id int PRIMARY KEY, y YEAR(4) NOT NULL)", "INSERT INTO yr VALUES (1, 2024)"},
		query: "SELECT y FROM yr", want: []string{"2024"}},
	{name: "TIME without fsp", setup: []string{"CREATE TABLE tm (id int PRIMARY KEY, t time, t6 time(6))",
		"INSERT INTO tm VALUES (1, '03:25:45', '01:02:03.5'), (2, '-838:59:59', NULL)"},
		query: "SELECT t, t6 FROM tm ORDER BY id", want: []string{"03:25:45\t01:02:03.500000", "-838:59:59\tNULL"}},
	{name: "SUM and AVG over BIGINT are exact DECIMALs", setup: []string{"CREATE TABLE big (id int PRIMARY KEY, v bigint)",
		"INSERT INTO big VALUES (1, 9007199254740993), (2, 0)"},
		query: "SELECT SUM(v), AVG(v), SUM(id), AVG(id) FROM big", want: []string{"9007199254740993\t4503599627370496.5000\t3\t1.5000"}},
	{name: "SUM and AVG of DECIMAL(10,2) keep the scale", setup: []string{"CREATE TABLE money (id int PRIMARY KEY, amount decimal(10,2))",
		"INSERT INTO money VALUES (1, 12.50), (2, 275.10), (3, NULL)"},
		query: "SELECT SUM(amount), AVG(amount), SUM(DISTINCT amount) FROM money", want: []string{"287.60\t143.800000\t287.60"}},
	{name: "SUM of no rows is NULL", query: "SELECT SUM(amount) FROM money WHERE id > 5", want: []string{"NULL"}},
	{name: "SUM over DOUBLE stays DOUBLE", query: "SELECT SUM(id * 1.5e0) FROM money", want: []string{"9"}},
	{name: "SHOW COLUMNS: generated columns, bare types, TIME",
		setup: []string{"CREATE TABLE gen (id int PRIMARY KEY, a int, b int AS (a * 2) VIRTUAL, c int AS (a + 1) STORED, t time, n text, e enum('x','y') DEFAULT 'y')"},
		query: "SHOW COLUMNS FROM gen", textOnly: true,
		want: []string{"id\tint\tNO\tPRI\tNULL\t", "a\tint\tYES\t\tNULL\t", "b\tint\tYES\t\tNULL\tVIRTUAL GENERATED",
			"c\tint\tYES\t\tNULL\tSTORED GENERATED", "t\ttime\tYES\t\tNULL\t", "n\ttext\tYES\t\tNULL\t", "e\tenum('x','y')\tYES\t\ty\t"}},
	{name: "information_schema.COLUMNS: generated columns, TIME",
		query: "SELECT column_name, column_type, column_default, extra, generation_expression FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'gen' AND column_name IN ('b', 'c', 't') ORDER BY column_name",
		want:  []string{"b\tint\tNULL\tVIRTUAL GENERATED\t(`a` * 2)", "c\tint\tNULL\tSTORED GENERATED\t(`a` + 1)", "t\ttime\tNULL\t\t"}},
	{name: "a value for a generated column is 3105", query: "INSERT INTO gen (id, a, b) VALUES (1, 1, 5)", wantErr: 3105, textOnly: true},
	{name: "multi-row upsert: the first new id", setup: []string{"CREATE TABLE up (id int PRIMARY KEY AUTO_INCREMENT, k varchar(9) UNIQUE, v int)",
		"INSERT INTO up (k, v) VALUES ('a', 1), ('b', 1)"},
		query: "INSERT INTO up (k, v) VALUES (?, 2), (?, 2), (?, 2) ON DUPLICATE KEY UPDATE v = v + 10", args: []any{"a", "c1", "d1"},
		exec: true, want: []string{"4\t4"}},
	{name: "multi-row upsert: LAST_INSERT_ID() is the first new id", query: "SELECT LAST_INSERT_ID(), (SELECT id FROM up WHERE k = 'c1')", want: []string{"4\t4"}},
	{name: "upsert that only updates: insert id 0", query: "INSERT INTO up (k, v) VALUES (?, 3) ON DUPLICATE KEY UPDATE v = v + 1", args: []any{"b"},
		exec: true, want: []string{"0\t2"}},
	{name: "upsert that only updates keeps LAST_INSERT_ID()", query: "SELECT LAST_INSERT_ID() > 0", want: []string{"1"}},
	{name: "CAST(? AS TIME) with a DATETIME parameter", query: "SELECT CAST(? AS TIME)",
		args: []any{time.Date(2024, 1, 2, 10, 11, 12, 0, time.UTC)}, want: []string{"10:11:12"}},
	{name: "CAST of a DATETIME string AS TIME", query: "SELECT CAST('2024-01-02 23:00:01' AS TIME), CONVERT('10:11:12', TIME)", want: []string{"23:00:01\t10:11:12"}},
	{name: "zero dates", setup: []string{"CREATE TABLE zd (id int PRIMARY KEY, d date, dt datetime)",
		"INSERT INTO zd VALUES (1, '0000-00-00', '0000-00-00 00:00:00')"},
		query: "SELECT d, dt FROM zd", want: []string{"0000-00-00\t0000-00-00 00:00:00"}},
	{name: "scalar subquery in HAVING", setup: []string{"CREATE TABLE hv (id int PRIMARY KEY, g int)", "INSERT INTO hv VALUES (1, 1), (2, 1), (3, 2)"},
		query: "SELECT g, COUNT(*) FROM hv GROUP BY g HAVING COUNT(*) = (SELECT MAX(c) FROM (SELECT COUNT(*) c FROM hv GROUP BY g) x)", want: []string{"1\t2"}},
	{name: "system variable beside an aggregate", query: "SELECT COUNT(*), @@global.server_id FROM hv", want: []string{"3\t1"}},
	{name: "DO", query: "DO 1 + 1, SLEEP(0)", exec: true, textOnly: true, want: []string{"0\t0"}},
	{name: "HELP answers from empty help tables", query: "HELP 'select'", textOnly: true},
	{name: "@@version_comment names this server", query: "SELECT @@version_comment",
		want: []string{"semisyncd, MySQL-compatible server with semi-synchronous replication"}},
	{name: "SHOW TRIGGERS FROM another database", query: "SHOW TRIGGERS FROM trg_other", textOnly: true, columns: 5,
		want: []string{"t_v\tINSERT\tt\tSET NEW.v = 1\tBEFORE"}},
	{name: "plan is an identifier", setup: []string{"CREATE TABLE pl (id int PRIMARY KEY, plan varchar(9))", "INSERT INTO pl (id, plan) VALUES (1, 'pro')"},
		query: "SELECT plan FROM pl WHERE plan = ?", args: []any{"pro"}, want: []string{"pro"}},
	{name: "locked is an identifier", setup: []string{"CREATE TABLE lk (id int PRIMARY KEY, locked int)", "INSERT INTO lk (id, locked) VALUES (1, 7)"},
		query: "SELECT locked FROM lk WHERE locked = ?", args: []any{7}, want: []string{"7"}},
	{name: "SET NAMES … COLLATE", setup: []string{"SET NAMES utf8mb4 COLLATE utf8mb4_bin"},
		query: "SELECT @@collation_connection, @@character_set_connection, 'a' = 'A'", want: []string{"utf8mb4_bin\tutf8mb4\t0"}},
	{name: "SET NAMES … COLLATE an unknown collation", query: "SET NAMES utf8mb4 COLLATE nope", exec: true, textOnly: true, wantErr: 1273},
	{name: "SET NAMES without COLLATE: the character set's default", setup: []string{"SET NAMES latin1"},
		query: "SELECT @@collation_connection", want: []string{"latin1_swedish_ci"}},
	{name: "ENGINE=MyISAM: stored in our engine, MySQL's substitution warning", setup: []string{"CREATE TABLE eng_m (a int) ENGINE=MyISAM"},
		query: "SHOW WARNINGS", textOnly: true, want: []string{"Warning\t1266\tUsing storage engine InnoDB for table 'eng_m'"}},
	{name: "SHOW CREATE TABLE of a substituted engine", query: "SHOW CREATE TABLE eng_m", textOnly: true,
		want: []string{"eng_m\tCREATE TABLE `eng_m` (\n  `a` int DEFAULT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"}},
	{name: "an unknown engine is 1286 under NO_ENGINE_SUBSTITUTION", query: "CREATE TABLE eng_x (a int) ENGINE=nosuch", exec: true, textOnly: true, wantErr: 1286},
	{name: "ALTER TABLE to an unknown engine is 1286", query: "ALTER TABLE eng_m ENGINE = nosuch", exec: true, textOnly: true, wantErr: 1286},
	{name: "ALTER TABLE to InnoDB", query: "ALTER TABLE eng_m ENGINE=InnoDB", exec: true, textOnly: true, want: []string{"0\t0"}},
	{name: "an unknown engine without NO_ENGINE_SUBSTITUTION: substituted, two warnings",
		setup: []string{"SET sql_mode = ''", "CREATE TABLE eng_u (a int) ENGINE=nosuch"},
		query: "SHOW WARNINGS", textOnly: true,
		want: []string{"Warning\t1286\tUnknown storage engine 'nosuch'", "Warning\t1266\tUsing storage engine InnoDB for table 'eng_u'"}},
	{name: "SHOW ENGINES lists the one engine", setup: []string{"SET sql_mode = DEFAULT"}, query: "SHOW ENGINES", textOnly: true, columns: 2,
		want: []string{"InnoDB\tDEFAULT"}},
}

// TestHandshakeCollation: the collation a client asks for in its handshake is the
// connection's, as in MySQL.
func TestHandshakeCollation(t *testing.T) {
	srv := StartServer(t)
	for _, coll := range []string{"latin1_swedish_ci", "utf8mb4_bin", "utf8mb4_0900_ai_ci"} {
		db := openDB(t, srv.DSN("")+"&collation="+coll)
		var got, cs string
		if err := db.QueryRow("SELECT @@collation_connection, @@character_set_client").Scan(&got, &cs); err != nil {
			t.Fatal(err)
		}
		if got != coll || !strings.HasPrefix(coll, cs+"_") {
			t.Errorf("collation=%s: @@collation_connection %s, @@character_set_client %s", coll, got, cs)
		}
	}
}

func TestCompatCases(t *testing.T) {
	srv := StartServer(t)
	for _, q := range []string{"CREATE DATABASE trg_other", "CREATE TABLE trg_other.t (id int PRIMARY KEY, v int)",
		"CREATE TRIGGER trg_other.t_v BEFORE INSERT ON trg_other.t FOR EACH ROW SET NEW.v = 1"} {
		mustExec(t, srv.DB(t, ""), q)
	}
	for _, proto := range []string{"text", "binary"} {
		t.Run(proto, func(t *testing.T) {
			// The text protocol's parameters are interpolated by the driver; the binary
			// protocol's are bound to a prepared statement.
			dsn := srv.DSN("")
			if proto == "text" {
				dsn += "&interpolateParams=true"
			}
			db := openDB(t, dsn)
			db.SetMaxOpenConns(1)
			mustExec(t, db, "CREATE DATABASE compat_"+proto)
			mustExec(t, db, "USE compat_"+proto)
		cases:
			for _, c := range compatCases {
				for _, s := range c.setup {
					if _, err := db.Exec(s); err != nil {
						t.Errorf("%s: setup %s: %v", c.name, s, err)
						continue cases
					}
				}
				if c.textOnly && proto == "binary" {
					continue
				}
				var got []string
				var err error
				if c.exec {
					got, err = execProtocol(db, proto, c.query, c.args...)
				} else {
					got, err = queryProtocol(db, proto, c.query, c.args...)
				}
				if c.wantErr != 0 {
					if n := mysqlErrorNumber(err); n != c.wantErr {
						t.Errorf("%s: %s: error %v, want %d", c.name, c.query, err, c.wantErr)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %s: %v", c.name, c.query, err)
					continue
				}
				if c.columns > 0 {
					for i, row := range got {
						got[i] = strings.Join(strings.SplitN(row, "\t", c.columns+1)[:min(c.columns, strings.Count(row, "\t")+1)], "\t")
					}
				}
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s: %s:\n got %q\nwant %q", c.name, c.query, got, c.want)
				}
			}
		})
	}
}

// execProtocol runs a statement as queryProtocol does and returns the OK packet's insert id
// and rows affected as one tab-joined row.
func execProtocol(db *sql.DB, proto, query string, args ...any) ([]string, error) {
	var res sql.Result
	var err error
	if proto == "binary" {
		stmt, perr := db.Prepare(query)
		if perr != nil {
			return nil, perr
		}
		defer stmt.Close()
		res, err = stmt.Exec(args...)
	} else {
		res, err = db.Exec(query, args...)
	}
	if err != nil {
		return nil, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("%d\t%d", id, n)}, nil
}

// queryProtocol runs query through the text protocol (db.Query: parameters interpolated by the
// driver) or the binary protocol (a prepared statement) and returns its rows as tab-joined
// strings, NULL as "NULL".
func queryProtocol(db *sql.DB, proto, query string, args ...any) ([]string, error) {
	var rows *sql.Rows
	var err error
	if proto == "binary" {
		stmt, perr := db.Prepare(query)
		if perr != nil {
			return nil, perr
		}
		defer stmt.Close()
		rows, err = stmt.Query(args...)
	} else {
		rows, err = db.Query(query, args...)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		fields := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				fields[i] = "NULL"
			} else {
				fields[i] = string(v)
			}
		}
		out = append(out, strings.Join(fields, "\t"))
	}
	return out, rows.Err()
}

// TestManyPlaceholders: a prepared statement with tens of thousands of placeholders runs, and
// one with too many is refused with 1390 instead of breaking the connection.
func TestManyPlaceholders(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE ph")
	mustExec(t, db, "CREATE TABLE ph.t (a int, b int, c int, d int)")
	insert := func(rows int) error {
		args := make([]any, rows*4)
		for i := range args {
			args[i] = i
		}
		_, err := db.Exec("INSERT INTO ph.t VALUES "+strings.TrimSuffix(strings.Repeat("(?,?,?,?),", rows), ","), args...)
		return err
	}
	if err := insert(16382); err != nil { // 65,528 placeholders
		t.Fatalf("65,528 placeholders: %v", err)
	}
	for _, rows := range []int{16384, 16385} { // 65,536 and 65,540: more than vitess can count
		if err := insert(rows); mysqlErrorNumber(err) != 1390 {
			t.Errorf("%d placeholders: %v, want error 1390", rows*4, err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM ph.t").Scan(&n); err != nil || n != 16382 {
		t.Fatalf("rows: %d, %v", n, err)
	}
}

// TestZeroDatesParseTime: with go-sql-driver's parseTime, zero dates read as the zero
// time.Time through both protocols (the binary protocol gave -0001-11-30).
func TestZeroDatesParseTime(t *testing.T) {
	srv := StartServer(t)
	db := openDB(t, srv.DSN("")+"&parseTime=true")
	mustExec(t, db, "CREATE DATABASE zd")
	mustExec(t, db, "CREATE TABLE zd.t (id int PRIMARY KEY, d date, dt datetime, dt6 datetime(6), ts timestamp NULL)")
	mustExec(t, db, "INSERT INTO zd.t VALUES (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'), (2, '2024-02-29', '2024-02-29 10:11:12', '2024-02-29 10:11:12.5', NULL)")
	stmt, err := db.Prepare("SELECT d, dt, dt6, ts FROM zd.t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for _, proto := range []string{"text", "binary"} {
		var d, dt, dt6 time.Time
		var ts sql.NullTime
		var err error
		if proto == "binary" {
			err = stmt.QueryRow(1).Scan(&d, &dt, &dt6, &ts)
		} else {
			err = db.QueryRow("SELECT d, dt, dt6, ts FROM zd.t WHERE id = 1").Scan(&d, &dt, &dt6, &ts)
		}
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if !d.IsZero() || !dt.IsZero() || !dt6.IsZero() || !ts.Valid || !ts.Time.IsZero() {
			t.Errorf("%s: zero dates read %v %v %v %v", proto, d, dt, dt6, ts)
		}
		if err := stmt.QueryRow(2).Scan(&d, &dt, &dt6, &ts); err != nil || d.Format("2006-01-02") != "2024-02-29" ||
			dt.Format(time.DateTime) != "2024-02-29 10:11:12" || dt6.Nanosecond() != 500000000 || ts.Valid {
			t.Errorf("%s: dates read %v %v %v %v, %v", proto, d, dt, dt6, ts, err)
		}
	}
}

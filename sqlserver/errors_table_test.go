package sqlserver

import (
	"errors"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	gomysql "github.com/go-sql-driver/mysql"
)

// TestTableNotFoundError: GMS's "table not found: t" becomes MySQL's 1146 or 1051 with the
// database in the name and SQLSTATE 42S02.
func TestTableNotFoundError(t *testing.T) {
	for _, tc := range []struct {
		name, db, query string
		err             error
		code            int
		text            string
	}{
		{"select, current db", "d", "SELECT * FROM nosuch", sql.ErrTableNotFound.New("nosuch"), 1146, "Table 'd.nosuch' doesn't exist"},
		{"select, qualified", "", "select * from shop.nosuch", sql.ErrTableNotFound.New("nosuch"), 1146, "Table 'shop.nosuch' doesn't exist"},
		{"quoted qualifier", "d", "INSERT INTO `my db` . `nosuch` VALUES (1)", sql.ErrTableNotFound.New("nosuch"), 1146, "Table 'my db.nosuch' doesn't exist"},
		{"cast by GMS first", "d", "DESCRIBE nosuch", sql.CastSQLError(sql.ErrTableNotFound.New("nosuch")), 1146, "Table 'd.nosuch' doesn't exist"},
		{"qualifier of another name is not used", "d", "SELECT * FROM x.nosuch2 JOIN nosuch", sql.ErrTableNotFound.New("nosuch"), 1146, "Table 'd.nosuch' doesn't exist"},
		{"drop table", "d", "DROP TABLE nosuch", sql.ErrTableNotFound.New("nosuch"), 1051, "Unknown table 'd.nosuch'"},
		{"drop table, comment first", "d", "/* m */ drop  table d2.nosuch", sql.ErrTableNotFound.New("nosuch"), 1051, "Unknown table 'd2.nosuch'"},
		{"no database", "", "SELECT * FROM nosuch", sql.ErrTableNotFound.New("nosuch"), 1146, "Table 'nosuch' doesn't exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var se *mysql.SQLError
			if !errors.As(mapError(tableNotFoundError(tc.err, tc.db, tc.query, nil), tc.query), &se) {
				t.Fatal("no *mysql.SQLError")
			}
			if se.Num != tc.code || se.State != stateNoSuchTable || se.Message != tc.text {
				t.Fatalf("got %d (%s) %q, want %d (42S02) %q", se.Num, se.State, se.Message, tc.code, tc.text)
			}
		})
	}
	other := errors.New("other")
	if got := tableNotFoundError(other, "d", "SELECT 1", nil); got != other {
		t.Fatalf("another error changed: %v", got)
	}
}

// TestUnknownTableOverTheWire: what a client sees for a missing table, view or database.
func TestUnknownTableOverTheWire(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	for _, q := range []string{"CREATE DATABASE ut", "CREATE TABLE ut.t (a INT)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query, state, text string
		code               int
	}{
		{"SELECT * FROM nosuch", "3D000", "No database selected", 1046},
		{"SELECT * FROM ut.nosuch", "42S02", "Table 'ut.nosuch' doesn't exist", 1146},
		{"INSERT INTO ut.nosuch VALUES (1)", "42S02", "Table 'ut.nosuch' doesn't exist", 1146},
		{"DROP TABLE ut.nosuch", "42S02", "Unknown table 'ut.nosuch'", 1051},
		// every missing table, in order; nothing is dropped (ut.t is still there below)
		{"DROP TABLE ut.t, ut.nosuch, ut.other", "42S02", "Unknown table 'ut.nosuch,ut.other'", 1051},
		{"DROP TABLE ut.nosuch2, ut.t", "42S02", "Unknown table 'ut.nosuch2'", 1051},
		{"DROP VIEW ut.nosuch", "42S02", "Unknown table 'ut.nosuch'", 1051},
		{"SHOW CREATE TABLE ut.nosuch", "42S02", "Table 'ut.nosuch' doesn't exist", 1146},
	} {
		_, err := db.Exec(tc.query)
		var me *gomysql.MySQLError
		if !errors.As(err, &me) || int(me.Number) != tc.code || string(me.SQLState[:]) != tc.state || me.Message != tc.text {
			t.Errorf("%s: %v, want %d (%s) %s", tc.query, err, tc.code, tc.state, tc.text)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM ut.t").Scan(&n); err != nil {
		t.Fatalf("server stopped serving: %v", err)
	}
}

package sqlserver

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

func TestMapError(t *testing.T) {
	gms := func(msg string) error {
		return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "%s", msg)
	}
	for _, tc := range []struct {
		name  string
		err   error
		query string
		code  int
		state string
		msg   string
	}{
		{"syntax: near the token to the end", gms("syntax error at position 6 near 'SELEC'"), "SELEC 1", 1064, "42000",
			"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC 1' at line 1"},
		{"syntax: line of the token", gms("syntax error at position 22 near 'WHERE'"), "SELECT 1\nFROM dual WHERE", 1064, "42000",
			"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'WHERE' at line 2"},
		{"syntax: premature end", gms("syntax error at position 14"), "SELECT * FROM", 1064, "42000",
			"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '' at line 1"},
		{"syntax: no query", gms("syntax error at position 8 near 'INSTALL'"), "", 1064, "42000",
			"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'INSTALL' at line 1"},
		{"syntax: long tail cut at 80", gms("syntax error at position 6 near 'SELEC'"), "SELEC " + fmt.Sprintf("%0100d", 0), 1064, "42000",
			"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC " + fmt.Sprintf("%074d", 0) + "' at line 1"},
		{"unknown variable", gms("Unknown system variable 'nope'"), "", 1193, "HY000", "Unknown system variable 'nope'"},
		{"row size too large", gms("invalid table spec: expected size < 65535, found 65539"), "", 1118, "42000",
			"Row size too large. The maximum row size for the used table type, not counting BLOBs, is 65535. This includes storage overhead, check the manual. You have to change some columns to TEXT or BLOBs"},
		{"unknown table", gms("Unknown table 't'"), "DROP TEMPORARY TABLE t", 1051, "42S02", "Unknown table 't'"},
		{"unknown variable, @@ form", gms("Unknown system variable '@@nope'"), "", 1193, "HY000", "Unknown system variable 'nope'"},
		{"unknown variable, with its scope", gms("Unknown system variable 'GLOBAL.nope'"), "", 1193, "HY000", "Unknown system variable 'nope'"},
		{"unknown variable, session scope", gms("Unknown system variable 'session.nope'"), "", 1193, "HY000", "Unknown system variable 'nope'"},
		{"wrong value", gms("Variable 'autocommit' can't be set to the value of 'maybe'"), "", 1231, "42000", "Variable 'autocommit' can't be set to the value of 'maybe'"},
		{"wrong value: integer out of range", gms("Variable 'max_connections' can't be set to the value of '0'"), "", 1231, "42000", "Variable 'max_connections' can't be set to the value of '0'"},
		{"wrong type: text for an integer", gms("Variable 'max_connections' can't be set to the value of 'abc'"), "", 1232, "42000", "Incorrect argument type to variable 'max_connections'"},
		{"wrong type: fraction for an integer", gms("Variable 'max_connections' can't be set to the value of '1.5'"), "", 1232, "42000", "Incorrect argument type to variable 'max_connections'"},
		{"wrong type: fraction for a boolean", gms("Variable 'autocommit' can't be set to the value of '0.5'"), "", 1232, "42000", "Incorrect argument type to variable 'autocommit'"},
		{"global-only", gms("Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL"), "SET SESSION max_connections = 1", 1229, "HY000", "Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL"},
		{"global-only, SET after a comment", gms("Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL"), "/* x */ set @@session.max_connections = 1", 1229, "HY000", "Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL"},
		{"global-only, read as session", gms("Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL"), "SELECT @@session.max_connections", 1238, "HY000", "Variable 'max_connections' is a GLOBAL variable"},
		{"session-only", gms("Variable 'warning_count' is a SESSION variable and can't be used with SET GLOBAL"), "", 1228, "HY000", "Variable 'warning_count' is a SESSION variable and can't be used with SET GLOBAL"},
		{"read-only", gms("Variable 'version' is a read only variable"), "", 1238, "HY000", "Variable 'version' is a read only variable"},
		{"access denied", gms("Access denied for user 'bob'"), "", 1045, "28000", "Access denied for user 'bob'"},
		{"database access denied", gms("Access denied for user 'u'@'%' to database 'd'"), "", 1044, "42000", "Access denied for user 'u'@'%' to database 'd'"},
		{"table access denied", gms("Access denied for user 'u'@'%' to table 't'"), "", 1142, "42000", "SELECT command denied to user 'u'@'%' for table 't'"},
		{"command denied", gms("command denied to user 'u'@'%'"), "", 1227, "42000", "Access denied; you need (at least one of) the required privilege(s) for this operation"},
		{"account exists", gms("Operation CREATE USER failed for 'u'@'%'"), "CREATE USER u", 1396, "HY000", "Operation CREATE USER failed for 'u'@'%'"},
		{"account unknown", gms("Operation DROP USER failed for 'u'@'h'"), "DROP USER u@h", 1396, "HY000", "Operation DROP USER failed for 'u'@'h'"},
		{"no such grant", gms("There is no such grant defined for user 'u' on host '%'"), "SHOW GRANTS FOR u", 1141, "42000", "There is no such grant defined for user 'u' on host '%'"},
		{"lock wait", gms("Lock wait timeout exceeded; try restarting transaction"), "", 1205, "HY000", "Lock wait timeout exceeded; try restarting transaction"},
		{"unknown database", mysql.NewSQLError(1049, "HY000", "database not found: shop"), "USE shop", 1049, "42000", "Unknown database 'shop'"},
		{"unknown collation", gms("Unknown collation: nope"), "SET NAMES utf8mb4 COLLATE nope", 1273, "HY000", "Unknown collation: 'nope'"},
		{"value for a generated column", gms(`The value specified for generated column "b" in table "g" is not allowed.`), "INSERT INTO g VALUES (1, 2)", 3105, "HY000",
			"The value specified for generated column 'b' in table 'g' is not allowed."},
		{"duplicate entry: state corrected", mysql.NewSQLError(1062, "HY000", "Duplicate entry '1' for key 't.PRIMARY'"), "", 1062, "23000", "Duplicate entry '1' for key 't.PRIMARY'"},
		{"duplicate primary key", mysql.NewSQLError(1062, "HY000", "duplicate primary key given: [1]"), "INSERT INTO d.t VALUES (1)", 1062, "23000", "Duplicate entry '1' for key 't.PRIMARY'"},
		{"duplicate primary key: quoted names, composite", mysql.NewSQLError(1062, "HY000", "duplicate primary key given: [1,a]"), "insert ignore into `my db`.`my t` values (1,'a')", 1062, "23000", "Duplicate entry '1-a' for key 'my t.PRIMARY'"},
		{"duplicate primary key: update", mysql.NewSQLError(1062, "HY000", "duplicate primary key given: [2]"), "UPDATE t SET id = 2", 1062, "23000", "Duplicate entry '2' for key 't.PRIMARY'"},
		{"duplicate primary key: table unknown", mysql.NewSQLError(1062, "HY000", "duplicate primary key given: [2]"), "", 1062, "23000", "Duplicate entry '2' for key 'PRIMARY'"},
		{"duplicate unique key", mysql.NewSQLError(1062, "HY000", "duplicate unique key given: [5]"), "INSERT INTO t VALUES (2, 5)", 1062, "23000", "Duplicate entry '5' for a unique key of table 't'"},
		{"panic in a GMS goroutine", gms("panic recovered: boom\ngoroutine 1 [running]:\nmain.main()"), "", 1105, "HY000", "internal error: boom"},
		{"specific code passes through", mysql.NewSQLError(1146, "42S02", "table not found: x"), "", 1146, "42S02", "table not found: x"},
		{"unknown 1105 stays", gms("something odd"), "", 1105, "HY000", "something odd"},
		{"plain Go error becomes 1105", errors.New("plain"), "", 1105, "HY000", "plain"},
		{"GMS error kind is cast first", sql.ErrUnknownSystemVariable.New("x"), "", 1193, "HY000", "Unknown system variable 'x'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var se *mysql.SQLError
			if !errors.As(mapError(tc.err, tc.query), &se) {
				t.Fatalf("mapError returned no *mysql.SQLError")
			}
			if se.Num != tc.code || se.State != tc.state || se.Message != tc.msg {
				t.Errorf("got %d/%s %q\nwant %d/%s %q", se.Num, se.State, se.Message, tc.code, tc.state, tc.msg)
			}
		})
	}
	if mapError(nil, "") != nil {
		t.Errorf("mapError(nil) is not nil")
	}
}

func TestAccessDenied(t *testing.T) {
	for _, tc := range []struct {
		auth ast.AuthInformation
		code int
		msg  string
	}{
		{ast.AuthInformation{AuthType: ast.AuthType_INSERT, TargetType: ast.AuthTargetType_SingleTableIdentifier, TargetNames: []string{"d", "t"}},
			1142, "INSERT command denied to user 'u'@'h' for table 't'"},
		{ast.AuthInformation{AuthType: ast.AuthType_REPLACE, TargetType: ast.AuthTargetType_MultipleTableIdentifiers, TargetNames: []string{"d", "t", "d", "u"}},
			1142, "INSERT command denied to user 'u'@'h' for table 't'"},
		{ast.AuthInformation{AuthType: ast.AuthType_CREATE_VIEW, TargetType: ast.AuthTargetType_SingleTableIdentifier, TargetNames: []string{"d", "v"}},
			1142, "CREATE VIEW command denied to user 'u'@'h' for table 'v'"},
		{ast.AuthInformation{AuthType: ast.AuthType_DROP, TargetType: ast.AuthTargetType_DatabaseIdentifiers, TargetNames: []string{"d"}},
			1044, "Access denied for user 'u'@'h' to database 'd'"},
		{ast.AuthInformation{AuthType: ast.AuthType_SUPER, TargetType: ast.AuthTargetType_Global},
			1227, "Access denied; you need (at least one of) the SUPER privilege(s) for this operation"},
		{ast.AuthInformation{AuthType: ast.AuthType_REPLICATION_CLIENT, TargetType: ast.AuthTargetType_Global},
			1227, "Access denied; you need (at least one of) the REPLICATION CLIENT privilege(s) for this operation"},
		{ast.AuthInformation{AuthType: ast.AuthType_REPLICATION, TargetType: ast.AuthTargetType_Global},
			1227, "Access denied; you need (at least one of) the SUPER or REPLICATION_SLAVE_ADMIN privilege(s) for this operation"},
	} {
		var se *mysql.SQLError
		if !errors.As(accessDenied("'u'@'h'", tc.auth), &se) || se.Num != tc.code || se.State != "42000" || se.Message != tc.msg {
			t.Errorf("%+v: got %v, want %d %q", tc.auth, se, tc.code, tc.msg)
		}
	}
}

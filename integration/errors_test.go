package integration

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// TestErrorCodes checks that each failure reaches the client with MySQL's error number, as
// go-sql-driver's *mysql.MySQLError, for one statement per code.
func TestErrorCodes(t *testing.T) {
	srv := StartServer(t)
	root := srv.DB(t, "")
	root.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE DATABASE errs",
		"CREATE TABLE errs.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO errs.t VALUES (1, 10)",
		"CREATE USER 'reader'@'localhost' IDENTIFIED BY 'pw'",
		"GRANT SELECT ON errs.* TO 'reader'@'localhost'",
	} {
		mustExec(t, root, q)
	}
	reader := openDB(t, srv.UserDSN("reader", "pw", "errs"))

	for _, tc := range []struct {
		name  string
		db    *sql.DB
		query string
		code  uint16
		text  string // a part of the message MySQL sends
	}{
		{"syntax", root, "SELEC 1", 1064, "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC 1' at line 1"},
		{"unknown system variable", root, "SET @@no_such_variable = 1", 1193, "Unknown system variable 'no_such_variable'"},
		{"wrong value", root, "SET autocommit = 'maybe'", 1231, "Variable 'autocommit' can't be set to the value of 'maybe'"},
		{"wrong type", root, "SET GLOBAL max_connections = 'many'", 1232, "Incorrect argument type to variable 'max_connections'"},
		{"global-only", root, "SET SESSION max_connections = 10", 1229, "Variable 'max_connections' is a GLOBAL variable and should be set with SET GLOBAL"},
		{"read-only", root, "SET GLOBAL version = '9.9'", 1238, "Variable 'version' is a read only variable"},
		{"privilege needed", reader, "SET GLOBAL max_connections = 10", 1227, "Access denied; you need (at least one of) the SUPER or SYSTEM_VARIABLES_ADMIN privilege(s) for this operation"},
		{"table access denied", reader, "INSERT INTO t VALUES (2, 20)", 1142, "INSERT command denied to user 'reader'@'localhost' for table 't'"},
		{"duplicate key", root, "INSERT INTO errs.t VALUES (1, 11)", 1062, "Duplicate entry '1' for key 't.PRIMARY'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.db.Exec(tc.query)
			if got := mysqlErrorNumber(err); got != tc.code {
				t.Fatalf("%s: got error %v (number %d), want %d", tc.query, err, got, tc.code)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s: message %q does not contain %q", tc.query, err.Error(), tc.text)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		err := openDB(t, srv.UserDSN("root", "not-the-password", "")).Ping()
		if got := mysqlErrorNumber(err); got != 1045 {
			t.Fatalf("ping with a wrong password: got %v (number %d), want 1045", err, got)
		}
	})

	t.Run("server keeps serving", func(t *testing.T) {
		var n int
		if err := root.QueryRow("SELECT COUNT(*) FROM errs.t").Scan(&n); err != nil || n != 1 {
			t.Fatalf("after the errors: count = %d, %v; want 1, nil", n, err)
		}
	})
}

// TestLockWaitTimeout: a row locked by an open transaction makes another session's write wait
// innodb_lock_wait_timeout seconds, then fail with 1205; the holder's transaction is unaffected.
func TestLockWaitTimeout(t *testing.T) {
	srv := StartServer(t)
	setup := srv.DB(t, "")
	mustExec(t, setup, "CREATE DATABASE locks")
	mustExec(t, setup, "CREATE TABLE locks.t (id INT PRIMARY KEY, v INT)")
	mustExec(t, setup, "INSERT INTO locks.t VALUES (1, 0)")

	holder, waiter := srv.Conn(t), srv.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, q := range []string{"BEGIN", "UPDATE locks.t SET v = v + 1 WHERE id = 1"} {
		if _, err := holder.ExecContext(ctx, q); err != nil {
			t.Fatalf("holder: %s: %v", q, err)
		}
	}
	if _, err := waiter.ExecContext(ctx, "SET innodb_lock_wait_timeout = 1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := waiter.ExecContext(ctx, "UPDATE locks.t SET v = v + 10 WHERE id = 1")
	waited := time.Since(start)
	if got := mysqlErrorNumber(err); got != 1205 {
		t.Fatalf("second writer: got %v (number %d) after %v, want 1205", err, got, waited)
	}
	if !strings.Contains(err.Error(), "Lock wait timeout exceeded; try restarting transaction") {
		t.Errorf("message %q is not MySQL's", err.Error())
	}
	if waited < 900*time.Millisecond {
		t.Errorf("failed after %v, before innodb_lock_wait_timeout=1s", waited)
	}
	if _, err := holder.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatalf("holder COMMIT: %v", err)
	}
	var v int
	if err := setup.QueryRow("SELECT v FROM locks.t WHERE id = 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("v = %d, %v; want 1 (the holder's update only)", v, err)
	}
}

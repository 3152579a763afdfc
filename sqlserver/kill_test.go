package sqlserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKillQuery: KILL QUERY stops a running statement, whose client gets MySQL's 1317, and the
// connection keeps serving.
func TestKillQuery(t *testing.T) {
	s, _ := startServer(t, Config{})
	db, admin := open(t, dsn(s, "root", "")), open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	var id int64
	if err := db.QueryRow("SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var n int64
		done <- db.QueryRow("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 1000000000) SELECT COUNT(*) FROM r").Scan(&n)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !processListHas(t, admin, "WITH RECURSIVE") {
		if ctx.Err() != nil {
			t.Fatal("the statement never showed in the process list")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := admin.Exec("KILL QUERY " + strconv.FormatInt(id, 10)); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("KILL QUERY did not stop the statement")
	}
	if errNumber(err) != 1317 || !strings.Contains(err.Error(), "Query execution was interrupted") {
		t.Fatalf("killed statement: %v, want 1317 Query execution was interrupted", err)
	}
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection after KILL QUERY: %v", err)
	}
}

// TestKillOwnership: KILL of another account's thread needs SUPER or CONNECTION_ADMIN (1095
// "You are not owner of thread N"); an account kills its own threads; an unknown id is 1094.
func TestKillOwnership(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	root.SetMaxOpenConns(1)
	for _, q := range []string{"CREATE USER 'u'@'%' IDENTIFIED BY 'pw'"} {
		if _, err := root.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	u := open(t, dsn(s, "u", "pw"))
	u.SetMaxOpenConns(1)
	var rootID, uID int64
	if err := root.QueryRow("SELECT CONNECTION_ID()").Scan(&rootID); err != nil {
		t.Fatal(err)
	}
	if err := u.QueryRow("SELECT CONNECTION_ID()").Scan(&uID); err != nil {
		t.Fatal(err)
	}
	_, err := u.Exec("KILL " + strconv.FormatInt(rootID, 10))
	if errNumber(err) != 1095 || !strings.Contains(err.Error(), "You are not owner of thread "+strconv.FormatInt(rootID, 10)) {
		t.Fatalf("KILL of root's thread by u: %v, want 1095", err)
	}
	if _, err := u.Exec("KILL QUERY 999999"); errNumber(err) != 1094 || !strings.Contains(err.Error(), "Unknown thread id: 999999") {
		t.Fatalf("KILL of an unknown thread: %v, want 1094", err)
	}
	var one int
	if err := root.QueryRow("SELECT 1").Scan(&one); err != nil {
		t.Fatalf("root's connection after the refused KILL: %v", err)
	}
	// u may kill another of its own connections, and root may kill u's connection.
	u2 := open(t, dsn(s, "u", "pw"))
	u2.SetMaxOpenConns(1)
	var u2ID int64
	if err := u2.QueryRow("SELECT CONNECTION_ID()").Scan(&u2ID); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Exec("KILL " + strconv.FormatInt(u2ID, 10)); err != nil {
		t.Fatalf("KILL of its own other connection: %v", err)
	}
	if _, err := root.Exec("KILL " + strconv.FormatInt(uID, 10)); err != nil {
		t.Fatalf("root's KILL of u's thread: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !func() bool {
		var n int
		return root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", uID).Scan(&n) == nil && n == 0
	}() {
		if ctx.Err() != nil {
			t.Fatal("u's connection is still in the process list after KILL")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShowOwnGrants: an account with no privileges sees its own grants (SHOW GRANTS, FOR
// CURRENT_USER and CURRENT_USER(), and FOR its own name written out, any host, as MySQL 8.0
// compares the user name only); another account's grants need SELECT on mysql.user (1142 for
// table 'user'), which a grant of it allows.
func TestShowOwnGrants(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	if _, err := root.Exec("CREATE USER 'nopriv'@'%' IDENTIFIED BY 'pw'"); err != nil {
		t.Fatal(err)
	}
	u := open(t, dsn(s, "nopriv", "pw"))
	for _, q := range []string{"SHOW GRANTS", "SHOW GRANTS FOR CURRENT_USER", "SHOW GRANTS FOR CURRENT_USER()",
		"SHOW GRANTS FOR 'nopriv'@'%'", "SHOW GRANTS FOR nopriv"} {
		var g string
		if err := u.QueryRow(q).Scan(&g); err != nil || g != "GRANT USAGE ON *.* TO `nopriv`@`%`" {
			t.Fatalf("%s: %q, %v", q, g, err)
		}
	}
	var g string
	err := u.QueryRow("SHOW GRANTS FOR root@localhost").Scan(&g)
	if errNumber(err) != 1142 || !strings.Contains(err.Error(), "SELECT command denied to user 'nopriv'@") ||
		!strings.HasSuffix(err.Error(), "for table 'user'") {
		t.Fatalf("another account's grants: %q, %v; want 1142 SELECT command denied … for table 'user'", g, err)
	}
	if _, err := root.Exec("GRANT SELECT ON mysql.user TO 'nopriv'@'%'"); err != nil {
		t.Fatal(err)
	}
	if err := u.QueryRow("SHOW GRANTS FOR root@localhost").Scan(&g); err != nil || !strings.Contains(g, "`root`@`localhost`") {
		t.Fatalf("another account's grants with SELECT on mysql.user: %q, %v", g, err)
	}
}

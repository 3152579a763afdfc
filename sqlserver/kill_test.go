package sqlserver

import (
	"context"
	gosql "database/sql"
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
		select {
		case err := <-done:
			t.Fatalf("the statement ended (%v) before it was seen running", err)
		default:
		}
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

// TestKillStopsEvaluation: KILL QUERY stops a statement wherever its time goes (a sleep,
// BENCHMARK's loop, a billion-row cross join, a recursive CTE): its client gets 1317 and the
// connection keeps serving. KILL (CONNECTION) stops it too and closes the connection: the
// killed client's next command fails.
func TestKillStopsEvaluation(t *testing.T) {
	s, _ := startServer(t, Config{})
	admin := open(t, dsn(s, "root", ""))
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.t (a INT PRIMARY KEY)"} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var ins strings.Builder
	ins.WriteString("INSERT INTO d.t VALUES (0)")
	for i := 1; i < 1000; i++ {
		ins.WriteString(",(" + strconv.Itoa(i) + ")")
	}
	if _, err := admin.Exec(ins.String()); err != nil {
		t.Fatal(err)
	}
	// A recursion that never ends stops at GMS's limit with MySQL's 3636.
	var n int64
	err := admin.QueryRow("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT COUNT(*) FROM r").Scan(&n)
	if errNumber(err) != 3636 || !strings.Contains(err.Error(), "Recursive query aborted after 10001 iterations.") {
		t.Fatalf("an endless recursive CTE: %v, want 3636", err)
	}
	statements := []struct{ name, query, marker string }{
		{"sleep", "SELECT SLEEP(100) AS kill_sleep", "kill_sleep"},
		{"benchmark", "SELECT BENCHMARK(10000000000, MD5('a')) AS kill_bench", "kill_bench"},
		{"cross join", "SELECT COUNT(*) AS kill_join FROM d.t a, d.t b, d.t c", "kill_join"},
		// Each of 9,999 iterations hashes 100,000 times (GMS stops a recursion at 10,001).
		{"recursive CTE", "WITH RECURSIVE kill_cte(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM kill_cte WHERE n < 9999 AND BENCHMARK(100000, MD5(n)) = 0) SELECT COUNT(*) FROM kill_cte", "kill_cte"},
	}
	ctx := context.Background()
	for _, st := range statements {
		for _, query := range []bool{true, false} {
			name := st.name + ", KILL"
			if query {
				name += " QUERY"
			}
			t.Run(name, func(t *testing.T) {
				c, err := open(t, dsn(s, "root", "")).Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				var id int64
				if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					var v interface{}
					done <- c.QueryRowContext(ctx, st.query).Scan(&v)
				}()
				wait, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				for !processListHas(t, admin, st.marker) {
					if wait.Err() != nil {
						t.Fatal("the statement never showed in the process list")
					}
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond) // past planning, into evaluation
				kill := "KILL "
				if query {
					kill = "KILL QUERY "
				}
				if _, err := admin.Exec(kill + strconv.FormatInt(id, 10)); err != nil {
					t.Fatal(err)
				}
				select {
				case err = <-done:
				case <-wait.Done():
					t.Fatalf("%s did not stop the statement", kill)
				}
				var one int
				next := c.QueryRowContext(ctx, "SELECT 1").Scan(&one)
				if query {
					if errNumber(err) != 1317 || !strings.Contains(err.Error(), "Query execution was interrupted") {
						t.Fatalf("killed statement: %v, want 1317", err)
					}
					if next != nil || one != 1 {
						t.Fatalf("the connection after KILL QUERY: %v", next)
					}
				} else {
					if err == nil {
						t.Fatal("the killed statement returned a result")
					}
					if next == nil {
						t.Fatal("the connection still serves after KILL")
					}
				}
			})
		}
	}
}

// TestBenchmarkFunction: BENCHMARK returns 0 after its loop, NULL for a NULL count, and NULL
// with warning 1411 for a negative one, as in MySQL.
func TestBenchmarkFunction(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	var v gosql.NullInt64
	if err := db.QueryRow("SELECT BENCHMARK(1000, MD5('a'))").Scan(&v); err != nil || !v.Valid || v.Int64 != 0 {
		t.Fatalf("BENCHMARK(1000, …): %v %v", v, err)
	}
	if err := db.QueryRow("SELECT BENCHMARK(NULL, 1)").Scan(&v); err != nil || v.Valid {
		t.Fatalf("BENCHMARK(NULL, 1): %v %v", v, err)
	}
	if err := db.QueryRow("SELECT BENCHMARK(-1, 1)").Scan(&v); err != nil || v.Valid {
		t.Fatalf("BENCHMARK(-1, 1): %v %v", v, err)
	}
	var level, msg string
	var code int
	if err := db.QueryRow("SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || code != 1411 || msg != "Incorrect count value: '-1' for function benchmark" {
		t.Fatalf("warning after BENCHMARK(-1, 1): %d %q %v", code, msg, err)
	}
}

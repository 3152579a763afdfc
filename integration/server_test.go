package integration

import (
	"context"
	"database/sql"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMySQLClient runs a script through the standard mysql command-line client in batch mode
// and checks its tab-separated output.
func TestMySQLClient(t *testing.T) {
	client := ""
	for _, name := range []string{"mariadb", "mysql"} {
		if p, err := exec.LookPath(name); err == nil {
			client = p
			break
		}
	}
	if client == "" {
		t.Skip("no mysql client: install the Debian package mariadb-client")
	}
	srv := StartServer(t)
	host, port, _ := net.SplitHostPort(srv.Addr)
	script := `
CREATE DATABASE shop;
USE shop;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(6,2));
INSERT INTO items VALUES (1, 'apple', 0.50), (2, 'pear', 1.25), (3, NULL, 2.00);
SELECT id, name, price FROM items ORDER BY id;
SELECT COUNT(*) AS n, SUM(price) AS total FROM items;
SELECT @@version LIKE '8.0.%' AS mysql8;
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, "-h", host, "-P", port, "-u", "root", "--protocol=TCP", "-B")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", client, err, out)
	}
	want := strings.Join([]string{
		"id\tname\tprice",
		"1\tapple\t0.50",
		"2\tpear\t1.25",
		"3\tNULL\t2.00",
		"n\ttotal",
		"3\t3.75",
		"mysql8",
		"1",
	}, "\n") + "\n"
	if string(out) != want {
		t.Fatalf("%s output:\n%s\nwant:\n%s", client, out, want)
	}
}

// TestSetGlobalVisibleToExistingSessions: SET GLOBAL of a global-only variable is seen at once
// by a session that was open before, through @@x, @@global.x and SHOW VARIABLES, as in MySQL.
func TestSetGlobalVisibleToExistingSessions(t *testing.T) {
	srv := StartServer(t)
	setter, observer := srv.Conn(t), srv.Conn(t)
	ctx := context.Background()

	// The observer's session exists, and has read the variables, before the change.
	if got := showVariable(t, observer, "max_connections"); got != "151" {
		t.Fatalf("max_connections before: %q, want the default 151", got)
	}
	for _, q := range []string{"SET GLOBAL max_connections = 200", "SET GLOBAL read_only = ON"} {
		if _, err := setter.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	for _, q := range []string{"SELECT @@max_connections", "SELECT @@global.max_connections"} {
		var v string
		if err := observer.QueryRowContext(ctx, q).Scan(&v); err != nil || v != "200" {
			t.Errorf("observer %s = %q, %v; want 200", q, v, err)
		}
	}
	var ro string
	if err := observer.QueryRowContext(ctx, "SELECT @@read_only").Scan(&ro); err != nil || ro != "1" {
		t.Errorf("observer @@read_only = %q, %v; want 1", ro, err)
	}
	if got := showVariable(t, observer, "max_connections"); got != "200" {
		t.Errorf("observer SHOW VARIABLES max_connections = %q, want 200", got)
	}
	if got := showVariable(t, observer, "read_only"); got != "ON" {
		t.Errorf("observer SHOW VARIABLES read_only = %q, want ON", got)
	}
	// A session-scoped variable stays per session.
	if _, err := setter.ExecContext(ctx, "SET SESSION sql_select_limit = 7"); err != nil {
		t.Fatal(err)
	}
	if got := showVariable(t, observer, "sql_select_limit"); got == "7" {
		t.Errorf("observer sees the setter's session value of sql_select_limit")
	}
}

// showVariable returns the Value column of SHOW VARIABLES LIKE 'name' in session c.
func showVariable(t *testing.T, c *sql.Conn, name string) string {
	t.Helper()
	var n, v string
	if err := c.QueryRowContext(context.Background(), "SHOW VARIABLES LIKE '"+name+"'").Scan(&n, &v); err != nil {
		t.Fatalf("SHOW VARIABLES LIKE '%s': %v", name, err)
	}
	return v
}

// TestGracefulShutdown: SIGTERM ends the server promptly with status 0 even with clients
// connected, one inside an open transaction and one running a long statement.
func TestGracefulShutdown(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE s")
	mustExec(t, db, "CREATE TABLE s.t (id INT PRIMARY KEY)")
	idle, inTx := srv.Conn(t), srv.Conn(t)
	ctx := context.Background()
	if err := idle.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"BEGIN", "INSERT INTO s.t VALUES (1)"} {
		if _, err := inTx.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	sleeping := make(chan error, 1)
	go func() {
		_, err := db.Exec("SELECT SLEEP(60)")
		sleeping <- err
	}()
	waitFor(t, 5*time.Second, "the SLEEP statement to run", func() bool {
		var n int
		err := db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(60)%'").Scan(&n)
		return err == nil && n == 1
	})

	start := time.Now()
	srv.Signal(t, syscall.SIGTERM)
	if err := srv.Wait(t, 5*time.Second); err != nil {
		t.Fatalf("exit status after SIGTERM: %v; log:\n%s", err, srv.Logs())
	}
	t.Logf("stopped in %v", time.Since(start))
	if !strings.Contains(srv.Logs(), "msg=stopped") {
		t.Errorf("no 'stopped' log line:\n%s", srv.Logs())
	}
	if err := idle.PingContext(ctx); err == nil {
		t.Errorf("a client connection still works after shutdown")
	}
	if err := <-sleeping; err == nil {
		t.Errorf("the long statement completed as if nothing happened")
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartKeepsServerUUID: the generated server UUID is stored in the data directory and
// reused by the next process; the port is new.
func TestRestartKeepsServerUUID(t *testing.T) {
	srv := StartServer(t)
	first := serverUUID(t, srv)
	stored, err := os.ReadFile(filepath.Join(srv.DataDir, "server-uuid"))
	if err != nil || strings.TrimSpace(string(stored)) != first {
		t.Fatalf("data dir server-uuid = %q, %v; want %q", stored, err, first)
	}
	srv = srv.Restart(t)
	if again := serverUUID(t, srv); again != first {
		t.Fatalf("server_uuid after restart = %q, want %q", again, first)
	}

	other := StartServer(t, WithArgs("--server-id", "7"))
	var id int
	if err := other.DB(t, "").QueryRow("SELECT @@server_id").Scan(&id); err != nil || id != 7 {
		t.Fatalf("@@server_id = %d, %v; want 7", id, err)
	}
	if u := serverUUID(t, other); u == first {
		t.Fatalf("two data directories share server_uuid %s", u)
	}
}

func serverUUID(t *testing.T, s *Server) string {
	t.Helper()
	var u string
	if err := s.DB(t, "").QueryRow("SELECT @@server_uuid").Scan(&u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestStartupFailure: a port in use makes semisyncd exit non-zero with a log line naming it.
func TestStartupFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--host", "127.0.0.1", "--port", port)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("semisyncd started on a port in use; output:\n%s", out)
	}
	if ctx.Err() != nil {
		t.Fatalf("semisyncd did not exit: %s", out)
	}
	if !strings.Contains(string(out), "cannot start the server") || !strings.Contains(string(out), "address already in use") {
		t.Errorf("log does not explain the failure:\n%s", out)
	}
}

// TestMySQLDefaultCollation: like MySQL 8.0 (and unlike GMS's default),
// the server's collation is utf8mb4_0900_ai_ci: new tables compare and
// enforce unique keys case-insensitively; an explicit COLLATE still holds,
// also after a restart.
func TestMySQLDefaultCollation(t *testing.T) {
	srv := StartServer(t, WithDataDir(t.TempDir()))
	db := srv.DB(t, "")
	var coll string
	if err := db.QueryRow("SELECT @@collation_server").Scan(&coll); err != nil || coll != "utf8mb4_0900_ai_ci" {
		t.Fatalf("@@collation_server = %q, %v", coll, err)
	}
	mustExec(t, db, "CREATE DATABASE co")
	mustExec(t, db, "CREATE TABLE co.ci (email VARCHAR(40) PRIMARY KEY)")
	mustExec(t, db, "CREATE TABLE co.cs (email VARCHAR(40) COLLATE utf8mb4_0900_bin PRIMARY KEY)")
	for _, tbl := range []string{"ci", "cs"} {
		mustExec(t, db, "INSERT INTO co."+tbl+" VALUES ('Ann@example.com')")
	}
	check := func(db *sql.DB) {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM co.ci WHERE email = 'ann@EXAMPLE.com'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("case-insensitive lookup found %d, %v", n, err)
		}
		if _, err := db.Exec("INSERT INTO co.ci VALUES ('ANN@example.com')"); mysqlErrorNumber(err) != 1062 {
			t.Fatalf("a key differing only in case: %v, want 1062", err)
		}
		if err := db.QueryRow("SELECT COUNT(*) FROM co.cs WHERE email = 'ann@EXAMPLE.com'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("explicit utf8mb4_0900_bin lookup found %d, %v", n, err)
		}
		var name, create string
		if err := db.QueryRow("SHOW CREATE TABLE co.ci").Scan(&name, &create); err != nil || !strings.Contains(create, "COLLATE=utf8mb4_0900_ai_ci") {
			t.Fatalf("SHOW CREATE TABLE: %s %v", create, err)
		}
	}
	check(db)
	srv.Stop(t)
	srv = srv.Restart(t)
	check(srv.DB(t, ""))
}

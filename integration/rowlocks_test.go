package integration

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Row-level locking over the wire (go-sql-driver against a real server).
// Waiting is shown by order, never by elapsed time: a statement that must
// not wait runs with innodb_lock_wait_timeout = 1000 and must finish while
// the other transaction is still open (a 60 s context only catches a hang);
// a statement that must wait is seen running in the process list while the
// holder is open, and ends only after the holder does.

// rowLockConns returns two sessions on a fresh table db.t (id PRIMARY KEY,
// n, code UNIQUE, a secondary index on n) holding rows 1..3, each session
// with innodb_lock_wait_timeout = 1000 and a transaction begun.
func rowLockConns(t *testing.T, srv *Server, db string) (a, b *sql.Conn, admin *sql.DB) {
	t.Helper()
	return lockConns(t, srv, db,
		"CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, n INT NOT NULL, code VARCHAR(10), KEY (n), UNIQUE KEY uc (code))",
		"INSERT INTO t VALUES (1, 0, 'a'), (2, 0, 'b'), (3, 0, 'c')")
}

// lockConns creates database db, runs setup in it and returns two sessions
// using it, each with innodb_lock_wait_timeout = 1000 and a transaction
// begun, and a pool for checks.
func lockConns(t *testing.T, srv *Server, db string, setup ...string) (a, b *sql.Conn, admin *sql.DB) {
	t.Helper()
	admin = srv.DB(t, "")
	mustExec(t, admin, "CREATE DATABASE "+db)
	c := srv.Conn(t)
	connExec(t, c, "USE "+db)
	for _, q := range setup {
		connExec(t, c, q)
	}
	a, b = srv.Conn(t), srv.Conn(t)
	for _, c := range []*sql.Conn{a, b} {
		connExec(t, c, "USE "+db)
		connExec(t, c, "SET innodb_lock_wait_timeout = 1000")
		connExec(t, c, "BEGIN")
	}
	return a, b, admin
}

func connExec(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// runAsync runs q on c in the background; the channel gets its error.
func runAsync(c *sql.Conn, q string) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_, err := c.ExecContext(ctx, q)
		done <- err
	}()
	return done
}

// waitRunning waits until the process list shows a statement containing
// marker still executing (bounded), then checks it has not returned.
func waitRunning(t *testing.T, admin *sql.DB, marker string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := admin.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE ?", "%"+marker+"%").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("%q returned (%v) instead of waiting", marker, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never seen running", marker)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("%q returned (%v) while the lock holder is open", marker, err)
	default:
	}
}

func tableRows(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]interface{}, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if v.Valid {
				parts = append(parts, v.String)
			} else {
				parts = append(parts, "NULL")
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}

// TestRowLocksDifferentRowsOverTheWire: two open transactions that each
// UPDATE, DELETE, INSERT or lock (FOR UPDATE / FOR SHARE) a different row
// of one table both proceed while the other is open, and both commits keep
// both changes.
func TestRowLocksDifferentRowsOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct{ name, a, b, want string }{
		{"update", "UPDATE t SET n = 10 WHERE id = 1", "UPDATE t SET n = 20 WHERE id = 2", "1 10 a; 2 20 b; 3 0 c"},
		{"delete", "DELETE FROM t WHERE id = 1", "DELETE FROM t WHERE id = 2", "3 0 c"},
		{"insert", "INSERT INTO t VALUES (4, 4, 'd')", "INSERT INTO t VALUES (5, 5, 'e')", "1 0 a; 2 0 b; 3 0 c; 4 4 d; 5 5 e"},
		{"insert auto_increment", "INSERT INTO t (n) VALUES (8)", "INSERT INTO t (n) VALUES (9)", "1 0 a; 2 0 b; 3 0 c; 4 8 NULL; 5 9 NULL"},
		{"select for update", "SELECT * FROM t WHERE id = 1 FOR UPDATE", "SELECT * FROM t WHERE id = 2 FOR UPDATE", "1 0 a; 2 0 b; 3 0 c"},
		{"update and lock in share mode", "UPDATE t SET code = 'z' WHERE id = 1", "SELECT * FROM t WHERE id = 2 LOCK IN SHARE MODE", "1 0 z; 2 0 b; 3 0 c"},
		{"update and for share", "UPDATE t SET code = 'y' WHERE id = 1", "SELECT * FROM t WHERE id = 2 FOR SHARE", "1 0 y; 2 0 b; 3 0 c"},
		{"update by secondary key", "UPDATE t SET n = 5 WHERE code = 'a'", "UPDATE t SET n = 6 WHERE code = 'b'", "1 5 a; 2 6 b; 3 0 c"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("rl_diff%d", i)
			a, b, admin := rowLockConns(t, srv, db)
			connExec(t, a, tc.a)
			// b's statement finishes while a's transaction is open.
			if err := <-runAsync(b, tc.b); err != nil {
				t.Fatalf("%s while the other transaction is open: %v", tc.b, err)
			}
			connExec(t, a, "COMMIT")
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, "SELECT id, n, code FROM "+db+".t ORDER BY id"); got != tc.want {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRowLocksSameRowOverTheWire: the same row waits; with
// innodb_lock_wait_timeout = 1 the waiter gets 1205 and only its statement
// is rolled back (innodb_rollback_on_timeout=OFF): its earlier change in
// the same transaction commits.
func TestRowLocksSameRowOverTheWire(t *testing.T) {
	srv := StartServer(t)
	a, b, admin := rowLockConns(t, srv, "rl_same")
	connExec(t, a, "UPDATE t SET n = 1 WHERE id = 1")
	connExec(t, b, "UPDATE t SET n = 2 WHERE id = 2")
	connExec(t, b, "SET innodb_lock_wait_timeout = 1")
	err := <-runAsync(b, "UPDATE t SET n = 3 WHERE id = 1")
	if got := mysqlErrorNumber(err); got != 1205 {
		t.Fatalf("same row: %v (number %d), want 1205", err, got)
	}
	connExec(t, b, "COMMIT")
	connExec(t, a, "COMMIT")
	if got := tableRows(t, admin, "SELECT id, n FROM rl_same.t ORDER BY id"); got != "1 1; 2 2; 3 0" {
		t.Fatalf("rows %q, want a's row 1 and b's row 2", got)
	}
}

// TestRowLocksDeadlockOverTheWire: a waits for b's row, b then asks for
// a's: b (closing the cycle) gets 1213 at once and its transaction is
// rolled back; a's wait ends and a commits.
func TestRowLocksDeadlockOverTheWire(t *testing.T) {
	srv := StartServer(t)
	a, b, admin := rowLockConns(t, srv, "rl_dead")
	connExec(t, a, "UPDATE t SET n = 1 WHERE id = 1")
	connExec(t, b, "UPDATE t SET n = 2 WHERE id = 2")
	aDone := runAsync(a, "UPDATE t SET n = 11 WHERE id = 2")
	waitRunning(t, admin, "SET n = 11 WHERE id = 2", aDone)
	err := <-runAsync(b, "UPDATE t SET n = 22 WHERE id = 1")
	if got := mysqlErrorNumber(err); got != 1213 {
		t.Fatalf("cycle: %v (number %d), want 1213", err, got)
	}
	if !strings.Contains(err.Error(), "Deadlock found when trying to get lock; try restarting transaction") {
		t.Errorf("message %q is not MySQL's", err.Error())
	}
	if err := <-aDone; err != nil {
		t.Fatalf("the survivor: %v", err)
	}
	connExec(t, a, "COMMIT")
	connExec(t, b, "COMMIT") // the victim's transaction is gone
	if got := tableRows(t, admin, "SELECT id, n FROM rl_dead.t ORDER BY id"); got != "1 1; 2 11; 3 0" {
		t.Fatalf("rows %q, want a's changes only", got)
	}
}

// TestRowLocksNowaitSkipLockedOverTheWire: with row 2 locked, FOR UPDATE
// NOWAIT on it fails with 3572 (waiting would take innodb_lock_wait_timeout
// = 1000 s), and FOR UPDATE SKIP LOCKED returns the other rows.
func TestRowLocksNowaitSkipLockedOverTheWire(t *testing.T) {
	srv := StartServer(t)
	a, b, _ := rowLockConns(t, srv, "rl_nowait")
	connExec(t, a, "SELECT * FROM t WHERE id = 2 FOR UPDATE")
	err := <-runAsync(b, "SELECT * FROM t WHERE id = 2 FOR UPDATE NOWAIT")
	if got := mysqlErrorNumber(err); got != 3572 {
		t.Fatalf("NOWAIT: %v (number %d), want 3572", err, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := b.QueryContext(ctx, "SELECT id FROM t ORDER BY id FOR UPDATE SKIP LOCKED")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if fmt.Sprint(ids) != "[1 3]" {
		t.Fatalf("SKIP LOCKED returned %v, want [1 3]", ids)
	}
	// FOR SHARE NOWAIT (MySQL 8.0's spelling; vitess parses only LOCK IN SHARE MODE) on a's
	// X-locked row fails at once too.
	if got := mysqlErrorNumber(<-runAsync(b, "SELECT * FROM t WHERE id = 2 FOR SHARE NOWAIT")); got != 3572 {
		t.Fatalf("FOR SHARE NOWAIT: number %d, want 3572", got)
	}
	// b now holds 1 and 3: a's NOWAIT on them fails too.
	if got := mysqlErrorNumber(<-runAsync(a, "SELECT * FROM t WHERE id = 3 FOR UPDATE NOWAIT")); got != 3572 {
		t.Fatalf("NOWAIT on a row SKIP LOCKED locked: number %d, want 3572", got)
	}
}

// TestRowLocksSameKeyInsertOverTheWire: inserting a primary or unique key
// another open transaction inserted waits for it; it then fails with 1062
// when that transaction commits and succeeds when it rolls back.
func TestRowLocksSameKeyInsertOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct{ key, end, second, want string }{
		{"primary", "COMMIT", "INSERT INTO t VALUES (7, 70, 'y')", "1 a; 2 b; 3 c; 7 x"},
		{"primary", "ROLLBACK", "INSERT INTO t VALUES (7, 70, 'y')", "1 a; 2 b; 3 c; 7 y"},
		{"unique", "COMMIT", "INSERT INTO t VALUES (8, 80, 'x')", "1 a; 2 b; 3 c; 7 x"},
		{"unique", "ROLLBACK", "INSERT INTO t VALUES (8, 80, 'x')", "1 a; 2 b; 3 c; 8 x"},
	}
	for i, tc := range cases {
		t.Run(tc.key+"/"+tc.end, func(t *testing.T) {
			db := fmt.Sprintf("rl_ins%d", i)
			a, b, admin := rowLockConns(t, srv, db)
			connExec(t, a, "INSERT INTO t VALUES (7, 7, 'x')")
			done := runAsync(b, tc.second)
			waitRunning(t, admin, tc.second, done)
			connExec(t, a, tc.end)
			err := <-done
			if tc.end == "COMMIT" {
				if got := mysqlErrorNumber(err); got != 1062 {
					t.Fatalf("after the other committed: %v (number %d), want 1062", err, got)
				}
			} else if err != nil {
				t.Fatalf("after the other rolled back: %v, want success", err)
			}
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, "SELECT id, code FROM "+db+".t ORDER BY id"); got != tc.want {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRowLocksForeignKeyOverTheWire: a foreign-key check locks the parent key
// as InnoDB's does. A child insert naming a parent another open transaction
// inserted or deleted waits for it and then sees its outcome (1452 when the
// parent is not there after all); a parent row that an open transaction's new
// child references cannot be deleted until that transaction ends (then 1451 if
// it committed). Parents are named by primary key and by a unique key.
func TestRowLocksForeignKeyOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct {
		name, first, end, second string
		want                     int // error number of second, 0 for success
		rows                     string
	}{
		{"insert parent pk", "INSERT INTO t VALUES (7, 7, 'x')", "COMMIT", "INSERT INTO c VALUES (1, 7, NULL)", 0, "1 7 NULL"},
		{"insert parent pk", "INSERT INTO t VALUES (7, 7, 'x')", "ROLLBACK", "INSERT INTO c VALUES (1, 7, NULL)", 1452, ""},
		{"insert parent unique", "INSERT INTO t VALUES (7, 7, 'x')", "COMMIT", "INSERT INTO c VALUES (1, NULL, 'x')", 0, "1 NULL x"},
		{"insert parent unique", "INSERT INTO t VALUES (7, 7, 'x')", "ROLLBACK", "INSERT INTO c VALUES (1, NULL, 'x')", 1452, ""},
		{"delete parent pk", "DELETE FROM t WHERE id = 2", "COMMIT", "INSERT INTO c VALUES (1, 2, NULL)", 1452, ""},
		{"delete parent pk", "DELETE FROM t WHERE id = 2", "ROLLBACK", "INSERT INTO c VALUES (1, 2, NULL)", 0, "1 2 NULL"},
		{"delete parent unique", "DELETE FROM t WHERE id = 2", "COMMIT", "INSERT INTO c VALUES (1, NULL, 'b')", 1452, ""},
		{"rekey parent unique", "UPDATE t SET code = 'z' WHERE id = 2", "ROLLBACK", "INSERT INTO c VALUES (1, NULL, 'b')", 0, "1 NULL b"},
		{"new child", "INSERT INTO c VALUES (1, 3, NULL)", "COMMIT", "DELETE FROM t WHERE id = 3", 1451, "1 3 NULL"},
		{"new child", "INSERT INTO c VALUES (1, 3, NULL)", "ROLLBACK", "DELETE FROM t WHERE id = 3", 0, ""},
		{"new child unique", "INSERT INTO c VALUES (1, NULL, 'c')", "COMMIT", "UPDATE t SET code = 'q' WHERE id = 3", 1451, "1 NULL c"},
	}
	for i, tc := range cases {
		t.Run(tc.name+"/"+tc.end, func(t *testing.T) {
			db := fmt.Sprintf("rl_fk%d", i)
			admin := srv.DB(t, "")
			mustExec(t, admin, "CREATE DATABASE "+db)
			mustExec(t, admin, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, n INT NOT NULL, code VARCHAR(10), UNIQUE KEY uc (code))")
			mustExec(t, admin, "INSERT INTO "+db+".t VALUES (1, 0, 'a'), (2, 0, 'b'), (3, 0, 'c')")
			mustExec(t, admin, "CREATE TABLE "+db+".c (id INT PRIMARY KEY, pid INT, pcode VARCHAR(10), FOREIGN KEY (pid) REFERENCES "+db+".t (id), FOREIGN KEY (pcode) REFERENCES "+db+".t (code))")
			a, b := srv.Conn(t), srv.Conn(t)
			for _, c := range []*sql.Conn{a, b} {
				connExec(t, c, "USE "+db)
				connExec(t, c, "SET innodb_lock_wait_timeout = 1000")
				connExec(t, c, "BEGIN")
			}
			connExec(t, a, tc.first)
			done := runAsync(b, tc.second)
			waitRunning(t, admin, tc.second, done)
			connExec(t, a, tc.end)
			err := <-done
			if got := mysqlErrorNumber(err); got != uint16(tc.want) || (tc.want == 0 && err != nil) {
				t.Fatalf("%s after the other's %s: %v (number %d), want %d", tc.second, tc.end, err, got, tc.want)
			}
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, "SELECT id, pid, pcode FROM "+db+".c ORDER BY id"); got != tc.rows {
				t.Fatalf("children %q, want %q", got, tc.rows)
			}
		})
	}
}

// TestRowLocksCommentedStatementsOverTheWire: a client's leading comment (ORMs and
// sqlcommenter prefix one) changes no lock a statement takes: a commented locking read locks
// its row, so another transaction's update of it waits and gets 1205.
func TestRowLocksCommentedStatementsOverTheWire(t *testing.T) {
	srv := StartServer(t)
	for i, lockStmt := range []string{
		"/* app:orders */ SELECT * FROM t WHERE id = 1 FOR UPDATE",
		"-- tool\n  SELECT * FROM t WHERE id = 1 FOR SHARE",
		"# job\nSELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a, b, _ := rowLockConns(t, srv, fmt.Sprintf("rl_comment%d", i))
			connExec(t, a, lockStmt)
			connExec(t, b, "SET innodb_lock_wait_timeout = 1")
			if got := mysqlErrorNumber(<-runAsync(b, "UPDATE t SET n = 3 WHERE id = 1")); got != 1205 {
				t.Fatalf("update of the row %q locked: number %d, want 1205", lockStmt, got)
			}
			connExec(t, a, "COMMIT")
			connExec(t, b, "COMMIT")
		})
	}
}

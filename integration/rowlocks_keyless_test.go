package integration

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Row locks on tables without a primary key: InnoDB locks such rows by their
// hidden row id, so different rows never wait on each other, the same row
// waits (1205 after innodb_lock_wait_timeout), a cycle is a deadlock (1213),
// and inserts, having no key to share, never conflict. A statement that must
// not wait runs with innodb_lock_wait_timeout = 1 and must succeed (a wait
// would give 1205).

// keylessSetup is a table without a primary key, with a secondary index on a
// (so a statement naming one value of a reads, and locks, only those rows) and
// two identical rows.
var keylessSetup = []string{
	"CREATE TABLE k (a INT NOT NULL, n INT, KEY ka (a))",
	"INSERT INTO k VALUES (1, 0), (2, 0), (3, 0), (4, 0), (4, 0)",
}

const keylessRows = "SELECT a, n FROM %s.k ORDER BY a, n"

// TestRowLocksKeylessDifferentRowsOverTheWire: two open transactions that
// each update, delete, insert or lock different rows of a keyless table both
// proceed, and both commits keep both changes. Inserts of identical rows do
// not conflict (no unique key), nor does an insert with the values of a row
// another transaction deletes, nor two shared locks on one row.
func TestRowLocksKeylessDifferentRowsOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct{ name, a, b, want string }{
		{"update", "UPDATE k SET n = 10 WHERE a = 1", "UPDATE k SET n = 20 WHERE a = 2", "1 10; 2 20; 3 0; 4 0; 4 0"},
		{"delete", "DELETE FROM k WHERE a = 1", "DELETE FROM k WHERE a = 2", "3 0; 4 0; 4 0"},
		{"identical inserts", "INSERT INTO k VALUES (5, 5)", "INSERT INTO k VALUES (5, 5)", "1 0; 2 0; 3 0; 4 0; 4 0; 5 5; 5 5"},
		{"insert and update of equal values", "INSERT INTO k VALUES (1, 0)", "UPDATE k SET n = 7 WHERE a = 1", "1 0; 1 7; 2 0; 3 0; 4 0; 4 0"},
		{"delete and insert of equal values", "DELETE FROM k WHERE a = 3", "INSERT INTO k VALUES (3, 0)", "1 0; 2 0; 3 0; 4 0; 4 0"},
		{"update and for update", "UPDATE k SET n = 9 WHERE a = 3", "SELECT * FROM k WHERE a = 2 FOR UPDATE", "1 0; 2 0; 3 9; 4 0; 4 0"},
		{"for share twice", "SELECT * FROM k WHERE a = 1 LOCK IN SHARE MODE", "SELECT * FROM k WHERE a = 1 FOR SHARE", "1 0; 2 0; 3 0; 4 0; 4 0"},
		{"update and delete", "UPDATE k SET n = 8 WHERE a = 2", "DELETE FROM k WHERE a = 1", "2 8; 3 0; 4 0; 4 0"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("kl_diff%d", i)
			a, b, admin := lockConns(t, srv, db, keylessSetup...)
			connExec(t, b, "SET innodb_lock_wait_timeout = 1")
			connExec(t, a, tc.a)
			if err := <-runAsync(b, tc.b); err != nil {
				t.Fatalf("%s while the other transaction is open: %v (number %d)", tc.b, err, mysqlErrorNumber(err))
			}
			connExec(t, a, "COMMIT")
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, fmt.Sprintf(keylessRows, db)); got != tc.want {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRowLocksKeylessSameRowOverTheWire: b's statement needs a row a locked
// and gets 1205 after innodb_lock_wait_timeout = 1; only that statement is
// rolled back (b's earlier change commits). A scan without a usable index
// reads, and so locks, every row, as InnoDB's does.
func TestRowLocksKeylessSameRowOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct{ name, a, b, want string }{
		{"update and update", "UPDATE k SET n = 1 WHERE a = 1", "UPDATE k SET n = 2 WHERE a = 1", "1 1; 2 0; 3 30; 4 0; 4 0"},
		{"update and delete", "UPDATE k SET n = 1 WHERE a = 1", "DELETE FROM k WHERE a = 1", "1 1; 2 0; 3 30; 4 0; 4 0"},
		{"delete and for update", "DELETE FROM k WHERE a = 1", "SELECT * FROM k WHERE a = 1 FOR UPDATE", "2 0; 3 30; 4 0; 4 0"},
		{"for update and update", "SELECT * FROM k WHERE a = 1 FOR UPDATE", "UPDATE k SET n = 2 WHERE a = 1", "1 0; 2 0; 3 30; 4 0; 4 0"},
		{"for share and delete", "SELECT * FROM k WHERE a = 1 FOR SHARE", "DELETE FROM k WHERE a = 1", "1 0; 2 0; 3 30; 4 0; 4 0"},
		{"update and for share", "UPDATE k SET n = 1 WHERE a = 1", "SELECT * FROM k WHERE a = 1 LOCK IN SHARE MODE", "1 1; 2 0; 3 30; 4 0; 4 0"},
		{"one of two identical rows", "DELETE FROM k WHERE a = 4 LIMIT 1", "UPDATE k SET n = 2 WHERE a = 4", "1 0; 2 0; 3 30; 4 0"},
		{"scan without index", "UPDATE k SET n = 1 WHERE a = 1", "UPDATE k SET n = 2 WHERE n = 5", "1 1; 2 0; 3 30; 4 0; 4 0"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("kl_same%d", i)
			a, b, admin := lockConns(t, srv, db, keylessSetup...)
			connExec(t, b, "UPDATE k SET n = 30 WHERE a = 3")
			connExec(t, b, "SET innodb_lock_wait_timeout = 1")
			connExec(t, a, tc.a)
			err := <-runAsync(b, tc.b)
			if got := mysqlErrorNumber(err); got != 1205 {
				t.Fatalf("%s on a row the other locked: %v (number %d), want 1205", tc.b, err, got)
			}
			connExec(t, b, "COMMIT")
			connExec(t, a, "COMMIT")
			if got := tableRows(t, admin, fmt.Sprintf(keylessRows, db)); got != tc.want {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRowLocksKeylessWaitOverTheWire: a statement waiting for a row of a
// keyless table another transaction changed goes on when that transaction
// ends and works on the row's outcome: no lost update after a commit, the
// old row after a rollback, nothing when the row was deleted.
func TestRowLocksKeylessWaitOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct{ name, a, end, want string }{
		{"update committed", "UPDATE k SET n = n + 1 WHERE a = 1", "COMMIT", "1 11"},
		{"update rolled back", "UPDATE k SET n = n + 1 WHERE a = 1", "ROLLBACK", "1 10"},
		{"delete committed", "DELETE FROM k WHERE a = 1", "COMMIT", ""},
		{"delete rolled back", "DELETE FROM k WHERE a = 1", "ROLLBACK", "1 10"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("kl_wait%d", i)
			a, b, admin := lockConns(t, srv, db, keylessSetup...)
			connExec(t, a, tc.a)
			const second = "UPDATE k SET n = n + 10 WHERE a = 1"
			done := runAsync(b, second)
			waitRunning(t, admin, second, done)
			connExec(t, a, tc.end)
			if err := <-done; err != nil {
				t.Fatalf("%s after the other's %s: %v", second, tc.end, err)
			}
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, "SELECT a, n FROM "+db+".k WHERE a = 1"); got != tc.want {
				t.Fatalf("row 1 %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRowLocksKeylessDeadlockOverTheWire: a waits for b's row of a keyless
// table, b then asks for a's: b gets 1213 at once and is rolled back, a
// goes on. Both orders of update and delete close the cycle.
func TestRowLocksKeylessDeadlockOverTheWire(t *testing.T) {
	srv := StartServer(t)
	cases := []struct{ name, aSecond, bSecond, want string }{
		{"update update", "UPDATE k SET n = 11 WHERE a = 2", "UPDATE k SET n = 22 WHERE a = 1", "1 1; 2 11; 3 0; 4 0; 4 0"},
		{"delete for update", "DELETE FROM k WHERE a = 2", "SELECT * FROM k WHERE a = 1 FOR UPDATE", "1 1; 3 0; 4 0; 4 0"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("kl_dead%d", i)
			a, b, admin := lockConns(t, srv, db, keylessSetup...)
			connExec(t, a, "UPDATE k SET n = 1 WHERE a = 1")
			connExec(t, b, "UPDATE k SET n = 2 WHERE a = 2")
			aDone := runAsync(a, tc.aSecond)
			waitRunning(t, admin, tc.aSecond, aDone)
			err := <-runAsync(b, tc.bSecond)
			if got := mysqlErrorNumber(err); got != 1213 {
				t.Fatalf("cycle: %v (number %d), want 1213", err, got)
			}
			if err := <-aDone; err != nil {
				t.Fatalf("the survivor: %v", err)
			}
			connExec(t, a, "COMMIT")
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, fmt.Sprintf(keylessRows, db)); got != tc.want {
				t.Fatalf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRowLocksUniqueNotNullNoPrimaryKeyOverTheWire: a table without a primary
// key but with a UNIQUE index on NOT NULL columns (InnoDB's clustered key for
// it): different keys never wait; an insert of a key another open transaction
// inserted, or of the key of a row it deleted or locked, waits, then gets 1062
// or goes on according to that transaction's outcome.
func TestRowLocksUniqueNotNullNoPrimaryKeyOverTheWire(t *testing.T) {
	srv := StartServer(t)
	setup := []string{
		"CREATE TABLE u (code VARCHAR(10) NOT NULL, n INT, UNIQUE KEY uc (code))",
		"INSERT INTO u VALUES ('a', 0), ('b', 0), ('c', 0)",
	}
	cases := []struct {
		name, a, end, b string
		wait            bool
		want            uint16 // b's error number after a ends (0: success)
		rows            string
	}{
		{"different keys", "INSERT INTO u VALUES ('x', 1)", "COMMIT", "INSERT INTO u VALUES ('y', 2)", false, 0, "a 0; b 0; c 0; x 1; y 2"},
		{"different rows", "UPDATE u SET n = 1 WHERE code = 'a'", "COMMIT", "UPDATE u SET n = 2 WHERE code = 'b'", false, 0, "a 1; b 2; c 0"},
		{"same new key committed", "INSERT INTO u VALUES ('x', 1)", "COMMIT", "INSERT INTO u VALUES ('x', 2)", true, 1062, "a 0; b 0; c 0; x 1"},
		{"same new key rolled back", "INSERT INTO u VALUES ('x', 1)", "ROLLBACK", "INSERT INTO u VALUES ('x', 2)", true, 0, "a 0; b 0; c 0; x 2"},
		{"key of a deleted row", "DELETE FROM u WHERE code = 'a'", "COMMIT", "INSERT INTO u VALUES ('a', 5)", true, 0, "a 5; b 0; c 0"},
		{"key of a locked row", "SELECT * FROM u WHERE code = 'b' FOR UPDATE", "COMMIT", "INSERT INTO u VALUES ('b', 5)", true, 1062, "a 0; b 0; c 0"},
		{"same row", "UPDATE u SET n = 1 WHERE code = 'c'", "COMMIT", "UPDATE u SET n = n + 10 WHERE code = 'c'", true, 0, "a 0; b 0; c 11"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := fmt.Sprintf("kl_uniq%d", i)
			a, b, admin := lockConns(t, srv, db, setup...)
			if !tc.wait {
				connExec(t, b, "SET innodb_lock_wait_timeout = 1")
			}
			connExec(t, a, tc.a)
			done := runAsync(b, tc.b)
			if tc.wait {
				waitRunning(t, admin, tc.b, done)
			} else if err := <-done; err != nil {
				t.Fatalf("%s while the other transaction is open: %v", tc.b, err)
			}
			connExec(t, a, tc.end)
			if tc.wait {
				err := <-done
				if got := mysqlErrorNumber(err); got != tc.want || (tc.want == 0 && err != nil) {
					t.Fatalf("%s after the other's %s: %v (number %d), want %d", tc.b, tc.end, err, got, tc.want)
				}
			}
			connExec(t, b, "COMMIT")
			if got := tableRows(t, admin, "SELECT code, n FROM "+db+".u ORDER BY code"); got != tc.rows {
				t.Fatalf("rows %q, want %q", got, tc.rows)
			}
		})
	}
}

// TestRowLocksKeylessNoLostUpdatesOverTheWire: sessions increment shared rows
// of a keyless table (two identical counter rows and one of their own) and
// insert rows of their own, concurrently, in explicit transactions, retrying
// deadlocks. Every increment and every insert is there at the end: the
// hidden row ids of concurrent inserts never collide, and an update works on
// the row's newest committed version.
func TestRowLocksKeylessNoLostUpdatesOverTheWire(t *testing.T) {
	srv := StartServer(t)
	const sessions, rounds = 4, 20
	admin := srv.DB(t, "")
	mustExec(t, admin, "CREATE DATABASE kl_nlu")
	mustExec(t, admin, "CREATE TABLE kl_nlu.k (a INT NOT NULL, n INT NOT NULL, KEY ka (a))")
	mustExec(t, admin, "INSERT INTO kl_nlu.k VALUES (0, 0), (0, 0)")
	for s := 1; s <= sessions; s++ {
		mustExec(t, admin, fmt.Sprintf("INSERT INTO kl_nlu.k VALUES (%d, 0)", s))
	}
	errs := make(chan error, sessions)
	var wg sync.WaitGroup
	for s := 1; s <= sessions; s++ {
		c := srv.Conn(t)
		wg.Add(1)
		go func(s int, c *sql.Conn) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			if _, err := c.ExecContext(ctx, "USE kl_nlu"); err != nil {
				errs <- err
				return
			}
			for r := 0; r < rounds; r++ {
				stmts := []string{
					"BEGIN",
					// The insert comes first, while other sessions' inserts
					// are still uncommitted.
					fmt.Sprintf("INSERT INTO k VALUES (%d, %d)", 100+s, r),
					"UPDATE k SET n = n + 1 WHERE a = 0",
					fmt.Sprintf("UPDATE k SET n = n + 1 WHERE a = %d", s),
					"COMMIT",
				}
				for attempt := 0; ; attempt++ {
					var err error
					for _, q := range stmts {
						if _, err = c.ExecContext(ctx, q); err != nil {
							break
						}
					}
					if err == nil {
						break
					}
					c.ExecContext(ctx, "ROLLBACK")
					if n := mysqlErrorNumber(err); (n != 1213 && n != 1205) || attempt >= 20 {
						errs <- fmt.Errorf("session %d round %d: %v", s, r, err)
						return
					}
				}
			}
		}(s, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := tableRows(t, admin, "SELECT a, n FROM kl_nlu.k WHERE a <= 100 ORDER BY a, n"); got != fmt.Sprintf("0 %d; 0 %d; 1 %d; 2 %d; 3 %d; 4 %d", sessions*rounds, sessions*rounds, rounds, rounds, rounds, rounds) {
		t.Fatalf("counters %q, want every increment", got)
	}
	if got := tableRows(t, admin, "SELECT a, COUNT(*), COUNT(DISTINCT n) FROM kl_nlu.k WHERE a > 100 GROUP BY a ORDER BY a"); got != fmt.Sprintf("101 %d %d; 102 %d %d; 103 %d %d; 104 %d %d", rounds, rounds, rounds, rounds, rounds, rounds, rounds, rounds) {
		t.Fatalf("inserted rows %q, want every insert", got)
	}
}

package storage

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// notBlocked runs q on c and fails the test if it does not finish within a
// generous bound while the other transaction stays open (the bound only
// catches a wait; nothing is asserted about speed).
func notBlocked(t *testing.T, c *conn, q string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.query(q)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("%q waited for the other transaction", q)
		return nil
	}
}

// TestRowLocksDifferentRows: two open transactions each change or lock a
// different row of one table; neither waits (innodb_lock_wait_timeout is
// 1000 s, so a wait would hit notBlocked's bound), and both commits keep
// both changes.
func TestRowLocksDifferentRows(t *testing.T) {
	cases := []struct{ name, a, b, want string }{
		{"update", "UPDATE r SET n = 10 WHERE id = 1", "UPDATE r SET n = 20 WHERE id = 2", "[[1 10] [2 20] [3 0]]"},
		{"delete", "DELETE FROM r WHERE id = 1", "DELETE FROM r WHERE id = 2", "[[3 0]]"},
		{"insert", "INSERT INTO r VALUES (4, 4)", "INSERT INTO r VALUES (5, 5)", "[[1 0] [2 0] [3 0] [4 4] [5 5]]"},
		{"for update", "SELECT * FROM r WHERE id = 1 FOR UPDATE", "SELECT * FROM r WHERE id = 2 FOR UPDATE", "[[1 0] [2 0] [3 0]]"},
		{"update vs for share", "UPDATE r SET n = 7 WHERE id = 1", "SELECT * FROM r WHERE id = 2 LOCK IN SHARE MODE", "[[1 7] [2 0] [3 0]]"},
		{"auto_increment", "INSERT INTO r (n) VALUES (8)", "INSERT INTO r (n) VALUES (9)", "[[1 0] [2 0] [3 0] [4 8] [5 9]]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.conn()
			c.mustExec("CREATE DATABASE d")
			c.db = "d"
			c.mustExec("CREATE TABLE r (id INT PRIMARY KEY AUTO_INCREMENT, n INT NOT NULL, KEY (n))")
			c.mustExec("INSERT INTO r VALUES (1, 0), (2, 0), (3, 0)")
			a, b := h.conn(), h.conn()
			a.db, b.db = "d", "d"
			for _, x := range []*conn{a, b} {
				x.mustExec("SET innodb_lock_wait_timeout = 1000")
				x.mustExec("BEGIN")
			}
			a.mustExec(tc.a)
			if err := notBlocked(t, b, tc.b); err != nil {
				t.Fatal(err)
			}
			a.mustExec("COMMIT")
			b.mustExec("COMMIT")
			if got := fmt.Sprint(c.mustExec("SELECT * FROM r ORDER BY id")); got != tc.want {
				t.Fatalf("rows %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRowLocksSameKeyInsert: an insert of a primary or unique key another
// open transaction inserted waits for it, then gets 1062 when it commits
// or succeeds when it rolls back.
func TestRowLocksSameKeyInsert(t *testing.T) {
	for _, key := range []string{"primary", "unique"} {
		for _, end := range []string{"COMMIT", "ROLLBACK"} {
			t.Run(key+"/"+end, func(t *testing.T) {
				h := newHarness(t)
				c := h.conn()
				c.mustExec("CREATE DATABASE d")
				c.db = "d"
				c.mustExec("CREATE TABLE u (id INT PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_0900_ai_ci, UNIQUE KEY uc (code))")
				a, b := h.conn(), h.conn()
				a.db, b.db = "d", "d"
				a.mustExec("BEGIN")
				a.mustExec("INSERT INTO u VALUES (1, 'abc')")
				second := "INSERT INTO u VALUES (1, 'xyz')"
				if key == "unique" {
					second = "INSERT INTO u VALUES (2, 'ABC')" // equal under _ci
				}
				done := make(chan error, 1)
				go func() { _, err := b.query(second); done <- err }()
				waitFor(t, h.store.locks.isWaiting)
				select {
				case err := <-done:
					t.Fatalf("did not wait: %v", err)
				default:
				}
				a.mustExec(end)
				err := <-done
				if end == "COMMIT" {
					if mysqlCode(err) != ErDupEntry {
						t.Fatalf("err %v, want 1062", err)
					}
				} else if err != nil {
					t.Fatalf("err %v after the other rolled back", err)
				}
			})
		}
	}
}

// TestRowLocksNoLostUpdates: 8 connections run transactions that move
// amounts between random rows of one table (two UPDATEs reading the row
// they change, in random order, so real deadlocks happen and are retried),
// plus inserts and deletes of private rows; at the end the total is
// unchanged and every committed insert is there.
// The same runs on tables without a primary key (row locks by hidden row
// id; the rows are found through a secondary index).
func TestRowLocksNoLostUpdates(t *testing.T) {
	t.Run("primary key", func(t *testing.T) {
		noLostUpdates(t, "CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL, KEY (bal))", "CREATE TABLE log (id INT PRIMARY KEY, w INT)")
	})
	t.Run("no primary key", func(t *testing.T) {
		noLostUpdates(t, "CREATE TABLE acct (id INT NOT NULL, bal INT NOT NULL, KEY (id))", "CREATE TABLE log (id INT NOT NULL, w INT, KEY (id))")
	})
}

func noLostUpdates(t *testing.T, acct, log string) {
	const conns, perConn, rows = 8, 150, 6
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.db = "d"
	c.mustExec(acct)
	for i := 1; i <= rows; i++ {
		c.mustExec(fmt.Sprintf("INSERT INTO acct VALUES (%d, 1000)", i))
	}
	c.mustExec(log)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	var mu sync.Mutex
	logRows := map[int]bool{} // the log rows committed transactions leave
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			x := h.conn()
			x.db = "d"
			rnd := rand.New(rand.NewSource(int64(w)))
			for j := 0; j < perConn; j++ {
				from, to := 1+rnd.Intn(rows), 1+rnd.Intn(rows)
				id := w*100000 + j
				stmts := []string{
					"BEGIN",
					fmt.Sprintf("UPDATE acct SET bal = bal - 7 WHERE id = %d", from),
					fmt.Sprintf("INSERT INTO log VALUES (%d, %d)", id, w),
					fmt.Sprintf("UPDATE acct SET bal = bal + 7 WHERE id = %d", to),
					fmt.Sprintf("DELETE FROM log WHERE id = %d", id-1),
					fmt.Sprintf("INSERT INTO log VALUES (%d, %d)", id-1, w),
					"COMMIT",
				}
				ok := true
				for _, q := range stmts {
					if _, err := x.query(q); err != nil {
						if code := mysqlCode(err); code == ErLockDeadlock || code == ErLockWaitTimeout {
							x.query("ROLLBACK")
							ok = false
							break
						}
						errs <- fmt.Errorf("%s: %w", q, err)
						return
					}
				}
				if ok {
					mu.Lock()
					logRows[id], logRows[id-1] = true, true
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := c.mustExec("SELECT SUM(bal), COUNT(*) FROM acct")
	if fmt.Sprint(got) != fmt.Sprintf("[[%d %d]]", rows*1000, rows) {
		t.Fatalf("sum, count = %v, want %d, %d", got, rows*1000, rows)
	}
	if len(logRows) == 0 {
		t.Fatal("no transaction committed")
	}
	if got := c.mustExec("SELECT COUNT(*) FROM log"); fmt.Sprint(got) != fmt.Sprintf("[[%d]]", len(logRows)) {
		t.Fatalf("log has %v rows, want %d", got, len(logRows))
	}
}

// TestRebaseKeepsIndexes: a transaction that changes indexed columns while
// others commit to the same table is rebased onto their versions at each
// statement and at commit; every index then holds exactly the committed
// rows, found by their new values and not by their old ones, for tables
// with and without a primary key. (Without one, the other session only
// inserts: its updates would scan, and wait for, the locked rows, as
// InnoDB's do.)
func TestRebaseKeepsIndexes(t *testing.T) {
	cases := []struct {
		name, ddl string
		other     [3]string // b's autocommit statements, run between a's
		want      map[string]string
	}{
		{"primary key", "CREATE TABLE r (id INT PRIMARY KEY, n INT NOT NULL, u INT, KEY (n), UNIQUE KEY (u))",
			[3]string{"UPDATE r SET n = 200 WHERE id = 2", "DELETE FROM r WHERE id = 4", "INSERT INTO r VALUES (6, 0, 66)"},
			map[string]string{
				"SELECT id FROM r WHERE n = 0 ORDER BY id":     "[[5] [6]]",
				"SELECT id FROM r WHERE n = 200":               "[[2]]",
				"SELECT id FROM r WHERE n > -1 ORDER BY n, id": "[[5] [6] [1] [3] [2]]",
				"SELECT id FROM r WHERE u = 4":                 "[]",
				"SELECT COUNT(*) FROM r":                       "[[5]]",
			}},
		{"no primary key", "CREATE TABLE r (id INT NOT NULL, n INT NOT NULL, u INT, KEY (n), UNIQUE KEY (u))",
			[3]string{"INSERT INTO r VALUES (6, 0, 66)", "INSERT INTO r VALUES (7, 7, 77)", "INSERT INTO r VALUES (8, 0, 88)"},
			map[string]string{
				"SELECT id FROM r WHERE n = 0 ORDER BY id":     "[[2] [4] [5] [6] [8]]",
				"SELECT id FROM r WHERE n = 7":                 "[[7]]",
				"SELECT id FROM r WHERE n > -1 ORDER BY n, id": "[[2] [4] [5] [6] [8] [7] [1] [3]]",
				"SELECT id FROM r WHERE u = 77":                "[[7]]",
				"SELECT COUNT(*) FROM r":                       "[[8]]",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			c := h.conn()
			c.mustExec("CREATE DATABASE d")
			c.db = "d"
			c.mustExec(tc.ddl)
			c.mustExec("INSERT INTO r VALUES (1, 0, 1), (2, 0, 2), (3, 0, 3), (4, 0, 4), (5, 0, 5)")
			a, b := h.conn(), h.conn()
			a.db, b.db = "d", "d"
			a.mustExec("BEGIN")
			a.mustExec("UPDATE r SET n = 100, u = 11 WHERE id = 1")
			b.mustExec(tc.other[0])
			a.mustExec("UPDATE r SET n = 101 WHERE id = 3") // starts on b's version
			b.mustExec(tc.other[1])
			a.mustExec("UPDATE r SET u = 55 WHERE id = 5")
			b.mustExec(tc.other[2])
			a.mustExec("COMMIT") // rebased once more
			want := map[string]string{
				"SELECT id FROM r WHERE n = 100": "[[1]]",
				"SELECT id FROM r WHERE n = 101": "[[3]]",
				"SELECT id FROM r WHERE u = 1":   "[]",
				"SELECT id FROM r WHERE u = 11":  "[[1]]",
				"SELECT id FROM r WHERE u = 5":   "[]",
				"SELECT id FROM r WHERE u = 55":  "[[5]]",
				"SELECT id FROM r WHERE u = 66":  "[[6]]",
			}
			for q, w := range tc.want {
				want[q] = w
			}
			for q, w := range want {
				if got := fmt.Sprint(c.mustExec(q)); got != w {
					t.Errorf("%s: %s, want %s", q, got, w)
				}
			}
			c.mustExec("INSERT INTO r VALUES (9, 0, 5)") // u = 5 and 1 are free again
			c.mustExec("INSERT INTO r VALUES (10, 0, 1)")
			if _, err := c.query("INSERT INTO r VALUES (11, 0, 55)"); mysqlCode(err) != 1062 {
				t.Errorf("duplicate u = 55: err %v, want 1062", err)
			}
		})
	}
}

package storage

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

func setupCounter(t *testing.T) *harness {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("USE d")
	c.mustExec("CREATE TABLE c (id INT PRIMARY KEY, n INT NOT NULL)")
	c.mustExec("INSERT INTO c VALUES (1, 0)")
	return h
}

func counterValue(t *testing.T, h *harness) int64 {
	c := h.conn()
	c.db = "d"
	rows := c.mustExec("SELECT n FROM c WHERE id = 1")
	return toInt64(t, rows[0][0])
}

func toInt64(t *testing.T, v interface{}) int64 {
	t.Helper()
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	}
	t.Fatalf("unexpected %T %v", v, v)
	return 0
}

// TestNoLostUpdates: 8 connections × 500 increments end at 8000, in
// autocommit and inside explicit transactions (the upstream memory engine
// loses updates in both).
func TestNoLostUpdates(t *testing.T) {
	const conns, perConn = 8, 500
	for _, explicit := range []bool{false, true} {
		t.Run(fmt.Sprintf("explicit=%v", explicit), func(t *testing.T) {
			h := setupCounter(t)
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i := 0; i < conns; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := h.conn()
					c.db = "d"
					for j := 0; j < perConn; j++ {
						var err error
						if explicit {
							if _, err = c.query("BEGIN"); err == nil {
								if _, err = c.query("UPDATE c SET n = n + 1 WHERE id = 1"); err == nil {
									_, err = c.query("COMMIT")
								}
							}
						} else {
							_, err = c.query("UPDATE c SET n = n + 1")
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := counterValue(t, h); got != conns*perConn {
				t.Fatalf("n = %d, want %d", got, conns*perConn)
			}
		})
	}
}

// TestReadOnlyCommitKeepsOthersRows: a transaction that only read a table
// must not erase rows another session committed meanwhile.
func TestReadOnlyCommitKeepsOthersRows(t *testing.T) {
	h := setupCounter(t)
	a, b := h.conn(), h.conn()
	a.db, b.db = "d", "d"
	a.mustExec("BEGIN")
	a.mustExec("SELECT * FROM c")
	b.mustExec("INSERT INTO c VALUES (2, 0)")
	a.mustExec("COMMIT")
	if rows := b.mustExec("SELECT id FROM c ORDER BY id"); len(rows) != 2 {
		t.Fatalf("rows after commit = %v, want ids 1 and 2", rows)
	}
	// Two explicit transactions inserting different rows both survive.
	a.mustExec("BEGIN")
	b.mustExec("BEGIN")
	a.mustExec("INSERT INTO c VALUES (3, 0)")
	done := make(chan error, 1)
	go func() {
		_, err := b.query("INSERT INTO c VALUES (4, 0)")
		if err == nil {
			_, err = b.query("COMMIT")
		}
		done <- err
	}()
	a.mustExec("COMMIT")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rows := a.mustExec("SELECT id FROM c ORDER BY id"); len(rows) != 4 {
		t.Fatalf("rows = %v, want 4", rows)
	}
}

// TestSnapshotRead: a transaction's repeated SELECT sees the same rows while
// others commit; a new transaction sees the new rows.
func TestSnapshotRead(t *testing.T) {
	h := setupCounter(t)
	a, b := h.conn(), h.conn()
	a.db, b.db = "d", "d"
	a.mustExec("BEGIN")
	first := a.mustExec("SELECT id, n FROM c ORDER BY id")
	for i := 2; i < 5; i++ {
		b.mustExec(fmt.Sprintf("INSERT INTO c VALUES (%d, %d)", i, i))
		b.mustExec("UPDATE c SET n = n + 1 WHERE id = 1")
		again := a.mustExec("SELECT id, n FROM c ORDER BY id")
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("snapshot moved: first %v, now %v", first, again)
		}
	}
	a.mustExec("COMMIT")
	if rows := a.mustExec("SELECT id FROM c"); len(rows) != 4 {
		t.Fatalf("after commit rows = %v, want 4", rows)
	}
}

func mysqlCode(err error) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	if err != nil {
		if e := sql.CastSQLError(err); e != nil {
			return e.Num
		}
	}
	return 0
}

// TestLockErrors: lock wait timeout (1205), deadlock (1213, the victim
// rolled back), NOWAIT (3572), and a locking read that waits and then sees
// the newest row.
func TestLockErrors(t *testing.T) {
	h := setupCounter(t)
	c := h.conn()
	c.db = "d"
	c.mustExec("CREATE TABLE c2 (id INT PRIMARY KEY, n INT)")
	c.mustExec("INSERT INTO c2 VALUES (1, 0)")

	a, b := h.conn(), h.conn()
	a.db, b.db = "d", "d"

	t.Run("timeout 1205", func(t *testing.T) {
		a.mustExec("BEGIN")
		a.mustExec("UPDATE c SET n = 100 WHERE id = 1")
		b.mustExec("SET innodb_lock_wait_timeout = 1")
		start := time.Now()
		_, err := b.query("UPDATE c SET n = 200 WHERE id = 1")
		if mysqlCode(err) != ErLockWaitTimeout {
			t.Fatalf("err = %v, want 1205", err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("waited %v", time.Since(start))
		}
		a.mustExec("ROLLBACK")
		b.mustExec("UPDATE c SET n = 200 WHERE id = 1")
		if got := counterValue(t, h); got != 200 {
			t.Fatalf("n = %d, want 200", got)
		}
	})

	t.Run("nowait 3572", func(t *testing.T) {
		a.mustExec("BEGIN")
		a.mustExec("UPDATE c SET n = 1 WHERE id = 1")
		b.mustExec("BEGIN")
		_, err := b.query("SELECT * FROM c WHERE id = 1 FOR UPDATE NOWAIT")
		if mysqlCode(err) != ErLockNowait {
			t.Fatalf("err = %v, want 3572", err)
		}
		b.mustExec("ROLLBACK")
		a.mustExec("ROLLBACK")
	})

	t.Run("deadlock 1213", func(t *testing.T) {
		b.mustExec("SET innodb_lock_wait_timeout = 20")
		a.mustExec("BEGIN")
		b.mustExec("BEGIN")
		a.mustExec("UPDATE c SET n = 1 WHERE id = 1")
		b.mustExec("UPDATE c2 SET n = 1 WHERE id = 1")
		aDone := make(chan error, 1)
		go func() {
			_, err := a.query("UPDATE c2 SET n = 2 WHERE id = 1")
			aDone <- err
		}()
		// Let a start waiting on c2, then close the cycle from b.
		waitFor(t, func() bool { return h.store.locks.isWaiting() })
		_, err := b.query("UPDATE c SET n = 2 WHERE id = 1")
		if mysqlCode(err) != ErLockDeadlock {
			t.Fatalf("err = %v, want 1213", err)
		}
		if err := <-aDone; err != nil {
			t.Fatalf("survivor: %v", err)
		}
		a.mustExec("COMMIT")
		b.mustExec("COMMIT") // the victim's work is gone
		rows := c.mustExec("SELECT (SELECT n FROM c WHERE id = 1), (SELECT n FROM c2 WHERE id = 1)")
		if fmt.Sprint(rows) != "[[1 2]]" {
			t.Fatalf("rows = %v, want [[1 2]]", rows)
		}
	})

	t.Run("for update waits and reads newest", func(t *testing.T) {
		a.mustExec("BEGIN")
		a.mustExec("UPDATE c SET n = 500 WHERE id = 1")
		b.mustExec("BEGIN")
		b.mustExec("SELECT n FROM c WHERE id = 1") // snapshot before a commits
		got := make(chan []sql.Row, 1)
		go func() {
			got <- b.mustExec("SELECT n FROM c WHERE id = 1 FOR UPDATE")
		}()
		waitFor(t, func() bool { return h.store.locks.isWaiting() })
		a.mustExec("COMMIT")
		rows := <-got
		if toInt64(t, rows[0][0]) != 500 {
			t.Fatalf("FOR UPDATE read %v, want 500", rows)
		}
		b.mustExec("UPDATE c SET n = n + 1 WHERE id = 1")
		b.mustExec("COMMIT")
		if v := counterValue(t, h); v != 501 {
			t.Fatalf("n = %d, want 501", v)
		}
	})
}

func (lm *lockManager) isWaiting() bool {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return len(lm.waiting) > 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

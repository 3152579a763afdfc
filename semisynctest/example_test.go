package semisynctest_test

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/semisyncd/semisyncd/semisynctest"
)

// TestApplicationWithReplicas is written as an application's test would be: it uses only
// database/sql, the driver and the kit's public API. It is also the test the README shows and
// the one TestExternalModule runs from a module of its own.
func TestApplicationWithReplicas(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: 500 * time.Millisecond})

	primary := open(t, c.Primary.DSN(""))
	mustExec(t, primary, "CREATE DATABASE shop")
	mustExec(t, primary, "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40) NOT NULL)")
	for i := 1; i <= 10; i++ {
		mustExec(t, primary, "INSERT INTO shop.orders VALUES (?, ?)", i, fmt.Sprintf("item %d", i))
	}

	// Read your writes on a replica once replication caught up.
	c.WaitReplicated(t)
	replica := open(t, c.Replicas[0].DSN("shop"))
	if n := count(t, replica, "SELECT COUNT(*) FROM orders"); n != 10 {
		t.Fatalf("replica has %d orders, want 10", n)
	}
	// Replicas refuse the application's writes, as a MySQL replica with super_read_only does.
	var me *mysql.MySQLError
	if _, err := replica.Exec("INSERT INTO orders VALUES (99, 'oops')"); !errors.As(err, &me) || me.Number != 1290 {
		t.Fatalf("write on a replica: %v, want error 1290", err)
	}
	// Every commit was acknowledged by a replica before it returned.
	if st := c.Status(t); !st.On || st.YesTx < 12 || st.NoTx != 0 {
		t.Fatalf("semi-sync status %+v, want ON with every commit acknowledged", st)
	}

	// A lagging replica: the other one still acknowledges in time, so commits stay semi-sync,
	// but reads on the lagging one are stale until it catches up.
	c.Replicas[1].Delay(2 * time.Second)
	mustExec(t, primary, "INSERT INTO shop.orders VALUES (11, 'late')")
	lagging := open(t, c.Replicas[1].DSN("shop"))
	if n := count(t, lagging, "SELECT COUNT(*) FROM orders WHERE id = 11"); n != 0 {
		t.Fatalf("the replica 2s behind already has the order just written")
	}
	c.Replicas[1].Restore()
	c.WaitReplicated(t)
	if n := count(t, lagging, "SELECT COUNT(*) FROM orders WHERE id = 11"); n != 1 {
		t.Fatalf("lagging replica has %d of order 11 after catching up, want 1", n)
	}

	// The primary dies while the application writes; after the failover every write the
	// application saw succeed is on the new primary.
	var (
		mu    sync.Mutex
		acked []int
		wg    sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				id := 1000 + w*1000 + i
				if _, err := primary.Exec("INSERT INTO shop.orders VALUES (?, 'load')", id); err != nil {
					return // the primary is gone
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 100 })
	c.Primary.Kill()
	wg.Wait()

	np := c.Failover(t)
	newPrimary := open(t, np.DSN("shop"))
	for _, id := range acked {
		if n := count(t, newPrimary, fmt.Sprintf("SELECT COUNT(*) FROM orders WHERE id = %d", id)); n != 1 {
			t.Fatalf("acknowledged order %d lost in the failover", id)
		}
	}
	mustExec(t, newPrimary, "INSERT INTO orders VALUES (20000, 'after failover')")
	c.WaitReplicated(t)
	if st := c.Status(t); !st.On || st.YesTx < 1 {
		t.Fatalf("new primary's semi-sync status %+v, want ON with the write acknowledged", st)
	}
	t.Logf("%d acknowledged writes survived the failover to %s", len(acked), np.Name)
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitUntil polls cond for up to 30s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

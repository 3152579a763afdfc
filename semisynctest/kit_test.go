package semisynctest_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/semisyncd/semisyncd/semisynctest"
)

// The kit's own tests: each knob changes what an application observes.

func errNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// TestStartReady: Start returns with every replica connected and semi-sync ON; each server has
// its own port and server_id; the replicas run super-read-only, the primary does not; DSN
// names a database.
func TestStartReady(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("replicas=%d", n), func(t *testing.T) {
			c := semisynctest.Start(t, semisynctest.Options{Replicas: n})
			st := c.Status(t)
			if !st.On || st.Clients != int64(n) {
				t.Fatalf("status %+v, want ON with %d clients", st, n)
			}
			if len(c.Replicas) != n {
				t.Fatalf("%d replicas, want %d", len(c.Replicas), n)
			}
			seen := map[string]bool{}
			for i, s := range append([]*semisynctest.Server{c.Primary}, c.Replicas...) {
				if seen[s.Addr()] || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
					t.Fatalf("%s: address %s reused or not on loopback", s.Name, s.Addr())
				}
				seen[s.Addr()] = true
				db := open(t, s.DSN(""))
				var id, ro, sro int
				if err := db.QueryRow("SELECT @@server_id, @@read_only, @@super_read_only").Scan(&id, &ro, &sro); err != nil {
					t.Fatal(err)
				}
				wantRO := 0
				if i > 0 {
					wantRO = 1
				}
				if id != int(s.ServerID) || ro != wantRO || sro != wantRO {
					t.Fatalf("%s: server_id=%d read_only=%d super_read_only=%d, want %d %d %d", s.Name, id, ro, sro, s.ServerID, wantRO, wantRO)
				}
			}
			mustExec(t, open(t, c.Primary.DSN("")), "CREATE DATABASE app")
			c.WaitReplicated(t)
			for _, s := range append([]*semisynctest.Server{c.Primary}, c.Replicas...) {
				var db string
				if err := open(t, s.DSN("app")).QueryRow("SELECT DATABASE()").Scan(&db); err != nil || db != "app" {
					t.Fatalf("%s: DSN(\"app\") connects to %q (%v)", s.Name, db, err)
				}
			}
		})
	}
}

// TestDelayLongerThanTimeout: a replica whose ACKs come later than the timeout makes the commit
// wait the timeout, semi-sync turn OFF and the commit count as no_tx; after Restore it turns ON
// again and commits are acknowledged.
func TestDelayLongerThanTimeout(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 1, Timeout: 200 * time.Millisecond})
	db := open(t, c.Primary.DSN(""))
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	before := c.Status(t)
	if !before.On || before.YesTx != 2 || before.NoTx != 0 {
		t.Fatalf("before the delay: %+v, want ON, yes_tx 2, no_tx 0", before)
	}

	c.Replicas[0].Delay(time.Second)
	mustExec(t, db, "INSERT INTO d.t VALUES (1)")
	off := c.Status(t)
	if off.On || off.NoTx != 1 || off.NoTimes != 1 || off.YesTx != 2 {
		t.Fatalf("after a commit with ACKs delayed past the timeout: %+v, want OFF, no_tx 1, no_times 1, yes_tx 2", off)
	}
	mustExec(t, db, "INSERT INTO d.t VALUES (2)") // async: does not wait
	if st := c.Status(t); st.On || st.NoTx != 2 {
		t.Fatalf("second commit while OFF: %+v, want OFF, no_tx 2", st)
	}

	c.Replicas[0].Restore()
	// MySQL switches semi-sync back ON when the replica's ACK catches up with the binlog.
	waitUntil(t, func() bool { return c.Status(t).On })
	mustExec(t, db, "INSERT INTO d.t VALUES (3)")
	on := c.Status(t)
	if !on.On || on.YesTx != 3 || on.Clients != 1 {
		t.Fatalf("after Restore: %+v, want ON, yes_tx 3, 1 client", on)
	}
	c.WaitReplicated(t)
	if n := count(t, open(t, c.Replicas[0].DSN("d")), "SELECT COUNT(*) FROM t"); n != 3 {
		t.Fatalf("replica has %d rows, want 3", n)
	}
}

// TestCutReplicaMissesWrites: a cut replica receives nothing until Restore while the other keeps
// semi-sync ON; after Restore it catches up and reconnects with semi-sync. Cutting the only
// replica left turns semi-sync OFF after the timeout.
func TestCutReplicaMissesWrites(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: 300 * time.Millisecond})
	db := open(t, c.Primary.DSN(""))
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	c.WaitReplicated(t)

	cut := c.Replicas[1]
	cut.Cut()
	waitUntil(t, func() bool { return c.Status(t).Clients == 1 })
	for i := 1; i <= 5; i++ {
		mustExec(t, db, "INSERT INTO d.t VALUES (?)", i)
	}
	c.WaitReplicated(t) // the replica still connected
	cutDB := open(t, cut.DSN("d"))
	if n := count(t, open(t, c.Replicas[0].DSN("d")), "SELECT COUNT(*) FROM t"); n != 5 {
		t.Fatalf("connected replica has %d rows, want 5", n)
	}
	if n := count(t, cutDB, "SELECT COUNT(*) FROM t"); n != 0 {
		t.Fatalf("cut replica has %d rows, want none", n)
	}
	if st := c.Status(t); !st.On || st.YesTx != 7 || st.NoTx != 0 {
		t.Fatalf("with one of two replicas cut: %+v, want ON with every commit acknowledged", st)
	}

	cut.Restore()
	waitUntil(t, func() bool { return c.Status(t).Clients == 2 })
	c.WaitReplicated(t)
	if n := count(t, cutDB, "SELECT COUNT(*) FROM t"); n != 5 {
		t.Fatalf("restored replica has %d rows, want 5", n)
	}

	// Cut both: nobody acknowledges, the commit waits the timeout and semi-sync turns OFF.
	c.Replicas[0].Cut()
	cut.Cut()
	waitUntil(t, func() bool { return c.Status(t).Clients == 0 })
	mustExec(t, db, "INSERT INTO d.t VALUES (6)")
	if st := c.Status(t); st.On || st.NoTx != 1 {
		t.Fatalf("with every replica cut: %+v, want OFF, no_tx 1", st)
	}
	c.Replicas[0].Restore()
	cut.Restore()
	waitUntil(t, func() bool { return c.Status(t).On })
	c.WaitReplicated(t)
	for _, r := range c.Replicas {
		if n := count(t, open(t, r.DSN("d")), "SELECT COUNT(*) FROM t"); n != 6 {
			t.Fatalf("%s has %d rows after Restore, want 6", r.Name, n)
		}
	}
}

// TestStopStartReplica: a stopped replica misses nothing: started again it catches up and
// reconnects with semi-sync.
func TestStopStartReplica(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: 300 * time.Millisecond})
	db := open(t, c.Primary.DSN(""))
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	r := c.Replicas[0]
	r.Stop()
	if r.Running() {
		t.Fatal("Running() after Stop")
	}
	waitUntil(t, func() bool { return c.Status(t).Clients == 1 })
	mustExec(t, db, "INSERT INTO d.t VALUES (1), (2)")
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	c.WaitReplicated(t)
	if n := count(t, open(t, r.DSN("d")), "SELECT COUNT(*) FROM t"); n != 2 {
		t.Fatalf("restarted replica has %d rows, want 2", n)
	}
	if st := c.Status(t); !st.On || st.Clients != 2 || st.NoTx != 0 {
		t.Fatalf("after the replica came back: %+v, want ON, 2 clients, no_tx 0", st)
	}
	mustExec(t, db, "INSERT INTO d.t VALUES (3)")
	if st := c.Status(t); !st.On || st.YesTx != 4 || st.NoTx != 0 {
		t.Fatalf("a commit after the replica came back: %+v, want ON, yes_tx 4", st)
	}
}

// TestPrimaryRestart: the primary stopped and started again finds its replicas, and commits are
// acknowledged again.
func TestPrimaryRestart(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: 300 * time.Millisecond})
	db := open(t, c.Primary.DSN(""))
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	c.Primary.Stop()
	if err := c.Primary.Start(); err != nil {
		t.Fatal(err)
	}
	db = open(t, c.Primary.DSN(""))
	mustExec(t, db, "INSERT INTO d.t VALUES (3)")
	c.WaitReplicated(t)
	if st := c.Status(t); !st.On || st.Clients != 2 || st.YesTx != 1 {
		t.Fatalf("after the primary restarted: %+v, want ON, 2 clients, yes_tx 1", st)
	}
}

// TestFailoverUnderWriteLoad: the primary is killed under concurrent writers; Failover promotes
// a replica that has every acknowledged row, repoints the other one, and the old primary either
// rejoins as a replica or is reported with its errant GTIDs.
func TestFailoverUnderWriteLoad(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: 5 * time.Second})
	old := c.Primary
	db := open(t, old.DSN(""))
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY, w INT)")
	db.SetMaxOpenConns(8)

	var (
		mu    sync.Mutex
		acked []int
		wg    sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				id := w*100000 + i
				if _, err := db.Exec("INSERT INTO d.t VALUES (?, ?)", id, w); err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 300 })
	yes := c.Status(t).YesTx
	old.Kill()
	wg.Wait()
	if yes < 300 {
		t.Fatalf("yes_tx %d before the kill, want every acknowledged commit counted", yes)
	}

	np := c.Failover(t)
	if np == old || c.Primary != np || len(c.Replicas) != 1 {
		t.Fatalf("Failover returned %s, cluster primary %s with %d replicas", np.Name, c.Primary.Name, len(c.Replicas))
	}
	ndb := open(t, np.DSN("d"))
	have := map[int]bool{}
	rows, err := ndb.Query("SELECT id FROM t")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		have[id] = true
	}
	rows.Close()
	for _, id := range acked {
		if !have[id] {
			t.Fatalf("acknowledged row %d is not on the new primary (%d acknowledged, %d there)", id, len(acked), len(have))
		}
	}
	var ro int
	if err := ndb.QueryRow("SELECT @@read_only + @@super_read_only").Scan(&ro); err != nil || ro != 0 {
		t.Fatalf("new primary read_only + super_read_only = %d (%v), want 0", ro, err)
	}
	mustExec(t, ndb, "INSERT INTO t VALUES (-1, -1)")
	c.WaitReplicated(t)
	if st := c.Status(t); !st.On || st.Clients != 1 || st.YesTx != 1 {
		t.Fatalf("new primary: %+v, want ON, 1 client, yes_tx 1", st)
	}
	if n := count(t, open(t, c.Replicas[0].DSN("d")), "SELECT COUNT(*) FROM t"); n != len(have)+1 {
		t.Fatalf("repointed replica has %d rows, new primary %d", n, len(have)+1)
	}

	err = old.Start()
	var errant *semisynctest.ErrantGTIDError
	switch {
	case err == nil:
		c.WaitReplicated(t)
		if n := count(t, open(t, old.DSN("d")), "SELECT COUNT(*) FROM t"); n != len(have)+1 {
			t.Fatalf("rejoined old primary has %d rows, want %d", n, len(have)+1)
		}
		t.Logf("the old primary rejoined (%d acknowledged rows)", len(acked))
	case errors.As(err, &errant):
		// The kill caught commits in the old primary's binlog that no replica received;
		// none of them was acknowledged (checked above), and the kit names them.
		if errant.GTIDs == "" || errant.Server != old || !strings.Contains(err.Error(), "1236") {
			t.Fatalf("ErrantGTIDError %+v", errant)
		}
		t.Logf("the old primary has errant GTIDs %s (%d acknowledged rows)", errant.GTIDs, len(acked))
	default:
		t.Fatal(err)
	}
}

// TestOldPrimaryRejoins: after a failover the old primary, started again, replicates from the
// new one with semi-sync and refuses the application's writes.
func TestOldPrimaryRejoins(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 1, Timeout: time.Second})
	old := c.Primary
	mustExec(t, open(t, old.DSN("")), "CREATE DATABASE d")
	mustExec(t, open(t, old.DSN("")), "CREATE TABLE d.t (id INT PRIMARY KEY)")
	mustExec(t, open(t, old.DSN("")), "INSERT INTO d.t VALUES (1)")
	c.WaitReplicated(t)
	old.Kill()
	np := c.Failover(t)
	ndb := open(t, np.DSN("d"))
	mustExec(t, ndb, "INSERT INTO t VALUES (2)")
	if st := c.Status(t); st.Clients != 0 {
		t.Fatalf("new primary has %d semi-sync clients before the old one rejoined", st.Clients)
	}

	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	if len(c.Replicas) != 1 || c.Replicas[0] != old {
		t.Fatalf("replicas after the rejoin: %v", c.Replicas)
	}
	mustExec(t, ndb, "INSERT INTO t VALUES (3)")
	c.WaitReplicated(t)
	odb := open(t, old.DSN("d"))
	if n := count(t, odb, "SELECT COUNT(*) FROM t"); n != 3 {
		t.Fatalf("rejoined old primary has %d rows, want 3", n)
	}
	if st := c.Status(t); !st.On || st.Clients != 1 || st.YesTx < 1 {
		t.Fatalf("new primary after the rejoin: %+v, want ON, 1 client, the last commit acknowledged", st)
	}
	_, err := odb.Exec("INSERT INTO t VALUES (4)")
	if errNumber(err) != 1290 || !strings.Contains(err.Error(), "--super-read-only") {
		t.Fatalf("write on the rejoined old primary: %v, want 1290 --super-read-only", err)
	}
	// Its link is a replica's link now.
	old.Cut()
	waitUntil(t, func() bool { return c.Status(t).Clients == 0 })
	old.Restore()
	waitUntil(t, func() bool { return c.Status(t).Clients == 1 })
}

// TestErrantGTIDsReported: a commit the old primary made while no replica received it (semi-sync
// timed out) is errant: the old primary cannot rejoin, and the kit names the transaction.
func TestErrantGTIDsReported(t *testing.T) {
	c := semisynctest.Start(t, semisynctest.Options{Replicas: 1, Timeout: 200 * time.Millisecond})
	old := c.Primary
	db := open(t, old.DSN(""))
	mustExec(t, db, "CREATE DATABASE d")
	mustExec(t, db, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	c.WaitReplicated(t)
	c.Replicas[0].Cut()
	mustExec(t, db, "INSERT INTO d.t VALUES (1)") // times out, commits without the replica
	var uuid, gtids string
	if err := db.QueryRow("SELECT @@server_uuid, @@gtid_executed").Scan(&uuid, &gtids); err != nil {
		t.Fatal(err)
	}
	old.Kill()
	c.Replicas[0].Restore()
	np := c.Failover(t)
	if n := count(t, open(t, np.DSN("d")), "SELECT COUNT(*) FROM t"); n != 0 {
		t.Fatalf("new primary has %d rows, want 0 (the commit never reached it)", n)
	}

	err := old.Start()
	var errant *semisynctest.ErrantGTIDError
	if !errors.As(err, &errant) {
		t.Fatalf("old.Start() = %v, want an ErrantGTIDError", err)
	}
	if want := uuid + ":3"; errant.GTIDs != want || !strings.Contains(gtids, uuid+":1-3") {
		t.Fatalf("errant GTIDs %q, want %q (old primary's gtid_executed %q)", errant.GTIDs, want, gtids)
	}
	if !old.Running() || len(c.Replicas) != 0 {
		t.Fatalf("after the refused rejoin: running=%v, %d replicas", old.Running(), len(c.Replicas))
	}
	_, err = open(t, old.DSN("d")).Exec("INSERT INTO t VALUES (2)")
	if errNumber(err) != 1290 {
		t.Fatalf("write on the refused old primary: %v, want 1290", err)
	}
}

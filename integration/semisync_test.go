package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// gatedReplica is a go-mysql semi-sync replica that writes and fsyncs
// every event to its own file and whose ACKs the test controls: its handler blocks at the end of every transaction until the
// test lets it pass, and go-mysql sends the ACK only after the handler
// returns (as a real replica acknowledges only after its relay log write).
type gatedReplica struct {
	syncer *replication.BinlogSyncer
	relay  *os.File // every event is appended and fsynced before the ACK
	mu     sync.Mutex
	open   bool
	cond   *sync.Cond
	passes int
	txEnds atomic.Int64
}

func (g *gatedReplica) HandleEvent(e *replication.BinlogEvent) error {
	if _, err := g.relay.Write(e.RawData); err != nil {
		return err
	}
	if err := g.relay.Sync(); err != nil {
		return err
	}
	end := false
	switch ev := e.Event.(type) {
	case *replication.XIDEvent:
		end = true
	case *replication.QueryEvent:
		end = string(ev.Query) != "BEGIN"
	}
	if !end {
		return nil
	}
	g.mu.Lock()
	for !g.open && g.passes == 0 {
		g.cond.Wait()
	}
	if !g.open {
		g.passes--
	}
	g.mu.Unlock()
	g.txEnds.Add(1)
	return nil
}

// pass lets n more transaction ends through; openAll lets everything
// through from now on; hold stops them again.
func (g *gatedReplica) pass(n int) { g.mu.Lock(); g.passes += n; g.cond.Broadcast(); g.mu.Unlock() }
func (g *gatedReplica) openAll()   { g.mu.Lock(); g.open = true; g.cond.Broadcast(); g.mu.Unlock() }
func (g *gatedReplica) hold()      { g.mu.Lock(); g.open = false; g.mu.Unlock() }

// startReplica connects a replica at the primary's current position.
func startReplica(t *testing.T, srv *Server, semi, open bool) *gatedReplica {
	t.Helper()
	db := srv.DB(t, "")
	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Addr)
	pn, _ := strconv.Atoi(port)
	relay, err := os.Create(filepath.Join(t.TempDir(), "relay.bin"))
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedReplica{open: open, relay: relay}
	g.cond = sync.NewCond(&g.mu)
	g.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: nextServerID(), Flavor: "mysql", Logger: quietLog, Host: host, Port: uint16(pn), User: "root",
		SemiSyncEnabled: semi, SynchronousEventHandler: g,
	})
	if _, err := g.syncer.StartSync(gmysql.Position{Name: file, Pos: pos}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.openAll(); g.syncer.Close(); relay.Close() })
	return g
}

// semiSyncServer starts a primary with table s.t and the source plugin
// enabled (after the schema: with no replica, a commit would wait).
func semiSyncServer(t *testing.T, extra ...string) (*Server, *sql.DB) {
	t.Helper()
	srv := StartServer(t)
	db := srv.DB(t, "")
	db.SetMaxOpenConns(32)
	mustExec(t, db, "CREATE DATABASE s")
	mustExec(t, db, "CREATE TABLE s.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
	for _, q := range extra {
		mustExec(t, db, q)
	}
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_enabled = ON")
	return srv, db
}

// asyncExec runs q on its own connection and reports its error and time.
func asyncExec(db *sql.DB, q string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := db.Exec(q)
		done <- err
	}()
	return done
}

func statusInt(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	n, err := strconv.Atoi(globalStatus(t, db, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

// expectAcked checks that yes_tx rose by n since before and status is ON.
func expectAcked(t *testing.T, db *sql.DB, before, n int) {
	t.Helper()
	if got := statusInt(t, db, "Rpl_semi_sync_source_yes_tx") - before; got != n {
		t.Fatalf("yes_tx rose by %d, want %d", got, n)
	}
	if st := globalStatus(t, db, "Rpl_semi_sync_source_status"); st != "ON" {
		t.Fatalf("status %s, want ON", st)
	}
}

func expectBlocked(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned (%v) while its ACK was held", what, err)
	case <-time.After(100 * time.Millisecond):
	}
}

func expectDone(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still waiting after 10 s", what)
	}
}

// TestSemiSyncCommitsWaitForAcks: each of K commits waits until the
// replica acknowledges it: yes_tx = K, tx_waits = K, tx_avg_wait_time > 0,
// status ON, clients 1. A replica that did not announce semi-sync gets
// plain packets and is not counted.
func TestSemiSyncCommitsWaitForAcks(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	plain := startReplica(t, srv, false, true)
	g := startReplica(t, srv, true, false)
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	base := statusInt(t, db, "Rpl_semi_sync_source_yes_tx")
	baseWaits := statusInt(t, db, "Rpl_semi_sync_source_tx_waits")
	const k = 5
	for i := 1; i <= k; i++ {
		done := asyncExec(db, fmt.Sprintf("INSERT INTO s.t VALUES (%d)", i))
		waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
		expectBlocked(t, done, "a commit")
		g.pass(1)
		expectDone(t, done, "the acknowledged commit")
	}
	if got := statusInt(t, db, "Rpl_semi_sync_source_yes_tx") - base; got != k {
		t.Fatalf("yes_tx rose by %d, want %d", got, k)
	}
	if got := statusInt(t, db, "Rpl_semi_sync_source_tx_waits") - baseWaits; got != k {
		t.Fatalf("tx_waits rose by %d, want %d", got, k)
	}
	if statusInt(t, db, "Rpl_semi_sync_source_tx_avg_wait_time") <= 0 || globalStatus(t, db, "Rpl_semi_sync_source_status") != "ON" ||
		globalStatus(t, db, "Rpl_semi_sync_source_clients") != "1" {
		t.Fatalf("avg wait %s, status %s, clients %s", globalStatus(t, db, "Rpl_semi_sync_source_tx_avg_wait_time"),
			globalStatus(t, db, "Rpl_semi_sync_source_status"), globalStatus(t, db, "Rpl_semi_sync_source_clients"))
	}
	// The plain replica got every transaction too.
	deadline := time.Now().Add(10 * time.Second)
	for plain.txEnds.Load() < k && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if plain.txEnds.Load() < k {
		t.Fatalf("the plain replica received %d transactions", plain.txEnds.Load())
	}
}

// TestSemiSyncTimeoutAndSwitchBackOn: with no ACK, a commit returns after
// about the timeout, status goes OFF, no_tx and no_times rise and the next
// commit does not wait; when the replica catches up, status is ON again
// without any new write.
func TestSemiSyncTimeoutAndSwitchBackOn(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 500")
	g := startReplica(t, srv, true, false)
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	noTx, noTimes := statusInt(t, db, "Rpl_semi_sync_source_no_tx"), statusInt(t, db, "Rpl_semi_sync_source_no_times")
	txWaits := statusInt(t, db, "Rpl_semi_sync_source_tx_waits")
	start := time.Now()
	mustExec(t, db, "INSERT INTO s.t VALUES (1)")
	if d := time.Since(start); d < 450*time.Millisecond || d > 10*time.Second {
		t.Fatalf("the unacknowledged commit returned after %v, want about 500 ms", d)
	}
	// Its own timer expired: not a counted wait (MySQL's commitTrx counts only woken waits).
	if got := statusInt(t, db, "Rpl_semi_sync_source_tx_waits"); got != txWaits {
		t.Fatalf("tx_waits %d after a commit that timed out, want %d", got, txWaits)
	}
	if globalStatus(t, db, "Rpl_semi_sync_source_status") != "OFF" ||
		statusInt(t, db, "Rpl_semi_sync_source_no_tx") != noTx+1 || statusInt(t, db, "Rpl_semi_sync_source_no_times") != noTimes+1 {
		t.Fatalf("after the timeout: status %s no_tx %s no_times %s", globalStatus(t, db, "Rpl_semi_sync_source_status"),
			globalStatus(t, db, "Rpl_semi_sync_source_no_tx"), globalStatus(t, db, "Rpl_semi_sync_source_no_times"))
	}
	srv.WaitForLog(t, "Timeout waiting for reply of binlog (file: binlog.000001, pos: ", 5*time.Second)
	srv.WaitForLog(t, "Semi-sync replication switched OFF.", 5*time.Second)
	// While OFF a commit does not wait: with a 30 s timeout, a wait would
	// show (the bound is far from what a loaded machine takes).
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_timeout = 30000")
	start = time.Now()
	mustExec(t, db, "INSERT INTO s.t VALUES (2)")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a commit while OFF took %v: it waited for the timeout", d)
	}
	if got := statusInt(t, db, "Rpl_semi_sync_source_tx_waits"); got != txWaits {
		t.Fatalf("tx_waits %d after a commit while OFF, want %d", got, txWaits)
	}
	if statusInt(t, db, "Rpl_semi_sync_source_no_tx") != noTx+2 {
		t.Fatalf("no_tx %s, want %d", globalStatus(t, db, "Rpl_semi_sync_source_no_tx"), noTx+2)
	}
	// The replica catches up: its ACK of the last event switches ON.
	g.openAll()
	waitStatus(t, db, "Rpl_semi_sync_source_status", "ON")
	srv.WaitForLog(t, "Semi-sync replication switched ON at (binlog.000001, ", 5*time.Second)
	yes := statusInt(t, db, "Rpl_semi_sync_source_yes_tx")
	mustExec(t, db, "INSERT INTO s.t VALUES (3)")
	expectAcked(t, db, yes, 1)
}

// TestSemiSyncWaitNoReplica: with no semi-sync replica, wait_no_replica ON
// keeps status ON and a commit waits the timeout. Re-applying ON (the value
// it has) leaves the timed-out status OFF, as MySQL's
// fix_rpl_semi_sync_source_wait_no_replica acts only on a change, so a
// tool re-applying its settings does not make the next commit wait again.
// OFF then ON forces status ON; OFF with no replica switches it OFF and
// commits do not wait.
func TestSemiSyncWaitNoReplica(t *testing.T) {
	_, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 300")
	start := time.Now()
	mustExec(t, db, "INSERT INTO s.t VALUES (1)")
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("wait_no_replica ON, no replica: the commit returned after %v, want the 300 ms timeout", d)
	}
	waitStatus(t, db, "Rpl_semi_sync_source_status", "OFF")
	noTimes := statusInt(t, db, "Rpl_semi_sync_source_no_times")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_wait_no_replica = ON") // unchanged: no effect
	if globalStatus(t, db, "Rpl_semi_sync_source_status") != "OFF" {
		t.Fatal("re-applying wait_no_replica = ON turned status back ON")
	}
	noTx := statusInt(t, db, "Rpl_semi_sync_source_no_tx")
	mustExec(t, db, "INSERT INTO s.t VALUES (10)")
	if statusInt(t, db, "Rpl_semi_sync_source_no_tx") != noTx+1 || statusInt(t, db, "Rpl_semi_sync_source_wait_sessions") != 0 {
		t.Fatalf("a commit after re-applying ON: no_tx %s (want %d)", globalStatus(t, db, "Rpl_semi_sync_source_no_tx"), noTx+1)
	}
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_wait_no_replica = OFF")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_wait_no_replica = ON") // a change: forces ON
	if globalStatus(t, db, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatal("changing wait_no_replica OFF → ON did not force status ON")
	}
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_wait_no_replica = OFF")
	if globalStatus(t, db, "Rpl_semi_sync_source_status") != "OFF" {
		t.Fatal("wait_no_replica OFF with no replica left status ON")
	}
	if got := statusInt(t, db, "Rpl_semi_sync_source_no_times"); got != noTimes+1 {
		t.Fatalf("no_times %d, want %d (one switch-off by wait_no_replica = OFF)", got, noTimes+1)
	}
	start = time.Now()
	mustExec(t, db, "INSERT INTO s.t VALUES (2)")
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("wait_no_replica OFF: the commit took %v", d)
	}
}

// TestSemiSyncDisableWhileWaiting: turning semi-sync off releases a waiting
// commit at once as no_tx; it was woken by the switch-off, not by its own
// timeout, so tx_waits counts it (MySQL's ReplSemiSyncMaster::commitTrx).
func TestSemiSyncDisableWhileWaiting(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	startReplica(t, srv, true, false)
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	noTx := statusInt(t, db, "Rpl_semi_sync_source_no_tx")
	txWaits := statusInt(t, db, "Rpl_semi_sync_source_tx_waits")
	done := asyncExec(db, "INSERT INTO s.t VALUES (1)")
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_enabled = OFF")
	expectDone(t, done, "the waiting commit after disabling")
	if statusInt(t, db, "Rpl_semi_sync_source_no_tx") != noTx+1 || globalStatus(t, db, "Rpl_semi_sync_source_status") != "OFF" {
		t.Fatalf("no_tx %s status %s", globalStatus(t, db, "Rpl_semi_sync_source_no_tx"), globalStatus(t, db, "Rpl_semi_sync_source_status"))
	}
	if got := statusInt(t, db, "Rpl_semi_sync_source_tx_waits"); got != txWaits+1 {
		t.Fatalf("tx_waits %d, want %d: the commit woken by the switch-off counts", got, txWaits+1)
	}
}

// TestSemiSyncVisibility: while a commit waits for its ACK, AFTER_SYNC
// keeps the row invisible to other sessions; AFTER_COMMIT shows it.
func TestSemiSyncVisibility(t *testing.T) {
	for _, c := range []struct {
		point   string
		visible int
	}{{"AFTER_SYNC", 0}, {"AFTER_COMMIT", 1}} {
		t.Run(c.point, func(t *testing.T) {
			srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000",
				"SET GLOBAL rpl_semi_sync_source_wait_point = "+c.point)
			g := startReplica(t, srv, true, false)
			waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
			yes := statusInt(t, db, "Rpl_semi_sync_source_yes_tx")
			done := asyncExec(db, "INSERT INTO s.t VALUES (42)")
			waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM s.t WHERE id = 42").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.visible {
				t.Fatalf("%s: another session sees %d rows while the commit waits, want %d", c.point, n, c.visible)
			}
			g.pass(1)
			expectDone(t, done, "the commit")
			if err := db.QueryRow("SELECT COUNT(*) FROM s.t WHERE id = 42").Scan(&n); err != nil || n != 1 {
				t.Fatalf("after the ACK: %d rows, %v", n, err)
			}
			expectAcked(t, db, yes, 1)
		})
	}
}

// TestSemiSyncReplicaCount: with wait_for_replica_count = 2 and three
// replicas, a commit needs two distinct ACKs; lowering the count to 1
// releases a waiting commit.
func TestSemiSyncReplicaCount(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000",
		"SET GLOBAL rpl_semi_sync_source_wait_for_replica_count = 2")
	r := []*gatedReplica{startReplica(t, srv, true, false), startReplica(t, srv, true, false), startReplica(t, srv, true, false)}
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "3")
	yes := statusInt(t, db, "Rpl_semi_sync_source_yes_tx")
	done := asyncExec(db, "INSERT INTO s.t VALUES (1)")
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	r[0].pass(1)
	expectBlocked(t, done, "a commit with one ACK of two")
	r[2].pass(1)
	expectDone(t, done, "the commit with two ACKs")

	done = asyncExec(db, "INSERT INTO s.t VALUES (2)")
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	r[1].pass(2) // replica 1 now ACKs both transactions
	expectBlocked(t, done, "a commit with one ACK of two")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_source_wait_for_replica_count = 1")
	expectDone(t, done, "the commit after lowering the count")
	expectAcked(t, db, yes, 2)
	for _, g := range r {
		g.openAll()
	}
}

// TestSemiSyncKillWaitingCommit: KILL QUERY ends a commit's wait; the
// transaction is committed (it is in the binlog) and counted as no_tx;
// semi-sync stays ON.
func TestSemiSyncKillWaitingCommit(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	startReplica(t, srv, true, false)
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id int
	if err := conn.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	noTx := statusInt(t, db, "Rpl_semi_sync_source_no_tx")
	done := make(chan error, 1)
	go func() {
		_, err := conn.ExecContext(context.Background(), "INSERT INTO s.t VALUES (7)")
		done <- err
	}()
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	mustExec(t, db, fmt.Sprintf("KILL QUERY %d", id))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("KILL QUERY did not end the wait")
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM s.t WHERE id = 7").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the killed commit's row: %d, %v (it is in the binlog, so it is committed)", n, err)
	}
	if statusInt(t, db, "Rpl_semi_sync_source_no_tx") != noTx+1 || globalStatus(t, db, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatalf("no_tx %s status %s", globalStatus(t, db, "Rpl_semi_sync_source_no_tx"), globalStatus(t, db, "Rpl_semi_sync_source_status"))
	}
}

// TestSemiSyncCountersReset: FLUSH STATUS zeroes yes_tx/no_tx/no_times but
// not the wait totals; RESET MASTER zeroes those too; clients and status
// stay.
func TestSemiSyncCountersReset(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
	g := startReplica(t, srv, true, true)
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	g.hold()
	done := asyncExec(db, "INSERT INTO s.t VALUES (1)")
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	g.openAll()
	expectDone(t, done, "the commit")
	if statusInt(t, db, "Rpl_semi_sync_source_yes_tx") < 1 || statusInt(t, db, "Rpl_semi_sync_source_tx_waits") < 1 {
		t.Fatal("nothing counted")
	}
	mustExec(t, db, "FLUSH STATUS")
	if statusInt(t, db, "Rpl_semi_sync_source_yes_tx") != 0 || statusInt(t, db, "Rpl_semi_sync_source_tx_waits") < 1 {
		t.Fatalf("after FLUSH STATUS: yes_tx %s tx_waits %s", globalStatus(t, db, "Rpl_semi_sync_source_yes_tx"), globalStatus(t, db, "Rpl_semi_sync_source_tx_waits"))
	}
	mustExec(t, db, "RESET MASTER")
	for _, name := range []string{"yes_tx", "no_tx", "tx_waits", "tx_wait_time", "net_waits", "no_times"} {
		if v := statusInt(t, db, "Rpl_semi_sync_source_"+name); v != 0 {
			t.Errorf("after RESET MASTER %s = %d", name, v)
		}
	}
	if globalStatus(t, db, "Rpl_semi_sync_source_clients") != "1" || globalStatus(t, db, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatal("RESET MASTER changed clients or status")
	}
}

// TestSemiSyncShutdownNeverHangs: SIGTERM while a commit waits for an ACK
// that never comes stops the server promptly.
func TestSemiSyncShutdownNeverHangs(t *testing.T) {
	srv, db := semiSyncServer(t, "SET GLOBAL rpl_semi_sync_source_timeout = 3600000")
	startReplica(t, srv, true, false)
	waitStatus(t, db, "Rpl_semi_sync_source_clients", "1")
	asyncExec(db, "INSERT INTO s.t VALUES (1)")
	waitStatus(t, db, "Rpl_semi_sync_source_wait_sessions", "1")
	srv.Signal(t, syscall.SIGTERM)
	if err := srv.Wait(t, 15*time.Second); err != nil {
		t.Fatalf("the server did not stop cleanly with a commit waiting: %v", err)
	}
}

// TestSemiSyncHandshake: a replica that probes as MariaDB and MySQL 5.7
// replicas do (the old names), announces with only
// SET @rpl_semi_sync_slave= 1 and sends COM_BINLOG_DUMP gets 0xEF-prefixed
// packets and is counted; the new family's variable answers 1193 while
// only the old plugin is installed; without the SET a dump is plain.
func TestSemiSyncHandshake(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'")
	mustExec(t, db, "SET GLOBAL rpl_semi_sync_master_enabled = ON")
	for _, announce := range []bool{true, false} {
		c, err := client.Connect(srv.Addr, "root", "", "")
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Execute("SHOW VARIABLES LIKE 'rpl_semi_sync_master_enabled'")
		if err != nil || r.RowNumber() != 1 {
			t.Fatalf("probe: %v rows, %v", r, err)
		}
		if _, err := c.Execute("SELECT @@global.rpl_semi_sync_master_enabled"); err != nil {
			t.Fatalf("5.7 probe: %v", err)
		}
		if _, err := c.Execute("SELECT @@global.rpl_semi_sync_source_enabled"); err == nil || !strings.Contains(err.Error(), "1193") {
			t.Fatalf("the new family's variable with the old plugin: %v, want 1193", err)
		}
		if announce {
			if _, err := c.Execute("SET @rpl_semi_sync_slave= 1"); err != nil {
				t.Fatal(err)
			}
		}
		// COM_BINLOG_DUMP: pos u32, flags u16, server_id u32, file name.
		cmd := []byte{0, 0, 0, 0, 0x12, 4, 0, 0, 0, 0, 0, 77, 0, 0, 0}
		cmd = append(cmd, "binlog.000001"...)
		c.ResetSequence()
		if err := c.WritePacket(cmd); err != nil {
			t.Fatal(err)
		}
		p, err := c.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		if announce && (p[0] != 0 || p[1] != 0xEF) {
			t.Fatalf("semi-sync dump packet starts % x, want 00 ef", p[:3])
		}
		if !announce && (p[0] != 0 || p[1] == 0xEF) {
			t.Fatalf("plain dump packet starts % x", p[:3])
		}
		if announce {
			waitStatus(t, db, "Rpl_semi_sync_master_clients", "1")
		} else if got := globalStatus(t, db, "Rpl_semi_sync_master_clients"); got != "0" {
			t.Fatalf("a plain dump was counted: clients %s", got)
		}
		c.Close()
		waitStatus(t, db, "Rpl_semi_sync_master_clients", "0")
	}
}

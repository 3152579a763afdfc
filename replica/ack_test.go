package replica_test

import (
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/replica"
	"github.com/semisyncd/semisyncd/sqlserver"
	"github.com/semisyncd/semisyncd/storage"
)

// gatedRelay is a relay log whose Flush can be held: the IO thread must not
// ACK a flagged event before its Flush returned.
type gatedRelay struct {
	replica.RelayWriter

	mu       sync.Mutex
	hold     bool
	flushing chan struct{} // receives when a held Flush is entered
	release  chan struct{} // closed to let held Flushes go on
}

func (g *gatedRelay) Flush() error {
	g.mu.Lock()
	hold := g.hold
	g.mu.Unlock()
	if hold {
		select {
		case g.flushing <- struct{}{}:
		case <-g.release:
		}
		<-g.release
	}
	return g.RelayWriter.Flush()
}

func (g *gatedRelay) arm() {
	g.mu.Lock()
	g.hold = true
	g.mu.Unlock()
}

func startPrimary(t *testing.T) *sqlserver.Server {
	t.Helper()
	logger, _ := logtest.NewNullLogger()
	srv, err := sqlserver.New(sqlserver.Config{DataDir: t.TempDir(), ServerID: 1}, storage.New(storage.Options{}), logrus.NewEntry(logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func openDB(t *testing.T, addr string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", addr
	cfg.Timeout = 5 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 15s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestAckWaitsForRelayLogFlush: against a real semisyncd primary with
// semi-sync on (AFTER_SYNC), a commit stays waiting while the replica's
// relay log flush of that transaction is held, and completes as a yes_tx
// once the flush returns and the ACK goes out.
func TestAckWaitsForRelayLogFlush(t *testing.T) {
	primary := startPrimary(t)
	db := openDB(t, primary.Addr())
	for _, q := range []string{
		"INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'",
		"SET GLOBAL rpl_semi_sync_source_timeout = 60000",
		"SET GLOBAL rpl_semi_sync_source_enabled = 1",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	src := primary.SemiSyncSource()

	gate := &gatedRelay{flushing: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(gate.release) }) }
	logger, _ := logtest.NewNullLogger()
	rep, err := replica.New(replica.Config{
		DataDir: t.TempDir(), ServerID: 2, ServerUUID: uuid.NewString(),
		WrapRelay: func(w replica.RelayWriter) replica.RelayWriter { gate.RelayWriter = w; return gate },
		Log:       logrus.NewEntry(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	t.Cleanup(release) // runs first: a failing test must not leave the IO thread held
	rep.SetSemiSyncEnabled(true)
	host, portText, _ := net.SplitHostPort(primary.Addr())
	port, _ := strconv.Atoi(portText)
	user := "root"
	if err := rep.Change(replica.ChangeOptions{Host: &host, Port: &port, User: &user}); err != nil {
		t.Fatal(err)
	}
	if err := rep.Start(replica.IOThread); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "semi-sync negotiated", func() bool { return rep.SemiSyncStatus() && src.Counters().Clients == 1 && src.Status() })

	gate.arm()
	done := make(chan error, 1)
	go func() {
		_, err := db.Exec("CREATE DATABASE acked")
		done <- err
	}()
	select {
	case <-gate.flushing:
	case err := <-done:
		t.Fatalf("the commit returned (%v) before the replica flushed its relay log", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the transaction never reached the replica's relay log flush")
	}
	// The flush is held: no ACK may have gone out, so the commit waits. (The
	// replica may reach its flush before the committing session registers
	// its wait: the events are readable once fsynced.)
	waitFor(t, "the commit waiting for its ACK", func() bool { return src.Counters().WaitSessions == 1 })
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the commit returned (%v) while the relay log flush was held", err)
		default:
		}
		if c := src.Counters(); c.YesTx != 0 || c.WaitSessions != 1 {
			t.Fatalf("while the flush is held: yes_tx %d, wait_sessions %d; want 0 and 1", c.YesTx, c.WaitSessions)
		}
		time.Sleep(5 * time.Millisecond)
	}

	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the commit did not return after the flush")
	}
	if c := src.Counters(); c.YesTx != 1 || c.NoTx != 0 || c.WaitSessions != 0 || !src.Status() {
		t.Fatalf("after the ACK: yes_tx %d no_tx %d wait_sessions %d status %v; want 1 0 0 ON", c.YesTx, c.NoTx, c.WaitSessions, src.Status())
	}
	if got := rep.RelayLog().Retrieved().String(); got == "" {
		t.Fatal("the acknowledged transaction is not in the relay log's retrieved set")
	}
}

// failingRelay fails the Append of the first rows event once armed, as a
// full disk would: the IO thread stops with the transaction half queued.
type failingRelay struct {
	replica.RelayWriter
	armed atomic.Bool
}

func (f *failingRelay) Append(ev []byte) error {
	if len(ev) > 4 && ev[4] == binlog.WRITE_ROWS_EVENT && f.armed.CompareAndSwap(true, false) {
		return errors.New("no space left on device")
	}
	return f.RelayWriter.Append(ev)
}

// TestIOThreadRestartDropsPartialTransaction: an IO thread that stopped in
// the middle of a transaction (a relay log write failed) and is started
// again drops what it had of that transaction and receives it whole: the
// relay log never holds a transaction cut by the next one.
func TestIOThreadRestartDropsPartialTransaction(t *testing.T) {
	primary := startPrimary(t)
	db := openDB(t, primary.Addr())
	relay := &failingRelay{}
	logger, _ := logtest.NewNullLogger()
	rep, err := replica.New(replica.Config{
		DataDir: t.TempDir(), ServerID: 2, ServerUUID: uuid.NewString(),
		WrapRelay: func(w replica.RelayWriter) replica.RelayWriter { relay.RelayWriter = w; return relay },
		Log:       logrus.NewEntry(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	host, portText, _ := net.SplitHostPort(primary.Addr())
	port, _ := strconv.Atoi(portText)
	user := "root"
	if err := rep.Change(replica.ChangeOptions{Host: &host, Port: &port, User: &user}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE DATABASE p", "CREATE TABLE p.t (id INT PRIMARY KEY)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := rep.Start(replica.IOThread); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the DDL received", func() bool { return strings.HasSuffix(rep.RelayLog().Retrieved().String(), ":1-2") })

	relay.armed.Store(true)
	if _, err := db.Exec("INSERT INTO p.t VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the IO thread stopping on the write failure", func() bool { return rep.Running() == 0 })
	st, _ := rep.Status()
	if st.LastIOErrno != 1595 || st.LastIOError != "Relay log write failure: could not queue event from source" {
		t.Fatalf("Last_IO_Errno %d %q", st.LastIOErrno, st.LastIOError)
	}
	if err := rep.Start(replica.IOThread); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the insert received", func() bool { return strings.HasSuffix(rep.RelayLog().Retrieved().String(), ":1-3") })

	// Every GTID in the relay log starts a transaction that ends before the
	// next one starts.
	inTx, txs := false, 0
	for _, name := range rep.RelayLog().Files() {
		fr, err := binlog.OpenFile(rep.RelayLog().Path(name))
		if err != nil {
			t.Fatal(err)
		}
		for {
			ev, pos, err := fr.Next()
			if err != nil {
				break
			}
			h, _ := binlog.ParseHeader(ev)
			switch h.Type {
			case binlog.GTID_LOG_EVENT:
				if inTx {
					t.Fatalf("%s at %d: a GTID inside an unfinished transaction", name, pos)
				}
				inTx = true
				txs++
			case binlog.XID_EVENT:
				inTx = false
			case binlog.QUERY_EVENT:
				if q, _ := binlog.ParseQuery(fr.Body(ev)); q.SQL != "BEGIN" {
					inTx = false
				}
			}
		}
		fr.Close()
	}
	if txs != 3 || inTx {
		t.Fatalf("relay log holds %d transactions (last open: %v), want 3 complete", txs, inTx)
	}
}

// TestRelayFsyncFailureNeverAcks: with sync_relay_log = 1, a relay-log
// fsync that fails stops the IO thread with 1595 and MySQL's text and sends
// no ACK for that transaction (the primary's commit times out: no_tx), and
// START REPLICA once the fault is gone resumes without a gap, acknowledging
// again (yes_tx rises, status ON).
func TestRelayFsyncFailureNeverAcks(t *testing.T) {
	primary := startPrimary(t)
	db := openDB(t, primary.Addr())
	for _, q := range []string{
		"INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'",
		"SET GLOBAL rpl_semi_sync_source_timeout = 1500",
		"SET GLOBAL rpl_semi_sync_source_enabled = 1",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	src := primary.SemiSyncSource()
	fs := vfs.NewFaulty(nil)
	logger, _ := logtest.NewNullLogger()
	rep, err := replica.New(replica.Config{
		DataDir: t.TempDir(), ServerID: 2, ServerUUID: uuid.NewString(), FS: fs,
		Log: logrus.NewEntry(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	rep.RelayLog().SetSyncRelayLog(1)
	rep.SetSemiSyncEnabled(true)
	host, portText, _ := net.SplitHostPort(primary.Addr())
	port, _ := strconv.Atoi(portText)
	user := "root"
	if err := rep.Change(replica.ChangeOptions{Host: &host, Port: &port, User: &user}); err != nil {
		t.Fatal(err)
	}
	if err := rep.Start(replica.IOThread); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "semi-sync negotiated", func() bool { return rep.SemiSyncStatus() && src.Counters().Clients == 1 && src.Status() })
	if _, err := db.Exec("CREATE DATABASE a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first commit counted as acknowledged", func() bool { c := src.Counters(); return c.YesTx == 1 && c.WaitSessions == 0 })
	if c := src.Counters(); c.NoTx != 0 || !src.Status() {
		t.Fatalf("first commit: %+v status %v", c, src.Status())
	}

	fs.Inject(vfs.Fault{Op: vfs.OpSync, Match: "relay-bin.0", Err: syscall.EIO, Count: -1})
	if _, err := db.Exec("CREATE DATABASE b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the IO thread stopping", func() bool { return rep.Running()&replica.IOThread == 0 })
	st, _ := rep.Status()
	if st.LastIOErrno != 1595 || st.LastIOError != "Relay log write failure: could not queue event from source" {
		t.Fatalf("Last_IO_Errno %d %q", st.LastIOErrno, st.LastIOError)
	}
	waitFor(t, "the unacknowledged commit counted", func() bool { return src.Counters().NoTx == 1 })
	if c := src.Counters(); c.YesTx != 1 {
		t.Fatalf("the transaction whose relay fsync failed: %+v; want yes_tx 1 (no ACK)", c)
	}
	if got := rep.RelayLog().Retrieved().String(); strings.Contains(got, ":1-2") {
		t.Fatalf("the unsynced transaction was published: %q", got)
	}

	fs.Clear()
	if err := rep.Start(replica.IOThread); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the missed transaction received again", func() bool { return strings.HasSuffix(rep.RelayLog().Retrieved().String(), ":1-2") })
	// The source switches semi-sync back on once the replica caught up.
	waitFor(t, "semi-sync back on", func() bool { return rep.SemiSyncStatus() && src.Counters().Clients == 1 && src.Status() })
	if _, err := db.Exec("CREATE DATABASE c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the relay log holding every transaction", func() bool { return strings.HasSuffix(rep.RelayLog().Retrieved().String(), ":1-3") })
	waitFor(t, "the third commit counted", func() bool { c := src.Counters(); return c.YesTx+c.NoTx == 3 && c.WaitSessions == 0 })
	if c := src.Counters(); c.YesTx != 2 || !src.Status() {
		t.Fatalf("after START REPLICA: %+v status %v; want yes_tx 2, ON", c, src.Status())
	}
}

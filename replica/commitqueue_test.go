package replica

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
)

// gatedApplier returns, for every transaction, a finish that blocks until
// the test opens the transaction's gate, and records the order of Apply
// and finish calls. fail scripts a finish's error by GTID number.
type gatedApplier struct {
	mu       sync.Mutex
	gates    map[int64]chan struct{}
	opened   map[int64]bool
	fail     map[int64]error
	applied  []int64
	finished []int64
	// Apply of a DDL transaction while a finish was outstanding.
	violations []string
}

func newGatedApplier() *gatedApplier {
	return &gatedApplier{gates: map[int64]chan struct{}{}, opened: map[int64]bool{}, fail: map[int64]error{}}
}

func gno(tx *Transaction) int64 {
	_, n, _ := strings.Cut(tx.GTID, ":")
	var v int64
	fmt.Sscan(n, &v)
	return v
}

func (a *gatedApplier) gate(n int64) chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.gates[n]
	if g == nil {
		g = make(chan struct{})
		a.gates[n] = g
	}
	return g
}

func (a *gatedApplier) open(n int64) {
	g := a.gate(n)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.opened[n] {
		a.opened[n] = true
		close(g)
	}
}

// openAll opens every gate up to n: a failing test must not leave the SQL
// thread waiting in a finish when the replica closes.
func (a *gatedApplier) openAll(n int64) {
	for i := int64(1); i <= n; i++ {
		a.open(i)
	}
}

func (a *gatedApplier) Apply(_ context.Context, tx *Transaction) (func() error, error) {
	n := gno(tx)
	a.mu.Lock()
	if hasQuery(tx) && len(a.finished) != len(a.applied) {
		a.violations = append(a.violations, fmt.Sprintf("DDL %d applied with finishes outstanding (applied %v, finished %v)", n, a.applied, a.finished))
	}
	a.applied = append(a.applied, n)
	a.mu.Unlock()
	if hasQuery(tx) {
		return nil, nil
	}
	g := a.gate(n)
	return func() error {
		<-g
		a.mu.Lock()
		defer a.mu.Unlock()
		a.finished = append(a.finished, n)
		return a.fail[n]
	}, nil
}

func (a *gatedApplier) snapshot() (applied, finished []int64, violations []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int64(nil), a.applied...), append([]int64(nil), a.finished...), append([]string(nil), a.violations...)
}

// pipelineReplica is a replica with a gated applier and, in its relay log,
// transactions 1..n (GTID, BEGIN, XID) ending at source positions
// 100, 200, …; ddl lists the ones that are a CREATE TABLE instead.
func pipelineReplica(t *testing.T, app *gatedApplier, executed func() string, n int, ddl ...int64) *Replica {
	t.Helper()
	r, err := New(Config{DataDir: t.TempDir(), ServerID: 2, Applier: app, Executed: executed, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		app.openAll(int64(n))
		r.Close()
	})
	host := "source.example"
	if err := r.Change(ChangeOptions{Host: &host}); err != nil {
		t.Fatal(err)
	}
	relay := r.RelayLog()
	if err := relay.Append(rotateEvent(1, binlog.Position{File: "binlog.000001", Pos: 4})); err != nil {
		t.Fatal(err)
	}
	relay.MarkBoundary(binlog.Position{File: "binlog.000001", Pos: 4}, nil)
	isDDL := map[int64]bool{}
	for _, d := range ddl {
		isDDL[d] = true
	}
	for i := int64(1); i <= int64(n); i++ {
		end := uint32(100 * i)
		if !isDDL[i] {
			appendTx(t, relay, i, end)
			continue
		}
		for _, ev := range [][]byte{gtidEv(t, i, end-60), queryEv("d", fmt.Sprintf("CREATE TABLE t%d (a INT)", i), end)} {
			if err := relay.Append(ev); err != nil {
				t.Fatal(err)
			}
		}
		g, _ := binlog.ParseGTID(binlog.EventBody(gtidEv(t, i, 0), true))
		relay.MarkBoundary(binlog.Position{File: "binlog.000001", Pos: uint64(end)}, &g)
	}
	if err := relay.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

// startApplying starts r's SQL thread and waits until app saw at least n transactions.
func startApplying(t *testing.T, r *Replica, app *gatedApplier, n int) {
	t.Helper()
	if err := r.Start(SQLThread); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, fmt.Sprintf("%d transactions applied", n), func() bool {
		applied, _, _ := app.snapshot()
		return len(applied) >= n
	})
}

func execPos(r *Replica) uint64 {
	st, _ := r.Status()
	return st.ExecSourceLogPos
}

// TestSQLThreadPipelinesCommits: the SQL thread applies the next
// transactions while earlier commits finish, calls the finishes in order,
// and moves Exec_Source_Log_Pos past a transaction only once its finish
// and every earlier one returned.
func TestSQLThreadPipelinesCommits(t *testing.T) {
	app := newGatedApplier()
	r := pipelineReplica(t, app, nil, 5)
	// All five are applied while the first commit still waits.
	startApplying(t, r, app, 5)
	if p := execPos(r); p != 4 {
		t.Fatalf("Exec_Source_Log_Pos %d before any commit finished, want 4", p)
	}
	// The third finishing first must not move the position: the first
	// two are not complete.
	app.open(3)
	app.open(1)
	waitUntil(t, "position after transaction 1", func() bool { return execPos(r) == 100 })
	app.open(2)
	waitUntil(t, "position after transaction 3", func() bool { return execPos(r) == 300 })
	app.open(4)
	app.open(5)
	waitUntil(t, "position after transaction 5", func() bool { return execPos(r) == 500 })
	_, finished, _ := app.snapshot()
	if fmt.Sprint(finished) != "[1 2 3 4 5]" {
		t.Fatalf("finishes called in order %v", finished)
	}
	waitUntil(t, "caught up", func() bool {
		st, _ := r.Status()
		return strings.Contains(st.SQLRunningState, "read all relay log")
	})
	if err := r.Stop(SQLThread); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Status(); st.ExecSourceLogPos != 500 || st.LastSQLErrno != 0 {
		t.Fatalf("after STOP: %+v", st)
	}
}

// TestSQLThreadDrainsBeforeStatement: a DDL transaction is applied only once
// every earlier commit is complete.
func TestSQLThreadDrainsBeforeStatement(t *testing.T) {
	app := newGatedApplier()
	r := pipelineReplica(t, app, nil, 4, 3)
	startApplying(t, r, app, 2)
	app.open(1)
	app.open(2)
	app.open(4)
	waitUntil(t, "position after transaction 4", func() bool { return execPos(r) == 400 })
	applied, finished, violations := app.snapshot()
	if len(violations) > 0 || fmt.Sprint(applied) != "[1 2 3 4]" || fmt.Sprint(finished) != "[1 2 4]" {
		t.Fatalf("applied %v, finished %v, violations %v", applied, finished, violations)
	}
}

// TestSQLThreadStopWaitsForCommits: STOP REPLICA with commits still
// finishing waits for them and saves the position after the last.
func TestSQLThreadStopWaitsForCommits(t *testing.T) {
	app := newGatedApplier()
	r := pipelineReplica(t, app, nil, 3)
	startApplying(t, r, app, 3)
	stopped := make(chan error, 1)
	go func() { stopped <- r.Stop(SQLThread) }()
	app.open(1)
	app.open(2)
	app.open(3)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	st, _ := r.Status()
	if st.ExecSourceLogPos != 300 || st.SQLRunning != "No" {
		t.Fatalf("after STOP: %+v", st)
	}
	saved, err := loadState(r.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Exec.Pos != 300 {
		t.Fatalf("saved Exec position %d, want 300", saved.Exec.Pos)
	}
}

// TestSQLThreadCommitFailure: when a commit's finish fails, the thread stops
// with its error, the position stays at that transaction's start (the
// transactions applied after it are never counted), and START REPLICA
// applies it again.
func TestSQLThreadCommitFailure(t *testing.T) {
	app := newGatedApplier()
	app.fail[2] = &ApplyError{Code: 1598, Message: "Error in Xid_log_event: Commit could not be completed, 'Binary logging not possible.'"}
	r := pipelineReplica(t, app, func() string { return testSourceUUID + ":1" }, 4)
	for n := int64(1); n <= 4; n++ {
		app.open(n)
	}
	if err := r.Start(SQLThread); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the SQL thread stopping", func() bool { return r.Running()&SQLThread == 0 })
	st, _ := r.Status()
	if st.LastSQLErrno != 1598 || !strings.Contains(st.LastSQLError, "Commit could not be completed") || st.ExecSourceLogPos != 100 {
		t.Fatalf("after the failed commit: %+v", st)
	}
	applied, finished, _ := app.snapshot()
	// Transaction 1 counts as executed (its GTID is in Executed), so
	// the thread starts at 2.
	if applied[0] != 2 || finished[0] != 2 {
		t.Fatalf("applied %v, finished %v", applied, finished)
	}

	// The commit works now: the thread starts again at transaction 2.
	app.mu.Lock()
	delete(app.fail, 2)
	app.applied, app.finished = nil, nil
	app.mu.Unlock()
	if err := r.Start(SQLThread); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "position after transaction 4", func() bool { return execPos(r) == 400 })
	applied, _, _ = app.snapshot()
	if fmt.Sprint(applied) != "[2 3 4]" {
		t.Fatalf("after restart applied %v", applied)
	}
	if st, _ := r.Status(); st.LastSQLErrno != 0 {
		t.Fatalf("error not cleared: %+v", st)
	}
}

// TestSQLThreadSavesPositionWhenIdle: transactions applied in a burst that
// then stops have their position saved within savePeriod, without waiting
// for more to arrive.
func TestSQLThreadSavesPositionWhenIdle(t *testing.T) {
	app := newGatedApplier()
	r := pipelineReplica(t, app, nil, 3)
	app.openAll(3)
	startApplying(t, r, app, 3)
	waitUntil(t, "the applied position in the state file", func() bool {
		st, err := loadState(r.cfg.DataDir)
		return err == nil && st.Exec.Pos == 300
	})
	if got := execPos(r); got != 300 {
		t.Fatalf("Exec_Source_Log_Pos %d, want 300", got)
	}
}

package semisync

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/sirupsen/logrus"
)

// WaitPoint is rpl_semi_sync_source_wait_point.
type WaitPoint int32

const (
	// AfterSync waits after the binlog fsync, before the commit is visible.
	AfterSync WaitPoint = iota
	// AfterCommit waits after the commit is visible.
	AfterCommit
)

// Trace level bits (rpl_semi_sync_source_trace_level) mapped to log detail.
const (
	TraceGeneral  = 1
	TraceDetail   = 16
	TraceNetWait  = 32
	TraceFunction = 64
)

// Source is the running semi-sync source plugin: it drives the Tracker
// from the binlog (commit positions and the commit wait, as a
// binlog.Observer) and from dumps (flags and ACKs, as binlog.DumpHooks).
//
// Cost on the commit path: one mutex acquisition to register the wait,
// and a channel receive; an ACK takes the mutex once and wakes every
// commit it covers. Counters are copied into an atomic snapshot after each
// change, so SHOW STATUS never takes the lock.
type Source struct {
	log *logrus.Entry

	mu      sync.Mutex
	t       *Tracker
	book    replicaBook // per-replica dump and ACK state (replicas.go)
	waiters map[uint64]chan Outcome
	nextID  uint64

	waitObs    atomic.Pointer[func(ctx context.Context, waiting bool)]
	waitPoint  atomic.Int32
	traceLevel atomic.Int64
	active     atomic.Bool // the plugin is installed
	snapshot   atomic.Pointer[snapshot]
}

type snapshot struct {
	Counters
	Status bool
}

var (
	_ binlog.Observer  = (*Source)(nil)
	_ binlog.DumpHooks = (*Source)(nil)
)

// NewSource returns a source with semi-sync disabled (MySQL's defaults:
// timeout 10 s, wait_no_replica ON, count 1, AFTER_SYNC).
func NewSource(log *logrus.Entry) *Source {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	s := &Source{log: log.WithField("component", "semisync"), waiters: map[uint64]chan Outcome{}}
	s.t = NewTracker(Config{Timeout: 10 * time.Second, WaitNoReplica: true, WaitCount: 1})
	s.t.Log = func(msg string, fields map[string]interface{}) {
		s.log.WithFields(logrus.Fields(fields)).Warn(msg)
	}
	s.export()
	return s
}

// export publishes the counters for lock-free reads. Called with s.mu held.
func (s *Source) export() {
	s.snapshot.Store(&snapshot{Counters: s.t.Counters(), Status: s.t.Status()})
}

// Counters returns the live counters.
func (s *Source) Counters() Counters { return s.snapshot.Load().Counters }

// Status is Rpl_semi_sync_source_status.
func (s *Source) Status() bool { return s.snapshot.Load().Status }

// deliver wakes released commits. The counters are published first: a
// session that SHOWs STATUS right after its commit returned sees the commit
// counted. Called with s.mu held.
func (s *Source) deliver(rel []Release) {
	s.export()
	for _, r := range rel {
		if ch, ok := s.waiters[r.ID]; ok {
			delete(s.waiters, r.ID)
			ch <- r.Outcome
		}
	}
}

func (s *Source) do(f func(*Tracker) []Release) {
	s.mu.Lock()
	s.deliver(f(s.t))
	s.mu.Unlock()
}

// SetActive installs (true) or uninstalls the plugin; an uninstalled
// source never waits, flags or counts.
func (s *Source) SetActive(on bool) {
	if on && !s.active.Load() {
		// Installing zeroes yes_tx and no_tx (MySQL's plugin init).
		s.do(func(t *Tracker) []Release { t.ResetInstalled(); return nil })
	}
	s.active.Store(on)
	if !on {
		s.SetEnabled(false)
	}
}

// SetEnabled is rpl_semi_sync_source_enabled.
func (s *Source) SetEnabled(on bool) {
	s.mu.Lock()
	was := s.t.Config().Enabled
	s.deliver(s.t.SetEnabled(on, time.Now()))
	s.mu.Unlock()
	if was == on {
		return
	}
	if on {
		s.log.Info("Semi-sync replication enabled on the source.")
	} else {
		s.log.Info("Semi-sync replication disabled on the source.")
	}
}

// SetTimeout is rpl_semi_sync_source_timeout.
func (s *Source) SetTimeout(d time.Duration) {
	s.do(func(t *Tracker) []Release { t.SetTimeout(d); return nil })
}

// SetWaitNoReplica is rpl_semi_sync_source_wait_no_replica.
func (s *Source) SetWaitNoReplica(on bool) {
	s.do(func(t *Tracker) []Release { return t.SetWaitNoReplica(on, time.Now()) })
}

// SetWaitCount is rpl_semi_sync_source_wait_for_replica_count.
func (s *Source) SetWaitCount(n int) {
	s.do(func(t *Tracker) []Release { return t.SetWaitCount(n, time.Now()) })
}

// SetWaitObserver installs f, told when a commit starts (true) and stops
// (false) waiting for an ACK, with the commit's context: the process list
// shows the session in State "Waiting for semi-sync ACK from replica"
// meanwhile. f must not block.
func (s *Source) SetWaitObserver(f func(ctx context.Context, waiting bool)) { s.waitObs.Store(&f) }

// SetMetricsObservers installs f, told the length of each commit wait counted in tx_waits,
// and ack, told each replica's ACK latency (the metrics endpoint). Both run under the
// source's lock and must not block.
func (s *Source) SetMetricsObservers(f func(time.Duration), ack func(serverID uint32, d time.Duration)) {
	s.mu.Lock()
	s.t.OnTxWait = f
	s.book.onAckLatency = ack
	s.mu.Unlock()
}

// SetWaitPoint is rpl_semi_sync_source_wait_point.
func (s *Source) SetWaitPoint(p WaitPoint) { s.waitPoint.Store(int32(p)) }

// SetTraceLevel is rpl_semi_sync_source_trace_level.
func (s *Source) SetTraceLevel(l int64) { s.traceLevel.Store(l) }

func (s *Source) trace(bit int64) bool { return s.traceLevel.Load()&bit != 0 }

// Reset is RESET MASTER.
func (s *Source) Reset() { s.do(func(t *Tracker) []Release { t.Reset(); return nil }) }

// FlushStatus is FLUSH STATUS.
func (s *Source) FlushStatus() { s.do(func(t *Tracker) []Release { t.ResetFlushable(); return nil }) }

// Shutdown releases every waiting commit; later commits do not wait.
func (s *Source) Shutdown() {
	s.do(func(t *Tracker) []Release { return t.Shutdown(time.Now()) })
}

// Appended implements binlog.Observer.
func (s *Source) Appended(end binlog.Position) {
	if !s.active.Load() {
		return
	}
	s.mu.Lock()
	s.t.Commit(end)
	s.mu.Unlock()
}

// AfterSync implements binlog.Observer: the AFTER_SYNC wait.
func (s *Source) AfterSync(ctx context.Context, end binlog.Position) {
	if WaitPoint(s.waitPoint.Load()) == AfterSync {
		s.wait(ctx, end)
	}
}

// AfterCommit implements binlog.Observer: the AFTER_COMMIT wait.
func (s *Source) AfterCommit(ctx context.Context, end binlog.Position) {
	if WaitPoint(s.waitPoint.Load()) == AfterCommit {
		s.wait(ctx, end)
	}
}

// wait blocks the committing session until its transaction is
// acknowledged, the timeout switches semi-sync OFF, semi-sync is disabled,
// or ctx ends (KILL). It never fails the commit.
func (s *Source) wait(ctx context.Context, end binlog.Position) Outcome {
	if !s.active.Load() {
		return Skipped
	}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	now := time.Now()
	if r := s.t.Wait(id, end, now); r != nil {
		s.export()
		s.mu.Unlock()
		return r.Outcome
	}
	ch := make(chan Outcome, 1)
	s.waiters[id] = ch
	timeout := s.t.Config().Timeout
	s.export()
	s.mu.Unlock()
	if s.trace(TraceDetail) {
		s.log.WithFields(logrus.Fields{"binlog_file": end.File, "pos": end.Pos}).Debug("waiting for semi-sync ACK")
	}
	if obs := s.waitObs.Load(); obs != nil && *obs != nil {
		(*obs)(ctx, true)
		defer (*obs)(ctx, false)
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case o := <-ch:
			return o
		case <-timer.C:
			s.do(func(t *Tracker) []Release { return t.Tick(time.Now()) })
			// Our release is either delivered by that Tick or was already
			// in flight; wait for it (a short re-arm covers clock skew).
			timer.Reset(10 * time.Millisecond)
		case <-ctx.Done():
			s.do(func(t *Tracker) []Release { return t.Cancel(id) })
			return <-ch
		}
	}
}

// DumpStarted implements binlog.DumpHooks.
func (s *Source) DumpStarted(serverID uint32, semiSync bool, start binlog.Position) {
	s.mu.Lock()
	s.book.started(serverID, semiSync, start)
	s.mu.Unlock()
	if !semiSync {
		return
	}
	s.log.WithFields(logrus.Fields{"replica_server_id": serverID, "binlog_file": start.File, "pos": start.Pos}).
		Info("Start semi-sync binlog_dump to replica")
	s.do(func(t *Tracker) []Release { return t.Connect(serverID, start, time.Now()) })
}

// DumpEnded implements binlog.DumpHooks.
func (s *Source) DumpEnded(serverID uint32, semiSync bool) {
	s.mu.Lock()
	s.book.ended(serverID)
	s.mu.Unlock()
	if !semiSync {
		return
	}
	s.log.WithField("replica_server_id", serverID).Info("Stop semi-sync binlog_dump to replica")
	s.do(func(t *Tracker) []Release { return t.Disconnect(serverID, time.Now()) })
}

// WantAck implements binlog.DumpHooks.
func (s *Source) WantAck(serverID uint32, end binlog.Position, txEnd bool) bool {
	if !s.active.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	flag := s.t.WantAck(end, txEnd)
	s.book.sentEvent(serverID, end, txEnd, flag, time.Now())
	return flag
}

// Acked implements binlog.DumpHooks.
func (s *Source) Acked(serverID uint32, pos binlog.Position) {
	if s.trace(TraceDetail) {
		s.log.WithFields(logrus.Fields{"replica_server_id": serverID, "binlog_file": pos.File, "pos": pos.Pos}).Debug("semi-sync ACK")
	}
	s.do(func(t *Tracker) []Release {
		now := time.Now()
		s.book.ack(serverID, pos, now)
		return t.Ack(serverID, pos, now)
	})
}

// Replicas returns the state of every replica that has dumped since the start, by server_id
// (information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS).
func (s *Source) Replicas() []ReplicaState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.book.states()
}

// Flagged implements binlog.DumpHooks (net_waits).
func (s *Source) Flagged(serverID uint32) {
	s.do(func(t *Tracker) []Release { t.Flagged(); return nil })
}

// Clients is Rpl_semi_sync_source_clients; the UNINSTALL 1883 guard uses it.
func (s *Source) Clients() int { return s.Counters().Clients }

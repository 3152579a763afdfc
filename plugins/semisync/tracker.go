// Package semisync is the source side of semi-synchronous replication: the
// ACK tracker (a pure state machine) and the runtime that drives it from
// commits, dumps and ACKs.
package semisync

import (
	"fmt"
	"sort"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
)

// Position is a binlog position; positions order by file, then offset.
type Position = binlog.Position

// Outcome is how a commit's wait ended.
type Outcome uint8

const (
	// Yes: acknowledged (counted in yes_tx).
	Yes Outcome = iota + 1
	// No: not acknowledged — semi-sync was OFF, timed out, switched off or
	// disabled meanwhile, or the wait was killed (counted in no_tx).
	No
	// Skipped: semi-sync was disabled; the commit is not counted.
	Skipped
)

func (o Outcome) String() string {
	switch o {
	case Yes:
		return "yes"
	case No:
		return "no"
	case Skipped:
		return "skipped"
	}
	return "?"
}

// Release tells a waiting commit its wait is over.
type Release struct {
	ID      uint64
	Outcome Outcome
}

// Counters are the tracker's status counters (MySQL's meaning, docs/semisync.md §2.2).
type Counters struct {
	YesTx, NoTx, NoTimes, TimefuncFailures, WaitPosBacktraverse uint64
	TxWaits, TxWaitTimeMicros                                   uint64
	NetWaits                                                    uint64
	WaitSessions, Clients                                       int
}

// Config is the tracker's view of the rpl_semi_sync_source_* variables.
type Config struct {
	Enabled       bool
	Timeout       time.Duration
	WaitNoReplica bool
	WaitCount     int // wait_for_replica_count, ≥ 1
}

type waiter struct {
	id       uint64
	pos      Position
	start    time.Time
	deadline time.Time
}

// Tracker is the semi-sync source state machine. It does no I/O and reads
// no clock: the caller passes the time with every event and acts on the
// releases it returns. It is not safe for concurrent use; the runtime
// serialises calls.
//
// The commit position for wait_for_replica_count = N is the N-th highest
// position among the replicas' latest ACKs (raft's quorum rule): a commit
// is released once N distinct replicas acknowledged at or past it.
// Waiters are released in position order.
type Tracker struct {
	cfg Config
	on  bool

	// commitPos: the end of the last transaction binlogged while enabled.
	commitPos    Position
	hasCommit    bool
	replyPos     Position // quorum ACK since the last switch-off
	hasReply     bool
	waitPos      Position // smallest position a session waits for
	hasWaitPos   bool
	acks         map[uint32]Position // latest ACK per replica server_id
	active       []Position          // transaction ends binlogged while ON, awaiting ACK
	waiters      []*waiter           // sorted by pos
	clients      map[uint32]int      // dump connections per server_id
	counters     Counters
	shuttingDown bool

	// Log receives MySQL's log lines for state changes (may be nil).
	Log func(msg string, fields map[string]interface{})
	// OnTxWait, when set, is told each wait counted in tx_waits, with its length.
	OnTxWait func(time.Duration)
}

// NewTracker returns a tracker with the given configuration; status is ON
// if enabled and (wait_no_replica or enough clients), as enableMaster does.
func NewTracker(cfg Config) *Tracker {
	if cfg.WaitCount < 1 {
		cfg.WaitCount = 1
	}
	t := &Tracker{cfg: cfg, acks: map[uint32]Position{}, clients: map[uint32]int{}}
	t.on = cfg.Enabled && (cfg.WaitNoReplica || t.counters.Clients >= cfg.WaitCount)
	return t
}

func (t *Tracker) log(msg string, fields map[string]interface{}) {
	if t.Log != nil {
		t.Log(msg, fields)
	}
}

// Status reports whether semi-sync is ON (Rpl_semi_sync_source_status).
func (t *Tracker) Status() bool { return t.cfg.Enabled && t.on }

// Counters returns the counters.
func (t *Tracker) Counters() Counters { return t.counters }

// Config returns the configuration.
func (t *Tracker) Config() Config { return t.cfg }

// Commit records that a transaction ending at pos was written to the
// binlog (called in binlog order, before any wait for it).
func (t *Tracker) Commit(pos Position) {
	if !t.cfg.Enabled {
		return
	}
	if !t.hasCommit || pos.Compare(t.commitPos) > 0 {
		t.commitPos, t.hasCommit = pos, true
	}
	if t.on {
		t.active = append(t.active, pos)
	}
}

// Wait is called when the commit id ending at pos reaches the wait point.
// It returns a release at once when no wait is needed; otherwise nil, and
// the commit waits until a later event releases it or deadline passes
// (the caller then calls Tick).
func (t *Tracker) Wait(id uint64, pos Position, now time.Time) *Release {
	if !t.cfg.Enabled {
		return &Release{ID: id, Outcome: Skipped}
	}
	if !t.on {
		t.counters.NoTx++
		return &Release{ID: id, Outcome: No}
	}
	if t.hasReply && t.replyPos.Compare(pos) >= 0 {
		t.counters.YesTx++
		return &Release{ID: id, Outcome: Yes}
	}
	if !t.isActive(pos) {
		// Binlogged while OFF: nothing to wait for.
		t.counters.NoTx++
		return &Release{ID: id, Outcome: No}
	}
	if !t.hasWaitPos {
		t.waitPos, t.hasWaitPos = pos, true
	} else if pos.Compare(t.waitPos) <= 0 {
		t.waitPos = pos
		t.counters.WaitPosBacktraverse++
	}
	w := &waiter{id: id, pos: pos, start: now, deadline: now.Add(t.cfg.Timeout)}
	i := sort.Search(len(t.waiters), func(i int) bool { return t.waiters[i].pos.Compare(pos) > 0 })
	t.waiters = append(t.waiters, nil)
	copy(t.waiters[i+1:], t.waiters[i:])
	t.waiters[i] = w
	t.counters.WaitSessions++
	return nil
}

// isActive reports whether pos ends a transaction binlogged while ON.
func (t *Tracker) isActive(pos Position) bool {
	for _, a := range t.active {
		if a.Compare(pos) == 0 {
			return true
		}
	}
	return false
}

// NextDeadline returns the earliest waiter deadline.
func (t *Tracker) NextDeadline() (time.Time, bool) {
	var d time.Time
	for _, w := range t.waiters {
		if d.IsZero() || w.deadline.Before(d) {
			d = w.deadline
		}
	}
	return d, !d.IsZero()
}

// Tick handles time passing: the waiter with the earliest deadline, if
// that deadline has passed, times out, which switches semi-sync OFF and
// releases every waiter as not acknowledged. As in MySQL's
// ReplSemiSyncMaster::commitTrx, the waiter whose own timer expired is not
// counted in tx_waits/tx_wait_time; every other waiter is woken by the
// switch-off broadcast and is.
func (t *Tracker) Tick(now time.Time) []Release {
	var expired *waiter
	for _, w := range t.waiters {
		if !now.Before(w.deadline) && (expired == nil || w.deadline.Before(expired.deadline)) {
			expired = w
		}
	}
	if expired == nil {
		return nil
	}
	t.log(fmt.Sprintf("Timeout waiting for reply of binlog (file: %s, pos: %d), semi-sync up to file %s, position %d.",
		expired.pos.File, expired.pos.Pos, t.replyPos.File, t.replyPos.Pos), nil)
	return t.switchOff("timeout", now, expired)
}

// Cancel ends the wait of id (KILL QUERY / KILL CONNECTION): it is
// released as not acknowledged; semi-sync stays as it is.
func (t *Tracker) Cancel(id uint64) []Release {
	for i, w := range t.waiters {
		if w.id == id {
			t.waiters = append(t.waiters[:i], t.waiters[i+1:]...)
			t.waiterDone()
			t.counters.NoTx++
			t.recomputeWaitPos()
			return []Release{{ID: id, Outcome: No}}
		}
	}
	return nil
}

// Ack handles a replica's ACK of pos.
func (t *Tracker) Ack(serverID uint32, pos Position, now time.Time) []Release {
	if cur, ok := t.acks[serverID]; !ok || pos.Compare(cur) > 0 {
		t.acks[serverID] = pos
	}
	q, ok := t.quorum()
	if !ok {
		return nil
	}
	return t.reportReply(q, now)
}

// quorum returns the N-th highest ACK among connected and past replicas.
func (t *Tracker) quorum() (Position, bool) {
	n := t.cfg.WaitCount
	if len(t.acks) < n {
		return Position{}, false
	}
	all := make([]Position, 0, len(t.acks))
	for _, p := range t.acks {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Compare(all[j]) > 0 })
	return all[n-1], true
}

// reportReply advances the acknowledged position and releases waiters.
func (t *Tracker) reportReply(pos Position, now time.Time) []Release {
	if !t.cfg.Enabled {
		return nil
	}
	if !t.on {
		t.trySwitchOn(pos)
		if !t.on {
			return nil
		}
	}
	if !t.hasReply || pos.Compare(t.replyPos) > 0 {
		t.replyPos, t.hasReply = pos, true
	}
	// Forget active transactions the ACK covers.
	k := 0
	for _, a := range t.active {
		if a.Compare(t.replyPos) > 0 {
			t.active[k] = a
			k++
		}
	}
	t.active = t.active[:k]
	var out []Release
	for len(t.waiters) > 0 && t.waiters[0].pos.Compare(t.replyPos) <= 0 {
		w := t.waiters[0]
		t.waiters = t.waiters[1:]
		t.waiterDone()
		t.countWoken(w, now)
		t.counters.YesTx++
		out = append(out, Release{ID: w.id, Outcome: Yes})
	}
	t.recomputeWaitPos()
	return out
}

// countWoken counts a waiter woken before its own timer expired (by an ACK
// or a switch-off broadcast): tx_waits and tx_wait_time, or
// timefunc_failures when the clock went back (MySQL's getWaitTime < 0).
func (t *Tracker) countWoken(w *waiter, now time.Time) {
	waited := now.Sub(w.start)
	if waited < 0 {
		t.counters.TimefuncFailures++
		return
	}
	t.counters.TxWaits++
	t.counters.TxWaitTimeMicros += uint64(waited.Microseconds())
	if t.OnTxWait != nil {
		t.OnTxWait(waited)
	}
}

func (t *Tracker) recomputeWaitPos() {
	if len(t.waiters) == 0 {
		t.hasWaitPos = false
		return
	}
	t.waitPos, t.hasWaitPos = t.waiters[0].pos, true
}

// trySwitchOn turns semi-sync back ON when an ACK covers everything
// committed so far.
func (t *Tracker) trySwitchOn(pos Position) {
	if !t.hasCommit || pos.Compare(t.commitPos) >= 0 {
		t.on = true
		t.log(fmt.Sprintf("Semi-sync replication switched ON at (%s, %d).", pos.File, pos.Pos), nil)
	}
}

// switchOff turns semi-sync OFF and releases every waiter as not
// acknowledged (no_tx). It is MySQL's switch_off broadcast: each waiter
// other than expired (the one whose own timeout caused it, may be nil)
// wakes from its wait at now and is counted in tx_waits/tx_wait_time.
func (t *Tracker) switchOff(reason string, now time.Time, expired *waiter) []Release {
	t.on = false
	t.counters.NoTimes++
	t.hasWaitPos, t.hasReply = false, false
	t.replyPos = Position{}
	t.active = nil
	t.log("Semi-sync replication switched OFF.", map[string]interface{}{"reason": reason})
	var out []Release
	for _, w := range t.waiters {
		if w != expired {
			t.countWoken(w, now)
		}
		t.counters.NoTx++
		t.waiterDone()
		out = append(out, Release{ID: w.id, Outcome: No})
	}
	t.waiters = nil
	return out
}

// Connect counts a semi-sync dump starting at start, which counts as an
// ACK of that position (so a caught-up replica switches semi-sync ON).
func (t *Tracker) Connect(serverID uint32, start Position, now time.Time) []Release {
	t.clients[serverID]++
	t.counters.Clients++
	if start.File == "" {
		return nil
	}
	return t.Ack(serverID, start, now)
}

// Disconnect uncounts a dump at now. Falling to one below the replica
// count switches semi-sync OFF when wait_no_replica is OFF or the server
// is shutting down (MySQL's ReplSemiSyncMaster::remove_slave).
func (t *Tracker) Disconnect(serverID uint32, now time.Time) []Release {
	if t.clients[serverID] > 0 {
		t.clients[serverID]--
		if t.clients[serverID] == 0 {
			delete(t.clients, serverID)
		}
		t.counters.Clients--
	}
	if t.cfg.Enabled && t.on && t.counters.Clients == t.cfg.WaitCount-1 && (!t.cfg.WaitNoReplica || t.shuttingDown) {
		return t.switchOff("replica disconnected", now, nil)
	}
	return nil
}

// SetEnabled turns rpl_semi_sync_source_enabled on or off at now.
// Disabling releases every waiter (no_tx, and tx_waits: they are woken by
// the switch-off); enabling starts with cleared positions.
func (t *Tracker) SetEnabled(on bool, now time.Time) []Release {
	if on == t.cfg.Enabled {
		return nil
	}
	if !on {
		out := t.switchOff("disabled", now, nil)
		t.cfg.Enabled = false
		t.hasCommit = false
		return out
	}
	t.cfg.Enabled = true
	t.hasCommit, t.hasReply, t.hasWaitPos = false, false, false
	t.active = nil
	t.on = t.cfg.WaitNoReplica || t.counters.Clients >= t.cfg.WaitCount
	return nil
}

// SetTimeout changes rpl_semi_sync_source_timeout for waits that start
// from now on.
func (t *Tracker) SetTimeout(d time.Duration) { t.cfg.Timeout = d }

// SetWaitNoReplica changes rpl_semi_sync_source_wait_no_replica at now.
// Only a change of value acts (MySQL's
// fix_rpl_semi_sync_source_wait_no_replica): setting the value it already
// has does nothing, so re-applying ON does not switch a timed-out source
// back ON. A change to ON while OFF (and enabled) forces semi-sync ON; a
// change to OFF switches it OFF only when no semi-sync replica is
// connected (ReplSemiSyncMaster::set_wait_no_replica) — a quorum lost
// with replicas still connected is handled when one leaves (Disconnect).
func (t *Tracker) SetWaitNoReplica(on bool, now time.Time) []Release {
	if on == t.cfg.WaitNoReplica {
		return nil
	}
	t.cfg.WaitNoReplica = on
	if on {
		if !t.on && t.cfg.Enabled {
			t.on = true
		}
		return nil
	}
	if t.counters.Clients == 0 && t.Status() {
		return t.switchOff("no replicas", now, nil)
	}
	return nil
}

// SetWaitCount changes wait_for_replica_count; lowering it may release
// waiters at once. Setting the value it already has does nothing (MySQL's
// AckContainer::resize returns at once for an unchanged size).
func (t *Tracker) SetWaitCount(n int, now time.Time) []Release {
	if n < 1 {
		n = 1
	}
	if n == t.cfg.WaitCount {
		return nil
	}
	t.cfg.WaitCount = n
	if q, ok := t.quorum(); ok {
		return t.reportReply(q, now)
	}
	return nil
}

// WantAck decides the ACK-requested flag of an event sent to a semi-sync
// replica, as MySQL's ReplSemiSyncMaster::updateSyncHeader does for every
// event: with status ON, the end of a transaction binlogged while ON that
// is past the acknowledged position and at or past the smallest position
// a session waits for; while OFF (but enabled), any event at or past the
// last commit, so a caught-up replica's ACK can switch semi-sync back ON.
func (t *Tracker) WantAck(end Position, txEnd bool) bool {
	if !t.cfg.Enabled {
		return false
	}
	if t.on {
		if !txEnd {
			return false
		}
		if t.hasReply && end.Compare(t.replyPos) <= 0 {
			return false
		}
		if t.hasWaitPos && end.Compare(t.waitPos) < 0 {
			return false
		}
		return t.isActive(end)
	}
	return !t.hasCommit || end.Compare(t.commitPos) >= 0
}

// Flagged counts an ACK-requested event sent and flushed (net_waits, as
// MySQL's ReplSemiSyncMaster::readSlaveReply counts each flagged event).
func (t *Tracker) Flagged() { t.counters.NetWaits++ }

// Reset is RESET MASTER: positions and counters cleared (clients and
// status kept).
func (t *Tracker) Reset() {
	t.hasCommit, t.hasReply, t.hasWaitPos = false, false, false
	t.active = nil
	t.acks = map[uint32]Position{}
	// wait_sessions is zeroed too (MySQL does); later releases of
	// sessions still waiting are guarded against going below zero.
	t.counters = Counters{Clients: t.counters.Clients}
}

func (t *Tracker) waiterDone() {
	if t.counters.WaitSessions > 0 {
		t.counters.WaitSessions--
	}
}

// ResetFlushable zeroes the counters FLUSH STATUS resets (plain SHOW_LONG
// ones): yes_tx, no_tx, no_times, timefunc_failures, wait_pos_backtraverse.
func (t *Tracker) ResetFlushable() {
	t.counters.YesTx, t.counters.NoTx, t.counters.NoTimes = 0, 0, 0
	t.counters.TimefuncFailures, t.counters.WaitPosBacktraverse = 0, 0
}

// ResetInstalled zeroes yes_tx and no_tx, as installing the plugin does.
func (t *Tracker) ResetInstalled() { t.counters.YesTx, t.counters.NoTx = 0, 0 }

// Shutdown releases every waiter at now (the server is stopping).
func (t *Tracker) Shutdown(now time.Time) []Release {
	t.shuttingDown = true
	if len(t.waiters) == 0 {
		return nil
	}
	t.log("SEMISYNC: Forced shutdown. Some updates might not be replicated.", nil)
	return t.switchOff("shutdown", now, nil)
}

package replica

import (
	"sync"

	"github.com/semisyncd/semisyncd/binlog"
)

// commitQueueDepth bounds the SQL thread's commits that are appended but
// not yet complete. One group fsync covers the commits appended while the
// previous one ran: at a few thousand transactions a second on this
// project's 2-core machines a group is a handful of commits, so the bound
// is there for memory, not speed.
const commitQueueDepth = 32

// commitQueue completes the SQL thread's pipelined commits (see Applier)
// in order, on a goroutine of its own, and moves the applier position
// (Relay_Log_Pos, Exec_Source_Log_Pos) past a unit only once every commit
// up to it is complete. The SQL thread meanwhile applies the next
// transactions, so one group fsync covers several of them where a commit
// at a time paid one fsync each.
//
// Units reach the queue in relay-log order, every unit (a skipped one too)
// so that positions advance in order. After a finish fails, later finishes
// are still called (they fail too: the binlog refuses every commit after a
// failed fsync) but the position stays at the failed one's start.
//
// Lock order: q.mu, then the replica's mu.
type commitQueue struct {
	r  *Replica
	ch chan queuedUnit

	mu      sync.Mutex
	pending int
	idle    chan struct{} // closed while pending is 0
	pos     RelayPos      // after the last complete unit
	exec    binlog.Position
	failure *commitFailure

	exited chan struct{}
}

// queuedUnit is one relay-log unit whose position the queue advances.
type queuedUnit struct {
	finish func() error // the commit's second half; nil: nothing to wait for
	start  RelayPos     // where the unit's transaction starts
	gtid   string
	pos    RelayPos // after the unit
	exec   binlog.Position
}

// commitFailure is the first finish that failed.
type commitFailure struct {
	err   error
	start RelayPos
	gtid  string
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newCommitQueue(r *Replica, pos RelayPos, exec binlog.Position) *commitQueue {
	q := &commitQueue{r: r, ch: make(chan queuedUnit, commitQueueDepth), idle: closedChan, pos: pos, exec: exec, exited: make(chan struct{})}
	go q.run()
	return q
}

// push queues u; it blocks while commitQueueDepth units are pending.
func (q *commitQueue) push(u queuedUnit) {
	q.mu.Lock()
	if q.pending == 0 {
		q.idle = make(chan struct{})
	}
	q.pending++
	q.mu.Unlock()
	q.ch <- u
}

func (q *commitQueue) run() {
	defer close(q.exited)
	for u := range q.ch {
		var err error
		if u.finish != nil {
			err = u.finish()
		}
		q.mu.Lock()
		advanced := false
		if q.failure == nil {
			if err != nil {
				q.failure = &commitFailure{err: err, start: u.start, gtid: u.gtid}
			} else {
				q.pos, q.exec, advanced = u.pos, u.exec, true
			}
		}
		if advanced {
			q.r.mu.Lock()
			q.r.st.SQL, q.r.st.Exec = u.pos, u.exec
			q.r.mu.Unlock()
		}
		q.pending--
		if q.pending == 0 {
			close(q.idle)
		}
		q.mu.Unlock()
	}
}

// idleCh is closed once no unit is pending.
func (q *commitQueue) idleCh() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.idle
}

// busy reports whether a unit is pending.
func (q *commitQueue) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending > 0
}

// completed returns the position after the last complete unit and the
// first failure, without waiting.
func (q *commitQueue) completed() (RelayPos, binlog.Position, *commitFailure) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pos, q.exec, q.failure
}

// settle waits until no unit is pending and returns what completed.
func (q *commitQueue) settle() (RelayPos, binlog.Position, *commitFailure) {
	<-q.idleCh()
	return q.completed()
}

// close settles the queue and stops its goroutine; push must not be called
// after it.
func (q *commitQueue) close() (RelayPos, binlog.Position, *commitFailure) {
	close(q.ch)
	<-q.exited
	return q.completed()
}

package binlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/sirupsen/logrus"
)

// MySQL error numbers of the commit path.
const (
	erErrorOnWrite            = 1026 // ER_ERROR_ON_WRITE
	erBinlogLoggingImpossible = 1598 // ER_BINLOG_LOGGING_IMPOSSIBLE
)

// diskFullWarnEvery bounds how often a full disk is logged (MySQL warns
// every few minutes while it waits for space).
const diskFullWarnEvery = 60 // seconds

// errWrite is MySQL's 1026 for a failed write of file name, with the
// system error's number and text as strerror spells it.
func errWrite(name string, err error) error {
	errno, text := 0, err.Error()
	var e syscall.Errno
	if errors.As(err, &e) {
		errno, text = int(e), e.Error()
		if text != "" {
			text = strings.ToUpper(text[:1]) + text[1:]
		}
	}
	return mysql.NewSQLError(erErrorOnWrite, "HY000", "Error writing file '%s' (errno: %d - %s)", name, errno, text)
}

// isErrorOnWrite reports whether err is 1026 (a full disk).
func isErrorOnWrite(err error) bool {
	var se *mysql.SQLError
	return errors.As(err, &se) && se.Num == erErrorOnWrite
}

// ErrWriterClosed is what Append returns after Close.
var ErrWriterClosed = errors.New("binlog: writer closed")

// ticket follows one Append through the pipeline.
type ticket struct {
	w      *Writer
	gtids  []gtidOf // made visible at publish
	global uint64   // written counter after this commit
	end    Position
	noSync bool // appended under sync_binlog=0
}

// Append encodes a transaction's changes (row groups as
// GTID/BEGIN/rows/XID, DDL as GTID/QUERY) and writes them. It runs under
// the engine's commit lock, so binlog order is commit order. It returns an
// error, and writes nothing that stays in the file, when the write fails:
// 1026 for a full disk, 1598 once the writer has failed.
func (w *Writer) Append(ctx context.Context, cs *changes.ChangeSet) (changes.CommitTicket, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return nil, err
	}
	enc := &encoder{serverID: w.cfg.ServerID, checksum: w.cfg.Checksum, timestamp: uint32(time.Now().Unix()), pos: w.pos}
	w.appended = nil
	nextGNO, seqNo, xid := w.nextGNO, w.seqNo, w.xid
	undo := func() {
		// Nothing stays written: forget the GTIDs and numbers the
		// encoding took.
		for _, g := range w.appended {
			w.executed.Remove(g.sid, g.gno)
		}
		w.appended = nil
		w.nextGNO, w.seqNo, w.xid = nextGNO, seqNo, xid
	}
	if err := w.encodeChangeSet(enc, cs); err != nil {
		undo()
		return nil, err
	}
	if len(enc.buf) == 0 {
		return nil, nil
	}
	if err := w.writeLocked(enc.buf, w.commits.Load()+1); err != nil {
		undo()
		return nil, err
	}
	w.commits.Add(1)
	t := &ticket{w: w, global: w.written, end: Position{w.name, w.pos}, gtids: w.appended}
	w.appended = nil
	if obs := w.observers.Load(); obs != nil {
		for _, o := range *obs {
			o.Appended(t.end)
		}
	}
	if w.syncBinlog.Load() == 0 {
		// sync_binlog=0: no fsync; the events are readable at once and the
		// ticket must not wait for a sync (it may have changed meanwhile).
		t.noSync = true
		w.setReadable(t.end)
	}
	if w.cfg.MaxSize > 0 && w.pos >= w.cfg.MaxSize {
		// A failed rotation leaves the current file in use; the next
		// commit tries again.
		if err := w.rotateLocked(w.cfg.Checksum); err != nil && !isErrorOnWrite(err) {
			// (A full disk is logged by warnDiskFull, at most once a minute.)
			w.log.WithError(err).WithField("binlog_file", w.name).Warn("binlog rotation at max_binlog_size failed; writing on in the current file")
		}
	}
	return t, nil
}

// usableLocked returns the error a commit gets from a closed or failed
// writer. Called with w.mu held.
func (w *Writer) usableLocked() error {
	if w.closed {
		return ErrWriterClosed
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	return w.failed
}

// writeLocked writes buf at the end of the current file and advances the
// position. On a failed write the file is cut back to where it was, so it
// always ends with its last complete event; a full disk returns 1026 and
// leaves the writer usable, any other failure (or a failed cut) is final.
// commits is the commit count once buf is written (the fsync leader's group
// size follows from it). Called with w.mu held.
func (w *Writer) writeLocked(buf []byte, commits uint64) error {
	_, err := w.f.WriteAt(buf, int64(w.pos))
	if err != nil {
		if terr := w.f.Truncate(int64(w.pos)); terr != nil {
			return w.fail("flush", fmt.Errorf("write %s: %v; cutting it back to %d: %w", w.name, err, w.pos, terr))
		}
		if !vfs.IsNoSpace(err) {
			return w.fail("flush", fmt.Errorf("write %s: %w", w.name, err))
		}
		w.warnDiskFull(err)
		return errWrite(w.name, err)
	}
	w.pos += uint64(len(buf))
	w.written += uint64(len(buf))
	w.writtenA.Store(w.written)
	w.syncMu.Lock()
	w.tail = tail{f: w.f, global: w.written, pos: Position{w.name, w.pos}, commits: commits}
	w.syncMu.Unlock()
	return nil
}

// warnDiskFull logs a full disk, at most once a minute.
func (w *Writer) warnDiskFull(err error) {
	now := time.Now().Unix()
	last := w.diskFull.Load()
	if now-last < diskFullWarnEvery || !w.diskFull.CompareAndSwap(last, now) {
		return
	}
	w.log.WithError(err).WithFields(logrus.Fields{"binlog_file": w.name, "pos": w.pos}).
		Error("Disk is full writing the binary log; the commit failed with 1026 and nothing of it was kept. Commits succeed again once space is freed")
}

// fail makes err final: every waiting and later commit gets 1598, and
// under ABORT_SERVER the server is stopped with MySQL's message. stage is
// MySQL's name for where it happened ("flush", "sync"). It returns the
// error the committer that hit it gets. It takes syncMu: callers must not
// hold it.
func (w *Writer) fail(stage string, err error) error {
	action := ErrorAction(w.errorAction.Load())
	msg := fmt.Sprintf("An error occurred during %s stage of the commit. 'binlog_error_action' is set to '%s'.", stage, action)
	if action == AbortServer {
		msg += " Hence aborting the server."
	} else {
		msg += " Hence turning logging off for the whole duration of the MySQL server process. To turn it on again: fix the cause, shutdown the MySQL server and restart it."
	}
	sqlErr := mysql.NewSQLError(erBinlogLoggingImpossible, "HY000", "Binary logging not possible. Message: %s", msg)
	w.syncMu.Lock()
	first := w.failed == nil
	if first {
		w.failed = sqlErr
	}
	w.syncCond.Broadcast()
	w.syncMu.Unlock()
	if first {
		w.log.WithError(err).WithField("binlog_error_action", action.String()).Error("Binary logging not possible. Message: " + msg)
		if action == AbortServer && w.cfg.OnAbort != nil {
			w.cfg.OnAbort(msg)
		}
	}
	return sqlErr
}

// Failed returns the error that made the writer refuse commits, or nil.
func (w *Writer) Failed() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	return w.failed
}

// BeforePublish waits for the group fsync, makes the events readable by
// replicas, then runs the AFTER_SYNC observers. It fails (and the commit
// must not be published or acknowledged) when the fsync failed.
func (t *ticket) BeforePublish(ctx context.Context) error {
	if !t.noSync {
		if err := t.w.waitSynced(t.global); err != nil {
			return err
		}
	}
	if obs := t.w.observers.Load(); obs != nil {
		for _, o := range *obs {
			o.AfterSync(ctx, t.end)
		}
	}
	return nil
}

// AfterPublish makes the commit's GTIDs part of @@gtid_executed (MySQL adds
// them at the engine commit, when the rows become visible) and runs the
// AFTER_COMMIT observers.
func (t *ticket) AfterPublish(ctx context.Context) {
	t.w.visMu.Lock()
	for _, g := range t.gtids {
		t.w.visible.Add(g.sid, g.gno)
	}
	t.w.visMu.Unlock()
	if obs := t.w.observers.Load(); obs != nil {
		for _, o := range *obs {
			o.AfterCommit(ctx, t.end)
		}
	}
}

// maxGatherYields bounds the yields of a group-fsync leader. A leader that
// already has company (more than its own commit in the group) yields the
// processor before its fsync until two yields in a row bring no more
// commits, at most this many times: on 2 cores with 16 or 64 sysbench
// threads the sessions that were runnable reach the binlog within a few
// yields, and one fsync covers them. A lone committer never yields.
// Measured side by side (fresh servers, no replica, sysbench 1 table ×
// 10k rows, 6 s runs, two rounds, load average 2.2–2.6): oltp_insert 64
// threads 4,512 / 3,764 → 6,470 / 5,588 TPS (server CPU per transaction
// 297 / 359 → 232 / 275 µs); 16 threads 3,240 / 3,205 → 3,681 / 3,657;
// 1 thread 1,397 / 1,549 → 1,367 / 1,466 (no yield: noise);
// oltp_write_only 16 threads 1,021 / 1,153 → 1,157 / 1,216. On a server
// that had run longer (more rows, so costlier background checkpoints) the
// mean group at 64 threads went from 4.3 to 18 commits per fsync. MySQL's
// binlog_group_commit_sync_delay gathers with a fixed wait instead.
const maxGatherYields = 8

// waitSynced returns once everything up to global is on disk, or the
// writer's failure. It blocks on other committers' fsync at most; it never
// takes w.mu (see the lock order).
func (w *Writer) waitSynced(global uint64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	for w.synced < global {
		if w.failed != nil {
			return w.failed
		}
		if w.syncing {
			w.syncCond.Wait()
			continue
		}
		// Become the leader: sync everything written so far.
		w.syncing = true
		for i, idle := 0, 0; i < maxGatherYields && idle < 2 && w.tail.commits-w.syncedCommits > 1; i++ {
			// Other sessions are committing at once: first let the
			// runnable ones reach the binlog, so that this fsync covers
			// them too, until two yields in a row bring nothing.
			before := w.tail.commits
			w.syncMu.Unlock()
			runtime.Gosched()
			w.syncMu.Lock()
			if w.tail.commits == before {
				idle++
			} else {
				idle = 0
			}
		}
		tl := w.tail
		w.syncMu.Unlock()
		err := tl.f.Sync()
		w.fsyncs.Add(1)
		w.syncMu.Lock()
		w.syncing = false
		if err != nil {
			w.syncMu.Unlock()
			ferr := w.fail("sync", fmt.Errorf("fsync %s: %w", tl.pos.File, err))
			w.syncMu.Lock()
			return ferr
		}
		if tl.global > w.synced {
			w.synced = tl.global
			w.setReadable(tl.pos)
		}
		w.countGroupLocked(tl.commits)
		w.syncCond.Broadcast()
	}
	return nil
}

// countGroupLocked records that an fsync made every commit up to the
// commits-th durable: the group is those not covered by an earlier fsync.
// Called with syncMu held.
func (w *Writer) countGroupLocked(commits uint64) {
	if commits <= w.syncedCommits {
		return
	}
	group := commits - w.syncedCommits
	w.syncedCommits = commits
	if group > w.maxGroup {
		w.maxGroup = group
	}
}

// setReadable advances the end replicas may read to and wakes streamers.
func (w *Writer) setReadable(p Position) {
	for {
		cur := w.readable.Load()
		if cur != nil && cur.Compare(p) >= 0 {
			return
		}
		if w.readable.CompareAndSwap(cur, &p) {
			break
		}
	}
	w.wakeStreamers()
}

// wakeStreamers closes the channel Readable handed out.
func (w *Writer) wakeStreamers() {
	w.notifyMu.Lock()
	close(w.notify)
	w.notify = make(chan struct{})
	w.notifyMu.Unlock()
}

// Readable returns the end of the events that may be sent to replicas and
// a channel closed when it moves.
func (w *Writer) Readable() (Position, <-chan struct{}) {
	w.notifyMu.Lock()
	ch := w.notify
	w.notifyMu.Unlock()
	return *w.readable.Load(), ch
}

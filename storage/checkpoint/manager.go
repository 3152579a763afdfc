package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage"
	"github.com/sirupsen/logrus"
)

// DefaultInterval (1 MiB) is the default of semisyncd_checkpoint_interval: a
// checkpoint is taken once this many binlog bytes were written since the
// last one (and at least as many as the last checkpoint's size, so writing
// checkpoints never costs more than twice the binlog itself).
const DefaultInterval = 1 << 20

// keep is how many checkpoints stay on disk: the newest and one to fall
// back to.
const keep = 2

// Manager takes the engine's checkpoints: in the background when enough
// binlog was written, at clean shutdown, before a purge needs one and at
// RESET MASTER.
//
// Lock order: m.mu (one checkpoint at a time) → the engine's commit lock
// (held only to capture the image, or for all of RESET MASTER) → the
// binlog's lock.
type Manager struct {
	dir string
	fs  vfs.FS
	log *logrus.Entry

	st *storage.Engine
	w  *binlog.Writer

	mu  sync.Mutex
	seq uint64 // the newest checkpoint's sequence number on disk
	// lastAt (the binlog written counter at the newest checkpoint) and
	// lastSize (its size) are read by Appended under the binlog's lock,
	// which must not wait for mu.
	lastAt   atomic.Uint64
	lastSize atomic.Int64
	// lastJournalAt is the binlog's JournalWritten at the newest
	// checkpoint (unlogged bytes count toward the interval too);
	// olderJournal the last unlogged commit the older kept checkpoint
	// holds (0 until this process wrote one: nothing is pruned).
	lastJournalAt atomic.Uint64
	olderJournal  uint64

	newest   atomic.Pointer[Meta]
	interval atomic.Int64
	trigger  chan struct{}
	stop     chan struct{}
	done     chan struct{}
	taken    atomic.Uint64
}

// NewManager returns a manager of the checkpoints in dir (writes through
// fs; nil: the real file system).
func NewManager(dir string, fs vfs.FS, log *logrus.Entry) *Manager {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	m := &Manager{dir: dir, fs: vfs.OrOS(fs), log: log.WithField("component", "checkpoint"), trigger: make(chan struct{}, 1)}
	m.interval.Store(DefaultInterval)
	if list := List(dir); len(list) > 0 {
		m.seq = list[0]
	}
	return m
}

// Load restores the newest valid checkpoint into t; a damaged newest one
// falls back to the previous (logged). It returns nil when there is none.
// The recovery position (binlog.Start) follows from the Meta.
func (m *Manager) Load(t Target) (*Meta, error) {
	// Temporaries of a checkpoint a crash interrupted.
	vfs.RemoveTemps(m.fs, m.dir, filePrefix+"*")
	var firstErr error
	for _, seq := range List(m.dir) {
		path := filepath.Join(m.dir, Name(seq))
		if _, err := Verify(path); err != nil {
			m.log.WithError(err).WithField("checkpoint", Name(seq)).Error("checkpoint is damaged; trying the one before it")
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		start := time.Now()
		meta, st, err := restore(path, t) // verified just above
		if err != nil {
			return nil, fmt.Errorf("checkpoint: loading %s: %w", Name(seq), err)
		}
		m.log.WithFields(logrus.Fields{"checkpoint": Name(seq), "binlog_pos": meta.Binlog.String(), "gtid_executed": meta.Executed, "databases": st.Databases,
			"tables": st.Tables, "rows": st.Rows, "elapsed": time.Since(start).Round(time.Millisecond).String()}).Info("loaded checkpoint")
		m.newest.Store(&meta)
		return &meta, nil
	}
	if firstErr != nil {
		return nil, fmt.Errorf("checkpoint: no valid checkpoint to start from (%v); restore the data directory from a replica or a backup", firstErr)
	}
	return nil, nil
}

// Start attaches the engine and binlog the manager checkpoints and starts
// the background checkpointer.
func (m *Manager) Start(st *storage.Engine, w *binlog.Writer) {
	m.st, m.w = st, w
	m.lastAt.Store(w.Written())
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	w.AddObserver(m)
	go m.run()
}

// SetInterval sets semisyncd_checkpoint_interval (bytes).
func (m *Manager) SetInterval(n int64) { m.interval.Store(n) }

// Taken counts the checkpoints written by this process.
func (m *Manager) Taken() uint64 { return m.taken.Load() }

// Newest returns the newest checkpoint's Meta (nil: none).
func (m *Manager) Newest() *Meta { return m.newest.Load() }

// Covered is binlog.Config.Covered: the position the newest checkpoint
// covers (the zero Position when there is none, or after RESET MASTER).
func (m *Manager) Covered() binlog.Position {
	if n := m.newest.Load(); n != nil && !n.Reset {
		return n.Binlog
	}
	return binlog.Position{}
}

// Appended implements binlog.Observer: it wakes the background
// checkpointer when enough binlog was written. It never blocks (and takes
// no lock of the manager's: it runs under the binlog's).
func (m *Manager) Appended(binlog.Position) {
	if m.due() {
		select {
		case m.trigger <- struct{}{}:
		default:
		}
	}
}

// JournalAppended implements binlog.JournalObserver: unlogged commits
// (sql_log_bin = 0) count toward the interval like binlog bytes.
func (m *Manager) JournalAppended() { m.Appended(binlog.Position{}) }

// AfterSync implements binlog.Observer.
func (m *Manager) AfterSync(context.Context, binlog.Position) {}

// AfterCommit implements binlog.Observer.
func (m *Manager) AfterCommit(context.Context, binlog.Position) {}

func (m *Manager) due() bool {
	need := uint64(m.interval.Load())
	if size := uint64(m.lastSize.Load()); size > need {
		need = size
	}
	return m.w.Written()-m.lastAt.Load()+m.w.JournalWritten()-m.lastJournalAt.Load() >= need
}

func (m *Manager) run() {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-m.trigger:
			if err := m.Take("binlog written"); err != nil {
				m.log.WithError(err).Error("background checkpoint failed")
			}
		}
	}
}

// Close stops the background checkpointer and, unless the binlog failed,
// writes a last checkpoint (clean shutdown).
func (m *Manager) Close() error {
	if m.stop == nil {
		return nil
	}
	close(m.stop)
	<-m.done
	m.stop = nil
	if m.w.Failed() != nil {
		return nil
	}
	return m.Take("shutdown")
}

// Take writes a checkpoint of the latest committed version now. It blocks
// commits only while it captures the version and the binlog position, and
// returns once the checkpoint is durable.
func (m *Manager) Take(reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.takeLocked(reason)
}

func (m *Manager) takeLocked(reason string) error {
	var pos binlog.Position
	var exec *binlog.GTIDSet
	var at, journal uint64
	img := m.st.CaptureImage(func() {
		pos, exec, at = m.w.Mark()
		journal = m.w.JournalMark()
	})
	if n := m.newest.Load(); n != nil && !n.Reset && n.Binlog == pos && n.Journal == journal {
		return nil // nothing new
	}
	// The image may hold commits whose group fsync is still running: the
	// checkpoint must not hold anything the binlog (or the unlogged
	// journal) might lose.
	if err := m.w.WaitDurable(at); err != nil {
		return err
	}
	if err := m.w.WaitJournalDurable(journal); err != nil {
		return err
	}
	meta := Meta{Seq: m.seq + 1, Binlog: pos, Executed: exec.String(), Created: time.Now(), Journal: journal}
	if err := m.writeLocked(meta, img, at, reason); err != nil {
		return err
	}
	m.pruneJournal()
	return nil
}

func (m *Manager) writeLocked(meta Meta, img *storage.Image, at uint64, reason string) error {
	start := time.Now()
	jw := m.w.JournalWritten()
	size, err := Write(m.fs, m.dir, meta, img)
	if err != nil {
		return err
	}
	m.seq = meta.Seq
	m.lastAt.Store(at)
	m.lastJournalAt.Store(jw)
	m.lastSize.Store(size)
	stored := meta
	older := m.newest.Swap(&stored)
	m.taken.Add(1)
	m.log.WithFields(logrus.Fields{"checkpoint": Name(meta.Seq), "binlog_pos": meta.Binlog.String(), "bytes": size,
		"reason": reason, "elapsed": time.Since(start).Round(time.Millisecond).String()}).Info("checkpoint written")
	m.prune()
	if older != nil && older.Journal > m.olderJournal {
		m.olderJournal = older.Journal
	}
	return nil
}

// pruneJournal lets the unlogged-journal files go that the older kept
// checkpoint covers (a damaged newest falls back to it, which needs the
// records after its own). Called after writeLocked, never under the
// binlog's lock (RESET MASTER writes its checkpoint holding it).
func (m *Manager) pruneJournal() {
	if err := m.w.PruneJournal(m.olderJournal); err != nil {
		m.log.WithError(err).Warn("cannot prune the unlogged journal")
	}
}

// prune deletes all but the newest checkpoints.
func (m *Manager) prune() {
	list := List(m.dir)
	for i, seq := range list {
		if i < keep {
			continue
		}
		if err := m.fs.Remove(filepath.Join(m.dir, Name(seq))); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.log.WithError(err).WithField("checkpoint", Name(seq)).Warn("cannot remove an old checkpoint")
		}
	}
	_ = m.fs.SyncDir(m.dir)
}

// Cover makes sure the newest checkpoint covers every binlog file before
// file (PURGE BINARY LOGS TO file), taking one when it does not.
func (m *Manager) Cover(file string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.newest.Load(); n != nil && !n.Reset && n.Binlog.File >= file {
		return nil
	}
	return m.takeLocked("purge")
}

// Reset runs RESET MASTER with commits blocked: the binlog reset writes,
// before it deletes any file, a checkpoint of the engine as it is that
// marks the binlog's new start (see binlog.Writer.Reset).
func (m *Manager) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Exclusive(func(img *storage.Image) error {
		meta := Meta{Seq: m.seq + 1, Reset: true, Created: time.Now(), Journal: m.w.JournalMark()}
		err := m.w.Reset(meta.Seq, func() error { return m.writeLocked(meta, img, 0, "RESET MASTER") })
		if err == nil {
			m.lastAt.Store(m.w.Written())
			m.pruneJournal()
		}
		return err
	})
}

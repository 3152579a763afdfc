package binlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/sirupsen/logrus"
)

// The Writer's code is split by job:
//
//	writer.go   types, Open, accessors
//	commit.go   Append, the commit ticket, group fsync, failure handling
//	files.go    creating, rotating, purging and resetting files; the index
//	recover.go  what Open does with what the last run left on disk
//
// Lock order. A goroutine may take these locks only in this order, never
// an earlier one while it holds a later one:
//
//	w.mu  →  w.journal.syncMu  →  w.syncMu  →  { w.visMu, w.notifyMu }
//
//   - w.mu guards the files and the GTID state: Append, rotation, purge,
//     reset and Close hold it.
//   - w.syncMu guards the group-commit state (tail, synced, syncing,
//     failed, syncedCommits, maxGroup; Stats takes it for the last two). The group-fsync leader owns the syncing token and holds no
//     lock while it fsyncs; it never takes w.mu. closeCurrent, holding
//     w.mu, waits (on syncCond) for the token: the leader does not need w.mu
//     to finish, so the wait always ends.
//   - w.journal.syncMu guards the unlogged journal's group-fsync state
//     (journal.go). Its leader fsyncs holding no lock; waitJournalSynced
//     reads w.Failed (w.syncMu) while holding it and calls w.fail only
//     after releasing it; PruneJournal takes it under w.mu.
//   - w.visMu (gtid_executed as readers see it) and w.notifyMu (the
//     streamers' wake-up channel) are leaves.

// Config configures a Writer.
type Config struct {
	// Dir holds binlog.NNNNNN and binlog.index.
	Dir        string
	BaseName   string // "binlog" when empty
	ServerID   uint32
	ServerUUID string
	// Checksum selects binlog_checksum=CRC32 (true) or NONE.
	Checksum bool
	// MaxSize is max_binlog_size: a file that reaches it is rotated.
	MaxSize uint64
	// SyncBinlog is sync_binlog: 1 fsyncs every commit group, 0 leaves
	// flushing to the OS.
	SyncBinlog int
	Log        *logrus.Entry
	// FS is the file system writes go through (nil: the real one); tests
	// inject faults with a vfs.Faulty.
	FS vfs.FS
	// OnAbort is called once, with MySQL's message, when a binlog write or
	// fsync fails and binlog_error_action is ABORT_SERVER: the server must
	// stop at once (semisyncd exits non-zero). Nil: the writer only refuses
	// every later commit, as with IGNORE_ERROR.
	OnAbort func(msg string)
	// Start, when set, is the checkpoint the engine was restored from:
	// recovery replays only the transactions after its position.
	Start *Start
	// Covered, when set, returns the position the newest checkpoint covers:
	// purges and expiry never delete the file it is in or any after it.
	// Nil: files are purged as asked (nothing needs them).
	Covered func() Position
}

// Start is where recovery begins: a checkpoint's position and the GTIDs
// executed there.
type Start struct {
	// Seq is the checkpoint's sequence number (a RESET MASTER interrupted
	// before its checkpoint Seq was written is undone).
	Seq uint64
	// Pos is the end of what the checkpoint holds.
	Pos Position
	// Reset: the checkpoint was written by RESET MASTER; the binlog after it
	// is every file in the index, from the start.
	Reset bool
	// Executed is gtid_executed at Pos.
	Executed *GTIDSet
	// Journal is the last unlogged commit the checkpoint holds (see
	// journal.go); recovery replays the journal's records after it.
	Journal uint64
}

// Position is a place in the binlog: a file name (base name) and offset.
type Position struct {
	File string
	Pos  uint64
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Pos) }

// Compare orders positions by file sequence, then offset.
func (p Position) Compare(o Position) int {
	if c := strings.Compare(p.File, o.File); c != 0 {
		return c
	}
	switch {
	case p.Pos < o.Pos:
		return -1
	case p.Pos > o.Pos:
		return 1
	}
	return 0
}

// Observer is told about each commit group on its way through the
// pipeline; the semi-sync source plugin implements it.
type Observer interface {
	// Appended runs under the binlog lock, in binlog order, once a
	// commit's events are written; it must not block.
	Appended(end Position)
	// AfterSync and AfterCommit may block (that is the commit wait) and
	// must return when ctx ends.
	// AfterSync runs once the commit is durable in the binlog, before it
	// becomes visible (AFTER_SYNC).
	AfterSync(ctx context.Context, end Position)
	// AfterCommit runs once the commit is visible (AFTER_COMMIT).
	AfterCommit(ctx context.Context, end Position)
}

// Stats are the writer's counters.
type Stats struct {
	Commits uint64 // transactions appended
	Fsyncs  uint64 // fsync calls covering commits
	// GroupCommits is how many commits those fsyncs made durable (each
	// counted once): GroupCommits/Fsyncs is the mean group-commit size.
	GroupCommits uint64
	MaxGroup     uint64 // the most commits one fsync made durable
}

// ErrorAction is binlog_error_action: what a failed binlog write or fsync
// does.
type ErrorAction int32

const (
	// AbortServer (MySQL 8.0's default) logs MySQL's message and stops the
	// server through Config.OnAbort. Nothing the failure touched was
	// acknowledged; the next start recovers.
	AbortServer ErrorAction = iota
	// IgnoreError keeps the server up without binary logging, as MySQL
	// does. The binlog is this server's write-ahead log, so that means
	// every later write is refused with 1598 (reads go on) until a restart.
	IgnoreError
)

func (a ErrorAction) String() string {
	if a == IgnoreError {
		return "IGNORE_ERROR"
	}
	return "ABORT_SERVER"
}

// Writer appends commits to the binlog (it is the storage engine's
// CommitHook), makes them durable with group fsync, and tells streamers
// about new events at once.
//
// Group commit: Append runs under the engine's commit lock and only
// write()s. The first committer to need durability becomes the leader and
// fsyncs everything written so far; committers that arrive meanwhile wait
// for the leader's result, so concurrent commits share one fsync.
//
// Failures: a commit whose write or fsync failed is never acknowledged,
// published or streamed. A full disk (ENOSPC, EDQUOT) fails only that
// commit, with 1026, after the file is cut back to its last complete
// event; once space is freed the next commit succeeds. Any other write
// error, and every fsync error, is final (PostgreSQL's fsync lesson): the
// writer refuses every later commit and, under ABORT_SERVER, stops the
// server.
type Writer struct {
	cfg Config
	fs  vfs.FS
	sid SID
	log *logrus.Entry

	mu        sync.Mutex // see the lock order above
	f         vfs.File
	name      string
	pos       uint64
	files     []string
	executed  *GTIDSet
	purged    *GTIDSet
	nextGNO   int64
	xid       uint64
	seqNo     int64
	tableDefs map[tableDefKey]*tableDef
	nextTID   uint64
	forced    *forcedGTID // GTID of the ChangeSet being encoded, if forced
	// appended collects the GTIDs of the ChangeSet being encoded (for its
	// ticket); visible is @@gtid_executed: the GTIDs of commits published
	// to readers (executed also holds those appended but not yet visible).
	appended []gtidOf
	visMu    sync.Mutex
	visible  *GTIDSet
	written  uint64 // bytes ever written, across files
	// writtenA mirrors written for readers outside w.mu (Written): the
	// checkpointer asks it on every commit and must not take syncMu.
	writtenA atomic.Uint64
	closed   bool

	syncMu   sync.Mutex
	syncCond *sync.Cond
	tail     tail   // the end of what Append wrote, for the fsync leader
	synced   uint64 // written counter durable on disk
	// syncedCommits is the commit count the fsyncs made durable so far (each
	// commit counted once: Stats.GroupCommits); a group's size is its tail's
	// commits minus this, and maxGroup the largest.
	syncedCommits uint64
	maxGroup      uint64
	syncing       bool  // a leader is fsyncing
	failed        error // set once by fail: every later commit gets it
	// readable is the end of what may be sent to replicas: durable events.
	readable atomic.Pointer[Position]
	notifyMu sync.Mutex
	notify   chan struct{}

	observers atomic.Pointer[[]Observer]

	commits     atomic.Uint64
	fsyncs      atomic.Uint64
	syncBinlog  atomic.Int64
	errorAction atomic.Int32
	diskFull    atomic.Int64 // unix seconds of the last full-disk warning
	expire      atomic.Int64 // binlog_expire_logs_seconds as a Duration
	hadArchive  bool         // Open replayed binlog-archive/ (RemoveArchive after a checkpoint)
	replayed    RecoveryStats
	progress    *progress // during Open only
	journal     *journal  // the unlogged journal (sql_log_bin = 0), set by Open
}

// RecoveryStats say what Open replayed.
type RecoveryStats struct {
	Transactions int    // transactions handed to replay
	Bytes        uint64 // binlog bytes read
	Unlogged     int    // unlogged-journal commits replayed
}

// Recovered returns what Open replayed.
func (w *Writer) Recovered() RecoveryStats { return w.replayed }

// HadArchive reports whether Open replayed a binlog-archive/ directory left
// by an earlier version: once a checkpoint holds its data, call
// RemoveArchive.
func (w *Writer) HadArchive() bool { return w.hadArchive }

// RemoveArchive deletes binlog-archive/ (its data is in a checkpoint).
func (w *Writer) RemoveArchive() error {
	if err := os.RemoveAll(filepath.Join(w.cfg.Dir, archiveDir)); err != nil {
		return err
	}
	w.hadArchive = false
	return w.fs.SyncDir(w.cfg.Dir)
}

// tail is what the group-fsync leader syncs: the file Append wrote to last,
// the written counter after it and the position it ends at.
type tail struct {
	f       vfs.File
	global  uint64
	pos     Position
	commits uint64 // the commit count once Append wrote up to global
}

var _ changes.CommitHook = (*Writer)(nil)

func (w *Writer) baseName() string {
	if w.cfg.BaseName != "" {
		return w.cfg.BaseName
	}
	return "binlog"
}

func (w *Writer) indexPath() string { return filepath.Join(w.cfg.Dir, w.baseName()+".index") }

// AddObserver registers a commit observer (the semi-sync plugin).
func (w *Writer) AddObserver(o Observer) {
	for {
		old := w.observers.Load()
		var n []Observer
		if old != nil {
			n = append(n, *old...)
		}
		n = append(n, o)
		if w.observers.CompareAndSwap(old, &n) {
			return
		}
	}
}

// Stats returns the writer's counters. It takes w.syncMu briefly (never
// call it holding w.syncMu).
func (w *Writer) Stats() Stats {
	w.syncMu.Lock()
	grouped, most := w.syncedCommits, w.maxGroup
	w.syncMu.Unlock()
	return Stats{Commits: w.commits.Load(), Fsyncs: w.fsyncs.Load(), GroupCommits: grouped, MaxGroup: most}
}

// SetSyncBinlog changes sync_binlog: 0 leaves flushing to the OS, any
// other value fsyncs every commit group.
func (w *Writer) SetSyncBinlog(n int64) { w.syncBinlog.Store(n) }

// SetErrorAction changes binlog_error_action.
func (w *Writer) SetErrorAction(a ErrorAction) { w.errorAction.Store(int32(a)) }

// SetMaxSize changes max_binlog_size for the files from now on.
func (w *Writer) SetMaxSize(n uint64) {
	w.mu.Lock()
	w.cfg.MaxSize = n
	w.mu.Unlock()
}

// Open opens (creating if needed) the binlog in cfg.Dir. It first finishes
// what a crash interrupted (a purge, a rotation; see recover.go), then reads
// every file listed in the index in order and hands each complete
// transaction to replay (nil: none), so the caller can rebuild its state.
// A torn or half-written transaction at the tail of the last file — a crash
// during a write — is truncated away and logged with file and position; a
// damaged event followed by valid ones is corruption, and Open fails naming
// the file and position instead of dropping what follows. Then, as MySQL
// does at every start, it opens a new file.
func Open(cfg Config, replay func(*Transaction) error) (*Writer, error) {
	if cfg.Log == nil {
		cfg.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 1 << 30
	}
	sid, err := ParseSID(cfg.ServerUUID)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		cfg:       cfg,
		fs:        vfs.OrOS(cfg.FS),
		sid:       sid,
		log:       cfg.Log.WithField("component", "binlog"),
		executed:  NewGTIDSet(),
		purged:    NewGTIDSet(),
		tableDefs: map[tableDefKey]*tableDef{},
		nextTID:   100,
		notify:    make(chan struct{}),
	}
	w.syncCond = sync.NewCond(&w.syncMu)
	w.syncBinlog.Store(int64(cfg.SyncBinlog))
	if err := w.fs.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := w.recover(replay); err != nil {
		return nil, err
	}
	w.nextGNO = w.executed.Last(w.sid) + 1
	w.syncVisible()
	if err := w.openNewFile(); err != nil {
		return nil, err
	}
	return w, nil
}

// FileInfo is one row of SHOW BINARY LOGS.
type FileInfo struct {
	Name string
	Size uint64
}

// Files lists the binlog files with their sizes.
func (w *Writer) Files() []FileInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]FileInfo, 0, len(w.files))
	for _, n := range w.files {
		out = append(out, FileInfo{Name: n, Size: w.sizeLocked(n)})
	}
	return out
}

// Status is SHOW BINARY LOG STATUS: the write position and GTIDs.
func (w *Writer) Status() (Position, string) {
	w.mu.Lock()
	pos := Position{w.name, w.pos}
	w.mu.Unlock()
	return pos, w.Executed()
}

// Executed returns @@gtid_executed: the GTIDs of committed transactions
// whose changes are visible to readers.
func (w *Writer) Executed() string {
	w.visMu.Lock()
	defer w.visMu.Unlock()
	return w.visible.String()
}

// syncVisible makes every appended GTID visible (recovery, reset: nothing
// is in flight). Called with w.mu held.
func (w *Writer) syncVisible() {
	w.visMu.Lock()
	w.visible = w.executed.Clone()
	w.visMu.Unlock()
}

// Purged returns @@gtid_purged.
func (w *Writer) Purged() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.purged.String()
}

// Path returns the full path of a binlog file name.
func (w *Writer) Path(name string) string { return filepath.Join(w.cfg.Dir, filepath.Base(name)) }

// HasFile reports whether name is one of the binlog files.
func (w *Writer) HasFile(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.files {
		if n == name {
			return true
		}
	}
	return false
}

// NextFile returns the file after name ("" when name is the last).
func (w *Writer) NextFile(name string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, n := range w.files {
		if n == name && i+1 < len(w.files) {
			return w.files[i+1]
		}
	}
	return ""
}

// LastFile returns the binlog file being written.
func (w *Writer) LastFile() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.name
}

// FirstFile returns the oldest binlog file.
func (w *Writer) FirstFile() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.files) == 0 {
		return ""
	}
	return w.files[0]
}

package binlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semisyncd/semisyncd/storage"
	"github.com/sirupsen/logrus"
)

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
}

// Writer appends commits to the binlog (it is the storage engine's
// CommitHook), makes them durable with group fsync, and tells streamers
// about new events at once.
//
// Group commit: Append runs under the engine's commit lock and only
// write()s. The first committer to need durability becomes the leader and
// fsyncs everything written so far; committers that arrive meanwhile wait
// for the leader's result, so concurrent commits share one fsync.
type Writer struct {
	cfg Config
	sid SID
	log *logrus.Entry

	mu        sync.Mutex // file state, GTID state; Append holds it
	f         *os.File
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
	closed   bool

	syncMu   sync.Mutex
	syncCond *sync.Cond
	synced   uint64
	syncing  bool
	// readable is the end of what may be sent to replicas: durable events.
	readable atomic.Pointer[Position]
	notifyMu sync.Mutex
	notify   chan struct{}

	observers atomic.Pointer[[]Observer]

	commits    atomic.Uint64
	fsyncs     atomic.Uint64
	syncBinlog atomic.Int64
}

var _ storage.CommitHook = (*Writer)(nil)

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

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	return Stats{Commits: w.commits.Load(), Fsyncs: w.fsyncs.Load()}
}

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
// the engine's commit lock, so binlog order is commit order.
func (w *Writer) Append(ctx context.Context, cs *storage.ChangeSet) (storage.CommitTicket, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("binlog: writer closed")
	}
	enc := &encoder{serverID: w.cfg.ServerID, checksum: w.cfg.Checksum, timestamp: uint32(time.Now().Unix()), pos: w.pos}
	w.appended = nil
	if err := w.encodeChangeSet(enc, cs); err != nil {
		// Nothing was written: forget the GTIDs the encoding took.
		for _, g := range w.appended {
			w.executed.Remove(g.sid, g.gno)
		}
		w.appended = nil
		return nil, err
	}
	if len(enc.buf) == 0 {
		return nil, nil
	}
	if _, err := w.f.Write(enc.buf); err != nil {
		return nil, fmt.Errorf("binlog: write %s: %w", w.name, err)
	}
	w.pos += uint64(len(enc.buf))
	w.written += uint64(len(enc.buf))
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
		if err := w.rotateLocked(); err != nil {
			w.log.WithError(err).Error("binlog rotation failed")
		}
	}
	return t, nil
}

// BeforePublish waits for the group fsync, makes the events readable by
// replicas, then runs the AFTER_SYNC observers.
func (t *ticket) BeforePublish(ctx context.Context) {
	if !t.noSync {
		t.w.waitSynced(t.global, t.end)
	}
	if obs := t.w.observers.Load(); obs != nil {
		for _, o := range *obs {
			o.AfterSync(ctx, t.end)
		}
	}
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

// waitSynced returns once everything up to global is on disk.
func (w *Writer) waitSynced(global uint64, end Position) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	for w.synced < global {
		if w.syncing {
			w.syncCond.Wait()
			continue
		}
		// Become the leader: sync everything written so far.
		w.syncing = true
		w.syncMu.Unlock()
		w.mu.Lock()
		f, target, pos := w.f, w.written, Position{w.name, w.pos}
		w.mu.Unlock()
		err := f.Sync()
		w.fsyncs.Add(1)
		w.syncMu.Lock()
		w.syncing = false
		if err != nil && !errors.Is(err, os.ErrClosed) {
			w.log.WithError(err).Error("binlog fsync failed")
		}
		if target > w.synced {
			w.synced = target
			w.setReadable(pos)
		}
		w.syncCond.Broadcast()
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

// Open opens (creating if needed) the binlog in cfg.Dir. It reads every
// file listed in the index in order and hands each complete transaction to
// replay (nil: none), so the caller can rebuild its state. A torn or
// half-written transaction at the tail of the last file — a crash during a
// write — is truncated away and logged with file and position; damage
// anywhere else is an error. Then, as MySQL does at every start, it opens
// a new file.
func Open(cfg Config, replay func(*RecoveredTx) error) (*Writer, error) {
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
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if w.files, err = w.readIndex(); err != nil {
		return nil, err
	}
	if err := w.replayArchive(replay); err != nil {
		return nil, err
	}
	for i, name := range w.files {
		last := i == len(w.files)-1
		if err := w.recoverFile(name, i == 0, last, replay); err != nil {
			return nil, err
		}
	}
	w.nextGNO = w.executed.Last(w.sid) + 1
	w.syncVisible()
	if err := w.openNewFile(); err != nil {
		return nil, err
	}
	return w, nil
}

// readIndex lists the binlog files, from binlog.index or, when it is
// missing, from the directory.
func (w *Writer) readIndex() ([]string, error) {
	data, err := os.ReadFile(w.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		matches, _ := filepath.Glob(filepath.Join(w.cfg.Dir, w.baseName()+".[0-9]*"))
		var names []string
		for _, m := range matches {
			names = append(names, filepath.Base(m))
		}
		sort.Strings(names)
		return names, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, filepath.Base(line))
		}
	}
	return names, nil
}

func (w *Writer) writeIndex() error {
	var b strings.Builder
	for _, n := range w.files {
		b.WriteString("./" + n + "\n")
	}
	return WriteFileAtomic(w.indexPath(), []byte(b.String()))
}

// RecoveredEvent is one event of a recovered transaction.
type RecoveredEvent struct {
	Query    *QueryEvent
	TableMap *TableMapEvent
	Rows     *RowsEvent
}

// RecoveredTx is one complete transaction read back from the binlog.
type RecoveredTx struct {
	GTID   GTIDEvent
	File   string
	End    uint64
	Events []RecoveredEvent
}

// recoverFile scans one file, replaying its complete transactions.
func (w *Writer) recoverFile(name string, first, last bool, replay func(*RecoveredTx) error) error {
	return w.recoverPath(filepath.Join(w.cfg.Dir, name), name, first, last, replay)
}

func (w *Writer) recoverPath(path, name string, first, last bool, replay func(*RecoveredTx) error) error {
	fr, err := OpenFile(path)
	if err != nil {
		if last && errors.Is(err, ErrTornEvent) {
			w.log.WithFields(logrus.Fields{"binlog_file": name}).Warn("binlog file has no complete header; removing it")
			w.files = w.files[:len(w.files)-1]
			_ = os.Remove(path)
			return w.writeIndex()
		}
		return err
	}
	defer fr.Close()
	var tx *RecoveredTx
	var txStart uint64
	for {
		ev, start, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !last {
				return fmt.Errorf("binlog: %s at %d: %w", name, start, err)
			}
			cut := start
			if tx != nil {
				cut = txStart
			}
			w.log.WithFields(logrus.Fields{"binlog_file": name, "pos": cut, "reason": err.Error()}).Warn("truncating torn binlog tail")
			fr.Close()
			return os.Truncate(path, int64(cut))
		}
		h, _ := ParseHeader(ev)
		body := fr.Body(ev)
		switch h.Type {
		case PREVIOUS_GTIDS_LOG_EVENT:
			if first {
				if set, err := ParsePreviousGTIDs(body); err == nil {
					w.purged = set
					w.executed.Union(set)
				}
			}
		case GTID_LOG_EVENT:
			g, err := ParseGTID(body)
			if err != nil {
				return fmt.Errorf("binlog: %s at %d: %w", name, start, err)
			}
			tx, txStart = &RecoveredTx{GTID: g, File: name}, start
		case QUERY_EVENT:
			q, err := ParseQuery(body)
			if err != nil {
				return fmt.Errorf("binlog: %s at %d: %w", name, start, err)
			}
			if tx == nil {
				continue
			}
			switch strings.ToUpper(strings.TrimSpace(q.SQL)) {
			case "BEGIN":
				tx.Events = append(tx.Events, RecoveredEvent{Query: &q})
				continue
			case "COMMIT":
			default:
				tx.Events = append(tx.Events, RecoveredEvent{Query: &q})
				if len(tx.Events) > 1 && tx.Events[0].Query != nil && strings.EqualFold(tx.Events[0].Query.SQL, "BEGIN") {
					continue // a statement inside a BEGIN … COMMIT group
				}
			}
			tx.End = fr.Pos()
			if err := w.finishRecovered(tx, replay); err != nil {
				return err
			}
			tx = nil
		case TABLE_MAP_EVENT:
			if tx != nil {
				tm, err := ParseTableMap(body)
				if err != nil {
					return fmt.Errorf("binlog: %s at %d: %w", name, start, err)
				}
				tx.Events = append(tx.Events, RecoveredEvent{TableMap: &tm})
			}
		case WRITE_ROWS_EVENT, UPDATE_ROWS_EVENT, DELETE_ROWS_EVENT:
			if tx != nil {
				re, err := ParseRows(h.Type, body)
				if err != nil {
					return fmt.Errorf("binlog: %s at %d: %w", name, start, err)
				}
				tx.Events = append(tx.Events, RecoveredEvent{Rows: &re})
			}
		case XID_EVENT:
			if tx != nil {
				tx.End = fr.Pos()
				if err := w.finishRecovered(tx, replay); err != nil {
					return err
				}
				tx = nil
			}
		}
	}
	if tx != nil && last {
		w.log.WithFields(logrus.Fields{"binlog_file": name, "pos": txStart}).Warn("truncating incomplete transaction at binlog tail")
		fr.Close()
		return os.Truncate(path, int64(txStart))
	}
	if fr.FormatFlags&LOG_EVENT_BINLOG_IN_USE_F != 0 {
		fr.Close()
		return clearInUse(path)
	}
	return nil
}

func (w *Writer) finishRecovered(tx *RecoveredTx, replay func(*RecoveredTx) error) error {
	w.executed.Add(tx.GTID.SID, tx.GTID.GNO)
	if replay == nil {
		return nil
	}
	if err := replay(tx); err != nil {
		return fmt.Errorf("binlog: replaying %s:%d (ending %s:%d): %w", tx.GTID.SID, tx.GTID.GNO, tx.File, tx.End, err)
	}
	return nil
}

// clearInUse clears LOG_EVENT_BINLOG_IN_USE_F in a file's FDE: the file
// is complete.
func clearInUse(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, HeaderLen)
	if _, err := f.ReadAt(hdr, FileHeaderLen); err != nil {
		return err
	}
	h, _ := ParseHeader(hdr)
	ev := make([]byte, h.EventSize)
	if _, err := f.ReadAt(ev, FileHeaderLen); err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(ev[17:], h.Flags&^LOG_EVENT_BINLOG_IN_USE_F)
	n := len(ev) - ChecksumLen
	binary.LittleEndian.PutUint32(ev[n:], eventCRC(ev[:n]))
	if _, err := f.WriteAt(ev, FileHeaderLen); err != nil {
		return err
	}
	return f.Sync()
}

// nextName is the name of the file after the last one.
func (w *Writer) nextName() string {
	num := 1
	if n := len(w.files); n > 0 {
		if _, err := fmt.Sscanf(strings.TrimPrefix(w.files[n-1], w.baseName()+"."), "%d", &num); err == nil {
			num++
		}
	}
	return fmt.Sprintf("%s.%06d", w.baseName(), num)
}

// openNewFile starts the next binlog file: magic, FDE (in use), and the
// GTIDs executed before it. Called with w.mu held (or before serving).
func (w *Writer) openNewFile() error {
	name := w.nextName()
	path := filepath.Join(w.cfg.Dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	enc := &encoder{serverID: w.cfg.ServerID, checksum: w.cfg.Checksum, timestamp: uint32(time.Now().Unix())}
	enc.buf = append(enc.buf, Magic...)
	enc.formatDescription(enc.timestamp, LOG_EVENT_BINLOG_IN_USE_F)
	enc.previousGTIDs(w.executed)
	if _, err := f.Write(enc.buf); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	w.files = append(w.files, name)
	if err := w.writeIndex(); err != nil {
		f.Close()
		return err
	}
	w.f, w.name, w.pos = f, name, uint64(len(enc.buf))
	w.seqNo = 0
	w.written += uint64(len(enc.buf))
	w.syncMu.Lock()
	w.synced = w.written
	w.syncMu.Unlock()
	w.setReadable(Position{name, w.pos})
	return nil
}

// closeCurrent ends the active file: an optional ROTATE to next, fsync,
// the in-use flag cleared. Called with w.mu held.
func (w *Writer) closeCurrent(next string, stop bool) error {
	if w.f == nil {
		return nil
	}
	enc := &encoder{serverID: w.cfg.ServerID, checksum: w.cfg.Checksum, timestamp: uint32(time.Now().Unix()), pos: w.pos}
	if next != "" {
		enc.rotate(FileHeaderLen, next, 0)
	}
	if stop {
		enc.stop()
	}
	if len(enc.buf) > 0 {
		if _, err := w.f.Write(enc.buf); err != nil {
			return err
		}
		w.pos += uint64(len(enc.buf))
		w.written += uint64(len(enc.buf))
	}
	// Wait out a group-fsync leader still using the file.
	w.syncMu.Lock()
	for w.syncing {
		w.syncCond.Wait()
	}
	err := w.f.Sync()
	w.synced = w.written
	w.syncMu.Unlock()
	if err != nil {
		return err
	}
	path := filepath.Join(w.cfg.Dir, w.name)
	w.f.Close()
	w.f = nil
	w.setReadable(Position{w.name, w.pos})
	return clearInUse(path)
}

// rotateLocked closes the active file with a ROTATE and opens the next.
func (w *Writer) rotateLocked() error {
	if err := w.closeCurrent(w.nextName(), false); err != nil {
		return err
	}
	return w.openNewFile()
}

// SetSyncBinlog changes sync_binlog: 0 leaves flushing to the OS, any
// other value fsyncs every commit group.
func (w *Writer) SetSyncBinlog(n int64) { w.syncBinlog.Store(n) }

// SetMaxSize changes max_binlog_size for the files from now on.
func (w *Writer) SetMaxSize(n uint64) {
	w.mu.Lock()
	w.cfg.MaxSize = n
	w.mu.Unlock()
}

// SetChecksum changes binlog_checksum; like MySQL it rotates, so every
// file has one setting.
func (w *Writer) SetChecksum(on bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on == w.cfg.Checksum || w.closed {
		return nil
	}
	next := w.nextName()
	if err := w.closeCurrent(next, false); err != nil {
		return err
	}
	w.cfg.Checksum = on
	return w.openNewFile()
}

// Rotate closes the active file and starts the next (FLUSH BINARY LOGS).
func (w *Writer) Rotate() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("binlog: writer closed")
	}
	return w.rotateLocked()
}

// Close writes a STOP_EVENT, fsyncs and marks the active file complete.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.closeCurrent("", true)
}

// The binlog is the engine's write-ahead log, so files that PURGE BINARY
// LOGS or RESET MASTER take out of the binlog are not deleted but moved to
// the archive directory, where recovery still replays them for their data
// (their GTIDs no longer count as executed). Until the engine can write
// checkpoints of its state, the archive grows with every purge.
const archiveDir = "binlog-archive"

// archive moves files into the archive, each under a new sequence number
// so names from before a RESET MASTER never collide.
func (w *Writer) archive(names []string) error {
	dir := filepath.Join(w.cfg.Dir, archiveDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seq := len(w.archived())
	for _, n := range names {
		seq++
		dst := filepath.Join(dir, fmt.Sprintf("%08d-%s", seq, n))
		if err := os.Rename(filepath.Join(w.cfg.Dir, n), dst); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return SyncDir(dir)
}

// archived lists the archive's files in the order they were archived.
func (w *Writer) archived() []string {
	matches, _ := filepath.Glob(filepath.Join(w.cfg.Dir, archiveDir, "*-*"))
	sort.Strings(matches)
	return matches
}

// replayArchive hands the archived files' transactions to replay, before
// the live binlog's.
func (w *Writer) replayArchive(replay func(*RecoveredTx) error) error {
	if replay == nil {
		return nil
	}
	saved := w.executed
	defer func() { w.executed = saved }()
	for _, path := range w.archived() {
		w.executed = NewGTIDSet()
		if err := w.recoverPath(path, filepath.Base(path), false, false, replay); err != nil {
			return err
		}
	}
	return nil
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
		var size uint64
		if n == w.name {
			size = w.pos
		} else if st, err := os.Stat(filepath.Join(w.cfg.Dir, n)); err == nil {
			size = uint64(st.Size())
		}
		out = append(out, FileInfo{Name: n, Size: size})
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

// FirstFile returns the oldest binlog file.
func (w *Writer) FirstFile() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.files) == 0 {
		return ""
	}
	return w.files[0]
}

// PurgeTo deletes the files before name (PURGE BINARY LOGS TO). The active
// file is never purged. gtid_purged becomes the GTIDs before the new first
// file.
func (w *Writer) PurgeTo(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	idx := -1
	for i, n := range w.files {
		if n == name {
			idx = i
		}
	}
	if idx < 0 {
		return ErrUnknownLog
	}
	return w.purgeLocked(idx)
}

// PurgeBefore deletes the files last modified before t, keeping the active
// one (PURGE BINARY LOGS BEFORE).
func (w *Writer) PurgeBefore(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	idx := 0
	for i, n := range w.files {
		if n == w.name {
			break
		}
		st, err := os.Stat(filepath.Join(w.cfg.Dir, n))
		if err != nil || !st.ModTime().Before(t) {
			break
		}
		idx = i + 1
	}
	return w.purgeLocked(idx)
}

// ErrUnknownLog is PURGE's error for a file not in the index.
var ErrUnknownLog = errors.New("binlog: target log not found in binlog index")

func (w *Writer) purgeLocked(keepFrom int) error {
	if keepFrom <= 0 {
		return nil
	}
	if err := w.archive(w.files[:keepFrom]); err != nil {
		return err
	}
	w.files = append([]string(nil), w.files[keepFrom:]...)
	if err := w.writeIndex(); err != nil {
		return err
	}
	if fr, err := OpenFile(filepath.Join(w.cfg.Dir, w.files[0])); err == nil {
		defer fr.Close()
		for {
			ev, _, err := fr.Next()
			if err != nil {
				break
			}
			if ev[4] == PREVIOUS_GTIDS_LOG_EVENT {
				if set, err := ParsePreviousGTIDs(fr.Body(ev)); err == nil {
					w.purged = set
				}
				break
			}
		}
	}
	return nil
}

// Reset deletes every binlog file and starts again at .000001 with empty
// GTID sets (RESET MASTER / RESET BINARY LOGS AND GTIDS).
func (w *Writer) Reset() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.closeCurrent("", false); err != nil {
		return err
	}
	if err := w.archive(w.files); err != nil {
		return err
	}
	w.files = nil
	w.executed, w.purged = NewGTIDSet(), NewGTIDSet()
	w.syncVisible()
	w.nextGNO = 1
	if err := w.openNewFile(); err != nil {
		return err
	}
	// Positions went back to the first file: move the readable end back too.
	p := Position{w.name, w.pos}
	w.readable.Store(&p)
	w.notifyMu.Lock()
	close(w.notify)
	w.notify = make(chan struct{})
	w.notifyMu.Unlock()
	return nil
}

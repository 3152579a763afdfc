package replica

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/sirupsen/logrus"
)

// The relay log: what the IO thread received from the source, in files
// relay-bin.NNNNNN (binlog format: magic, FORMAT_DESCRIPTION, events)
// listed in relay-bin.index, in the data directory.
//
// Each file starts with the relay log's own FORMAT_DESCRIPTION_EVENT
// (CRC32: received events without a checksum get one), a
// PREVIOUS_GTIDS_LOG_EVENT holding the GTIDs retrieved into earlier files,
// and — when the file was started at a known source position — an
// artificial ROTATE_EVENT naming it. The source's events follow unchanged;
// their log_pos is the source position, which is how the IO thread knows
// where to resume.
//
// Writing: the IO thread appends events into a buffer, marks transaction
// boundaries, and flushes: the buffer goes to the file (one write), the
// file is fsynced according to sync_relay_log, and only then the boundary
// is published to readers (the SQL thread) and the IO thread may ACK.
// Readers never see a partial transaction. A crash or a reconnect drops
// whatever follows the last published boundary: recovery truncates the
// last file there, and the IO thread asks the source again from that
// boundary's source position (or GTID set).
//
// Files are rotated at transaction boundaries only, once the current file
// exceeds the size limit, so a transaction never spans files.

// Relay log file names.
const (
	relayBaseName  = "relay-bin"
	relayIndexName = relayBaseName + ".index"
)

// defaultMaxRelaySize is max_relay_log_size = 0 in MySQL: max_binlog_size.
const defaultMaxRelaySize = 1 << 30

// writeChunk bounds the buffer of a transaction being received: a larger
// transaction is written to the file in pieces (still published only whole).
const writeChunk = 1 << 20

// RelayPos is a position in the relay log: file base name and offset.
type RelayPos struct {
	File string `json:"file"`
	Pos  uint64 `json:"pos"`
}

// RelayWriter is the IO thread's view of the relay log. *RelayLog
// implements it; Config.WrapRelay lets tests interpose (for example a
// Flush that blocks, to show the ACK waits for it).
type RelayWriter interface {
	// Append buffers one event (with its CRC32 trailer).
	Append(ev []byte) error
	// MarkBoundary records that the events appended so far end a
	// transaction (or a non-transactional unit such as a ROTATE): src is the
	// source position after them, gtid the transaction's GTID (nil for
	// none). The boundary takes effect at the next Flush.
	MarkBoundary(src binlog.Position, gtid *binlog.GTIDEvent)
	// Flush writes the buffered events to the file, fsyncs it when
	// sync_relay_log says so, and publishes the last marked boundary to
	// readers. When Flush returns nil, every event appended before it is in
	// the operating system's hands (and on disk with sync_relay_log = 1).
	Flush() error
	// Discard drops everything after the last published boundary: buffered
	// events and bytes already written for a partial transaction.
	Discard() error
	// SourcePos is the source position at the last published boundary,
	// where a file/position dump resumes. File is empty when unknown (the
	// source's first binlog).
	SourcePos() binlog.Position
	// Retrieved is Retrieved_Gtid_Set: the GTIDs of every complete
	// transaction published so far (a copy).
	Retrieved() *binlog.GTIDSet
}

// RelayLog is the relay log of one replica. It is safe for concurrent use
// by one writer (the IO thread) and any number of readers.
type RelayLog struct {
	dir       string
	fs        vfs.FS
	serverID  uint32
	log       *logrus.Entry
	syncEvery atomic.Int64
	maxSize   atomic.Uint64

	// Writer state: only the writer (and Reset/Close, which run while no
	// writer does) touches it; wmu serialises them.
	wmu      sync.Mutex
	f        vfs.File
	file     string
	buf      []byte
	written  uint64 // file offset where buf goes
	pending  *mark  // last boundary not yet published
	pendGTID []binlog.GTIDEvent
	unsynced int64

	// Published state.
	mu        sync.Mutex
	files     []string
	readable  RelayPos
	source    binlog.Position
	retrieved *binlog.GTIDSet
	changed   chan struct{}
}

type mark struct {
	off uint64
	src binlog.Position
}

var _ RelayWriter = (*RelayLog)(nil)

// OpenRelayLog opens the relay log in dir, creating it when absent, with
// its writes through fs (nil: the real file system). The last file is
// recovered: everything after its last complete transaction (a torn or
// partial tail from a crash) is truncated and logged; a last file whose
// FORMAT_DESCRIPTION_EVENT is damaged is refused (an error), never cut back
// below its header. Relay files the index
// does not name (left by a crash during rotation, purge or reset) are
// removed.
func OpenRelayLog(dir string, serverID uint32, log *logrus.Entry, fs vfs.FS) (*RelayLog, error) {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	r := &RelayLog{dir: dir, fs: vfs.OrOS(fs), serverID: serverID, log: log, retrieved: binlog.NewGTIDSet(), changed: make(chan struct{})}
	r.syncEvery.Store(10000)
	r.maxSize.Store(defaultMaxRelaySize)
	vfs.RemoveTemps(r.fs, dir, relayIndexName)
	files, err := r.readIndex()
	if err != nil {
		return nil, err
	}
	if err := r.removeUnlisted(files); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		if err := r.startFile(nil); err != nil {
			return nil, err
		}
		return r, nil
	}
	r.files = files
	if err := r.recoverLast(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RelayLog) path(name string) string { return filepath.Join(r.dir, name) }

// removeUnlisted deletes relay files the index does not name: a crash
// between creating a file and naming it, or between rewriting the index
// and removing purged files, leaves them; none holds anything the replica
// still needs (what was not published is fetched from the source again).
func (r *RelayLog) removeUnlisted(files []string) error {
	listed := map[string]bool{}
	for _, f := range files {
		listed[f] = true
	}
	matches, _ := filepath.Glob(filepath.Join(r.dir, relayBaseName+".[0-9]*"))
	removed := false
	for _, m := range matches {
		name := filepath.Base(m)
		if listed[name] {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimPrefix(filepath.Ext(name), ".")); err != nil {
			continue
		}
		r.log.WithField("relay_log_file", name).Warn("removing a relay log file the index does not name")
		if err := r.fs.Remove(m); err != nil {
			return fmt.Errorf("replica: %w", err)
		}
		removed = true
	}
	if removed {
		return r.fs.SyncDir(r.dir)
	}
	return nil
}

func (r *RelayLog) readIndex() ([]string, error) {
	buf, err := os.ReadFile(r.path(relayIndexName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replica: relay log index: %w", err)
	}
	var files []string
	for _, line := range strings.Split(string(buf), "\n") {
		if name := filepath.Base(strings.TrimSpace(line)); name != "" && name != "." {
			files = append(files, name)
		}
	}
	return files, nil
}

// writeIndex rewrites the index atomically. Called with mu held.
func (r *RelayLog) writeIndex() error {
	var b strings.Builder
	for _, f := range r.files {
		b.WriteString("./" + f + "\n")
	}
	return vfs.WriteFileAtomic(r.fs, r.path(relayIndexName), []byte(b.String()))
}

// nextName is the file after the last one (relay-bin.000001 first).
func (r *RelayLog) nextName() string {
	n := 0
	if len(r.files) > 0 {
		last := r.files[len(r.files)-1]
		n, _ = strconv.Atoi(strings.TrimPrefix(filepath.Ext(last), "."))
	}
	return fmt.Sprintf("%s.%06d", relayBaseName, n+1)
}

// startFile creates the next relay file (its header synced before the
// index names it) and makes it the current one. src, when known, is
// written as an artificial ROTATE. Called by the writer (or with no writer
// running).
func (r *RelayLog) startFile(src *binlog.Position) error {
	r.mu.Lock()
	name := r.nextName()
	prev := r.retrieved.Clone()
	r.mu.Unlock()

	f, err := r.fs.OpenFile(r.path(name), os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("replica: create relay log %s: %w", name, err)
	}
	hdr := append([]byte(nil), binlog.Magic...)
	hdr = append(hdr, formatDescriptionEvent(r.serverID, uint64(len(hdr)))...)
	hdr = append(hdr, previousGTIDsEvent(r.serverID, uint64(len(hdr)), prev)...)
	if src != nil {
		hdr = append(hdr, rotateEvent(r.serverID, *src)...)
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.Close()
		_ = r.fs.Remove(r.path(name))
		return fmt.Errorf("replica: write relay log %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		_ = r.fs.Remove(r.path(name))
		return fmt.Errorf("replica: sync relay log %s: %w", name, err)
	}
	if r.f != nil {
		// The previous file is complete: make all of it durable.
		if err := r.f.Sync(); err != nil {
			f.Close()
			_ = r.fs.Remove(r.path(name))
			return fmt.Errorf("replica: sync relay log %s: %w", r.file, err)
		}
	}
	// The index names the new file only once its header is durable; a
	// crash before leaves an unnamed file that the next open removes.
	r.mu.Lock()
	r.files = append(r.files, name)
	if err := r.writeIndex(); err != nil {
		r.files = r.files[:len(r.files)-1]
		r.mu.Unlock()
		f.Close()
		_ = r.fs.Remove(r.path(name))
		return fmt.Errorf("replica: relay log index: %w", err)
	}
	if r.f != nil {
		_ = r.f.Close()
	}
	r.f, r.file, r.written, r.buf, r.pending, r.pendGTID = f, name, uint64(len(hdr)), r.buf[:0], nil, nil
	r.readable = RelayPos{File: name, Pos: uint64(len(hdr))}
	if src != nil {
		r.source = *src
	}
	r.signal()
	r.mu.Unlock()
	return nil
}

// recoverLast scans the last file, finds its last complete transaction,
// truncates what follows and opens it for appending.
func (r *RelayLog) recoverLast() error {
	name := r.files[len(r.files)-1]
	path := r.path(name)
	fr, err := binlog.OpenFile(path)
	if err != nil {
		return fmt.Errorf("replica: relay log %s: %w", name, err)
	}
	var (
		tt        txTracker
		boundary  uint64
		src, cur  binlog.Position
		retrieved = binlog.NewGTIDSet()
		gtid      *binlog.GTIDEvent
		reason    string
	)
	for {
		ev, _, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if fr.Pos() == binlog.FileHeaderLen {
				// The format description itself is damaged: nothing in the file can be trusted,
				// and cutting it back would leave a file without its header.
				fr.Close()
				return fmt.Errorf("replica: relay log %s: damaged format description event: %w", name, err)
			}
			reason = err.Error()
			break
		}
		h, _ := binlog.ParseHeader(ev)
		body := fr.Body(ev)
		switch h.Type {
		case binlog.PREVIOUS_GTIDS_LOG_EVENT:
			if set, err := binlog.ParsePreviousGTIDs(body); err == nil {
				retrieved = set
			}
		case binlog.FORMAT_DESCRIPTION_EVENT:
		case binlog.ROTATE_EVENT:
			if rp, err := binlog.ParseRotate(body); err == nil {
				cur = rp
			}
		case binlog.GTID_LOG_EVENT:
			if g, err := binlog.ParseGTID(body); err == nil {
				gtid = &g
			}
			fallthrough
		default:
			if h.LogPos != 0 {
				cur.Pos = uint64(h.LogPos)
			}
		}
		if tt.Feed(h.Type, body) {
			boundary, src = fr.Pos(), cur
			if gtid != nil {
				retrieved.Add(gtid.SID, gtid.GNO)
				gtid = nil
			}
		}
	}
	fr.Close()
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("replica: relay log %s: %w", name, err)
	}
	if uint64(st.Size()) > boundary {
		if reason == "" {
			reason = "incomplete transaction"
		}
		r.log.WithFields(logrus.Fields{"relay_log_file": name, "pos": boundary, "dropped_bytes": uint64(st.Size()) - boundary, "reason": reason}).
			Warn("truncating the relay log after its last complete transaction")
	}
	f, err := r.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("replica: relay log %s: %w", name, err)
	}
	if uint64(st.Size()) > boundary {
		if err := f.Truncate(int64(boundary)); err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("replica: truncate relay log %s: %w", name, err)
		}
	}
	r.f, r.file, r.written = f, name, boundary
	r.readable = RelayPos{File: name, Pos: boundary}
	r.source = src
	r.retrieved = retrieved
	return nil
}

// SetSyncRelayLog sets sync_relay_log: fsync the relay log after every n
// events (0: never, leave it to the operating system). With n = 1 the
// fsync happens at every flush, that is once per received transaction and
// before every ACK: a crash can only lose a partial transaction, which
// recovery drops anyway.
func (r *RelayLog) SetSyncRelayLog(n int64) { r.syncEvery.Store(n) }

// SetMaxSize sets the size at which the relay log rotates (0: 1 GiB).
func (r *RelayLog) SetMaxSize(n uint64) {
	if n == 0 {
		n = defaultMaxRelaySize
	}
	r.maxSize.Store(n)
}

// Append implements RelayWriter.
func (r *RelayLog) Append(ev []byte) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.f == nil {
		return errors.New("replica: relay log is closed")
	}
	r.buf = append(r.buf, ev...)
	r.unsynced++
	if len(r.buf) >= writeChunk {
		return r.writeBuf()
	}
	return nil
}

// writeBuf writes the buffer to the file. A failed write is cut back, so
// the file ends where it did, and the buffer is dropped: the IO thread stops
// and the next connection asks the source again from the last published
// boundary. Called with wmu held.
func (r *RelayLog) writeBuf() error {
	if len(r.buf) == 0 {
		return nil
	}
	if _, err := r.f.WriteAt(r.buf, int64(r.written)); err != nil {
		r.buf = r.buf[:0]
		if terr := r.f.Truncate(int64(r.written)); terr != nil {
			return fmt.Errorf("replica: write relay log %s: %v; cutting it back: %w", r.file, err, terr)
		}
		return fmt.Errorf("replica: write relay log %s: %w", r.file, err)
	}
	r.written += uint64(len(r.buf))
	r.buf = r.buf[:0]
	return nil
}

// MarkBoundary implements RelayWriter.
func (r *RelayLog) MarkBoundary(src binlog.Position, gtid *binlog.GTIDEvent) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.pending = &mark{off: r.written + uint64(len(r.buf)), src: src}
	if gtid != nil {
		r.pendGTID = append(r.pendGTID, *gtid)
	}
}

// Flush implements RelayWriter.
func (r *RelayLog) Flush() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.f == nil {
		return errors.New("replica: relay log is closed")
	}
	if err := r.writeBuf(); err != nil {
		return err
	}
	if n := r.syncEvery.Load(); n > 0 && r.unsynced >= n {
		if err := r.f.Sync(); err != nil {
			// Nothing of this flush is published (so never ACKed); the
			// IO thread stops and Discard cuts it away.
			return fmt.Errorf("replica: sync relay log %s: %w", r.file, err)
		}
		r.unsynced = 0
	}
	if r.pending == nil {
		return nil
	}
	m := r.pending
	r.pending = nil
	r.mu.Lock()
	r.readable = RelayPos{File: r.file, Pos: m.off}
	r.source = m.src
	for _, g := range r.pendGTID {
		r.retrieved.Add(g.SID, g.GNO)
	}
	r.signal()
	r.mu.Unlock()
	r.pendGTID = r.pendGTID[:0]
	if m.off == r.written && r.written >= r.maxSize.Load() {
		// Rotate at a boundary: the previous file is complete.
		src := m.src
		if err := r.startFile(&src); err != nil {
			return err
		}
	}
	return nil
}

// Discard implements RelayWriter.
func (r *RelayLog) Discard() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.buf, r.pending, r.pendGTID = r.buf[:0], nil, r.pendGTID[:0]
	r.mu.Lock()
	keep := r.readable.Pos
	r.mu.Unlock()
	if r.f == nil || r.written <= keep {
		return nil
	}
	if err := r.f.Truncate(int64(keep)); err != nil {
		return fmt.Errorf("replica: truncate relay log %s: %w", r.file, err)
	}
	r.written = keep
	return nil
}

// signal wakes readers waiting on Readable. Called with mu held.
func (r *RelayLog) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Readable returns the published end of the relay log (a transaction
// boundary) and a channel closed when it moves.
func (r *RelayLog) Readable() (RelayPos, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readable, r.changed
}

// SourcePos implements RelayWriter.
func (r *RelayLog) SourcePos() binlog.Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.source
}

// Retrieved implements RelayWriter.
func (r *RelayLog) Retrieved() *binlog.GTIDSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.retrieved.Clone()
}

// Files lists the relay log files, oldest first.
func (r *RelayLog) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.files...)
}

// NextFile returns the file after name, or "" when name is the last.
func (r *RelayLog) NextFile(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, f := range r.files {
		if f == name && i+1 < len(r.files) {
			return r.files[i+1]
		}
	}
	return ""
}

// Path returns the full path of relay log file name.
func (r *RelayLog) Path(name string) string { return r.path(filepath.Base(name)) }

// Space is Relay_Log_Space: the total size of the relay log files.
func (r *RelayLog) Space() uint64 {
	var total uint64
	for _, f := range r.Files() {
		if st, err := os.Stat(r.path(f)); err == nil {
			total += uint64(st.Size())
		}
	}
	return total
}

// PurgeBefore deletes the files before name (relay_log_purge): the SQL
// thread calls it once its recorded position is in name. The current file
// is never deleted.
func (r *RelayLog) PurgeBefore(name string) error {
	r.mu.Lock()
	idx := -1
	for i, f := range r.files {
		if f == name {
			idx = i
		}
	}
	if idx <= 0 {
		r.mu.Unlock()
		return nil
	}
	gone := append([]string(nil), r.files[:idx]...)
	r.files = append([]string(nil), r.files[idx:]...)
	err := r.writeIndex()
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("replica: relay log index: %w", err)
	}
	for _, f := range gone {
		if err := r.fs.Remove(r.path(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replica: purge relay log %s: %w", f, err)
		}
	}
	return r.fs.SyncDir(r.dir)
}

// Reset deletes every relay log file and starts afresh with
// relay-bin.000001 and an empty Retrieved_Gtid_Set (RESET REPLICA, and
// CHANGE REPLICATION SOURCE when the position changes). start, when not
// nil, is the source position the next dump begins at. No IO or SQL thread
// may run.
func (r *RelayLog) Reset(start *binlog.Position) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
	r.mu.Lock()
	gone := r.files
	r.files = nil
	r.retrieved = binlog.NewGTIDSet()
	r.source = binlog.Position{}
	// The index is emptied before the files go: a crash in between leaves
	// unnamed files, which the next open removes, never a name without
	// its file.
	err := r.writeIndex()
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("replica: relay log index: %w", err)
	}
	for _, f := range gone {
		if err := r.fs.Remove(r.path(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replica: remove relay log %s: %w", f, err)
		}
	}
	r.buf, r.pending, r.pendGTID, r.unsynced = r.buf[:0], nil, nil, 0
	return r.startFile(start)
}

// Close syncs and closes the current file; buffered events of a partial
// transaction are dropped (the next start asks the source for them again).
func (r *RelayLog) Close() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Sync()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.f = nil
	return err
}

// relayReader reads complete transactions from the relay log, never past
// the published boundary.
type relayReader struct {
	relay *RelayLog
	fr    *binlog.FileReader
}

// open positions the reader at pos.
func (rr *relayReader) open(pos RelayPos) error {
	rr.close()
	fr, err := binlog.OpenFile(rr.relay.Path(pos.File))
	if err != nil {
		return err
	}
	if pos.Pos > fr.Pos() {
		if err := fr.Seek(pos.Pos); err != nil {
			fr.Close()
			return err
		}
	}
	rr.fr = fr
	return nil
}

func (rr *relayReader) close() {
	if rr.fr != nil {
		rr.fr.Close()
		rr.fr = nil
	}
}

// pos is where the next event starts.
func (rr *relayReader) pos() RelayPos {
	return RelayPos{File: rr.fr.Name(), Pos: rr.fr.Pos()}
}

// errCaughtUp: the reader is at the published end of the relay log.
var errCaughtUp = errors.New("replica: relay log read up to its end")

// next returns the next event (header parsed, body without checksum), or
// errCaughtUp at the published end. It moves to the next file at the end
// of a finished one.
func (rr *relayReader) next(readable RelayPos) ([]byte, binlog.Header, []byte, error) {
	for {
		if rr.fr.Name() == readable.File && rr.fr.Pos() >= readable.Pos {
			return nil, binlog.Header{}, nil, errCaughtUp
		}
		ev, _, err := rr.fr.Next()
		if err == io.EOF || errors.Is(err, binlog.ErrTornEvent) {
			if rr.fr.Name() == readable.File {
				return nil, binlog.Header{}, nil, errCaughtUp
			}
			next := rr.relay.NextFile(rr.fr.Name())
			if next == "" {
				return nil, binlog.Header{}, nil, errCaughtUp
			}
			if err := rr.open(RelayPos{File: next}); err != nil {
				return nil, binlog.Header{}, nil, err
			}
			continue
		}
		if err != nil {
			return nil, binlog.Header{}, nil, err
		}
		h, err := binlog.ParseHeader(ev)
		if err != nil {
			return nil, binlog.Header{}, nil, err
		}
		return ev, h, rr.fr.Body(ev), nil
	}
}

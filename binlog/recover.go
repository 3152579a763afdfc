package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/sirupsen/logrus"
)

// Recovery: what Open does with what the last run left on disk, in order.
//
//  1. Temporary files of an interrupted atomic replacement are removed.
//  2. A purge or reset interrupted after it wrote binlog.~rec~ is finished:
//     its files leave the index and are deleted (a reset whose checkpoint
//     was never written is undone instead).
//  3. Binlog files newer than the index's last entry were created by a
//     rotation interrupted before the index named them; they hold no
//     transaction and are removed (one that holds a transaction stops the
//     start: that is not a state a crash leaves).
//  4. Every file the index names must exist.
//  5. With a checkpoint (Config.Start), only the transactions after its
//     position are replayed; without one, an old binlog-archive/ and then
//     every listed file. Only the last file
//     may end badly: a torn event or a transaction without its end at its
//     tail is cut away (the commit was never acknowledged: it was not
//     durable). A damaged event followed by valid ones is corruption, not
//     a crash, and the start stops, naming file and position.

// Transaction is one complete transaction read back from a binlog (by
// recovery) or a relay log (by the replica's SQL thread): one type for
// both, applied by one applier (replica.EngineApplier).
type Transaction struct {
	// GTID is "uuid:number", or empty for an anonymous transaction.
	GTID string
	// File is the binlog file the transaction comes from (for a replica,
	// the source's), and End its end position there when known.
	File string
	End  uint64
	// Events are the transaction's events after GTID and BEGIN.
	Events []TxEvent
}

// TxEvent is one event of a Transaction: exactly one of Query, TableMap
// and Rows is set. EndPos is its end position in File.
type TxEvent struct {
	EndPos   uint32
	Query    *QueryEvent
	TableMap *TableMapEvent
	Rows     *RowsEvent
}

// addEvent appends a transaction body's event (QUERY other than BEGIN and
// COMMIT, TABLE_MAP, rows; others are ignored), decoded.
func (tx *Transaction) addEvent(h Header, body []byte) error {
	switch h.Type {
	case QUERY_EVENT:
		q, err := ParseQuery(body)
		if err != nil {
			return err
		}
		if s := strings.ToUpper(strings.TrimSpace(q.SQL)); s != "BEGIN" && s != "COMMIT" {
			tx.Events = append(tx.Events, TxEvent{EndPos: h.LogPos, Query: &q})
		}
	case TABLE_MAP_EVENT:
		tm, err := ParseTableMap(body)
		if err != nil {
			return err
		}
		tx.Events = append(tx.Events, TxEvent{EndPos: h.LogPos, TableMap: &tm})
	case WRITE_ROWS_EVENT, UPDATE_ROWS_EVENT, DELETE_ROWS_EVENT:
		re, err := ParseRows(h.Type, body)
		if err != nil {
			return err
		}
		tx.Events = append(tx.Events, TxEvent{EndPos: h.LogPos, Rows: &re})
	}
	return nil
}

// ErrCorrupt marks a binlog that recovery refuses to repair.
var ErrCorrupt = errors.New("binlog: corrupt")

func (w *Writer) recover(replay func(*Transaction) error) error {
	vfs.RemoveTemps(w.fs, w.cfg.Dir, w.baseName()+".index", w.baseName()+purgeIndexSuffix)
	if err := w.finishPurge(); err != nil {
		return err
	}
	files, err := w.readIndex()
	if err != nil {
		return err
	}
	if err := w.removeUnlisted(files); err != nil {
		return err
	}
	for _, n := range files {
		if _, err := os.Stat(filepath.Join(w.cfg.Dir, n)); err != nil {
			return fmt.Errorf("binlog: %s names %s, which cannot be opened (%v); it was removed or moved by hand. Restore it, or remove its line from the index to start without it: %w", w.baseName()+".index", n, err, ErrCorrupt)
		}
	}
	w.files = files
	covered := uint64(0)
	if st := w.cfg.Start; st != nil {
		covered = st.Journal
	}
	pending, err := w.loadJournal(covered)
	if err != nil {
		return err
	}
	jr := &journalReplay{w: w, pending: pending, replay: replay}
	live := replay
	if replay != nil {
		live = func(tx *Transaction) error {
			if err := jr.before(Position{tx.File, tx.End}); err != nil {
				return err
			}
			return replay(tx)
		}
	}
	first, from := 0, uint64(0)
	if st := w.cfg.Start; st != nil {
		if st.Executed != nil {
			w.executed = st.Executed.Clone()
		}
		if !st.Reset {
			first = -1
			for i, n := range files {
				if n == st.Pos.File {
					first, from = i, st.Pos.Pos
				}
			}
			if first < 0 {
				return fmt.Errorf("binlog: the checkpoint covers the binlog up to %s, but %s is not in %s: the transactions after it cannot be recovered. Restore the data directory from a replica or a backup: %w",
					st.Pos, st.Pos.File, w.baseName()+".index", ErrCorrupt)
			}
		}
		w.readPurged()
		if _, err := os.Stat(filepath.Join(w.cfg.Dir, archiveDir)); err == nil {
			w.log.Info("removing binlog-archive/: its data is in the checkpoint")
			if err := w.RemoveArchive(); err != nil {
				return err
			}
		}
	} else if err := w.replayArchive(replay); err != nil {
		return err
	}
	w.progress = newProgress(w, files[max(first, 0):], from)
	for i := max(first, 0); i < len(w.files); i++ {
		name := w.files[i]
		last := i == len(w.files)-1
		start := uint64(0)
		if i == first {
			start = from
		}
		readGTIDs := i == 0 && w.cfg.Start == nil
		if err := w.recoverPath(filepath.Join(w.cfg.Dir, name), name, readGTIDs, last, start, live); err != nil {
			return err
		}
	}
	w.progress.done()
	end := Position{}
	if n := len(w.files); n > 0 {
		end = Position{w.files[n-1], w.sizeLocked(w.files[n-1])}
	}
	if err := jr.finish(end); err != nil {
		return err
	}
	return w.openJournalTail()
}

// finishPurge completes a purge or reset that a crash interrupted, or undoes
// a reset whose checkpoint was not written (the engine was restored from an
// older one, which needs the files).
func (w *Writer) finishPurge() error {
	plan, err := w.readPurgeIndex()
	if err != nil || plan == nil {
		return err
	}
	if plan.reset && (w.cfg.Start == nil || w.cfg.Start.Seq < plan.checkpoint) {
		w.log.WithField("checkpoint", plan.checkpoint).Warn("undoing a RESET MASTER interrupted before its checkpoint was written")
		if err := w.fs.Remove(w.purgeIndexPath()); err != nil {
			return err
		}
		return w.fs.SyncDir(w.cfg.Dir)
	}
	w.log.WithField("files", len(plan.files)).Warn("finishing a PURGE BINARY LOGS or RESET MASTER that was interrupted")
	files, err := w.readIndex()
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, n := range plan.files {
		gone[n] = true
	}
	var keep []string
	for _, n := range files {
		if !gone[n] {
			keep = append(keep, n)
		}
	}
	if len(keep) != len(files) {
		w.files = keep
		if err := w.writeIndex(); err != nil {
			return err
		}
	}
	return w.removePurged(plan)
}

// progress logs a long recovery's progress every few seconds.
type progress struct {
	w          *Writer
	total      uint64
	base       uint64
	last       time.Time
	start      time.Time
	everLogged bool
}

const progressEvery = 5 * time.Second

func newProgress(w *Writer, files []string, from uint64) *progress {
	p := &progress{w: w, start: time.Now(), last: time.Now()}
	for _, n := range files {
		if st, err := os.Stat(filepath.Join(w.cfg.Dir, n)); err == nil {
			p.total += uint64(st.Size())
		}
	}
	if p.total > from {
		p.total -= from
	}
	return p
}

// read counts bytes read and logs, at most every few seconds.
func (p *progress) read(n uint64) {
	if p == nil {
		return
	}
	p.w.replayed.Bytes += n
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last, p.everLogged = now, true
		p.w.log.WithFields(logrus.Fields{"bytes_replayed": p.w.replayed.Bytes, "bytes_total": p.total,
			"transactions": p.w.replayed.Transactions, "elapsed": now.Sub(p.start).Round(time.Millisecond).String()}).Info("recovering the binlog")
	}
}

func (p *progress) done() {
	if p != nil && p.everLogged {
		p.w.log.WithFields(logrus.Fields{"bytes_replayed": p.w.replayed.Bytes, "transactions": p.w.replayed.Transactions,
			"elapsed": time.Since(p.start).Round(time.Millisecond).String()}).Info("binlog recovered")
	}
}

// removeUnlisted removes the files an interrupted rotation created (step 3
// of the recovery comment).
func (w *Writer) removeUnlisted(files []string) error {
	listed := map[string]bool{}
	last := 0
	removed := false
	for _, n := range files {
		listed[n] = true
		if seq, ok := w.seqOf(n); ok && seq > last {
			last = seq
		}
	}
	for _, n := range w.filesInDir() {
		if listed[n] {
			continue
		}
		seq, _ := w.seqOf(n)
		path := filepath.Join(w.cfg.Dir, n)
		if seq < last {
			w.log.WithField("binlog_file", n).Warn("a binlog file not named in the index is left alone")
			continue
		}
		if holdsTransactions(path) {
			return fmt.Errorf("binlog: %s holds transactions but %s does not name it; add it to the index (after the last line) to keep them, or move it away: %w", n, w.baseName()+".index", ErrCorrupt)
		}
		w.log.WithField("binlog_file", n).Warn("removing a binlog file that an interrupted rotation created before the index named it")
		if err := w.fs.Remove(path); err != nil {
			return err
		}
		removed = true
	}
	if !removed {
		return nil // nothing to make durable: no directory fsync at every start
	}
	return w.fs.SyncDir(w.cfg.Dir)
}

// holdsTransactions reports whether a binlog file has a GTID event (or
// cannot be read far enough to tell: then it is kept).
func holdsTransactions(path string) bool {
	fr, err := OpenFile(path)
	if err != nil {
		return !errors.Is(err, ErrTornEvent) && !strings.Contains(err.Error(), "not a binlog file")
	}
	defer fr.Close()
	for {
		ev, _, err := fr.Next()
		if err != nil {
			return false
		}
		if ev[4] == GTID_LOG_EVENT || ev[4] == ANONYMOUS_GTID_LOG_EVENT {
			return true
		}
	}
}

// recoverPath scans one file, replaying its complete transactions; see the
// recovery comment for what it does with a bad end.
func (w *Writer) recoverPath(path, name string, first, last bool, from uint64, replay func(*Transaction) error) error {
	fr, err := OpenFile(path)
	if err != nil {
		if last && errors.Is(err, ErrTornEvent) {
			w.log.WithFields(logrus.Fields{"binlog_file": name}).Warn("binlog file has no complete header; removing it")
			w.files = w.files[:len(w.files)-1]
			if err := w.fs.Remove(path); err != nil {
				return err
			}
			return w.writeIndex()
		}
		return err
	}
	defer fr.Close()
	if from > FileHeaderLen {
		if err := fr.Seek(from); err != nil {
			return err
		}
	}
	var tx *Transaction
	var gtid GTIDEvent
	var txStart uint64
	var bound TxBoundary
	for {
		ev, start, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err == nil {
			w.progress.read(uint64(len(ev)))
		}
		if err != nil {
			cut := start
			if tx != nil {
				cut = txStart
			}
			return w.badTail(fr, path, name, start, cut, err, last)
		}
		h, _ := ParseHeader(ev)
		body := fr.Body(ev)
		end := bound.Feed(h.Type, body)
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
			tx, gtid, txStart = &Transaction{GTID: g.SID.String() + ":" + strconv.FormatInt(g.GNO, 10), File: name}, g, start
		case QUERY_EVENT, TABLE_MAP_EVENT, WRITE_ROWS_EVENT, UPDATE_ROWS_EVENT, DELETE_ROWS_EVENT:
			if tx != nil {
				if err := tx.addEvent(h, body); err != nil {
					return fmt.Errorf("binlog: %s at %d: %w", name, start, err)
				}
			}
		}
		if end && tx != nil {
			tx.End = fr.Pos()
			if err := w.finishRecovered(tx, gtid, replay); err != nil {
				return err
			}
			tx = nil
		}
	}
	if tx != nil && last {
		w.log.WithFields(logFields(name, txStart)).Warn("truncating incomplete transaction at binlog tail")
		fr.Close()
		return w.truncateFile(path, txStart)
	}
	if fr.FormatFlags&LOG_EVENT_BINLOG_IN_USE_F != 0 {
		fr.Close()
		f, err := w.fs.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		return clearInUse(f)
	}
	return nil
}

// badTail handles a bad event at offset bad of a file: a torn tail of the
// last file is cut at cut (the start of the transaction it belongs to);
// anything else is corruption.
func (w *Writer) badTail(fr *FileReader, path, name string, bad, cut uint64, reason error, last bool) error {
	checksum := fr.Checksum()
	fr.Close()
	if at, ok := findValidEvent(path, bad+1, checksum); ok {
		return fmt.Errorf("binlog: %s is damaged at position %d (%v), and a valid event follows at position %d: "+
			"this is not a write cut short by a crash, so nothing was truncated. Refusing to start. "+
			"Restore the data directory from a replica or a backup, or, accepting the loss of every transaction from position %d on, "+
			"cut the file there (truncate -s %d %s) and remove the files after it from %s: %w",
			name, bad, reason, at, cut, cut, path, w.baseName()+".index", ErrCorrupt)
	}
	if !last {
		return fmt.Errorf("binlog: %s is damaged at position %d (%v), and it is not the last binlog file, so this is not a write cut short by a crash. Refusing to start. "+
			"Restore the data directory from a replica or a backup: %w", name, bad, reason, ErrCorrupt)
	}
	w.log.WithFields(logFields(name, cut)).WithField("reason", reason.Error()).Warn("truncating torn binlog tail")
	return w.truncateFile(path, cut)
}

// truncateFile cuts a file at size and fsyncs it.
func (w *Writer) truncateFile(path string, size uint64) error {
	f, err := w.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		return err
	}
	return f.Sync()
}

// maxEventType is the highest event type MySQL 8.0 writes (HEARTBEAT_LOG_EVENT_V2).
const maxEventType = 41

// findValidEvent looks for a complete, well-formed event starting anywhere
// at or after offset from: with checksums, one whose header names a known
// type, whose size fits the file and whose CRC32 matches; without, a chain
// of such events whose log_pos fields advance by their sizes and that ends
// exactly at the end of the file. A torn tail has none; damage followed by
// later writes does (their log_pos may be off by the damaged bytes, so it
// is not required to match the offset).
func findValidEvent(path string, from uint64, checksum bool) (uint64, bool) {
	data, err := os.ReadFile(path)
	if err != nil || from >= uint64(len(data)) {
		return 0, false
	}
	end := uint64(len(data))
	plausible := func(o uint64) (uint64, bool) {
		if o+HeaderLen > end {
			return 0, false
		}
		typ := data[o+4]
		size := uint64(binary.LittleEndian.Uint32(data[o+9:]))
		if typ == 0 || typ > maxEventType || size < HeaderLen || o+size > end {
			return 0, false
		}
		return size, true
	}
	for o := from; o+HeaderLen <= end; o++ {
		size, ok := plausible(o)
		if !ok {
			continue
		}
		if checksum {
			if VerifyChecksum(data[o:o+size]) == nil {
				return o, true
			}
			continue
		}
		p, n := o+size, 1
		prevLogPos := binary.LittleEndian.Uint32(data[o+13:])
		for p < end {
			sz, ok := plausible(p)
			lp := binary.LittleEndian.Uint32(data[p+13:])
			if !ok || uint64(lp-prevLogPos) != sz {
				break
			}
			prevLogPos, p, n = lp, p+sz, n+1
		}
		if p == end && n >= 2 {
			return o, true
		}
	}
	return 0, false
}

func (w *Writer) finishRecovered(tx *Transaction, gtid GTIDEvent, replay func(*Transaction) error) error {
	w.executed.Add(gtid.SID, gtid.GNO)
	if replay == nil {
		return nil
	}
	w.replayed.Transactions++
	if err := replay(tx); err != nil {
		return fmt.Errorf("binlog: replaying %s (ending %s:%d): %w", tx.GTID, tx.File, tx.End, err)
	}
	return nil
}

// replayArchive hands the archived files' transactions to replay, before
// the live binlog's.
func (w *Writer) replayArchive(replay func(*Transaction) error) error {
	if replay == nil {
		return nil
	}
	saved := w.executed
	defer func() { w.executed = saved }()
	archived, _ := filepath.Glob(filepath.Join(w.cfg.Dir, archiveDir, "*-*"))
	sort.Strings(archived)
	w.hadArchive = len(archived) > 0
	for _, path := range archived {
		w.executed = NewGTIDSet()
		if err := w.recoverPath(path, filepath.Base(path), false, false, 0, replay); err != nil {
			return err
		}
	}
	return nil
}

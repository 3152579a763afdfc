package binlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/sirupsen/logrus"
)

// The unlogged journal: where commits made with sql_log_bin = 0 go.
//
// The binlog is this server's write-ahead log, so a commit MySQL leaves out
// of the binlog (SET sql_log_bin = 0) must still be durable somewhere that
// recovery reads, yet never be streamed to a replica, shown by SHOW BINLOG
// EVENTS or mariadb-binlog, or take a GTID. It goes to the journal: files
// journal.NNNNNN in the binlog directory, created at the first unlogged
// commit, each the 8-byte magic "SSDJRNL1" followed by records
//
//	u32 length of payload | u32 CRC32 (IEEE) of payload | payload
//	payload: uvarint seq | uvarint len + binlog file name | uvarint binlog pos | events
//
// seq numbers the unlogged commits (never reused, across restarts too); the
// binlog position is where the binlog ended when the commit was appended
// (under the binlog lock, so exactly between two binlog transactions); the
// events are the transaction's body as binlog events without checksums and
// without GTID or XID events (BEGIN, table maps and rows; a DDL's QUERY).
//
// Commit: the record is written under the binlog lock (Append's order is
// commit order); BeforePublish waits for the binlog's group fsync up to the
// commit's position (so an unlogged commit never publishes a logged one
// that is not durable) and then fsyncs the journal (group fsync of its
// own). No semi-sync observer runs: there is nothing for a replica to ACK.
//
// Recovery: the records with seq above the checkpoint's (Meta.Journal) are
// replayed in order, each before the first binlog transaction that ends
// after its position. A record whose position is past the recovered end of
// the binlog followed a binlog commit that was never durable: it was never
// acknowledged either, and it and every later record are cut away. A torn
// or damaged record at the tail of the last file is cut away too (never
// acknowledged); anywhere else it is corruption and the start stops.
//
// Checkpoints cover the journal as they cover the binlog (Meta.Journal is
// the last seq in the image). After each checkpoint the journal moves to a
// new file if the current one holds records, and files whose records the
// older kept checkpoint covers are deleted (PruneJournal).

const (
	journalMagic  = "SSDJRNL1"
	journalPrefix = "journal."
	// maxJournalRecord bounds a record's length when reading.
	maxJournalRecord = 1 << 30
)

// journalRecord is one unlogged commit read back.
type journalRecord struct {
	seq    uint64
	after  Position // the binlog's end when it was committed
	events []byte
	file   string // journal file
	offset uint64 // where the record starts in it
}

// journalFile is one journal file: its name and the last seq it holds (0:
// none).
type journalFile struct {
	name string
	last uint64
}

// journal is the Writer's unlogged journal. Its fields other than the
// sync state are guarded by w.mu; the sync state by syncMu (see the lock
// order in writer.go: after w.mu, before w.syncMu).
type journal struct {
	files   []journalFile // in order; the last is written to
	f       vfs.File      // the last file, open (nil: none yet)
	size    uint64        // its size
	nextSeq uint64
	written atomic.Uint64 // bytes appended by this process (read without w.mu)

	syncMu   sync.Mutex
	syncCond *sync.Cond
	syncing  bool
	synced   uint64   // seq durable
	tailF    vfs.File // file holding seq tailSeq
	tailSeq  uint64
}

// lastSeq is the seq of the last record appended (0: none).
func (j *journal) lastSeq() uint64 { return j.nextSeq - 1 }

// JournalName is the name of journal file n.
func JournalName(n int) string { return fmt.Sprintf("%s%06d", journalPrefix, n) }

// journalFiles lists the journal files in dir, oldest first.
func journalFiles(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, journalPrefix+"[0-9]*"))
	type nf struct {
		n    int
		name string
	}
	var out []nf
	for _, m := range matches {
		base := filepath.Base(m)
		n, err := strconv.Atoi(strings.TrimPrefix(base, journalPrefix))
		if err == nil {
			out = append(out, nf{n, base})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	names := make([]string, len(out))
	for i, o := range out {
		names[i] = o.name
	}
	return names
}

func encodeJournalRecord(seq uint64, after Position, events []byte) []byte {
	payload := binary.AppendUvarint(nil, seq)
	payload = binary.AppendUvarint(payload, uint64(len(after.File)))
	payload = append(payload, after.File...)
	payload = binary.AppendUvarint(payload, after.Pos)
	payload = append(payload, events...)
	rec := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(payload))
	return append(rec, payload...)
}

func decodeJournalPayload(p []byte) (journalRecord, error) {
	var r journalRecord
	bad := errors.New("bad record fields")
	seq, n := binary.Uvarint(p)
	if n <= 0 {
		return r, bad
	}
	p = p[n:]
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return r, bad
	}
	file := string(p[n : n+int(l)])
	p = p[n+int(l):]
	pos, n := binary.Uvarint(p)
	if n <= 0 {
		return r, bad
	}
	r.seq, r.after, r.events = seq, Position{file, pos}, p[n:]
	return r, nil
}

// readJournalFile reads one journal file's records. It returns the records
// read and, when the file ends badly (torn, bad CRC, bad fields), the
// offset of the first bad byte and why.
func readJournalFile(path string) ([]journalRecord, uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	name := filepath.Base(path)
	if len(data) < len(journalMagic) || string(data[:len(journalMagic)]) != journalMagic {
		return nil, 0, fmt.Errorf("%s has no complete header", name)
	}
	var recs []journalRecord
	off := uint64(len(journalMagic))
	for off < uint64(len(data)) {
		rest := data[off:]
		if len(rest) < 8 {
			return recs, off, fmt.Errorf("%s: torn record header at %d", name, off)
		}
		n := binary.LittleEndian.Uint32(rest)
		if n == 0 || n > maxJournalRecord || uint64(n) > uint64(len(rest)-8) {
			return recs, off, fmt.Errorf("%s: torn or damaged record at %d (length %d)", name, off, n)
		}
		payload := rest[8 : 8+n]
		if crc32.ChecksumIEEE(payload) != binary.LittleEndian.Uint32(rest[4:]) {
			return recs, off, fmt.Errorf("%s: record at %d fails its checksum", name, off)
		}
		r, err := decodeJournalPayload(payload)
		if err != nil {
			return recs, off, fmt.Errorf("%s: record at %d: %v", name, off, err)
		}
		r.file, r.offset = name, off
		recs = append(recs, r)
		off += 8 + uint64(n)
	}
	return recs, 0, nil
}

// loadJournal reads the journal at Open (recovery step 5's companion): it
// returns the records the checkpoint (covered: its Meta.Journal) does not
// hold, in order, after cutting away a torn tail of the last file.
func (w *Writer) loadJournal(covered uint64) ([]journalRecord, error) {
	j := &journal{nextSeq: covered + 1}
	j.syncCond = sync.NewCond(&j.syncMu)
	w.journal = j
	names := journalFiles(w.cfg.Dir)
	var pending []journalRecord
	for i, name := range names {
		path := filepath.Join(w.cfg.Dir, name)
		last := i == len(names)-1
		recs, badAt, err := readJournalFile(path)
		if err != nil {
			if !last {
				return nil, fmt.Errorf("binlog: the unlogged journal is damaged (%v), and %s is not its last file, so this is not a write cut short by a crash. Refusing to start. Restore the data directory from a replica or a backup: %w", err, name, ErrCorrupt)
			}
			if badAt == 0 {
				// No complete header: created by a crash before its first record.
				w.log.WithField("journal_file", name).Warn("unlogged journal file has no complete header; removing it")
				if err := w.fs.Remove(path); err != nil {
					return nil, err
				}
				if err := w.fs.SyncDir(w.cfg.Dir); err != nil {
					return nil, err
				}
				continue
			}
			w.log.WithFields(logrus.Fields{"journal_file": name, "pos": badAt, "reason": err.Error()}).Warn("truncating torn unlogged-journal tail")
			if err := w.truncateFile(path, badAt); err != nil {
				return nil, err
			}
		}
		jf := journalFile{name: name}
		for _, r := range recs {
			jf.last = r.seq
			if r.seq >= j.nextSeq {
				j.nextSeq = r.seq + 1
			}
			if r.seq > covered {
				pending = append(pending, r)
			}
		}
		j.files = append(j.files, jf)
	}
	j.synced, j.tailSeq = j.lastSeq(), j.lastSeq()
	return pending, nil
}

// cutJournal removes records from rec on: they followed binlog commits that
// recovery cut away (never durable, so never acknowledged).
func (w *Writer) cutJournal(rec journalRecord) error {
	w.log.WithFields(logrus.Fields{"journal_file": rec.file, "pos": rec.offset, "binlog_pos": rec.after.String()}).
		Warn("truncating the unlogged journal: its commits from here on followed binlog commits that were never durable")
	j := w.journal
	keep := j.files[:0]
	for _, jf := range j.files {
		switch {
		case jf.name == rec.file:
			if err := w.truncateFile(filepath.Join(w.cfg.Dir, jf.name), rec.offset); err != nil {
				return err
			}
			// What stays in it is older than rec (an upper bound is enough:
			// it only delays the file's removal).
			jf.last = rec.seq - 1
			keep = append(keep, jf)
		case jf.name > rec.file:
			if err := w.fs.Remove(filepath.Join(w.cfg.Dir, jf.name)); err != nil {
				return err
			}
		default:
			keep = append(keep, jf)
		}
	}
	j.files = keep
	return w.fs.SyncDir(w.cfg.Dir)
}

// openJournalTail opens the last journal file for appending (after
// recovery).
func (w *Writer) openJournalTail() error {
	j := w.journal
	if len(j.files) == 0 {
		return nil
	}
	name := j.files[len(j.files)-1].name
	f, err := w.fs.OpenFile(filepath.Join(w.cfg.Dir, name), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	st, err := os.Stat(filepath.Join(w.cfg.Dir, name))
	if err != nil {
		f.Close()
		return err
	}
	j.f, j.size = f, uint64(st.Size())
	j.tailF = f
	return nil
}

// newJournalFile creates the next journal file (header written, fsynced,
// the directory fsynced) and makes it the one written to. The previous one
// must be synced. Called with w.mu held.
func (w *Writer) newJournalFile() error {
	j := w.journal
	n := 1
	if len(j.files) > 0 {
		last := j.files[len(j.files)-1].name
		n, _ = strconv.Atoi(strings.TrimPrefix(last, journalPrefix))
		n++
	}
	name := JournalName(n)
	path := filepath.Join(w.cfg.Dir, name)
	f, err := w.fs.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o640)
	if err != nil {
		return w.fileError(name, err)
	}
	if _, err = f.WriteAt([]byte(journalMagic), 0); err == nil {
		if err = f.Sync(); err == nil {
			err = w.fs.SyncDir(w.cfg.Dir)
		}
	}
	if err != nil {
		f.Close()
		_ = w.fs.Remove(path)
		return w.fileError(name, err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.files = append(j.files, journalFile{name: name})
	j.f, j.size = f, uint64(len(journalMagic))
	j.syncMu.Lock()
	j.tailF = f
	j.syncMu.Unlock()
	return nil
}

// AppendUnlogged commits a transaction of a session with sql_log_bin = 0:
// its changes go to the unlogged journal, not the binlog (no GTID, nothing
// for replicas, no semi-sync wait), and stay durable across a crash (see
// the journal comment). It runs under the engine's commit lock like Append,
// and fails like it: 1026 for a full disk (the record is cut back and the
// writer stays usable), 1598 for any other write error and from then on.
func (w *Writer) AppendUnlogged(ctx context.Context, cs *changes.ChangeSet) (changes.CommitTicket, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return nil, err
	}
	enc := &encoder{serverID: w.cfg.ServerID, timestamp: uint32(time.Now().Unix())}
	if err := w.encodeUnlogged(enc, cs); err != nil {
		return nil, err
	}
	if len(enc.buf) == 0 {
		return nil, nil
	}
	j := w.journal
	if j.f == nil {
		if err := w.newJournalFile(); err != nil {
			if isErrorOnWrite(err) {
				return nil, err
			}
			return nil, w.fail("flush", err)
		}
	}
	seq := j.nextSeq
	rec := encodeJournalRecord(seq, Position{w.name, w.pos}, enc.buf)
	name := j.files[len(j.files)-1].name
	if _, err := j.f.WriteAt(rec, int64(j.size)); err != nil {
		if terr := j.f.Truncate(int64(j.size)); terr != nil {
			return nil, w.fail("flush", fmt.Errorf("write %s: %v; cutting it back to %d: %w", name, err, j.size, terr))
		}
		if !vfs.IsNoSpace(err) {
			return nil, w.fail("flush", fmt.Errorf("write %s: %w", name, err))
		}
		w.warnDiskFull(err)
		return nil, errWrite(name, err)
	}
	j.nextSeq++
	j.size += uint64(len(rec))
	j.written.Add(uint64(len(rec)))
	j.files[len(j.files)-1].last = seq
	j.syncMu.Lock()
	j.tailF, j.tailSeq = j.f, seq
	j.syncMu.Unlock()
	if obs := w.observers.Load(); obs != nil {
		for _, o := range *obs {
			if jo, ok := o.(JournalObserver); ok {
				jo.JournalAppended()
			}
		}
	}
	return &unloggedTicket{w: w, global: w.written, seq: seq, noSync: w.syncBinlog.Load() == 0}, nil
}

// JournalObserver is an Observer that is also told about unlogged commits
// (the checkpointer counts their bytes). JournalAppended runs under the
// binlog lock and must not block.
type JournalObserver interface {
	JournalAppended()
}

// unloggedTicket follows an unlogged commit: durable once the binlog up to
// its position and its journal record are on disk; no observers.
type unloggedTicket struct {
	w      *Writer
	global uint64 // the binlog's written counter at the commit
	seq    uint64
	noSync bool
}

// BeforePublish implements changes.CommitTicket.
func (t *unloggedTicket) BeforePublish(context.Context) error {
	if t.noSync {
		return nil
	}
	if err := t.w.waitSynced(t.global); err != nil {
		return err
	}
	return t.w.waitJournalSynced(t.seq)
}

// AfterPublish implements changes.CommitTicket: nothing waits for a replica.
func (t *unloggedTicket) AfterPublish(context.Context) {}

// waitJournalSynced returns once the journal holds seq on disk (a group
// fsync: one leader syncs for every waiter), or the writer's failure. It
// never takes w.mu.
func (w *Writer) waitJournalSynced(seq uint64) error {
	j := w.journal
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	for j.synced < seq {
		if err := w.Failed(); err != nil {
			return err
		}
		if j.syncing {
			j.syncCond.Wait()
			continue
		}
		f, target := j.tailF, j.tailSeq
		j.syncing = true
		j.syncMu.Unlock()
		err := f.Sync()
		j.syncMu.Lock()
		j.syncing = false
		j.syncCond.Broadcast()
		if err != nil {
			j.syncMu.Unlock()
			ferr := w.fail("sync", fmt.Errorf("fsync the unlogged journal: %w", err))
			j.syncMu.Lock()
			return ferr
		}
		if target > j.synced {
			j.synced = target
		}
	}
	return nil
}

// JournalMark returns the last unlogged commit's seq. Called under the
// engine's commit lock it names exactly what the latest version holds (the
// checkpoint's capture, beside Mark).
func (w *Writer) JournalMark() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.journal.lastSeq()
}

// JournalWritten is the number of journal bytes this process appended. It
// takes no lock (the checkpointer asks it under the binlog's).
func (w *Writer) JournalWritten() uint64 { return w.journal.written.Load() }

// WaitJournalDurable returns once the journal holds seq on disk.
func (w *Writer) WaitJournalDurable(seq uint64) error { return w.waitJournalSynced(seq) }

// PruneJournal runs after a checkpoint covering seq newest was written,
// with older the seq the older kept checkpoint covers: the current journal
// file is closed (synced) if it holds records, so later commits start a
// new one, and every file whose records older covers is deleted.
func (w *Writer) PruneJournal(older uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	j := w.journal
	if j.f != nil && j.files[len(j.files)-1].last != 0 {
		// Sync it fully (no leader may be using it meanwhile), then close.
		j.syncMu.Lock()
		for j.syncing {
			j.syncCond.Wait()
		}
		err := j.f.Sync()
		if err == nil && j.tailSeq > j.synced {
			j.synced = j.tailSeq
		}
		j.syncMu.Unlock()
		if err != nil {
			return w.fail("sync", fmt.Errorf("fsync the unlogged journal: %w", err))
		}
		j.f.Close()
		j.f = nil
	}
	removed := false
	keep := j.files[:0]
	for i, jf := range j.files {
		current := i == len(j.files)-1 && j.f != nil
		if !current && jf.last <= older {
			if err := w.fs.Remove(filepath.Join(w.cfg.Dir, jf.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				w.log.WithError(err).WithField("journal_file", jf.name).Warn("cannot remove an unlogged-journal file the checkpoints cover")
				keep = append(keep, jf)
				continue
			}
			removed = true
			continue
		}
		keep = append(keep, jf)
	}
	j.files = keep
	if removed {
		return w.fs.SyncDir(w.cfg.Dir)
	}
	return nil
}

// journalTransaction decodes a journal record's events.
func journalTransaction(r journalRecord) (*Transaction, error) {
	tx := &Transaction{File: r.file}
	b := r.events
	for len(b) > 0 {
		if len(b) < HeaderLen {
			return nil, fmt.Errorf("binlog: %s at %d: torn event in record %d", r.file, r.offset, r.seq)
		}
		h, _ := ParseHeader(b)
		if h.EventSize < HeaderLen || uint64(h.EventSize) > uint64(len(b)) {
			return nil, fmt.Errorf("binlog: %s at %d: bad event size in record %d", r.file, r.offset, r.seq)
		}
		ev := b[:h.EventSize]
		b = b[h.EventSize:]
		if err := tx.addEvent(h, EventBody(ev, false)); err != nil {
			return nil, fmt.Errorf("binlog: %s record %d: %w", r.file, r.seq, err)
		}
	}
	return tx, nil
}

// journalReplay hands the pending journal records to replay in their
// places between the binlog's transactions (before); finish hands over
// those left once the binlog is read, and cuts away those past its end.
type journalReplay struct {
	w       *Writer
	pending []journalRecord
	replay  func(*Transaction) error
}

func (jr *journalReplay) before(end Position) error {
	for len(jr.pending) > 0 && jr.pending[0].after.Compare(end) < 0 {
		if err := jr.apply(jr.pending[0]); err != nil {
			return err
		}
		jr.pending = jr.pending[1:]
	}
	return nil
}

func (jr *journalReplay) apply(r journalRecord) error {
	tx, err := journalTransaction(r)
	if err != nil {
		return err
	}
	jr.w.replayed.Unlogged++
	if jr.replay == nil {
		return nil
	}
	if err := jr.replay(tx); err != nil {
		return fmt.Errorf("binlog: replaying unlogged commit %d (%s at %d): %w", r.seq, r.file, r.offset, err)
	}
	return nil
}

// finish replays the records at or before the binlog's end and cuts the
// journal at the first one after it.
func (jr *journalReplay) finish(end Position) error {
	pending := jr.pending
	jr.pending = nil
	for _, r := range pending {
		if r.after.Compare(end) > 0 {
			return jr.w.cutJournal(r)
		}
		if err := jr.apply(r); err != nil {
			return err
		}
	}
	return nil
}

package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/sirupsen/logrus"
)

// Files and the index, and how each change to them survives a crash at any
// point (Open finishes or undoes what was interrupted; see recover.go):
//
//   - A new file is created, its header written and fsynced, and only then
//     named in binlog.index (replaced atomically: temp, fsync, rename,
//     directory fsync). A crash before the index names it leaves an
//     unlisted file with no transaction, which Open removes.
//   - Rotation (max_binlog_size, FLUSH BINARY LOGS, binlog_checksum):
//     create the next file; append ROTATE to the current one; fsync it;
//     name the next file in the index; switch. A failure before the switch
//     leaves the current file as it was (a ROTATE already written is cut
//     back) and in use.
//   - PURGE and RESET MASTER first write the purge index binlog.~rec~ (as
//     MySQL's purge index file), naming each file to take out; then rewrite
//     the index; then delete the files; then remove ~rec~. Open finishes a
//     purge it finds in ~rec~. A purge only ever deletes files the newest
//     checkpoint covers (Config.Covered); a reset writes a checkpoint of
//     the engine before it deletes anything, and Open undoes a reset whose
//     checkpoint was not written.

// purgeIndexSuffix names the file listing the files a purge takes out, written
// before the index changes (MySQL's <basename>.~rec~).
const purgeIndexSuffix = ".~rec~"

// archiveDir is where earlier versions moved purged files, replayed at
// every start. Open replays it only when there is no checkpoint yet; the
// caller then writes one and calls RemoveArchive.
const archiveDir = "binlog-archive"

func (w *Writer) purgeIndexPath() string {
	return filepath.Join(w.cfg.Dir, w.baseName()+purgeIndexSuffix)
}

// readIndex lists the binlog files, from binlog.index or, when it is
// missing, from the directory.
func (w *Writer) readIndex() ([]string, error) {
	data, err := os.ReadFile(w.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return w.filesInDir(), nil
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

// filesInDir lists the binlog files in the directory, in sequence order.
func (w *Writer) filesInDir() []string {
	matches, _ := filepath.Glob(filepath.Join(w.cfg.Dir, w.baseName()+".[0-9]*"))
	var names []string
	for _, m := range matches {
		if _, ok := w.seqOf(filepath.Base(m)); ok {
			names = append(names, filepath.Base(m))
		}
	}
	sort.Strings(names)
	return names
}

// seqOf parses the sequence number of a file name such as binlog.000042.
func (w *Writer) seqOf(name string) (int, bool) {
	rest := strings.TrimPrefix(name, w.baseName()+".")
	if rest == name || rest == "" {
		return 0, false
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// writeIndex replaces binlog.index with w.files. Called with w.mu held.
func (w *Writer) writeIndex() error {
	var b strings.Builder
	for _, n := range w.files {
		b.WriteString("./" + n + "\n")
	}
	return vfs.WriteFileAtomic(w.fs, w.indexPath(), []byte(b.String()))
}

// nextName is the name of the file after the last one.
func (w *Writer) nextName() string {
	num := 1
	if n := len(w.files); n > 0 {
		if seq, ok := w.seqOf(w.files[n-1]); ok {
			num = seq + 1
		}
	}
	return fmt.Sprintf("%s.%06d", w.baseName(), num)
}

// createFile creates name with its header (magic, FDE marked in use, the
// GTIDs executed before it) fsynced, not yet in the index. On failure the
// file is removed. A full disk gives 1026. Called with w.mu held (or before
// serving).
func (w *Writer) createFile(name string, checksum bool) (vfs.File, uint64, error) {
	path := filepath.Join(w.cfg.Dir, name)
	// Not O_EXCL: a file of this name is not in the index, so a crash left
	// it before any transaction was written to it.
	f, err := w.fs.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o640)
	if err != nil {
		return nil, 0, w.fileError(name, err)
	}
	enc := &encoder{serverID: w.cfg.ServerID, checksum: checksum, timestamp: uint32(time.Now().Unix())}
	enc.buf = append(enc.buf, Magic...)
	enc.formatDescription(enc.timestamp, LOG_EVENT_BINLOG_IN_USE_F)
	enc.previousGTIDs(w.executed)
	if _, err = f.WriteAt(enc.buf, 0); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		_ = w.fs.Remove(path)
		return nil, 0, w.fileError(name, err)
	}
	return f, uint64(len(enc.buf)), nil
}

// fileError is the error a statement gets for a failed file operation that
// left everything as it was: 1026 for a full disk, else the error itself.
func (w *Writer) fileError(name string, err error) error {
	if vfs.IsNoSpace(err) {
		w.warnDiskFull(err)
		return errWrite(name, err)
	}
	return fmt.Errorf("binlog: %s: %w", name, err)
}

// dropFile closes and removes a created file that never got into the index.
func (w *Writer) dropFile(f vfs.File, name string) {
	f.Close()
	if err := w.fs.Remove(filepath.Join(w.cfg.Dir, name)); err != nil {
		w.log.WithError(err).WithField("binlog_file", name).Warn("cannot remove an unused binlog file; the next start removes it")
	}
}

// openNewFile creates the next file, names it in the index and makes it the
// current one. Called with w.mu held and no current file (start, reset).
func (w *Writer) openNewFile() error {
	name := w.nextName()
	f, size, err := w.createFile(name, w.cfg.Checksum)
	if err != nil {
		return err
	}
	w.files = append(w.files, name)
	if err := w.writeIndex(); err != nil {
		w.files = w.files[:len(w.files)-1]
		w.dropFile(f, name)
		return w.fileError(w.baseName()+".index", err)
	}
	w.switchTo(f, name, size)
	return nil
}

// switchTo makes f (name, size bytes of header, durable and in the index)
// the current file. Called with w.mu held.
func (w *Writer) switchTo(f vfs.File, name string, size uint64) {
	w.f, w.name, w.pos = f, name, size
	w.seqNo = 0
	w.written += size
	w.writtenA.Store(w.written)
	w.syncMu.Lock()
	w.tail = tail{f: f, global: w.written, pos: Position{name, size}}
	w.synced = w.written
	w.syncMu.Unlock()
	w.setReadable(Position{name, size})
}

// syncCurrentLocked fsyncs the current file once any group-fsync leader is
// done with it, and counts everything written as synced. A failure is
// final. Called with w.mu held.
func (w *Writer) syncCurrentLocked() error {
	w.syncMu.Lock()
	for w.syncing {
		w.syncCond.Wait()
	}
	if w.failed != nil {
		err := w.failed
		w.syncMu.Unlock()
		return err
	}
	err := w.f.Sync()
	w.fsyncs.Add(1)
	if err == nil {
		if w.written > w.synced {
			w.synced = w.written
		}
		w.countGroupLocked(w.commits.Load())
	}
	w.syncCond.Broadcast()
	w.syncMu.Unlock()
	if err != nil {
		return w.fail("sync", fmt.Errorf("fsync %s: %w", w.name, err))
	}
	return nil
}

// rotateLocked ends the current file with a ROTATE and makes the next one
// (its events checksummed as checksum says) current; see the file comment
// for the order. Called with w.mu held.
func (w *Writer) rotateLocked(checksum bool) error {
	next := w.nextName()
	nf, size, err := w.createFile(next, checksum)
	if err != nil {
		return err
	}
	enc := &encoder{serverID: w.cfg.ServerID, checksum: w.cfg.Checksum, timestamp: uint32(time.Now().Unix()), pos: w.pos}
	enc.rotate(FileHeaderLen, next, 0)
	before := w.pos
	if err := w.writeLocked(enc.buf, w.commits.Load()); err != nil {
		w.dropFile(nf, next)
		return err
	}
	if err := w.syncCurrentLocked(); err != nil {
		w.dropFile(nf, next)
		return err
	}
	w.files = append(w.files, next)
	if err := w.writeIndex(); err != nil {
		w.files = w.files[:len(w.files)-1]
		w.dropFile(nf, next)
		// Take the ROTATE back: the current file goes on. The written
		// counter stays (it only ever grows, for the fsync bookkeeping).
		if terr := w.f.Truncate(int64(before)); terr != nil {
			return w.fail("flush", fmt.Errorf("cutting the ROTATE from %s after the index update failed (%v): %w", w.name, err, terr))
		}
		w.pos = before
		w.syncMu.Lock()
		w.tail.pos = Position{w.name, before}
		w.syncMu.Unlock()
		w.setReadable(Position{w.name, before})
		return w.fileError(w.baseName()+".index", err)
	}
	old, oldName := w.f, w.name
	w.cfg.Checksum = checksum
	w.switchTo(nf, next, size)
	w.finishFile(old, oldName)
	// binlog_expire_logs_seconds applies at every rotation, as in MySQL.
	if err := w.expireLocked(); err != nil {
		w.log.WithError(err).Warn("purging expired binlog files failed")
	}
	return nil
}

// finishFile closes a file that is complete and durable, clearing its
// in-use flag. A failure to clear the flag is only logged: recovery clears
// it. Called with w.mu held.
func (w *Writer) finishFile(f vfs.File, name string) {
	if err := clearInUse(f); err != nil {
		w.log.WithError(err).WithField("binlog_file", name).Warn("cannot mark the binlog file complete; the next start does it")
	}
	f.Close()
}

// closeCurrent ends the active file (a STOP_EVENT when stop), fsyncs it and
// marks it complete. Called with w.mu held.
func (w *Writer) closeCurrent(stop bool) error {
	if w.f == nil {
		return nil
	}
	if stop {
		enc := &encoder{serverID: w.cfg.ServerID, checksum: w.cfg.Checksum, timestamp: uint32(time.Now().Unix()), pos: w.pos}
		enc.stop()
		if err := w.writeLocked(enc.buf, w.commits.Load()); err != nil {
			w.log.WithError(err).WithField("binlog_file", w.name).Warn("cannot write the STOP event")
		}
	}
	if err := w.syncCurrentLocked(); err != nil {
		return err
	}
	w.setReadable(Position{w.name, w.pos})
	f := w.f
	w.f = nil
	w.finishFile(f, w.name)
	return nil
}

// clearInUse clears LOG_EVENT_BINLOG_IN_USE_F in a file's FDE (the file is
// complete) and fsyncs it.
func clearInUse(f vfs.File) error {
	hdr := make([]byte, HeaderLen)
	if _, err := f.ReadAt(hdr, FileHeaderLen); err != nil {
		return err
	}
	h, _ := ParseHeader(hdr)
	if h.EventSize < HeaderLen || h.EventSize > 1<<16 {
		return fmt.Errorf("binlog: format description event of size %d", h.EventSize)
	}
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

// SetChecksum changes binlog_checksum; like MySQL it rotates, so every
// file has one setting.
func (w *Writer) SetChecksum(on bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on == w.cfg.Checksum || w.closed {
		return nil
	}
	if err := w.usableLocked(); err != nil {
		return err
	}
	return w.rotateLocked(on)
}

// Rotate closes the active file and starts the next (FLUSH BINARY LOGS).
func (w *Writer) Rotate() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	return w.rotateLocked(w.cfg.Checksum)
}

// Close writes a STOP_EVENT, fsyncs and marks the active file complete.
// Commits after it fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if j := w.journal; j != nil && j.f != nil {
		// Every record was synced by its committer (or the commit failed).
		j.f.Close()
		j.f = nil
	}
	if w.Failed() != nil {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		return nil
	}
	return w.closeCurrent(true)
}

// sizeLocked is a file's size (the write position for the current one).
func (w *Writer) sizeLocked(name string) uint64 {
	if name == w.name {
		return w.pos
	}
	if st, err := os.Stat(filepath.Join(w.cfg.Dir, name)); err == nil {
		return uint64(st.Size())
	}
	return 0
}

// purgePlan is the content of the purge index: the files a purge or reset
// takes out and, for a reset, the sequence number of the checkpoint it
// writes before deleting anything.
type purgePlan struct {
	reset      bool
	checkpoint uint64
	files      []string
}

func (w *Writer) writePurgeIndex(plan purgePlan) error {
	var b strings.Builder
	if plan.reset {
		fmt.Fprintf(&b, "# reset checkpoint=%d\n", plan.checkpoint)
	} else {
		b.WriteString("# purge\n")
	}
	for _, n := range plan.files {
		b.WriteString(n + "\n")
	}
	return vfs.WriteFileAtomic(w.fs, w.purgeIndexPath(), []byte(b.String()))
}

// readPurgeIndex returns the interrupted purge's plan (nil: none).
func (w *Writer) readPurgeIndex() (*purgePlan, error) {
	data, err := os.ReadFile(w.purgeIndexPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	plan := &purgePlan{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# reset checkpoint="):
			plan.reset = true
			fmt.Sscanf(strings.TrimPrefix(line, "# reset checkpoint="), "%d", &plan.checkpoint)
		case strings.HasPrefix(line, "#"):
		default:
			// Older purge indexes named an archive destination after a tab.
			name, _, _ := strings.Cut(line, "\t")
			plan.files = append(plan.files, filepath.Base(name))
		}
	}
	return plan, nil
}

// removePurged deletes the planned files (those still there: it is also how
// Open finishes an interrupted purge), makes it durable and removes the
// purge index.
func (w *Writer) removePurged(plan *purgePlan) error {
	for _, n := range plan.files {
		if err := w.fs.Remove(filepath.Join(w.cfg.Dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := w.fs.SyncDir(w.cfg.Dir); err != nil {
		return err
	}
	if err := w.fs.Remove(w.purgeIndexPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return w.fs.SyncDir(w.cfg.Dir)
}

// PurgeTo deletes the files before name (PURGE BINARY LOGS TO). The active
// file is never purged, nor a file the newest checkpoint does not cover
// (Config.Covered). gtid_purged becomes the GTIDs before the new first
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
// one and those the newest checkpoint does not cover (PURGE BINARY LOGS
// BEFORE, binlog_expire_logs_seconds).
func (w *Writer) PurgeBefore(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.purgeBeforeLocked(t)
}

func (w *Writer) purgeBeforeLocked(t time.Time) error {
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

// coveredIndex is the index of the first file a purge must keep because the
// newest checkpoint does not cover it (len(files) when every file is
// covered, or there is no checkpointing). Called with w.mu held.
func (w *Writer) coveredIndex() int {
	if w.cfg.Covered == nil {
		return len(w.files)
	}
	c := w.cfg.Covered()
	for i, n := range w.files {
		if n == c.File {
			return i
		}
	}
	return 0
}

// purgeLocked deletes the files before keepFrom: purge index, index,
// removals (see the file comment). A failure before the index changed
// leaves everything as it was; a failure after it is final, and the next
// start finishes the purge. Called with w.mu held.
func (w *Writer) purgeLocked(keepFrom int) error {
	if c := w.coveredIndex(); keepFrom > c {
		w.log.WithFields(logrus.Fields{"binlog_file": w.files[c]}).Warn("not purging binlog files the newest checkpoint does not cover")
		keepFrom = c
	}
	if keepFrom <= 0 {
		return nil
	}
	plan := &purgePlan{files: append([]string(nil), w.files[:keepFrom]...)}
	if err := w.writePurgeIndex(*plan); err != nil {
		return w.fileError(w.baseName()+purgeIndexSuffix, err)
	}
	keep := append([]string(nil), w.files[keepFrom:]...)
	old := w.files
	w.files = keep
	if err := w.writeIndex(); err != nil {
		w.files = old
		_ = w.fs.Remove(w.purgeIndexPath())
		return w.fileError(w.baseName()+".index", err)
	}
	if err := w.removePurged(plan); err != nil {
		return w.fail("purge", fmt.Errorf("deleting purged binlog files: %w", err))
	}
	w.readPurged()
	return nil
}

// readPurged sets gtid_purged from the first file's PREVIOUS_GTIDS event.
func (w *Writer) readPurged() {
	if len(w.files) == 0 {
		return
	}
	fr, err := OpenFile(filepath.Join(w.cfg.Dir, w.files[0]))
	if err != nil {
		return
	}
	defer fr.Close()
	for {
		ev, _, err := fr.Next()
		if err != nil {
			return
		}
		if ev[4] == PREVIOUS_GTIDS_LOG_EVENT {
			if set, err := ParsePreviousGTIDs(fr.Body(ev)); err == nil {
				w.purged = set
			}
			return
		}
	}
}

// Reset deletes every binlog file and starts again at .000001 with empty
// GTID sets (RESET MASTER / RESET BINARY LOGS AND GTIDS). With checkpoints
// (checkpoint not nil), the data the files held must survive them: after
// the purge index names the files and checkpoint seq, checkpoint writes a
// checkpoint of the engine as it is (the caller blocks commits), and only
// then are the files deleted; a start that finds the purge index but not
// that checkpoint undoes the reset. A failure before the files are
// deleted leaves everything as it was; one after is final, and the next
// start finishes the reset.
func (w *Writer) Reset(seq uint64, checkpoint func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	plan := purgePlan{reset: checkpoint != nil, checkpoint: seq, files: append([]string(nil), w.files...)}
	if err := w.writePurgeIndex(plan); err != nil {
		return w.fileError(w.baseName()+purgeIndexSuffix, err)
	}
	if checkpoint != nil {
		if err := checkpoint(); err != nil {
			_ = w.fs.Remove(w.purgeIndexPath())
			return err
		}
	}
	old := w.files
	w.files = nil
	if err := w.writeIndex(); err != nil {
		w.files = old
		if checkpoint == nil {
			_ = w.fs.Remove(w.purgeIndexPath())
			return w.fileError(w.baseName()+".index", err)
		}
		return w.fail("reset", fmt.Errorf("emptying the binlog index: %w", err))
	}
	if err := w.closeCurrent(false); err != nil {
		return err
	}
	if err := w.removePurged(&plan); err != nil {
		return w.fail("reset", fmt.Errorf("deleting binlog files: %w", err))
	}
	w.executed, w.purged = NewGTIDSet(), NewGTIDSet()
	w.syncVisible()
	w.nextGNO = 1
	if err := w.openNewFile(); err != nil {
		return w.fail("reset", err)
	}
	// Positions went back to the first file: move the readable end back too.
	p := Position{w.name, w.pos}
	w.readable.Store(&p)
	w.wakeStreamers()
	return nil
}

// Mark returns, under the binlog lock, the position the binlog ends at, its
// gtid_executed and the written counter there (for WaitDurable). Called
// under the engine's commit lock it names exactly what the latest version
// holds (the checkpoint's capture).
func (w *Writer) Mark() (Position, *GTIDSet, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Position{w.name, w.pos}, w.executed.Clone(), w.written
}

// WaitDurable returns once everything up to the written counter global is
// on disk (a group fsync), or the writer's failure.
func (w *Writer) WaitDurable(global uint64) error {
	if w.syncBinlog.Load() == 0 {
		w.mu.Lock()
		err := w.syncCurrentLocked()
		w.mu.Unlock()
		return err
	}
	return w.waitSynced(global)
}

// Written is the number of bytes ever written to the binlog by this
// process (it never goes back). It takes no lock.
func (w *Writer) Written() uint64 { return w.writtenA.Load() }

// SetExpire sets binlog_expire_logs_seconds (0: never): files older are
// purged at start (Expire) and at every rotation, as far as the newest
// checkpoint covers them.
func (w *Writer) SetExpire(d time.Duration) { w.expire.Store(int64(d)) }

// Expire purges the files binlog_expire_logs_seconds allows.
func (w *Writer) Expire() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expireLocked()
}

func (w *Writer) expireLocked() error {
	d := time.Duration(w.expire.Load())
	if d <= 0 {
		return nil
	}
	return w.purgeBeforeLocked(time.Now().Add(-d))
}

// logFields names a file and position in logs.
func logFields(name string, pos uint64) logrus.Fields {
	return logrus.Fields{"binlog_file": name, "pos": pos}
}

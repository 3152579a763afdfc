package replica

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
)

const testSourceUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// Source events as a MySQL 8.0 source sends them (with CRC32), ending at
// source position logPos.
func gtidEv(t *testing.T, gno int64, logPos uint32) []byte {
	t.Helper()
	sid, err := binlog.ParseSID(testSourceUUID)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{0}, sid[:]...)
	body = binary.LittleEndian.AppendUint64(body, uint64(gno))
	return makeEvent(binlog.GTID_LOG_EVENT, 1, logPos, 0, body)
}

func queryEv(db, sql string, logPos uint32) []byte {
	body := binary.LittleEndian.AppendUint32(nil, 7) // thread id
	body = binary.LittleEndian.AppendUint32(body, 0) // exec time
	body = append(body, byte(len(db)))
	body = binary.LittleEndian.AppendUint16(body, 0) // error code
	body = binary.LittleEndian.AppendUint16(body, 0) // no status vars
	body = append(body, db...)
	body = append(body, 0)
	body = append(body, sql...)
	return makeEvent(binlog.QUERY_EVENT, 1, logPos, 0, body)
}

func xidEv(logPos uint32) []byte {
	return makeEvent(binlog.XID_EVENT, 1, logPos, 0, binary.LittleEndian.AppendUint64(nil, 9))
}

func openRelay(t *testing.T, dir string) *RelayLog {
	t.Helper()
	r, err := OpenRelayLog(dir, 2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// appendTx appends a row transaction's frame (GTID, BEGIN, XID) and marks
// its end, as the IO thread does.
func appendTx(t *testing.T, r *RelayLog, gno int64, endPos uint32) {
	t.Helper()
	for _, ev := range [][]byte{gtidEv(t, gno, endPos-40), queryEv("", "BEGIN", endPos-20), xidEv(endPos)} {
		if err := r.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := binlog.ParseGTID(binlog.EventBody(gtidEv(t, gno, 0), true))
	r.MarkBoundary(binlog.Position{File: "binlog.000001", Pos: uint64(endPos)}, &g)
}

// readAll reads every event up to the published end.
func readAll(t *testing.T, r *RelayLog, from RelayPos) []binlog.Header {
	t.Helper()
	rr := &relayReader{relay: r}
	if err := rr.open(from); err != nil {
		t.Fatal(err)
	}
	defer rr.close()
	var out []binlog.Header
	for {
		readable, _ := r.Readable()
		_, h, _, err := rr.next(readable)
		if err == errCaughtUp {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

func types(hs []binlog.Header) []byte {
	var out []byte
	for _, h := range hs {
		out = append(out, h.Type)
	}
	return out
}

// TestRelayLogPublishesOnlyFlushedTransactions: readers see a transaction
// only after Flush, and never a partial one; Retrieved_Gtid_Set and the
// resume position follow the published boundary.
func TestRelayLogPublishesOnlyFlushedTransactions(t *testing.T) {
	r := openRelay(t, t.TempDir())
	defer r.Close()
	start, _ := r.Readable()
	if start.File != "relay-bin.000001" {
		t.Fatalf("first file %q", start.File)
	}
	appendTx(t, r, 1, 300)
	if got, _ := r.Readable(); got != start {
		t.Fatalf("readable moved to %v before Flush", got)
	}
	if r.Retrieved().String() != "" {
		t.Fatalf("retrieved %q before Flush", r.Retrieved())
	}
	_, changed := r.Readable()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Flush did not wake readers")
	}
	// A second transaction, appended but not finished.
	if err := r.Append(gtidEv(t, 2, 340)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	got := types(readAll(t, r, RelayPos{File: start.File}))
	want := []byte{binlog.FORMAT_DESCRIPTION_EVENT, binlog.PREVIOUS_GTIDS_LOG_EVENT, binlog.GTID_LOG_EVENT, binlog.QUERY_EVENT, binlog.XID_EVENT}
	if string(got) != string(want) {
		t.Fatalf("events read %v, want %v", got, want)
	}
	if s := r.Retrieved().String(); s != testSourceUUID+":1" {
		t.Fatalf("retrieved %q", s)
	}
	if p := r.SourcePos(); p != (binlog.Position{File: "binlog.000001", Pos: 300}) {
		t.Fatalf("source position %v", p)
	}
}

// TestRelayLogRecovery: after a crash, the partial transaction at the tail
// is truncated and the resume position and Retrieved_Gtid_Set come back
// from the file.
func TestRelayLogRecovery(t *testing.T) {
	dir := t.TempDir()
	r := openRelay(t, dir)
	appendTx(t, r, 1, 300)
	appendTx(t, r, 2, 400)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	end, _ := r.Readable()
	// Half of a third transaction reaches the file (a large transaction
	// is written in pieces before it is complete).
	if err := r.Append(gtidEv(t, 3, 440)); err != nil {
		t.Fatal(err)
	}
	r.wmu.Lock()
	if err := r.writeBuf(); err != nil {
		t.Fatal(err)
	}
	r.wmu.Unlock()
	r.f.Close() // crash: no clean close
	if st, _ := os.Stat(filepath.Join(dir, end.File)); uint64(st.Size()) <= end.Pos {
		t.Fatal("the partial transaction did not reach the file")
	}

	r2 := openRelay(t, dir)
	defer r2.Close()
	if got, _ := r2.Readable(); got != end {
		t.Fatalf("recovered end %v, want %v", got, end)
	}
	if st, _ := os.Stat(filepath.Join(dir, end.File)); uint64(st.Size()) != end.Pos {
		t.Fatalf("file is %d bytes after recovery, want %d", st.Size(), end.Pos)
	}
	if s := r2.Retrieved().String(); s != testSourceUUID+":1-2" {
		t.Fatalf("retrieved %q", s)
	}
	if p := r2.SourcePos(); p != (binlog.Position{Pos: 400}) {
		t.Fatalf("source position %v", p)
	}
	// Appending continues where the complete transactions end.
	appendTx(t, r2, 3, 500)
	if err := r2.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, r2, RelayPos{File: end.File})); n != 2+3*3 {
		t.Fatalf("%d events after recovery and one more transaction, want %d", n, 2+3*3)
	}
}

// TestRelayLogRotationAndPurge: files rotate at transaction boundaries; the
// new file names the source position and keeps Retrieved_Gtid_Set; readers
// cross files; purged files are gone.
func TestRelayLogRotationAndPurge(t *testing.T) {
	dir := t.TempDir()
	r := openRelay(t, dir)
	defer r.Close()
	r.SetMaxSize(200)
	for i := int64(1); i <= 3; i++ {
		appendTx(t, r, i, uint32(100*i+200))
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	files := r.Files()
	if len(files) != 4 {
		t.Fatalf("files %v, want 4 (one per transaction and a fresh one)", files)
	}
	hs := readAll(t, r, RelayPos{File: files[0]})
	gtids := 0
	for _, h := range hs {
		if h.Type == binlog.GTID_LOG_EVENT {
			gtids++
		}
	}
	if gtids != 3 {
		t.Fatalf("read %d transactions across files, want 3", gtids)
	}
	// The last file starts with PREVIOUS_GTIDS holding all three and a
	// ROTATE to the source position after them.
	fr, err := binlog.OpenFile(r.Path(files[3]))
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	var prev *binlog.GTIDSet
	var rot binlog.Position
	for {
		ev, _, err := fr.Next()
		if err != nil {
			break
		}
		h, _ := binlog.ParseHeader(ev)
		switch h.Type {
		case binlog.PREVIOUS_GTIDS_LOG_EVENT:
			prev, _ = binlog.ParsePreviousGTIDs(fr.Body(ev))
		case binlog.ROTATE_EVENT:
			rot, _ = binlog.ParseRotate(fr.Body(ev))
		}
	}
	if prev == nil || prev.String() != testSourceUUID+":1-3" || rot != (binlog.Position{File: "binlog.000001", Pos: 500}) {
		t.Fatalf("new file header: previous %v, rotate %v", prev, rot)
	}
	if err := r.PurgeBefore(files[2]); err != nil {
		t.Fatal(err)
	}
	if got := r.Files(); len(got) != 2 || got[0] != files[2] {
		t.Fatalf("after purge: %v", got)
	}
	if _, err := os.Stat(r.Path(files[0])); !os.IsNotExist(err) {
		t.Fatalf("purged file still there: %v", err)
	}
	// Reopening keeps the index and the retrieved set.
	r.Close()
	r2 := openRelay(t, dir)
	defer r2.Close()
	if got := r2.Files(); len(got) != 2 || r2.Retrieved().String() != testSourceUUID+":1-3" {
		t.Fatalf("reopened: files %v retrieved %q", got, r2.Retrieved())
	}
}

// TestRelayLogDiscardAndReset: a reconnect drops a partial transaction;
// RESET starts over with an empty retrieved set at the given position.
func TestRelayLogDiscardAndReset(t *testing.T) {
	r := openRelay(t, t.TempDir())
	defer r.Close()
	appendTx(t, r, 1, 300)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	end, _ := r.Readable()
	if err := r.Append(gtidEv(t, 2, 340)); err != nil {
		t.Fatal(err)
	}
	r.wmu.Lock()
	_ = r.writeBuf()
	r.wmu.Unlock()
	if err := r.Discard(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(r.Path(end.File)); uint64(st.Size()) != end.Pos {
		t.Fatalf("after Discard the file is %d bytes, want %d", st.Size(), end.Pos)
	}
	start := binlog.Position{File: "binlog.000007", Pos: 1234}
	if err := r.Reset(&start); err != nil {
		t.Fatal(err)
	}
	if f := r.Files(); len(f) != 1 || f[0] != "relay-bin.000001" {
		t.Fatalf("files after reset %v", f)
	}
	if r.Retrieved().String() != "" || r.SourcePos() != start {
		t.Fatalf("after reset: retrieved %q, source %v", r.Retrieved(), r.SourcePos())
	}
	// The start position survives a reopen (it is in the file).
	dir := r.dir
	r.Close()
	r2 := openRelay(t, dir)
	defer r2.Close()
	if r2.SourcePos() != start {
		t.Fatalf("reopened source position %v, want %v", r2.SourcePos(), start)
	}
}

// TestWithChecksum: events without a CRC get one (event_size fixed);
// events with one are verified.
func TestWithChecksum(t *testing.T) {
	ev := xidEv(500)
	bare := append([]byte(nil), ev[:len(ev)-4]...)
	binary.LittleEndian.PutUint32(bare[9:], uint32(len(bare)))
	got, err := withChecksum(bare, false)
	if err != nil || string(got) != string(ev) {
		t.Fatalf("withChecksum(no crc) = %x, %v; want %x", got, err, ev)
	}
	if _, err := withChecksum(ev, true); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), ev...)
	bad[20] ^= 1
	if _, err := withChecksum(bad, true); err != binlog.ErrChecksum {
		t.Fatalf("corrupt event: %v", err)
	}
	if _, err := withChecksum(ev[:10], true); err == nil {
		t.Fatal("short event accepted")
	}
}

func TestCommentOnly(t *testing.T) {
	for q, want := range map[string]bool{
		"# Dummy event replacing event type 160 that slave cannot handle.": true,
		"  /* c */ -- x\n# y\n":  true,
		"":                       true,
		"BEGIN":                  false,
		"/* c */ CREATE TABLE t": false,
		"/*!40101 SET x = 1 */":  false,
		"# c\nDROP TABLE t":      false,
	} {
		if got := commentOnly(q); got != want {
			t.Errorf("commentOnly(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestRowsV2: a v1 rows event body becomes the v2 body the decoder reads
// (an empty extra-data block after table id and flags).
func TestRowsV2(t *testing.T) {
	v1 := []byte{1, 0, 0, 0, 0, 0, 1, 0, 2, 0xff, 0x00, 0x01}
	typ, v2 := rowsV2(updateRowsEventV1, v1)
	want := []byte{1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0xff, 0x00, 0x01}
	if typ != binlog.UPDATE_ROWS_EVENT || string(v2) != string(want) {
		t.Fatalf("rowsV2 = %d %x, want %d %x", typ, v2, binlog.UPDATE_ROWS_EVENT, want)
	}
	if typ, body := rowsV2(binlog.WRITE_ROWS_EVENT, v1); typ != binlog.WRITE_ROWS_EVENT || string(body) != string(v1) {
		t.Fatal("a v2 event was changed")
	}
	re, err := binlog.ParseRows(typ, v2)
	if err != nil || re.TableID != 1 || re.NCols != 2 || len(re.Present) != 2 || len(re.Present2) != 2 {
		t.Fatalf("ParseRows of the converted body: %+v, %v", re, err)
	}
}

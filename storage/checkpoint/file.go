// Package checkpoint writes and loads checkpoints of the storage engine: a
// consistent image of every database (schemas, rows, AUTO_INCREMENT
// counters, views, triggers, procedures) with the binlog position and
// gtid_executed it covers. Recovery loads the newest valid checkpoint and
// replays only the binlog after its position, so a restart costs what the
// data holds, not the history behind it; and binlog files a checkpoint
// covers may be deleted for real.
//
// File format (checkpoint.NNNNNN in the data directory, NNNNNN its sequence
// number): the 8-byte magic "SSDCKPT1", then records, each
//
//	u32 length of type+payload | u32 CRC32 (IEEE) of type+payload | u8 type | payload
//
// Records: a header (binlog position, flags, GTID sets, the last unlogged
// commit held; that last field is absent in an earlier version's files), then per database
// its CREATE DATABASE, per table its CREATE TABLE, column definitions and
// AUTO_INCREMENT, then chunks of rows (each row as a binlog row image, the
// same codec as WRITE_ROWS events), then the statements that must follow
// every table (foreign keys, views, triggers, procedures), and an end
// record with the record count. A file without its end record, with a bad
// CRC or a record out of place is invalid and never loaded.
//
// Writing: a temporary file, fsynced, renamed into place, the directory
// fsynced (the binlog's file-replacement rule, for a file too large to build
// in memory). Two checkpoints are kept, so a damaged newest one falls back
// to the previous one.
package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage"
)

const (
	magic      = "SSDCKPT1"
	filePrefix = "checkpoint."
	// rowChunk bounds the encoded rows of one record.
	rowChunk = 1 << 20
	// maxRecord bounds a record's length when reading.
	maxRecord = 1 << 30
)

// Record types.
const (
	recHeader    byte = 'H'
	recDatabase  byte = 'D'
	recTable     byte = 'T'
	recRows      byte = 'R'
	recStatement byte = 'S'
	recView      byte = 'V'
	recTrigger   byte = 'G'
	recProcedure byte = 'P'
	recEvent     byte = 'X'
	recEnd       byte = 'E'
)

// ErrInvalid marks a checkpoint file that is torn or damaged.
var ErrInvalid = errors.New("checkpoint: invalid file")

// Meta is what a checkpoint covers.
type Meta struct {
	Seq uint64
	// Binlog is the position the image ends at: every transaction before
	// it is in the image, none after it.
	Binlog binlog.Position
	// Reset marks the checkpoint RESET MASTER writes: the binlog after it
	// starts afresh at its first file, and Executed is empty.
	Reset bool
	// Executed is @@gtid_executed at the image.
	Executed string
	Created  time.Time
	// Journal is the last unlogged commit (sql_log_bin = 0) the image
	// holds: recovery replays the binlog's unlogged journal after it. A
	// checkpoint of an earlier version has none (0).
	Journal uint64
}

// Name is the file name of checkpoint seq.
func Name(seq uint64) string { return fmt.Sprintf("%s%06d", filePrefix, seq) }

// List returns the sequence numbers of the checkpoint files in dir, newest
// first (temporary files excluded).
func List(dir string) []uint64 {
	matches, _ := filepath.Glob(filepath.Join(dir, filePrefix+"[0-9]*"))
	var out []uint64
	for _, m := range matches {
		n, err := strconv.ParseUint(strings.TrimPrefix(filepath.Base(m), filePrefix), 10, 64)
		if err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

// recordWriter frames records.
type recordWriter struct {
	w       *bufio.Writer
	records uint64
	buf     []byte
	err     error
}

func (rw *recordWriter) record(typ byte, payload []byte) {
	if rw.err != nil {
		return
	}
	var hdr [9]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(1+len(payload)))
	crc := crc32.NewIEEE()
	crc.Write([]byte{typ})
	crc.Write(payload)
	binary.LittleEndian.PutUint32(hdr[4:], crc.Sum32())
	hdr[8] = typ
	if _, err := rw.w.Write(hdr[:]); err != nil {
		rw.err = err
		return
	}
	if _, err := rw.w.Write(payload); err != nil {
		rw.err = err
		return
	}
	rw.records++
}

// Payload encoding: uvarints and length-prefixed strings.
func putUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad integer", ErrInvalid)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: truncated field", ErrInvalid)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) string() string { return string(r.bytes()) }

// putTime appends t to the nanosecond (0: the zero time).
func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return putUvarint(b, 0)
	}
	return putUvarint(b, uint64(t.UnixNano()))
}

func (r *reader) time() time.Time {
	n := r.uvarint()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

// putEvent appends an event definition: its strings, its times (wall
// clock and offset kept: GMS compares and shows them as they were given)
// and its flags.
func putEvent(b []byte, ev sql.EventDefinition) []byte {
	for _, s := range []string{ev.Name, ev.Definer, ev.EventBody, ev.Status, ev.Comment, ev.ExecuteEvery, ev.SqlMode, ev.TimezoneOffset} {
		b = putString(b, s)
	}
	for _, t := range []time.Time{ev.CreatedAt, ev.LastAltered, ev.LastExecuted, ev.ExecuteAt, ev.Starts, ev.Ends} {
		b = putString(b, formatTime(t))
	}
	var flags uint64
	for i, f := range []bool{ev.OnCompletionPreserve, ev.HasExecuteAt, ev.HasEnds} {
		if f {
			flags |= 1 << i
		}
	}
	return putUvarint(b, flags)
}

func (r *reader) event() sql.EventDefinition {
	var ev sql.EventDefinition
	for _, s := range []*string{&ev.Name, &ev.Definer, &ev.EventBody, &ev.Status, &ev.Comment, &ev.ExecuteEvery, &ev.SqlMode, &ev.TimezoneOffset} {
		*s = r.string()
	}
	for _, t := range []*time.Time{&ev.CreatedAt, &ev.LastAltered, &ev.LastExecuted, &ev.ExecuteAt, &ev.Starts, &ev.Ends} {
		*t = r.parseTime(r.string())
	}
	flags := r.uvarint()
	ev.OnCompletionPreserve, ev.HasExecuteAt, ev.HasEnds = flags&1 != 0, flags&2 != 0, flags&4 != 0
	return ev
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func (r *reader) parseTime(s string) time.Time {
	if s == "" || r.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.err = fmt.Errorf("%w: bad time %q", ErrInvalid, s)
	}
	return t
}

// columnDefs serialises a table's binlog column definitions as a table map
// does: types, metadata block, NULL bitmap.
func columnDefs(cols []binlog.ColumnDef) []byte {
	types := make([]byte, len(cols))
	nulls := make([]byte, (len(cols)+7)/8)
	for i, c := range cols {
		types[i] = c.Type
		if c.Nullable {
			nulls[i/8] |= 1 << (i % 8)
		}
	}
	var b []byte
	b = putString(b, string(types))
	b = putString(b, string(binlog.AppendColumnMetadata(nil, cols)))
	return putString(b, string(nulls))
}

// Write writes the checkpoint of img with meta into dir (its file
// Name(meta.Seq)) with vfs.ReplaceFile: temporary file, fsync, rename,
// directory fsync. It returns the file's size. Writes go through fs (nil:
// the real one).
func Write(fs vfs.FS, dir string, meta Meta, img *storage.Image) (int64, error) {
	size, err := vfs.ReplaceFile(fs, filepath.Join(dir, Name(meta.Seq)), func(w io.Writer) error {
		return write(w, meta, img)
	})
	if err != nil {
		return 0, fmt.Errorf("checkpoint: write %s: %w", Name(meta.Seq), err)
	}
	return size, nil
}

func write(out io.Writer, meta Meta, img *storage.Image) error {
	bw := bufio.NewWriterSize(out, 1<<20)
	if _, err := bw.WriteString(magic); err != nil {
		return err
	}
	rw := &recordWriter{w: bw}
	var h []byte
	h = putUvarint(h, meta.Seq)
	h = putString(h, meta.Binlog.File)
	h = putUvarint(h, meta.Binlog.Pos)
	flags := uint64(0)
	if meta.Reset {
		flags |= 1
	}
	h = putUvarint(h, flags)
	h = putString(h, meta.Executed)
	h = putUvarint(h, uint64(meta.Created.UnixMicro()))
	h = putUvarint(h, meta.Journal)
	rw.record(recHeader, h)

	var after []struct{ db, stmt string }
	dbs := img.Databases()
	for _, db := range dbs {
		rw.record(recDatabase, putString(putString(nil, db.Name), db.Collation))
		for _, t := range db.Tables {
			cols, err := binlog.ColumnDefs(t.Schema)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", db.Name, t.Name, err)
			}
			var tb []byte
			tb = putString(tb, db.Name)
			tb = putString(tb, t.Name)
			tb = putString(tb, t.Create)
			tb = putUvarint(tb, t.AutoIncrement)
			tb = append(tb, columnDefs(cols)...)
			rw.record(recTable, tb)
			var chunk []byte
			n := 0
			flush := func() {
				if n == 0 {
					return
				}
				var rb []byte
				rb = putString(rb, db.Name)
				rb = putString(rb, t.Name)
				rb = putUvarint(rb, uint64(n))
				rb = append(rb, chunk...)
				rw.record(recRows, rb)
				chunk, n = chunk[:0], 0
			}
			err = t.Rows(func(row sql.Row) error {
				var err error
				if chunk, err = binlog.EncodeRow(chunk, cols, t.Schema, row); err != nil {
					return err
				}
				n++
				if len(chunk) >= rowChunk {
					flush()
				}
				return rw.err
			})
			if err != nil {
				return fmt.Errorf("%s.%s: %w", db.Name, t.Name, err)
			}
			flush()
			for _, fk := range t.ForeignKeys {
				after = append(after, struct{ db, stmt string }{db.Name, fk})
			}
		}
	}
	// Foreign keys once every table holds its rows; views, triggers and
	// procedures as data (statements, sql_mode, creation times kept).
	for _, a := range after {
		rw.record(recStatement, putString(putString(nil, a.db), a.stmt))
	}
	for _, db := range dbs {
		name := db.Name
		for _, v := range db.Views {
			rw.record(recView, putString(putString(putString(putString(putString(nil, name), v.Name), v.TextDefinition), v.CreateViewStatement), v.SqlMode))
		}
		for _, tr := range db.Triggers {
			b := putString(putString(putString(nil, name), tr.Name), tr.CreateStatement)
			b = putTime(b, tr.CreatedAt)
			rw.record(recTrigger, putString(b, tr.SqlMode))
		}
		for _, p := range db.Procedures {
			b := putString(putString(putString(nil, name), p.Name), p.CreateStatement)
			b = putTime(putTime(b, p.CreatedAt), p.ModifiedAt)
			rw.record(recProcedure, putString(b, p.SqlMode))
		}
		for _, ev := range db.Events {
			rw.record(recEvent, putEvent(putString(nil, name), ev))
		}
	}
	rw.record(recEnd, putUvarint(nil, rw.records))
	if rw.err != nil {
		return rw.err
	}
	return bw.Flush()
}

// readRecords reads every record of the file at path, checking framing and
// CRCs, and calls f for each (nil: only check). It returns the header's
// Meta. A file without its end record is ErrInvalid.
func readRecords(path string, f func(typ byte, payload []byte) error) (Meta, error) {
	var meta Meta
	file, err := os.Open(path)
	if err != nil {
		return meta, err
	}
	defer file.Close()
	br := bufio.NewReaderSize(file, 1<<20)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || !bytes.Equal(head, []byte(magic)) {
		return meta, fmt.Errorf("%w: %s is not a checkpoint", ErrInvalid, filepath.Base(path))
	}
	var count uint64
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return meta, fmt.Errorf("%w: %s ends without its end record", ErrInvalid, filepath.Base(path))
		}
		n := binary.LittleEndian.Uint32(hdr[0:])
		if n == 0 || n > maxRecord {
			return meta, fmt.Errorf("%w: %s: record %d has length %d", ErrInvalid, filepath.Base(path), count, n)
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return meta, fmt.Errorf("%w: %s ends inside record %d", ErrInvalid, filepath.Base(path), count)
		}
		if crc32.ChecksumIEEE(buf) != binary.LittleEndian.Uint32(hdr[4:]) {
			return meta, fmt.Errorf("%w: %s: record %d fails its checksum", ErrInvalid, filepath.Base(path), count)
		}
		typ, payload := buf[0], buf[1:]
		if count == 0 {
			if typ != recHeader {
				return meta, fmt.Errorf("%w: %s does not start with a header", ErrInvalid, filepath.Base(path))
			}
			r := &reader{b: payload}
			meta.Seq = r.uvarint()
			meta.Binlog.File = r.string()
			meta.Binlog.Pos = r.uvarint()
			meta.Reset = r.uvarint()&1 != 0
			meta.Executed = r.string()
			meta.Created = time.UnixMicro(int64(r.uvarint()))
			if len(r.b) > 0 {
				meta.Journal = r.uvarint()
			}
			if r.err != nil {
				return meta, r.err
			}
		}
		if typ == recEnd {
			r := &reader{b: payload}
			if want := r.uvarint(); r.err != nil || want != count {
				return meta, fmt.Errorf("%w: %s: end record counts %d records, read %d", ErrInvalid, filepath.Base(path), want, count)
			}
			return meta, nil
		}
		if f != nil {
			if err := f(typ, payload); err != nil {
				return meta, err
			}
		}
		count++
	}
}

// Verify checks the whole file at path and returns its Meta.
func Verify(path string) (Meta, error) { return readRecords(path, nil) }

// Target is what a checkpoint is restored into: the SQL engine for
// statements and the storage engine for rows.
type Target interface {
	// Exec runs a statement with db as the current database ("" none).
	Exec(db, query string) error
	// Schema is a table's schema as restored so far.
	Schema(db, table string) (sql.Schema, bool)
	// LoadRows bulk-loads rows and sets the table's next AUTO_INCREMENT.
	LoadRows(db, table string, rows []sql.Row, autoInc uint64) error
	// LoadObjects adds views, triggers and procedures as they are.
	LoadObjects(db string, views []sql.ViewDefinition, triggers []sql.TriggerDefinition, procs []sql.StoredProcedureDetails) error
	// LoadEvents adds event definitions as they are.
	LoadEvents(db string, events []sql.EventDefinition) error
}

// Stats count what a restore loaded.
type Stats struct {
	Databases, Tables, Rows, Statements int
}

// Restore verifies the checkpoint at path and then loads it into t. A file
// that fails verification is not touched (ErrInvalid); a statement or row
// that fails to load is an error naming it.
func Restore(path string, t Target) (Meta, Stats, error) {
	if _, err := Verify(path); err != nil {
		return Meta{}, Stats{}, err
	}
	return restore(path, t)
}

// restore loads the checkpoint at path, which Verify accepted, into t.
// Rows are decoded by a rowLoader's workers while the file is read, and
// loaded into t in file order; every other record waits until the rows
// before it are loaded, so t sees the same calls in the same order as a
// sequential load.
func restore(path string, t Target) (Meta, Stats, error) {
	var st Stats
	tables := map[string]*tableInfo{}
	rl := newRowLoader(t, &st)
	meta, err := readRecords(path, func(typ byte, payload []byte) error {
		r := &reader{b: payload}
		if typ == recRows {
			db, name, n := r.string(), r.string(), r.uvarint()
			if r.err != nil {
				return r.err
			}
			info := tables[db+"\x00"+name]
			if info == nil || info.sch == nil {
				return fmt.Errorf("%w: rows for %s.%s before its table", ErrInvalid, db, name)
			}
			return rl.add(db, name, info, n, r.b)
		}
		// Everything else runs in order after the rows before it.
		if err := rl.wait(); err != nil {
			return err
		}
		switch typ {
		case recHeader:
		case recDatabase:
			name, coll := r.string(), r.string()
			if r.err != nil {
				return r.err
			}
			st.Databases++
			q := "CREATE DATABASE " + storage.QuoteIdentifier(name)
			if coll != "" {
				q += " COLLATE " + coll
			}
			return t.Exec("", q)
		case recTable:
			db, name, create, autoInc := r.string(), r.string(), r.string(), r.uvarint()
			types, meta, nulls := r.bytes(), r.bytes(), r.bytes()
			if r.err != nil {
				return r.err
			}
			cols, err := binlog.ColumnDefsFromTableMap(types, meta, nulls)
			if err != nil {
				return fmt.Errorf("checkpoint: %s.%s: %w", db, name, err)
			}
			if err := t.Exec(db, create); err != nil {
				return fmt.Errorf("checkpoint: restoring %s.%s: %w", db, name, err)
			}
			st.Tables++
			info := &tableInfo{cols: cols, autoInc: autoInc}
			if sch, ok := t.Schema(db, name); ok {
				info.sch = sch
			}
			tables[db+"\x00"+name] = info
			if autoInc > 0 {
				return t.LoadRows(db, name, nil, autoInc)
			}
		case recStatement:
			db, q := r.string(), r.string()
			if r.err != nil {
				return r.err
			}
			st.Statements++
			if err := t.Exec(db, q); err != nil {
				return fmt.Errorf("checkpoint: restoring %q: %w", q, err)
			}
		case recView:
			v := sql.ViewDefinition{}
			db := r.string()
			v.Name, v.TextDefinition, v.CreateViewStatement, v.SqlMode = r.string(), r.string(), r.string(), r.string()
			if r.err != nil {
				return r.err
			}
			st.Statements++
			return t.LoadObjects(db, []sql.ViewDefinition{v}, nil, nil)
		case recTrigger:
			tr := sql.TriggerDefinition{}
			db := r.string()
			tr.Name, tr.CreateStatement = r.string(), r.string()
			tr.CreatedAt = r.time()
			tr.SqlMode = r.string()
			if r.err != nil {
				return r.err
			}
			st.Statements++
			return t.LoadObjects(db, nil, []sql.TriggerDefinition{tr}, nil)
		case recProcedure:
			p := sql.StoredProcedureDetails{}
			db := r.string()
			p.Name, p.CreateStatement = r.string(), r.string()
			p.CreatedAt = r.time()
			p.ModifiedAt = r.time()
			p.SqlMode = r.string()
			if r.err != nil {
				return r.err
			}
			st.Statements++
			return t.LoadObjects(db, nil, nil, []sql.StoredProcedureDetails{p})
		case recEvent:
			db := r.string()
			ev := r.event()
			if r.err != nil {
				return r.err
			}
			st.Statements++
			return t.LoadEvents(db, []sql.EventDefinition{ev})
		default:
			return fmt.Errorf("%w: record type %q", ErrInvalid, typ)
		}
		return nil
	})
	if cerr := rl.close(); err == nil {
		err = cerr
	}
	return meta, st, err
}

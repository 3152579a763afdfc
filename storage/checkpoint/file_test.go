package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage"
)

// engine is a storage engine behind a GMS engine, for tests.
type engine struct {
	st *storage.Engine
	e  *sqle.Engine
}

func newEngine() *engine {
	st := storage.New(storage.Options{})
	return &engine{st: st, e: sqle.New(analyzer.NewDefault(st.Provider()), nil)}
}

func (g *engine) ctx(db string) (*sql.Context, *storage.Session) {
	sess := g.st.NewSession(sql.NewBaseSessionWithClientServer("test", sql.Client{User: "root", Address: "localhost"}, 1)).(*storage.Session)
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	if db != "" {
		ctx.SetCurrentDatabase(db)
	}
	return ctx, sess
}

func (g *engine) query(db, q string) ([]sql.Row, error) {
	ctx, _ := g.ctx(db)
	_, iter, _, err := g.e.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return sql.RowIterToRows(ctx, iter)
}

// Target implementation.
func (g *engine) Exec(db, q string) error {
	_, err := g.query(db, q)
	return err
}

func (g *engine) Schema(db, table string) (sql.Schema, bool) {
	ctx, sess := g.ctx("")
	pks, ok := sess.TableSchema(ctx, db, table)
	return pks.Schema, ok
}

func (g *engine) LoadRows(db, table string, rows []sql.Row, autoInc uint64) error {
	return g.st.LoadRows(db, table, rows, autoInc)
}

func (g *engine) LoadObjects(db string, v []sql.ViewDefinition, tr []sql.TriggerDefinition, p []sql.StoredProcedureDetails) error {
	return g.st.LoadObjects(db, v, tr, p)
}

func (g *engine) LoadEvents(db string, evs []sql.EventDefinition) error {
	return g.st.LoadEvents(db, evs)
}

// dump renders every table of every database.
func (g *engine) dump(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, d := range g.st.CaptureImage(nil).Databases() {
		for _, tb := range d.Tables {
			rows, err := g.query(d.Name, "SELECT * FROM `"+tb.Name+"`")
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, r := range rows {
				lines = append(lines, fmt.Sprint(r))
			}
			sort.Strings(lines)
			fmt.Fprintf(&b, "%s.%s auto_increment=%d\n%s\n", d.Name, tb.Name, tb.AutoIncrement, strings.Join(lines, "\n"))
		}
		for _, v := range d.Views {
			fmt.Fprintf(&b, "view %s %q %q %q\n", v.Name, v.TextDefinition, v.CreateViewStatement, v.SqlMode)
		}
		for _, tr := range d.Triggers {
			fmt.Fprintf(&b, "trigger %s %q %s %q\n", tr.Name, tr.CreateStatement, tr.CreatedAt.UTC().Format(time.RFC3339Nano), tr.SqlMode)
		}
		for _, p := range d.Procedures {
			fmt.Fprintf(&b, "procedure %s %q %s %s %q\n", p.Name, p.CreateStatement, p.CreatedAt.UTC().Format(time.RFC3339Nano), p.ModifiedAt.UTC().Format(time.RFC3339Nano), p.SqlMode)
		}
		for _, ev := range d.Events {
			fmt.Fprintf(&b, "event %+v\n", ev)
		}
	}
	return b.String()
}

func fill(t *testing.T, g *engine, rows int) {
	t.Helper()
	for _, q := range []string{
		"CREATE DATABASE d COLLATE utf8mb4_bin",
		"CREATE TABLE d.t (id INT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(20) NOT NULL DEFAULT 'x', j JSON, b BLOB, dt DATETIME(6), dec1 DECIMAL(10,2), UNIQUE KEY (s), KEY (dt))",
		"CREATE TABLE d.k (a INT, b TEXT)",
		"CREATE TABLE d.c (id INT PRIMARY KEY, tid INT, CONSTRAINT fk FOREIGN KEY (tid) REFERENCES d.t (id))",
		"CREATE VIEW d.v AS SELECT id, s FROM d.t",
		"CREATE TRIGGER d.trg BEFORE INSERT ON d.k FOR EACH ROW SET NEW.b = UPPER(NEW.b)",
		"CREATE PROCEDURE d.p() SELECT COUNT(*) FROM d.t",
		"CREATE EVENT d.ev ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-02 03:04:05' ENDS '2031-01-01 00:00:00' ON COMPLETION PRESERVE DISABLE COMMENT 'c' DO INSERT INTO d.k VALUES (2, 'e')",
		"CREATE EVENT d.ev2 ON SCHEDULE AT '2030-05-06 07:08:09' DO DELETE FROM d.k",
	} {
		if _, err := g.query("d", q); err != nil && !strings.HasPrefix(q, "CREATE DATABASE") {
			t.Fatalf("%s: %v", q, err)
		} else if err != nil {
			if _, err := g.query("", q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	for i := 0; i < rows; i++ {
		q := fmt.Sprintf("INSERT INTO d.t (s, j, b, dt, dec1) VALUES ('s%05d', '{\"i\": %d}', X'00ff%02x', '2024-01-02 03:04:05.%06d', %d.25)", i, i, i%256, i, i)
		if _, err := g.query("d", q); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"INSERT INTO d.k VALUES (1, 'a'), (1, 'a'), (NULL, NULL)", "INSERT INTO d.c VALUES (1, 1)", "DELETE FROM d.t WHERE s = 's00003'"} {
		if _, err := g.query("d", q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRoundTrip: what a checkpoint restores is what was written: rows of
// several types across chunks, AUTO_INCREMENT, a keyless table with
// duplicate rows, a foreign key, a view, a trigger, a procedure, events.
func TestRoundTrip(t *testing.T) {
	src := newEngine()
	fill(t, src, 3000)
	dir := t.TempDir()
	meta := Meta{Seq: 7, Binlog: binlog.Position{File: "binlog.000003", Pos: 1234}, Executed: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9", Journal: 42}
	if _, err := Write(nil, dir, meta, src.st.CaptureImage(nil)); err != nil {
		t.Fatal(err)
	}
	dst := newEngine()
	got, st, err := Restore(filepath.Join(dir, Name(7)), dst)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Binlog != meta.Binlog || got.Executed != meta.Executed || got.Reset || got.Journal != 42 {
		t.Fatalf("meta %+v", got)
	}
	if st.Rows != 2999+3+1 || st.Tables != 3 || st.Databases != 1 {
		t.Fatalf("stats %+v", st)
	}
	if a, b := src.dump(t), dst.dump(t); a != b {
		al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
		for i := 0; i < len(al) && i < len(bl); i++ {
			if al[i] != bl[i] {
				t.Fatalf("restored engine differs at line %d:\n%s\nwant:\n%s", i, bl[i], al[i])
			}
		}
		t.Fatalf("restored engine has %d dump lines, want %d", len(bl), len(al))
	}
	// The counter first: a failed insert uses up a value, as in
	// InnoDB.
	rows, err := dst.query("d", "INSERT INTO d.t (s) VALUES ('new')")
	if err != nil {
		t.Fatal(err)
	}
	_ = rows
	r, _ := dst.query("d", "SELECT id FROM d.t WHERE s = 'new'")
	if len(r) != 1 || fmt.Sprint(r[0][0]) != "3001" {
		t.Fatalf("AUTO_INCREMENT after restore gave %v, want 3001", r)
	}
	// Constraints work on the restored engine.
	if _, err := dst.query("d", "INSERT INTO d.t (s) VALUES ('s00001')"); err == nil {
		t.Fatal("the unique key was not restored")
	}
	if _, err := dst.query("d", "INSERT INTO d.c VALUES (2, 99999)"); err == nil {
		t.Fatal("the foreign key was not restored")
	}
}

// TestTornCheckpointNeverLoaded: a checkpoint cut anywhere, or with any
// byte changed, fails verification (and so is never restored).
func TestTornCheckpointNeverLoaded(t *testing.T) {
	src := newEngine()
	fill(t, src, 50)
	dir := t.TempDir()
	if _, err := Write(nil, dir, Meta{Seq: 1}, src.st.CaptureImage(nil)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Name(1))
	data, _ := os.ReadFile(path)
	if _, err := Verify(path); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	for cut := 0; cut < len(data); cut += 1 + cut/16 {
		os.WriteFile(bad, data[:cut], 0o600)
		if _, err := Verify(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a checkpoint cut at %d of %d bytes verified: %v", cut, len(data), err)
		}
	}
	for i := 0; i < len(data); i += 1 + i/8 {
		flipped := append([]byte(nil), data...)
		flipped[i] ^= 0x40
		os.WriteFile(bad, flipped, 0o600)
		if _, err := Verify(bad); err == nil {
			t.Fatalf("a checkpoint with byte %d changed verified", i)
		}
	}
}

// TestWriteFaults: a checkpoint whose write, fsync, rename or directory
// fsync fails is not there (no file of its name, no temporary left), and
// the previous one still is.
func TestWriteFaults(t *testing.T) {
	src := newEngine()
	fill(t, src, 20)
	for _, op := range []vfs.Op{vfs.OpOpen, vfs.OpWrite, vfs.OpSync, vfs.OpRename, vfs.OpSyncDir} {
		t.Run(string(op), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Write(nil, dir, Meta{Seq: 1}, src.st.CaptureImage(nil)); err != nil {
				t.Fatal(err)
			}
			fs := vfs.NewFaulty(nil)
			fs.Inject(vfs.Fault{Op: op, Err: syscall.ENOSPC, Short: 10})
			if _, err := Write(fs, dir, Meta{Seq: 2}, src.st.CaptureImage(nil)); err == nil {
				t.Fatal("the write succeeded through the fault")
			}
			if got := List(dir); op != vfs.OpSyncDir && fmt.Sprint(got) != "[1]" {
				t.Fatalf("checkpoints after a failed %s: %v", op, got)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*tmp*")); len(m) != 0 {
				t.Fatalf("temporary left: %v", m)
			}
			if _, err := Verify(filepath.Join(dir, Name(1))); err != nil {
				t.Fatalf("the previous checkpoint: %v", err)
			}
		})
	}
}

// TestLoadFallsBack: a damaged newest checkpoint is skipped for the one
// before it; with none valid, Load fails rather than start empty.
func TestLoadFallsBack(t *testing.T) {
	src := newEngine()
	fill(t, src, 10)
	dir := t.TempDir()
	for seq := uint64(1); seq <= 2; seq++ {
		if _, err := Write(nil, dir, Meta{Seq: seq, Binlog: binlog.Position{File: "binlog.000001", Pos: 100 * seq}}, src.st.CaptureImage(nil)); err != nil {
			t.Fatal(err)
		}
	}
	newest := filepath.Join(dir, Name(2))
	data, _ := os.ReadFile(newest)
	data[len(data)/2] ^= 0xff
	os.WriteFile(newest, data, 0o640)
	m := NewManager(dir, nil, nil)
	meta, err := m.Load(newEngine())
	if err != nil || meta == nil || meta.Seq != 1 || meta.Binlog.Pos != 100 {
		t.Fatalf("Load fell back to %+v, %v; want checkpoint 1", meta, err)
	}
	older := filepath.Join(dir, Name(1))
	data, _ = os.ReadFile(older)
	os.WriteFile(older, data[:len(data)-3], 0o640)
	if _, err := NewManager(dir, nil, nil).Load(newEngine()); err == nil || !strings.Contains(err.Error(), "no valid checkpoint") {
		t.Fatalf("Load with no valid checkpoint: %v", err)
	}
}

// TestCheckpointWhileCommitting: checkpoints written while other sessions
// commit hold exactly the version captured (every row count a checkpoint
// restores is one the table had at a commit boundary: rows are inserted two
// per transaction), and the writers never wait for them. Run with -race.
func TestCheckpointWhileCommitting(t *testing.T) {
	src := newEngine()
	if _, err := src.query("", "CREATE DATABASE w"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.query("w", "CREATE TABLE w.t (id INT PRIMARY KEY, k INT, KEY (k))"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 400; i++ {
			if _, err := src.query("w", fmt.Sprintf("INSERT INTO w.t VALUES (%d, %d), (%d, %d)", 2*i, i, 2*i+1, i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	dir := t.TempDir()
	for seq := uint64(1); seq <= 20; seq++ {
		if _, err := Write(nil, dir, Meta{Seq: seq}, src.st.CaptureImage(nil)); err != nil {
			t.Fatal(err)
		}
		dst := newEngine()
		if _, st, err := Restore(filepath.Join(dir, Name(seq)), dst); err != nil {
			t.Fatal(err)
		} else if st.Rows%2 != 0 {
			t.Fatalf("checkpoint %d holds %d rows: half a transaction", seq, st.Rows)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLoadIgnoresAndRemovesTemporaries: a checkpoint a crash left half
// written (its temporary file, never renamed) is neither listed nor loaded,
// and Load removes it.
func TestLoadIgnoresAndRemovesTemporaries(t *testing.T) {
	src := newEngine()
	fill(t, src, 5)
	dir := t.TempDir()
	if _, err := Write(nil, dir, Meta{Seq: 1}, src.st.CaptureImage(nil)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, Name(1)))
	tmp := filepath.Join(dir, Name(2)+".tmp-atomic-7")
	if err := os.WriteFile(tmp, data[:len(data)/2], 0o640); err != nil {
		t.Fatal(err)
	}
	if got := List(dir); fmt.Sprint(got) != "[1]" {
		t.Fatalf("List with a temporary present: %v", got)
	}
	meta, err := NewManager(dir, nil, nil).Load(newEngine())
	if err != nil || meta == nil || meta.Seq != 1 {
		t.Fatalf("Load: %+v, %v", meta, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the temporary is still there: %v", err)
	}
}

// TestPruneFailureKeepsCheckpointing: when deleting an old checkpoint fails,
// the new one is still written and used, and the next checkpoint prunes
// again (two are kept).
func TestPruneFailureKeepsCheckpointing(t *testing.T) {
	src := newEngine()
	fill(t, src, 5)
	dir := t.TempDir()
	w, err := binlog.Open(binlog.Config{Dir: t.TempDir(), ServerID: 1, ServerUUID: "3e11fa47-71ca-11e1-9e33-c80aa9429562", Checksum: true, SyncBinlog: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fs := vfs.NewFaulty(nil)
	m := NewManager(dir, fs, nil)
	m.Start(src.st, w)
	take := func() {
		t.Helper()
		if err := w.Rotate(); err != nil { // a new binlog position: a checkpoint is due
			t.Fatal(err)
		}
		if err := m.Take("test"); err != nil {
			t.Fatal(err)
		}
	}
	take()
	take()
	fs.Inject(vfs.Fault{Op: vfs.OpRemove, Match: "checkpoint.", Err: syscall.EIO, Count: -1})
	take()
	if got := List(dir); len(got) != 3 || m.Newest().Seq != got[0] {
		t.Fatalf("after a failed prune: checkpoints %v, newest %+v", got, m.Newest())
	}
	fs.Clear()
	take()
	if got := List(dir); len(got) != 2 || got[0] != 4 {
		t.Fatalf("after the next checkpoint: %v, want the two newest", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// countingTarget records the LoadRows calls of a restore and fails the
// failAt-th one (0: none).
type countingTarget struct {
	*engine
	calls  []string
	failAt int
}

func (c *countingTarget) LoadRows(db, table string, rows []sql.Row, autoInc uint64) error {
	first := "-"
	if len(rows) > 0 {
		first = fmt.Sprint(rows[0][0])
	}
	c.calls = append(c.calls, fmt.Sprintf("%s.%s %d from %s", db, table, len(rows), first))
	if len(c.calls) == c.failAt {
		return errors.New("load failed on purpose")
	}
	return c.engine.LoadRows(db, table, rows, autoInc)
}

// TestRestoreManyChunks: rows spread over many row records are decoded
// ahead of the loader but loaded in file order (each table's chunks one
// after another, key order kept), and the table after them gets its rows
// too; a load that fails stops the restore with its error, and no chunk
// after it is loaded.
func TestRestoreManyChunks(t *testing.T) {
	src := newEngine()
	for _, q := range []string{"CREATE DATABASE d", "CREATE TABLE d.big (id INT PRIMARY KEY, pad VARCHAR(200))", "CREATE TABLE d.small (id INT PRIMARY KEY)"} {
		if _, err := src.query("", q); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 30_000 // ~6 MB: several 1 MiB row records
	pad := strings.Repeat("p", 190)
	for i := 0; i < rows; i += 1000 {
		var vals []string
		for j := i; j < i+1000; j++ {
			vals = append(vals, fmt.Sprintf("(%d, '%s%d')", j, pad, j))
		}
		if _, err := src.query("", "INSERT INTO d.big VALUES "+strings.Join(vals, ",")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.query("", "INSERT INTO d.small VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Write(nil, dir, Meta{Seq: 1}, src.st.CaptureImage(nil)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Name(1))

	dst := &countingTarget{engine: newEngine()}
	_, st, err := Restore(path, dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != rows+2 {
		t.Fatalf("restored %d rows, want %d", st.Rows, rows+2)
	}
	if len(dst.calls) < 5 {
		t.Fatalf("only %d row records (%v): the test needs several", len(dst.calls), dst.calls)
	}
	next := 0
	for i, c := range dst.calls[:len(dst.calls)-1] {
		var n, from int
		if _, err := fmt.Sscanf(c, "d.big %d from %d", &n, &from); err != nil || from != next {
			t.Fatalf("load %d was %q, want d.big rows from %d (all: %v)", i, c, next, dst.calls)
		}
		next += n
	}
	if last := dst.calls[len(dst.calls)-1]; next != rows || last != "d.small 2 from 1" {
		t.Fatalf("loads end with %q after %d big rows, want d.small 2 from 1 after %d", last, next, rows)
	}
	if a, b := src.dump(t), dst.dump(t); a != b {
		t.Fatal("restored engine differs from the source")
	}

	failing := &countingTarget{engine: newEngine(), failAt: 3}
	if _, _, err := Restore(path, failing); err == nil || !strings.Contains(err.Error(), "load failed on purpose") {
		t.Fatalf("restore with a failing load: %v", err)
	}
	if len(failing.calls) != 3 {
		t.Fatalf("%d loads after the failing third: %v", len(failing.calls)-3, failing.calls)
	}
}

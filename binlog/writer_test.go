package binlog

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/sirupsen/logrus"
)

const testUUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

func testConfig(dir string) Config {
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	return Config{Dir: dir, ServerID: 7, ServerUUID: testUUID, Checksum: true, SyncBinlog: 1, Log: logrus.NewEntry(log)}
}

func ddl(q string) *changes.ChangeSet {
	return &changes.ChangeSet{ConnectionID: 3, Changes: []changes.Change{{Kind: changes.DDL, Query: q, CurrentDB: "d"}}}
}

func commit(t *testing.T, w *Writer, cs *changes.ChangeSet) {
	t.Helper()
	tk, err := w.Append(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.BeforePublish(context.Background()); err != nil {
		t.Fatal(err)
	}
	tk.AfterPublish(context.Background())
}

// replayed collects what Open hands to replay.
type replayed struct{ queries []string }

func (r *replayed) fn(tx *Transaction) error {
	gno := tx.GTID[strings.LastIndex(tx.GTID, ":")+1:]
	for _, ev := range tx.Events {
		if ev.Query != nil {
			r.queries = append(r.queries, gno+":"+ev.Query.SQL)
		}
	}
	return nil
}

func TestWriterRecoversAndRotatesAtStart(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(testConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, w, ddl("CREATE DATABASE d"))
	commit(t, w, ddl("CREATE TABLE t (id INT PRIMARY KEY)"))
	if got := w.Executed(); got != testUUID+":1-2" {
		t.Fatalf("gtid_executed = %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	var r replayed
	w2, err := Open(testConfig(dir), r.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	want := []string{"1:CREATE DATABASE d", "2:CREATE TABLE t (id INT PRIMARY KEY)"}
	if fmt.Sprint(r.queries) != fmt.Sprint(want) {
		t.Fatalf("replayed %q, want %q", r.queries, want)
	}
	files := w2.Files()
	if len(files) != 2 || files[0].Name != "binlog.000001" || files[1].Name != "binlog.000002" {
		t.Fatalf("files = %+v", files)
	}
	commit(t, w2, ddl("DROP TABLE t"))
	if got := w2.Executed(); got != testUUID+":1-3" {
		t.Fatalf("gtid_executed after restart = %q", got)
	}
	pos, _ := w2.Status()
	if pos.File != "binlog.000002" {
		t.Fatalf("writing to %v", pos)
	}
}

// TestTornTailTruncated: a crash that left half an event (or half a
// transaction) at the end of the last file loses only that, and the file
// is cut back to its last complete transaction.
func TestTornTailTruncated(t *testing.T) {
	for _, cut := range []int{1, 10, 25, 60} {
		t.Run(fmt.Sprintf("cut=%d", cut), func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(testConfig(dir), nil)
			if err != nil {
				t.Fatal(err)
			}
			commit(t, w, ddl("CREATE DATABASE a"))
			commit(t, w, ddl("CREATE DATABASE b"))
			good, _ := w.Status()
			commit(t, w, ddl("CREATE DATABASE c"))
			end, _ := w.Status()
			// Simulate kill -9 in the middle of the last transaction.
			w.f.Close()
			path := filepath.Join(dir, good.File)
			if err := os.Truncate(path, int64(end.Pos)-int64(cut)); err != nil {
				t.Fatal(err)
			}
			var r replayed
			w2, err := Open(testConfig(dir), r.fn)
			if err != nil {
				t.Fatal(err)
			}
			defer w2.Close()
			if fmt.Sprint(r.queries) != "[1:CREATE DATABASE a 2:CREATE DATABASE b]" {
				t.Fatalf("replayed %q", r.queries)
			}
			st, _ := os.Stat(path)
			if uint64(st.Size()) != good.Pos {
				t.Fatalf("file size %d, want truncated to %d", st.Size(), good.Pos)
			}
			if got := w2.Executed(); got != testUUID+":1-2" {
				t.Fatalf("gtid_executed = %q", got)
			}
		})
	}
}

func TestRotatePurgeReset(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxSize = 600
	w, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		commit(t, w, ddl(fmt.Sprintf("CREATE DATABASE db%02d", i)))
	}
	files := w.Files()
	if len(files) < 3 {
		t.Fatalf("max_binlog_size=600 gave only %d files", len(files))
	}
	if err := w.Rotate(); err != nil {
		t.Fatal(err)
	}
	if len(w.Files()) != len(files)+1 {
		t.Fatalf("FLUSH BINARY LOGS did not add a file")
	}
	if err := w.PurgeTo("binlog.999999"); err != ErrUnknownLog {
		t.Fatalf("purge to unknown: %v", err)
	}
	keep := files[2].Name
	if err := w.PurgeTo(keep); err != nil {
		t.Fatal(err)
	}
	if w.FirstFile() != keep {
		t.Fatalf("first file %q, want %q", w.FirstFile(), keep)
	}
	if _, err := os.Stat(filepath.Join(dir, files[0].Name)); !os.IsNotExist(err) {
		t.Fatalf("purged file still in the binlog directory: %v", err)
	}
	if w.Purged() == "" {
		t.Fatal("gtid_purged empty after purging transactions")
	}
	if err := w.Reset(0, nil); err != nil {
		t.Fatal(err)
	}
	if fs := w.Files(); len(fs) != 1 || fs[0].Name != "binlog.000001" || w.Executed() != "" || w.Purged() != "" {
		t.Fatalf("after reset: files %+v executed %q purged %q", fs, w.Executed(), w.Purged())
	}
	commit(t, w, ddl("CREATE DATABASE again"))
	if w.Executed() != testUUID+":1" {
		t.Fatalf("after reset executed = %q", w.Executed())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Without checkpoints the binlog alone holds the data: what a purge or
	// reset deleted is gone for recovery too.
	var r replayed
	w2, err := Open(cfg, r.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if fmt.Sprint(r.queries) != "[1:CREATE DATABASE again]" {
		t.Fatalf("replayed %q", r.queries)
	}
	if w2.Executed() != testUUID+":1" {
		t.Fatalf("executed after reopen = %q", w2.Executed())
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, m := range matches {
		if b := filepath.Base(m); b != "binlog.index" && !strings.HasPrefix(b, "binlog.00000") {
			t.Fatalf("unexpected file %s in the binlog directory", b)
		}
	}
}

// TestGoMySQLParsesFiles: go-mysql's parser, an independent decoder, reads
// our files with checksums verified.
func TestGoMySQLParsesFiles(t *testing.T) {
	for _, checksum := range []bool{true, false} {
		t.Run(fmt.Sprintf("checksum=%v", checksum), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Checksum = checksum
			w, err := Open(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			commit(t, w, ddl("CREATE DATABASE d"))
			commit(t, w, ddl("CREATE TABLE d.t (id INT)"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			p := replication.NewBinlogParser()
			p.SetVerifyChecksum(true)
			var types []string
			var queries []string
			err = p.ParseFile(filepath.Join(dir, "binlog.000001"), 0, func(e *replication.BinlogEvent) error {
				types = append(types, e.Header.EventType.String())
				switch ev := e.Event.(type) {
				case *replication.QueryEvent:
					queries = append(queries, string(ev.Query))
				case *replication.GTIDEvent:
					if ev.GNO < 1 || ev.SequenceNumber < 1 {
						return fmt.Errorf("bad GTID event %+v", ev)
					}
				case *replication.FormatDescriptionEvent:
					if ev.Version != 4 || !strings.HasPrefix(ev.ServerVersion, "8.0") {
						return fmt.Errorf("bad FDE %+v", ev)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := "[FormatDescriptionEvent PreviousGTIDsEvent GTIDEvent QueryEvent GTIDEvent QueryEvent StopEvent]"
			if fmt.Sprint(types) != want {
				t.Fatalf("events %v, want %s", types, want)
			}
			if fmt.Sprint(queries) != "[CREATE DATABASE d CREATE TABLE d.t (id INT)]" {
				t.Fatalf("queries %q", queries)
			}
		})
	}
}

// BenchmarkGroupCommit: N concurrent committers; reports commits per fsync
// and commit latency. With sync_binlog=1 concurrent commits share fsyncs.
func BenchmarkGroupCommit(b *testing.B) {
	for _, n := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("committers=%d", n), func(b *testing.B) {
			w, err := Open(testConfig(b.TempDir()), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			var mu sync.Mutex // the engine's commit lock
			var wg sync.WaitGroup
			var lat sync.Mutex
			var total time.Duration
			per := b.N / n
			if per == 0 {
				per = 1
			}
			before := w.Stats()
			b.ResetTimer()
			for g := 0; g < n; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						start := time.Now()
						mu.Lock()
						tk, err := w.Append(context.Background(), ddl("CREATE DATABASE x"))
						mu.Unlock()
						if err != nil {
							b.Error(err)
							return
						}
						if err := tk.BeforePublish(context.Background()); err != nil {
							b.Error(err)
							return
						}
						d := time.Since(start)
						lat.Lock()
						total += d
						lat.Unlock()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			after := w.Stats()
			commits, fsyncs := after.Commits-before.Commits, after.Fsyncs-before.Fsyncs
			if fsyncs > 0 {
				b.ReportMetric(float64(commits)/float64(fsyncs), "commits/fsync")
			}
			b.ReportMetric(float64(after.MaxGroup), "max-group")
			b.ReportMetric(float64(total.Microseconds())/float64(commits), "µs/commit")
			b.ReportMetric(float64(commits)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// TestForcedGTID: a replicated transaction keeps its source's GTID (and
// cannot be applied twice); the server's own numbering is unaffected.
func TestForcedGTID(t *testing.T) {
	w, err := Open(testConfig(t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const source = "00000000-0000-0000-0000-0000000000aa"
	cs := ddl("CREATE DATABASE fromsource")
	cs.GTID = source + ":7"
	commit(t, w, cs)
	commit(t, w, ddl("CREATE DATABASE local"))
	if got := w.Executed(); got != source+":7,\n"+testUUID+":1" {
		t.Fatalf("gtid_executed = %q", got)
	}
	again := ddl("CREATE DATABASE fromsource")
	again.GTID = source + ":7"
	if _, err := w.Append(context.Background(), again); err == nil {
		t.Fatal("the same GTID was written twice")
	}
	evs, err := w.Events("", 0, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if evs[2].Info != "SET @@SESSION.GTID_NEXT= '"+source+":7'" {
		t.Fatalf("first GTID event: %+v", evs[2])
	}
}

// TestFDEChecksumExcludesInUseFlag: the FORMAT_DESCRIPTION_EVENT's CRC is
// computed as if LOG_EVENT_BINLOG_IN_USE_F were clear (MySQL and MariaDB
// verify it so; a MariaDB replica rejected our stream before this rule).
func TestFDEChecksumExcludesInUseFlag(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(testConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	data, err := os.ReadFile(filepath.Join(dir, "binlog.000001"))
	if err != nil {
		t.Fatal(err)
	}
	fde := append([]byte(nil), data[FileHeaderLen:FileHeaderLen+122]...)
	if h, _ := ParseHeader(fde); h.Flags&LOG_EVENT_BINLOG_IN_USE_F == 0 {
		t.Fatal("the open file's FDE is not marked in use")
	}
	fde[17] &^= byte(LOG_EVENT_BINLOG_IN_USE_F)
	n := len(fde) - ChecksumLen
	if crc32.ChecksumIEEE(fde[:n]) != binary.LittleEndian.Uint32(fde[n:]) {
		t.Fatal("the FDE's CRC does not match the event with the in-use flag cleared")
	}
}

// TestGTIDVisibleAtPublish: a commit's GTID enters @@gtid_executed when the
// commit is published (its rows visible), not when it is appended.
func TestGTIDVisibleAtPublish(t *testing.T) {
	w, err := Open(testConfig(t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tk, err := w.Append(context.Background(), ddl("CREATE DATABASE x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tk.BeforePublish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.Executed(); got != "" {
		t.Fatalf("gtid_executed before publish = %q", got)
	}
	tk.AfterPublish(context.Background())
	if got := w.Executed(); got != testUUID+":1" {
		t.Fatalf("gtid_executed after publish = %q", got)
	}
}

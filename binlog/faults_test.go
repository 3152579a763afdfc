package binlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/sirupsen/logrus"
)

// faultWriter opens a writer in a fresh directory whose writes go through
// a Faulty FS, recording ABORT_SERVER calls instead of exiting.
type faultWriter struct {
	*Writer
	dir    string
	fs     *vfs.Faulty
	aborts atomic.Int32
	msg    atomic.Value
}

func openFaulty(t *testing.T, dir string) *faultWriter {
	t.Helper()
	fw := &faultWriter{dir: dir, fs: vfs.NewFaulty(nil)}
	cfg := quietConfig(dir)
	cfg.FS = fw.fs
	cfg.OnAbort = func(msg string) { fw.aborts.Add(1); fw.msg.Store(msg) }
	w, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fw.Writer = w
	return fw
}

// tryCommit runs one DDL through the whole pipeline and returns the error
// the committer would get (nil: acknowledged).
func tryCommit(w *Writer, q string) error {
	return finishTicket(w.Append(context.Background(), ddl(q)))
}

// finishTicket runs an appended commit's ticket to the end, as the engine
// does, and returns the error the committer would get (nil: acknowledged).
func finishTicket(tk changes.CommitTicket, err error) error {
	if err != nil {
		return err
	}
	if err := tk.BeforePublish(context.Background()); err != nil {
		return err
	}
	tk.AfterPublish(context.Background())
	return nil
}

// reopen opens dir with the real file system (a restart) and returns the
// DDL statements recovery replayed.
func reopen(t *testing.T, dir string) ([]string, *Writer) {
	t.Helper()
	return reopenFrom(t, dir, nil)
}

// reopenFrom is reopen after restoring a checkpoint (start).
func reopenFrom(t *testing.T, dir string, start *Start) ([]string, *Writer) {
	t.Helper()
	var r replayed
	cfg := quietConfig(dir)
	cfg.Start = start
	w, err := Open(cfg, r.fn)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	var qs []string
	for _, q := range r.queries {
		qs = append(qs, q[strings.Index(q, ":")+1:])
	}
	return qs, w
}

// quietConfig is testConfig with only errors logged: these tests make the
// writer warn on purpose.
func quietConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.Log.Logger.SetLevel(logrus.FatalLevel)
	return cfg
}

func sqlCode(err error) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	return 0
}

func fileSize(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(st.Size())
}

// TestWriteFaults: what the committer gets, what replicas may read and what
// a restart recovers, for each kind of failed binlog write or fsync.
func TestWriteFaults(t *testing.T) {
	enospc := syscall.ENOSPC
	eio := syscall.EIO
	cases := []struct {
		name  string
		fault vfs.Fault
		// code is the MySQL error the committer gets.
		code int
		// final: the writer refuses every later commit and ABORT_SERVER
		// was called; otherwise commits succeed again at once.
		final bool
		// recovered: whether the failed commit is in the binlog after a
		// restart. A failed fsync leaves the written events in the file;
		// they were never acknowledged, and, as in MySQL, a transaction
		// that is in the binlog at recovery is committed.
		recovered bool
	}{
		{"ENOSPC", vfs.Fault{Op: vfs.OpWrite, Err: enospc}, 1026, false, false},
		{"ENOSPC short write", vfs.Fault{Op: vfs.OpWrite, Err: enospc, Short: 30}, 1026, false, false},
		{"EDQUOT short write", vfs.Fault{Op: vfs.OpWrite, Err: syscall.EDQUOT, Short: 7}, 1026, false, false},
		{"EIO", vfs.Fault{Op: vfs.OpWrite, Err: eio}, 1598, true, false},
		{"EIO short write", vfs.Fault{Op: vfs.OpWrite, Err: eio, Short: 45}, 1598, true, false},
		{"fsync EIO", vfs.Fault{Op: vfs.OpSync, Err: eio}, 1598, true, true},
		{"fsync ENOSPC", vfs.Fault{Op: vfs.OpSync, Err: enospc}, 1598, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openFaulty(t, dir)
			for _, q := range []string{"CREATE DATABASE a", "CREATE DATABASE b"} {
				if err := tryCommit(w.Writer, q); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := w.Status()
			readable, _ := w.Readable()

			w.fs.Inject(tc.fault)
			err := tryCommit(w.Writer, "CREATE DATABASE lost")
			if sqlCode(err) != tc.code {
				t.Fatalf("committer got %v, want error %d", err, tc.code)
			}
			if tc.code == 1026 && !strings.Contains(err.Error(), "Error writing file 'binlog.000001' (errno: ") {
				t.Fatalf("1026 text: %v", err)
			}
			if tc.code == 1598 && !strings.Contains(err.Error(), "Binary logging not possible. Message: An error occurred during") {
				t.Fatalf("1598 text: %v", err)
			}
			if got, _ := w.Readable(); got != readable {
				t.Fatalf("replicas may read to %v after the failure, before it %v", got, readable)
			}
			if got := w.Executed(); strings.Contains(got, ":3") || got != testUUID+":1-2" {
				t.Fatalf("gtid_executed = %q", got)
			}
			if !tc.recovered {
				if size := fileSize(t, filepath.Join(dir, before.File)); size != before.Pos {
					t.Fatalf("file is %d bytes after the failed write, want cut back to %d", size, before.Pos)
				}
			}
			w.fs.Clear()
			err = tryCommit(w.Writer, "CREATE DATABASE after")
			if tc.final {
				if sqlCode(err) != 1598 || w.aborts.Load() != 1 {
					t.Fatalf("after a final failure: commit got %v, aborts %d", err, w.aborts.Load())
				}
				if msg, _ := w.msg.Load().(string); !strings.Contains(msg, "'binlog_error_action' is set to 'ABORT_SERVER'. Hence aborting the server.") {
					t.Fatalf("abort message %q", msg)
				}
				if err := w.Rotate(); sqlCode(err) != 1598 {
					t.Fatalf("FLUSH BINARY LOGS after a final failure: %v", err)
				}
			} else if err != nil || w.aborts.Load() != 0 {
				t.Fatalf("commit once space is back: %v (aborts %d)", err, w.aborts.Load())
			}
			w.Close()

			got, w2 := reopen(t, dir)
			want := []string{"CREATE DATABASE a", "CREATE DATABASE b"}
			if tc.recovered {
				want = append(want, "CREATE DATABASE lost")
			}
			if !tc.final {
				want = append(want, "CREATE DATABASE after")
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("restart replayed %q, want %q", got, want)
			}
			if err := tryCommit(w2, "CREATE DATABASE restarted"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDiskFullThenSpace: commits fail with 1026 while the disk is full and
// succeed again, with no restart, once space is freed; a restart finds every
// acknowledged commit and nothing else, and no torn tail.
func TestDiskFullThenSpace(t *testing.T) {
	dir := t.TempDir()
	w := openFaulty(t, dir)
	var acked []string
	w.fs.SetSpace(2000)
	failures := 0
	for i := 0; i < 60; i++ {
		q := fmt.Sprintf("CREATE DATABASE full_%02d", i)
		switch err := tryCommit(w.Writer, q); {
		case err == nil:
			acked = append(acked, q)
		case sqlCode(err) == 1026 && strings.Contains(err.Error(), "(errno: 28 - No space left on device)"):
			failures++
		default:
			t.Fatalf("commit %d: %v", i, err)
		}
		if i == 40 {
			w.fs.SetSpace(-1) // space freed
		}
	}
	if failures == 0 || len(acked) < 30 {
		t.Fatalf("%d failures, %d acknowledged: the budget did not run out and come back", failures, len(acked))
	}
	for i := 41; i < 60; i++ {
		if acked[len(acked)-(60-i)] != fmt.Sprintf("CREATE DATABASE full_%02d", i) {
			t.Fatalf("commits after space came back are missing: %q", acked)
		}
	}
	if w.aborts.Load() != 0 || w.Failed() != nil {
		t.Fatalf("a full disk made the writer fail: %v", w.Failed())
	}
	// A crash (no Close): every acknowledged commit is there.
	w.f.Close()
	got, _ := reopen(t, dir)
	if fmt.Sprint(got) != fmt.Sprint(acked) {
		t.Fatalf("restart replayed %d, want the %d acknowledged:\n%q\n%q", len(got), len(acked), got, acked)
	}
}

// TestRotationFaults: each file operation of a rotation failing leaves the
// current file in use and the writer usable (or, for the fsync, failed for
// good), and a restart recovers every acknowledged commit.
func TestRotationFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault vfs.Fault
		final bool
	}{
		{"create next file", vfs.Fault{Op: vfs.OpOpen, Match: "binlog.000002", Err: syscall.ENOSPC}, false},
		{"next file header", vfs.Fault{Op: vfs.OpWrite, Match: "binlog.000002", Err: syscall.ENOSPC}, false},
		{"next file fsync", vfs.Fault{Op: vfs.OpSync, Match: "binlog.000002", Err: syscall.EIO}, false},
		{"ROTATE event", vfs.Fault{Op: vfs.OpWrite, Match: "binlog.000001", Err: syscall.ENOSPC, Short: 10}, false},
		{"current file fsync", vfs.Fault{Op: vfs.OpSync, Match: "binlog.000001", Err: syscall.EIO}, true},
		{"index temp write", vfs.Fault{Op: vfs.OpWrite, Match: "index", Err: syscall.ENOSPC}, false},
		{"index rename", vfs.Fault{Op: vfs.OpRename, Match: "index", Err: syscall.EIO}, false},
		{"index dir fsync", vfs.Fault{Op: vfs.OpSyncDir, Err: syscall.EIO}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openFaulty(t, dir)
			if err := tryCommit(w.Writer, "CREATE DATABASE a"); err != nil {
				t.Fatal(err)
			}
			w.fs.Inject(tc.fault)
			err := w.Rotate()
			if err == nil {
				t.Fatal("rotation succeeded through the fault")
			}
			w.fs.Clear()
			pos, _ := w.Status()
			files := w.Files()
			if tc.final {
				if w.aborts.Load() != 1 || sqlCode(tryCommit(w.Writer, "CREATE DATABASE b")) != 1598 {
					t.Fatalf("a failed fsync of the current file did not fail the writer: %v", err)
				}
			} else {
				if sqlCode(err) != 1026 && !strings.Contains(err.Error(), "binlog") {
					t.Fatalf("rotation error %v", err)
				}
				if pos.File != "binlog.000001" || len(files) != 1 {
					t.Fatalf("after a failed rotation: writing %v, files %+v", pos, files)
				}
				if err := tryCommit(w.Writer, "CREATE DATABASE b"); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(dir, "binlog.000002")); err == nil && tc.fault.Op != vfs.OpSyncDir && tc.fault.Op != vfs.OpRename {
					t.Fatal("the unused next file was left behind")
				}
				// The current file holds no ROTATE: readers would follow it.
				evs, err := w.Events("binlog.000001", 0, 0, -1)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					if e.EventType == "Rotate" {
						t.Fatalf("a ROTATE stayed in the current file: %+v", evs)
					}
				}
				if err := w.Rotate(); err != nil {
					t.Fatalf("rotation once the fault is gone: %v", err)
				}
				if err := tryCommit(w.Writer, "CREATE DATABASE c"); err != nil {
					t.Fatal(err)
				}
			}
			w.f.Close() // a crash
			got, _ := reopen(t, dir)
			want := "[CREATE DATABASE a]"
			if !tc.final {
				want = "[CREATE DATABASE a CREATE DATABASE b CREATE DATABASE c]"
			}
			if fmt.Sprint(got) != want {
				t.Fatalf("restart replayed %q, want %s", got, want)
			}
		})
	}
}

// TestCrashAtEveryCall kills the writer (a simulated crash: every call
// from the Nth on fails and writes nothing) at each file-system call of
// FLUSH BINARY LOGS, a rotation at max_binlog_size, PURGE BINARY LOGS,
// RESET MASTER and binlog_checksum changes, SQLite-style: after each, the
// directory starts and every commit acknowledged before is recovered.
func TestCrashAtEveryCall(t *testing.T) {
	ops := []struct {
		name string
		run  func(w *Writer) error
	}{
		{"FLUSH BINARY LOGS", func(w *Writer) error { return w.Rotate() }},
		{"max_binlog_size", func(w *Writer) error {
			w.SetMaxSize(1)
			return tryCommit(w, "CREATE DATABASE rotated")
		}},
		{"PURGE BINARY LOGS TO", func(w *Writer) error {
			return w.PurgeTo(w.Files()[len(w.Files())-1].Name)
		}},
		{"RESET MASTER", func(w *Writer) error {
			// The checkpoint RESET MASTER writes, stood in for by a marker
			// file (through the faulty FS, so the crash can hit it too).
			return w.Reset(1, func() error {
				return vfs.WriteFileAtomic(w.fs, filepath.Join(w.cfg.Dir, "checkpoint-marker"), []byte("1"))
			})
		}},
		{"binlog_checksum", func(w *Writer) error { return w.SetChecksum(false) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for n := 0; ; n++ {
				dir := t.TempDir()
				w := openFaulty(t, dir)
				var acked []string
				for i := 0; i < 3; i++ {
					q := fmt.Sprintf("CREATE DATABASE d%d", i)
					if err := tryCommit(w.Writer, q); err != nil {
						t.Fatal(err)
					}
					acked = append(acked, q)
					if err := w.Rotate(); err != nil {
						t.Fatal(err)
					}
				}
				w.fs.CrashAfter(n)
				err := op.run(w.Writer)
				crashed := w.fs.Crashed()
				if !crashed && err != nil {
					t.Fatalf("without a crash: %v", err)
				}
				if !crashed && op.name == "max_binlog_size" {
					acked = append(acked, "CREATE DATABASE rotated")
				}
				// Abandon the writer as a killed process would.
				if w.f != nil {
					w.f.Close()
				}
				var start *Start
				if _, err := os.Stat(filepath.Join(dir, "checkpoint-marker")); err == nil {
					// The reset's checkpoint holds the data: recovery
					// starts from it with an empty binlog.
					start = &Start{Seq: 1, Reset: true}
					acked = nil
				}
				got, w2 := reopenFrom(t, dir, start)
				want := acked
				if op.name == "PURGE BINARY LOGS TO" && len(got) < len(acked) {
					// The purge got as far as deleting files: their
					// transactions are gone from the binlog (a checkpoint
					// holds them in the server), the rest are all there.
					want = acked[len(acked)-len(got):]
					if w2.Executed() != testUUID+":1-3" {
						t.Fatalf("crash at call %d: gtid_executed %q after a purge", n, w2.Executed())
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) && !(op.name == "max_binlog_size" && fmt.Sprint(got) == fmt.Sprint(append(acked, "CREATE DATABASE rotated"))) {
					t.Fatalf("crash at call %d: restart replayed %q, want %q", n, got, want)
				}
				if err := tryCommit(w2, "CREATE DATABASE next"); err != nil {
					t.Fatalf("crash at call %d: commit after restart: %v", n, err)
				}
				if _, err := os.Stat(filepath.Join(dir, "binlog.~rec~")); err == nil {
					t.Fatalf("crash at call %d: the purge index is still there after the start", n)
				}
				if !crashed {
					if n < 3 {
						t.Fatalf("%s made only %d file-system calls", op.name, n)
					}
					return
				}
			}
		})
	}
}

// TestRecoveryRefusesCorruption: a damaged event followed by valid ones is
// not a torn tail; the start fails naming file and position, and nothing is
// truncated.
func TestRecoveryRefusesCorruption(t *testing.T) {
	for _, checksum := range []bool{true, false} {
		t.Run(fmt.Sprintf("checksum=%v", checksum), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Checksum = checksum
			w, err := Open(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			commit(t, w, ddl("CREATE DATABASE a"))
			mid, _ := w.Status()
			commit(t, w, ddl("CREATE DATABASE b"))
			commit(t, w, ddl("CREATE DATABASE c"))
			w.f.Close()
			path := filepath.Join(dir, mid.File)
			data, _ := os.ReadFile(path)
			// The symptom of the old disk-full bug: part of an event
			// written, then whole events behind it.
			damaged := append(append(append([]byte(nil), data[:mid.Pos]...), data[mid.Pos:mid.Pos+20]...), data[mid.Pos:]...)
			if err := os.WriteFile(path, damaged, 0o640); err != nil {
				t.Fatal(err)
			}
			_, err = Open(cfg, nil)
			// Without checksums the damage shows where the event chain
			// breaks, a little after it.
			want := fmt.Sprintf("%s is damaged at position %d", mid.File, mid.Pos)
			if !checksum {
				want = fmt.Sprintf("%s is damaged at position ", mid.File)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
				t.Fatalf("open of a damaged binlog: %v", err)
			}
			if fileSize(t, path) != uint64(len(damaged)) {
				t.Fatal("the damaged file was truncated")
			}
		})
	}
}

// TestRecoveryFinishesInterruptedOperations: the states a crash between the
// steps of a rotation or a purge leaves all start.
func TestRecoveryFinishesInterruptedOperations(t *testing.T) {
	t.Run("unlisted new file", func(t *testing.T) {
		dir := dirWithUnlistedFile(t, true)
		got, _ := reopen(t, dir)
		if fmt.Sprint(got) != "[CREATE DATABASE a]" {
			t.Fatalf("replayed %q", got)
		}
	})
	t.Run("unlisted file with transactions", func(t *testing.T) {
		dir := t.TempDir()
		w, _ := Open(testConfig(dir), nil)
		commit(t, w, ddl("CREATE DATABASE a"))
		w.Close()
		src, _ := os.ReadFile(filepath.Join(dir, "binlog.000001"))
		if err := os.WriteFile(filepath.Join(dir, "binlog.000005"), src, 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(testConfig(dir), nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "binlog.000005 holds transactions") {
			t.Fatalf("open: %v", err)
		}
	})
	t.Run("index names a missing file", func(t *testing.T) {
		dir := t.TempDir()
		w, _ := Open(testConfig(dir), nil)
		commit(t, w, ddl("CREATE DATABASE a"))
		w.Close()
		os.Remove(filepath.Join(dir, "binlog.000001"))
		if _, err := Open(testConfig(dir), nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "names binlog.000001") {
			t.Fatalf("open: %v", err)
		}
	})
}

// TestFlushUnderLoad is the regression test for the rotation hang: 8
// committers and a loop of FLUSH BINARY LOGS with a tiny max_binlog_size;
// every commit completes. A watchdog fails the test with the goroutines'
// stacks if the writers stop making progress.
func TestFlushUnderLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxSize = 4096
	w, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const committers, perCommitter = 8, 150
	var commitMu sync.Mutex // the engine's commit lock
	var wg sync.WaitGroup
	var done atomic.Int64
	stop := make(chan struct{})
	for g := 0; g < committers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perCommitter; i++ {
				commitMu.Lock()
				tk, err := w.Append(context.Background(), ddl(fmt.Sprintf("CREATE DATABASE g%d_%d", g, i)))
				commitMu.Unlock()
				if err == nil {
					err = tk.BeforePublish(context.Background())
				}
				if err != nil {
					t.Error(err)
					return
				}
				tk.AfterPublish(context.Background())
				done.Add(1)
			}
		}(g)
	}
	rotations := make(chan int)
	go func() {
		n := 0
		defer func() { rotations <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := w.Rotate(); err != nil {
				t.Error(err)
				return
			}
			n++
			if n%10 == 0 {
				if err := w.PurgeTo(w.Files()[len(w.Files())-2].Name); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	last, lastChange := done.Load(), time.Now()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-time.After(100 * time.Millisecond):
			if n := done.Load(); n != last {
				last, lastChange = n, time.Now()
			} else if time.Since(lastChange) > 20*time.Second {
				buf := make([]byte, 1<<20)
				t.Fatalf("no commit completed for 20 s (%d of %d done): hung\n%s", n, committers*perCommitter, buf[:runtime.Stack(buf, true)])
			}
		}
	}
	close(stop)
	n := <-rotations
	if got := done.Load(); got != committers*perCommitter || n == 0 {
		t.Fatalf("%d commits, %d rotations", got, n)
	}
	w.Close()
	_, w2 := reopen(t, dir)
	if got := w2.Executed(); got != fmt.Sprintf("%s:1-%d", testUUID, committers*perCommitter) {
		t.Fatalf("gtid_executed after restart %q, want all %d transactions", got, committers*perCommitter)
	}
}

// dirWithUnlistedFile returns a data dir whose binlog holds CREATE DATABASE a and, when
// unlisted, the next file as an interrupted rotation leaves it: created with its header, the
// index not yet updated.
func dirWithUnlistedFile(t *testing.T, unlisted bool) string {
	t.Helper()
	dir := t.TempDir()
	w, _ := Open(testConfig(dir), nil)
	commit(t, w, ddl("CREATE DATABASE a"))
	w.Close()
	if unlisted {
		src, _ := os.ReadFile(filepath.Join(dir, "binlog.000001"))
		if err := os.WriteFile(filepath.Join(dir, "binlog.000002"), src[:FileHeaderLen+122], 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRemoveUnlistedSyncsDirOnlyAfterRemoving: a start that removes a file an interrupted
// rotation left fsyncs the directory once more than a start that removes nothing (the removal
// is made durable; a clean start pays no extra directory fsync), and a failure of that fsync
// fails the start, which the next start retries.
func TestRemoveUnlistedSyncsDirOnlyAfterRemoving(t *testing.T) {
	syncs := func(t *testing.T, unlisted bool) (int, error) {
		dir := dirWithUnlistedFile(t, unlisted)
		fs := vfs.NewFaulty(nil)
		cfg := quietConfig(dir)
		cfg.FS = fs
		w, err := Open(cfg, nil)
		if err != nil {
			return 0, err
		}
		n := fs.Calls(vfs.OpSyncDir)
		w.Close()
		return n, nil
	}
	clean, err := syncs(t, false)
	if err != nil {
		t.Fatal(err)
	}
	removing, err := syncs(t, true)
	if err != nil {
		t.Fatal(err)
	}
	if removing != clean+1 {
		t.Fatalf("directory fsyncs at start: %d removing an unlisted file, %d removing nothing; want one more", removing, clean)
	}

	dir := dirWithUnlistedFile(t, true)
	fs := vfs.NewFaulty(nil)
	fs.Inject(vfs.Fault{Op: vfs.OpSyncDir, Err: syscall.EIO})
	cfg := quietConfig(dir)
	cfg.FS = fs
	if _, err := Open(cfg, nil); !errors.Is(err, syscall.EIO) {
		t.Fatalf("start with a failing directory fsync after removing an unlisted file: %v, want EIO", err)
	}
	got, w2 := reopen(t, dir)
	defer w2.Close()
	if fmt.Sprint(got) != "[CREATE DATABASE a]" {
		t.Fatalf("the next start replayed %q", got)
	}
}

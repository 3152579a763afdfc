package binlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/semisyncd/semisyncd/binlog/vfs"
)

// tryUnlogged runs one DDL through the unlogged pipeline (sql_log_bin = 0)
// and returns the error the committer would get (nil: acknowledged).
func tryUnlogged(w *Writer, q string) error {
	return finishTicket(w.AppendUnlogged(context.Background(), ddl(q)))
}

// binlogBytes is every binlog file's content, concatenated.
func binlogBytes(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "binlog.0*"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// TestUnloggedJournalReplaysInOrder: unlogged commits take no GTID, never
// reach the binlog files, and a restart replays them between the binlog's
// transactions in commit order; a checkpoint's Journal mark skips those it
// holds.
func TestUnloggedJournalReplaysInOrder(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(quietConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		q        string
		unlogged bool
	}{{"CREATE DATABASE q1", false}, {"CREATE DATABASE u1", true}, {"CREATE DATABASE q2", false}, {"CREATE DATABASE u2", true}, {"CREATE DATABASE u3", true}}
	var mark Position
	var markJournal uint64
	for i, s := range steps {
		if s.unlogged {
			err = tryUnlogged(w, s.q)
		} else {
			err = tryCommit(w, s.q)
		}
		if err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
		if i == 1 {
			mark, _, _ = w.Mark()
			markJournal = w.JournalMark()
		}
	}
	if got := w.Executed(); got != testUUID+":1-2" {
		t.Fatalf("gtid_executed = %s, want %s:1-2 (unlogged commits take none)", got, testUUID)
	}
	if markJournal != 1 || w.JournalMark() != 3 {
		t.Fatalf("journal marks %d, %d; want 1, 3", markJournal, w.JournalMark())
	}
	if b := binlogBytes(t, dir); strings.Contains(b, "DATABASE u") || !strings.Contains(b, "DATABASE q2") {
		t.Fatal("the binlog holds an unlogged statement, or lacks a logged one")
	}
	w.Close()

	var r replayed
	w2, err := Open(quietConfig(dir), r.fn)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1:CREATE DATABASE q1", ":CREATE DATABASE u1", "2:CREATE DATABASE q2", ":CREATE DATABASE u2", ":CREATE DATABASE u3"}
	if fmt.Sprint(r.queries) != fmt.Sprint(want) {
		t.Fatalf("replayed %q, want %q", r.queries, want)
	}
	if rec := w2.Recovered(); rec.Unlogged != 3 || rec.Transactions != 2 {
		t.Fatalf("recovered %+v, want 2 transactions and 3 unlogged", rec)
	}
	// New unlogged commits after a restart continue the numbering.
	if err := tryUnlogged(w2, "CREATE DATABASE u4"); err != nil {
		t.Fatal(err)
	}
	if w2.JournalMark() != 4 {
		t.Fatalf("journal mark after restart %d, want 4", w2.JournalMark())
	}
	w2.Close()

	got, _ := reopenFrom(t, dir, &Start{Seq: 1, Pos: mark, Journal: markJournal})
	want = []string{"CREATE DATABASE q2", "CREATE DATABASE u2", "CREATE DATABASE u3", "CREATE DATABASE u4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("from the checkpoint: replayed %q, want %q", got, want)
	}
}

// TestUnloggedJournalCutAfterLostBinlog: an unlogged record that followed
// a binlog commit the crash lost (past the recovered binlog's end) was
// never acknowledged: recovery cuts it away instead of applying it.
func TestUnloggedJournalCutAfterLostBinlog(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(quietConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tryUnlogged(w, "CREATE DATABASE u1"); err != nil {
		t.Fatal(err)
	}
	before, _, _ := w.Mark()
	if err := tryCommit(w, "CREATE DATABASE lost"); err != nil {
		t.Fatal(err)
	}
	if err := tryUnlogged(w, "CREATE DATABASE u2"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// The crash took the binlog commit's tail (as if never fsynced).
	path := filepath.Join(dir, before.File)
	if err := os.Truncate(path, int64(before.Pos)+10); err != nil {
		t.Fatal(err)
	}
	jsize := fileSize(t, filepath.Join(dir, JournalName(1)))
	got, w2 := reopen(t, dir)
	if fmt.Sprint(got) != fmt.Sprint([]string{"CREATE DATABASE u1"}) {
		t.Fatalf("replayed %q, want only u1", got)
	}
	if after := fileSize(t, filepath.Join(dir, JournalName(1))); after >= jsize {
		t.Fatalf("journal not cut: %d bytes, was %d", after, jsize)
	}
	if err := tryUnlogged(w2, "CREATE DATABASE u3"); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	got, _ = reopen(t, dir)
	if fmt.Sprint(got) != fmt.Sprint([]string{"CREATE DATABASE u1", "CREATE DATABASE u3"}) {
		t.Fatalf("second restart replayed %q", got)
	}
}

// TestUnloggedJournalFaults: each write and fsync of the journal failing:
// what the committer gets, whether the writer goes on, and that a restart
// never replays the failed commit (or, for a failed fsync, at most replays
// it: it was written but never acknowledged).
func TestUnloggedJournalFaults(t *testing.T) {
	eio, enospc := syscall.EIO, syscall.ENOSPC
	cases := []struct {
		name string
		// first: the fault hits the first unlogged commit (which creates
		// the file); otherwise the second.
		first bool
		fault vfs.Fault
		code  int
		final bool
	}{
		{"create", true, vfs.Fault{Op: vfs.OpOpen, Match: "journal.", Err: eio}, 1598, true},
		{"create ENOSPC", true, vfs.Fault{Op: vfs.OpOpen, Match: "journal.", Err: enospc}, 1026, false},
		{"header write", true, vfs.Fault{Op: vfs.OpWrite, Match: "journal.", Err: eio}, 1598, true},
		{"header write ENOSPC", true, vfs.Fault{Op: vfs.OpWrite, Match: "journal.", Err: enospc}, 1026, false},
		{"header fsync", true, vfs.Fault{Op: vfs.OpSync, Match: "journal.", Err: eio}, 1598, true},
		{"directory fsync", true, vfs.Fault{Op: vfs.OpSyncDir, Err: eio}, 1598, true},
		{"record write", false, vfs.Fault{Op: vfs.OpWrite, Match: "journal.", Err: eio, Short: 5}, 1598, true},
		{"record write ENOSPC", false, vfs.Fault{Op: vfs.OpWrite, Match: "journal.", Err: enospc, Short: 9}, 1026, false},
		{"record write, cut back fails", false, vfs.Fault{Op: vfs.OpTruncate, Match: "journal.", Err: eio}, 1598, true},
		{"record fsync", false, vfs.Fault{Op: vfs.OpSync, Match: "journal.", Err: eio}, 1598, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openFaulty(t, dir)
			var acked []string
			if !tc.first {
				if err := tryUnlogged(w.Writer, "CREATE DATABASE ok"); err != nil {
					t.Fatal(err)
				}
				acked = append(acked, "CREATE DATABASE ok")
			}
			w.fs.Inject(tc.fault)
			if tc.fault.Op == vfs.OpTruncate {
				// The cut-back runs only after a failed write.
				w.fs.Inject(vfs.Fault{Op: vfs.OpWrite, Match: "journal.", Err: enospc, Short: 3})
			}
			err := tryUnlogged(w.Writer, "CREATE DATABASE failed")
			if sqlCode(err) != tc.code {
				t.Fatalf("committer got %v, want %d", err, tc.code)
			}
			if final := w.Failed() != nil; final != tc.final || (w.aborts.Load() > 0) != tc.final {
				t.Fatalf("final = %v (aborts %d), want %v", final, w.aborts.Load(), tc.final)
			}
			if !tc.final {
				if err := tryUnlogged(w.Writer, "CREATE DATABASE after"); err != nil {
					t.Fatalf("the next unlogged commit: %v", err)
				}
				acked = append(acked, "CREATE DATABASE after")
			}
			w.Close()
			got, w2 := reopen(t, dir)
			if tc.fault.Op == vfs.OpSync && !tc.first && len(got) == len(acked)+1 && got[len(got)-1] == "CREATE DATABASE failed" {
				got = got[:len(got)-1] // written, fsync failed: never acknowledged, may be recovered
			}
			if fmt.Sprint(got) != fmt.Sprint(acked) {
				t.Fatalf("restart replayed %q, want %q", got, acked)
			}
			if err := tryUnlogged(w2, "CREATE DATABASE next"); err != nil {
				t.Fatalf("unlogged commit after restart: %v", err)
			}
		})
	}
}

// TestUnloggedJournalCrash: a simulated crash at every file-system call of
// two unlogged commits (the first creates the file): a restart replays
// exactly the acknowledged ones (the one in flight may or may not be
// there), and commits go on.
func TestUnloggedJournalCrash(t *testing.T) {
	for n := 0; ; n++ {
		dir := t.TempDir()
		w := openFaulty(t, dir)
		if err := tryCommit(w.Writer, "CREATE DATABASE logged"); err != nil {
			t.Fatal(err)
		}
		w.fs.CrashAfter(n)
		acked := []string{"CREATE DATABASE logged"}
		var inFlight string
		for _, q := range []string{"CREATE DATABASE u1", "CREATE DATABASE u2"} {
			if err := tryUnlogged(w.Writer, q); err != nil {
				inFlight = q
				break
			}
			acked = append(acked, q)
		}
		crashed := w.fs.Crashed()
		if w.journal.f != nil {
			w.journal.f.Close()
		}
		if w.f != nil {
			w.f.Close()
		}
		got, w2 := reopen(t, dir)
		if len(got) == len(acked)+1 && got[len(got)-1] == inFlight {
			got = got[:len(got)-1]
		}
		if fmt.Sprint(got) != fmt.Sprint(acked) {
			t.Fatalf("crash at call %d: replayed %q, want %q", n, got, acked)
		}
		if err := tryUnlogged(w2, "CREATE DATABASE next"); err != nil {
			t.Fatalf("crash at call %d: unlogged commit after restart: %v", n, err)
		}
		if !crashed {
			if n < 5 {
				t.Fatalf("two unlogged commits made only %d file-system calls", n)
			}
			return
		}
	}
}

// TestPruneJournal: after a checkpoint the current file is closed and a
// new one started; files the older checkpoint covers are removed, others
// kept; a failing removal is kept for later, and recovery still works.
func TestPruneJournal(t *testing.T) {
	dir := t.TempDir()
	w := openFaulty(t, dir)
	for _, q := range []string{"CREATE DATABASE a", "CREATE DATABASE b"} {
		if err := tryUnlogged(w.Writer, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.PruneJournal(0); err != nil { // checkpoint 1 covers 2; nothing older
		t.Fatal(err)
	}
	if err := tryUnlogged(w.Writer, "CREATE DATABASE c"); err != nil {
		t.Fatal(err)
	}
	if names := journalFiles(dir); fmt.Sprint(names) != fmt.Sprint([]string{JournalName(1), JournalName(2)}) {
		t.Fatalf("journal files %v", names)
	}
	w.fs.Inject(vfs.Fault{Op: vfs.OpRemove, Match: "journal.", Err: syscall.EIO})
	if err := w.PruneJournal(2); err != nil { // a failed removal is logged, not an error
		t.Fatal(err)
	}
	if names := journalFiles(dir); len(names) != 2 {
		t.Fatalf("after a failed removal: %v", names)
	}
	if err := w.PruneJournal(2); err != nil {
		t.Fatal(err)
	}
	if names := journalFiles(dir); fmt.Sprint(names) != fmt.Sprint([]string{JournalName(2)}) {
		t.Fatalf("after pruning to 2: %v", names)
	}
	w.fs.Inject(vfs.Fault{Op: vfs.OpSync, Match: "journal.", Err: syscall.EIO})
	if err := tryUnlogged(w.Writer, "CREATE DATABASE d"); sqlCode(err) != 1598 {
		t.Fatalf("fsync failure: %v", err)
	}
	w.Close()
	got, _ := reopenFrom(t, dir, &Start{Seq: 2, Pos: Position{}, Reset: true, Journal: 2})
	if len(got) < 1 || got[0] != "CREATE DATABASE c" {
		t.Fatalf("from a checkpoint covering 2: replayed %q", got)
	}
}

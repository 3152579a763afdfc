package replica

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func quietLog() *logrus.Entry {
	l, _ := logtest.NewNullLogger()
	return logrus.NewEntry(l)
}

func openFaultyRelay(t *testing.T, dir string) (*RelayLog, *vfs.Faulty) {
	t.Helper()
	fs := vfs.NewFaulty(nil)
	r, err := OpenRelayLog(dir, 2, quietLog(), fs)
	if err != nil {
		t.Fatal(err)
	}
	r.SetSyncRelayLog(1)
	return r, fs
}

// reopenRelay opens dir with the real file system (a restart) and returns
// the GTIDs its published transactions hold.
func reopenRelay(t *testing.T, dir string) (*RelayLog, string) {
	t.Helper()
	r, err := OpenRelayLog(dir, 2, quietLog(), nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, r.Retrieved().String()
}

// TestRelayLogWriteFaults: a failed relay-log write or fsync publishes
// nothing of the transaction (so it is never ACKed), leaves the file ending
// at the last published boundary once discarded, and the relay log goes on
// (the IO thread's next connection) and reopens with every published
// transaction.
func TestRelayLogWriteFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault vfs.Fault
	}{
		{"ENOSPC", vfs.Fault{Op: vfs.OpWrite, Match: "relay-bin.0", Err: syscall.ENOSPC}},
		{"short write", vfs.Fault{Op: vfs.OpWrite, Match: "relay-bin.0", Err: syscall.ENOSPC, Short: 25}},
		{"EIO", vfs.Fault{Op: vfs.OpWrite, Match: "relay-bin.0", Err: syscall.EIO, Short: 3}},
		{"fsync", vfs.Fault{Op: vfs.OpSync, Match: "relay-bin.0", Err: syscall.EIO}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r, fs := openFaultyRelay(t, dir)
			appendTx(t, r, 1, 300)
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			before, _ := r.Readable()
			fs.Inject(tc.fault)
			appendTx(t, r, 2, 400)
			if err := r.Flush(); err == nil {
				t.Fatal("Flush succeeded through the fault")
			}
			if got, _ := r.Readable(); got != before {
				t.Fatalf("published %v after the failure, before it %v", got, before)
			}
			if got := r.Retrieved().String(); got != testSourceUUID+":1" {
				t.Fatalf("Retrieved_Gtid_Set %q after the failure", got)
			}
			fs.Clear()
			if err := r.Discard(); err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(filepath.Join(dir, before.File)); uint64(st.Size()) != before.Pos {
				t.Fatalf("relay file is %d bytes, want %d (the last boundary)", st.Size(), before.Pos)
			}
			// START REPLICA again: the source resends transaction 2.
			if r.SourcePos().Pos != 300 {
				t.Fatalf("resume position %v", r.SourcePos())
			}
			appendTx(t, r, 2, 400)
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			r.Close()
			_, got := reopenRelay(t, dir)
			if got != testSourceUUID+":1-2" {
				t.Fatalf("after reopen: %q", got)
			}
		})
	}
}

// TestRelayLogCrashAtEveryCall: a simulated crash at each file-system call
// of a rotation, a purge and a reset leaves a relay log that opens, with
// every transaction published before the operation (reset: none, as
// RESET REPLICA asked) and no file the index does not name.
func TestRelayLogCrashAtEveryCall(t *testing.T) {
	ops := []struct {
		name string
		run  func(r *RelayLog) error
		// kept: whether the published transactions survive the operation.
		kept bool
		// done checks, after a run without a crash, that it did its job.
		done func(before []string, r *RelayLog) bool
	}{
		{"rotation", func(r *RelayLog) error {
			r.SetMaxSize(1)
			appendTx(t, r, 4, 700)
			return r.Flush()
		}, true, func(before []string, r *RelayLog) bool { return len(r.Files()) == len(before)+1 }},
		{"purge", func(r *RelayLog) error { return r.PurgeBefore(r.Files()[len(r.Files())-1]) }, true,
			func(before []string, r *RelayLog) bool { return len(before) > 1 && len(r.Files()) == 1 }},
		{"reset", func(r *RelayLog) error { return r.Reset(nil) }, false,
			func(before []string, r *RelayLog) bool { return r.Retrieved().String() == "" && len(r.Files()) == 1 }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for n := 0; ; n++ {
				dir := t.TempDir()
				r, fs := openFaultyRelay(t, dir)
				r.SetMaxSize(200)
				for gno := int64(1); gno <= 3; gno++ {
					appendTx(t, r, gno, uint32(300+100*gno))
					if err := r.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				before := r.Files()
				fs.CrashAfter(n)
				err := op.run(r)
				crashed := fs.Crashed()
				if !crashed && (err != nil || !op.done(before, r)) {
					t.Fatalf("without a crash: %v; files %v, then %v", err, before, r.Files())
				}
				r2, got := reopenRelay(t, dir)
				if op.kept && got != testSourceUUID+":1-3" && got != testSourceUUID+":1-4" {
					t.Fatalf("crash at call %d: retrieved %q after reopen", n, got)
				}
				files := r2.Files()
				matches, _ := filepath.Glob(filepath.Join(dir, "relay-bin.0*"))
				if len(matches) != len(files) {
					t.Fatalf("crash at call %d: %d relay files on disk, the index names %v", n, len(matches), files)
				}
				for _, f := range files {
					if _, err := os.Stat(r2.Path(f)); err != nil {
						t.Fatalf("crash at call %d: the index names %s: %v", n, f, err)
					}
				}
				// The reopened relay log takes new transactions.
				appendTx(t, r2, 9, 2000)
				if err := r2.Flush(); err != nil {
					t.Fatalf("crash at call %d: %v", n, err)
				}
				if !crashed {
					if n < 2 {
						t.Fatalf("%s made only %d calls", op.name, n)
					}
					return
				}
			}
		})
	}
}

// TestReplicaStateWriteFaults: replica.json is replaced atomically; a
// CHANGE REPLICATION SOURCE whose write of it fails at any step (temporary
// file, write, fsync, rename, directory fsync) returns the error and leaves
// the previous configuration, which the next start reads.
func TestReplicaStateWriteFaults(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpOpen, vfs.OpWrite, vfs.OpSync, vfs.OpRename} {
		t.Run(string(op), func(t *testing.T) {
			dir := t.TempDir()
			fs := vfs.NewFaulty(nil)
			r, err := New(Config{DataDir: dir, ServerID: 2, FS: fs, Log: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			host, port, user := "127.0.0.1", 3306, "first"
			if err := r.Change(ChangeOptions{Host: &host, Port: &port, User: &user}); err != nil {
				t.Fatal(err)
			}
			fs.Inject(vfs.Fault{Op: op, Match: "replica.json", Err: syscall.ENOSPC, Short: 5})
			other := "second"
			if err := r.Change(ChangeOptions{User: &other}); err == nil {
				t.Fatal("CHANGE succeeded through the fault")
			}
			r.Close()
			r2, err := New(Config{DataDir: dir, ServerID: 2, Log: quietLog()})
			if err != nil {
				t.Fatalf("restart after the failed write: %v", err)
			}
			defer r2.Close()
			if st, _ := r2.Status(); st.SourceUser != "first" {
				t.Fatalf("after restart the source user is %q, want the configuration before the failed CHANGE", st.SourceUser)
			}
		})
	}
}

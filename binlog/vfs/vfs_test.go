package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileAtomicFaults: a failure at each call of WriteFileAtomic
// (create, write, fsync, rename, directory fsync) leaves the old content
// or the new one, never a mix and never a missing file, and no temporary
// file once RemoveTemps ran.
func TestWriteFileAtomicFaults(t *testing.T) {
	for _, op := range []Op{OpOpen, OpWrite, OpSync, OpRename, OpSyncDir} {
		t.Run(string(op), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state")
			if err := WriteFileAtomic(nil, path, []byte("old")); err != nil {
				t.Fatal(err)
			}
			fs := NewFaulty(nil)
			fs.Inject(Fault{Op: op, Err: syscall.EIO, Short: 1})
			err := WriteFileAtomic(fs, path, []byte("new content"))
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("WriteFileAtomic through a failing %s: %v", op, err)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil || (string(got) != "old" && string(got) != "new content") {
				t.Fatalf("after a failed %s the file holds %q (%v)", op, got, rerr)
			}
			RemoveTemps(nil, dir, "state")
			if m, _ := filepath.Glob(filepath.Join(dir, "state"+tempSuffix+"*")); len(m) != 0 {
				t.Fatalf("temporary files left: %v", m)
			}
		})
	}
}

// TestFaultyCounting: faults fire at the Nth matching call, Count times,
// and the space budget turns a write into a short one with ENOSPC.
func TestFaultyCounting(t *testing.T) {
	dir := t.TempDir()
	fs := NewFaulty(nil)
	f, err := fs.OpenFile(filepath.Join(dir, "a.log"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs.Inject(Fault{Op: OpWrite, Match: "a.log", Nth: 2, Count: 2, Err: syscall.EIO})
	var results []bool
	for i := 0; i < 5; i++ {
		_, err := f.WriteAt([]byte("x"), int64(i))
		results = append(results, err == nil)
	}
	if want := []bool{true, false, false, true, true}; !equal(results, want) {
		t.Fatalf("write results %v, want %v", results, want)
	}
	if fs.Calls(OpWrite) != 5 {
		t.Fatalf("counted %d writes", fs.Calls(OpWrite))
	}
	fs.SetSpace(3)
	n, err := f.WriteAt([]byte("12345"), 10)
	if n != 3 || !IsNoSpace(err) || Errno(err) != int(syscall.ENOSPC) {
		t.Fatalf("write past the space budget: %d, %v", n, err)
	}
	fs.SetSpace(-1)
	fs.CrashAfter(1)
	if _, err := f.WriteAt([]byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); !errors.Is(err, ErrCrashed) || !fs.Crashed() {
		t.Fatalf("call after the crash: %v", err)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

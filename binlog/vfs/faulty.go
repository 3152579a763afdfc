package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Op names a kind of file-system call, for fault injection.
type Op string

// The operations a Faulty FS counts and can fail.
const (
	OpOpen     Op = "open"
	OpWrite    Op = "write"
	OpSync     Op = "sync"
	OpTruncate Op = "truncate"
	OpRename   Op = "rename"
	OpRemove   Op = "remove"
	OpMkdir    Op = "mkdir"
	OpSyncDir  Op = "syncdir"
)

// Fault makes matching calls fail.
type Fault struct {
	Op Op
	// Match, when set, must be a substring of the call's file base name
	// (for a rename, of the source's).
	Match string
	// Nth is the matching call, counted from the Inject, that fails first
	// (1-based; 0 means the next one).
	Nth int
	// Count is how many matching calls fail from there (0: one; negative:
	// every one until Clear).
	Count int
	// Err is the error returned, wrapped in an *os.PathError.
	Err error
	// Short, for writes, is how many bytes reach the file before the error
	// (a short write); it is clamped to the write's length.
	Short int
	// Gate, for syncs, holds the matching call until it is closed (a slow
	// disk, for tests that need a commit inside its fsync); then the call
	// fails with Err, or, when Err is nil, goes on to the inner file.
	Gate <-chan struct{}
}

// Faulty is an FS that passes calls to an inner FS except where an injected
// Fault, or the space budget, makes them fail. It is safe for concurrent
// use.
type Faulty struct {
	inner FS

	mu     sync.Mutex
	faults []*armed
	calls  map[Op]int
	space  int64 // bytes writes may still add; negative: unlimited
	crash  int   // calls left before the simulated crash; negative: none
}

type armed struct {
	Fault
	seen, fired int
}

// NewFaulty wraps inner (nil: OS) with no faults and unlimited space.
func NewFaulty(inner FS) *Faulty {
	return &Faulty{inner: OrOS(inner), calls: map[Op]int{}, space: -1, crash: -1}
}

// ErrCrashed is what every call gets after the simulated crash.
var ErrCrashed = errors.New("vfs: simulated crash")

// CrashAfter lets n more calls through (of any operation) and fails every
// call after them with ErrCrashed, writing nothing: what is on disk is what
// a process killed at that point leaves (the page cache survives a kill),
// so a test can abandon the writer and reopen the directory with OS.
func (f *Faulty) CrashAfter(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crash = n
}

// Crashed reports whether the simulated crash happened.
func (f *Faulty) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crash == 0
}

// Inject arms a fault.
func (f *Faulty) Inject(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ft.Nth <= 0 {
		ft.Nth = 1
	}
	if ft.Count == 0 {
		ft.Count = 1
	}
	f.faults = append(f.faults, &armed{Fault: ft})
}

// Clear disarms every fault and makes space unlimited again.
func (f *Faulty) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults, f.space = nil, -1
}

// SetSpace limits the bytes later writes may add in all (a full disk at
// 0); negative means unlimited. A write that does not fit writes what
// fits and fails with ENOSPC.
func (f *Faulty) SetSpace(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.space = n
}

// Calls returns how many calls of op were made (failed ones included).
func (f *Faulty) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// check counts a call and returns the fault that fails it, if any.
func (f *Faulty) check(op Op, path string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if f.crash == 0 {
		return &Fault{Op: op, Err: ErrCrashed}
	}
	if f.crash > 0 {
		f.crash--
	}
	base := filepath.Base(path)
	for _, a := range f.faults {
		if a.Op != op || (a.Match != "" && !strings.Contains(base, a.Match)) {
			continue
		}
		a.seen++
		if a.seen < a.Nth || (a.Count > 0 && a.fired >= a.Count) {
			continue
		}
		a.fired++
		ft := a.Fault
		return &ft
	}
	return nil
}

func pathErr(op Op, path string, err error) error {
	return &os.PathError{Op: string(op), Path: path, Err: err}
}

// OpenFile implements FS.
func (f *Faulty) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if ft := f.check(OpOpen, name); ft != nil {
		return nil, pathErr(OpOpen, name, ft.Err)
	}
	in, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: in, fs: f}, nil
}

// Rename implements FS.
func (f *Faulty) Rename(o, n string) error {
	if ft := f.check(OpRename, o); ft != nil {
		return &os.LinkError{Op: string(OpRename), Old: o, New: n, Err: ft.Err}
	}
	return f.inner.Rename(o, n)
}

// Remove implements FS.
func (f *Faulty) Remove(name string) error {
	if ft := f.check(OpRemove, name); ft != nil {
		return pathErr(OpRemove, name, ft.Err)
	}
	return f.inner.Remove(name)
}

// MkdirAll implements FS.
func (f *Faulty) MkdirAll(path string, perm os.FileMode) error {
	if ft := f.check(OpMkdir, path); ft != nil {
		return pathErr(OpMkdir, path, ft.Err)
	}
	return f.inner.MkdirAll(path, perm)
}

// SyncDir implements FS.
func (f *Faulty) SyncDir(dir string) error {
	if ft := f.check(OpSyncDir, dir); ft != nil {
		return pathErr(OpSyncDir, dir, ft.Err)
	}
	return f.inner.SyncDir(dir)
}

type faultyFile struct {
	File
	fs *Faulty
}

func (ff *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	if ft := ff.fs.check(OpWrite, ff.Name()); ft != nil {
		n := ft.Short
		if n > len(p) {
			n = len(p)
		}
		if n > 0 {
			if m, err := ff.File.WriteAt(p[:n], off); err != nil {
				return m, err
			}
		}
		return n, pathErr(OpWrite, ff.Name(), ft.Err)
	}
	ff.fs.mu.Lock()
	fit := len(p)
	if ff.fs.space >= 0 {
		if int64(fit) > ff.fs.space {
			fit = int(ff.fs.space)
		}
		ff.fs.space -= int64(fit)
	}
	ff.fs.mu.Unlock()
	if fit < len(p) {
		n, err := ff.File.WriteAt(p[:fit], off)
		if err != nil {
			return n, err
		}
		return n, pathErr(OpWrite, ff.Name(), errNoSpace)
	}
	return ff.File.WriteAt(p, off)
}

func (ff *faultyFile) Sync() error {
	if ft := ff.fs.check(OpSync, ff.Name()); ft != nil {
		if ft.Gate != nil {
			<-ft.Gate
		}
		if ft.Err != nil || ft.Gate == nil {
			return pathErr(OpSync, ff.Name(), ft.Err)
		}
	}
	return ff.File.Sync()
}

func (ff *faultyFile) Truncate(size int64) error {
	if ft := ff.fs.check(OpTruncate, ff.Name()); ft != nil {
		return pathErr(OpTruncate, ff.Name(), ft.Err)
	}
	return ff.File.Truncate(size)
}

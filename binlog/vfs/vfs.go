// Package vfs is the narrow file-system interface the binlog and the relay
// log write through, so that tests can make any single call fail.
//
// Every call that changes what is on disk goes through an FS: creating and
// opening files for writing, writes, fsyncs, truncations, renames, removals
// and directory fsyncs. Reading back (recovery, the dump, the SQL thread)
// uses the operating system directly: a failed read is reported, never
// mistaken for durability.
//
// OS is the real file system. Faulty wraps an FS and injects errors (ENOSPC,
// EIO, short writes, fsync failures) at a chosen call, counted per
// operation, in the way SQLite's test harness fails the Nth I/O call.
package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
)

// File is an open file. WriteAt writes at an explicit offset (the binlog
// never relies on a file's implicit offset) and, as io.WriterAt, returns a
// non-nil error whenever it writes fewer than len(p) bytes.
type File interface {
	io.WriterAt
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Close() error
	Name() string
}

// FS is the set of changing file-system calls.
type FS interface {
	// OpenFile is os.OpenFile.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Rename is os.Rename.
	Rename(oldpath, newpath string) error
	// Remove is os.Remove.
	Remove(name string) error
	// MkdirAll is os.MkdirAll.
	MkdirAll(path string, perm os.FileMode) error
	// SyncDir fsyncs a directory, making creations, renames and removals
	// in it durable.
	SyncDir(dir string) error
}

// OS is the operating system's file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}
func (osFS) Rename(o, n string) error                     { return os.Rename(o, n) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) MkdirAll(path string, perm os.FileMode) error { return os.MkdirAll(path, perm) }
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OrOS returns fs, or OS when fs is nil.
func OrOS(fs FS) FS {
	if fs == nil {
		return OS
	}
	return fs
}

// IsNoSpace reports whether err is a full disk or an exhausted quota
// (ENOSPC, EDQUOT): the errors after which a write may succeed again once
// space is freed. Every other write error is treated as permanent.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// Errno returns the system error number inside err (0 when there is none).
func Errno(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return 0
}

// tempSuffix marks WriteFileAtomic's temporary files, which a crash may
// leave behind; RemoveTemps deletes them.
const tempSuffix = ".tmp-atomic-"

// tempSeq makes concurrent replacements of one file use distinct temporaries.
var tempSeq atomic.Uint64

// WriteFileAtomic replaces path with data so that a crash leaves the old or
// the new content, never a mix (see ReplaceFile).
func WriteFileAtomic(fs FS, path string, data []byte) error {
	_, err := ReplaceFile(fs, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// ReplaceFile replaces path with what fill writes, so that a crash leaves
// the old or the new content, never a mix: a temporary file beside it is
// written and fsynced, renamed over path, and the directory fsynced. On any
// error path is unchanged and the temporary file is removed. It returns the
// number of bytes written. This is the one file-replacement rule: the
// indexes, the state files and the checkpoints use it.
func ReplaceFile(fs FS, path string, fill func(io.Writer) error) (int64, error) {
	fs = OrOS(fs)
	tmp := path + tempSuffix + strconv.FormatUint(tempSeq.Add(1), 10)
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, err
	}
	w := &offsetWriter{f: f}
	err = fill(w)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return 0, err
	}
	return w.off, fs.SyncDir(filepath.Dir(path))
}

// offsetWriter writes a File sequentially through WriteAt.
type offsetWriter struct {
	f   File
	off int64
}

func (o *offsetWriter) Write(p []byte) (int, error) {
	n, err := o.f.WriteAt(p, o.off)
	o.off += int64(n)
	return n, err
}

// RemoveTemps deletes the temporary files an interrupted WriteFileAtomic
// left in dir, for the given target names.
func RemoveTemps(fs FS, dir string, names ...string) {
	fs = OrOS(fs)
	for _, n := range names {
		matches, _ := filepath.Glob(filepath.Join(dir, n+tempSuffix+"*"))
		for _, m := range matches {
			_ = fs.Remove(m)
		}
	}
}

// errNoSpace is the error of a write the Faulty FS's space budget cannot hold.
var errNoSpace error = syscall.ENOSPC

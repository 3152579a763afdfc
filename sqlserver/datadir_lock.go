package sqlserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the data directory's lock: one process per data directory, as
// mysqld's InnoDB locks ./ibdata1. It covers every file in the directory:
// the binlog, the relay log, replica.json and the small state files.
const lockFile = "semisyncd.lock"

// dirLock is a held data-directory lock.
type dirLock struct{ f *os.File }

// lockDataDir takes an exclusive, non-blocking flock on dir's lock file and
// writes this process's id into it. It fails at once when another process
// holds it, naming that process, before anything else in dir is touched.
// The lock ends with the process (a SIGKILL included) or with release.
func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: data directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner := "another process"
		if buf, rerr := os.ReadFile(path); rerr == nil {
			if pid := strings.TrimSpace(string(buf)); pid != "" {
				owner = "process " + pid
			}
		}
		f.Close()
		code := 0
		var errno syscall.Errno
		if errors.As(err, &errno) {
			code = int(errno)
		}
		return nil, fmt.Errorf("Unable to lock %s error: %d. The data directory %s is in use by %s: check that you do not already have another semisyncd process using the same data directory", path, code, dir, owner)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release gives the lock up.
func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

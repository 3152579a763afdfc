package main

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
)

// runTB lets the bench drive the semisynctest kit, which reports through a testing.TB, outside
// a test: Fatal panics with a fatalError that kitCall turns back into an error, Cleanup
// functions run (last first) at close, TempDir directories are removed after them. Methods the
// kit does not call are left to the nil embedded TB.
type runTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	dirs     []string
	failed   bool
	log      *logrus.Entry
}

type fatalError struct{ msg string }

func (e fatalError) Error() string { return e.msg }

func newRunTB(log *logrus.Entry) *runTB { return &runTB{log: log} }

func (r *runTB) Helper()                   {}
func (r *runTB) Name() string              { return "semisync-bench" }
func (r *runTB) Log(a ...any)              { r.log.Debug(fmt.Sprint(a...)) }
func (r *runTB) Logf(f string, a ...any)   { r.log.Debug(fmt.Sprintf(f, a...)) }
func (r *runTB) Error(a ...any)            { r.fail(fmt.Sprint(a...)) }
func (r *runTB) Errorf(f string, a ...any) { r.fail(fmt.Sprintf(f, a...)) }
func (r *runTB) Fatal(a ...any)            { r.fail(fmt.Sprint(a...)); panic(fatalError{fmt.Sprint(a...)}) }
func (r *runTB) Fatalf(f string, a ...any) {
	r.fail(fmt.Sprintf(f, a...))
	panic(fatalError{fmt.Sprintf(f, a...)})
}

func (r *runTB) fail(msg string) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.log.Error(msg)
}

func (r *runTB) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *runTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *runTB) TempDir() string {
	d, err := os.MkdirTemp("", "semisync-bench")
	if err != nil {
		r.Fatalf("TempDir: %v", err)
	}
	r.mu.Lock()
	r.dirs = append(r.dirs, d)
	r.mu.Unlock()
	return d
}

// close runs the cleanups, last registered first, then removes the temporary directories.
func (r *runTB) close() {
	r.mu.Lock()
	cs, ds := r.cleanups, r.dirs
	r.cleanups, r.dirs = nil, nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		_ = kitCall(cs[i])
	}
	for _, d := range ds {
		_ = os.RemoveAll(d)
	}
}

// kitCall runs f and returns the message of a Fatal it called as an error.
func kitCall(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fe, ok := p.(fatalError)
			if !ok {
				panic(p)
			}
			err = fe
		}
	}()
	f()
	return nil
}

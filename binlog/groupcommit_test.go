package binlog

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/binlog/vfs"
	"github.com/semisyncd/semisyncd/storage/changes"
)

// waitUntil polls cond until it holds, failing the test after a bound
// (the bound only keeps a broken build from hanging; nothing is timed).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommitSharesFsyncs holds the first commit's fsync (a gated sync
// in the Faulty FS) while n-1 more commits append: once it is released,
// the n-1 must all be made durable by one more fsync, so n commits cost
// two fsyncs and the second group counts n-1 commits. Every committer is
// acknowledged, none before its bytes were synced.
func TestGroupCommitSharesFsyncs(t *testing.T) {
	fw := openFaulty(t, t.TempDir())
	defer fw.Close()
	const n = 8
	before := fw.Stats()
	syncsBefore := fw.fs.Calls(vfs.OpSync)
	gate := make(chan struct{})
	fw.fs.Inject(vfs.Fault{Op: vfs.OpSync, Gate: gate})

	done := make(chan error, n)
	commit := func(i int) {
		tk, err := fw.Append(context.Background(), ddl(fmt.Sprintf("CREATE DATABASE g%d", i)))
		if err == nil {
			if err = tk.BeforePublish(context.Background()); err == nil {
				tk.AfterPublish(context.Background())
			}
		}
		done <- err
	}
	go commit(0)
	waitUntil(t, "the first commit's fsync", func() bool { return fw.fs.Calls(vfs.OpSync) > syncsBefore })
	for i := 1; i < n; i++ {
		go commit(i)
	}
	waitUntil(t, "the other commits' appends", func() bool { return fw.Stats().Commits-before.Commits == n })
	select {
	case err := <-done:
		t.Fatalf("a commit finished while the fsync covering it was held: %v", err)
	default:
	}
	close(gate)
	for i := 0; i < n; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	after := fw.Stats()
	if got := after.Fsyncs - before.Fsyncs; got != 2 {
		t.Errorf("%d commits took %d fsyncs; want 2 (the held one, then one for the rest)", n, got)
	}
	if got := after.GroupCommits - before.GroupCommits; got != n {
		t.Errorf("fsyncs made %d commits durable; want %d", got, n)
	}
	if after.MaxGroup != n-1 {
		t.Errorf("largest group %d commits; want %d", after.MaxGroup, n-1)
	}
}

// TestGroupCommitGathersRunnableCommitters: a group-fsync leader that
// already has company (two commits appended) first yields to the sessions
// that are runnable, so that its fsync covers the commits they append
// meanwhile too. With one processor the six committers started just
// before the leader's wait run only when it yields: they append and wait
// for its fsync, and all eight commits cost one fsync (without the yield,
// seven on a file system whose fsync returns at once: the leader's own,
// then each committer alone). Go's scheduler now and then runs the yielder
// again before the others (it looks at the global run queue first every
// 61st time), so the scenario gets three tries: one must gather all.
func TestGroupCommitGathersRunnableCommitters(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 8
	var got []uint64
	for try := 0; try < 3; try++ {
		fsyncs, durable := gatherScenario(t, n)
		if durable != n {
			t.Fatalf("fsyncs made %d commits durable; want %d", durable, n)
		}
		got = append(got, fsyncs)
		if fsyncs == 1 {
			return
		}
	}
	t.Errorf("%d commits took %v fsyncs in three tries; want 1 in one of them (the leader gathers the runnable committers)", n, got)
}

// TestGroupCommitGatheredFsyncFails: the fsync of a gathered group fails
// (EIO): none of the group's eight commits is acknowledged, each gets an
// error, and none counts as made durable.
func TestGroupCommitGatheredFsyncFails(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 8
	r := gatherCommits(t, n, &vfs.Fault{Op: vfs.OpSync, Err: syscall.EIO})
	for i, err := range r.errs {
		if err == nil {
			t.Errorf("commit %d acknowledged though the fsync covering it failed", i)
		}
	}
	if r.failed == nil {
		t.Error("writer not failed after its fsync failed")
	}
	if r.durable != 0 {
		t.Errorf("%d commits counted durable; want 0", r.durable)
	}
}

// gatherScenario runs TestGroupCommitGathersRunnableCommitters's commits on
// a new writer and returns its fsyncs and the commits they made durable.
func gatherScenario(t *testing.T, n int) (fsyncs, durable uint64) {
	r := gatherCommits(t, n, nil)
	for _, err := range r.errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return r.fsyncs, r.durable
}

// gathered is what gatherCommits saw: every commit's error from
// BeforePublish, the writer's fsyncs and the commits they made durable, and
// the writer's failure.
type gathered struct {
	errs            []error
	fsyncs, durable uint64
	failed          error
}

// gatherCommits opens a writer (with fault injected, when not nil), appends
// two commits, starts n-2 committers and then waits for the first two
// (with one processor, the committers run only when the first waiter, the
// group-fsync leader, yields).
func gatherCommits(t *testing.T, n int, fault *vfs.Fault) gathered {
	fw := openFaulty(t, t.TempDir())
	defer fw.Close()
	before := fw.Stats()
	if fault != nil {
		fw.fs.Inject(*fault)
	}
	ctx := context.Background()
	errs := make([]error, n)
	var first []changes.CommitTicket
	for i := 0; i < 2; i++ {
		tk, err := fw.Append(ctx, ddl(fmt.Sprintf("CREATE DATABASE h%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		first = append(first, tk)
	}
	var wg sync.WaitGroup
	for i := 2; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tk, err := fw.Append(ctx, ddl(fmt.Sprintf("CREATE DATABASE h%d", i)))
			if err == nil {
				err = tk.BeforePublish(ctx)
			}
			errs[i] = err
		}(i)
	}
	for i, tk := range first {
		errs[i] = tk.BeforePublish(ctx)
	}
	wg.Wait()
	after := fw.Stats()
	return gathered{errs: errs, fsyncs: after.Fsyncs - before.Fsyncs, durable: after.GroupCommits - before.GroupCommits, failed: fw.Failed()}
}

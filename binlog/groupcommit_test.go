package binlog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/binlog/vfs"
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

package gcpolicy

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		live uint64
		want int64
	}{
		{0, 256 * mib},
		{10 * mib, 271 * mib},
		{100 * mib, 406 * mib},
		{1024 * mib, 1792 * mib},
	}
	for _, c := range cases {
		if got := Limit(c.live); got != c.want {
			t.Errorf("Limit(%d MiB) = %d MiB, want %d MiB", c.live/mib, got/mib, c.want/mib)
		}
	}
}

// TestLimitBindsOnlyForLargeHeaps checks where the limit takes over from GOGC 400's target of
// 5x live: not for a small heap, always for a large one.
func TestLimitBindsOnlyForLargeHeaps(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		live  uint64
		binds bool
	}{
		{8 * mib, false},
		{64 * mib, false},
		{128 * mib, true},
		{1024 * mib, true},
	}
	for _, c := range cases {
		gogcTarget := c.live * (100 + GCPercent) / 100
		if binds := uint64(Limit(c.live)) < gogcTarget; binds != c.binds {
			t.Errorf("live %d MiB: limit binds = %v, want %v", c.live/mib, binds, c.binds)
		}
	}
}

// TestInstallFollowsLiveHeap installs the policy and checks that after GC cycles the memory
// limit equals Limit of a live heap that holds a 64 MiB allocation.
func TestInstallFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	oldPct := debug.SetGCPercent(100)
	defer debug.SetGCPercent(oldPct)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer stopped.Store(true)
	if !Install() {
		t.Fatal("Install refused with GOGC and GOMEMLIMIT unset")
	}
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = 1
	}
	var limit int64
	for i := 0; i < 50; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // finalizers run on their own goroutine
		limit = debug.SetMemoryLimit(-1)
		if limit >= Limit(64<<20) && limit != math.MaxInt64 {
			break
		}
	}
	runtime.KeepAlive(hold)
	if limit < Limit(64<<20) || limit > Limit(128<<20) {
		t.Errorf("memory limit %d MiB, want Limit(live≈64 MiB) = %d MiB", limit>>20, Limit(64<<20)>>20)
	}
	if pct := debug.SetGCPercent(GCPercent); pct != GCPercent {
		t.Errorf("GC percent %d, want %d", pct, GCPercent)
	}
}

func TestInstallDefersToEnvironment(t *testing.T) {
	cases := []struct{ gogc, memlimit string }{{"100", ""}, {"", "1GiB"}, {"off", "2GiB"}}
	for _, c := range cases {
		t.Setenv("GOGC", c.gogc)
		t.Setenv("GOMEMLIMIT", c.memlimit)
		if Install() {
			t.Errorf("GOGC=%q GOMEMLIMIT=%q: Install applied the policy", c.gogc, c.memlimit)
		}
	}
}

package gcpolicy

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestLimit(t *testing.T) {
	cases := []struct {
		live uint64
		want int64
	}{
		{0, Floor},
		{10 << 20, 10<<20 + Floor},
		{Floor / 4, Floor/4 + Floor}, // GOGC 400's own target: 5x live
		{Floor * 2, Floor * 3},
		{1 << 30, 3 << 29},
		{math.MaxUint64 - 1, math.MaxInt64},
	}
	for _, c := range cases {
		if got := Limit(c.live); got != c.want {
			t.Errorf("Limit(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

// restoreGC puts the process's GC settings back after a test.
func restoreGC(t *testing.T) {
	pct, lim := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(pct)
	t.Cleanup(func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
	})
}

func TestStartFollowsEnvironment(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		wantPercent   bool
		wantFollowing bool
	}{
		{"neither set", nil, true, true},
		{"GOGC set", map[string]string{"GOGC": "100"}, false, true},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, true, false},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restoreGC(t)
			debug.SetGCPercent(123)
			debug.SetMemoryLimit(math.MaxInt64)
			p := Start(func(k string) string { return c.env[k] }, nil)
			defer p.Stop()
			if p.GCPercentSet != c.wantPercent || p.LimitFollows != c.wantFollowing {
				t.Fatalf("GCPercentSet, LimitFollows = %v, %v; want %v, %v", p.GCPercentSet, p.LimitFollows, c.wantPercent, c.wantFollowing)
			}
			wantPct := 123
			if c.wantPercent {
				wantPct = GCPercent
			}
			if got := debug.SetGCPercent(-1); got != wantPct {
				t.Errorf("GC percent = %d, want %d", got, wantPct)
			}
			debug.SetGCPercent(wantPct)
			lim := debug.SetMemoryLimit(-1)
			if c.wantFollowing && (lim == math.MaxInt64 || lim != p.CurrentLimit()) {
				t.Errorf("memory limit = %d, want the policy's %d", lim, p.CurrentLimit())
			}
			if !c.wantFollowing && lim != math.MaxInt64 {
				t.Errorf("memory limit = %d, want it untouched", lim)
			}
		})
	}
}

// TestLimitFollowsLiveHeap: after collections with a large live heap, the
// limit is the live heap plus its headroom.
func TestLimitFollowsLiveHeap(t *testing.T) {
	restoreGC(t)
	p := Start(func(string) string { return "" }, nil)
	defer p.Stop()
	small := p.CurrentLimit()
	// A live heap of 400 MiB in 4 MiB blocks.
	keep := make([][]byte, 100)
	for i := range keep {
		keep[i] = make([]byte, 4<<20)
		keep[i][0] = 1
	}
	before := p.Updates()
	for i := 0; i < 50 && (p.Updates() < before+2 || p.CurrentLimit() == small); i++ {
		runtime.GC()
		runtime.Gosched()
	}
	runtime.KeepAlive(keep)
	lim := p.CurrentLimit()
	if p.Updates() < before+1 {
		t.Fatalf("no update after 50 collections")
	}
	if lim < 400<<20+200<<20 || lim > 700<<20+350<<20 {
		t.Errorf("limit with ~400 MiB live = %d MiB, want about 600", lim>>20)
	}
	if got := debug.SetMemoryLimit(-1); got != lim {
		t.Errorf("runtime's limit = %d, policy's = %d", got, lim)
	}
	keep = nil
	for i := 0; i < 50 && p.CurrentLimit() >= lim; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := p.CurrentLimit(); got >= lim {
		t.Errorf("limit did not come down after the heap was freed: %d MiB", got>>20)
	}
}

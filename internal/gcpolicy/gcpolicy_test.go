package gcpolicy

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
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
			if want := c.env["GOGC"] != "off"; p.IdleWatcher != want {
				t.Errorf("IdleWatcher = %v, want %v", p.IdleWatcher, want)
			}
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

// TestShouldRelease drives the idle watcher's decision through scripted
// ticks: each row is one tick's sample and the expected decision; a
// release, when decided, is recorded before the next row.
func TestShouldRelease(t *testing.T) {
	const mb = 1 << 20
	ticks := []struct {
		name                  string
		allocated, held, live uint64
		want                  bool
	}{
		{"start: nothing allocated", 10 * mb, 20 * mb, 10 * mb, false},
		{"busy loading", 400 * mb, 380 * mb, 200 * mb, false},
		{"still busy", 500 * mb, 360 * mb, 200 * mb, false},
		{"idle, 160 MB over live", 500*mb + 1000, 360 * mb, 200 * mb, true},
		{"idle again, nothing allocated since the release", 500*mb + 2000, 300 * mb, 200 * mb, false},
		{"a small burst", 530 * mb, 300 * mb, 200 * mb, false},
		{"idle, under IdleSlack allocated since the release", 530*mb + 10, 300 * mb, 200 * mb, false},
		{"a burst", 600 * mb, 320 * mb, 200 * mb, false},
		{"idle, enough allocated but little held over live", 600*mb + 10, 250 * mb, 200 * mb, false},
		{"idle, held over live by exactly IdleSlack", 600*mb + 20, 264 * mb, 200 * mb, true},
		{"held below live (metrics read apart)", 700 * mb, 150 * mb, 200 * mb, false},
		{"idle, held below live", 700*mb + 1, 150 * mb, 200 * mb, false},
	}
	var st idleState
	st.released(idleSample{allocated: ticks[0].allocated})
	for _, tk := range ticks {
		s := idleSample{allocated: tk.allocated, held: tk.held, live: tk.live}
		got := st.shouldRelease(s)
		if got != tk.want {
			t.Errorf("%s: shouldRelease = %v, want %v", tk.name, got, tk.want)
		}
		if got {
			st.released(s)
		}
	}
}

// loadedHeap makes the heap of a server that just loaded a data set: it
// returns a live heap of 200 MiB (to keep alive) after allocating 512 MiB
// of garbage beside it. With GOGC 400 and no memory limit (idleTestPolicy)
// the garbage is still mapped when it returns.
func loadedHeap() [][]byte {
	live := make([][]byte, 200)
	for i := range live {
		live[i] = make([]byte, 1<<20)
		live[i][0] = 1
	}
	var garbage [8][]byte
	for i := 0; i < 512; i++ {
		garbage[i%len(garbage)] = make([]byte, 1<<20)
		garbage[i%len(garbage)][0] = 1
	}
	runtime.KeepAlive(garbage)
	return live
}

// idleTestPolicy starts the policy with GOGC 400 and, for the test, no
// memory limit (GOMEMLIMIT "set": the policy leaves the limit alone), so
// that a burst of garbage stays mapped until something returns it.
func idleTestPolicy(t *testing.T) *Policy {
	restoreGC(t)
	debug.SetMemoryLimit(math.MaxInt64)
	return Start(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "off"
		}
		return ""
	}, nil)
}

// TestIdleWatcherReturnsMemory: after loading, the idle process returns the
// freed memory the limit let it keep to the operating system by itself,
// without another allocation or collection from the program.
func TestIdleWatcherReturnsMemory(t *testing.T) {
	p := idleTestPolicy(t)
	defer p.Stop()
	live := loadedHeap()
	ms := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(ms)
	before := ms[0].Value.Uint64()
	// Bounded: the watcher needs one idle tick after the load.
	deadline := time.Now().Add(20 * IdleTick)
	for p.IdleReleases() == 0 && time.Now().Before(deadline) {
		time.Sleep(IdleTick / 10)
	}
	runtime.KeepAlive(live)
	if p.IdleReleases() == 0 {
		mm := make([]metrics.Sample, len(idleMetrics))
		for i, n := range idleMetrics {
			mm[i].Name = n
		}
		t.Fatalf("no idle release within %v after loading; now %+v", 20*IdleTick, readIdleSample(mm))
	}
	metrics.Read(ms)
	if after := ms[0].Value.Uint64(); after < before+IdleSlack {
		t.Errorf("heap released to the OS went from %d MiB to %d MiB; want at least %d MiB more", before>>20, after>>20, IdleSlack>>20)
	}
}

// TestIdleWatcherStops: no release after Stop, from the same heap that
// gets one while the watcher runs.
func TestIdleWatcherStops(t *testing.T) {
	p := idleTestPolicy(t)
	p.Stop()
	p.Stop() // a second Stop is harmless
	live := loadedHeap()
	time.Sleep(3 * IdleTick)
	runtime.KeepAlive(live)
	if n := p.IdleReleases(); n != 0 {
		t.Errorf("%d idle releases after Stop", n)
	}
}

// TestReleasesNeverOverlap: while a release is pending (ReleaseAfter) no
// other starts, and once it ran the next one does.
func TestReleasesNeverOverlap(t *testing.T) {
	ReleaseAfter(50 * time.Millisecond)
	if Release() {
		t.Fatal("Release ran while a ReleaseAfter was pending")
	}
	deadline := time.Now().Add(20 * time.Second)
	for releasing.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !Release() {
		t.Fatal("Release refused after the pending release ran")
	}
}

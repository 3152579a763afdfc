package gcpolicy

import (
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Returning memory when the process goes idle.
//
// The memory limit (see Limit) lets the heap grow to the live heap plus at least Floor between
// collections, and the runtime keeps what it freed mapped up to that limit: right after loading
// 1M rows (~200 MB live) RSS sat at about 360 MB, and stayed there while the server did
// nothing, because an idle process does not collect again. So a watcher samples the runtime
// once per IdleTick; when the process allocated less than IdleAlloc in the last tick (idle)
// and holds at least IdleSlack more heap than the last collection found live, it collects and
// returns the free memory to the operating system (debug.FreeOSMemory). To bound what a
// bursty load can cost, a release also needs IdleSlack bytes allocated since the previous
// one: at most one extra collection per IdleSlack allocated, against the one per Floor the
// limit already causes. Under a steady load nothing changes: the process is never idle.

// IdleTick is how often the watcher samples; IdleAlloc is the most a process may allocate in
// one tick and count as idle; IdleSlack is the least heap held over the live heap (and the
// least allocated since the previous release) for which a release is worth a collection.
const (
	IdleTick  = time.Second
	IdleAlloc = 1 << 20
	IdleSlack = 64 << 20
)

// idleSample is what the watcher reads at each tick: the bytes allocated since the process
// started, the heap memory mapped and not returned (objects, unused span space, free spans),
// and the live heap the last collection found.
type idleSample struct {
	allocated, held, live uint64
}

// idleState is the watcher's memory between ticks.
type idleState struct {
	prevAllocated    uint64 // at the previous tick
	releaseAllocated uint64 // at the previous release
}

// shouldRelease decides one tick: whether the process went idle holding enough memory to be
// worth a collection. It updates st's previous-tick reading; the caller records a release
// with released.
func (st *idleState) shouldRelease(s idleSample) bool {
	delta := s.allocated - st.prevAllocated
	st.prevAllocated = s.allocated
	if delta >= IdleAlloc {
		return false // busy
	}
	if s.allocated-st.releaseAllocated < IdleSlack {
		return false // too little allocated since the previous release
	}
	return s.held > s.live && s.held-s.live >= IdleSlack
}

func (st *idleState) released(s idleSample) { st.releaseAllocated = s.allocated }

// idleMetrics are the runtime metrics an idleSample is made of; held is the sum of the three
// heap classes.
var idleMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	liveMetric,
}

func readIdleSample(ms []metrics.Sample) idleSample {
	metrics.Read(ms)
	v := func(i int) uint64 {
		if ms[i].Value.Kind() == metrics.KindUint64 {
			return ms[i].Value.Uint64()
		}
		return 0
	}
	return idleSample{allocated: v(0), held: v(1) + v(2) + v(3), live: v(4)}
}

// releasing is set while a release is pending (ReleaseAfter) or runs, so that releases never
// overlap.
var releasing atomic.Bool

// Release collects and returns free memory to the operating system (debug.FreeOSMemory); it
// blocks for one collection and reports true. A call while another release is pending or runs
// returns false at once.
func Release() bool {
	if !releasing.CompareAndSwap(false, true) {
		return false
	}
	defer releasing.Store(false)
	debug.FreeOSMemory()
	return true
}

// ReleaseAfter is Release after d, in the background; it returns at once. A call while another
// release is pending or runs does nothing.
func ReleaseAfter(d time.Duration) {
	if !releasing.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(d, func() {
		defer releasing.Store(false)
		debug.FreeOSMemory()
	})
}

// startIdle starts the idle watcher; it runs until stop is closed. What the process allocated
// before the call counts as released.
func (p *Policy) startIdle(stop <-chan struct{}, log *logrus.Entry) {
	ms := make([]metrics.Sample, len(idleMetrics))
	for i, name := range idleMetrics {
		ms[i].Name = name
	}
	var st idleState
	st.released(readIdleSample(ms))
	go p.watchIdle(stop, log, ms, st)
}

func (p *Policy) watchIdle(stop <-chan struct{}, log *logrus.Entry, ms []metrics.Sample, st idleState) {
	t := time.NewTicker(IdleTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s := readIdleSample(ms)
		if !st.shouldRelease(s) || !Release() {
			continue
		}
		after := readIdleSample(ms)
		st.released(after)
		p.idleReleases.Add(1)
		if log != nil {
			log.WithFields(logrus.Fields{"held_before": s.held, "held_after": after.held, "live": after.live}).
				Debug("idle: returned free memory to the system")
		}
	}
}

// IdleReleases counts the releases the idle watcher made.
func (p *Policy) IdleReleases() uint64 { return p.idleReleases.Load() }

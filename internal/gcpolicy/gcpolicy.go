// Package gcpolicy sets the server's garbage-collector policy: a high GC
// target (GOGC 400) that trades memory for CPU while the live heap is small,
// and a soft memory limit that follows the live heap, so that a large live
// heap (a big data set) does not grow to five times its size. When the
// process goes idle holding much more heap than is live, an idle watcher
// returns the free memory to the operating system (see idle.go).
//
// After every collection the limit is set to Limit(live): the live heap plus
// max(Floor, live/2). Up to a live heap of Floor/4 (32 MiB) the limit is
// above GOGC 400's own target and changes nothing; above it the heap grows
// by at most Floor or half the live heap between collections, and the
// runtime returns freed memory to the OS to stay under the limit.
//
// The environment wins: with GOGC set the GC target is not touched, with
// GOMEMLIMIT set the limit is not touched (the runtime applies both).
package gcpolicy

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// GCPercent is the GC target set when GOGC is not in the environment. Every
// statement through GMS allocates heavily; trading memory for CPU this way
// measured +62% sysbench oltp_insert TPS at 1 thread and +29% at 16 (2
// vCPUs).
const GCPercent = 400

// Floor is the least headroom over the live heap the memory limit allows.
const Floor = 128 << 20

// Limit is the soft memory limit for a live heap of live bytes: live plus
// max(Floor, live/2).
func Limit(live uint64) int64 {
	head := max(uint64(Floor), live/2)
	if live > math.MaxInt64-head {
		return math.MaxInt64
	}
	return int64(live + head)
}

// Policy is a running policy (see Start).
type Policy struct {
	// GCPercentSet and LimitFollows report what Start took over: the GC
	// target (GOGC unset) and the memory limit (GOMEMLIMIT unset).
	GCPercentSet, LimitFollows bool
	// IdleWatcher reports that the idle watcher runs: always, except with
	// GOGC=off (no collection the environment did not ask for).
	IdleWatcher bool

	// mu guards stopped, limit and sample; a leaf lock (nothing is locked while it is held).
	mu      sync.Mutex
	stopped bool
	limit   int64
	updates atomic.Uint64
	sample  []metrics.Sample

	idleReleases atomic.Uint64
	stopIdle     chan struct{} // closed by Stop; nil without the idle watcher
}

// liveMetric is the heap the last collection found live.
const liveMetric = "/gc/heap/live:bytes"

// Start applies the policy to this process. getenv reads the environment
// (os.Getenv). It returns at once; the limit is updated from the runtime's
// finalizer goroutine after each collection, and the idle watcher (idle.go;
// unless GOGC=off) runs in its own goroutine, until Stop.
func Start(getenv func(string) string, log *logrus.Entry) *Policy {
	p := &Policy{GCPercentSet: getenv("GOGC") == "", LimitFollows: getenv("GOMEMLIMIT") == ""}
	if p.GCPercentSet {
		debug.SetGCPercent(GCPercent)
	}
	if p.LimitFollows {
		p.sample = []metrics.Sample{{Name: liveMetric}}
		p.update()
		p.arm()
	}
	if !strings.EqualFold(strings.TrimSpace(getenv("GOGC")), "off") {
		p.IdleWatcher = true
		p.stopIdle = make(chan struct{})
		p.startIdle(p.stopIdle, log)
	}
	if log != nil {
		log.WithFields(logrus.Fields{"gogc_default": p.GCPercentSet, "memory_limit_follows_live_heap": p.LimitFollows,
			"memory_limit": debug.SetMemoryLimit(-1)}).Debug("gc policy")
	}
	return p
}

// Stop ends the limit's updates and the idle watcher; the last limit set stays in force.
func (p *Policy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped && p.stopIdle != nil {
		close(p.stopIdle)
	}
	p.stopped = true
}

// Updates counts the times the limit was recomputed (once per collection).
func (p *Policy) Updates() uint64 { return p.updates.Load() }

// CurrentLimit is the limit the policy last set (0: none).
func (p *Policy) CurrentLimit() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// sentinel is an object whose finalizer runs after the collection that
// found it unreachable, that is once per collection while it re-arms.
type sentinel struct{ p *Policy }

func (p *Policy) arm() {
	runtime.SetFinalizer(&sentinel{p: p}, func(s *sentinel) {
		if s.p.update() {
			s.p.arm()
		}
	})
}

// update sets the limit from the live heap the last collection measured;
// it reports false once stopped. The limit changes only when it moves by
// more than 1/16, which keeps calls into the runtime rare.
func (p *Policy) update() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	metrics.Read(p.sample)
	var live uint64
	if p.sample[0].Value.Kind() == metrics.KindUint64 {
		live = p.sample[0].Value.Uint64()
	}
	p.updates.Add(1)
	want := Limit(live)
	if d := want - p.limit; p.limit == 0 || d > p.limit/16 || -d > p.limit/16 {
		debug.SetMemoryLimit(want)
		p.limit = want
	}
	return true
}

// Package gcpolicy sets the garbage collector's policy of the server: GOGC 400 (CPU first) while
// the live heap is small, and a soft memory limit that follows the live heap so that a large live
// heap is not allowed to grow to 5x its size in garbage.
//
// After every GC cycle the memory limit is set to Limit(live heap): live*Factor + Floor. With
// GOGC 400 the heap target is 5x live; the limit takes over once live*Factor+Floor is below that
// (with the defaults, above a live heap of about 73 MiB), so a large heap's target is about
// 1.5x live, as GOGC≈50 would give. The limit is always at least Factor times the live heap, so
// the collector never runs back to back.
package gcpolicy

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

const (
	// GCPercent is the collector's target while the memory limit does not bind.
	GCPercent = 400
	// Factor is the memory limit's multiple of the live heap.
	Factor = 1.5
	// Floor is added to the memory limit so that small heaps keep GOGC's target.
	Floor = 256 << 20
)

// Limit is the soft memory limit in bytes for a live heap of live bytes: live*Factor + Floor.
func Limit(live uint64) int64 {
	return int64(float64(live)*Factor) + Floor
}

// stopped ends the callback chain (tests only).
var stopped atomic.Bool

// Install applies the policy unless GOGC or GOMEMLIMIT is set in the environment, in which case
// the runtime's own handling of those variables stands and Install changes nothing. It reports
// whether the policy was installed. Call it once, at start-up.
func Install() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		logrus.WithFields(logrus.Fields{"GOGC": os.Getenv("GOGC"), "GOMEMLIMIT": os.Getenv("GOMEMLIMIT")}).
			Info("garbage collector policy from the environment")
		return false
	}
	debug.SetGCPercent(GCPercent)
	debug.SetMemoryLimit(Limit(liveHeap()))
	armCallback()
	return true
}

// liveHeap is the heap marked live by the last GC cycle.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// sentinel is an object whose finalizer runs once after each GC cycle that found it unreachable.
type sentinel struct{ _ [16]byte }

// armCallback allocates a sentinel whose finalizer updates the memory limit and re-arms itself.
func armCallback() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		if stopped.Load() {
			return
		}
		debug.SetMemoryLimit(Limit(liveHeap()))
		armCallback()
	})
}

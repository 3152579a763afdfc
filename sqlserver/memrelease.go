package sqlserver

import (
	"time"

	"github.com/semisyncd/semisyncd/internal/gcpolicy"
)

// Returning the memory of requests refused for exceeding a limit.
//
// A message past max_allowed_packet is refused only once its packets add up to more than the
// limit, and vitess has by then gathered the packets so far in one growing buffer: up to about
// twice max_allowed_packet (128 MB at the default) for a single hostile client. The buffer is
// garbage once the connection ends, but the Go runtime returns freed memory to the operating
// system only down to its heap goal, which with the server's GOGC of 400 is five times the live
// heap at the last collection — a collection that ran while the buffer was live — and an idle
// server does not collect again for minutes. Measured (TestHostileClientsLeaveNoTrace): one
// refused 64 MB query left the server's RSS at 4× its size before, for longer than 90 s. So when
// a connection that had a message refused as too big closes, the server collects and returns
// idle memory at once (gcpolicy.Release), at most one at a time: the cost is one collection
// per refused message, which only a misbehaving client causes. A statement refused for nesting
// too deep (1436) is the same case: the limit is checked on the tree vitess has already built
// (a 100,000-term sum left RSS 40 MB, over half, above its level before).

// releaseDelay lets the connection's goroutine drop its buffer (vitess returns from its read
// and closes the connection after the shim's close) before the collection.
const releaseDelay = 100 * time.Millisecond

// releaseMemory collects and returns idle memory to the operating system, in the background
// after releaseDelay (gcpolicy.ReleaseAfter); a call while a release is pending or runs does
// nothing.
func releaseMemory() { gcpolicy.ReleaseAfter(releaseDelay) }

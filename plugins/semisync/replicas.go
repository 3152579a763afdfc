package semisync

import (
	"sort"
	"time"
)

// ReplicaState is what the source knows of one replica's dump and ACKs: a row of
// information_schema.RPL_SEMI_SYNC_SOURCE_REPLICAS.
//
// Un-ACKed events and bytes count what the dump sent past the replica's last ACK (bytes by
// binlog position: exact within a file, the file's header counted when the dump moved to a
// new file). ACK latency is the time from sending an ACK-requested event to the ACK that
// covers it, over the last latencySamples ACKs.
type ReplicaState struct {
	ServerID   uint32
	SemiSync   bool // the current (or last) dump announced semi-sync
	Connected  bool
	Reconnects uint64 // dumps started after the first one

	HasAck   bool
	AckedPos Position
	LastAck  time.Time

	UnackedEvents, UnackedBytes uint64

	HasLatency                   bool
	AckLatencyP50, AckLatencyP99 time.Duration
}

// latencySamples bounds the ACK latencies kept per replica for the percentiles.
const latencySamples = 1024

// maxPending bounds the transaction ends kept per replica while they wait for an ACK; past it
// the oldest are dropped (the un-ACKed counts then stay high until an ACK passes the rest).
const maxPending = 1 << 16

type pendingEnd struct {
	end           Position
	events, bytes uint64    // cumulative sent counts up to and including this event
	flaggedAt     time.Time // zero when it was not ACK-requested
}

// replicaStats is one replica's counters. Owned by Source, under its mutex.
type replicaStats struct {
	semi, connected bool
	dumps           uint64
	acked           Position
	hasAck          bool
	lastAck         time.Time

	sent                    Position
	hasSent                 bool
	sentEvents, sentBytes   uint64
	ackedEvents, ackedBytes uint64
	pending                 []pendingEnd
	lat                     []time.Duration // ring of the last latencySamples
	latNext                 int
}

// replicaBook keeps replicaStats by server_id. It is not safe for concurrent use.
type replicaBook struct {
	m map[uint32]*replicaStats
	// onAckLatency, when set, is told each ACK latency measured (for the metrics endpoint).
	onAckLatency func(serverID uint32, d time.Duration)
}

func (b *replicaBook) get(id uint32) *replicaStats {
	if b.m == nil {
		b.m = map[uint32]*replicaStats{}
	}
	r, ok := b.m[id]
	if !ok {
		r = &replicaStats{}
		b.m[id] = r
	}
	return r
}

// started records a dump of replica id starting at start.
func (b *replicaBook) started(id uint32, semi bool, start Position) {
	r := b.get(id)
	r.dumps++
	r.semi, r.connected = semi, true
	r.pending = r.pending[:0]
	r.sent, r.hasSent = start, start.File != ""
	r.ackedEvents, r.ackedBytes = r.sentEvents, r.sentBytes
}

// ended records that replica id's dump stopped.
func (b *replicaBook) ended(id uint32) {
	if r, ok := b.m[id]; ok {
		r.connected = false
		r.pending = nil
	}
}

// sentEvent records an event ending at end sent to replica id; flagged: it requested an ACK.
func (b *replicaBook) sentEvent(id uint32, end Position, txEnd, flagged bool, now time.Time) {
	r := b.get(id)
	switch {
	case !r.hasSent || r.sent.File != end.File:
		if end.Pos > 4 {
			r.sentBytes += end.Pos - 4
		}
	case end.Pos > r.sent.Pos:
		r.sentBytes += end.Pos - r.sent.Pos
	}
	r.sent, r.hasSent = end, true
	r.sentEvents++
	if !txEnd && !flagged {
		return
	}
	p := pendingEnd{end: end, events: r.sentEvents, bytes: r.sentBytes}
	if flagged {
		p.flaggedAt = now
	}
	if len(r.pending) >= maxPending {
		r.pending = append(r.pending[:0], r.pending[1:]...)
	}
	r.pending = append(r.pending, p)
}

// ack records replica id's ACK of pos at now.
func (b *replicaBook) ack(id uint32, pos Position, now time.Time) {
	r := b.get(id)
	if !r.hasAck || pos.Compare(r.acked) > 0 {
		r.acked, r.hasAck = pos, true
	}
	r.lastAck = now
	k := 0
	for ; k < len(r.pending) && r.pending[k].end.Compare(pos) <= 0; k++ {
		p := r.pending[k]
		r.ackedEvents, r.ackedBytes = p.events, p.bytes
		if !p.flaggedAt.IsZero() {
			d := now.Sub(p.flaggedAt)
			if d < 0 {
				d = 0
			}
			if len(r.lat) < latencySamples {
				r.lat = append(r.lat, d)
			} else {
				r.lat[r.latNext] = d
				r.latNext = (r.latNext + 1) % latencySamples
			}
			if b.onAckLatency != nil {
				b.onAckLatency(id, d)
			}
		}
	}
	r.pending = append(r.pending[:0], r.pending[k:]...)
	if r.hasSent && pos.Compare(r.sent) >= 0 {
		r.ackedEvents, r.ackedBytes = r.sentEvents, r.sentBytes
	}
}

// states returns every replica seen, by server_id.
func (b *replicaBook) states() []ReplicaState {
	out := make([]ReplicaState, 0, len(b.m))
	for id, r := range b.m {
		st := ReplicaState{
			ServerID: id, SemiSync: r.semi, Connected: r.connected, HasAck: r.hasAck, AckedPos: r.acked, LastAck: r.lastAck,
		}
		if r.dumps > 1 {
			st.Reconnects = r.dumps - 1
		}
		if r.semi && r.connected {
			st.UnackedEvents = r.sentEvents - r.ackedEvents
			st.UnackedBytes = r.sentBytes - r.ackedBytes
		}
		if len(r.lat) > 0 {
			s := append([]time.Duration(nil), r.lat...)
			sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
			st.HasLatency = true
			st.AckLatencyP50 = percentile(s, 50)
			st.AckLatencyP99 = percentile(s, 99)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out
}

// percentile is the nearest-rank p-th percentile of sorted s (not empty).
func percentile(s []time.Duration, p int) time.Duration {
	rank := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

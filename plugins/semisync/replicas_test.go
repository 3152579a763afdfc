package semisync

import (
	"testing"
	"time"
)

// TestReplicaBook: un-ACKed events and bytes follow what was sent past the last ACK; ACK
// latency is measured from the flagged send to the ACK; a second dump is a reconnect.
func TestReplicaBook(t *testing.T) {
	var b replicaBook
	at := func(ms int) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }
	p := func(n uint64) Position { return Position{File: "binlog.000001", Pos: n} }
	b.started(2, true, p(4))
	b.started(3, false, p(4))
	// Two transactions of two events each: GTID then the end.
	b.sentEvent(2, p(50), false, false, at(0))
	b.sentEvent(2, p(100), true, true, at(0))
	b.sentEvent(2, p(150), false, false, at(1))
	b.sentEvent(2, p(200), true, true, at(1))
	st := b.states()
	if len(st) != 2 || st[0].ServerID != 2 || !st[0].SemiSync || st[0].UnackedEvents != 4 || st[0].UnackedBytes != 196 || st[0].HasAck {
		t.Fatalf("before ACKs: %+v", st)
	}
	if st[1].ServerID != 3 || st[1].SemiSync || !st[1].Connected || st[1].UnackedEvents != 0 {
		t.Fatalf("async replica: %+v", st[1])
	}
	b.ack(2, p(100), at(10))
	st = b.states()
	if st[0].UnackedEvents != 2 || st[0].UnackedBytes != 100 || st[0].AckedPos != p(100) || !st[0].LastAck.Equal(at(10)) {
		t.Fatalf("after the first ACK: %+v", st[0])
	}
	b.ack(2, p(200), at(31))
	st = b.states()
	if st[0].UnackedEvents != 0 || st[0].UnackedBytes != 0 || !st[0].HasLatency ||
		st[0].AckLatencyP50 != 10*time.Millisecond || st[0].AckLatencyP99 != 30*time.Millisecond {
		t.Fatalf("after the second ACK: %+v", st[0])
	}
	// Into a new file: the header counts.
	b.sentEvent(2, Position{File: "binlog.000002", Pos: 120}, true, false, at(40))
	if st = b.states(); st[0].UnackedBytes != 116 || st[0].UnackedEvents != 1 {
		t.Fatalf("after a rotation: %+v", st[0])
	}
	b.ended(2)
	b.started(2, true, Position{File: "binlog.000002", Pos: 120})
	st = b.states()
	if !st[0].Connected || st[0].Reconnects != 1 || st[0].UnackedEvents != 0 || st[1].Reconnects != 0 {
		t.Fatalf("after a reconnect: %+v", st)
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	for _, c := range []struct{ p, want int }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(s, c.p); got != time.Duration(c.want) {
			t.Errorf("p%d = %d, want %d", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("one sample: %d", got)
	}
}

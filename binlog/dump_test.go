package binlog

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHooks records what the dump reports and flags every transaction end.
type fakeHooks struct {
	mu      sync.Mutex
	acks    []Position
	started []Position
	ended   int
	flagged int
}

func (f *fakeHooks) DumpStarted(_ uint32, _ bool, p Position) {
	f.mu.Lock()
	f.started = append(f.started, p)
	f.mu.Unlock()
}
func (f *fakeHooks) DumpEnded(uint32, bool) { f.mu.Lock(); f.ended++; f.mu.Unlock() }
func (f *fakeHooks) WantAck(_ uint32, _ Position, txEnd bool) bool {
	return txEnd
}
func (f *fakeHooks) Acked(_ uint32, p Position) {
	f.mu.Lock()
	f.acks = append(f.acks, p)
	f.mu.Unlock()
}
func (f *fakeHooks) Flagged(uint32) { f.mu.Lock(); f.flagged++; f.mu.Unlock() }

func (f *fakeHooks) ackList() []Position {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Position(nil), f.acks...)
}

type packet struct {
	seq     byte
	payload []byte
}

func readPacket(t *testing.T, r *bufio.Reader) packet {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("reading a packet: %v", err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return packet{seq: hdr[3], payload: p}
}

func writePacket(t *testing.T, c net.Conn, seq byte, payload []byte) {
	t.Helper()
	hdr := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}
	if _, err := c.Write(append(hdr, payload...)); err != nil {
		t.Fatal(err)
	}
}

func ack(pos uint64, name string) []byte {
	p := []byte{SemiSyncMagic}
	p = binary.LittleEndian.AppendUint64(p, pos)
	return append(p, name...)
}

// TestSemiSyncDumpFraming: every packet of a semi-sync dump carries 0xEF
// and a flag; of the transactions sent together, the last one's end is
// offered to the hooks and flagged when they want an ACK (the ACK of it
// covers the others; MySQL flags each, one net_wait each); the
// sequence restarts at 1 after a flagged packet; ACKs are parsed, bad ones
// ignored without closing the connection; a plain dump has no header.
func TestSemiSyncDumpFraming(t *testing.T) {
	w, err := Open(testConfig(t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, q := range []string{"CREATE DATABASE a", "CREATE DATABASE b", "CREATE DATABASE c"} {
		commit(t, w, ddl(q))
	}
	end, _ := w.Status()

	server, client := net.Pipe()
	defer client.Close()
	hooks := &fakeHooks{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Dump(ctx, server, DumpRequest{ServerID: 9, File: "binlog.000001", Pos: 4, SemiSync: true}, hooks)
	}()
	r := bufio.NewReader(client)
	// fake ROTATE, FDE, PREVIOUS_GTIDS, then 3 × (GTID, QUERY).
	var pkts []packet
	for i := 0; i < 9; i++ {
		pkts = append(pkts, readPacket(t, r))
	}
	wantSeq := byte(1)
	for i, p := range pkts {
		if p.payload[0] != 0x00 || p.payload[1] != SemiSyncMagic {
			t.Fatalf("packet %d lacks the semi-sync header: % x", i, p.payload[:3])
		}
		wantFlag := byte(0)
		if i == 8 {
			wantFlag = SemiSyncFlagSync
		}
		if p.payload[2] != wantFlag {
			t.Fatalf("packet %d flag %d, want %d (only the last transaction end of the batch)", i, p.payload[2], wantFlag)
		}
		if p.seq != wantSeq {
			t.Fatalf("packet %d has sequence %d, want %d", i, p.seq, wantSeq)
		}
		wantSeq++
		if wantFlag != 0 {
			wantSeq = 1
		}
	}
	if h, _ := ParseHeader(pkts[0].payload[3:]); h.Type != ROTATE_EVENT || h.Flags&LOG_EVENT_ARTIFICIAL_F == 0 || h.Timestamp != 0 {
		t.Fatalf("first event %+v is not the artificial ROTATE", h)
	}
	if h, _ := ParseHeader(pkts[8].payload[3:]); uint64(h.LogPos) != end.Pos {
		t.Fatalf("flagged event ends at %d, want %d", h.LogPos, end.Pos)
	}

	// ACKs: malformed ones are ignored and the connection stays up.
	writePacket(t, client, 0, append([]byte{0x00}, ack(end.Pos, "binlog.000001")[1:]...)) // wrong magic
	writePacket(t, client, 0, []byte{SemiSyncMagic, 1, 2, 3})                             // short
	writePacket(t, client, 0, ack(end.Pos, strings.Repeat("x", 600)))                     // name too long
	writePacket(t, client, 0, ack(end.Pos, "binlog.000001\x00"))                          // trailing NUL: accepted
	deadline := time.Now().Add(10 * time.Second)
	for len(hooks.ackList()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if acks := hooks.ackList(); len(acks) != 1 || acks[0] != end {
		t.Fatalf("acks %v, want exactly %v", acks, end)
	}

	// The next packet after the flagged one starts again at sequence 1.
	commit(t, w, ddl("CREATE DATABASE d"))
	p := readPacket(t, r)
	if p.seq != 1 {
		t.Fatalf("packet after a flagged one has sequence %d, want 1", p.seq)
	}
	cancel()
	<-done
	if hooks.flagged != 2 || len(hooks.started) != 1 || hooks.started[0] != (Position{"binlog.000001", 4}) || hooks.ended != 1 {
		t.Fatalf("hooks %+v", hooks)
	}

	// A replica that did not announce semi-sync gets plain packets.
	server2, client2 := net.Pipe()
	defer client2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go w.Dump(ctx2, server2, DumpRequest{ServerID: 10, File: "binlog.000001", Pos: 4}, hooks)
	r2 := bufio.NewReader(client2)
	for i := 0; i < 3; i++ {
		p := readPacket(t, r2)
		if p.payload[0] != 0x00 || p.payload[1] == SemiSyncMagic {
			t.Fatalf("plain dump packet %d: % x", i, p.payload[:3])
		}
	}
}

func TestParseAck(t *testing.T) {
	cases := []struct {
		in   []byte
		ok   bool
		want Position
	}{
		{ack(1393, "primary-bin.000001"), true, Position{"primary-bin.000001", 1393}},
		{ack(4, "binlog.000002\x00"), true, Position{"binlog.000002", 4}},
		{ack(4, ""), true, Position{"", 4}},
		{[]byte{0x01, 0, 0, 0, 0, 0, 0, 0, 0}, false, Position{}},
		{[]byte{SemiSyncMagic, 0}, false, Position{}},
		{nil, false, Position{}},
		{ack(4, strings.Repeat("n", 512)), false, Position{}},
	}
	for _, c := range cases {
		got, ok, why := ParseAck(c.in)
		if ok != c.ok || (ok && got != c.want) || (!ok && why == "") {
			t.Errorf("ParseAck(% x) = %v %v %q", c.in, got, ok, why)
		}
	}
}

package binlog

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// SID is a server UUID as 16 bytes.
type SID [16]byte

// ParseSID parses "3e11fa47-71ca-11e1-9e33-c80aa9429562".
func ParseSID(s string) (SID, error) {
	var sid SID
	h := strings.ReplaceAll(strings.TrimSpace(s), "-", "")
	if len(h) != 32 {
		return sid, fmt.Errorf("binlog: malformed server uuid %q", s)
	}
	if _, err := hex.Decode(sid[:], []byte(h)); err != nil {
		return sid, fmt.Errorf("binlog: malformed server uuid %q", s)
	}
	return sid, nil
}

// String formats the SID as MySQL prints UUIDs.
func (s SID) String() string {
	h := hex.EncodeToString(s[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// interval is [Start, End) of transaction numbers.
type interval struct{ Start, End int64 }

// GTIDSet is a set of GTIDs: per server UUID, sorted disjoint intervals.
// The zero value is empty. Not safe for concurrent use.
type GTIDSet struct {
	m map[SID][]interval
}

// NewGTIDSet returns an empty set.
func NewGTIDSet() *GTIDSet { return &GTIDSet{m: map[SID][]interval{}} }

// ParseGTIDSet parses MySQL's text form, e.g. "uuid:1-5:7,uuid2:3".
func ParseGTIDSet(s string) (*GTIDSet, error) {
	set := NewGTIDSet()
	s = strings.TrimSpace(strings.ReplaceAll(s, "\n", ""))
	if s == "" {
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		fields := strings.Split(strings.TrimSpace(part), ":")
		sid, err := ParseSID(fields[0])
		if err != nil {
			return nil, err
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("binlog: malformed GTID set %q", s)
		}
		for _, r := range fields[1:] {
			lo, hi, ok := strings.Cut(r, "-")
			a, err := strconv.ParseInt(lo, 10, 64)
			if err != nil || a < 1 {
				return nil, fmt.Errorf("binlog: malformed GTID set %q", s)
			}
			b := a
			if ok {
				if b, err = strconv.ParseInt(hi, 10, 64); err != nil || b < a {
					return nil, fmt.Errorf("binlog: malformed GTID set %q", s)
				}
			}
			set.AddRange(sid, a, b+1)
		}
	}
	return set, nil
}

// Add adds one GTID.
func (g *GTIDSet) Add(sid SID, gno int64) { g.AddRange(sid, gno, gno+1) }

// AddRange adds [start, end).
func (g *GTIDSet) AddRange(sid SID, start, end int64) {
	if g.m == nil {
		g.m = map[SID][]interval{}
	}
	ivs := append(g.m[sid], interval{start, end})
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].Start < ivs[j].Start })
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && iv.Start <= out[n-1].End {
			if iv.End > out[n-1].End {
				out[n-1].End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	g.m[sid] = out
}

// Remove takes one GTID out of the set.
func (g *GTIDSet) Remove(sid SID, gno int64) {
	ivs := g.m[sid]
	for i, iv := range ivs {
		if gno < iv.Start || gno >= iv.End {
			continue
		}
		var repl []interval
		if iv.Start < gno {
			repl = append(repl, interval{iv.Start, gno})
		}
		if gno+1 < iv.End {
			repl = append(repl, interval{gno + 1, iv.End})
		}
		out := append(append(append([]interval(nil), ivs[:i]...), repl...), ivs[i+1:]...)
		g.m[sid] = out
		return
	}
}

// Subtract takes every GTID of o out of g.
func (g *GTIDSet) Subtract(o *GTIDSet) {
	if o == nil {
		return
	}
	for sid, cut := range o.m {
		ivs := g.m[sid]
		if len(ivs) == 0 {
			continue
		}
		var out []interval
		for _, iv := range ivs {
			rest := []interval{iv}
			for _, c := range cut {
				var next []interval
				for _, r := range rest {
					if c.End <= r.Start || c.Start >= r.End {
						next = append(next, r)
						continue
					}
					if r.Start < c.Start {
						next = append(next, interval{r.Start, c.Start})
					}
					if c.End < r.End {
						next = append(next, interval{c.End, r.End})
					}
				}
				rest = next
			}
			out = append(out, rest...)
		}
		if len(out) == 0 {
			delete(g.m, sid)
		} else {
			g.m[sid] = out
		}
	}
}

// Union adds every GTID of o.
func (g *GTIDSet) Union(o *GTIDSet) {
	if o == nil {
		return
	}
	for sid, ivs := range o.m {
		for _, iv := range ivs {
			g.AddRange(sid, iv.Start, iv.End)
		}
	}
}

// Contains reports whether gno of sid is in the set.
func (g *GTIDSet) Contains(sid SID, gno int64) bool {
	for _, iv := range g.m[sid] {
		if gno >= iv.Start && gno < iv.End {
			return true
		}
	}
	return false
}

// ContainsSet reports whether every GTID of o is in g.
func (g *GTIDSet) ContainsSet(o *GTIDSet) bool {
	for sid, ivs := range o.m {
		for _, iv := range ivs {
			covered := false
			for _, mine := range g.m[sid] {
				if iv.Start >= mine.Start && iv.End <= mine.End {
					covered = true
					break
				}
			}
			if !covered {
				return false
			}
		}
	}
	return true
}

// Last returns the highest transaction number of sid (0 if none).
func (g *GTIDSet) Last(sid SID) int64 {
	ivs := g.m[sid]
	if len(ivs) == 0 {
		return 0
	}
	return ivs[len(ivs)-1].End - 1
}

// Clone returns a copy.
func (g *GTIDSet) Clone() *GTIDSet {
	n := NewGTIDSet()
	n.Union(g)
	return n
}

// Empty reports whether the set has no GTIDs.
func (g *GTIDSet) Empty() bool {
	for _, ivs := range g.m {
		if len(ivs) > 0 {
			return false
		}
	}
	return true
}

func (g *GTIDSet) sids() []SID {
	out := make([]SID, 0, len(g.m))
	for sid, ivs := range g.m {
		if len(ivs) > 0 {
			out = append(out, sid)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// String formats the set as MySQL does ("uuid:1-5:7,\nuuid2:3"), UUIDs in
// order.
func (g *GTIDSet) String() string {
	var parts []string
	for _, sid := range g.sids() {
		var b strings.Builder
		b.WriteString(sid.String())
		for _, iv := range g.m[sid] {
			if iv.End-1 == iv.Start {
				fmt.Fprintf(&b, ":%d", iv.Start)
			} else {
				fmt.Fprintf(&b, ":%d-%d", iv.Start, iv.End-1)
			}
		}
		parts = append(parts, b.String())
	}
	// MySQL's default text form (Gtid_set::default_string_format) puts a
	// newline after each comma: @@gtid_executed, SHOW REPLICA STATUS,
	// GTID_SUBTRACT.
	return strings.Join(parts, ",\n")
}

// SIDBlock encodes the set as in PREVIOUS_GTIDS_LOG_EVENT and
// COM_BINLOG_DUMP_GTID: n_sids u64, then per SID: uuid, n_intervals u64,
// intervals (start, end exclusive) u64 pairs.
func (g *GTIDSet) SIDBlock() []byte {
	sids := g.sids()
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(sids)))
	for _, sid := range sids {
		b = append(b, sid[:]...)
		ivs := g.m[sid]
		b = binary.LittleEndian.AppendUint64(b, uint64(len(ivs)))
		for _, iv := range ivs {
			b = binary.LittleEndian.AppendUint64(b, uint64(iv.Start))
			b = binary.LittleEndian.AppendUint64(b, uint64(iv.End))
		}
	}
	return b
}

// ParseSIDBlock decodes SIDBlock's encoding; it never panics on short input.
func ParseSIDBlock(b []byte) (*GTIDSet, error) {
	set := NewGTIDSet()
	if len(b) < 8 {
		return nil, fmt.Errorf("binlog: GTID block too short")
	}
	n := binary.LittleEndian.Uint64(b)
	b = b[8:]
	for i := uint64(0); i < n; i++ {
		if len(b) < 24 {
			return nil, fmt.Errorf("binlog: GTID block too short")
		}
		var sid SID
		copy(sid[:], b[:16])
		k := binary.LittleEndian.Uint64(b[16:])
		b = b[24:]
		if k > uint64(len(b))/16 { // k*16 could wrap
			return nil, fmt.Errorf("binlog: GTID block too short")
		}
		for j := uint64(0); j < k; j++ {
			start := int64(binary.LittleEndian.Uint64(b))
			end := int64(binary.LittleEndian.Uint64(b[8:]))
			b = b[16:]
			if start < 1 || end <= start {
				return nil, fmt.Errorf("binlog: bad GTID interval %d-%d", start, end)
			}
			set.AddRange(sid, start, end)
		}
	}
	return set, nil
}

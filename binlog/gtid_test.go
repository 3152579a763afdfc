package binlog

import "testing"

func TestGTIDSet(t *testing.T) {
	const a = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	const b = "00000000-0000-0000-0000-000000000001"
	cases := []struct {
		in, want string
	}{
		{"", ""},
		{a + ":1", a + ":1"},
		{a + ":1-5", a + ":1-5"},
		{a + ":1-5:6-7", a + ":1-7"},
		{a + ":3:1-2:9", a + ":1-3:9"},
		{a + ":1-3," + b + ":4", b + ":4,\n" + a + ":1-3"},
		{a + ":1-3,\n" + b + ":4", b + ":4,\n" + a + ":1-3"}, // MySQL's own output parses back
	}
	for _, c := range cases {
		s, err := ParseGTIDSet(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if got := s.String(); got != c.want {
			t.Errorf("%q: String() = %q, want %q", c.in, got, c.want)
		}
		back, err := ParseSIDBlock(s.SIDBlock())
		if err != nil || back.String() != c.want {
			t.Errorf("%q: SID block round trip = %q, %v", c.in, back, err)
		}
	}
	for _, bad := range []string{"x", a, a + ":0", a + ":5-3", "zz:1"} {
		if _, err := ParseGTIDSet(bad); err == nil {
			t.Errorf("%q parsed, want an error", bad)
		}
	}
	s, _ := ParseGTIDSet(a + ":1-10:20")
	sid, _ := ParseSID(a)
	for gno, want := range map[int64]bool{1: true, 10: true, 11: false, 20: true, 21: false} {
		if s.Contains(sid, gno) != want {
			t.Errorf("Contains(%d) = %v", gno, !want)
		}
	}
	sub, _ := ParseGTIDSet(a + ":2-5")
	if !s.ContainsSet(sub) {
		t.Error("ContainsSet(2-5) = false")
	}
	over, _ := ParseGTIDSet(a + ":9-12")
	if s.ContainsSet(over) {
		t.Error("ContainsSet(9-12) = true")
	}
	if s.Last(sid) != 20 {
		t.Errorf("Last = %d", s.Last(sid))
	}
	for _, short := range [][]byte{nil, {1, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0, 1, 2}} {
		if _, err := ParseSIDBlock(short); err == nil {
			t.Errorf("ParseSIDBlock(%x) succeeded", short)
		}
	}
	r, _ := ParseGTIDSet(a + ":1-10")
	r.Remove(sid, 5)
	r.Remove(sid, 1)
	r.Remove(sid, 10)
	r.Remove(sid, 42)
	if r.String() != a+":2-4:6-9" {
		t.Errorf("after removals: %s", r)
	}
}

func TestGTIDSetSubtract(t *testing.T) {
	const a, b = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4e11fa47-71ca-11e1-9e33-c80aa9429562"
	for _, tc := range []struct{ g, o, want string }{
		{a + ":1-10", a + ":3-4:8", a + ":1-2:5-7:9-10"},
		{a + ":1-10", a + ":1-10", ""},
		{a + ":1-5:7-9," + b + ":1-3", b + ":2," + a + ":5-8", a + ":1-4:9,\n" + b + ":1:3"},
		{a + ":1-3", b + ":1-3", a + ":1-3"},
		{"", a + ":1", ""},
		{a + ":2-4", a + ":1-10", ""},
	} {
		g, err := ParseGTIDSet(tc.g)
		if err != nil {
			t.Fatal(err)
		}
		o, err := ParseGTIDSet(tc.o)
		if err != nil {
			t.Fatal(err)
		}
		g.Subtract(o)
		if got := g.String(); got != tc.want {
			t.Errorf("%s - %s = %q, want %q", tc.g, tc.o, got, tc.want)
		}
	}
}

package main

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSysbench(t *testing.T) {
	out, err := os.ReadFile("testdata/sysbench-point-select.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseSysbench(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Transactions != 38559 || r.TPS != 7708.71 || r.Errors != 0 || r.P95Line != 0.18 {
		t.Fatalf("parsed %+v", r)
	}
	var n int64
	for _, c := range r.Hist {
		n += c
	}
	if n != r.Transactions {
		t.Fatalf("histogram counts %d events, sysbench %d", n, r.Transactions)
	}
	// sysbench's own 95th percentile comes from the same histogram, rounded to 2 decimals.
	if p95 := percentile(r.Hist, 0.95); math.Abs(p95-r.P95Line) > 0.005 {
		t.Fatalf("p95 from the histogram %v, sysbench says %v", p95, r.P95Line)
	}
	if p50, p99 := percentile(r.Hist, 0.5), percentile(r.Hist, 0.99); !(p50 <= r.P95Line && r.P95Line <= p99) {
		t.Fatalf("p50 %v, p95 %v, p99 %v out of order", p50, r.P95Line, p99)
	}

	if _, err := parseSysbench("FATAL: mysql_drv_query() returned error 1062 (Duplicate entry)\n"); err == nil {
		t.Fatal("an aborted run parsed")
	}
	withErrors := strings.Replace(string(out), "ignored errors:                      0", "ignored errors:                      360", 1)
	if r, _ := parseSysbench(withErrors); r.Errors != 360 {
		t.Fatalf("ignored errors parsed as %d", r.Errors)
	}
}

func TestPercentile(t *testing.T) {
	h := map[float64]int64{1: 50, 2: 45, 3: 4, 10: 1}
	for _, tc := range []struct{ q, want float64 }{{0.5, 1}, {0.51, 2}, {0.95, 2}, {0.99, 3}, {0.999, 10}, {1, 10}} {
		if got := percentile(h, tc.q); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if percentile(map[float64]int64{}, 0.5) != 0 {
		t.Error("empty histogram")
	}
}

func TestRunValidity(t *testing.T) {
	on := counters{On: true, YesTx: 100, NoTx: 3, NoTimes: 1}
	after := func(f func(*counters)) counters { c := on; c.YesTx += 500; f(&c); return c }
	write := cellKey{"semisyncd", "oltp_insert", 16, "semi-sync"}
	read := cellKey{"semisyncd", "oltp_point_select", 16, "semi-sync"}
	async := cellKey{"semisyncd", "oltp_insert", 16, "async"}
	res := sbResult{Transactions: 500, TPS: 100}
	for _, tc := range []struct {
		name string
		r    run
		want string // substring of the reason; "" = valid
	}{
		{"yes_tx rose by the commits", run{Key: write, Result: res, Before: on, After: after(func(*counters) {})}, ""},
		{"yes_tx short", run{Key: write, Result: res, Before: on, After: after(func(c *counters) { c.YesTx -= 1 })}, "yes_tx rose by 499 for 500"},
		{"status OFF at the end", run{Key: write, Result: res, Before: on, After: after(func(c *counters) { c.On = false })}, "not ON"},
		{"sampled OFF", run{Key: write, Result: res, Before: on, After: after(func(*counters) {}), SawOff: true}, "not ON"},
		{"switched OFF and back", run{Key: write, Result: res, Before: on, After: after(func(c *counters) { c.NoTimes++ })}, "switched OFF 1 times"},
		{"unacknowledged commits", run{Key: write, Result: res, Before: on, After: after(func(c *counters) { c.NoTx += 2 })}, "no_tx rose by 2"},
		{"read-only commits nothing", run{Key: read, Result: res, Before: on, After: on}, ""},
		{"read-only still needs ON", run{Key: read, Result: res, Before: on, After: counters{}}, "not ON"},
		{"async ignores semi-sync", run{Key: async, Result: res}, ""},
		{"sysbench failed", run{Key: async, Err: errors.New("sysbench oltp_insert: exit status 1")}, "exit status 1"},
		{"nothing committed", run{Key: async, Result: sbResult{}}, "no transaction"},
	} {
		got := tc.r.invalid()
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: invalid() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAggregateRatioAndReport(t *testing.T) {
	ok := counters{On: true}
	k := func(srv, wl string, th int, mode string) cellKey { return cellKey{srv, wl, th, mode} }
	runs := []run{
		{Key: k("semisyncd", "oltp_insert", 1, "semi-sync"), Result: sbResult{Transactions: 10, TPS: 300, Errors: 1, Hist: map[float64]int64{1: 9, 5: 1}},
			Before: ok, After: counters{On: true, YesTx: 10, TxWaits: 10, TxWaitTime: 5000}, CatchUp: 1500 * time.Millisecond},
		{Key: k("semisyncd", "oltp_insert", 1, "semi-sync"), Result: sbResult{Transactions: 10, TPS: 500, Errors: 2, Hist: map[float64]int64{2: 10}},
			Before: ok, After: counters{On: true, YesTx: 10, TxWaits: 10, TxWaitTime: 15000}, CatchUp: 500 * time.Millisecond},
		// Invalid: left out of TPS, counted in runs.
		{Key: k("semisyncd", "oltp_insert", 1, "semi-sync"), Result: sbResult{Transactions: 10, TPS: 9000}, Before: ok, After: ok, CatchUp: time.Minute},
		{Key: k("mariadb", "oltp_insert", 1, "semi-sync"), Result: sbResult{Transactions: 10, TPS: 200, Hist: map[float64]int64{3: 10}},
			Before: ok, After: counters{On: true, YesTx: 10}},
		{Key: k("mariadb", "oltp_insert", 1, "async"), Err: errors.New("boom")},
		{Key: k("semisyncd", "oltp_insert", 1, "async"), Result: sbResult{Transactions: 10, TPS: 100, Hist: map[float64]int64{1: 10}}},
	}
	cells := aggregate(runs)
	c := cells[k("semisyncd", "oltp_insert", 1, "semi-sync")]
	if c.Runs != 3 || c.Valid != 2 || c.TPS != 400 || c.Errors != 3 || c.avgWait() != 1000 || c.P50 != 2 || c.P99 != 5 || c.CatchUp != time.Second {
		t.Fatalf("cell %+v avgWait %v", c, c.avgWait())
	}
	if r := ratio(c, cells[k("mariadb", "oltp_insert", 1, "semi-sync")]); r != 2 {
		t.Fatalf("ratio %v, want 2", r)
	}
	if r := ratio(cells[k("semisyncd", "oltp_insert", 1, "async")], cells[k("mariadb", "oltp_insert", 1, "async")]); !math.IsNaN(r) {
		t.Fatalf("ratio to an invalid cell %v, want NaN", r)
	}
	m := matrix{Servers: []string{"semisyncd", "mariadb"}, Workloads: []string{"oltp_insert"}, Threads: []int{1}, Modes: []string{"async", "semi-sync"}}
	var b bytes.Buffer
	writeMarkdown(&b, m, cells)
	for _, want := range []string{
		"| semisyncd | oltp_insert | 1 | semi-sync | 400 | 2.00 | 2.00 | 5.00 | 3 | 2.00 | 1000 | 1.00 | 2/3 (yes_tx rose by 0 for 10 committed transactions) |",
		"| mariadb | oltp_insert | 1 | async | invalid | – | – | – | 0 | – | – | – | 0/1 (boom) |",
		"| semisyncd | oltp_insert | 1 | async | 100 | 1.00 | 1.00 | 1.00 | 0 | – | – | 0.00 | 1/1 |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	path := filepath.Join(t.TempDir(), "tps.png")
	if err := writePlot(path, m, cells); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("plot is not a PNG: %v", err)
	}
}

package storage

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkBytesPerRow reports the heap a stored row costs, for common row
// shapes: HeapInuse after a full GC, before and after loading memRows rows
// through SQL, divided by the row count (B/row), and the bytes of live objects alone (live-B/row: the rest is
// space in the heap's spans between them). b.N is ignored beyond
// running each shape once per iteration.
//
//	go test ./storage -run x -bench BytesPerRow -benchtime 1x
func BenchmarkBytesPerRow(b *testing.B) {
	const memRows = 50_000
	pad80 := strings.Repeat("x", 80)
	shapes := []struct {
		name   string
		create string
		row    func(i int) string
	}{
		{"int-pk,int,varchar80", "CREATE TABLE b.t (id INT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(100))",
			func(i int) string { return fmt.Sprintf("(%d,0,'%s')", i, pad80) }},
		{"bigint-pk,int,varchar32", "CREATE TABLE b.t (id BIGINT PRIMARY KEY, k INT, v VARCHAR(32))",
			func(i int) string { return fmt.Sprintf("(%d,%d,'value-%d')", i, i%100, i) }},
		{"bigint-pk,4xint", "CREATE TABLE b.t (id BIGINT PRIMARY KEY, a INT, b INT, c INT, d INT)",
			func(i int) string { return fmt.Sprintf("(%d,%d,%d,%d,%d)", i, i, i*3, i%1000, i%7) }},
		{"sbtest(k-index,char120,char60)", "CREATE TABLE b.t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120), pad CHAR(60), KEY k_1 (k))",
			func(i int) string {
				return fmt.Sprintf("(%d,%d,'%s','%s')", i, i%5000, strings.Repeat("c", 119), strings.Repeat("p", 59))
			}},
		{"no-pk,int,varchar80", "CREATE TABLE b.t (n INT, pad VARCHAR(100))",
			func(i int) string { return fmt.Sprintf("(%d,'%s')", i, pad80) }},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			var perRow, liveRow float64
			for it := 0; it < b.N; it++ {
				bb := newBenchBackend("storage")
				c := bb.conn(1)
				for _, q := range []string{"CREATE DATABASE b", s.create} {
					if err := c.exec(q); err != nil {
						b.Fatal(err)
					}
				}
				before, beforeAlloc := heapInuse()
				for i := 0; i < memRows; i += 1000 {
					vals := make([]string, 0, 1000)
					for j := i; j < i+1000; j++ {
						vals = append(vals, s.row(j))
					}
					if err := c.exec("INSERT INTO b.t VALUES " + strings.Join(vals, ",")); err != nil {
						b.Fatal(err)
					}
				}
				after, afterAlloc := heapInuse()
				runtime.KeepAlive(bb)
				perRow = float64(after-before) / memRows
				liveRow = float64(afterAlloc-beforeAlloc) / memRows
			}
			b.ReportMetric(perRow, "B/row")
			b.ReportMetric(liveRow, "live-B/row")
		})
	}
}

// heapInuse is runtime.MemStats.HeapInuse after two full collections (the
// second frees what the first's finalizers released).
func heapInuse() (inuse, alloc uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.HeapAlloc
}

package storage

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
)

// Benchmarks run the same SQL through GMS on this engine and on GMS's
// upstream memory engine in one run, so their ratio is measured on the same
// machine at the same time:
//
//	go test ./storage -run x -bench . -benchtime 2s
//
// Each reports ops/s; compare storage vs memory per operation and
// connection count.

type benchBackend struct {
	name   string
	engine *sqle.Engine
	newSes func(id uint32) sql.Session
	pid    atomic.Uint64
}

func newBenchBackend(name string) *benchBackend {
	bb := &benchBackend{name: name}
	switch name {
	case "storage":
		e := New(Options{})
		bb.engine = sqle.New(analyzer.NewDefault(e.Provider()), nil)
		bb.newSes = func(id uint32) sql.Session {
			return e.NewSession(sql.NewBaseSessionWithClientServer("bench", sql.Client{User: "root", Address: "localhost"}, id))
		}
	case "memory":
		pro := memory.NewDBProvider()
		bb.engine = sqle.New(analyzer.NewDefault(pro), nil)
		bb.newSes = func(id uint32) sql.Session {
			return memory.NewSession(sql.NewBaseSessionWithClientServer("bench", sql.Client{User: "root", Address: "localhost"}, id), pro)
		}
	}
	return bb
}

type benchConn struct {
	bb   *benchBackend
	sess sql.Session
}

func (bb *benchBackend) conn(id uint32) *benchConn {
	return &benchConn{bb: bb, sess: bb.newSes(id)}
}

func (c *benchConn) exec(q string) error {
	ctx := sql.NewContext(context.Background(), sql.WithSession(c.sess), sql.WithPid(c.bb.pid.Add(1)), sql.WithQuery(q))
	ctx.SetCurrentDatabase("b")
	_, iter, _, err := c.bb.engine.Query(ctx, q)
	if err != nil {
		return err
	}
	_, err = sql.RowIterToRows(ctx, iter)
	return err
}

// setup creates table b.t with n rows (id 1..n).
func (bb *benchBackend) setup(tb testing.TB, n int) {
	c := bb.conn(1)
	for _, q := range []string{"CREATE DATABASE b", "CREATE TABLE b.t (id BIGINT PRIMARY KEY AUTO_INCREMENT, k INT, v VARCHAR(32))"} {
		if err := c.exec(q); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < n; i += 1000 {
		var vals []string
		for j := i; j < i+1000 && j < n; j++ {
			vals = append(vals, fmt.Sprintf("(%d, %d, 'value-%d')", j+1, j%100, j))
		}
		if err := c.exec("INSERT INTO b.t VALUES " + strings.Join(vals, ",")); err != nil {
			tb.Fatal(err)
		}
	}
}

// run spreads b.N statements over conns connections.
func (bb *benchBackend) run(b *testing.B, conns int, stmt func(i int64) string) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := bb.conn(uint32(100 + w))
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := c.exec(stmt(i)); err != nil {
					failed.Store(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

const benchRows = 10000

func BenchmarkEngines(b *testing.B) {
	ops := []struct {
		name string
		rows int
		stmt func(i int64) string
	}{
		{"insert", 0, func(i int64) string { return fmt.Sprintf("INSERT INTO t (k, v) VALUES (%d, 'v')", i%100) }},
		{"pk-select", benchRows, func(i int64) string { return fmt.Sprintf("SELECT v FROM t WHERE id = %d", (i*7919)%benchRows+1) }},
		{"update", benchRows, func(i int64) string { return fmt.Sprintf("UPDATE t SET k = k + 1 WHERE id = %d", (i*7919)%benchRows+1) }},
	}
	for _, op := range ops {
		for _, conns := range []int{1, 16} {
			for _, name := range []string{"storage", "memory"} {
				b.Run(fmt.Sprintf("%s/conns=%d/%s", op.name, conns, name), func(b *testing.B) {
					bb := newBenchBackend(name)
					bb.setup(b, op.rows)
					bb.run(b, conns, op.stmt)
				})
			}
		}
	}
}

// BenchmarkPKLookupScaling: a primary-key lookup costs about the same on
// 1k and 100k rows (an index seek, not a scan).
func BenchmarkPKLookupScaling(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		for _, name := range []string{"storage", "memory"} {
			b.Run(fmt.Sprintf("rows=%d/%s", n, name), func(b *testing.B) {
				bb := newBenchBackend(name)
				bb.setup(b, n)
				bb.run(b, 1, func(i int64) string { return fmt.Sprintf("SELECT v FROM t WHERE id = %d", (i*7919)%int64(n)+1) })
			})
		}
	}
}

// BenchmarkBytesPerRow reports the heap the storage engine holds per row (HeapInuse after
// runtime.GC, less the empty table's, divided by the rows) for a few row shapes, loaded through
// SQL in 1,000-row INSERTs:
//
//	go test ./storage -run x -bench BytesPerRow -benchtime 1x
func BenchmarkBytesPerRow(b *testing.B) {
	const rows = 200_000
	pad80 := strings.Repeat("x", 80)
	shapes := []struct {
		name  string
		table string
		row   func(i int) string
	}{
		{"int-int", "CREATE TABLE b.t (id INT PRIMARY KEY, n INT NOT NULL)",
			func(i int) string { return fmt.Sprintf("(%d,%d)", i, i%1000) }},
		{"int-int-varchar80", "CREATE TABLE b.t (id INT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(100))",
			func(i int) string { return fmt.Sprintf("(%d,0,'%s')", i, pad80) }},
		{"int-int-varchar80+index", "CREATE TABLE b.t (id INT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(100), KEY (n))",
			func(i int) string { return fmt.Sprintf("(%d,%d,'%s')", i, i%1000, pad80) }},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				bb := newBenchBackend("storage")
				c := bb.conn(1)
				for _, q := range []string{"CREATE DATABASE b", s.table} {
					if err := c.exec(q); err != nil {
						b.Fatal(err)
					}
				}
				before := heapInuse()
				for i := 0; i < rows; i += 1000 {
					vals := make([]string, 0, 1000)
					for j := i; j < i+1000; j++ {
						vals = append(vals, s.row(j))
					}
					if err := c.exec("INSERT INTO b.t VALUES " + strings.Join(vals, ",")); err != nil {
						b.Fatal(err)
					}
				}
				after := heapInuse()
				b.ReportMetric(float64(after-before)/rows, "bytes/row")
				runtime.KeepAlive(bb)
			}
		})
	}
}

// heapInuse is runtime.MemStats.HeapInuse after a full collection.
func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

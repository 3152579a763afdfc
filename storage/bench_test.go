package storage

import (
	"context"
	"fmt"
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

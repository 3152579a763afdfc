package integration

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMetricsOverhead: commit throughput of a semi-sync primary (one semisyncd replica)
// with the metrics endpoint off and on. 16 clients insert single-row transactions; reports
// commits per second. Run the two several times, interleaved, on a quiet machine:
//
//	go test ./integration -run x -bench MetricsOverhead -benchtime 3000x -count 3
func BenchmarkMetricsOverhead(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "metrics-off"
		if on {
			name = "metrics-on"
		}
		b.Run(name, func(b *testing.B) { benchMetrics(b, on) })
	}
}

func benchMetrics(b *testing.B, on bool) {
	const clients = 16
	args := []string{"--server-id", "1"}
	if on {
		args = append(args, "--metrics-addr", "127.0.0.1:0")
	}
	primary := StartServer(b, WithArgs(args...))
	replica := StartServer(b, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(b, ""), replica.DB(b, "")
	pdb.SetMaxOpenConns(64)
	pdb.SetMaxIdleConns(64)
	enableSemiSync(b, pdb, rdb)
	rplConnect(b, rdb, primary, "")
	deadline := time.Now().Add(replicationTimeout)
	for semiSyncStatus(b, pdb, "Rpl_semi_sync_source_clients") != "1" {
		if time.Now().After(deadline) {
			b.Fatal("semi-sync not negotiated")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mustExec(b, pdb, "CREATE DATABASE mb")
	mustExec(b, pdb, "CREATE TABLE mb.t (id INT PRIMARY KEY, c INT)")
	var next atomic.Int64
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := pdb.Exec("INSERT INTO mb.t VALUES (?, ?)", i, c); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
	if semiSyncStatus(b, pdb, "Rpl_semi_sync_source_status") != "ON" {
		b.Fatal("semi-sync switched OFF during the run")
	}
}

package integration

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// rplPercentiles reports p50 and p99 of lat as metrics named after what.
func rplPercentiles(b *testing.B, lat []time.Duration, what string) {
	if len(lat) == 0 {
		return
	}
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	p := func(q float64) time.Duration { return sorted[int(q*float64(len(sorted)-1))] }
	b.ReportMetric(float64(p(0.50).Microseconds())/1000, what+"-p50-ms")
	b.ReportMetric(float64(p(0.99).Microseconds())/1000, what+"-p99-ms")
}

// rplPair starts a primary and a replica replicating from it, with both
// semi-sync plugins enabled when semi is true.
func rplPair(b *testing.B, semi bool) (pdb, rdb *sql.DB, replica *Server) {
	b.Helper()
	primary := StartServer(b, WithArgs("--server-id", "1"))
	replica = StartServer(b, WithArgs("--server-id", "2"))
	pdb, rdb = primary.DB(b, ""), replica.DB(b, "")
	pdb.SetMaxOpenConns(64)
	pdb.SetMaxIdleConns(64)
	if semi {
		mustExec(b, pdb, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
		mustExec(b, pdb, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
		mustExec(b, pdb, "SET GLOBAL rpl_semi_sync_source_enabled = 1")
		mustExec(b, rdb, "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'")
		mustExec(b, rdb, "SET GLOBAL rpl_semi_sync_replica_enabled = 1")
	}
	rplConnect(b, rdb, primary, "")
	if semi {
		deadline := time.Now().Add(replicationTimeout)
		for semiSyncStatus(b, rdb, "Rpl_semi_sync_replica_status") != "ON" {
			if time.Now().After(deadline) {
				b.Fatal("semi-sync not negotiated")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return pdb, rdb, replica
}

// rplWaitExecuted waits until the replica executed the primary's GTIDs.
func rplWaitExecuted(b *testing.B, pdb, rdb *sql.DB) {
	b.Helper()
	want := gtidExecuted(b, pdb)
	deadline := time.Now().Add(5 * time.Minute)
	for !caughtUp(b, rdb, want) {
		if time.Now().After(deadline) {
			b.Fatalf("replica did not catch up: %v", rplStatus(b, rdb, ""))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkReplicationLag: 16 clients commit single-row transactions on the
// primary as fast as they can; an observer polls the replica (a 16-row
// progress table) and notes when each commit becomes visible there.
// Reports p50/p99 (milliseconds) of commit-returned → visible-on-replica ("lag", clamped
// at 0: with semi-sync the replica may apply before the client's OK) and of
// statement-sent → visible ("end-to-end"), and the primary's commit rate.
//
//	go test ./integration -run x -bench ReplicationLag -benchtime 4000x
func BenchmarkReplicationLag(b *testing.B) {
	for _, semi := range []bool{false, true} {
		name := "async"
		if semi {
			name = "semisync"
		}
		b.Run(name, func(b *testing.B) { benchLag(b, semi) })
	}
}

func benchLag(b *testing.B, semi bool) {
	const clients = 16
	pdb, rdb, _ := rplPair(b, semi)
	mustExec(b, pdb, "CREATE DATABASE lagb")
	mustExec(b, pdb, "CREATE TABLE lagb.p (client INT PRIMARY KEY, seq INT)")
	for c := 0; c < clients; c++ {
		mustExec(b, pdb, "INSERT INTO lagb.p VALUES (?, 0)", c)
	}
	rplWaitExecuted(b, pdb, rdb)
	per := (b.N + clients - 1) / clients

	type stamp struct{ start, done, seen time.Time }
	stamps := make([][]stamp, clients)
	for c := range stamps {
		stamps[c] = make([]stamp, per+1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	obs, err := rdb.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer obs.Close()
	seen := make([]int, clients)
	observerDone := make(chan error, 1)
	go func() {
		for {
			rows, err := obs.QueryContext(ctx, "SELECT client, seq FROM lagb.p")
			if err != nil {
				observerDone <- err
				return
			}
			now := time.Now()
			all := true
			for rows.Next() {
				var c, s int
				if err := rows.Scan(&c, &s); err != nil {
					rows.Close()
					observerDone <- err
					return
				}
				for ; seen[c] < s; seen[c]++ {
					stamps[c][seen[c]+1].seen = now
				}
				if s < per {
					all = false
				}
			}
			rows.Close()
			if all {
				observerDone <- nil
				return
			}
			// Poll every 200 µs: often enough to resolve sub-millisecond lag,
			// rarely enough not to starve the replica's applier of CPU.
			time.Sleep(200 * time.Microsecond)
		}
	}()

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := pdb.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			for s := 1; s <= per; s++ {
				t0 := time.Now()
				if _, err := conn.ExecContext(ctx, "UPDATE lagb.p SET seq = ? WHERE client = ?", s, c); err != nil {
					errs <- err
					return
				}
				stamps[c][s].start, stamps[c][s].done = t0, time.Now()
			}
		}(c)
	}
	wg.Wait()
	commitElapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if err := <-observerDone; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	var lag, e2e []time.Duration
	for c := range stamps {
		for _, st := range stamps[c][1:] {
			l := st.seen.Sub(st.done)
			if l < 0 {
				l = 0
			}
			lag = append(lag, l)
			e2e = append(e2e, st.seen.Sub(st.start))
		}
	}
	rplPercentiles(b, lag, "lag")
	rplPercentiles(b, e2e, "e2e")
	b.ReportMetric(float64(clients*per)/commitElapsed.Seconds(), "commits/s")
}

// BenchmarkApplierThroughput: the primary commits b.N rows in transactions
// of 1 and of 100 rows while the replica's SQL thread is stopped; once the
// IO thread has them all in the relay log, the SQL thread is started and
// timed until it has applied everything. Reports rows/s and transactions/s.
//
//	go test ./integration -run x -bench ApplierThroughput -benchtime 50000x
func BenchmarkApplierThroughput(b *testing.B) {
	for _, perTx := range []int{1, 100} {
		b.Run(fmt.Sprintf("rows-per-tx=%d", perTx), func(b *testing.B) { benchApplier(b, perTx) })
	}
}

func benchApplier(b *testing.B, perTx int) {
	pdb, rdb, _ := rplPair(b, false)
	mustExec(b, rdb, "STOP REPLICA SQL_THREAD")
	mustExec(b, pdb, "CREATE DATABASE ap")
	mustExec(b, pdb, "CREATE TABLE ap.t (id INT PRIMARY KEY, a INT, b VARCHAR(40), c DOUBLE, KEY (a))")
	txs := (b.N + perTx - 1) / perTx
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tx := range work {
				var sb strings.Builder
				sb.WriteString("INSERT INTO ap.t VALUES ")
				for i := 0; i < perTx; i++ {
					id := tx*perTx + i
					if i > 0 {
						sb.WriteString(", ")
					}
					fmt.Fprintf(&sb, "(%d, %d, 'row %d of the applier benchmark', %d.5)", id, id%97, id, id)
				}
				if _, err := pdb.Exec(sb.String()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for tx := 0; tx < txs; tx++ {
		work <- tx
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	want := gtidExecuted(b, pdb)
	deadline := time.Now().Add(5 * time.Minute)
	for !gtidContains(b, rplStatus(b, rdb, "")["Retrieved_Gtid_Set"], want) {
		if time.Now().After(deadline) {
			b.Fatal("the IO thread did not receive everything")
		}
		time.Sleep(5 * time.Millisecond)
	}

	b.ResetTimer()
	start := time.Now()
	mustExec(b, rdb, "START REPLICA SQL_THREAD")
	rplWaitExecuted(b, pdb, rdb)
	elapsed := time.Since(start)
	b.StopTimer()
	var rows int
	if err := rdb.QueryRow("SELECT COUNT(*) FROM ap.t").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	if rows != txs*perTx {
		b.Fatalf("replica has %d rows, want %d", rows, txs*perTx)
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(txs)/elapsed.Seconds(), "tx/s")
}

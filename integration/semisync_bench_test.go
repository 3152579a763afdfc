package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// semiSyncPrimary installs and enables the source plugin with wait point
// point ("" leaves semi-sync off) and attaches one go-mysql replica that
// acknowledges every flagged event as soon as it is received. It returns
// the replica's syncer (closed at cleanup).
func semiSyncPrimary(tb testing.TB, srv *Server, point string) {
	tb.Helper()
	db := srv.DB(tb, "")
	if point != "" {
		mustExec(tb, db, "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'")
		mustExec(tb, db, "SET GLOBAL rpl_semi_sync_source_timeout = 60000")
		mustExec(tb, db, "SET GLOBAL rpl_semi_sync_source_wait_point = "+point)
		mustExec(tb, db, "SET GLOBAL rpl_semi_sync_source_enabled = ON")
	}
	var file string
	var pos uint32
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string), new(string)); err != nil {
		tb.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Addr)
	pn, _ := strconv.Atoi(port)
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: nextServerID(), Flavor: "mysql", Logger: quietLog, Host: host, Port: uint16(pn), User: "root",
		SemiSyncEnabled: point != "",
	})
	tb.Cleanup(syncer.Close)
	st, err := syncer.StartSync(gmysql.Position{Name: file, Pos: pos})
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			if _, err := st.GetEvent(context.Background()); err != nil {
				return
			}
		}
	}()
	if point != "" {
		deadline := time.Now().Add(10 * time.Second)
		for statusValue(tb, db, "Rpl_semi_sync_source_clients") != "1" {
			if time.Now().After(deadline) {
				tb.Fatal("the go-mysql replica never became a semi-sync client")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func statusValue(tb testing.TB, db *sql.DB, name string) string {
	tb.Helper()
	var n, v string
	if err := db.QueryRow("SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&n, &v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return v
}

// BenchmarkSemiSyncCommit: autocommit INSERTs from 1, 16 and 64 clients,
// async vs AFTER_SYNC vs AFTER_COMMIT, with one go-mysql semi-sync replica
// on loopback. Reports TPS, p50/p99 commit latency and the server's
// Rpl_semi_sync_source_tx_avg_wait_time; checks that every commit was
// acknowledged (yes_tx = commits, status ON).
//
//	go test ./integration -run x -bench SemiSyncCommit -benchtime 3000x
func BenchmarkSemiSyncCommit(b *testing.B) {
	for _, clients := range []int{1, 16, 64} {
		for _, point := range []string{"", "AFTER_SYNC", "AFTER_COMMIT"} {
			name := point
			if name == "" {
				name = "async"
			}
			b.Run(fmt.Sprintf("clients=%d/%s", clients, name), func(b *testing.B) {
				srv := StartServer(b)
				semiSyncPrimary(b, srv, point)
				db := srv.DB(b, "")
				db.SetMaxOpenConns(clients + 2)
				mustExec(b, db, "CREATE DATABASE bench")
				mustExec(b, db, "CREATE TABLE bench.t (id BIGINT PRIMARY KEY AUTO_INCREMENT, v INT)")
				before := "0"
				if point != "" {
					before = statusValue(b, db, "Rpl_semi_sync_source_yes_tx")
				}
				var next atomic.Int64
				var mu sync.Mutex
				lat := make([]time.Duration, 0, b.N)
				var wg sync.WaitGroup
				b.ResetTimer()
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						conn, err := db.Conn(context.Background())
						if err != nil {
							b.Error(err)
							return
						}
						defer conn.Close()
						for next.Add(1) <= int64(b.N) {
							start := time.Now()
							if _, err := conn.ExecContext(context.Background(), "INSERT INTO bench.t (v) VALUES (1)"); err != nil {
								b.Error(err)
								return
							}
							d := time.Since(start)
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "tps")
				reportPercentiles(b, lat, "commit")
				if point != "" {
					yes, _ := strconv.Atoi(statusValue(b, db, "Rpl_semi_sync_source_yes_tx"))
					was, _ := strconv.Atoi(before)
					if yes-was != len(lat) || statusValue(b, db, "Rpl_semi_sync_source_status") != "ON" {
						b.Fatalf("yes_tx rose by %d for %d commits; status %s", yes-was, len(lat), statusValue(b, db, "Rpl_semi_sync_source_status"))
					}
					avg, _ := strconv.Atoi(statusValue(b, db, "Rpl_semi_sync_source_tx_avg_wait_time"))
					b.ReportMetric(float64(avg), "tx_avg_wait_µs")
				}
			})
		}
	}
}

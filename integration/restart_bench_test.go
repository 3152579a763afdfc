package integration

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkRestart measures restart time (exec to the first answered
// query) against history and against data, after a clean stop (the
// shutdown checkpoint: nothing to replay) and after SIGKILL (the newest
// checkpoint plus the binlog after it), and the RSS of the restarted
// server.
//
//	go test ./integration -run x -bench Restart -benchtime 3x
func BenchmarkRestart(b *testing.B) {
	cases := []struct {
		name    string
		rows    int // rows of ~100 bytes
		history int // autocommit updates over 1,000 rows
	}{
		{"history=10k", 1000, 10_000},
		{"history=100k", 1000, 100_000},
		{"rows=100k", 100_000, 0},
		{"rows=1M", 1_000_000, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			srv := StartServer(b, WithDataDir(dir))
			db := srv.DB(b, "")
			loadRows(b, db, c.rows)
			runHistory(b, db, c.history, c.rows)
			for _, how := range []string{"stop", "kill"} {
				var total time.Duration
				var rss int
				for i := 0; i < b.N; i++ {
					if how == "stop" {
						srv.Stop(b)
					} else {
						srv.Kill(b)
					}
					start := time.Now()
					srv = srv.Restart(b)
					var one int
					if err := srv.DB(b, "").QueryRow("SELECT 1").Scan(&one); err != nil {
						b.Fatal(err)
					}
					total += time.Since(start)
					rss = rssKB(srv)
				}
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/restart-after-"+how)
				if how == "stop" {
					b.ReportMetric(float64(rss)/1024, "MB-RSS")
				}
			}
		})
	}
}

// loadRows inserts n rows of about 100 bytes into bench.r in batches.
func loadRows(b *testing.B, db *sql.DB, n int) {
	b.Helper()
	mustExec(b, db, "CREATE DATABASE IF NOT EXISTS bench")
	mustExec(b, db, "CREATE TABLE bench.r (id INT PRIMARY KEY, n INT NOT NULL, pad VARCHAR(100))")
	pad := strings.Repeat("x", 80)
	for i := 0; i < n; i += 1000 {
		var vals []string
		for j := i; j < i+1000 && j < n; j++ {
			vals = append(vals, fmt.Sprintf("(%d,0,'%s')", j, pad))
		}
		mustExec(b, db, "INSERT INTO bench.r VALUES "+strings.Join(vals, ","))
	}
}

// runHistory runs n autocommit updates over the first rows rows.
func runHistory(b *testing.B, db *sql.DB, n, rows int) {
	b.Helper()
	if n == 0 {
		return
	}
	db.SetMaxOpenConns(16)
	var wg sync.WaitGroup
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; i < n; i += 16 {
				if _, err := db.Exec("UPDATE bench.r SET n = n + 1 WHERE id = ?", i%rows); err != nil {
					b.Error(err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
}

// rssKB is the server process's resident set size in KiB.
func rssKB(s *Server) int { return pidRSSKB(s.cmd.Process.Pid) }

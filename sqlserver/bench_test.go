package sqlserver

import (
	gosql "database/sql"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/semisyncd/semisyncd/storage"
)

// benchServer starts a server (Config{}: a temporary data dir with its binlog, sync_binlog = 1,
// so a write's numbers include its fsync) and loads sbtest1 as sysbench does (id INT primary
// key, k INT with a secondary index, c and pad CHAR), with rows rows.
func benchServer(b *testing.B, rows int) (*Server, *gosql.DB) {
	b.Helper()
	logger, _ := logtest.NewNullLogger()
	s, err := New(Config{}, storage.New(storage.Options{}), logrus.NewEntry(logger))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", s.Addr(), "sbtest"
	db, err := gosql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	root, err := gosql.Open("mysql", dsn(s, "root", ""))
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE DATABASE sbtest",
		"CREATE TABLE sbtest.sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))",
	} {
		if _, err := root.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	for i := 1; i <= rows; i += 100 {
		q := "INSERT INTO sbtest.sbtest1 (id, k, c, pad) VALUES "
		for j := i; j < i+100 && j <= rows; j++ {
			if j > i {
				q += ","
			}
			q += fmt.Sprintf("(%d, %d, '%011d-%011d', '%011d')", j, j*7%rows, j, j*3, j*5)
		}
		if _, err := root.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	db.SetMaxIdleConns(1)
	return s, db
}

// processCPU is the CPU time (user and system) this process used so far: client and server
// together, which the machine's other load does not inflate as it does wall-clock ns/op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// withPlanCache runs bench as two sub-benchmarks, plancache=on and plancache=off.
func withPlanCache(b *testing.B, s *Server, bench func(b *testing.B)) {
	for _, on := range []bool{true, false} {
		name := "plancache=on"
		if !on {
			name = "plancache=off"
		}
		b.Run(name, func(b *testing.B) {
			s.plans.disabled.Store(!on)
			defer s.plans.disabled.Store(false)
			start := processCPU()
			bench(b)
			b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkPreparedPointSelect is sysbench oltp_point_select's statement through the wire, as
// a server-side prepared statement executed over and over by one connection; allocs/op
// counts the server's allocations too (it runs in this process).
func BenchmarkPreparedPointSelect(b *testing.B) {
	s, db := benchServer(b, 1000)
	stmt, err := db.Prepare("SELECT c FROM sbtest1 WHERE id=?")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	withPlanCache(b, s, func(b *testing.B) {
		var c string
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := stmt.QueryRow(i%1000 + 1).Scan(&c); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if want := fmt.Sprintf("%011d-%011d", (b.N-1)%1000+1, ((b.N-1)%1000+1)*3); c != want {
			b.Fatalf("last row c = %q, want %q", c, want)
		}
	})
}

// BenchmarkPreparedRangeSum is oltp_read_only's sum range: SUM(k) over 100 ids.
func BenchmarkPreparedRangeSum(b *testing.B) {
	s, db := benchServer(b, 1000)
	stmt, err := db.Prepare("SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	withPlanCache(b, s, func(b *testing.B) {
		var sum int64
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			lo := i%900 + 1
			if err := stmt.QueryRow(lo, lo+99).Scan(&sum); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		lo := (b.N-1)%900 + 1
		var want int64
		for j := lo; j <= lo+99; j++ {
			want += int64(j * 7 % 1000)
		}
		if sum != want {
			b.Fatalf("last sum = %d, want %d", sum, want)
		}
	})
}

// BenchmarkPreparedUpdateByKey is sysbench oltp_write_only's index update (UPDATE sbtest1 SET
// k=k+1 WHERE id=?) through the wire, autocommit, as a server-side prepared statement executed
// over and over by one connection. Writes do not use the plan cache yet, so plancache=on and
// plancache=off both measure GMS's binding and analysis at every execution; the two rows are
// the baseline a write fast path is measured against.
func BenchmarkPreparedUpdateByKey(b *testing.B) {
	s, db := benchServer(b, 1000)
	stmt, err := db.Prepare("UPDATE sbtest1 SET k=k+1 WHERE id=?")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	withPlanCache(b, s, func(b *testing.B) {
		var before int64
		if err := db.QueryRow("SELECT SUM(k) FROM sbtest1").Scan(&before); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res, err := stmt.Exec(i%1000 + 1)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				b.Fatalf("rows affected = %d, %v; want 1", n, err)
			}
		}
		b.StopTimer()
		var after int64
		if err := db.QueryRow("SELECT SUM(k) FROM sbtest1").Scan(&after); err != nil {
			b.Fatal(err)
		}
		if after-before != int64(b.N) {
			b.Fatalf("SUM(k) grew by %d, want %d (one per update)", after-before, b.N)
		}
	})
}

// BenchmarkPreparedUpdateNonIndex is oltp_write_only's non-index update (UPDATE sbtest1 SET
// c=? WHERE id=?), measured as BenchmarkPreparedUpdateByKey.
func BenchmarkPreparedUpdateNonIndex(b *testing.B) {
	s, db := benchServer(b, 1000)
	stmt, err := db.Prepare("UPDATE sbtest1 SET c=? WHERE id=?")
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	seq := 0 // distinct across runs: an UPDATE that changes nothing affects 0 rows
	withPlanCache(b, s, func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			seq++
			res, err := stmt.Exec(fmt.Sprintf("%011d-upd", seq), i%1000+1)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				b.Fatalf("rows affected = %d, %v; want 1", n, err)
			}
		}
		b.StopTimer()
		last := (b.N-1)%1000 + 1
		var c string
		if err := db.QueryRow("SELECT c FROM sbtest1 WHERE id=?", last).Scan(&c); err != nil {
			b.Fatal(err)
		}
		if want := fmt.Sprintf("%011d-upd", seq); c != want {
			b.Fatalf("row %d c = %q, want %q", last, c, want)
		}
	})
}

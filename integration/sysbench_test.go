package integration

import (
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSysbenchVsMariaDB runs the same job on semisyncd and on a stock
// MariaDB 10.11 primary, in one run on one machine: sysbench oltp_insert
// (1 and 16 threads, 10 s each) with a stock MariaDB replica attached by
// semi-sync, async vs AFTER_SYNC vs AFTER_COMMIT. It reports each TPS and
// semisyncd's ratio to MariaDB, and checks that semi-sync counted every
// transaction of the semi-sync runs as acknowledged.
//
//	go test ./integration -run x -bench SysbenchVsMariaDB -benchtime 1x
//
// Needs sysbench and mariadb-server (Debian packages); skips without them.
//
// First result (2 vCPUs, shared machine, load ≈ 4.7 during the run): MariaDB
// was faster — ratios semisyncd/MariaDB async 0.33 (1 thread) and 0.21 (16),
// AFTER_SYNC 0.84 and 0.60, AFTER_COMMIT 1.14 and 0.42. The run is CPU
// bound, and GMS spends more CPU per statement than MariaDB; the lab's
// earlier MariaDB figures (≈1700 TPS at 1 thread) came from a loaded
// machine and are not a fair baseline. Primaries run one after the other,
// so load changes between them skew single runs: repeat before concluding.
func BenchmarkSysbenchVsMariaDB(b *testing.B) {
	if _, err := exec.LookPath("sysbench"); err != nil {
		b.Skip("sysbench not installed (Debian package sysbench)")
	}
	primaries := []struct {
		name  string
		start func(b *testing.B) (host string, port int, exec func(q string) string)
	}{
		{"mariadb", func(b *testing.B) (string, int, func(string) string) {
			p := startMariaDB(b, 1, "log_bin=binlog", "binlog_format=ROW", "sync_binlog=1",
				"innodb_flush_log_at_trx_commit=1", "innodb_buffer_pool_size=256M")
			p.mustQuery(b, "CREATE USER 'bench'@'%'; GRANT ALL ON *.* TO 'bench'@'%'")
			return "127.0.0.1", p.port, func(q string) string { return p.mustQuery(b, q) }
		}},
		{"semisyncd", func(b *testing.B) (string, int, func(string) string) {
			srv := StartServer(b)
			host, port, _ := net.SplitHostPort(srv.Addr)
			pn, _ := strconv.Atoi(port)
			db := srv.DB(b, "")
			mustExec(b, db, "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'")
			mustExec(b, db, "CREATE USER 'bench'@'%'")
			mustExec(b, db, "GRANT ALL ON *.* TO 'bench'@'%'")
			return host, pn, func(q string) string {
				out, err := exec.Command("mariadb", "-h", host, "-P", port, "-uroot", "-B", "-N", "-e", q).CombinedOutput()
				if err != nil {
					b.Fatalf("%s: %v %s", q, err, out)
				}
				return string(out)
			}
		}},
	}
	tps := map[string]float64{}
	for i, pr := range primaries {
		host, port, run := pr.start(b)
		rep := startMariaDB(b, 10+i)
		run("CREATE DATABASE sbtest")
		sb := func(cmd string, threads int) float64 {
			return sysbenchInsert(b, pr.name, host, strconv.Itoa(port), cmd, threads)
		}
		sb("prepare", 1)
		var file string
		var pos int
		fmt.Sscan(run("SHOW MASTER STATUS"), &file, &pos)
		rep.mustQuery(b, "CREATE DATABASE sbtest")
		rep.mustQuery(b, fmt.Sprintf("SET GLOBAL slave_type_conversions = 'ALL_NON_LOSSY,ALL_LOSSY'; SET GLOBAL rpl_semi_sync_slave_enabled = ON; CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, "+
			"MASTER_USER='bench', MASTER_PASSWORD='', MASTER_LOG_FILE='%s', MASTER_LOG_POS=%d; START SLAVE", host, port, file, pos))
		// The replica needs the table; replicate its definition by hand
		// (sysbench prepared it before the replica started).
		rep.mustQuery(b, "CREATE TABLE sbtest.sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, "+
			"c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k)) DEFAULT CHARSET=utf8mb4")
		for _, mode := range []string{"async", "AFTER_SYNC", "AFTER_COMMIT"} {
			if mode == "async" {
				run("SET GLOBAL rpl_semi_sync_master_enabled = OFF")
			} else {
				run("SET GLOBAL rpl_semi_sync_master_timeout = 30000; SET GLOBAL rpl_semi_sync_master_wait_point = " + mode +
					"; SET GLOBAL rpl_semi_sync_master_enabled = ON")
				deadline := time.Now().Add(10 * time.Second)
				for run("SHOW STATUS LIKE 'Rpl_semi_sync_master_status'") != "Rpl_semi_sync_master_status\tON\n" {
					if time.Now().After(deadline) {
						b.Fatalf("%s: semi-sync never came ON with the MariaDB replica", pr.name)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			for _, threads := range []int{1, 16} {
				var yes0 int
				fmt.Sscan(run("SHOW STATUS LIKE 'Rpl_semi_sync_master_yes_tx'")[len("Rpl_semi_sync_master_yes_tx"):], &yes0)
				v := sb("run", threads)
				key := fmt.Sprintf("%s/threads=%d/%s", mode, threads, pr.name)
				tps[key] = v
				b.ReportMetric(v, fmt.Sprintf("tps:%s/%d/%s", mode, threads, pr.name))
				if mode != "async" {
					var yes, no int
					fmt.Sscan(run("SHOW STATUS LIKE 'Rpl_semi_sync_master_yes_tx'")[len("Rpl_semi_sync_master_yes_tx"):], &yes)
					fmt.Sscan(run("SHOW STATUS LIKE 'Rpl_semi_sync_master_no_tx'")[len("Rpl_semi_sync_master_no_tx"):], &no)
					if yes-yes0 < int(v*10*0.95) || no != 0 {
						b.Fatalf("%s %s: yes_tx rose by %d for about %.0f transactions, no_tx %d", pr.name, key, yes-yes0, v*10, no)
					}
				}
			}
		}
	}
	for _, mode := range []string{"async", "AFTER_SYNC", "AFTER_COMMIT"} {
		for _, threads := range []int{1, 16} {
			m := tps[fmt.Sprintf("%s/threads=%d/mariadb", mode, threads)]
			s := tps[fmt.Sprintf("%s/threads=%d/semisyncd", mode, threads)]
			if m > 0 {
				b.Logf("oltp_insert %-12s threads=%-2d semisyncd %8.1f TPS  mariadb %8.1f TPS  ratio %.2f", mode, threads, s, m, s/m)
				b.ReportMetric(s/m, fmt.Sprintf("ratio:%s/%d", mode, threads))
			}
		}
	}
}

// BenchmarkFreshServerStartup: the time an integration test waits for a
// fresh, empty server to accept connections: semisyncd (a new data
// directory, process start to the ready line) against a stock MariaDB
// (mariadb-install-db, then start until it answers). Compare the ns/op of
// the two sub-benchmarks.
//
//	go test ./integration -run x -bench FreshServerStartup -benchtime 5x
func BenchmarkFreshServerStartup(b *testing.B) {
	b.Run("semisyncd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			srv := StartServer(b, WithDataDir(b.TempDir()))
			b.StopTimer()
			srv.Stop(b)
			b.StartTimer()
		}
	})
	b.Run("mariadb", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m := startMariaDB(b, 1)
			b.StopTimer()
			m.cmd.Process.Kill()
			m.cmd.Wait()
			b.StartTimer()
		}
	})
}

// sysbenchInsertTPS matches the transactions-per-second figure of sysbench's report.
var sysbenchInsertTPS = regexp.MustCompile(`transactions:\s+\d+\s+\(([\d.]+) per sec`)

// sysbenchInsert runs sysbench oltp_insert's cmd (prepare or run: one table of 10,000 rows,
// 10 s, at most 90 s in all) against host:port as user bench in database sbtest, and returns
// the TPS it reports (0 when it reports none). A failure fails the benchmark, naming what.
func sysbenchInsert(b *testing.B, what, host, port, cmd string, threads int) float64 {
	b.Helper()
	out, err := exec.Command("timeout", "90", "sysbench", "oltp_insert", "--db-driver=mysql", "--mysql-host="+host,
		"--mysql-port="+port, "--mysql-user=bench", "--mysql-db=sbtest", "--tables=1", "--table-size=10000",
		fmt.Sprintf("--threads=%d", threads), "--time=10", "--events=10000000", "--report-interval=0", cmd).CombinedOutput()
	if err != nil {
		b.Fatalf("sysbench %s on %s: %v\n%s", cmd, what, err, out)
	}
	m := sysbenchInsertTPS.FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

package integration

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/internal/mariadbd"
)

// BenchmarkLoadRSS loads 1M rows of ~100 bytes through SQL (batched multi-row INSERTs) into the
// server binary and reports its RSS after the load and after a clean restart, with MariaDB
// (default InnoDB buffer pool of 128 MiB) loaded the same way side by side when mariadbd is
// installed:
//
//	go test ./integration -run x -bench LoadRSS -benchtime 1x
func BenchmarkLoadRSS(b *testing.B) {
	const rows = 1_000_000
	for i := 0; i < b.N; i++ {
		srv := StartServer(b, WithDataDir(b.TempDir()))
		loadRows(b, srv.DB(b, ""), rows)
		b.ReportMetric(float64(rssKB(srv))/1024, "MB-RSS-loaded")
		srv.Stop(b)
		srv = srv.Restart(b)
		var n int
		if err := srv.DB(b, "").QueryRow("SELECT COUNT(*) FROM bench.r").Scan(&n); err != nil || n != rows {
			b.Fatalf("after restart: %d rows, %v", n, err)
		}
		b.ReportMetric(float64(rssKB(srv))/1024, "MB-RSS-restarted")
		srv.Stop(b)

		loaded, restarted, err := mariadbLoadRSS(b, rows)
		if err != nil {
			b.Logf("MariaDB side: %v", err)
			continue
		}
		b.ReportMetric(float64(loaded)/1024, "MB-RSS-mariadb-loaded")
		b.ReportMetric(float64(restarted)/1024, "MB-RSS-mariadb-restarted")
	}
}

// mariadbLoadRSS loads rows into a fresh MariaDB and returns its VmRSS in KiB after the load
// and after a clean restart (SHUTDOWN, start, a full scan of the table).
func mariadbLoadRSS(b *testing.B, rows int) (loaded, restarted int, err error) {
	if _, err := mariadbd.Installed(); err != nil {
		return 0, 0, err
	}
	dir := b.TempDir()
	port, err := mariadbd.FreePort()
	if err != nil {
		return 0, 0, err
	}
	m, err := mariadbd.Start(dir, port, 1, "innodb_buffer_pool_size=128M")
	if err != nil {
		return 0, 0, err
	}
	defer func() { m.Stop() }()
	if _, err := m.Query("CREATE USER bench@'127.0.0.1' IDENTIFIED BY 'bench'; GRANT ALL ON *.* TO bench@'127.0.0.1'"); err != nil {
		return 0, 0, err
	}
	open := func() (*sql.DB, error) {
		return sql.Open("mysql", fmt.Sprintf("bench:bench@tcp(127.0.0.1:%d)/", port))
	}
	db, err := open()
	if err != nil {
		return 0, 0, err
	}
	loadRows(b, db, rows)
	db.Close()
	loaded = pidRSSKB(m.Cmd.Process.Pid)
	if _, err := m.Query("SHUTDOWN"); err != nil {
		return 0, 0, err
	}
	_ = m.Cmd.Wait()
	bin, _ := mariadbd.Installed()
	m.Cmd = exec.Command(bin, "--defaults-file="+filepath.Join(dir, "my.cnf"))
	if err := m.Cmd.Start(); err != nil {
		return 0, 0, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := m.Query("SELECT COUNT(*) FROM bench.r"); err == nil {
			break
		} else if time.Now().After(deadline) {
			return 0, 0, err
		}
	}
	// A full scan so that the table is in the buffer pool as it is in our heap.
	if _, err := m.Query("SELECT SUM(LENGTH(pad)) FROM bench.r"); err != nil {
		return 0, 0, err
	}
	return loaded, pidRSSKB(m.Cmd.Process.Pid), nil
}

// pidRSSKB is the VmRSS of process pid in KiB, 0 if unknown.
func pidRSSKB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

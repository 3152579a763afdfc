package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	sqltypes "github.com/dolthub/vitess/go/sqltypes"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/internal/gcpolicy"
	"github.com/semisyncd/semisyncd/internal/mariadbd"
	"github.com/semisyncd/semisyncd/storage/changes"
	"github.com/semisyncd/semisyncd/storage/checkpoint"
)

// BenchmarkRestart measures restart time (exec to the first answered
// query) against history and against data, after a clean stop (the
// shutdown checkpoint: nothing to replay) and after SIGKILL (the newest
// checkpoint plus the binlog after it), and the server's RSS after loading
// (at once, and after idlePause without statements: MB-RSS-loaded-idle) and
// after a restart.
//
// History (autocommit single-row updates over 1,000 rows) is written
// offline: the server creates and fills the table and stops, then the
// test appends the transactions with this project's binlog.Writer after
// the shutdown checkpoint, as the server would have (1M transactions
// through SQL take too long). The first start replays all of them
// (ms/first-start-replaying-history) and takes a checkpoint; the data dir
// keeps the whole history in its binlog files, which later starts must
// not read. Rows of ~100 bytes are loaded through SQL in batches of 1,000.
// For 1M rows MariaDB (Debian's mariadbd, when installed; its default
// 128 MiB InnoDB buffer pool) loads the same rows in the same run.
//
//	go test ./integration -run x -bench Restart -benchtime 2x -timeout 60m
func BenchmarkRestart(b *testing.B) {
	cases := []struct {
		name    string
		rows    int // rows of ~100 bytes
		history int // autocommit updates over 1,000 rows
		mariadb bool
	}{
		{"history=10k", 1000, 10_000, false},
		{"history=100k", 1000, 100_000, false},
		{"history=1M", 1000, 1_000_000, false},
		{"rows=100k", 100_000, 0, false},
		{"rows=1M", 1_000_000, 0, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			srv := StartServer(b, WithDataDir(dir))
			db := srv.DB(b, "")
			loadRows(b, db, c.rows)
			b.ReportMetric(float64(rssKB(srv.cmd.Process.Pid))/1024, "MB-RSS-loaded")
			b.ReportMetric(float64(idleRSSKB(srv.cmd.Process.Pid))/1024, "MB-RSS-loaded-idle")
			if c.history > 0 {
				var uuid string
				var serverID uint32
				if err := db.QueryRow("SELECT @@server_uuid, @@server_id").Scan(&uuid, &serverID); err != nil {
					b.Fatal(err)
				}
				srv.Stop(b)
				writeHistory(b, dir, uuid, serverID, c.history, c.rows)
				start := time.Now()
				srv = srv.Restart(b)
				answer(b, srv)
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/first-start-replaying-history")
			}
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
					answer(b, srv)
					total += time.Since(start)
					rss = rssKB(srv.cmd.Process.Pid)
				}
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/restart-after-"+how)
				if how == "stop" {
					b.ReportMetric(float64(rss)/1024, "MB-RSS-restarted")
				}
			}
			if c.mariadb {
				srv.Stop(b)
				benchMariaDB(b, c.rows)
			}
		})
	}
}

// answer waits for the server's first answered query.
func answer(b *testing.B, srv *Server) {
	b.Helper()
	var one int
	if err := srv.DB(b, "").QueryRow("SELECT 1").Scan(&one); err != nil {
		b.Fatal(err)
	}
}

// writeHistory appends n autocommit updates (n = n + 1 on row i % rows of
// bench.r, as loadRows made it) to the binlog in dir after its newest
// checkpoint, through binlog.Writer as the server writes them (sync_binlog
// = 0: the files are synced once at close).
func writeHistory(b *testing.B, dir, uuid string, serverID uint32, n, rows int) {
	b.Helper()
	seqs := checkpoint.List(dir)
	if len(seqs) == 0 {
		b.Fatal("no checkpoint after a clean stop")
	}
	meta, err := checkpoint.Verify(filepath.Join(dir, checkpoint.Name(seqs[0])))
	if err != nil {
		b.Fatal(err)
	}
	executed, err := binlog.ParseGTIDSet(meta.Executed)
	if err != nil {
		b.Fatal(err)
	}
	w, err := binlog.Open(binlog.Config{
		Dir: dir, ServerID: serverID, ServerUUID: uuid, Checksum: true, MaxSize: 1 << 30,
		Start: &binlog.Start{Seq: meta.Seq, Pos: meta.Binlog, Reset: meta.Reset, Executed: executed, Journal: meta.Journal},
	}, func(*binlog.Transaction) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	sch := gsql.Schema{
		{Name: "id", Type: types.Int32, Source: "r", DatabaseSource: "bench", PrimaryKey: true},
		{Name: "n", Type: types.Int32, Source: "r", DatabaseSource: "bench"},
		{Name: "pad", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 100), Source: "r", DatabaseSource: "bench", Nullable: true},
	}
	pad := strings.Repeat("x", 80)
	counts := make([]int32, rows)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		id := i % rows
		before := gsql.Row{int32(id), counts[id], pad}
		counts[id]++
		after := gsql.Row{int32(id), counts[id], pad}
		t, err := w.Append(ctx, &changes.ChangeSet{ConnectionID: 1, Changes: []changes.Change{
			{Kind: changes.RowUpdate, Database: "bench", Table: "r", Schema: sch, Before: before, After: after}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := t.BeforePublish(ctx); err != nil {
			b.Fatal(err)
		}
		t.AfterPublish(ctx)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchMariaDB loads the same rows into MariaDB and reports its RSS after
// loading and after a restart (SIGTERM, then exec to the first answered
// query), and the restart time.
func benchMariaDB(b *testing.B, rows int) {
	if _, err := mariadbd.Installed(); err != nil {
		b.Log(err)
		return
	}
	dir := b.TempDir()
	m, err := mariadbd.Start(dir, freePort(b), 1, "innodb_buffer_pool_size=128M")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { m.Stop() }()
	if _, err := m.Query("CREATE USER bench@'127.0.0.1' IDENTIFIED BY 'bench'; GRANT ALL ON *.* TO bench@'127.0.0.1'"); err != nil {
		b.Fatal(err)
	}
	db := openDB(b, fmt.Sprintf("bench:bench@tcp(127.0.0.1:%d)/", m.Port))
	loadRows(b, db, rows)
	b.ReportMetric(float64(rssKB(m.Cmd.Process.Pid))/1024, "MB-RSS-loaded-mariadb")
	b.ReportMetric(float64(idleRSSKB(m.Cmd.Process.Pid))/1024, "MB-RSS-loaded-idle-mariadb")
	db.Close()
	_ = m.Cmd.Process.Signal(syscall.SIGTERM)
	_ = m.Cmd.Wait()
	start := time.Now()
	m.Cmd = exec.Command(m.Cmd.Path, m.Cmd.Args[1:]...)
	if err := m.Cmd.Start(); err != nil {
		b.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := m.Query("SELECT 1"); err == nil {
			break
		} else if i > 3000 {
			b.Fatalf("mariadbd not answering after restart: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/restart-mariadb")
	if _, err := m.Query("SELECT COUNT(*) FROM bench.r"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rssKB(m.Cmd.Process.Pid))/1024, "MB-RSS-restarted-mariadb")
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

// idlePause is how long a server is left without statements before
// idleRSSKB reads its RSS: five of the GC policy's idle ticks (a checkpoint
// the load started may still be running for the first two).
const idlePause = 5 * gcpolicy.IdleTick

// idleRSSKB is a process's resident set size after idlePause without
// statements (the process, a server, does its own housekeeping meanwhile).
func idleRSSKB(pid int) int {
	time.Sleep(idlePause)
	return rssKB(pid)
}

// rssKB is a process's resident set size.
func rssKB(pid int) int {
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

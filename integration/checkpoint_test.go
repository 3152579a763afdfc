package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logLines returns the server's log lines whose message is msg (quoted or
// not, as the text format writes it).
func logLines(s *Server, msg string) []string {
	var out []string
	for _, line := range strings.Split(s.Logs(), "\n") {
		if strings.Contains(line, "msg="+msg+" ") || strings.Contains(line, `msg="`+msg+`"`) {
			out = append(out, line)
		}
	}
	return out
}

// logField is one key=value of a log line.
func logField(line, key string) string {
	m := regexp.MustCompile(`\b` + key + `=("[^"]*"|\S*)`).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"`)
}

// replayedTransactions is the transaction count of the last "replayed the
// binlog" log line.
func replayedTransactions(t *testing.T, s *Server) int {
	t.Helper()
	lines := logLines(s, "replayed the binlog")
	if len(lines) == 0 {
		t.Fatalf("no \"replayed the binlog\" line in the log:\n%s", s.Logs())
	}
	n, err := strconv.Atoi(logField(lines[len(lines)-1], "transactions"))
	if err != nil {
		t.Fatalf("replayed the binlog: %v", err)
	}
	return n
}

// loadedCheckpoint returns the gtid_executed of the checkpoint the server
// started from (false when it started from none).
func loadedCheckpoint(s *Server) (string, bool) {
	lines := logLines(s, "loaded checkpoint")
	if len(lines) == 0 {
		return "", false
	}
	return logField(lines[len(lines)-1], "gtid_executed"), true
}

// TestCheckpointRoundTrip: a clean shutdown writes a checkpoint; the next
// start loads it and replays nothing, with every kind of object back as it
// was: rows of every type, secondary and unique indexes, a keyless table,
// AUTO_INCREMENT counters, foreign keys, CHECK constraints, views, triggers
// and procedures. A SIGKILL after more commits replays only those.
func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	binlogWorkload(t, db, "w", true)
	wdb := srv.DB(t, "w") // GMS needs a current database for CREATE VIEW w.v (MySQL does not)
	for _, q := range []string{
		"CREATE TABLE w.parent (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, UNIQUE KEY uq_name (name)) COMMENT='parents'",
		"CREATE TABLE w.child (id INT PRIMARY KEY, parent_id INT, qty INT DEFAULT 5, KEY ix_parent (parent_id), CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES w.parent (id) ON DELETE CASCADE, CONSTRAINT ck_qty CHECK (qty >= 0))",
		"CREATE TABLE w.nokey (a INT, b VARCHAR(5))",
		"INSERT INTO w.parent (name) VALUES ('ann'), ('bob'), ('cid')",
		"DELETE FROM w.parent WHERE name = 'cid'",
		"INSERT INTO w.child VALUES (1, 1, 3), (2, 2, DEFAULT), (3, 1, 0)",
		"INSERT INTO w.nokey VALUES (1, 'x'), (1, 'x'), (NULL, NULL)",
		"CREATE VIEW w.v AS SELECT p.name, COUNT(*) AS n FROM w.parent p JOIN w.child c ON c.parent_id = p.id GROUP BY p.name",
		"CREATE TABLE w.audit (msg VARCHAR(50))",
		"CREATE TRIGGER w.tr_child AFTER INSERT ON w.child FOR EACH ROW INSERT INTO w.audit VALUES (CONCAT('child ', NEW.id))",
		"CREATE PROCEDURE w.add_parent(IN n VARCHAR(20)) INSERT INTO w.parent (name) VALUES (n)",
		"CREATE EVENT w.nightly ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 03:00:00' ON COMPLETION PRESERVE DISABLE COMMENT 'later' DO DELETE FROM w.audit",
	} {
		mustExec(t, wdb, q)
	}
	want := dumpTables(t, wdb, "w")
	creates := showCreates(t, wdb, "w")
	if !strings.Contains(creates, "EVENT `nightly`") {
		t.Fatalf("SHOW CREATE EVENT missing from:\n%s", creates)
	}
	gtids := gtidExecuted(t, db)
	srv.Stop(t)

	srv = srv.Restart(t)
	if _, ok := loadedCheckpoint(srv); !ok {
		t.Fatalf("the restart after a clean stop loaded no checkpoint:\n%s", srv.Logs())
	}
	if n := replayedTransactions(t, srv); n != 0 {
		t.Fatalf("the restart after a clean stop replayed %d transactions, want 0", n)
	}
	db = srv.DB(t, "w")
	if got := dumpTables(t, db, "w"); got != want {
		t.Fatalf("after the checkpoint:\n%s\nwant:\n%s", got, want)
	}
	if got := gtidExecuted(t, db); got != gtids {
		t.Fatalf("gtid_executed %q, want %q", got, gtids)
	}
	if got := showCreates(t, db, "w"); got != creates {
		t.Fatalf("SHOW CREATE after the checkpoint:\n%s\nwant:\n%s", got, creates)
	}
	// AUTO_INCREMENT goes on after the last value ever given (3, deleted).
	mustExec(t, db, "CALL w.add_parent('dan')")
	var id int
	if err := db.QueryRow("SELECT id FROM w.parent WHERE name = 'dan'").Scan(&id); err != nil || id != 4 {
		t.Fatalf("AUTO_INCREMENT after the checkpoint gave %d (%v), want 4", id, err)
	}
	if _, err := db.Exec("INSERT INTO w.parent (name) VALUES ('ann')"); mysqlErrorNumber(err) != 1062 {
		t.Fatalf("the unique key after the checkpoint: %v", err)
	}
	if _, err := db.Exec("INSERT INTO w.child VALUES (9, 99, 1)"); mysqlErrorNumber(err) != 1452 {
		t.Fatalf("the foreign key after the checkpoint: %v", err)
	}
	if _, err := db.Exec("INSERT INTO w.child VALUES (9, 1, -1)"); mysqlErrorNumber(err) != 3819 {
		t.Fatalf("the CHECK constraint after the checkpoint: %v", err)
	}
	mustExec(t, db, "INSERT INTO w.child VALUES (10, 4, 1)")
	var audit, viewN int
	if err := db.QueryRow("SELECT COUNT(*) FROM w.audit WHERE msg = 'child 10'").Scan(&audit); err != nil || audit != 1 {
		t.Fatalf("the trigger after the checkpoint: %d, %v", audit, err)
	}
	if err := db.QueryRow("SELECT n FROM w.v WHERE name = 'ann'").Scan(&viewN); err != nil || viewN != 2 {
		t.Fatalf("the view after the checkpoint: %d, %v", viewN, err)
	}
	mustExec(t, db, "DELETE FROM w.parent WHERE id = 4") // cascades to child 10
	want = dumpTables(t, db, "w")
	gtids = gtidExecuted(t, db)

	srv.Kill(t)
	srv = srv.Restart(t)
	// CALL, the INSERT with its trigger, the DELETE with its cascade.
	if n := replayedTransactions(t, srv); n != 3 {
		t.Fatalf("after a SIGKILL the restart replayed %d transactions, want the 3 after the checkpoint", n)
	}
	db = srv.DB(t, "w")
	if got := dumpTables(t, db, "w"); got != want {
		t.Fatalf("after the kill:\n%s\nwant:\n%s", got, want)
	}
	if got := gtidExecuted(t, db); got != gtids {
		t.Fatalf("gtid_executed %q, want %q", got, gtids)
	}
}

// TestRestartReplaysOnlyAfterCheckpoint: 1,000 rows and 100,000 autocommit
// transactions, then SIGKILL: the restart replays exactly the transactions
// after the newest checkpoint (counted from the GTID sets), far fewer than
// the history; a clean restart replays none.
func TestRestartReplaysOnlyAfterCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("100k transactions skipped in -short mode")
	}
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	db.SetMaxOpenConns(16)
	mustExec(t, db, "CREATE DATABASE h")
	mustExec(t, db, "CREATE TABLE h.t (id INT PRIMARY KEY, n INT NOT NULL)")
	var vals []string
	for i := 0; i < 1000; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 0)", i))
	}
	mustExec(t, db, "INSERT INTO h.t VALUES "+strings.Join(vals, ","))
	const total = 100000
	errs := make(chan error, 16)
	for c := 0; c < 16; c++ {
		go func(c int) {
			for i := c; i < total; i += 16 {
				if _, err := db.Exec("UPDATE h.t SET n = n + 1 WHERE id = ?", i%1000); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(c)
	}
	for c := 0; c < 16; c++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var sum int
	if err := db.QueryRow("SELECT SUM(n) FROM h.t").Scan(&sum); err != nil || sum != total {
		t.Fatalf("sum %d (%v), want %d", sum, err, total)
	}
	executed := gtidExecuted(t, db)
	srv.Kill(t)
	srv = srv.Restart(t)
	replayed := replayedTransactions(t, srv)
	ckGTIDs, ok := loadedCheckpoint(srv)
	if !ok {
		t.Fatalf("100k transactions and no checkpoint:\n%s", srv.Logs())
	}
	if after := gtidCount(t, executed) - gtidCount(t, ckGTIDs); replayed != after {
		t.Fatalf("replayed %d transactions; %d came after the checkpoint", replayed, after)
	}
	if replayed >= total/2 {
		t.Fatalf("replayed %d of %d transactions: the checkpoints did not bound recovery", replayed, total)
	}
	db = srv.DB(t, "")
	if err := db.QueryRow("SELECT SUM(n) FROM h.t").Scan(&sum); err != nil || sum != total {
		t.Fatalf("after the kill: sum %d (%v), want %d", sum, err, total)
	}
	srv.Stop(t)
	srv = srv.Restart(t)
	if n := replayedTransactions(t, srv); n != 0 {
		t.Fatalf("a clean restart replayed %d transactions", n)
	}
	t.Logf("after SIGKILL: %d of %d transactions replayed", replayed, total+3)
}

// TestCheckpointKillLoop: 30 SIGKILLs at random moments while writers run
// and checkpoints are taken all the time (semisyncd_checkpoint_interval at
// its minimum): every restart succeeds, loads a whole checkpoint (a torn
// one is never loaded) and has every acknowledged row.
func TestCheckpointKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("kill loop skipped in -short mode")
	}
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE ck")
	mustExec(t, db, "CREATE TABLE ck.t (id INT PRIMARY KEY, pad TEXT)")
	var vals []string
	for i := 0; i < 500; i++ {
		vals = append(vals, fmt.Sprintf("(%d, REPEAT('p', 50))", -1-i))
	}
	mustExec(t, db, "INSERT INTO ck.t VALUES "+strings.Join(vals, ","))
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := map[int]bool{}
	base := 0
	checkpoints := 0
	for round := 0; round < 30; round++ {
		db := srv.DB(t, "")
		db.SetMaxOpenConns(8)
		mustExec(t, db, "SET GLOBAL semisyncd_checkpoint_interval = 4096")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		load := startInserts(ctx, db, "ck.t", 4, 100)
		load.next.Store(int64(base))
		// Kill at a random moment once checkpoints are being written: with
		// the minimum interval the next one is usually under way.
		waitFor(t, 20*time.Second, "a checkpoint written under the load", func() bool { return len(logLines(srv, "checkpoint written")) > 0 })
		time.Sleep(time.Duration(rng.Intn(40)) * time.Millisecond)
		srv.Kill(t)
		cancel()
		load.wg.Wait()
		for id := range load.acked {
			acked[id] = true
		}
		base = int(load.next.Load()) + 1000
		checkpoints += len(logLines(srv, "checkpoint written"))
		srv = srv.Restart(t)
		checkAcked(t, srv.DB(t, ""), "ck.t", acked, fmt.Sprintf("round %d", round))
	}
	if checkpoints < 30 || len(acked) < 30 {
		t.Fatalf("%d checkpoints and %d acknowledged rows in 30 rounds: the loop did not exercise checkpoint writing", checkpoints, len(acked))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "checkpoint.*"))
	t.Logf("%d checkpoints written across the kills; left on disk: %v", checkpoints, left)
}

// TestPurgeDeletesForReal: after PURGE BINARY LOGS TO the current file the
// data directory holds the checkpoints and the current binlog only; after
// RESET MASTER a restart has the same data.
func TestPurgeDeletesForReal(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE pg")
	mustExec(t, db, "CREATE TABLE pg.t (id INT PRIMARY KEY)")
	for i := 0; i < 5; i++ {
		mustExec(t, db, fmt.Sprintf("INSERT INTO pg.t VALUES (%d)", i))
		mustExec(t, db, "FLUSH BINARY LOGS")
	}
	var file string
	var pos int64
	var a, b, c string
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b, &c); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "PURGE BINARY LOGS TO '"+file+"'")
	binlogs, _ := filepath.Glob(filepath.Join(dir, "binlog.0*"))
	ckpts, _ := filepath.Glob(filepath.Join(dir, "checkpoint.0*"))
	if len(binlogs) != 1 || filepath.Base(binlogs[0]) != file || len(ckpts) == 0 || len(ckpts) > 2 {
		t.Fatalf("after PURGE TO %s: binlogs %v, checkpoints %v", file, binlogs, ckpts)
	}
	if _, err := os.Stat(filepath.Join(dir, "binlog-archive")); err == nil {
		t.Fatal("binlog-archive/ exists")
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM pg.t").Scan(&n); err != nil || n != 5 {
		t.Fatalf("rows after the purge: %d, %v", n, err)
	}
	srv.Kill(t)
	srv = srv.Restart(t)
	db = srv.DB(t, "")
	if err := db.QueryRow("SELECT COUNT(*) FROM pg.t").Scan(&n); err != nil || n != 5 {
		t.Fatalf("rows after the purge and a SIGKILL: %d, %v", n, err)
	}

	mustExec(t, db, "INSERT INTO pg.t VALUES (100)")
	mustExec(t, db, "RESET MASTER")
	if got := gtidExecuted(t, db); got != "" {
		t.Fatalf("gtid_executed after RESET MASTER = %q", got)
	}
	mustExec(t, db, "INSERT INTO pg.t VALUES (101)")
	want := dumpTables(t, db, "pg")
	gtids := gtidExecuted(t, db)
	binlogs, _ = filepath.Glob(filepath.Join(dir, "binlog.0*"))
	if len(binlogs) != 1 || filepath.Base(binlogs[0]) != "binlog.000001" {
		t.Fatalf("after RESET MASTER: %v", binlogs)
	}
	for _, how := range []string{"kill", "stop"} {
		if how == "kill" {
			srv.Kill(t)
		} else {
			srv.Stop(t)
		}
		srv = srv.Restart(t)
		db = srv.DB(t, "")
		if got := dumpTables(t, db, "pg"); got != want {
			t.Fatalf("after RESET MASTER and a %s:\n%s\nwant:\n%s", how, got, want)
		}
		if got := gtidExecuted(t, db); got != gtids {
			t.Fatalf("after RESET MASTER and a %s: gtid_executed %q, want %q", how, got, gtids)
		}
	}
}

// TestArchiveMigrated: a data directory of the earlier version, whose
// purged files sit in binlog-archive/ and hold data the binlog no longer
// has, starts with every row, and binlog-archive/ is gone, its data in a
// checkpoint.
func TestArchiveMigrated(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE ar")
	mustExec(t, db, "CREATE TABLE ar.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO ar.t VALUES (1), (2)")
	mustExec(t, db, "FLUSH BINARY LOGS")
	mustExec(t, db, "INSERT INTO ar.t VALUES (3)")
	srv.Kill(t)
	// What the earlier version's PURGE left: the first file moved to the
	// archive, the index without it, and no checkpoint.
	for _, c := range mustGlob(t, filepath.Join(dir, "checkpoint.*")) {
		os.Remove(c)
	}
	files := mustGlob(t, filepath.Join(dir, "binlog.0*"))
	if err := os.MkdirAll(filepath.Join(dir, "binlog-archive"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(files[0], filepath.Join(dir, "binlog-archive", "00000001-"+filepath.Base(files[0]))); err != nil {
		t.Fatal(err)
	}
	var index []string
	for _, f := range files[1:] {
		index = append(index, "./"+filepath.Base(f))
	}
	if err := os.WriteFile(filepath.Join(dir, "binlog.index"), []byte(strings.Join(index, "\n")+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	srv = srv.Restart(t)
	var n int
	if err := srv.DB(t, "").QueryRow("SELECT COUNT(*) FROM ar.t").Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows after the migration: %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "binlog-archive")); err == nil {
		t.Fatal("binlog-archive/ is still there")
	}
	srv.Kill(t)
	srv = srv.Restart(t)
	if err := srv.DB(t, "").QueryRow("SELECT COUNT(*) FROM ar.t").Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows after the migration and a SIGKILL: %d, %v", n, err)
	}
}

// showCreates is SHOW CREATE TABLE / VIEW / TRIGGER / PROCEDURE / EVENT of every
// object of database name, and its collation.
func showCreates(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var b strings.Builder
	var coll string
	if err := db.QueryRow("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&coll); err != nil {
		t.Fatal(err)
	}
	b.WriteString("database collation " + coll + "\n")
	for _, q := range []string{"SHOW FULL TABLES FROM " + name, "SHOW TRIGGERS FROM " + name, "SHOW PROCEDURE STATUS WHERE Db = '" + name + "'", "SHOW EVENTS FROM " + name} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		var objs [][2]string
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasPrefix(q, "SHOW FULL TABLES"):
				kind := "TABLE"
				if vals[1].String == "VIEW" {
					kind = "VIEW"
				}
				objs = append(objs, [2]string{kind, vals[0].String})
			case strings.HasPrefix(q, "SHOW TRIGGERS"):
				objs = append(objs, [2]string{"TRIGGER", vals[0].String})
			case strings.HasPrefix(q, "SHOW EVENTS"):
				objs = append(objs, [2]string{"EVENT", vals[1].String})
			default:
				objs = append(objs, [2]string{"PROCEDURE", vals[1].String})
			}
		}
		rows.Close()
		for _, o := range objs {
			r, err := db.Query(fmt.Sprintf("SHOW CREATE %s `%s`.`%s`", o[0], name, o[1]))
			if err != nil {
				t.Fatalf("SHOW CREATE %s %s: %v", o[0], o[1], err)
			}
			cols, _ := r.Columns()
			for r.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := r.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for _, v := range vals {
					b.WriteString(v.String + "\n")
				}
			}
			r.Close()
		}
	}
	return b.String()
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

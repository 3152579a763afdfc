package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binlogWorkload writes, in database name, a table of every column type
// (JSON only when withJSON), single- and multi-statement transactions,
// updates, deletes and DDL.
func binlogWorkload(t *testing.T, db *sql.DB, name string, withJSON bool) {
	t.Helper()
	var defs, lits []string
	for _, c := range allTypes {
		if c.typ == "JSON" && !withJSON {
			continue
		}
		defs = append(defs, c.name+" "+c.typ+" NULL")
		lits = append(lits, c.literal)
	}
	mustExec(t, db, "CREATE DATABASE "+name)
	mustExec(t, db, fmt.Sprintf("CREATE TABLE %s.t (id INT PRIMARY KEY, %s)", name, strings.Join(defs, ", ")))
	mustExec(t, db, fmt.Sprintf("INSERT INTO %s.t VALUES (1, %s)", name, strings.Join(lits, ", ")))
	mustExec(t, db, fmt.Sprintf("INSERT INTO %s.t (id) VALUES (2)", name))
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf("INSERT INTO %s.t (id, c_int, c_varchar) VALUES (3, 33, 'three')", name),
		fmt.Sprintf("UPDATE %s.t SET c_int = 7, c_varchar = 'seven' WHERE id = 3", name),
		fmt.Sprintf("DELETE FROM %s.t WHERE id = 2", name),
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, fmt.Sprintf("ALTER TABLE %s.t ADD COLUMN extra INT", name))
	mustExec(t, db, fmt.Sprintf("UPDATE %s.t SET extra = id * 10", name))
	mustExec(t, db, fmt.Sprintf("CREATE TABLE %s.u (k VARCHAR(10) PRIMARY KEY, v INT)", name))
	mustExec(t, db, fmt.Sprintf("INSERT INTO %s.u VALUES ('a', 1), ('b', 2), ('c', 3)", name))
	mustExec(t, db, fmt.Sprintf("DELETE FROM %s.u WHERE k = 'b'", name))
}

// dumpTables renders every row of every table of database name.
func dumpTables(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	rows, err := db.Query("SHOW TABLES FROM " + name)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var tn string
		if err := rows.Scan(&tn); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tn)
	}
	rows.Close()
	var b strings.Builder
	for _, tn := range tables {
		fmt.Fprintf(&b, "== %s\n", tn)
		rs, err := db.Query(fmt.Sprintf("SELECT * FROM %s.%s ORDER BY 1", name, tn))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if v == nil {
					fmt.Fprintf(&b, "%s=NULL ", cols[i])
				} else {
					fmt.Fprintf(&b, "%s=%q ", cols[i], string(v))
				}
			}
			b.WriteString("\n")
		}
		rs.Close()
	}
	return b.String()
}

// TestBinlogReplayRestoresData: the binlog is the write-ahead log. After a
// clean stop and after kill -9, a restart on the same data directory has
// exactly the data written, and GTIDs continue.
func TestBinlogReplayRestoresData(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	binlogWorkload(t, db, "w", true)
	want := dumpTables(t, db, "w")
	if !strings.Contains(want, `c_json="{\"a\": [1, 2.5, \"x\", null, true]}"`) || !strings.Contains(want, `c_varchar="seven"`) {
		t.Fatalf("workload did not write what it should:\n%s", want)
	}
	var gtids string
	if err := db.QueryRow("SELECT @@gtid_executed").Scan(&gtids); err != nil || !strings.HasSuffix(gtids, ":1-10") {
		t.Fatalf("gtid_executed = %q, %v; want 10 transactions", gtids, err)
	}

	for _, how := range []string{"stop", "kill"} {
		if how == "stop" {
			srv.Stop(t)
		} else {
			srv.Kill(t)
		}
		srv = srv.Restart(t)
		db = srv.DB(t, "")
		if got := dumpTables(t, db, "w"); got != want {
			t.Fatalf("after %s and restart:\n%s\nwant:\n%s", how, got, want)
		}
	}
	var after string
	if err := db.QueryRow("SELECT @@gtid_executed").Scan(&after); err != nil || after != gtids {
		t.Fatalf("gtid_executed after restarts = %q, want %q (%v)", after, gtids, err)
	}
	mustExec(t, db, "INSERT INTO w.u VALUES ('d', 4)")
	if err := db.QueryRow("SELECT @@gtid_executed").Scan(&after); err != nil || !strings.HasSuffix(after, ":1-11") {
		t.Fatalf("gtid_executed after a new commit = %q, %v", after, err)
	}
}

// TestMariadbBinlogDecodes: Debian's mariadb-binlog reads our files
// without error and decodes the rows to the values written. JSON is left
// out: MariaDB's tool has no decoder for MySQL's binary JSON type (245)
// and stops at it; JSON is checked with go-mysql in TestGoMySQLStreams.
func TestMariadbBinlogDecodes(t *testing.T) {
	tool, err := exec.LookPath("mariadb-binlog")
	if err != nil {
		if tool, err = exec.LookPath("mysqlbinlog"); err != nil {
			t.Skip("mariadb-binlog not installed (Debian package mariadb-client)")
		}
	}
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	binlogWorkload(t, db, "w", false)
	srv.Stop(t)
	files, _ := filepath.Glob(filepath.Join(dir, "binlog.0*"))
	out, err := exec.Command(tool, append([]string{"-vv", "--base64-output=DECODE-ROWS"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", tool, err, out)
	}
	text := string(out)
	for _, bad := range []string{"ERROR", "Error", "not a compiled character set", "Unknown"} {
		if strings.Contains(text, bad) {
			t.Fatalf("output mentions %q:\n%s", bad, text)
		}
	}
	// The first row as mariadb-binlog prints its values.
	want := []string{
		"@1=1", "@2=-128 (128)", "@3=-1 (255)", "@4=-32768 (32768)", "@5=-1 (65535)",
		"@6=-8388608 (8388608)", "@7=-1 (16777215)", "@8=-2147483648 (2147483648)", "@9=-1 (4294967295)",
		"@10=-9223372036854775808 (9223372036854775808)", "@11=-1 (18446744073709551615)", "@12=-12345678.90",
		"@13=1.5", "@14=3.141592653589793116", "@15='2024:02:29'", "@16='-838:59:59.000000'",
		"@17='12:34:56.789000'", "@18='2024-02-29 23:59:59.123456'", "@19=1709208000", "@20=2155",
		"@21='ab'", "@22='héllo ✓ 'q''", `@23='line1\x0aline2'`,
		// mariadb-binlog escapes control bytes and prints the others raw.
		"@24='\\x00\xff\x7f\x80'", `@25='\x01\x02\x03\x04'`, "@26='\\x00\xff'", "@27=2", "@28=b'00000101'", "@29=b'10100101'",
	}
	first := rowBlock(text, "### INSERT INTO `w`.`t`", 0)
	if len(first) != len(want) {
		t.Fatalf("first INSERT has %d values, want %d:\n%s", len(first), len(want), strings.Join(first, "\n"))
	}
	for i := range want {
		if first[i] != want[i] {
			t.Errorf("value %d: got %s, want %s", i+1, first[i], want[i])
		}
	}
	counts := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		for _, k := range []string{"### INSERT INTO", "### UPDATE", "### DELETE FROM"} {
			if strings.HasPrefix(line, k) {
				counts[k]++
			}
		}
	}
	// Inserts: 2 + 1 (tx) + 3 (u); updates: 1 (tx) + 2 (extra); deletes: 1 (tx) + 1 (u).
	if counts["### INSERT INTO"] != 6 || counts["### UPDATE"] != 3 || counts["### DELETE FROM"] != 2 {
		t.Fatalf("row changes decoded: %v", counts)
	}
	if !strings.Contains(text, "ALTER TABLE w.t ADD COLUMN extra INT") {
		t.Fatal("the DDL is not in the decoded log")
	}
}

// rowBlock returns the "@N=value" parts of the n-th block that starts with
// header.
func rowBlock(text, header string, n int) []string {
	var out []string
	seen := -1
	in := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, header) {
			seen++
			in = seen == n
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "###   @") {
			if len(out) > 0 {
				break
			}
			continue
		}
		v := strings.TrimPrefix(line, "###   ")
		if i := strings.Index(v, " /*"); i >= 0 {
			v = v[:i]
		}
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// TestKill9Recovery: 20 times, kill -9 the server in the middle of a
// concurrent load of 3-row transactions and restart it on the same data
// directory: every transaction whose COMMIT returned OK is there, none is
// there in part, and nothing that was never written appears.
func TestKill9Recovery(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE crash")
	mustExec(t, db, "CREATE TABLE crash.t (tx INT, part INT, PRIMARY KEY (tx, part))")
	acked := map[int]bool{}
	next := 0
	for round := 0; round < 20; round++ {
		db := srv.DB(t, "")
		db.SetMaxOpenConns(8)
		type result struct {
			tx int
			ok bool
		}
		results := make(chan result, 1000)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := next
		next += 400
		done := make(chan struct{})
		for w := 0; w < 4; w++ {
			go func(w int) {
				defer func() { done <- struct{}{} }()
				for i := start + w; i < start+400; i += 4 {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						return
					}
					ok := true
					for p := 0; p < 3 && ok; p++ {
						_, err := tx.ExecContext(ctx, "INSERT INTO crash.t VALUES (?, ?)", i, p)
						ok = err == nil
					}
					if !ok {
						tx.Rollback()
						return
					}
					results <- result{i, tx.Commit() == nil}
				}
			}(w)
		}
		// Let some commits land, then kill in the middle of the load.
		deadline := time.Now().Add(5 * time.Second)
		for len(results) < 20 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		srv.Kill(t)
		cancel()
		for w := 0; w < 4; w++ {
			<-done
		}
		close(results)
		for r := range results {
			if r.ok {
				acked[r.tx] = true
			}
		}
		srv = srv.Restart(t)
		check := srv.DB(t, "")
		rows, err := check.Query("SELECT tx, COUNT(*) FROM crash.t GROUP BY tx")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		present := map[int]int{}
		for rows.Next() {
			var tx, n int
			if err := rows.Scan(&tx, &n); err != nil {
				t.Fatal(err)
			}
			present[tx] = n
		}
		rows.Close()
		for tx, n := range present {
			if n != 3 {
				t.Fatalf("round %d: transaction %d has %d of its 3 rows", round, tx, n)
			}
			if tx >= next {
				t.Fatalf("round %d: transaction %d was never written", round, tx)
			}
		}
		for tx := range acked {
			if present[tx] != 3 {
				t.Fatalf("round %d: acknowledged transaction %d lost", round, tx)
			}
		}
	}
	if len(acked) < 20 {
		t.Fatalf("only %d transactions were acknowledged in 20 rounds: the test did not load the server", len(acked))
	}
}

// TestTornBinlogTailTruncated: a half-written event at the end of the
// binlog (a crash mid-write) is cut off at start, logged with file and
// position, and nothing committed is lost.
func TestTornBinlogTailTruncated(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE torn")
	mustExec(t, db, "CREATE TABLE torn.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO torn.t VALUES (1), (2)")
	srv.Kill(t)
	files, _ := filepath.Glob(filepath.Join(dir, "binlog.0*"))
	last := files[len(files)-1]
	before, _ := os.Stat(last)
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The first 12 bytes of an event header: a write cut short.
	f.Write([]byte{0x11, 0x22, 0x33, 0x44, 33, 1, 0, 0, 0, 200, 0, 0})
	f.Close()
	srv = srv.Restart(t)
	srv.WaitForLog(t, "truncating torn binlog tail", 10*time.Second)
	if !strings.Contains(srv.Logs(), filepath.Base(last)) {
		t.Fatalf("the truncation log line does not name the file:\n%s", srv.Logs())
	}
	after, _ := os.Stat(last)
	if after.Size() != before.Size() {
		t.Fatalf("file is %d bytes, want it cut back to %d", after.Size(), before.Size())
	}
	var n int
	if err := srv.DB(t, "").QueryRow("SELECT COUNT(*) FROM torn.t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after recovery = %d, %v", n, err)
	}
}

// TestCreateTableSelectSurvivesRestart: CREATE TABLE … SELECT into keyed
// and keyless tables replays to exactly the same rows (it is logged as a
// CREATE TABLE and the rows, not as the statement).
func TestCreateTableSelectSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	srv := StartServer(t, WithDataDir(dir))
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE c")
	mustExec(t, db, "CREATE TABLE c.t (id INT PRIMARY KEY, v VARCHAR(10))")
	mustExec(t, db, "INSERT INTO c.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	mustExec(t, db, "CREATE TABLE c.keyed (id INT PRIMARY KEY) SELECT id, v FROM c.t")
	mustExec(t, db, "CREATE TABLE c.keyless SELECT v FROM c.t WHERE id > 1")
	want := dumpTables(t, db, "c")
	srv.Kill(t)
	srv = srv.Restart(t)
	if got := dumpTables(t, srv.DB(t, ""), "c"); got != want {
		t.Fatalf("after restart:\n%s\nwant:\n%s", got, want)
	}
}

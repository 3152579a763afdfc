package sqlserver

import (
	"context"
	gosql "database/sql"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// globalStatusMap reads SHOW GLOBAL STATUS.
func globalStatusMap(t *testing.T, db interface {
	QueryContext(context.Context, string, ...any) (*gosql.Rows, error)
}) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SHOW GLOBAL STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		m[n] = v
	}
	return m
}

func statusNum(t *testing.T, m map[string]string, name string) int64 {
	t.Helper()
	v, ok := m[name]
	if !ok {
		t.Fatalf("%s missing from SHOW GLOBAL STATUS", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", name, v, err)
	}
	return n
}

// TestStatusNamesDistinctForExporter: no two SHOW GLOBAL STATUS names map to one Prometheus
// name the way mysqld_exporter derives it (lower case, anything but [a-z0-9_] as "_"); GMS
// lists validate_password.x beside validate_password_x, which made every scrape fail.
func TestStatusNamesDistinctForExporter(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	invalid := regexp.MustCompile(`[^a-z0-9_]`)
	seen := map[string]string{}
	for name := range globalStatusMap(t, db) {
		norm := invalid.ReplaceAllString(strings.ToLower(name), "_")
		if other, dup := seen[norm]; dup {
			t.Errorf("%q and %q are both mysql_global_status_%s", other, name, norm)
		}
		seen[norm] = name
		if strings.HasPrefix(strings.ToLower(name), "validate_password") {
			t.Errorf("%s listed without the validate_password component", name)
		}
	}
	if len(seen) < 100 {
		t.Fatalf("only %d status variables", len(seen))
	}
}

// TestServerStatusMoves: the counters mysqld_exporter graphs move as MySQL's do: Questions and
// Queries by one per statement, Com_* by statement kind (Com_stmt_* for prepared statements),
// Bytes_sent/Bytes_received with traffic, Connections/Threads_created per connection,
// Aborted_clients for a client gone without COM_QUIT, Max_used_connections with the peak, a
// session's own Queries and bytes, Aborted_connects for a failed login,
// Uptime with the clock and Uptime_since_flush_status from FLUSH STATUS.
func TestServerStatusMoves(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := globalStatusMap(t, conn)

	stmts := []string{
		"CREATE DATABASE st",
		"CREATE TABLE st.t (id INT PRIMARY KEY)",
		"INSERT INTO st.t VALUES (1)",
		"INSERT INTO st.t VALUES (2)",
		"SELECT * FROM st.t",
		"BEGIN",
		"UPDATE st.t SET id = 3 WHERE id = 2",
		"COMMIT",
		"SET @a = 1",
		"SHOW TABLES FROM st",
		"DELETE FROM st.t WHERE id = 3",
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// A prepared statement: COM_STMT_PREPARE and COM_STMT_EXECUTE.
	var n int
	if err := conn.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM st.t WHERE id > ?", 0).Scan(&n); err != nil || n != 1 {
		t.Fatalf("prepared select: %d, %v", n, err)
	}
	after := globalStatusMap(t, conn)
	delta := func(name string) int64 { return statusNum(t, after, name) - statusNum(t, before, name) }

	// The statements, the prepared SELECT's execution, and the first SHOW STATUS.
	wantQuestions := int64(len(stmts) + 2)
	if got := delta("Questions"); got != wantQuestions {
		t.Errorf("Questions rose by %d, want %d", got, wantQuestions)
	}
	if got := delta("Queries"); got < wantQuestions {
		t.Errorf("Queries rose by %d, want ≥ %d", got, wantQuestions)
	}
	for name, want := range map[string]int64{
		"Com_create_db": 1, "Com_create_table": 1, "Com_insert": 2, "Com_select": 2, "Com_begin": 1,
		"Com_update": 1, "Com_commit": 1, "Com_set_option": 1, "Com_show_tables": 1, "Com_delete": 1,
		"Com_show_status": 1, "Com_stmt_prepare": 1, "Com_stmt_execute": 1,
	} {
		if got := delta(name); got != want {
			t.Errorf("%s rose by %d, want %d", name, got, want)
		}
	}
	if delta("Bytes_received") <= 0 || delta("Bytes_sent") <= 0 {
		t.Errorf("Bytes_received +%d, Bytes_sent +%d: want both to grow", delta("Bytes_received"), delta("Bytes_sent"))
	}

	// A second client that vanishes without COM_QUIT: Connections, Threads_created and
	// Aborted_clients rise; Max_used_connections saw two at once.
	c, err := client.Connect(s.Addr(), "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(); err != nil {
		t.Fatal(err)
	}
	_ = c.Conn.Conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	var last map[string]string
	for {
		last = globalStatusMap(t, conn)
		if statusNum(t, last, "Aborted_clients") > statusNum(t, after, "Aborted_clients") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Aborted_clients stayed %s after a client left without COM_QUIT", last["Aborted_clients"])
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := statusNum(t, last, "Connections") - statusNum(t, after, "Connections"); got != 1 {
		t.Errorf("Connections rose by %d, want 1", got)
	}
	if got := statusNum(t, last, "Threads_created") - statusNum(t, after, "Threads_created"); got != 1 {
		t.Errorf("Threads_created rose by %d, want 1", got)
	}
	if got := statusNum(t, last, "Max_used_connections"); got < 2 {
		t.Errorf("Max_used_connections = %d, want ≥ 2", got)
	}
	if _, err := time.Parse(time.DateTime, last["Max_used_connections_time"]); err != nil {
		t.Errorf("Max_used_connections_time %q: %v", last["Max_used_connections_time"], err)
	}

	// Session scope: a fresh connection's own Queries and bytes (its handshake included).
	other := open(t, dsn(s, "root", ""))
	oc, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	sess := map[string]string{}
	rows, err := oc.QueryContext(t.Context(), "SHOW SESSION STATUS WHERE Variable_name IN ('Queries', 'Bytes_sent', 'Bytes_received')")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		sess[n] = v
	}
	rows.Close()
	if sess["Queries"] != "1" || statusNum(t, sess, "Bytes_received") <= 0 || statusNum(t, sess, "Bytes_sent") <= 0 {
		t.Errorf("a fresh connection's session status: %v, want Queries 1 and its handshake's bytes", sess)
	}
	if statusNum(t, sess, "Bytes_received") >= statusNum(t, after, "Bytes_received") {
		t.Errorf("session Bytes_received %s not below the global %s", sess["Bytes_received"], after["Bytes_received"])
	}
	oc.Close()

	// A failed login is an aborted connect.
	bad := open(t, dsn(s, "root", "wrong"))
	if err := bad.Ping(); errNumber(err) != 1045 {
		t.Fatalf("login with a wrong password: %v, want 1045", err)
	}
	if got := statusNum(t, globalStatusMap(t, conn), "Aborted_connects") - statusNum(t, last, "Aborted_connects"); got != 1 {
		t.Errorf("Aborted_connects rose by %d after a failed login, want 1", got)
	}

	// Uptime counts from the start; FLUSH STATUS restarts Uptime_since_flush_status.
	s.status.started.Add(-int64(90 * time.Second))
	up := globalStatusMap(t, conn)
	if statusNum(t, up, "Uptime") < 90 || statusNum(t, up, "Uptime_since_flush_status") < 90 {
		t.Errorf("Uptime %s, Uptime_since_flush_status %s: want ≥ 90 s after 90 s", up["Uptime"], up["Uptime_since_flush_status"])
	}
	if _, err := conn.ExecContext(t.Context(), "FLUSH STATUS"); err != nil {
		t.Fatal(err)
	}
	up = globalStatusMap(t, conn)
	if statusNum(t, up, "Uptime") < 90 || statusNum(t, up, "Uptime_since_flush_status") >= 90 {
		t.Errorf("after FLUSH STATUS: Uptime %s, Uptime_since_flush_status %s", up["Uptime"], up["Uptime_since_flush_status"])
	}
	// FLUSH STATUS sets Max_used_connections to the connections open now (MySQL's
	// refresh_status), and a new connection raises it again at once.
	if up["Max_used_connections"] != up["Threads_connected"] {
		t.Errorf("after FLUSH STATUS: Max_used_connections %s, Threads_connected %s: want equal", up["Max_used_connections"], up["Threads_connected"])
	}
	extra, err := client.Connect(s.Addr(), "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if got, want := statusNum(t, globalStatusMap(t, conn), "Max_used_connections"), statusNum(t, up, "Threads_connected")+1; got != want {
		t.Errorf("Max_used_connections %d after one more connection, want %d", got, want)
	}
}

func TestIsDiagnostic(t *testing.T) {
	for q, want := range map[string]bool{
		"SHOW WARNINGS":                   true,
		"  /* c */ show\n errors limit 1": true,
		"-- x\nSHOW COUNT(*) WARNINGS":    true,
		"get diagnostics @n = NUMBER":     true,
		"GET CURRENT DIAGNOSTICS":         true,
		"SHOW TABLES":                     false,
		"SELECT 1":                        false,
		"set @a = 1":                      false,
		"":                                false,
		"   ":                             false,
		"/* only a comment */":            false,
	} {
		if got := isDiagnostic(q); got != want {
			t.Errorf("isDiagnostic(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestComNames(t *testing.T) {
	for _, c := range []struct {
		stmt string
		want []string
	}{
		{"select 1", []string{"Com_select"}},
		{"  /* hint */ (SELECT 1)", []string{"Com_select"}},
		{"-- note\nINSERT INTO t VALUES (1)", []string{"Com_insert"}},
		{"insert into t select * from u", []string{"Com_insert_select"}},
		{"REPLACE INTO t VALUES (1)", []string{"Com_replace"}},
		{"start transaction", []string{"Com_begin"}},
		{"ROLLBACK TO SAVEPOINT a", []string{"Com_rollback_to_savepoint"}},
		{"ROLLBACK", []string{"Com_rollback"}},
		{"CREATE TEMPORARY TABLE t (a INT)", []string{"Com_create_table"}},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", []string{"Com_create_view"}},
		{"create unique index i on t (a)", []string{"Com_create_index"}},
		{"DROP SCHEMA s", []string{"Com_drop_db"}},
		{"ALTER TABLE t ADD COLUMN b INT", []string{"Com_alter_table"}},
		{"SHOW GLOBAL STATUS LIKE 'x'", []string{"Com_show_status"}},
		{"SHOW FULL PROCESSLIST", []string{"Com_show_processlist"}},
		{"SHOW CREATE TABLE t", []string{"Com_show_create_table"}},
		{"SHOW REPLICA STATUS", []string{"Com_show_replica_status", "Com_show_slave_status"}},
		{"SHOW SLAVE STATUS", []string{"Com_show_replica_status", "Com_show_slave_status"}},
		{"SHOW SLAVE HOSTS", []string{"Com_show_replicas", "Com_show_slave_hosts"}},
		{"SHOW MASTER STATUS", []string{"Com_show_master_status"}},
		{"SHOW BINARY LOGS", []string{"Com_show_binlogs"}},
		{"START REPLICA", []string{"Com_replica_start", "Com_slave_start"}},
		{"STOP SLAVE", []string{"Com_replica_stop", "Com_slave_stop"}},
		{"CHANGE REPLICATION SOURCE TO SOURCE_HOST='h'", []string{"Com_change_master", "Com_change_replication_source"}},
		{"INSTALL PLUGIN p SONAME 'p.so'", []string{"Com_install_plugin"}},
		{"SET GLOBAL x = 1", []string{"Com_set_option"}},
		{"", []string{"Com_empty_query"}},
		{" ; ", []string{"Com_empty_query"}},
		{"FROBNICATE", nil},
		{"Replace\tinto t\nSelect 1", []string{"Com_replace_select"}},
		{"SELECT c FROM sbtest1 WHERE id=?", []string{"Com_select"}},
		{"start\ntransaction read only", []string{"Com_begin"}},
		{"(((select 1)))", []string{"Com_select"}},
	} {
		if got := comNames(c.stmt); !reflect.DeepEqual(got, c.want) {
			t.Errorf("comNames(%q) = %v, want %v", c.stmt, got, c.want)
		}
	}
}

package integration

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const exporterBinary = "prometheus-mysqld-exporter"

// exporter is a running mysqld_exporter pointed at one server.
type exporter struct {
	url  string
	logs *bytes.Buffer
}

// startExporter runs the real mysqld_exporter (Debian's
// prometheus-mysqld-exporter) against s on a free port, with its default
// collectors and the process list one, and waits until it answers.
func startExporter(t *testing.T, s *Server) *exporter {
	t.Helper()
	path, err := exec.LookPath(exporterBinary)
	if err != nil {
		t.Skip("mysqld_exporter not installed (Debian package prometheus-mysqld-exporter)")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, "--web.listen-address="+addr, "--config.my-cnf=/nonexistent", "--collect.info_schema.processlist")
	cmd.Env = []string{"DATA_SOURCE_NAME=root:@(" + s.Addr + ")/"}
	e := &exporter{url: "http://" + addr + "/metrics", logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", exporterBinary, err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("mysqld_exporter not answering: %v\n%s", err, e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape fetches /metrics, requires HTTP 200 and no error line in the
// exporter's log, and returns the parsed families.
func (e *exporter) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(e.url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mysqld_exporter answered HTTP %d:\n%s\nlog:\n%s", resp.StatusCode, body, e.logs)
	}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "level=error") {
			t.Fatalf("mysqld_exporter logged an error: %s", line)
		}
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// gaugeValue is the value of a family's only (unlabelled) sample.
func gaugeValue(t *testing.T, fams map[string]*dto.MetricFamily, name string) (float64, bool) {
	t.Helper()
	f, ok := fams[name]
	if !ok || len(f.Metric) == 0 {
		return 0, false
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	}
	return 0, false
}

// showStatus returns SHOW GLOBAL STATUS LIKE pattern as a map.
func showStatus(t *testing.T, db *sql.DB, pattern string) map[string]string {
	t.Helper()
	rows, err := db.Query("SHOW GLOBAL STATUS LIKE '" + pattern + "'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		out[n] = v
	}
	return out
}

// TestMysqldExporterScrapes: the real mysqld_exporter scrapes a semi-sync
// primary and its replica with HTTP 200 and no error in its log; mysql_up
// is 1; every mysql_global_status_rpl_semi_sync_* value equals SHOW
// STATUS; the replica's mysql_slave_status_* series are there; the
// server's own counters (Questions, Bytes_sent, Com_insert) moved; the
// process list collector sees the dump thread in MySQL's state.
func TestMysqldExporterScrapes(t *testing.T) {
	if _, err := exec.LookPath(exporterBinary); err != nil {
		t.Skip("mysqld_exporter not installed (Debian package prometheus-mysqld-exporter)")
	}
	primary := StartServer(t, WithArgs("--server-id", "1"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	semiSyncPair(t, primary, pdb, rdb)
	mustExec(t, pdb, "CREATE DATABASE x")
	mustExec(t, pdb, "CREATE TABLE x.t (id INT PRIMARY KEY, v VARCHAR(20))")
	for i := 0; i < 20; i++ {
		mustExec(t, pdb, fmt.Sprintf("INSERT INTO x.t VALUES (%d, 'v%d')", i, i))
	}
	waitCaughtUp(t, pdb, rdb, replica)
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_yes_tx"); got != "22" {
		t.Fatalf("Rpl_semi_sync_source_yes_tx = %s, want 22", got)
	}
	if got := semiSyncStatus(t, pdb, "Rpl_semi_sync_source_status"); got != "ON" {
		t.Fatalf("Rpl_semi_sync_source_status = %s", got)
	}

	for _, c := range []struct {
		name string
		srv  *Server
		db   *sql.DB
	}{{"primary", primary, pdb}, {"replica", replica, rdb}} {
		t.Run(c.name, func(t *testing.T) {
			e := startExporter(t, c.srv)
			fams := e.scrape(t)
			fams = e.scrape(t) // a second scrape must work as well as the first
			if v, ok := gaugeValue(t, fams, "mysql_up"); !ok || v != 1 {
				t.Fatalf("mysql_up = %v (present %v)", v, ok)
			}
			// The counters do not move while nothing writes, so the scrape and
			// SHOW STATUS see the same values.
			want := showStatus(t, c.db, "Rpl_semi_sync%")
			if len(want) == 0 {
				t.Fatal("SHOW STATUS has no Rpl_semi_sync variables")
			}
			for name, v := range want {
				metric := "mysql_global_status_" + strings.ToLower(name)
				got, ok := gaugeValue(t, fams, metric)
				if !ok {
					t.Errorf("%s missing from the scrape", metric)
					continue
				}
				wantV, err := strconv.ParseFloat(v, 64)
				if v == "ON" {
					wantV, err = 1, nil
				} else if v == "OFF" {
					wantV, err = 0, nil
				}
				if err != nil || got != wantV {
					t.Errorf("%s = %v, SHOW STATUS %s = %q", metric, got, name, v)
				}
			}
			if _, ok := gaugeValue(t, fams, "mysql_global_status_uptime"); !ok {
				t.Error("mysql_global_status_uptime missing")
			}
			for _, name := range []string{"mysql_global_status_questions", "mysql_global_status_bytes_sent", "mysql_global_status_bytes_received"} {
				if v, ok := gaugeValue(t, fams, name); !ok || v <= 0 {
					t.Errorf("%s = %v (present %v), want > 0", name, v, ok)
				}
			}
			if c.name == "primary" {
				// The process list collector sees the dump thread in MySQL's words.
				dump := false
				for _, m := range fams["mysql_info_schema_processlist_threads"].GetMetric() {
					l := map[string]string{}
					for _, p := range m.GetLabel() {
						l[p.GetName()] = p.GetValue()
					}
					if l["command"] == "binlog_dump" && l["state"] == "source_has_sent_all_binlog_to_replica_waiting_for_more_updates" && m.GetGauge().GetValue() == 1 {
						dump = true
					}
				}
				if !dump {
					t.Errorf("no idle binlog_dump thread in mysql_info_schema_processlist_threads: %v", fams["mysql_info_schema_processlist_threads"])
				}
				f := fams["mysql_global_status_commands_total"]
				found := false
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "command" && l.GetValue() == "insert" {
							found = true
							if m.GetCounter().GetValue() < 20 {
								t.Errorf("commands_total{command=insert} = %v, want ≥ 20", m.GetCounter().GetValue())
							}
						}
					}
				}
				if !found {
					t.Error("mysql_global_status_commands_total{command=insert} missing")
				}
				return
			}
			var slave []string
			for name := range fams {
				if strings.HasPrefix(name, "mysql_slave_status_") {
					slave = append(slave, name)
				}
			}
			for _, name := range []string{"mysql_slave_status_slave_io_running", "mysql_slave_status_slave_sql_running", "mysql_slave_status_seconds_behind_master"} {
				if _, ok := fams[name]; !ok {
					t.Errorf("%s missing; mysql_slave_status_* present: %v", name, slave)
				}
			}
			if v, _ := gaugeValue(t, fams, "mysql_slave_status_slave_io_running"); v != 1 {
				t.Errorf("mysql_slave_status_slave_io_running = %v, want 1", v)
			}
		})
	}
}

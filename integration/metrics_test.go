package integration

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsURL returns the /metrics URL of a server started with --metrics-addr, from its log.
func metricsURL(t *testing.T, s *Server) string {
	t.Helper()
	s.WaitForLog(t, "metrics endpoint listening", 10*time.Second)
	for _, line := range strings.Split(s.Logs(), "\n") {
		if f := logFields(line); strings.Contains(line, "metrics endpoint listening") && f["addr"] != "" {
			return "http://" + f["addr"] + "/metrics"
		}
	}
	t.Fatalf("no metrics address in the log:\n%s", s.Logs())
	return ""
}

// scrapeMetrics fetches and parses /metrics with Prometheus' text parser.
func scrapeMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered HTTP %d: %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return fams
}

func histogramCount(fams map[string]*dto.MetricFamily, name, label, value string) (uint64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		match := label == ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				match = true
			}
		}
		if match && m.GetHistogram() != nil {
			return m.GetHistogram().GetSampleCount(), true
		}
	}
	return 0, false
}

// TestMetricsEndpoint: --metrics-addr serves /metrics that Prometheus' text parser reads; the
// commit wait histogram's count equals Rpl_semi_sync_source_tx_waits; commit latency counts
// every commit; the replica's ACK latency, its lag gauges and the binlog bytes are there.
func TestMetricsEndpoint(t *testing.T) {
	primary := StartServer(t, WithArgs("--server-id", "1", "--metrics-addr", "127.0.0.1:0"))
	replica := StartServer(t, WithArgs("--server-id", "2"))
	pdb, rdb := primary.DB(t, ""), replica.DB(t, "")
	url := metricsURL(t, primary)
	enableSemiSync(t, pdb, rdb)
	rplConnect(t, rdb, primary, "")
	waitStatus(t, pdb, "Rpl_semi_sync_source_clients", "1")
	yes := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx")
	mustExec(t, pdb, "CREATE DATABASE m")
	mustExec(t, pdb, "CREATE TABLE m.t (id INT PRIMARY KEY)")
	for i := 0; i < 30; i++ {
		mustExec(t, pdb, "INSERT INTO m.t VALUES (?)", i)
	}
	if got := statusInt(t, pdb, "Rpl_semi_sync_source_yes_tx"); got != yes+32 || globalStatus(t, pdb, "Rpl_semi_sync_source_status") != "ON" {
		t.Fatalf("yes_tx %d, want %d; status %s", got, yes+32, globalStatus(t, pdb, "Rpl_semi_sync_source_status"))
	}
	waitCaughtUp(t, pdb, rdb, replica)

	fams := scrapeMetrics(t, url)
	txWaits := statusInt(t, pdb, "Rpl_semi_sync_source_tx_waits")
	if n, ok := histogramCount(fams, "mysql_semi_sync_source_commit_wait_seconds", "", ""); !ok || n != uint64(txWaits) || n == 0 {
		t.Errorf("commit wait histogram count %d (present %v), Rpl_semi_sync_source_tx_waits %d", n, ok, txWaits)
	}
	if n, ok := histogramCount(fams, "mysql_commit_latency_seconds", "", ""); !ok || n < 32 {
		t.Errorf("commit latency histogram count %d (present %v), want ≥ 32 commits", n, ok)
	}
	if n, ok := histogramCount(fams, "mysql_semi_sync_replica_ack_latency_seconds", "server_id", "2"); !ok || n == 0 {
		t.Errorf("ACK latency of server_id 2: count %d (present %v)", n, ok)
	}
	for _, name := range []string{"mysql_semi_sync_replica_unacked_events", "mysql_semi_sync_replica_unacked_bytes", "mysql_semi_sync_replica_connected", "mysql_binlog_appended_bytes_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if f := fams["mysql_binlog_appended_bytes_total"]; f == nil || len(f.Metric) == 0 || f.Metric[0].GetCounter().GetValue() <= 0 {
		t.Errorf("mysql_binlog_appended_bytes_total: %v", f)
	}
	// The binlog's group-commit counters (sync_binlog = 1: every commit is made durable by an
	// fsync, and a group never holds more commits than were appended).
	counter := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.Metric) == 0 {
			t.Errorf("%s missing", name)
			return 0
		}
		return f.Metric[0].GetCounter().GetValue()
	}
	commits, fsyncs, grouped := counter("mysql_binlog_commits_total"), counter("mysql_binlog_fsyncs_total"), counter("mysql_binlog_group_commits_total")
	if commits < 32 || fsyncs < 1 || grouped < 32 || grouped > commits || fsyncs > grouped {
		t.Errorf("binlog commits %v, fsyncs %v, group commits %v after 32 commits", commits, fsyncs, grouped)
	}
}

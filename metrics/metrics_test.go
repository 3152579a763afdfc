package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/plugins/semisync"
)

func TestExporterCounts(t *testing.T) {
	e := New(func() []semisync.ReplicaState {
		return []semisync.ReplicaState{{ServerID: 7, SemiSync: true, Connected: true, UnackedEvents: 3, UnackedBytes: 120, Reconnects: 2}}
	}, func() binlog.Stats { return binlog.Stats{Commits: 9, Fsyncs: 2, GroupCommits: 8, MaxGroup: 5} })
	p := func(f string, n uint64) binlog.Position { return binlog.Position{File: f, Pos: n} }
	e.Appended(p("binlog.000001", 200))
	e.Appended(p("binlog.000001", 350))
	e.AfterCommit(context.Background(), p("binlog.000001", 200))
	e.AfterCommit(context.Background(), p("binlog.000001", 350))
	e.AfterCommit(context.Background(), p("binlog.000001", 999)) // never appended: not counted
	e.Appended(p("binlog.000002", 104))
	e.ObserveCommitWait(3 * time.Millisecond)
	e.ObserveAckLatency(7, time.Millisecond)
	fams, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				got[f.GetName()] = float64(m.GetHistogram().GetSampleCount())
			case m.GetCounter() != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	for name, want := range map[string]float64{
		"mysql_commit_latency_seconds":                2,
		"mysql_semi_sync_source_commit_wait_seconds":  1,
		"mysql_semi_sync_replica_ack_latency_seconds": 1,
		"mysql_binlog_appended_bytes_total":           196 + 150 + 100,
		"mysql_semi_sync_replica_unacked_events":      3,
		"mysql_semi_sync_replica_unacked_bytes":       120,
		"mysql_semi_sync_replica_connected":           1,
		"mysql_semi_sync_replica_reconnects_total":    2,
		"mysql_binlog_commits_total":                  9,
		"mysql_binlog_fsyncs_total":                   2,
		"mysql_binlog_group_commits_total":            8,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

// BenchmarkCommitPath: the metrics work one commit adds on its path (append time, commit
// latency, commit wait, one ACK latency), to compare with a commit's own time (hundreds of µs
// with a semi-sync replica, BenchmarkMetricsOverhead in integration/).
func BenchmarkCommitPath(b *testing.B) {
	e := New(nil, nil)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		n := uint64(0)
		for pb.Next() {
			n++
			pos := binlog.Position{File: "binlog.000001", Pos: n}
			e.Appended(pos)
			e.ObserveCommitWait(time.Millisecond)
			e.ObserveAckLatency(2, time.Millisecond)
			e.AfterCommit(ctx, pos)
		}
	})
}

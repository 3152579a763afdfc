// Package metrics is semisyncd's optional Prometheus endpoint (--metrics-addr): what SHOW
// STATUS cannot say, named in mysqld_exporter's style so the series sit beside its own.
//
//	mysql_semi_sync_source_commit_wait_seconds            histogram: each commit's wait for an ACK,
//	                                                      observed exactly when
//	                                                      Rpl_semi_sync_source_tx_waits counts one
//	mysql_commit_latency_seconds                          histogram: from a commit's binlog append
//	                                                      to the end of its commit (fsync, semi-sync
//	                                                      wait and publication included)
//	mysql_semi_sync_replica_ack_latency_seconds{server_id} histogram: from sending an ACK-requested
//	                                                      event to the ACK covering it
//	mysql_semi_sync_replica_unacked_events{server_id}     gauge: events sent, not yet ACKed (lag)
//	mysql_semi_sync_replica_unacked_bytes{server_id}      gauge: bytes sent, not yet ACKed (lag)
//	mysql_semi_sync_replica_connected{server_id}          gauge: 1 while its dump runs
//	mysql_semi_sync_replica_reconnects_total{server_id}   counter: dumps after the first
//	mysql_binlog_appended_bytes_total                     counter: binlog bytes commits appended
//	mysql_binlog_commits_total                            counter: transactions appended to the binlog
//	mysql_binlog_fsyncs_total                             counter: binlog fsyncs that covered commits
//	mysql_binlog_group_commits_total                      counter: commits those fsyncs made durable
//	                                                      (÷ fsyncs: the mean group-commit size)
//
// Cost: with the endpoint off nothing here runs. With it on, a commit takes one mutex twice
// (its append time, then its latency) and the histograms are lock-free.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/plugins/semisync"
	"github.com/sirupsen/logrus"
)

// waitBuckets covers a commit wait or an ACK round trip: 50 µs to 30 s.
var waitBuckets = prometheus.ExponentialBucketsRange(50e-6, 30, 24)

// Exporter collects the metrics and serves them.
type Exporter struct {
	reg           *prometheus.Registry
	commitWait    prometheus.Histogram
	commitLatency prometheus.Histogram
	ackLatency    *prometheus.HistogramVec
	appended      prometheus.Counter
	replicas      func() []semisync.ReplicaState
	binlogStats   func() binlog.Stats

	mu      sync.Mutex
	started map[binlog.Position]time.Time // commits appended, not yet finished
	last    binlog.Position               // the last append's end

	srv *http.Server
	l   net.Listener
}

var _ binlog.Observer = (*Exporter)(nil)

// maxInFlight bounds the commits remembered between append and finish (a commit whose
// binlog fsync failed never finishes).
const maxInFlight = 1 << 16

// New returns an exporter; replicas (may be nil) lists the per-replica state at each scrape,
// and binlogStats (may be nil) reads the binlog writer's counters at each scrape.
func New(replicas func() []semisync.ReplicaState, binlogStats func() binlog.Stats) *Exporter {
	e := &Exporter{
		reg: prometheus.NewRegistry(),
		commitWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mysql_semi_sync_source_commit_wait_seconds",
			Help:    "Time each commit waited for a semi-sync ACK; counted as Rpl_semi_sync_source_tx_waits is.",
			Buckets: waitBuckets,
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mysql_commit_latency_seconds",
			Help:    "Time from a commit's binlog append to the end of its commit (fsync, semi-sync wait, publication).",
			Buckets: waitBuckets,
		}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mysql_semi_sync_replica_ack_latency_seconds",
			Help:    "Time from sending an ACK-requested event to a replica to its ACK covering it.",
			Buckets: waitBuckets,
		}, []string{"server_id"}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mysql_binlog_appended_bytes_total",
			Help: "Binlog bytes appended by commits (by position: a new file's header and format events are counted with its first commit).",
		}),
		replicas:    replicas,
		binlogStats: binlogStats,
		started:     map[binlog.Position]time.Time{},
	}
	e.reg.MustRegister(e.commitWait, e.commitLatency, e.ackLatency, e.appended, replicaCollector{e}, binlogCollector{e})
	return e
}

// ObserveCommitWait records a commit's semi-sync wait (semisync.Source's tx wait observer).
func (e *Exporter) ObserveCommitWait(d time.Duration) { e.commitWait.Observe(d.Seconds()) }

// ObserveAckLatency records a replica's ACK latency (semisync.Source's ACK latency observer).
func (e *Exporter) ObserveAckLatency(serverID uint32, d time.Duration) {
	e.ackLatency.WithLabelValues(strconv.FormatUint(uint64(serverID), 10)).Observe(d.Seconds())
}

// Appended implements binlog.Observer: the commit's start and its bytes.
func (e *Exporter) Appended(end binlog.Position) {
	now := time.Now()
	e.mu.Lock()
	switch {
	case e.last.File != end.File:
		if end.Pos > binlog.FileHeaderLen {
			e.appended.Add(float64(end.Pos - binlog.FileHeaderLen))
		}
	case end.Pos > e.last.Pos:
		e.appended.Add(float64(end.Pos - e.last.Pos))
	}
	e.last = end
	if len(e.started) >= maxInFlight {
		clear(e.started)
	}
	e.started[end] = now
	e.mu.Unlock()
}

// AfterSync implements binlog.Observer.
func (e *Exporter) AfterSync(context.Context, binlog.Position) {}

// AfterCommit implements binlog.Observer: the commit is done (observers run in order, so the
// semi-sync source's AFTER_COMMIT wait, registered first, is included).
func (e *Exporter) AfterCommit(_ context.Context, end binlog.Position) {
	now := time.Now()
	e.mu.Lock()
	t, ok := e.started[end]
	delete(e.started, end)
	e.mu.Unlock()
	if ok {
		e.commitLatency.Observe(now.Sub(t).Seconds())
	}
}

// binlogCollector reads the binlog writer's commit and fsync counters at each scrape.
type binlogCollector struct{ e *Exporter }

var (
	binlogCommitsDesc = prometheus.NewDesc("mysql_binlog_commits_total",
		"Transactions appended to the binlog.", nil, nil)
	binlogFsyncsDesc = prometheus.NewDesc("mysql_binlog_fsyncs_total",
		"Binlog fsyncs that covered commits.", nil, nil)
	binlogGroupCommitsDesc = prometheus.NewDesc("mysql_binlog_group_commits_total",
		"Commits made durable by those fsyncs, each counted once (divided by the fsyncs: the mean group-commit size).", nil, nil)
)

func (binlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- binlogCommitsDesc
	ch <- binlogFsyncsDesc
	ch <- binlogGroupCommitsDesc
}

func (c binlogCollector) Collect(ch chan<- prometheus.Metric) {
	if c.e.binlogStats == nil {
		return
	}
	st := c.e.binlogStats()
	ch <- prometheus.MustNewConstMetric(binlogCommitsDesc, prometheus.CounterValue, float64(st.Commits))
	ch <- prometheus.MustNewConstMetric(binlogFsyncsDesc, prometheus.CounterValue, float64(st.Fsyncs))
	ch <- prometheus.MustNewConstMetric(binlogGroupCommitsDesc, prometheus.CounterValue, float64(st.GroupCommits))
}

// replicaCollector reads the per-replica gauges at each scrape.
type replicaCollector struct{ e *Exporter }

var (
	descUnackedEvents = prometheus.NewDesc("mysql_semi_sync_replica_unacked_events",
		"Events sent to a semi-sync replica and not yet acknowledged.", []string{"server_id"}, nil)
	descUnackedBytes = prometheus.NewDesc("mysql_semi_sync_replica_unacked_bytes",
		"Binlog bytes sent to a semi-sync replica and not yet acknowledged.", []string{"server_id"}, nil)
	descConnected = prometheus.NewDesc("mysql_semi_sync_replica_connected",
		"1 while the replica's dump runs.", []string{"server_id", "semi_sync"}, nil)
	descReconnects = prometheus.NewDesc("mysql_semi_sync_replica_reconnects_total",
		"Dumps the replica started after its first.", []string{"server_id"}, nil)
)

func (c replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descUnackedEvents
	ch <- descUnackedBytes
	ch <- descConnected
	ch <- descReconnects
}

func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	if c.e.replicas == nil {
		return
	}
	for _, r := range c.e.replicas() {
		id := strconv.FormatUint(uint64(r.ServerID), 10)
		connected := 0.0
		if r.Connected {
			connected = 1
		}
		semi := "no"
		if r.SemiSync {
			semi = "yes"
		}
		ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, connected, id, semi)
		ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(r.Reconnects), id)
		if r.SemiSync && r.Connected {
			ch <- prometheus.MustNewConstMetric(descUnackedEvents, prometheus.GaugeValue, float64(r.UnackedEvents), id)
			ch <- prometheus.MustNewConstMetric(descUnackedBytes, prometheus.GaugeValue, float64(r.UnackedBytes), id)
		}
	}
}

// Listen binds addr and serves /metrics in the background. Errors: the address cannot be
// bound.
func (e *Exporter) Listen(addr string, log *logrus.Entry) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	e.l = l
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := e.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.WithError(err).Error("metrics endpoint stopped")
		}
	}()
	return nil
}

// Addr is the address Listen bound (the real port when it was 0).
func (e *Exporter) Addr() string {
	if e.l == nil {
		return ""
	}
	return e.l.Addr().String()
}

// Close stops the endpoint, waiting at most a second for scrapes in progress.
func (e *Exporter) Close() error {
	if e.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return e.srv.Shutdown(ctx)
}

package semisynctest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure Start. The zero value is a primary without replicas and MySQL's defaults.
type Options struct {
	// Replicas is how many semi-sync replicas to start.
	Replicas int
	// WaitPoint is rpl_semi_sync_source_wait_point: "AFTER_SYNC" (the default) or
	// "AFTER_COMMIT".
	WaitPoint string
	// Timeout is rpl_semi_sync_source_timeout, rounded down to milliseconds: how long a commit
	// waits for ACKs before semi-sync turns OFF. Zero means MySQL's default, 10s.
	Timeout time.Duration
	// WaitForReplicaCount is rpl_semi_sync_source_wait_for_replica_count: how many replicas
	// must ACK a commit. Zero means MySQL's default, 1.
	WaitForReplicaCount int
	// Args are more "semisyncd serve" flags for every server, e.g. "--log-level=debug".
	Args []string
	// Binary is the semisyncd executable of this cluster's servers. Empty: the kit's (Binary).
	Binary string
	// DirectLink makes replicas connect to the primary itself instead of through the kit's
	// proxy, as a deployment's replicas do (benchmarks: the proxy's copying costs CPU and
	// latency on every event and ACK). Delay, Cut, Restore and Failover then fail the test.
	DirectLink bool
}

// Cluster is a primary and its semi-sync replicas, each its own semisyncd process on 127.0.0.1.
// Primary and Replicas change with Failover. Use it from the test's goroutine; the servers
// themselves may be used from any goroutine through their DSNs.
type Cluster struct {
	// Primary is the server applications write to.
	Primary *Server
	// Replicas are the servers replicating from Primary (running or stopped), in start order.
	Replicas []*Server

	t      testing.TB
	opts   Options
	bin    string
	all    []*Server
	closed bool
}

// Start starts a primary and opts.Replicas semi-sync replicas, in parallel, each in its own
// temporary data directory on a free port, with both semi-sync plugins loaded everywhere, the
// source side enabled on the primary and the replica side on the replicas, which run with
// super_read_only ON and replicate with SOURCE_AUTO_POSITION=1 through the kit's proxy (see
// Server.Delay). It returns once every replica is connected, the primary's
// Rpl_semi_sync_source_status is ON and its Rpl_semi_sync_source_clients equals the number of
// replicas. When the test ends every server is stopped; if it failed, each server's log tail
// is printed. Any failure to start fails the test (t.Fatal).
//
// The binary comes from Binary (SEMISYNCD_BIN, or built once per machine).
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Replicas < 0 {
		t.Fatalf("semisynctest: Options.Replicas = %d", opts.Replicas)
	}
	if opts.WaitPoint == "" {
		opts.WaitPoint = "AFTER_SYNC"
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.WaitForReplicaCount == 0 {
		opts.WaitForReplicaCount = 1
	}
	bin := opts.Binary
	if bin == "" {
		var note string
		var err error
		bin, note, err = Binary()
		if err != nil {
			t.Fatal(err)
		}
		logBinary(t, note)
	}
	c := &Cluster{t: t, opts: opts, bin: bin}
	c.Primary = c.newServer("primary", 1, rolePrimary)
	for i := 0; i < opts.Replicas; i++ {
		r := c.newServer("replica "+strconv.Itoa(i+1), uint32(i+2), roleReplica)
		c.Replicas = append(c.Replicas, r)
	}
	// After t.TempDir: cleanups run last-in first-out, so the servers stop before their data
	// directories are removed.
	t.Cleanup(c.cleanup)
	if err := c.parallel(c.all, func(s *Server) error { return s.launch() }); err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	if err := c.parallel(c.Replicas, func(s *Server) error { return s.pointAt(c.Primary) }); err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	if err := c.waitPrimaryReady(); err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	return c
}

var loggedNotes sync.Map

// logBinary logs where the binary came from, once per process and note.
func logBinary(t testing.TB, note string) {
	if _, seen := loggedNotes.LoadOrStore(note, true); !seen {
		t.Log(note)
	}
}

func (c *Cluster) newServer(name string, id uint32, r role) *Server {
	s := &Server{Name: name, ServerID: id, DataDir: c.t.TempDir(), c: c, role: r, logs: &logTail{}}
	c.all = append(c.all, s)
	return s
}

// parallel runs f on each server at once and returns the first error.
func (c *Cluster) parallel(servers []*Server, f func(*Server) error) error {
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(s); err != nil {
				errs[i] = fmt.Errorf("%s: %w", s.Name, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// runningReplicas returns the replicas whose process runs.
func (c *Cluster) runningReplicas() []*Server {
	var out []*Server
	for _, r := range c.Replicas {
		if r.Running() {
			out = append(out, r)
		}
	}
	return out
}

// waitPrimaryReady waits until every running replica is connected with semi-sync, the
// primary's semi-sync status is ON and its clients count is the number of running replicas
// whose link is not cut.
func (c *Cluster) waitPrimaryReady() error {
	want := 0
	for _, r := range c.runningReplicas() {
		if !r.isCut() {
			want++
		}
	}
	var last map[string]string
	err := poll(waitTimeout, func() (bool, error) {
		st, err := c.Primary.statusVars("Rpl_semi_sync_source_%")
		if err != nil {
			return false, err
		}
		last = st
		return st["Rpl_semi_sync_source_status"] == "ON" && st["Rpl_semi_sync_source_clients"] == strconv.Itoa(want), nil
	})
	if err != nil {
		detail := ""
		for _, r := range c.runningReplicas() {
			if st, qerr := r.queryMap("SHOW REPLICA STATUS"); qerr == nil && st != nil {
				detail += fmt.Sprintf("; %s: Replica_IO_Running=%s Last_IO_Error=%q", r.Name, st["Replica_IO_Running"], st["Last_IO_Error"])
			}
		}
		return fmt.Errorf("%s: semi-sync not ready with %d replicas: %v (Rpl_semi_sync_source_status=%s, Rpl_semi_sync_source_clients=%s)%s",
			c.Primary.Name, want, err, last["Rpl_semi_sync_source_status"], last["Rpl_semi_sync_source_clients"], detail)
	}
	return nil
}

// Close stops every server (SIGTERM, then SIGKILL for one that overstays) and the replication
// links. t.Cleanup does it at the end of the test; call it to stop earlier.
func (c *Cluster) Close() {
	if c.closed {
		return
	}
	c.closed = true
	errs := make([]error, len(c.all))
	var wg sync.WaitGroup
	for i, s := range c.all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.stop(sigterm)
		}()
	}
	wg.Wait()
	for _, s := range c.all {
		if s.proxy != nil {
			s.proxy.close()
		}
	}
	for i, err := range errs {
		if err != nil {
			c.t.Errorf("semisynctest: %s: %v", c.all[i].Name, err)
		}
	}
}

func (c *Cluster) cleanup() {
	c.Close()
	if c.t.Failed() {
		for _, s := range c.all {
			c.t.Logf("semisynctest: last lines of %s (%s):\n%s", s.Name, s.Addr(), s.Logs())
		}
	}
}

// WaitReplicated returns once every running replica whose link is not cut has applied every
// transaction the primary has committed (its @@gtid_executed contains the primary's, and the
// replica's SQL thread is idle, so the rows are visible to readers). After 30s it fails the
// test naming, per replica, the GTIDs it lacks and its replication errors.
func (c *Cluster) WaitReplicated(t testing.TB) {
	t.Helper()
	want, err := c.Primary.gtidExecuted()
	if err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	var targets []*Server
	for _, r := range c.runningReplicas() {
		if !r.isCut() {
			targets = append(targets, r)
		}
	}
	err = c.parallel(targets, func(r *Server) error {
		var missing string
		var st map[string]string
		perr := poll(waitTimeout, func() (bool, error) {
			have, err := r.gtidExecuted()
			if err != nil {
				return false, err
			}
			missing, err = gtidSubtract(want, have)
			if err != nil || missing != "" {
				return false, err
			}
			st, err = r.queryMap("SHOW REPLICA STATUS")
			if err != nil {
				return false, err
			}
			return st == nil || st["Replica_SQL_Running"] != "Yes" ||
				st["Replica_SQL_Running_State"] == "Replica has read all relay log; waiting for more updates", nil
		})
		if perr != nil {
			if st == nil {
				st, _ = r.queryMap("SHOW REPLICA STATUS")
			}
			return fmt.Errorf("has not applied %q of the primary's %q: %v (Replica_IO_Running=%q Last_IO_Error=%q Replica_SQL_Running=%q Last_SQL_Error=%q)",
				missing, want, perr, st["Replica_IO_Running"], st["Last_IO_Error"], st["Replica_SQL_Running"], st["Last_SQL_Error"])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("semisynctest: WaitReplicated: %v", err)
	}
}

// Status is the primary's semi-sync state: its Rpl_semi_sync_source_* status variables, as
// MySQL 8.0 defines them.
type Status struct {
	// On is Rpl_semi_sync_source_status: commits wait for ACKs.
	On bool
	// Clients is Rpl_semi_sync_source_clients: connected semi-sync replicas.
	Clients int64
	// YesTx and NoTx count commits acknowledged by replicas and commits that were not
	// (semi-sync OFF or timed out).
	YesTx, NoTx int64
	// NoTimes counts the switches from ON to OFF.
	NoTimes int64
	// TxWaits, TxWaitTime (µs) and TxAvgWaitTime (µs): commits' waits for ACKs.
	TxWaits, TxWaitTime, TxAvgWaitTime int64
	// NetWaits, NetWaitTime and NetAvgWaitTime: the network waits (MySQL 8.0 reports 0).
	NetWaits, NetWaitTime, NetAvgWaitTime int64
	// WaitSessions is the number of sessions waiting for an ACK now.
	WaitSessions int64
	// WaitPosBacktraverse and TimefuncFailures are MySQL's counters of the same names.
	WaitPosBacktraverse, TimefuncFailures int64
	// Raw holds every Rpl_semi_sync_source_* row as SHOW STATUS printed it.
	Raw map[string]string
}

// Status returns the primary's semi-sync counters; a failed query fails the test.
func (c *Cluster) Status(t testing.TB) Status {
	t.Helper()
	raw, err := c.Primary.statusVars("Rpl_semi_sync_source_%")
	if err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	if len(raw) == 0 {
		t.Fatalf("semisynctest: %s has no Rpl_semi_sync_source_* status variables", c.Primary.Name)
	}
	st := Status{On: raw["Rpl_semi_sync_source_status"] == "ON", Raw: raw}
	for name, field := range map[string]*int64{
		"clients": &st.Clients, "yes_tx": &st.YesTx, "no_tx": &st.NoTx, "no_times": &st.NoTimes,
		"tx_waits": &st.TxWaits, "tx_wait_time": &st.TxWaitTime, "tx_avg_wait_time": &st.TxAvgWaitTime,
		"net_waits": &st.NetWaits, "net_wait_time": &st.NetWaitTime, "net_avg_wait_time": &st.NetAvgWaitTime,
		"wait_sessions": &st.WaitSessions, "wait_pos_backtraverse": &st.WaitPosBacktraverse,
		"timefunc_failures": &st.TimefuncFailures,
	} {
		v, ok := raw["Rpl_semi_sync_source_"+name]
		if !ok {
			t.Fatalf("semisynctest: %s: no Rpl_semi_sync_source_%s", c.Primary.Name, name)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("semisynctest: Rpl_semi_sync_source_%s = %q: %v", name, v, err)
		}
		*field = n
	}
	return st
}

// ErrantGTIDError is why a former primary cannot rejoin: it has transactions the new primary
// does not (committed after every replica stopped receiving, e.g. while semi-sync was OFF).
// MySQL's source refuses such a replica with error 1236.
type ErrantGTIDError struct {
	// Server is the former primary, left running stand-alone with super_read_only ON.
	Server *Server
	// GTIDs are the errant transactions: the former primary's @@gtid_executed minus the new
	// primary's.
	GTIDs string
}

func (e *ErrantGTIDError) Error() string {
	return fmt.Sprintf("semisynctest: %s cannot rejoin as a replica: the replica has more GTIDs than the source has (MySQL error 1236); errant GTIDs: %s", e.Server.Name, e.GTIDs)
}

// Failover replaces the primary by the replica that has received the most, as an operator
// would after the primary died:
//  1. the old primary is stopped if it still runs (SIGTERM), so nothing writes to it;
//  2. every running replica stops its IO thread and applies what it received;
//  3. the one whose @@gtid_executed contains every other's is promoted: replication reset,
//     read_only and super_read_only cleared, semi-sync source enabled;
//  4. the other replicas (running or stopped) are repointed at it with SOURCE_AUTO_POSITION=1
//     and semi-sync.
//
// It returns the new primary once its semi-sync status is ON with every running replica
// connected. The old primary leaves the cluster; its Start rejoins it as a replica (see
// Server.Start). Failover fails the test when no replica runs or when the replicas have
// diverged (none contains all the others' transactions).
func (c *Cluster) Failover(t testing.TB) *Server {
	t.Helper()
	if c.opts.DirectLink {
		t.Fatalf("semisynctest: Failover needs the kit's replication links (Options.DirectLink is set)")
	}
	old := c.Primary
	if err := old.stop(sigterm); err != nil {
		t.Fatalf("semisynctest: Failover: stopping %s: %v", old.Name, err)
	}
	candidates := c.runningReplicas()
	if len(candidates) == 0 {
		t.Fatalf("semisynctest: Failover: no running replica to promote")
	}
	sets := make([]string, len(candidates))
	err := c.parallel(candidates, func(r *Server) error {
		if err := r.exec("STOP REPLICA IO_THREAD"); err != nil {
			return err
		}
		i := indexOf(candidates, r)
		return poll(waitTimeout, func() (bool, error) {
			st, err := r.queryMap("SHOW REPLICA STATUS")
			if err != nil || st == nil {
				return false, err
			}
			if st["Replica_SQL_Running"] != "Yes" {
				return false, fmt.Errorf("SQL thread stopped: %s", st["Last_SQL_Error"])
			}
			missing, err := gtidSubtract(st["Retrieved_Gtid_Set"], st["Executed_Gtid_Set"])
			if err != nil || missing != "" {
				return false, err
			}
			sets[i], err = r.gtidExecuted()
			return err == nil, err
		})
	})
	if err != nil {
		t.Fatalf("semisynctest: Failover: %v", err)
	}
	best := -1
	for i := range candidates {
		superset := true
		for j := range candidates {
			missing, err := gtidSubtract(sets[j], sets[i])
			if err != nil {
				t.Fatalf("semisynctest: Failover: %v", err)
			}
			if missing != "" {
				superset = false
				break
			}
		}
		if superset {
			best = i
			break
		}
	}
	if best < 0 {
		var lines []string
		for i, r := range candidates {
			lines = append(lines, fmt.Sprintf("%s: %s", r.Name, sets[i]))
		}
		t.Fatalf("semisynctest: Failover: the replicas have diverged, none has every other's transactions:\n%s", strings.Join(lines, "\n"))
	}
	np := candidates[best]
	if err := np.exec(
		"STOP REPLICA",
		"RESET REPLICA ALL",
		"SET GLOBAL read_only = OFF", // clears super_read_only too
		"SET GLOBAL rpl_semi_sync_replica_enabled = OFF",
		"SET GLOBAL rpl_semi_sync_source_enabled = ON",
	); err != nil {
		t.Fatalf("semisynctest: Failover: promoting: %v", err)
	}
	np.role = rolePrimary
	old.role = roleFormer
	c.Primary = np
	var rest []*Server
	for _, r := range c.Replicas {
		if r != np {
			rest = append(rest, r)
		}
	}
	c.Replicas = rest
	for _, r := range rest {
		if !r.Running() {
			r.proxy.setTarget(np.Addr()) // it reconnects there when started
		}
	}
	if err := c.parallel(c.runningReplicas(), func(r *Server) error { return r.pointAt(np) }); err != nil {
		t.Fatalf("semisynctest: Failover: repointing: %v", err)
	}
	if err := c.waitPrimaryReady(); err != nil {
		t.Fatalf("semisynctest: Failover: %v", err)
	}
	return np
}

func indexOf(list []*Server, s *Server) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// rejoin makes a former primary, just started, a replica of the current primary when it has no
// transaction the primary lacks.
func (c *Cluster) rejoin(s *Server) error {
	t := c.t
	t.Helper()
	mine, err := s.gtidExecuted()
	if err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	theirs, err := c.Primary.gtidExecuted()
	if err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	errant, err := gtidSubtract(mine, theirs)
	if err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	if errant != "" {
		return &ErrantGTIDError{Server: s, GTIDs: errant}
	}
	if err := s.pointAt(c.Primary); err != nil {
		t.Fatalf("semisynctest: rejoining: %v", err)
	}
	c.Replicas = append(c.Replicas, s)
	if err := s.waitReplicaConnected(); err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	if err := c.waitPrimaryReady(); err != nil {
		t.Fatalf("semisynctest: %v", err)
	}
	return nil
}

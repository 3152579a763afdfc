package semisynctest

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Bounds of the kit's waits. None is a sleep: each is the deadline of a poll or of a process
// event.
const (
	readyTimeout = 30 * time.Second // a process to log its ready line
	stopTimeout  = 10 * time.Second // a process to exit after SIGTERM
	waitTimeout  = 30 * time.Second // replication to connect or catch up
	pollInterval = 2 * time.Millisecond
	logTailLines = 200
)

type role int

const (
	rolePrimary role = iota
	roleReplica
	roleFormer // a primary replaced by Failover that has not rejoined yet
)

// Server is one semisyncd process of a Cluster. Its methods that take no testing.TB report
// failures through the test given to Start, so call them from the test's goroutine.
type Server struct {
	// Name is "primary" or "replica N" as started (it does not change with failover); log
	// tails are labelled with it.
	Name string
	// ServerID is the server's @@server_id.
	ServerID uint32
	// DataDir is the server's data directory (a temporary directory of the test).
	DataDir string

	c     *Cluster
	role  role
	port  int
	proxy *proxy // the replication link; nil until the server is a replica

	mu      sync.Mutex // guards cmd, exited, waitErr, admin, logs' reader
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	admin   *sql.DB
	logs    *logTail
}

// Addr returns host:port of the server's MySQL port on 127.0.0.1. It stays the same across
// Stop and Start.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// DSN returns a go-sql-driver/mysql DSN for the administrative account (root, no password) on
// database db (empty for none), e.g. "root@tcp(127.0.0.1:41234)/app?timeout=5s".
func (s *Server) DSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = s.Addr()
	cfg.DBName = db
	cfg.Timeout = 5 * time.Second
	return cfg.FormatDSN()
}

// Running reports whether the server's process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Logs returns the last lines the server logged (all of its processes), oldest first.
func (s *Server) Logs() string { return s.logs.String() }

// Stop ends the server with SIGTERM and waits, bounded, for a clean exit; a hang or a non-zero
// exit status fails the test. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.c.t.Helper()
	if err := s.stop(syscall.SIGTERM); err != nil {
		s.c.t.Fatalf("semisynctest: %s: %v", s.Name, err)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for the process.
func (s *Server) Kill() {
	s.c.t.Helper()
	if err := s.stop(syscall.SIGKILL); err != nil {
		s.c.t.Fatalf("semisynctest: %s: %v", s.Name, err)
	}
}

// Start starts a stopped server again on the same data directory and port, and returns once
// it serves in its role:
//   - a replica once its IO thread is connected with semi-sync ON;
//   - the primary once its running replicas are connected again (Rpl_semi_sync_source_clients);
//   - a primary that Failover replaced rejoins as a replica of the new primary (read-only,
//     SOURCE_AUTO_POSITION=1, semi-sync) when its @@gtid_executed is a subset of the new
//     primary's. Otherwise it stays a stand-alone, super-read-only server and Start returns an
//     *ErrantGTIDError naming the transactions only it has (what MySQL's source answers such a
//     replica with error 1236).
//
// Process failures fail the test. Starting a running server does nothing, except for a former
// primary whose rejoin was refused: Start tries the rejoin again.
func (s *Server) Start() error {
	t := s.c.t
	t.Helper()
	if s.Running() {
		if s.role == roleFormer { // left stand-alone by an earlier refused rejoin: try again
			return s.c.rejoin(s)
		}
		return nil
	}
	if err := s.launch(); err != nil {
		t.Fatalf("semisynctest: %s: %v", s.Name, err)
	}
	switch s.role {
	case roleReplica:
		if err := s.waitReplicaConnected(); err != nil {
			t.Fatalf("semisynctest: %s: %v", s.Name, err)
		}
	case rolePrimary:
		if err := s.c.waitPrimaryReady(); err != nil {
			t.Fatalf("semisynctest: %v", err)
		}
	case roleFormer:
		return s.c.rejoin(s)
	}
	return nil
}

// Delay adds d of latency to each direction of the replica's replication link (events to it,
// its ACKs back); 0 removes it. A delay longer than the primary's Timeout makes each commit wait
// the timeout and turns semi-sync OFF (Rpl_semi_sync_source_status); it turns ON again once
// ACKs come in time. The primary has no link of its own: Delay on it fails the test.
func (s *Server) Delay(d time.Duration) {
	s.c.t.Helper()
	s.link().setDelay(d)
}

// Cut breaks the replica's replication link: its connection to the primary is closed and new
// ones are refused until Restore, so it receives nothing (its IO thread retries every second).
// The replica itself keeps running and serving reads.
func (s *Server) Cut() {
	s.c.t.Helper()
	s.link().setCut(true)
}

// Restore undoes Delay and Cut: the link relays again without delay, and the IO thread
// reconnects at its next retry.
func (s *Server) Restore() {
	s.c.t.Helper()
	p := s.link()
	p.setDelay(0)
	p.setCut(false)
}

func (s *Server) link() *proxy {
	s.c.t.Helper()
	if s.c.opts.DirectLink {
		s.c.t.Fatalf("semisynctest: %s connects to the primary directly (Options.DirectLink): no link to delay or cut", s.Name)
	}
	if s.proxy == nil || s.role != roleReplica {
		s.c.t.Fatalf("semisynctest: %s is not a replica: it has no replication link", s.Name)
	}
	return s.proxy
}

// isCut reports whether the server's replication link is cut.
func (s *Server) isCut() bool {
	if s.proxy == nil {
		return false
	}
	s.proxy.mu.Lock()
	defer s.proxy.mu.Unlock()
	return s.proxy.cut
}

// args are the flags of "semisyncd serve" for the server's current role: every server loads
// both semi-sync plugins (so any can be promoted), the primary enables the source side, a
// replica the replica side and runs super-read-only.
func (s *Server) args() []string {
	o := s.c.opts
	a := []string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(s.port), "--data-dir", s.DataDir,
		"--server-id", strconv.FormatUint(uint64(s.ServerID), 10), "--log-format", "text",
		"--plugin-load", "rpl_semi_sync_source=semisync_source.so;rpl_semi_sync_replica=semisync_replica.so",
		"--rpl-semi-sync-source-timeout=" + strconv.FormatInt(o.Timeout.Milliseconds(), 10),
		"--rpl-semi-sync-source-wait-point=" + o.WaitPoint,
		"--rpl-semi-sync-source-wait-for-replica-count=" + strconv.Itoa(o.WaitForReplicaCount),
	}
	if s.role == rolePrimary {
		a = append(a, "--rpl-semi-sync-source-enabled=ON")
	} else {
		a = append(a, "--rpl-semi-sync-replica-enabled=ON", "--super-read-only")
	}
	return append(a, o.Args...)
}

// launch starts the process and waits for its ready line, then opens the admin pool.
func (s *Server) launch() error {
	cmd := exec.Command(s.c.bin, s.args()...)
	cmd.Env = os.Environ()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.c.bin, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.waitErr = cmd, exited, nil
	s.mu.Unlock()
	ready := make(chan string, 1)
	go s.readLogs(pr, ready)
	go func() {
		err := cmd.Wait()
		pw.Close()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	select {
	case addr := <-ready:
		if s.port == 0 {
			_, p, _ := net.SplitHostPort(addr)
			s.port, _ = strconv.Atoi(p)
		}
	case <-exited:
		return fmt.Errorf("semisyncd exited before it was ready (%v)", s.exitErr())
	case <-time.After(readyTimeout):
		_ = cmd.Process.Kill()
		return fmt.Errorf("semisyncd not ready after %v", readyTimeout)
	}
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		return err
	}
	db.SetMaxIdleConns(2)
	s.mu.Lock()
	s.admin = db
	s.mu.Unlock()
	return nil
}

func (s *Server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

var textField = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)

// readLogs keeps the tail of the process's output and reports the address of its ready line.
func (s *Server) readLogs(r io.Reader, ready chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	reported := false
	for sc.Scan() {
		line := sc.Text()
		s.logs.add(line)
		if reported || !strings.Contains(line, "msg=ready") {
			continue
		}
		f := map[string]string{}
		for _, m := range textField.FindAllStringSubmatch(line, -1) {
			f[m[1]] = strings.Trim(m[2], `"`)
		}
		if f["msg"] == "ready" && f["addr"] != "" {
			ready <- f["addr"]
			reported = true
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// stop signals the process and waits; SIGTERM that overstays stopTimeout is followed by
// SIGKILL and reported.
func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	cmd, exited, admin := s.cmd, s.exited, s.admin
	s.admin = nil
	s.mu.Unlock()
	if admin != nil {
		admin.Close()
	}
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("semisyncd ignored %v for %v and was killed", sig, stopTimeout)
	}
	if err := s.exitErr(); err != nil && sig == syscall.SIGTERM {
		return fmt.Errorf("semisyncd exited with %v after SIGTERM", err)
	}
	return nil
}

// db returns the admin pool of the running process.
func (s *Server) db() (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		return nil, fmt.Errorf("%s is not running", s.Name)
	}
	return s.admin, nil
}

// exec runs statements on the server, in order.
func (s *Server) exec(stmts ...string) error {
	db, err := s.db()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s: %w", s.Name, q, err)
		}
	}
	return nil
}

// queryMap runs a statement and returns its first row by column name (NULL as ""), or nil when
// it returns no row.
func (s *Server) queryMap(q string) (map[string]string, error) {
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(q)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.Name, q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(cols))
	for i, c := range cols {
		out[c] = vals[i].String
	}
	return out, nil
}

// statusVars returns SHOW GLOBAL STATUS LIKE pattern as a map.
func (s *Server) statusVars(pattern string) (map[string]string, error) {
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query("SHOW GLOBAL STATUS LIKE '" + pattern + "'")
	if err != nil {
		return nil, fmt.Errorf("%s: SHOW GLOBAL STATUS: %w", s.Name, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// gtidExecuted returns the server's @@GLOBAL.gtid_executed.
func (s *Server) gtidExecuted() (string, error) {
	db, err := s.db()
	if err != nil {
		return "", err
	}
	var g string
	if err := db.QueryRow("SELECT @@GLOBAL.gtid_executed").Scan(&g); err != nil {
		return "", fmt.Errorf("%s: @@gtid_executed: %w", s.Name, err)
	}
	return g, nil
}

// pointAt makes the server a semi-sync replica of primary through its replication link:
// read-only, replica plugin enabled, source side disabled, SOURCE_AUTO_POSITION=1.
func (s *Server) pointAt(primary *Server) error {
	port := 0
	if s.c.opts.DirectLink {
		_, p, _ := strings.Cut(primary.Addr(), ":")
		port, _ = strconv.Atoi(p)
	} else if s.proxy == nil {
		p, err := newProxy(primary.Addr())
		if err != nil {
			return err
		}
		s.proxy = p
	}
	if s.proxy != nil {
		s.proxy.setTarget(primary.Addr())
		port = s.proxy.port()
	}
	s.role = roleReplica
	return s.exec(
		"SET GLOBAL super_read_only = ON",
		"SET GLOBAL rpl_semi_sync_source_enabled = OFF",
		"SET GLOBAL rpl_semi_sync_replica_enabled = ON",
		"STOP REPLICA",
		fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', SOURCE_PASSWORD='', SOURCE_CONNECT_RETRY=1, SOURCE_AUTO_POSITION=1", port),
		"START REPLICA",
	)
}

// waitReplicaConnected waits until the replica's IO thread runs with semi-sync ON.
func (s *Server) waitReplicaConnected() error {
	var last map[string]string
	err := poll(waitTimeout, func() (bool, error) {
		st, err := s.queryMap("SHOW REPLICA STATUS")
		if err != nil {
			return false, err
		}
		last = st
		if st == nil || st["Replica_IO_Running"] != "Yes" {
			return false, nil
		}
		v, err := s.statusVars("Rpl_semi_sync_replica_status")
		if err != nil {
			return false, err
		}
		return v["Rpl_semi_sync_replica_status"] == "ON", nil
	})
	if err != nil {
		return fmt.Errorf("%s: not replicating with semi-sync after %v: %v (Replica_IO_Running=%q Last_IO_Error=%q Last_SQL_Error=%q)",
			s.Name, waitTimeout, err, last["Replica_IO_Running"], last["Last_IO_Error"], last["Last_SQL_Error"])
	}
	return nil
}

// poll calls f until it returns true or an error, or timeout passes (then an error).
func poll(timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", timeout)
		}
		time.Sleep(pollInterval)
	}
}

// logTail keeps the last lines of a server's output.
type logTail struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func (l *logTail) add(line string) {
	if line == "io.ReadFull(header size) failed" {
		return // the second line of GMS's log of every client disconnect: noise in a tail
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = make([]string, logTailLines)
	}
	l.lines[l.next] = line
	l.next = (l.next + 1) % len(l.lines)
	if l.next == 0 {
		l.full = true
	}
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	if l.full {
		out = append(out, l.lines[l.next:]...)
	}
	out = append(out, l.lines[:l.next]...)
	return strings.Join(out, "\n")
}

// sigterm is the polite stop signal.
const sigterm = syscall.SIGTERM

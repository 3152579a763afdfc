// Package integration runs semisyncd as real processes and talks to them through real clients:
// go-sql-driver/mysql and the mysql command-line client.
//
// The harness gets the binary once per test process (TestMain, through semisynctest.Binary), starts each server with
// --port 0 on 127.0.0.1, learns its address from the "ready" log line, and stops it with
// SIGTERM (or SIGKILL, for fault tests). GMS keeps process-global state, so every server is its
// own process.
//
//	srv := StartServer(t)                   // fresh data directory, stopped at test end
//	db := srv.DB(t, "")                     // *sql.DB for root, closed at test end
//	srv.DSN("mydb")                         // DSN for go-sql-driver/mysql
//	srv.Stop(t)                             // SIGTERM, bounded; fails the test if it hangs
//	srv.Kill(t)                             // SIGKILL
//	srv = srv.Restart(t)                    // same data directory and flags, new process
//	srv = srv.RestartWithArgs(t, "--x=1")    // same data directory, other flags
//	StartServer(t, WithArgs("--server-id", "2"), WithPassword("pw"), WithDataDir(dir))
package integration

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/semisyncd/semisyncd/semisynctest"
)

// Bounds: how long a server may take to become ready and to stop after SIGTERM.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// binary is the semisyncd executable TestMain built.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests gets the binary as the semisynctest kit does (SEMISYNCD_BIN, or one build per
// source version in the user cache directory, shared with the kit's tests under a file lock).
func runTests(m *testing.M) int {
	bin, note, err := semisynctest.Binary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, note)
	binary = bin
	return m.Run()
}

// moduleRoot is the repository root: the parent of this package's directory.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Server is one semisyncd process.
type Server struct {
	// Addr is host:port from the ready line.
	Addr string
	// Backend is the storage backend the ready line names ("memory", …).
	Backend string
	// DataDir is the server's data directory; it outlives the process, for restarts.
	DataDir string

	opts    options
	cmd     *exec.Cmd
	logs    *logBuffer
	exited  chan struct{} // closed when the process has exited
	waitErr error         // the process's exit status, valid after exited is closed
}

type options struct {
	dataDir  string
	password string
	args     []string
	env      []string
}

// Option changes how StartServer runs the server.
type Option func(*options)

// WithDataDir runs the server on dir instead of a fresh temporary directory.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithPassword gives root a password.
func WithPassword(pw string) Option { return func(o *options) { o.password = pw } }

// WithArgs adds command-line flags to "semisyncd serve".
func WithArgs(args ...string) Option { return func(o *options) { o.args = append(o.args, args...) } }

// WithEnv adds KEY=value pairs to the server's environment.
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

// StartServer starts semisyncd on 127.0.0.1 with a free port and waits until it is ready. The
// server is stopped when the test ends.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	return start(t, o)
}

func start(t testing.TB, o options) *Server {
	t.Helper()
	args := []string{"serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", o.dataDir, "--log-format", "text"}
	if o.password != "" {
		args = append(args, "--password", o.password)
	}
	args = append(args, o.args...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), o.env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{DataDir: o.dataDir, opts: o, cmd: cmd, logs: &logBuffer{}, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start semisyncd: %v", err)
	}
	ready := make(chan readyLine, 1)
	go s.readLogs(stderr, ready)
	t.Cleanup(func() { s.stopQuietly(t) })

	select {
	case r := <-ready:
		s.Addr, s.Backend = r.addr, r.backend
		return s
	case <-s.exited:
		t.Fatalf("semisyncd exited before it was ready (%v); log:\n%s", s.waitErr, s.Logs())
	case <-time.After(readyTimeout):
		t.Fatalf("semisyncd not ready after %v; log:\n%s", readyTimeout, s.Logs())
	}
	return nil
}

type readyLine struct{ addr, backend string }

var (
	textField = regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)
)

// readLogs copies the server's log into s.logs, reports the ready line, and records the exit.
func (s *Server) readLogs(r io.Reader, ready chan<- readyLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	reported := false
	for sc.Scan() {
		line := sc.Text()
		s.logs.add(line)
		if !reported {
			if f := logFields(line); f["msg"] == "ready" && f["addr"] != "" {
				ready <- readyLine{addr: f["addr"], backend: f["backend"]}
				reported = true
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
	s.waitErr = s.cmd.Wait()
	close(s.exited)
}

// logFields parses one log line, text (key=value) or JSON.
func logFields(line string) map[string]string {
	f := map[string]string{}
	if strings.HasPrefix(line, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			for k, v := range m {
				f[k] = fmt.Sprint(v)
			}
		}
		return f
	}
	for _, m := range textField.FindAllStringSubmatch(line, -1) {
		f[m[1]] = strings.Trim(m[2], `"`)
	}
	return f
}

// Logs returns everything the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// WaitForLog waits until a log line contains substr, up to timeout.
func (s *Server) WaitForLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.Logs(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q after %v; log:\n%s", substr, timeout, s.Logs())
		}
		select {
		case <-s.logs.changed():
		case <-time.After(time.Until(deadline)):
		}
	}
}

// DSN returns a go-sql-driver/mysql DSN for root on database db (may be empty).
func (s *Server) DSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Passwd = s.opts.password
	cfg.Net = "tcp"
	cfg.Addr = s.Addr
	cfg.DBName = db
	cfg.Timeout = 5 * time.Second
	cfg.ReadTimeout = 30 * time.Second
	cfg.WriteTimeout = 30 * time.Second
	return cfg.FormatDSN()
}

// UserDSN returns a DSN for user:password on database db.
func (s *Server) UserDSN(user, password, db string) string {
	cfg, _ := mysql.ParseDSN(s.DSN(db))
	cfg.User, cfg.Passwd = user, password
	return cfg.FormatDSN()
}

// DB opens a pool for root on database db; it is closed when the test ends.
func (s *Server) DB(t testing.TB, db string) *sql.DB {
	t.Helper()
	return openDB(t, s.DSN(db))
}

func openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Conn returns one dedicated connection (one session) for root; closed when the test ends.
func (s *Server) Conn(t testing.TB) *sql.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.DB(t, "").Conn(ctx)
	if err != nil {
		t.Fatalf("connect to %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Signal sends sig to the server process.
func (s *Server) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits up to timeout for the process to exit and returns its exit status (nil for 0). It
// fails the test if the process is still running.
func (s *Server) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(timeout):
		t.Fatalf("semisyncd still running %v after it was told to stop; log:\n%s", timeout, s.Logs())
		return nil
	}
}

// Stop sends SIGTERM and waits (bounded) for a clean exit; a hang or a non-zero status fails
// the test.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.Signal(t, syscall.SIGTERM)
	if err := s.Wait(t, stopTimeout); err != nil {
		t.Fatalf("semisyncd exited with %v after SIGTERM; log:\n%s", err, s.Logs())
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.Signal(t, syscall.SIGKILL)
	_ = s.Wait(t, stopTimeout)
}

// Restart stops the server if it still runs, then starts a new process on the same data
// directory with the same options.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	select {
	case <-s.exited:
	default:
		s.Stop(t)
	}
	return start(t, s.opts)
}

// RestartWithArgs is Restart with args replacing the flags given by WithArgs.
func (s *Server) RestartWithArgs(t testing.TB, args ...string) *Server {
	t.Helper()
	select {
	case <-s.exited:
	default:
		s.Stop(t)
	}
	o := s.opts
	o.args = args
	return start(t, o)
}

// stopQuietly is the test-end cleanup: SIGTERM, then SIGKILL if the process overstays.
func (s *Server) stopQuietly(t testing.TB) {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		t.Errorf("semisyncd ignored SIGTERM for %v; killing it. log:\n%s", stopTimeout, s.Logs())
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// mysqlErrorNumber returns the MySQL error number carried by err, or 0.
func mysqlErrorNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// logBuffer collects log lines and signals each addition.
type logBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line)
	b.buf.WriteByte('\n')
	if b.notify != nil {
		close(b.notify)
		b.notify = nil
	}
}

// changed returns a channel closed at the next added line.
func (b *logBuffer) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.notify == nil {
		b.notify = make(chan struct{})
	}
	return b.notify
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Package conformance runs go-mysql-server's own enginetest suites on the
// storage engine. The suites are GMS's (imported as a library); the
// harness, the suite list and the reviewed skip list are ours.
package conformance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/dolthub/go-mysql-server/enginetest"
	"github.com/dolthub/go-mysql-server/enginetest/scriptgen/setup"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/semisyncd/semisyncd/storage"
)

// harness is an enginetest.Harness over a fresh storage.Engine per
// NewEngine call. One harness serves one suite: its skip list is the
// suite's entries of skips.
type harness struct {
	suite string
	setup []setup.SetupScript

	mu      sync.Mutex
	store   *storage.Engine
	session sql.Session
	skips   map[string]*skip
}

var (
	_ enginetest.Harness             = (*harness)(nil)
	_ enginetest.SkippingHarness     = (*harness)(nil)
	_ enginetest.IndexHarness        = (*harness)(nil)
	_ enginetest.ForeignKeyHarness   = (*harness)(nil)
	_ enginetest.KeylessTableHarness = (*harness)(nil)
	_ enginetest.TransactionHarness  = (*harness)(nil)
	_ enginetest.ClientHarness       = (*harness)(nil)
	_ enginetest.ServerHarness       = (*harness)(nil)
)

func newHarness(suite string) *harness {
	h := &harness{suite: suite, skips: map[string]*skip{}}
	for i := range skips {
		s := &skips[i]
		if s.Suite == suite {
			h.skips[strings.ToLower(s.Name)] = s
		}
	}
	return h
}

// engine returns the current storage engine, creating one if needed.
func (h *harness) engine() *storage.Engine {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.store == nil {
		h.store = storage.New(storage.Options{})
	}
	return h.store
}

// newSession makes a session of connection 1, as the suites expect
// (SELECT CONNECTION_ID()).
func (h *harness) newSession(client sql.Client) sql.Session {
	base := sql.NewBaseSessionWithClientServer("address", client, 1)
	return shortLockWait(h.engine().NewSession(base))
}

// shortLockWait sets innodb_lock_wait_timeout to 1 s: the suites drive
// several sessions from one goroutine, so a lock wait can only end by
// timing out, and a suite must not stall 50 s on each.
func shortLockWait(s sql.Session) sql.Session {
	ctx := sql.NewContext(context.Background(), sql.WithSession(s))
	if err := s.SetSessionVariable(ctx, "innodb_lock_wait_timeout", int64(1)); err != nil {
		panic(err)
	}
	return s
}

var root = sql.Client{Address: "localhost", User: "root"}

// NewContext returns a context on the harness's current session.
func (h *harness) NewContext() *sql.Context {
	if h.session == nil {
		h.session = h.newSession(root)
	}
	return sql.NewContext(context.Background(), sql.WithSession(h.session))
}

// NewSession starts a new connection's session and makes it current.
func (h *harness) NewSession() *sql.Context {
	h.session = h.newSession(root)
	return h.NewContext()
}

// NewContextWithClient returns a context on a new session of client.
func (h *harness) NewContextWithClient(client sql.Client) *sql.Context {
	return sql.NewContext(context.Background(), sql.WithSession(h.newSession(client)))
}

// Setup records the set-up scripts the next NewEngine runs.
func (h *harness) Setup(scripts ...[]setup.SetupScript) {
	h.setup = nil
	for _, s := range scripts {
		h.setup = append(h.setup, s...)
	}
}

// NewEngine builds a GMS engine over a new, empty storage engine and runs
// the set-up scripts on it.
func (h *harness) NewEngine(t *testing.T) (enginetest.QueryEngine, error) {
	h.mu.Lock()
	h.store = storage.New(storage.Options{})
	h.mu.Unlock()
	h.session = nil
	h.skipTest(t)
	e, err := enginetest.NewEngine(t, h, h.engine().Provider(), h.setup, memory.NewStatsProv())
	if err != nil {
		return nil, err
	}
	h.session = nil
	return e, nil
}

// SessionBuilder makes sessions of the current engine for the suites that
// go over the wire.
func (h *harness) SessionBuilder() server.SessionBuilder {
	return func(ctx context.Context, c *mysql.Conn, addr string) (sql.Session, error) {
		client := sql.Client{Address: "localhost", User: "root", Capabilities: c.Capabilities}
		if u, ok := c.UserData.(sql.MysqlConnectionUser); ok {
			client.Address, client.User = u.Host, u.User
		}
		base := sql.NewBaseSessionWithClientServer(addr, client, c.ConnectionID)
		return shortLockWait(h.engine().NewSession(base)), nil
	}
}

// skipTest skips t when the suite's skip list names the script (or test)
// t runs: every script of a suite builds its engine inside its own subtest.
func (h *harness) skipTest(t *testing.T) {
	prefix := "TestEngineSuites/" + h.suite + "/"
	name, ok := strings.CutPrefix(t.Name(), prefix)
	if !ok {
		return
	}
	for _, s := range h.skips {
		n := subtestName(s.Name)
		if rest, ok := strings.CutPrefix(name, n); ok && (rest == "" || rest[0] == '#' || rest[0] == '/') {
			s.used.Store(true)
			t.Skip("skip list: " + s.Why)
		}
	}
}

// subtestName is the name the testing package gives a subtest run as name.
func subtestName(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, name)
}

// SkipQueryTest reports whether the suite's skip list names query (a
// query, a statement or a script name).
func (h *harness) SkipQueryTest(query string) bool {
	recordName(h.suite, query)
	s, ok := h.skips[strings.ToLower(query)]
	if ok {
		s.used.Store(true)
	}
	return ok
}

func (h *harness) SupportsNativeIndexCreation() bool { return true }
func (h *harness) SupportsForeignKeys() bool         { return true }
func (h *harness) SupportsKeylessTables() bool       { return true }

// Recording (CONFORMANCE_RECORD=dir): every name the suites offer to
// SkipQueryTest, so a failing subtest's path can be mapped back to the
// query or script name a skip entry must carry.
var (
	recordMu sync.Mutex
	recordF  *os.File
)

func recordName(suite, name string) {
	dir := os.Getenv("CONFORMANCE_RECORD")
	if dir == "" {
		return
	}
	recordMu.Lock()
	defer recordMu.Unlock()
	if recordF == nil {
		f, err := os.Create(fmt.Sprintf("%s/names-%d.txt", dir, os.Getpid()))
		if err != nil {
			return
		}
		recordF = f
	}
	fmt.Fprintf(recordF, "%s\t%q\n", suite, name)
}

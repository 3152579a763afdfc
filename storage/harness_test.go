package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
)

// harness runs SQL through a real GMS engine on a storage Engine, with one
// sql.Session per simulated connection.
type harness struct {
	t     testing.TB
	store *Engine
	sqle  *sqle.Engine
	pid   atomic.Uint64
	hook  *recordingHook
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, hook: &recordingHook{}}
	h.store = New(Options{Hook: h.hook})
	a := analyzer.NewDefault(h.store.Provider())
	h.sqle = sqle.New(a, nil)
	return h
}

type conn struct {
	h    *harness
	sess sql.Session
	db   string
}

var connIDs atomic.Uint32

func (h *harness) conn() *conn {
	base := sql.NewBaseSessionWithClientServer("test", sql.Client{User: "root", Address: "localhost"}, connIDs.Add(1))
	return &conn{h: h, sess: h.store.NewSession(base)}
}

func (c *conn) ctx(q string) *sql.Context {
	ctx := sql.NewContext(context.Background(), sql.WithSession(c.sess), sql.WithPid(c.h.pid.Add(1)), sql.WithQuery(q))
	if c.db != "" {
		ctx.SetCurrentDatabase(c.db)
	}
	return ctx
}

// query runs q and returns its rows.
func (c *conn) query(q string) ([]sql.Row, error) {
	ctx := c.ctx(q)
	_, iter, _, err := c.h.sqle.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := sql.RowIterToRows(ctx, iter)
	if err == nil && c.db == "" {
		c.db = ctx.GetCurrentDatabase()
	}
	if db := ctx.GetCurrentDatabase(); db != "" {
		c.db = db
	}
	return rows, err
}

// mustExec runs q and fails the test on error.
func (c *conn) mustExec(q string) []sql.Row {
	c.h.t.Helper()
	rows, err := c.query(q)
	if err != nil {
		c.h.t.Fatalf("%s: %v", q, err)
	}
	return rows
}

// recordingHook keeps every ChangeSet it is given.
type recordingHook struct {
	mu   sync.Mutex
	sets []*ChangeSet
}

func (r *recordingHook) Append(_ context.Context, cs *ChangeSet) (CommitTicket, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets = append(r.sets, cs)
	return nil, nil
}

func (r *recordingHook) all() []*ChangeSet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*ChangeSet(nil), r.sets...)
}

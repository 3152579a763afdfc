package storage

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/sirupsen/logrus"
)

// Options configure an Engine.
type Options struct {
	// Hook receives every commit's changes (nil: none are kept).
	Hook CommitHook
	Log  *logrus.Entry
}

// Engine is the storage engine: committed versions, the lock manager and
// the commit pipeline.
//
// The commit pipeline (see commit):
//  1. under commitMu: merge the transaction's tables into a new catalog
//     built on latest, hand the ChangeSet to the hook (binlog append), and
//     install the catalog as latest; release the lock and the table locks;
//  2. ticket.BeforePublish: group fsync, semi-sync AFTER_SYNC wait;
//  3. publish: readers' snapshots now include the commit (in seq order);
//  4. ticket.AfterPublish: semi-sync AFTER_COMMIT wait; then the client's OK.
type Engine struct {
	hook CommitHook
	log  *logrus.Entry

	commitMu  sync.Mutex
	latest    atomic.Pointer[catalog]
	pubMu     sync.Mutex
	published atomic.Pointer[catalog]

	locks  *lockManager
	nextTx atomic.Uint64
}

// New returns an empty engine.
func New(opts Options) *Engine {
	e := &Engine{hook: opts.Hook, log: opts.Log, locks: newLockManager()}
	if e.hook == nil {
		e.hook = noHook{}
	}
	if e.log == nil {
		e.log = logrus.NewEntry(logrus.StandardLogger())
	}
	c := &catalog{dbs: map[string]*dbState{}}
	e.latest.Store(c)
	e.published.Store(c)
	registerSystemVariables()
	return e
}

// Name names the backend in logs.
func (e *Engine) Name() string { return "storage" }

// SetHook replaces the commit hook. Call before serving.
func (e *Engine) SetHook(h CommitHook) {
	if h == nil {
		h = noHook{}
	}
	e.hook = h
}

// Provider is the GMS database provider over this engine.
func (e *Engine) Provider() sql.MutableDatabaseProvider { return &Provider{eng: e} }

// NewSession wraps a GMS base session in the session type this engine's
// tables require.
func (e *Engine) NewSession(base *sql.BaseSession) sql.Session {
	return &Session{BaseSession: base, eng: e}
}

func (e *Engine) newTxn(s *Session, readOnly bool) *txn {
	return &txn{
		eng:      e,
		sess:     s,
		id:       e.nextTx.Add(1),
		readOnly: readOnly,
	} // dbs and held are made on first use: most transactions are one read
}

// commit makes tx's changes durable and visible, in the order described on
// Engine. It returns the hook's error: from Append (the transaction is then
// rolled back) or from BeforePublish (the commit was appended but is not
// durable: it is never published, and the hook fails every later commit).
func (e *Engine) commit(ctx *sql.Context, tx *txn) error {
	finish, err := e.appendCommit(ctx, tx)
	if err != nil || finish == nil {
		return err
	}
	return finish()
}

// appendCommit is step 1 of the pipeline: once it returns nil, tx is in the
// binlog (not yet durable) and in latest, and its locks are released, so
// later transactions build on it. finish (nil when there is nothing more
// to do) does steps 2–4 and returns BeforePublish's error; it must be
// called exactly once. Calling the finishes of several commits in any
// order is sound, as for concurrent sessions: a commit's fsync and ACK
// cover every commit appended before it, and publish never goes back.
func (e *Engine) appendCommit(ctx *sql.Context, tx *txn) (finish func() error, err error) {
	if tx.done {
		return nil, nil
	}
	defer func() { tx.done = true }()
	if !tx.hasWrites() {
		e.locks.releaseAll(tx)
		return nil, nil
	}

	e.commitMu.Lock()
	base := e.latest.Load()
	next := &catalog{seq: base.seq + 1, ddlSeq: base.ddlSeq, dbs: make(map[string]*dbState, len(base.dbs)+1)}
	if tx.ddl {
		next.ddlSeq++
	}
	for k, v := range base.dbs {
		next.dbs[k] = v
	}
	var installed []*tableState
	for key, d := range tx.dbs {
		if d.dropped {
			delete(next.dbs, key)
			if !d.created {
				continue
			}
		}
		cur := next.dbs[key]
		if d.created {
			cur = d.meta
		}
		if cur == nil {
			// Dropped by another session meanwhile: nothing to merge into.
			continue
		}
		var nd *dbState
		for tkey, slot := range d.tables {
			if !slot.written {
				continue
			}
			ts := slot.state
			if !slot.exclusive && ts != nil {
				// Row-level: apply the touched rows to the newest
				// version (others may have committed other rows).
				lt := cur.tables[tkey]
				if slot.touched == nil || slot.touched.Len() == 0 || lt == nil {
					continue
				}
				if lt != slot.base {
					ts = rebaseOnto(tx, lt, slot)
				}
			}
			if nd == nil {
				nd = cur.shallowClone()
			}
			if ts == nil {
				delete(nd.tables, tkey)
			} else {
				nd.tables[tkey] = ts
				installed = append(installed, ts)
				if slot.exclusive {
					ts.ai.reset(ts.autoInc)
				}
			}
		}
		if d.meta != nil {
			if nd == nil {
				nd = cur.shallowClone()
			}
			nd.name, nd.collation = d.meta.name, d.meta.collation
			nd.views, nd.triggers, nd.procedures, nd.events = d.meta.views, d.meta.triggers, d.meta.procedures, d.meta.events
		}
		if nd != nil {
			next.dbs[key] = nd
		}
	}

	var ticket CommitTicket
	// Nothing of a temporary table reaches the binlog (MySQL 8.0, ROW).
	tx.changes = withoutHidden(tx.changes)
	if len(tx.changes) > 0 {
		tx.rewriteCTAS()
		cs := &ChangeSet{Changes: tx.changes, GTID: tx.gtid}
		if tx.sess != nil {
			cs.ConnectionID = tx.sess.ID()
		}
		var err error
		ticket, err = e.hook.Append(ctx, cs)
		if err != nil {
			e.commitMu.Unlock()
			tx.reset()
			return nil, err
		}
	}
	// The versions are shared from here on: mark them committed.
	for _, ts := range installed {
		ts.owner = nil
	}
	e.latest.Store(next)
	e.commitMu.Unlock()
	e.locks.releaseAll(tx)

	return func() error {
		if ticket != nil {
			if err := ticket.BeforePublish(ctx); err != nil {
				// Not durable: never visible. The binlog refuses every
				// later commit, so nothing builds on this version
				// durably either.
				return err
			}
		}
		e.publish(next)
		if ticket != nil {
			ticket.AfterPublish(ctx)
		}
		return nil
	}, nil
}

// publish makes c (and every commit before it) visible to new snapshots.
func (e *Engine) publish(c *catalog) {
	e.pubMu.Lock()
	if c.seq > e.published.Load().seq {
		e.published.Store(c)
	}
	e.pubMu.Unlock()
}

func (tx *txn) hasWrites() bool {
	if len(tx.changes) > 0 {
		return true
	}
	for _, d := range tx.dbs {
		if d.created || d.dropped || d.meta != nil {
			return true
		}
		for _, s := range d.tables {
			if s.written {
				return true
			}
		}
	}
	return false
}

// rollback discards tx and releases its locks.
func (tx *txn) rollback() {
	if tx.done {
		return
	}
	tx.reset()
	tx.done = true
}

// DatabaseNames lists the committed databases (latest), for tests and tools.
func (e *Engine) DatabaseNames() []string {
	c := e.latest.Load()
	out := make([]string, 0, len(c.dbs))
	for k, d := range c.dbs {
		if !isHiddenDB(k) {
			out = append(out, d.name)
		}
	}
	return out
}

// TableExists reports whether the latest committed catalog has base table
// table in database db (names compared case-insensitively, as the catalog
// keys them). It takes no lock and never blocks.
func (e *Engine) TableExists(db, table string) bool {
	c := e.latest.Load()
	if c == nil {
		return false
	}
	d := c.db(db)
	return d != nil && d.tables[strings.ToLower(table)] != nil
}

// NextTxID is the id the next transaction gets (SHOW ENGINE INNODB STATUS's
// "Trx id counter").
func (e *Engine) NextTxID() uint64 { return e.nextTx.Load() + 1 }

var registerOnce sync.Once

// registerSystemVariables gives innodb_lock_wait_timeout MySQL's range and
// default (GMS pins it to 1 because its memory engine has no row locks).
func registerSystemVariables() {
	registerOnce.Do(func() {
		sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{
			&sql.MysqlSystemVariable{
				Name:    "innodb_lock_wait_timeout",
				Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
				Dynamic: true,
				Type:    types.NewSystemIntType("innodb_lock_wait_timeout", 1, 1073741824, false),
				Default: int64(50),
			},
		})
	})
}

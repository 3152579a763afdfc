package storage

import (
	"errors"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// txn is one storage transaction: a snapshot plus a private overlay of the
// databases and tables it locked or changed, and the changes it made.
// A txn is used by one session goroutine at a time.
type txn struct {
	eng  *Engine
	sess *Session
	id   uint64

	snap *catalog // taken at first access
	dbs  map[string]*txDB
	// changes made so far, in order.
	changes []Change
	held    map[lockKey]struct{}

	// epoch numbers statement marks: a table cloned in an older epoch is
	// cloned again before the next write, so marks keep their versions.
	epoch uint64
	// generation counts rollbacks of the whole transaction (deadlock
	// victims); marks from an older generation are void.
	generation uint64
	readOnly   bool
	done       bool

	lastDDLPid   uint64
	lastDDLQuery string
	// gtid is the GTID this commit must carry (SetNextGTID).
	gtid string
	// open counts, per statement (process id), the table editors between
	// StatementBegin and the statement's end.
	open map[uint64]int
	// frozen holds, for each table a running statement writes, the
	// version the statement's own reads see (see freeze).
	frozen map[lockKey]*frozenTable
	// stmtPid and stmtQuery name the last statement that read through
	// the transaction.
	stmtPid   uint64
	stmtQuery string
}

// frozenTable is a table's version as of the start of the statement that
// writes it.
type frozenTable struct {
	state *tableState
	pid   uint64
	n     int
}

// freeze makes the reads of statement pid of table db.name see the table as
// it is now, until as many thaws: a statement does not see its own changes
// while it scans, as in MySQL (a multi-table UPDATE that scans a table once
// per joined row must update each row once). The current version stays
// unchanged because mark started a new epoch: the next write clones it.
// Foreign-key checks read through the editor and see the changes.
func (tx *txn) freeze(db, name string, pid uint64) {
	key := tableKey(db, name)
	if f := tx.frozen[key]; f != nil {
		f.n++
		return
	}
	if tx.frozen == nil {
		tx.frozen = map[lockKey]*frozenTable{}
	}
	tx.frozen[key] = &frozenTable{state: tx.table(db, name), pid: pid, n: 1}
}

func (tx *txn) thaw(db, name string) {
	key := tableKey(db, name)
	if f := tx.frozen[key]; f != nil {
		if f.n--; f.n <= 0 {
			delete(tx.frozen, key)
		}
	}
}

// readTable returns the version a statement's scan of db.name reads: the
// frozen one while the statement (pid, or 0 for statements nested in it)
// writes the table, else the transaction's view.
func (tx *txn) readTable(db, name string, pid uint64) *tableState {
	if f := tx.frozen[tableKey(db, name)]; f != nil && (pid == 0 || pid == f.pid) {
		return f.state
	}
	return tx.table(db, name)
}

// statementBegin and statementEnd bracket one table editor's statement.
func (tx *txn) statementBegin(pid uint64) {
	if tx.open == nil {
		tx.open = map[uint64]int{}
	}
	tx.open[pid]++
}

func (tx *txn) statementEnd(pid uint64) {
	if n := tx.open[pid]; n > 1 {
		tx.open[pid] = n - 1
	} else {
		delete(tx.open, pid)
	}
}

// inStatement reports whether a caller with process id pid runs inside a
// statement of tx that is still running (some editor of it has not ended).
// GMS runs the statements of a CALLed procedure with process id 0, so a
// caller with pid 0 is inside any running top-level statement; editors of
// pid 0 (a procedure's own statements) enclose nothing.
func (tx *txn) inStatement(pid uint64) bool {
	for k, n := range tx.open {
		if k != 0 && n > 0 && (pid == 0 || k == pid) {
			return true
		}
	}
	return false
}

// txDB is a transaction's view of one database's changes.
type txDB struct {
	// created: the transaction created the database; dropped: it dropped it.
	created, dropped bool
	// meta holds views, triggers, procedures and collation once the
	// transaction changed any of them (nil otherwise).
	meta *dbState
	// tables holds every table the transaction locked or changed. A nil
	// state means the table does not exist (dropped, or absent when locked).
	tables map[string]*tableSlot
}

type tableSlot struct {
	state   *tableState
	written bool
}

func (d *txDB) copy() *txDB {
	n := *d
	n.tables = make(map[string]*tableSlot, len(d.tables))
	for k, v := range d.tables {
		s := *v
		n.tables[k] = &s
	}
	return &n
}

// mark is a point a statement or savepoint can return to.
type mark struct {
	dbs        map[string]*txDB
	nchanges   int
	generation uint64
}

func (tx *txn) mark() *mark {
	m := &mark{dbs: make(map[string]*txDB, len(tx.dbs)), nchanges: len(tx.changes), generation: tx.generation}
	for k, v := range tx.dbs {
		m.dbs[k] = v.copy()
	}
	tx.epoch++
	return m
}

// restore returns the transaction to m. Locks taken since stay held, as
// InnoDB keeps them after a statement rollback.
func (tx *txn) restore(m *mark) {
	if m == nil || m.generation != tx.generation {
		return
	}
	tx.dbs = make(map[string]*txDB, len(m.dbs))
	for k, v := range m.dbs {
		tx.dbs[k] = v.copy()
	}
	if m.nchanges < len(tx.changes) {
		tx.changes = tx.changes[:m.nchanges]
	}
	tx.epoch++
}

// reset discards everything and releases every lock: the transaction
// starts again from nothing (used for rollback and deadlock victims).
func (tx *txn) reset() {
	tx.dbs = map[string]*txDB{}
	tx.changes = nil
	tx.snap = nil
	tx.generation++
	tx.epoch++
	tx.lastDDLPid, tx.lastDDLQuery = 0, ""
	tx.open, tx.frozen = nil, nil
	tx.eng.locks.releaseAll(tx)
}

// statement notes the statement (process id and text) reading through tx: under
// READ COMMITTED (and READ UNCOMMITTED, which InnoDB reads the same way
// for consistent reads) each statement takes a fresh snapshot, as InnoDB
// does; under REPEATABLE READ and SERIALIZABLE the transaction keeps the
// first one. Statements nested in another (pid 0) share its snapshot.
func (tx *txn) statement(ctx *sql.Context) {
	pid, q := ctx.Pid(), ctx.Query()
	if pid == 0 || pid == tx.stmtPid && q == tx.stmtQuery {
		return
	}
	tx.stmtPid, tx.stmtQuery = pid, q
	if tx.snap != nil && readCommitted(ctx) {
		tx.snap = nil
	}
}

// readCommitted reports whether the session's isolation level takes a
// snapshot per statement.
func readCommitted(ctx *sql.Context) bool {
	v, err := ctx.GetSessionVariable(ctx, "transaction_isolation")
	if err != nil {
		return false
	}
	s, _ := v.(string)
	return strings.EqualFold(s, "READ-COMMITTED") || strings.EqualFold(s, "READ-UNCOMMITTED")
}

func (tx *txn) snapshot() *catalog {
	if tx.snap == nil {
		tx.snap = tx.eng.published.Load()
	}
	return tx.snap
}

func (tx *txn) overlay(db string) *txDB {
	key := strings.ToLower(db)
	d := tx.dbs[key]
	if d == nil {
		d = &txDB{tables: map[string]*tableSlot{}}
		tx.dbs[key] = d
	}
	return d
}

// dbState returns the database as this transaction sees it, or nil.
// Databases are not versioned for readers: like MySQL's data dictionary, a
// committed CREATE/DROP DATABASE is seen at once.
func (tx *txn) dbState(name string) *dbState {
	key := strings.ToLower(name)
	if d := tx.dbs[key]; d != nil {
		if d.dropped && !d.created {
			return nil
		}
		if d.meta != nil {
			return d.meta
		}
	}
	if s := tx.eng.latest.Load().db(name); s != nil {
		return s
	}
	return nil
}

func (tx *txn) dbExists(name string) bool { return tx.dbState(name) != nil }

// table returns the table as this transaction sees it: its own locked or
// changed version, else its snapshot's, else (a table created after the
// snapshot) the published one.
func (tx *txn) table(db, name string) *tableState {
	dkey, tkey := strings.ToLower(db), strings.ToLower(name)
	if d := tx.dbs[dkey]; d != nil {
		if d.dropped && !d.created {
			return nil
		}
		if s, ok := d.tables[tkey]; ok {
			return s.state
		}
		if d.created {
			return nil
		}
	}
	if !tx.dbExists(db) {
		return nil
	}
	if t := tx.snapshot().table(db, name); t != nil {
		return t
	}
	return tx.eng.published.Load().table(db, name)
}

// tableNames lists the tables of db this transaction sees.
func (tx *txn) tableNames(db string) []string {
	dkey := strings.ToLower(db)
	seen := map[string]string{}
	if d := tx.dbs[dkey]; d == nil || !d.created {
		for k, t := range tx.snapshot().dbTables(db) {
			seen[k] = t.name
		}
		for k, t := range tx.eng.published.Load().dbTables(db) {
			if _, ok := seen[k]; !ok {
				seen[k] = t.name
			}
		}
	}
	if d := tx.dbs[dkey]; d != nil {
		for k, s := range d.tables {
			if s.state == nil {
				delete(seen, k)
			} else {
				seen[k] = s.state.name
			}
		}
	}
	out := make([]string, 0, len(seen))
	for _, n := range seen {
		out = append(out, n)
	}
	return out
}

func (c *catalog) dbTables(db string) map[string]*tableState {
	if d := c.db(db); d != nil {
		return d.tables
	}
	return nil
}

// lockTable takes a table lock; the first lock on a table makes the
// transaction read that table from latest from then on.
func (tx *txn) lockTable(ctx *sql.Context, db, name string, mode lockMode, policy lockWaitPolicy) error {
	if tx.done {
		return errTxnDone
	}
	key := tableKey(db, name)
	if !tx.eng.locks.holds(tx, key, mode) {
		if err := tx.eng.locks.acquire(ctx, tx, key, mode, lockWaitTimeout(ctx), policy); err != nil {
			if isDeadlock(err) {
				// InnoDB rolls the victim's whole transaction back.
				tx.reset()
			}
			return err
		}
	}
	d := tx.overlay(db)
	if _, ok := d.tables[key.table]; !ok {
		d.tables[key.table] = &tableSlot{state: tx.eng.latest.Load().table(db, name)}
	}
	return nil
}

// writable locks a table exclusively and returns the transaction's private
// version of it for the current statement epoch.
func (tx *txn) writable(ctx *sql.Context, db, name string) (*tableState, error) {
	if tx.readOnly {
		return nil, sql.ErrReadOnlyTransaction.New()
	}
	if err := tx.lockTable(ctx, db, name, lockExclusive, waitNormal); err != nil {
		return nil, err
	}
	slot := tx.dbs[strings.ToLower(db)].tables[strings.ToLower(name)]
	if slot.state == nil {
		return nil, sql.ErrTableNotFound.New(name)
	}
	if slot.state.owner != tx || slot.state.epoch != tx.epoch {
		slot.state = slot.state.clone(tx, tx.epoch)
	}
	slot.written = true
	return slot.state, nil
}

// setTable installs a new version (or nil: dropped) of a table the
// transaction holds exclusively.
func (tx *txn) setTable(db, name string, ts *tableState) {
	d := tx.overlay(db)
	if ts != nil {
		ts.owner, ts.epoch = tx, tx.epoch
	}
	d.tables[strings.ToLower(name)] = &tableSlot{state: ts, written: true}
}

func (tx *txn) record(ch Change) {
	tx.changes = append(tx.changes, ch)
}

// recordDDL records the current statement as a DDL change, once per
// statement however many storage operations it makes; it reports whether
// it added the change.
func (tx *txn) recordDDL(ctx *sql.Context) bool {
	q := strings.TrimSpace(ctx.Query())
	if q == "" {
		return false
	}
	if tx.lastDDLPid == ctx.Pid() && tx.lastDDLQuery == q {
		return false
	}
	tx.lastDDLPid, tx.lastDDLQuery = ctx.Pid(), q
	tx.record(Change{Kind: DDL, Query: q, CurrentDB: ctx.GetCurrentDatabase()})
	return true
}

var errTxnDone = errors.New("storage: transaction already ended")

func isDeadlock(err error) bool {
	var se interface{ Number() int }
	if errors.As(err, &se) {
		return se.Number() == ErLockDeadlock
	}
	return false
}

// lockWaitTimeout reads innodb_lock_wait_timeout (seconds) of the session.
func lockWaitTimeout(ctx *sql.Context) time.Duration {
	const def = 50 * time.Second
	if ctx == nil || ctx.Session == nil {
		return def
	}
	v, err := ctx.GetSessionVariable(ctx, "innodb_lock_wait_timeout")
	if err != nil {
		return def
	}
	switch n := v.(type) {
	case int64:
		return time.Duration(n) * time.Second
	case int:
		return time.Duration(n) * time.Second
	case uint64:
		return time.Duration(n) * time.Second
	}
	return def
}

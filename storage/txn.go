package storage

import (
	"errors"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/btree"
)

// txn is one storage transaction: a snapshot plus a private overlay of the
// databases and tables it locked or changed, and the changes it made.
// A txn is used by one session goroutine at a time.
type txn struct {
	eng  *Engine
	sess *Session
	id   uint64

	snap *catalog // taken at first access
	// ddl is set once the transaction may have changed a definition: it
	// recorded DDL or took a table exclusively (markDDL).
	ddl bool
	dbs map[string]*txDB
	// changes made so far, in order.
	changes []Change
	// held: the table locks held, with their modes; records: the record
	// locks held (see lockManager).
	held    map[lockKey]modeSet
	records []heldRecord

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

// tableSlot is a transaction's version of one table. A slot is either
// exclusive (the transaction holds the table's X lock, or created or
// replaced the table: state is installed whole at commit) or row-level
// (the transaction holds IX and record locks: state is base plus the
// transaction's changes to the rows in touched, and at commit exactly
// those rows are applied to the newest committed version; see rebase).
type tableSlot struct {
	state   *tableState
	written bool

	exclusive bool
	// base is the committed version (from latest) state was built on.
	base *tableState
	// touched holds the primary keys of the rows the transaction
	// inserted, updated or deleted, ordered by the table's primary key.
	touched *btree.BTreeG[*entry]
}

func (d *txDB) copy() *txDB {
	n := *d
	n.tables = make(map[string]*tableSlot, len(d.tables))
	for k, v := range d.tables {
		s := *v
		if s.touched != nil {
			s.touched = s.touched.Copy()
		}
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
	tx.dbs = nil
	tx.changes = nil
	tx.snap = nil
	tx.generation++
	tx.epoch++
	tx.ddl = false
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
		if tx.dbs == nil {
			tx.dbs = map[string]*txDB{}
		}
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

// lockTable takes a table (or, with name "", database) lock. For S and X
// the transaction reads the table from latest from then on (a slot taken
// from latest); X makes the slot exclusive, rebasing a row-level slot onto
// latest first (nobody else can write the table any more). IS and IX only
// take the lock: row-level slots are made by rowSlot.
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
	if mode != lockShared && mode != lockExclusive {
		return nil
	}
	d := tx.overlay(db)
	lt := tx.eng.latest.Load().table(db, name)
	slot, ok := d.tables[key.table]
	if !ok {
		slot = &tableSlot{state: lt, base: lt}
		d.tables[key.table] = slot
	}
	if mode == lockExclusive && !slot.exclusive {
		tx.rebase(slot, lt)
		slot.exclusive = true
	}
	if mode == lockExclusive && !strings.HasPrefix(name, "\x00fulltext") {
		tx.markDDL()
	}
	return nil
}

// markDDL notes that the transaction may change a definition: its commit
// starts a new ddlSeq, and DefinitionSeq reports its definitions as not
// current until it ends. Every DDL path either records DDL or takes its
// table (or database) exclusively, so both mark; an exclusive lock for
// rows only (LOCK TABLES, DELETE without WHERE) marks too, which costs
// nothing but cached plans.
func (tx *txn) markDDL() { tx.ddl = true }

// writable locks a table exclusively and returns the transaction's private
// version of it for the current statement epoch (DDL, TRUNCATE, DELETE
// without WHERE, and DML on a table the transaction holds exclusively).
func (tx *txn) writable(ctx *sql.Context, db, name string) (*tableState, error) {
	if tx.readOnly && implicitlyCommits(ctx) {
		// MySQL commits the open transaction before DDL (the commit of a READ ONLY
		// transaction writes nothing to base tables) and runs the statement in a
		// transaction of its own; GMS commits after it.
		tx.readOnly = false
	}
	if tx.readOnly && !isHiddenDB(db) {
		return nil, sql.ErrReadOnlyTransaction.New()
	}
	if err := tx.lockTable(ctx, db, name, lockExclusive, waitNormal); err != nil {
		return nil, err
	}
	slot := tx.dbs[strings.ToLower(db)].tables[strings.ToLower(name)]
	return tx.ownVersion(slot, name)
}

// ownVersion returns slot's version private to the current statement
// epoch, cloning it when needed, and marks the slot written.
func (tx *txn) ownVersion(slot *tableSlot, name string) (*tableState, error) {
	if slot.state == nil {
		return nil, sql.ErrTableNotFound.New(name)
	}
	if slot.state.owner != tx || slot.state.epoch != tx.epoch {
		slot.state = slot.state.clone(tx, tx.epoch)
	}
	slot.written = true
	return slot.state, nil
}

// rowLevelTable reports whether DML on db.name takes IX and record locks
// (the transaction has no exclusive slot for the table) rather than the
// table's X lock. Tables without a primary key are row-level too: their
// record locks are keyed by the hidden row id (see rowIDSpace).
func (tx *txn) rowLevelTable(db, name string) bool {
	if d := tx.dbs[strings.ToLower(db)]; d != nil {
		if slot, ok := d.tables[strings.ToLower(name)]; ok && slot.exclusive {
			return false
		}
		if d.created {
			return false
		}
	}
	return tx.eng.latest.Load().table(db, name) != nil
}

// rowSlot returns the row-level slot of db.name, made from latest when the
// transaction has none; with rebase set, a slot built on an older version
// than latest's is rebased onto it, so a statement that starts now scans
// every row committed before it. The caller holds IS or IX on the table.
func (tx *txn) rowSlot(db, name string, rebase bool) *tableSlot {
	d := tx.overlay(db)
	tkey := strings.ToLower(name)
	lt := tx.eng.latest.Load().table(db, name)
	slot, ok := d.tables[tkey]
	if !ok {
		slot = &tableSlot{state: lt, base: lt}
		d.tables[tkey] = slot
		return slot
	}
	if rebase && !slot.exclusive && slot.base != lt {
		tx.rebase(slot, lt)
	}
	return slot
}

// rebase rebuilds slot on lt (the newest committed version): lt with the
// transaction's own version of every touched row. Rows the transaction
// did not change come from lt; those it changed are protected by its
// record locks, so lt holds no other transaction's change to them.
func (tx *txn) rebase(slot *tableSlot, lt *tableState) {
	if slot.state == nil || lt == nil {
		return
	}
	if slot.touched == nil || slot.touched.Len() == 0 {
		if slot.state.autoInc > lt.autoInc {
			n := lt.clone(tx, tx.epoch)
			n.autoInc = slot.state.autoInc
			slot.state, slot.base = n, lt
			return
		}
		slot.state, slot.base = lt, lt
		return
	}
	slot.state, slot.base = rebaseOnto(tx, lt, slot), lt
}

// rebaseOnto returns a version of lt with slot's touched rows as slot has
// them. The result is owned by tx in the current epoch.
func rebaseOnto(tx *txn, lt *tableState, slot *tableSlot) *tableState {
	own := slot.state
	n := lt.clone(tx, tx.epoch)
	slot.touched.Scan(func(k *entry) bool {
		base, inBase := n.rows.Get(k)
		mine, inOwn := own.rows.Get(k)
		switch {
		case inBase && inOwn:
			if base != mine {
				n.replace(base, mine)
			}
		case inBase:
			n.remove(base)
		case inOwn:
			n.put(mine)
		}
		return true
	})
	if own.autoInc > n.autoInc {
		n.autoInc = own.autoInc
	}
	return n
}

// writableRows returns the transaction's private version of db.name for a
// row operation: row-level (IX held; the caller takes record locks) unless
// the transaction holds the table exclusively (see rowLevelTable).
func (tx *txn) writableRows(ctx *sql.Context, db, name string) (*tableState, *tableSlot, error) {
	if tx.readOnly && !isHiddenDB(db) {
		return nil, nil, sql.ErrReadOnlyTransaction.New()
	}
	if !tx.rowLevelTable(db, name) {
		ts, err := tx.writable(ctx, db, name)
		return ts, nil, err
	}
	if err := tx.lockTable(ctx, db, name, lockIX, waitNormal); err != nil {
		return nil, nil, err
	}
	slot := tx.rowSlot(db, name, false)
	ts, err := tx.ownVersion(slot, name)
	return ts, slot, err
}

// prepareDML is what a statement writing db.name does before GMS reads
// the rows it will change: IX and a slot rebased onto latest, or the X
// lock for a table the transaction holds exclusively.
func (tx *txn) prepareDML(ctx *sql.Context, db, name string) error {
	if tx.readOnly && !isHiddenDB(db) {
		return sql.ErrReadOnlyTransaction.New()
	}
	if !tx.rowLevelTable(db, name) {
		_, err := tx.writable(ctx, db, name)
		return err
	}
	if err := tx.lockTable(ctx, db, name, lockIX, waitNormal); err != nil {
		return err
	}
	tx.rowSlot(db, name, true)
	return nil
}

// lockRecord takes the record lock on row's key cols in space. A deadlock
// rolls the whole transaction back, as InnoDB does.
func (tx *txn) lockRecord(ctx *sql.Context, space spaceKey, cols []keyCol, row sql.Row, mode lockMode, policy lockWaitPolicy) error {
	if tx.done {
		return errTxnDone
	}
	err := tx.eng.locks.acquireRecord(ctx, tx, space, cols, row, mode, lockWaitTimeout(ctx), policy)
	if err != nil && isDeadlock(err) {
		tx.reset()
	}
	return err
}

// lockRow takes the record lock on e's row: on its primary key, or on a
// table without one on its hidden row id (see rowIDSpace).
func (tx *txn) lockRow(ctx *sql.Context, db string, ts *tableState, e *entry, mode lockMode, policy lockWaitPolicy) error {
	if len(ts.pkOrds) == 0 {
		return tx.lockRecord(ctx, rowIDSpaceKey(db, ts), rowIDCols, sql.Row{e.rowID()}, mode, policy)
	}
	return tx.lockRecord(ctx, spaceKey{lockKey: tableKey(db, ts.name)}, ts.pk.cols, e.row, mode, policy)
}

// lockLookupKeys takes a shared record lock on each key value that l, a
// lookup through the primary key or a unique index of ts, names exactly
// (every column of the key equal to one non-NULL value). A foreign-key check
// makes such lookups: like InnoDB's, it then waits for a transaction that has
// inserted or deleted that parent row (it holds the key's X lock) and reads
// the committed outcome, and the parent cannot be deleted or re-keyed while
// the lock is held, to the end of the transaction. Other lookups lock nothing
// here (the rows they find are locked as they are read). Errors: 1205, 1213.
func (tx *txn) lockLookupKeys(ctx *sql.Context, db string, ts *tableState, l sql.IndexLookup) error {
	if ts == nil || l.IsEmptyRange || l.Index == nil {
		return nil
	}
	space := spaceKey{lockKey: tableKey(db, ts.name)}
	var cols []keyCol
	if strings.EqualFold(l.Index.ID(), PrimaryKeyName) && len(ts.pkOrds) > 0 {
		cols = ts.pk.cols
	} else {
		_, ix := ts.index(l.Index.ID())
		if ix == nil || !ix.unique {
			return nil
		}
		cols, space.index = ix.kd.cols, strings.ToLower(ix.name)
	}
	ranges, ok := l.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil
	}
next:
	for _, r := range ranges {
		if len(r) < len(cols) {
			continue
		}
		row := make(sql.Row, len(ts.schema))
		for i, c := range cols {
			v, ok, err := pointValue(ctx, r[i])
			if err != nil {
				return err
			}
			if !ok || v == nil || c.prefix > 0 {
				continue next
			}
			row[c.ord] = v
		}
		if err := tx.lockRecord(ctx, space, cols, row, lockShared, waitNormal); err != nil {
			return err
		}
	}
	return nil
}

// lockUnique takes the record lock on row's value of the unique index ix;
// it reports false (taking nothing) when the value has a NULL part, which
// never conflicts.
func (tx *txn) lockUnique(ctx *sql.Context, db string, ts *tableState, ix *indexState, row sql.Row) (bool, error) {
	for _, c := range ix.kd.cols {
		if row[c.ord] == nil {
			return false, nil
		}
	}
	sk := spaceKey{lockKey: tableKey(db, ts.name), index: strings.ToLower(ix.name)}
	return true, tx.lockRecord(ctx, sk, ix.kd.cols, row, lockExclusive, waitNormal)
}

func (slot *tableSlot) isTouched(k *entry) bool {
	if slot == nil || slot.touched == nil {
		return false
	}
	_, ok := slot.touched.Get(k)
	return ok
}

// touch records that the transaction changed the row e names (its
// primary key, or its hidden row id).
func (slot *tableSlot) touch(ts *tableState, e *entry) {
	if slot.touched == nil {
		slot.touched = newTree(ts.pk)
	}
	slot.touched.Set(e)
}

// syncRow brings the transaction's private version ts of a row-level
// slot up to date for the row with key k, which the transaction has
// locked: a row it changed is its own; any other is taken from latest (the
// newest committed version, which no one can change while the lock is
// held). It returns the row's current entry, or nil when there is none.
func (tx *txn) syncRow(db string, ts *tableState, slot *tableSlot, k *entry) *entry {
	if slot.isTouched(k) {
		e, _ := ts.rows.Get(k)
		return e
	}
	var le *entry
	if lt := tx.eng.latest.Load().table(db, ts.name); lt != nil {
		le, _ = lt.rows.Get(k)
	}
	pe, _ := ts.rows.Get(k)
	if pe != le {
		if pe != nil {
			ts.remove(pe)
		}
		if le != nil {
			ts.put(le)
		}
	}
	return le
}

// setTable installs a new version (or nil: dropped) of a table the
// transaction holds exclusively (or creates).
func (tx *txn) setTable(db, name string, ts *tableState) {
	d := tx.overlay(db)
	if ts != nil {
		ts.owner, ts.epoch = tx, tx.epoch
	}
	d.tables[strings.ToLower(name)] = &tableSlot{state: ts, written: true, exclusive: true}
	tx.markDDL()
}

func (tx *txn) record(ch Change) {
	if ch.Kind != DDL && isFulltextTable(ch.Table) {
		// FULLTEXT pseudo-tables follow their parent's rows on every
		// server (fulltext.go): their rows are not logged.
		return
	}
	tx.changes = append(tx.changes, ch)
}

// recordDDL records the current statement as a DDL change, once per
// statement however many storage operations it makes; it reports whether
// it added the change.
func (tx *txn) recordDDL(ctx *sql.Context) bool {
	tx.markDDL()
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

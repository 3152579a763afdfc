package storage

import (
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/btree"
)

// Table is a handle on one table. It holds only names: every call resolves
// the table through the calling context's transaction, so a handle cached
// in a plan always sees the right version.
type Table struct {
	db        *Database
	name      string
	collation sql.CollationID
	// lookup is set on handles returned by IndexedAccess.
	lookup *sql.IndexLookup
	// ownWrites: reads see the running statement's own changes (handles
	// of foreign-key checks); other reads see the table frozen at the
	// statement's start (txn.freeze).
	ownWrites bool
}

var (
	_ sql.Table                    = (*Table)(nil)
	_ sql.IndexAddressableTable    = (*Table)(nil)
	_ sql.IndexedTable             = (*Table)(nil)
	_ sql.InsertableTable          = (*Table)(nil)
	_ sql.UpdatableTable           = (*Table)(nil)
	_ sql.DeletableTable           = (*Table)(nil)
	_ sql.ReplaceableTable         = (*Table)(nil)
	_ sql.TruncateableTable        = (*Table)(nil)
	_ sql.AutoIncrementTable       = (*Table)(nil)
	_ sql.AlterableTable           = (*Table)(nil)
	_ sql.RewritableTable          = (*Table)(nil)
	_ sql.IndexAlterableTable      = (*Table)(nil)
	_ sql.ForeignKeyTable          = (*Table)(nil)
	_ sql.CheckAlterableTable      = (*Table)(nil)
	_ sql.PrimaryKeyAlterableTable = (*Table)(nil)
	_ sql.StatisticsTable          = (*Table)(nil)
	_ sql.CommentedTable           = (*Table)(nil)
	_ sql.CommentAlterableTable    = (*Table)(nil)
)

// Name implements sql.Nameable.
func (t *Table) Name() string { return t.name }

// String implements fmt.Stringer.
func (t *Table) String() string { return t.name }

// Collation implements sql.Table.
func (t *Table) Collation() sql.CollationID { return t.collation }

func (t *Table) state(ctx *sql.Context) (*tableState, *txn) {
	tx := txnFor(ctx, t.db.eng)
	return tx.table(t.db.name, t.name), tx
}

// Schema implements sql.Table.
func (t *Table) Schema(ctx *sql.Context) sql.Schema {
	ts, _ := t.state(ctx)
	if ts == nil {
		return sql.Schema{}
	}
	return ts.gmsSchema()
}

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *Table) PrimaryKeySchema(ctx *sql.Context) sql.PrimaryKeySchema {
	ts, _ := t.state(ctx)
	if ts == nil {
		return sql.NewPrimaryKeySchema(sql.Schema{})
	}
	return sql.NewPrimaryKeySchema(ts.gmsSchema(), ts.pkOrds...)
}

// Comment implements sql.CommentedTable.
func (t *Table) Comment() string {
	// Without a context, read the published version.
	if ts := t.db.eng.published.Load().table(t.db.name, t.name); ts != nil {
		return ts.comment
	}
	return ""
}

type partition struct{ key []byte }

func (p *partition) Key() []byte { return p.key }

type lookupPartition struct {
	partition
	lookup sql.IndexLookup
}

// Partitions implements sql.Table: one partition holds every row.
func (t *Table) Partitions(ctx *sql.Context) (sql.PartitionIter, error) {
	if t.lookup != nil {
		return t.LookupPartitions(ctx, *t.lookup)
	}
	return sql.PartitionsToPartitionIter(&partition{key: []byte(t.name)}), nil
}

// LookupPartitions implements sql.IndexedTable.
func (t *Table) LookupPartitions(ctx *sql.Context, l sql.IndexLookup) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(&lookupPartition{partition: partition{key: []byte(t.name)}, lookup: l}), nil
}

// PartitionRows implements sql.Table.
//
// Reads that lock rows take an intention lock on the table and a record
// lock on each row (by primary key, or hidden row id on a table without
// one) before returning it, and return the row's newest committed version
// (or the transaction's own), as InnoDB's locking reads do; a row deleted
// meanwhile is skipped:
//   - SELECT … FOR UPDATE (X) and FOR SHARE / LOCK IN SHARE MODE (S), over
//     latest with the transaction's own changes; NOWAIT fails with 3572
//     instead of waiting, SKIP LOCKED skips the rows it would wait for;
//   - the reads of the tables a DML statement (INSERT/REPLACE … SELECT,
//     CREATE TABLE … SELECT, multi-table or subquery UPDATE and DELETE)
//     does not write, S, except under READ COMMITTED and READ UNCOMMITTED
//     (Session.lockingRead);
//   - the scan of a table by the statement that writes it (UPDATE, DELETE,
//     INSERT … SELECT), X, over the version frozen at the statement's start;
//   - foreign-key checks (handles with ownWrites), S; an exact lookup
//     through a unique key first locks the key value itself
//     (txn.lockLookupKeys), so the check waits for a transaction that
//     inserted or deleted that parent and then sees its outcome.
//
// On a table the transaction holds exclusively (it created it, or DDL or
// TRUNCATE in it took the X lock) a locking read takes the table's S or X
// lock, which X already covers.
func (t *Table) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	tx := txnFor(ctx, t.db.eng)
	var mode lockMode
	policy := waitNormal
	source := false
	if s, ok := ctx.Session.(*Session); ok {
		mode, policy, source = s.lockingRead(ctx)
	}
	key := tableKey(t.db.name, t.name)
	f := tx.frozen[key]
	frozenDML := !t.ownWrites && f != nil && (ctx.Pid() == 0 || ctx.Pid() == f.pid)
	if source && !frozenDML && !t.ownWrites && readCommitted(ctx) {
		// A statement's sources are consistent reads under READ COMMITTED.
		mode = 0
	}
	rowLevel := tx.rowLevelTable(t.db.name, t.name)

	var ts *tableState
	var slot *tableSlot
	recMode := lockMode(0)
	switch {
	case rowLevel && frozenDML:
		ts = f.state
		slot = tx.rowSlot(t.db.name, t.name, false)
		recMode, policy = lockExclusive, waitNormal
	case rowLevel && t.ownWrites:
		if lp, ok := p.(*lookupPartition); ok {
			if err := tx.lockLookupKeys(ctx, t.db.name, tx.table(t.db.name, t.name), lp.lookup); err != nil {
				return nil, err
			}
		}
		slot = tx.rowSlot(t.db.name, t.name, true)
		ts = slot.state
		recMode, policy = lockShared, waitNormal
	case rowLevel && mode != 0:
		intent := lockIS
		if mode == lockExclusive {
			intent = lockIX
		}
		if err := tx.lockTable(ctx, t.db.name, t.name, intent, waitNormal); err != nil {
			return nil, err
		}
		if d := tx.dbs[key.db]; d != nil && d.tables[key.table] != nil {
			slot = tx.rowSlot(t.db.name, t.name, true)
			ts = slot.state
		} else {
			ts = tx.eng.latest.Load().table(t.db.name, t.name)
		}
		recMode = mode
	default:
		if mode != 0 {
			if err := tx.lockTable(ctx, t.db.name, t.name, mode, policy); err == errSkipLocked {
				return &sliceIter{}, nil
			} else if err != nil {
				return nil, err
			}
		}
		ts = tx.table(t.db.name, t.name)
		if !t.ownWrites {
			ts = tx.readTable(t.db.name, t.name, ctx.Pid())
		}
	}
	if ts == nil {
		return nil, sql.ErrTableNotFound.New(t.name)
	}
	var iter entryIter
	var recheck func(sql.Row) (bool, error)
	if lp, ok := p.(*lookupPartition); ok {
		it, err := newLookupIter(ctx, ts, lp.lookup)
		if err != nil {
			return nil, err
		}
		iter = it
		if recMode != 0 && !strings.EqualFold(lp.lookup.Index.ID(), PrimaryKeyName) {
			// A newer version of a row may have left the range.
			recheck = rangeCheck(ctx, ts, lp.lookup)
		}
	} else {
		iter = newTreeIter(ts.readTree(ts.rows))
	}
	if recMode == 0 {
		return iter, nil
	}
	return &lockingIter{inner: iter, tx: tx, db: t.db.name, ts: ts, slot: slot, mode: recMode, policy: policy, recheck: recheck}, nil
}

// lockingIter locks each row its inner iterator returns and returns the
// row's current version (see PartitionRows).
type lockingIter struct {
	inner   entryIter
	tx      *txn
	db      string
	ts      *tableState // the version scanned
	slot    *tableSlot  // the transaction's slot, or nil
	mode    lockMode
	policy  lockWaitPolicy
	recheck func(sql.Row) (bool, error)
}

func (i *lockingIter) Next(ctx *sql.Context) (sql.Row, error) {
	for {
		k, err := i.inner.nextEntry(ctx)
		if err != nil {
			return nil, err
		}
		if err := i.tx.lockRow(ctx, i.db, i.ts, k, i.mode, i.policy); err != nil {
			if err == errSkipLocked {
				continue
			}
			return nil, err
		}
		if i.slot.isTouched(k) {
			// The transaction's own row, as the scanned version has it
			// (a statement does not see its own changes while it scans).
			return k.row, nil
		}
		lt := i.tx.eng.latest.Load().table(i.db, i.ts.name)
		if lt == nil {
			return nil, sql.ErrTableNotFound.New(i.ts.name)
		}
		e, ok := lt.rows.Get(k)
		if !ok {
			// Deleted meanwhile.
			continue
		}
		if i.recheck != nil {
			in, err := i.recheck(e.row)
			if err != nil {
				return nil, err
			}
			if !in {
				continue
			}
		}
		return e.row, nil
	}
}

func (i *lockingIter) Close(ctx *sql.Context) error { return i.inner.Close(ctx) }

// entryIter is a row iterator over stored entries: nextEntry returns the
// entry whose row Next would return (a locking read needs the hidden row id
// of a table without a primary key).
type entryIter interface {
	sql.RowIter
	nextEntry(*sql.Context) (*entry, error)
}

// treeIter walks a whole tree in order.
type treeIter struct {
	it      btree.IterG[*entry]
	started bool
	done    bool
}

func newTreeIter(tr *btree.BTreeG[*entry]) *treeIter {
	return &treeIter{it: tr.Iter()}
}

func (i *treeIter) Next(ctx *sql.Context) (sql.Row, error) {
	e, err := i.nextEntry(ctx)
	if err != nil {
		return nil, err
	}
	return e.row, nil
}

func (i *treeIter) nextEntry(*sql.Context) (*entry, error) {
	if i.done {
		return nil, io.EOF
	}
	var ok bool
	if !i.started {
		i.started = true
		ok = i.it.First()
	} else {
		ok = i.it.Next()
	}
	if !ok {
		i.done = true
		i.it.Release()
		return nil, io.EOF
	}
	return i.it.Item(), nil
}

func (i *treeIter) Close(*sql.Context) error {
	if !i.done {
		i.done = true
		i.it.Release()
	}
	return nil
}

// sliceIter returns rows collected in advance.
type sliceIter struct {
	rows []sql.Row
	i    int
}

func (s *sliceIter) Next(*sql.Context) (sql.Row, error) {
	if s.i >= len(s.rows) {
		return nil, io.EOF
	}
	r := s.rows[s.i]
	s.i++
	return r, nil
}

func (s *sliceIter) Close(*sql.Context) error { return nil }

// entrySliceIter returns entries collected in advance.
type entrySliceIter struct {
	entries []*entry
	i       int
}

func (s *entrySliceIter) nextEntry(*sql.Context) (*entry, error) {
	if s.i >= len(s.entries) {
		return nil, io.EOF
	}
	e := s.entries[s.i]
	s.i++
	return e, nil
}

func (s *entrySliceIter) Next(ctx *sql.Context) (sql.Row, error) {
	e, err := s.nextEntry(ctx)
	if err != nil {
		return nil, err
	}
	return e.row, nil
}

func (s *entrySliceIter) Close(*sql.Context) error { return nil }

// RowCount implements sql.StatisticsTable (exact).
func (t *Table) RowCount(ctx *sql.Context) (uint64, bool, error) {
	ts, _ := t.state(ctx)
	if ts == nil {
		return 0, true, nil
	}
	return uint64(ts.rowCount()), true, nil
}

// innodbPage is the page size InnoDB reports table sizes in.
const innodbPage = 16384

// DataLength implements sql.StatisticsTable, as InnoDB reports it: the
// clustered index's size in whole 16 KiB pages, at least one page even for
// an empty table (SHOW TABLE STATUS Data_length 16384 and Avg_row_length
// 16384/rows for a small table: testdata/mariadb/conformance.txt). The
// bytes are an estimate (16 per column and 16 per row).
func (t *Table) DataLength(ctx *sql.Context) (uint64, error) {
	ts, _ := t.state(ctx)
	if ts == nil {
		return 0, nil
	}
	bytes := uint64(ts.rowCount()) * uint64(16*len(ts.schema)+16)
	pages := max((bytes+innodbPage-1)/innodbPage, 1)
	return pages * innodbPage, nil
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter.
func (t *Table) PeekNextAutoIncrementValue(ctx *sql.Context) (uint64, error) {
	ts, _ := t.state(ctx)
	if ts == nil {
		return 0, sql.ErrTableNotFound.New(t.name)
	}
	return ts.autoInc, nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable: with a nil
// insertVal it hands out the next value; a given value is the one used (it
// is returned), and at or above the counter it moves the counter past it.
// (ALTER TABLE … ADD COLUMN … AUTO_INCREMENT numbers existing rows by
// passing each row's value and using the result.)
func (t *Table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal interface{}) (uint64, error) {
	tx := txnFor(ctx, t.db.eng)
	ts, slot, err := tx.writableRows(ctx, t.db.name, t.name)
	if err != nil {
		return 0, err
	}
	if insertVal != nil {
		v, ok := toUint64(insertVal)
		if !ok {
			return ts.autoInc, nil
		}
		ts.ai.bump(ts, v)
		return v, nil
	}
	if slot != nil {
		// Row-level: other transactions insert concurrently.
		return ts.ai.take(ts), nil
	}
	// Under the table's X lock this version's counter is the truth (it
	// may have been reset by TRUNCATE in this transaction).
	v := ts.autoInc
	ts.ai.bump(ts, v)
	return v, nil
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *Table) AutoIncrementSetter(ctx *sql.Context) sql.AutoIncrementSetter {
	return &autoIncSetter{t: t}
}

type autoIncSetter struct{ t *Table }

// SetAutoIncrementValue sets the counter (ALTER TABLE … AUTO_INCREMENT = n);
// like InnoDB it never goes below the largest value in the table.
func (a *autoIncSetter) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	tx := txnFor(ctx, a.t.db.eng)
	ts, err := tx.writable(ctx, a.t.db.name, a.t.name)
	if err != nil {
		return err
	}
	if max := ts.maxAutoIncValue(); v <= max {
		v = max + 1
	}
	ts.autoInc = v
	a.t.recordDDL(ctx, tx)
	return nil
}

func (a *autoIncSetter) AcquireAutoIncrementLock(ctx *sql.Context) (func(), error) {
	// Values come from the table's shared counter (autoIncShared), which
	// never hands one out twice: no lock is needed.
	return func() {}, nil
}

func (a *autoIncSetter) Close(*sql.Context) error { return nil }

func (ts *tableState) autoIncOrd() int {
	for i, c := range ts.schema {
		if c.AutoIncrement {
			return i
		}
	}
	return -1
}

func (ts *tableState) maxAutoIncValue() uint64 {
	ord := ts.autoIncOrd()
	if ord < 0 {
		return 0
	}
	var max uint64
	ts.rows.Scan(func(e *entry) bool {
		if v, ok := toUint64(e.row[ord]); ok && v > max {
			max = v
		}
		return true
	})
	return max
}

func toUint64(v interface{}) (uint64, bool) {
	switch x := v.(type) {
	case int8:
		return uint64(max(x, 0)), x >= 0
	case int16:
		return uint64(max(x, 0)), x >= 0
	case int32:
		return uint64(max(x, 0)), x >= 0
	case int64:
		return uint64(max(x, 0)), x >= 0
	case int:
		return uint64(max(x, 0)), x >= 0
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case uint:
		return uint64(x), true
	case float32:
		return uint64(max(x, 0)), x >= 0
	case float64:
		return uint64(max(x, 0)), x >= 0
	}
	return 0, false
}

// implicitlyCommits reports whether the running statement is DDL that
// commits the open transaction before it runs (ALTER, CREATE, DROP, RENAME
// or TRUNCATE TABLE and their kin; not CREATE or DROP TEMPORARY TABLE, which
// MySQL runs inside the transaction).
func implicitlyCommits(ctx *sql.Context) bool {
	w := leadingWords(ctx.Query(), 2)
	if len(w) == 0 {
		return false
	}
	switch w[0] {
	case "alter", "rename", "truncate":
		return true
	case "create", "drop":
		return len(w) < 2 || w[1] != "temporary"
	}
	return false
}

// isTruncateStatement reports whether the running statement is TRUNCATE
// (GMS also calls Truncate for a DELETE without WHERE, which MySQL logs row
// by row).
func isTruncateStatement(ctx *sql.Context) bool {
	return firstKeyword(ctx.Query()) == "truncate"
}

var _ sql.TemporaryTable = (*Table)(nil)

// IsTemporary implements sql.TemporaryTable: whether t is a session's
// temporary table (CREATE TEMPORARY TABLE; see temporary.go).
func (t *Table) IsTemporary() bool { return t.db.shown != "" }

// isCreateIfNotExists reports whether the running statement is CREATE
// [TEMPORARY] TABLE IF NOT EXISTS.
func isCreateIfNotExists(ctx *sql.Context) bool {
	f := leadingWords(ctx.Query(), 6)
	if len(f) > 1 && f[1] == "temporary" {
		f = append(f[:1:1], f[2:]...)
	}
	return len(f) >= 5 && f[0] == "create" && f[1] == "table" && f[2] == "if" && f[3] == "not" && f[4] == "exists"
}

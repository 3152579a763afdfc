package storage

import (
	"bytes"
	"math"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	sqltypes "github.com/dolthub/vitess/go/sqltypes"
)

// Row operations on a transaction's private table version. Each checks the
// primary and unique keys (GMS's unique-key error, MySQL text, code 1062),
// maintains every index and records the change.
//
// On a row-level slot each operation first takes X record locks: on the
// primary key (or, without one, the hidden row id) of every row it
// updates or deletes and every row with a primary key it inserts, and on
// every non-NULL unique-key value it adds or removes. Holding them, the row's newest committed version is the truth
// for any row the transaction has not changed itself (syncRow), so an
// insert of a key another transaction inserted waits for it, then gets
// 1062 if it committed or succeeds if it rolled back.

func (tx *txn) insertRow(ctx *sql.Context, db, name string, row sql.Row) error {
	ts, slot, err := tx.writableRows(ctx, db, name)
	if err != nil {
		return err
	}
	row = storedRow(row)
	// A keyless table's row gets a new hidden row id: nobody else can
	// name the row, so it needs no lock and conflicts with no other
	// insert.
	e := ts.newEntry(row, 0)
	if slot != nil {
		if len(ts.pkOrds) > 0 {
			if err := tx.lockRow(ctx, db, ts, e, lockExclusive, waitNormal); err != nil {
				return err
			}
			if old := tx.syncRow(db, ts, slot, e); old != nil {
				return dupKeyError(ts.name, PrimaryKeyName, pkValues(ts, row), old.row, true)
			}
		}
		for _, ix := range ts.indexes {
			if !ix.unique {
				continue
			}
			if err := tx.checkUnique(ctx, db, ts, slot, ix, row, nil); err != nil {
				return err
			}
		}
	} else {
		if len(ts.pkOrds) > 0 {
			if old, found := ts.rows.Get(e); found {
				return dupKeyError(ts.name, PrimaryKeyName, pkValues(ts, row), old.row, true)
			}
		}
		for _, ix := range ts.indexes {
			if ix.unique {
				if other := ix.conflict(row, nil); other != nil {
					return dupKeyError(ts.name, ix.name, ix.values(row), other.row, false)
				}
			}
		}
	}
	ts.put(e)
	if slot != nil {
		slot.touch(ts, e)
	}
	ts.bumpAutoInc(row)
	tx.record(Change{Kind: RowInsert, Database: db, Table: ts.name, Schema: ts.schema, After: row})
	return nil
}

// checkUnique locks row's value of the unique index ix and fails with
// 1062 when another row holds it: one the transaction changed, as its own
// version has it, or any other as latest has it. self (the row being
// updated) does not conflict. The conflicting row is locked too and
// returned in its current version, for ON DUPLICATE KEY UPDATE and
// REPLACE.
func (tx *txn) checkUnique(ctx *sql.Context, db string, ts *tableState, slot *tableSlot, ix *indexState, row sql.Row, self *entry) error {
	locked, err := tx.lockUnique(ctx, db, ts, ix, row)
	if err != nil || !locked {
		return err
	}
	isSelf := func(e *entry) bool { return self != nil && ts.pk.cmp(e, self) == 0 }
	var other *entry
	ix.each(row, func(e *entry) bool {
		if slot.isTouched(e) && !isSelf(e) {
			other = e
			return false
		}
		return true
	})
	if other == nil {
		if lt := tx.eng.latest.Load().table(db, ts.name); lt != nil {
			if _, lix := lt.index(ix.name); lix != nil {
				lix.each(row, func(e *entry) bool {
					if !slot.isTouched(e) && !isSelf(e) {
						other = e
						return false
					}
					return true
				})
			}
		}
	}
	if other == nil {
		return nil
	}
	if err := tx.lockRow(ctx, db, ts, other, lockExclusive, waitNormal); err != nil {
		return err
	}
	if cur := tx.syncRow(db, ts, slot, other); cur != nil {
		other = cur
	}
	return dupKeyError(ts.name, ix.name, ix.values(row), other.row, false)
}

// uniqueChanged reports whether a and b differ in ix's columns.
func uniqueChanged(ix *indexState, a, b sql.Row) bool {
	return cmpCols(ix.kd.cols, a, b) != 0
}

func (tx *txn) updateRow(ctx *sql.Context, db, name string, old, new sql.Row) error {
	ts, slot, err := tx.writableRows(ctx, db, name)
	if err != nil {
		return err
	}
	cur, err := tx.currentRow(ctx, db, ts, slot, old)
	if err != nil {
		return err
	}
	if cur == nil {
		return errKeyNotFound(ts.name)
	}
	new = storedRow(new)
	e := ts.newEntry(new, ts.entryRowID(cur))
	if slot != nil {
		// A table without a primary key keeps the row's hidden id: the
		// key cannot change.
		if ts.pk.cmp(cur, e) != 0 {
			if err := tx.lockRow(ctx, db, ts, e, lockExclusive, waitNormal); err != nil {
				return err
			}
			if other := tx.syncRow(db, ts, slot, e); other != nil {
				return dupKeyError(ts.name, PrimaryKeyName, pkValues(ts, new), other.row, true)
			}
		}
		for _, ix := range ts.indexes {
			if !ix.unique || !uniqueChanged(ix, cur.row, new) {
				continue
			}
			if _, err := tx.lockUnique(ctx, db, ts, ix, cur.row); err != nil {
				return err
			}
			if err := tx.checkUnique(ctx, db, ts, slot, ix, new, cur); err != nil {
				return err
			}
		}
	} else {
		if len(ts.pkOrds) > 0 && ts.pk.cmp(cur, e) != 0 {
			if other, found := ts.rows.Get(e); found {
				return dupKeyError(ts.name, PrimaryKeyName, pkValues(ts, new), other.row, true)
			}
		}
		for _, ix := range ts.indexes {
			if ix.unique {
				if other := ix.conflict(new, cur); other != nil {
					return dupKeyError(ts.name, ix.name, ix.values(new), other.row, false)
				}
			}
		}
	}
	ts.replace(cur, e)
	if slot != nil {
		slot.touch(ts, cur)
		slot.touch(ts, e)
	}
	ts.bumpAutoInc(new)
	tx.record(Change{Kind: RowUpdate, Database: db, Table: ts.name, Schema: ts.schema, Before: cur.row, After: new})
	return nil
}

func (tx *txn) deleteRow(ctx *sql.Context, db, name string, row sql.Row) error {
	ts, slot, err := tx.writableRows(ctx, db, name)
	if err != nil {
		return err
	}
	cur, err := tx.currentRow(ctx, db, ts, slot, row)
	if err != nil {
		return err
	}
	if slot != nil {
		if cur != nil {
			for _, ix := range ts.indexes {
				if ix.unique {
					if _, err := tx.lockUnique(ctx, db, ts, ix, cur.row); err != nil {
						return err
					}
				}
			}
		}
	}
	if cur == nil {
		return errKeyNotFound(ts.name)
	}
	ts.remove(cur)
	if slot != nil {
		slot.touch(ts, cur)
	}
	tx.record(Change{Kind: RowDelete, Database: db, Table: ts.name, Schema: ts.schema, Before: cur.row})
	return nil
}

// storedRow returns the copy of row the engine keeps: a slice of its own,
// with integers and floats boxed afresh and strings and byte slices copied,
// so a stored row shares no memory with the statement that produced it. (A
// value GMS boxed sits in a tiny-allocator block among the statement's
// garbage and keeps that whole block alive; a string may point into the
// query text.) Other values (decimals, times, JSON) are kept as they are.
// Boxing a row's values one after another packs them together.
func storedRow(row sql.Row) sql.Row {
	out := make(sql.Row, len(row))
	for i, v := range row {
		switch x := v.(type) {
		case int8:
			out[i] = x
		case int16:
			out[i] = x
		case int32:
			out[i] = x
		case int64:
			out[i] = x
		case uint8:
			out[i] = x
		case uint16:
			out[i] = x
		case uint32:
			out[i] = x
		case uint64:
			out[i] = x
		case float32:
			out[i] = x
		case float64:
			out[i] = x
		case string:
			out[i] = strings.Clone(x)
		case []byte:
			out[i] = bytes.Clone(x)
		default:
			out[i] = v
		}
	}
	return out
}

// put adds e to the rows and every index.
func (ts *tableState) put(e *entry) {
	ts.rows.Set(e)
	for _, ix := range ts.indexes {
		ix.tree.Set(e)
	}
}

// replace puts e in the place of old, the stored entry of the same row (an
// update): a tree whose order does not tell the two apart (the primary
// tree when the key did not change; an index whose columns did not) swaps
// them in one descent, any other deletes old and adds e. The result is
// remove(old) then put(e).
func (ts *tableState) replace(old, e *entry) {
	if ts.pk.cmp(old, e) == 0 {
		ts.rows.Set(e)
	} else {
		ts.rows.Delete(old)
		ts.rows.Set(e)
	}
	for _, ix := range ts.indexes {
		if ix.kd.cmp(old, e) != 0 {
			ix.tree.Delete(old)
		}
		ix.tree.Set(e)
	}
}

// remove deletes e from the rows and every index.
func (ts *tableState) remove(e *entry) {
	ts.rows.Delete(e)
	for _, ix := range ts.indexes {
		ix.tree.Delete(e)
	}
}

// find returns the stored entry for row: by primary key, or for keyless
// tables the first entry equal in every column.
func (ts *tableState) find(row sql.Row) *entry {
	if len(ts.pkOrds) > 0 {
		if e, ok := ts.rows.Get(ts.newEntry(row, 0)); ok {
			return e
		}
		return nil
	}
	var found *entry
	ts.rows.Scan(func(e *entry) bool {
		if rowsEqual(ts.schema, e.row, row) {
			found = e
			return false
		}
		return true
	})
	return found
}

func rowsEqual(sch sql.Schema, a, b sql.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if compareValues(sch[i].Type, 0, a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}

func (ts *tableState) bumpAutoInc(row sql.Row) {
	if ts.autoInc == 0 {
		return
	}
	if ord := ts.autoIncOrd(); ord >= 0 {
		if v, ok := toUint64(row[ord]); ok {
			ts.ai.bump(ts, v)
		}
	}
}

// advanceAutoInc moves the AUTO_INCREMENT counter past used value v when v
// is at or above it. As in InnoDB the counter stops at the column type's
// largest value (the next insert then fails with a duplicate key instead
// of wrapping; SHOW CREATE TABLE shows AUTO_INCREMENT=<max>).
func (ts *tableState) advanceAutoInc(v uint64) {
	if v < ts.autoInc {
		return
	}
	max := ts.autoIncLimit()
	if v >= max {
		ts.autoInc = max
		return
	}
	ts.autoInc = v + 1
}

// autoIncLimit is the largest value ts's AUTO_INCREMENT column can hold.
func (ts *tableState) autoIncLimit() uint64 {
	if ord := ts.autoIncOrd(); ord >= 0 {
		return autoIncMax(ts.schema[ord].Type)
	}
	return math.MaxUint64
}

// autoIncMax is the largest value of an AUTO_INCREMENT column of type t.
func autoIncMax(t sql.Type) uint64 {
	switch t.Type() {
	case sqltypes.Int8:
		return math.MaxInt8
	case sqltypes.Uint8:
		return math.MaxUint8
	case sqltypes.Int16:
		return math.MaxInt16
	case sqltypes.Uint16:
		return math.MaxUint16
	case sqltypes.Int24:
		return 1<<23 - 1
	case sqltypes.Uint24:
		return 1<<24 - 1
	case sqltypes.Int32:
		return math.MaxInt32
	case sqltypes.Uint32:
		return math.MaxUint32
	case sqltypes.Int64:
		return math.MaxInt64
	}
	return math.MaxUint64
}

func pkValues(ts *tableState, row sql.Row) []interface{} {
	out := make([]interface{}, len(ts.pkOrds))
	for i, o := range ts.pkOrds {
		out[i] = row[o]
	}
	return out
}

func (ix *indexState) values(row sql.Row) []interface{} {
	out := make([]interface{}, len(ix.kd.cols))
	for i, c := range ix.kd.cols {
		out[i] = truncatePrefix(row[c.ord], c.prefix)
	}
	return out
}

// conflict returns an entry other than self whose unique key equals row's,
// or nil. Keys with a NULL part never conflict, as in MySQL.
func (ix *indexState) conflict(row sql.Row, self *entry) *entry {
	var found *entry
	ix.each(row, func(e *entry) bool {
		if e != self {
			found = e
			return false
		}
		return true
	})
	return found
}

// each calls fn, until it returns false, for every entry whose key equals
// row's in ix's columns; none when row's key has a NULL part.
func (ix *indexState) each(row sql.Row, fn func(*entry) bool) {
	vals := make([]interface{}, len(ix.kd.cols))
	for i, c := range ix.kd.cols {
		if row[c.ord] == nil {
			return
		}
		vals[i] = row[c.ord]
	}
	ix.tree.Ascend(newProbe(vals, false), func(e *entry) bool {
		if cmpCols(ix.kd.cols, row, e.row) != 0 {
			return false
		}
		return fn(e)
	})
}

// build fills a new index from the table's rows, failing with a
// duplicate-key error when a unique index would be violated.
func (ts *tableState) build(ix *indexState) error {
	var err error
	ts.rows.Scan(func(e *entry) bool {
		if ix.unique {
			if other := ix.conflict(e.row, nil); other != nil {
				err = dupKeyError(ts.name, ix.name, ix.values(e.row), other.row, false)
				return false
			}
		}
		ix.tree.Set(e)
		return true
	})
	return err
}

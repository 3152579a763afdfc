package storage

import (
	"bytes"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Row locks of tables without a primary key. InnoDB clusters such a table on
// a hidden 6-byte row id (GEN_CLUST_INDEX) and locks its records by it; here
// every stored row of such a table has a hidden id (entry.id) handed out by a
// counter shared by every version of the table (tableState.rowIDs), so a row
// keeps its id in every snapshot and across commits, and record locks on
// these rows are keyed by it in a space of their own (rowIDSpace). Two
// transactions changing different rows never wait on each other; inserts take
// a fresh id and conflict with nothing but the same value of a unique key.
//
// GMS hands rows to the editor by value, without the id: currentRow finds the
// stored row the values name (identical rows are interchangeable) and locks
// it.

// rowIDSpace is the index name of the record-lock space of hidden row ids.
// No index can be named so (index names have no NUL).
const rowIDSpace = "\x00gen_clust_index"

// rowIDCols is the key of a hidden row id lock: one unsigned column.
var rowIDCols = []keyCol{{ord: 0, typ: types.Uint64}}

func rowIDSpaceKey(db string, ts *tableState) spaceKey {
	return spaceKey{lockKey: tableKey(db, ts.name), index: rowIDSpace}
}

// currentRow returns, X-locked and up to date in ts, the stored row that the
// update or delete of row (GMS's values of it) changes, or nil when there is
// none. Without a row-level slot (the table's X lock is held) it is the first
// row of ts equal in every column. On a row-level slot of a table with a
// primary key it is the row with row's key (locked, then synced); of a table
// without one (keylessRow) a row equal in every column.
func (tx *txn) currentRow(ctx *sql.Context, db string, ts *tableState, slot *tableSlot, row sql.Row) (*entry, error) {
	if slot == nil {
		return ts.find(row), nil
	}
	if len(ts.pkOrds) == 0 {
		return tx.keylessRow(ctx, db, ts, slot, row)
	}
	k := ts.newEntry(row, 0)
	if err := tx.lockRow(ctx, db, ts, k, lockExclusive, waitNormal); err != nil {
		return nil, err
	}
	return tx.syncRow(db, ts, slot, k), nil
}

// keylessRow picks the row of a table without a primary key that row's values
// name. Among rows equal in every column it prefers, in order: one the
// transaction changed or inserted itself (as its version has it); one whose
// lock the transaction holds (the statement's scan locked the row it
// returned); any other committed one, waiting for its lock (error 1205 or
// 1213) and taking it only if it still has these values. The row chosen is
// synced into ts (syncRow).
func (tx *txn) keylessRow(ctx *sql.Context, db string, ts *tableState, slot *tableSlot, row sql.Row) (*entry, error) {
	var own *entry
	if slot.touched != nil && slot.touched.Len() > 0 {
		ts.equalRows(row, func(e *entry) bool {
			if slot.isTouched(e) {
				own = e
				return false
			}
			return true
		})
	}
	if own != nil {
		return own, nil
	}
	lt := tx.eng.latest.Load().table(db, ts.name)
	if lt == nil {
		return nil, nil
	}
	var cands []*entry
	lt.equalRows(row, func(e *entry) bool {
		if !slot.isTouched(e) {
			cands = append(cands, e)
		}
		return true
	})
	space := rowIDSpaceKey(db, ts)
	for _, c := range cands {
		if tx.eng.locks.holdsRecord(tx, space, rowIDCols, sql.Row{c.rowID()}, lockExclusive) {
			return tx.syncRow(db, ts, slot, c), nil
		}
	}
	for _, c := range cands {
		if err := tx.lockRow(ctx, db, ts, c, lockExclusive, waitNormal); err != nil {
			return nil, err
		}
		if cur := tx.syncRow(db, ts, slot, c); cur != nil && sameValues(ts.schema, cur.row, row) {
			return cur, nil
		}
	}
	return nil, nil
}

// equalRows calls fn, until it returns false, for each row of ts equal to row
// in every column (sameValues). It narrows the search through the first ordered secondary
// index when there is one, else scans the table. The trees must not change
// during the call.
func (ts *tableState) equalRows(row sql.Row, fn func(*entry) bool) {
	visit := func(e *entry) bool {
		if sameValues(ts.schema, e.row, row) {
			return fn(e)
		}
		return true
	}
	for _, ix := range ts.indexes {
		if ix.vector || ix.ft != nil || len(ix.kd.cols) == 0 {
			continue
		}
		vals := make([]interface{}, len(ix.kd.cols))
		for i, c := range ix.kd.cols {
			vals[i] = row[c.ord]
		}
		ix.tree.Ascend(newProbe(vals, false), func(e *entry) bool {
			if cmpCols(ix.kd.cols, row, e.row) != 0 {
				return false
			}
			return visit(e)
		})
		return
	}
	ts.rows.Scan(visit)
}

// sameValues reports whether a and b hold the same values: equal in every
// column as the column's type compares them, and strings and byte strings
// identical (a case-insensitive collation does not make 'a' the row 'A').
func sameValues(sch sql.Schema, a, b sql.Row) bool {
	if !rowsEqual(sch, a, b) {
		return false
	}
	for i := range a {
		switch x := a[i].(type) {
		case string:
			if y, ok := b[i].(string); ok && x != y {
				return false
			}
		case []byte:
			if y, ok := b[i].([]byte); ok && !bytes.Equal(x, y) {
				return false
			}
		}
	}
	return true
}

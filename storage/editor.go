package storage

import (
	"github.com/dolthub/go-mysql-server/sql"
)

// editor is the sql.TableEditor of a Table: every GMS write path (INSERT,
// UPDATE, DELETE, REPLACE, foreign-key cascades) goes through it. It takes
// what prepareDML takes when created, before GMS reads the rows it will
// change: IX, and record locks on each row as it is read (PartitionRows)
// and written (rows.go), keyed by primary key or, on a table without one,
// by hidden row id (keyless.go).
type editor struct {
	t    *Table
	tx   *txn
	err  error // lock failure, returned by the first write
	mark *mark
	// began: between StatementBegin and the statement's end, of process pid.
	began bool
	pid   uint64
}

var (
	_ sql.TableEditor      = (*editor)(nil)
	_ sql.ForeignKeyEditor = (*editor)(nil)
	_ sql.RowReplacer      = (*editor)(nil)
	_ sql.IndexAddressable = (*editor)(nil)
	_ sql.EditOpenerCloser = (*editor)(nil)
)

func (t *Table) newEditor(ctx *sql.Context) *editor {
	tx := txnFor(ctx, t.db.eng)
	err := tx.prepareDML(ctx, t.db.name, t.name)
	return &editor{t: t, tx: tx, err: err}
}

// Inserter implements sql.InsertableTable. Editors of a table with
// FULLTEXT indexes keep them current (withFulltext).
func (t *Table) Inserter(ctx *sql.Context) sql.RowInserter {
	return t.withFulltext(ctx, t.newEditor(ctx))
}

// Updater implements sql.UpdatableTable.
func (t *Table) Updater(ctx *sql.Context) sql.RowUpdater {
	return t.withFulltext(ctx, t.newEditor(ctx))
}

// Deleter implements sql.DeletableTable.
func (t *Table) Deleter(ctx *sql.Context) sql.RowDeleter {
	return t.withFulltext(ctx, t.newEditor(ctx))
}

// Replacer implements sql.ReplaceableTable.
func (t *Table) Replacer(ctx *sql.Context) sql.RowReplacer {
	return t.withFulltext(ctx, t.newEditor(ctx))
}

// GetForeignKeyEditor implements sql.ForeignKeyTable.
func (t *Table) GetForeignKeyEditor(ctx *sql.Context) sql.ForeignKeyEditor {
	return t.withFulltext(ctx, t.newEditor(ctx)).(sql.ForeignKeyEditor)
}

// StatementBegin marks the transaction so a failed statement can be undone.
func (e *editor) StatementBegin(ctx *sql.Context) {
	e.mark = e.tx.mark()
	e.end()
	e.pid = ctx.Pid()
	e.tx.statementBegin(e.pid)
	e.tx.freeze(e.t.db.name, e.t.name, e.pid)
	e.began = true
}

// end ends the editor's statement.
func (e *editor) end() {
	if e.began {
		e.tx.statementEnd(e.pid)
		e.tx.thaw(e.t.db.name, e.t.name)
		e.began, e.pid = false, 0
	}
}

// DiscardChanges undoes the statement back to StatementBegin.
func (e *editor) DiscardChanges(ctx *sql.Context, _ error) error {
	e.tx.restore(e.mark)
	e.end()
	return nil
}

// StatementComplete implements sql.EditOpenerCloser.
func (e *editor) StatementComplete(ctx *sql.Context) error {
	e.end()
	return nil
}

// Insert adds a row; a duplicate key gives GMS's unique-key error (1062).
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	if e.err != nil {
		return e.err
	}
	return e.tx.insertRow(ctx, e.t.db.name, e.t.name, row)
}

// Update replaces old with new.
func (e *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	if e.err != nil {
		return e.err
	}
	return e.tx.updateRow(ctx, e.t.db.name, e.t.name, old, new)
}

// Delete removes a row.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	if e.err != nil {
		return e.err
	}
	return e.tx.deleteRow(ctx, e.t.db.name, e.t.name, row)
}

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error {
	e.end()
	return nil
}

// IndexedAccess implements sql.IndexAddressable (foreign-key checks).
func (e *editor) IndexedAccess(ctx *sql.Context, l sql.IndexLookup) sql.IndexedTable {
	n := *e.t
	n.lookup, n.ownWrites = &l, true
	return &n
}

// GetIndexes implements sql.IndexAddressable.
func (e *editor) GetIndexes(ctx *sql.Context) ([]sql.Index, error) { return e.t.GetIndexes(ctx) }

// PreciseMatch implements sql.IndexAddressable.
func (e *editor) PreciseMatch() bool { return true }

// Truncate removes every row. TRUNCATE is logged as DDL and resets
// AUTO_INCREMENT; a DELETE without WHERE (which GMS also routes here) logs
// each deleted row and keeps the counter, as in MySQL.
func (t *Table) Truncate(ctx *sql.Context) (int, error) {
	tx := txnFor(ctx, t.db.eng)
	ts, err := tx.writable(ctx, t.db.name, t.name)
	if err != nil {
		return 0, err
	}
	n := ts.rowCount()
	truncate := isTruncateStatement(ctx)
	if !truncate {
		ts.rows.Scan(func(e *entry) bool {
			tx.record(Change{Kind: RowDelete, Database: t.db.name, Table: ts.name, Schema: ts.schema, Before: e.row})
			return true
		})
	}
	ts.rows = newTree(ts.pk)
	for _, ix := range ts.indexes {
		ix.tree = newTree(ix.kd)
	}
	if truncate {
		if ts.autoInc > 0 {
			ts.autoInc = 1
		}
		t.recordDDL(ctx, tx)
	}
	return n, nil
}

// SetAutoIncrementValue implements sql.AutoIncrementSetter (GMS's editor
// of a table with FULLTEXT indexes requires it of the parent's editor).
func (e *editor) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	return e.t.AutoIncrementSetter(ctx).SetAutoIncrementValue(ctx, v)
}

// AcquireAutoIncrementLock implements sql.AutoIncrementSetter.
func (e *editor) AcquireAutoIncrementLock(ctx *sql.Context) (func(), error) {
	return e.t.AutoIncrementSetter(ctx).AcquireAutoIncrementLock(ctx)
}

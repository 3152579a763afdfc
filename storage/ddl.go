package storage

import (
	"fmt"
	"github.com/dolthub/vitess/go/mysql"
	"sort"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// Schema changes. Each takes the table's exclusive lock, builds the new
// version privately and records the statement as DDL; rows moved by a
// rewrite are not logged as row changes (MySQL logs only the statement).

// alter returns the transaction's private version of the table for a DDL
// change.
func (t *Table) alter(ctx *sql.Context) (*txn, *tableState, error) {
	tx := txnFor(ctx, t.db.eng)
	ts, err := tx.writable(ctx, t.db.name, t.name)
	return tx, ts, err
}

// rewrite builds a copy of ts with schema pks and each row passed through
// project, and installs it in tx. Unique keys are checked on the way.
func (tx *txn) rewrite(ts *tableState, pks sql.PrimaryKeySchema, renames map[string]string, project func(sql.Row) (sql.Row, error)) (*tableState, error) {
	n, err := ts.rebuildEmpty(ts.name, pks, renames)
	if err != nil {
		return nil, err
	}
	n.rowIDs.Store(ts.rowIDs.Load())
	n.owner, n.epoch = tx, tx.epoch
	var perr error
	ts.rows.Scan(func(e *entry) bool {
		row, err := project(e.row)
		if err != nil {
			perr = err
			return false
		}
		perr = n.insertRewritten(n.newEntry(row, ts.entryRowID(e)))
		return perr == nil
	})
	if perr != nil {
		return nil, perr
	}
	return n, nil
}

// insertRewritten adds an entry during a rewrite, checking keys.
func (n *tableState) insertRewritten(e *entry) error {
	if len(n.pkOrds) > 0 {
		if old, found := n.rows.Get(e); found {
			return dupKeyError(n.name, PrimaryKeyName, pkValues(n, e.row), old.row, true)
		}
	}
	for _, ix := range n.indexes {
		if ix.unique {
			if other := ix.conflict(e.row, nil); other != nil {
				return dupKeyError(n.name, ix.name, ix.values(e.row), other.row, false)
			}
		}
	}
	n.put(e)
	n.bumpAutoInc(e.row)
	return nil
}

// AddColumn implements sql.AlterableTable. (GMS normally rewrites through
// RewriteInserter; this path fills the new column with NULL and GMS then
// applies its default.)
func (t *Table) AddColumn(ctx *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	col := column.Copy()
	col.Source = ts.name
	pos := len(ts.schema)
	if order != nil {
		if order.First {
			pos = 0
		} else if order.AfterColumn != "" {
			pos = ts.schema.IndexOfColName(order.AfterColumn) + 1
		}
	}
	sch := make(sql.Schema, 0, len(ts.schema)+1)
	sch = append(sch, ts.schema[:pos]...)
	sch = append(sch, col)
	sch = append(sch, ts.schema[pos:]...)
	pks := sql.NewPrimaryKeySchema(sch, shiftOrds(ts.pkOrds, pos, 1)...)
	n, err := tx.rewrite(ts, pks, nil, func(r sql.Row) (sql.Row, error) {
		out := make(sql.Row, 0, len(r)+1)
		out = append(out, r[:pos]...)
		out = append(out, nil)
		return append(out, r[pos:]...), nil
	})
	if err != nil {
		return err
	}
	tx.setTable(t.db.name, t.name, n)
	t.recordDDL(ctx, tx)
	return nil
}

// DropColumn implements sql.AlterableTable.
func (t *Table) DropColumn(ctx *sql.Context, name string) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	pos := ts.schema.IndexOfColName(name)
	if pos < 0 {
		return sql.ErrTableColumnNotFound.New(t.name, name)
	}
	sch := append(append(sql.Schema{}, ts.schema[:pos]...), ts.schema[pos+1:]...)
	var ords []int
	for _, o := range ts.pkOrds {
		if o != pos {
			ords = append(ords, o)
		}
	}
	pks := sql.NewPrimaryKeySchema(sch, shiftOrds(ords, pos+1, -1)...)
	n, err := tx.rewrite(ts, pks, nil, func(r sql.Row) (sql.Row, error) {
		return append(append(sql.Row{}, r[:pos]...), r[pos+1:]...), nil
	})
	if err != nil {
		return err
	}
	tx.setTable(t.db.name, t.name, n)
	t.recordDDL(ctx, tx)
	return nil
}

// ModifyColumn implements sql.AlterableTable: it renames, retypes (each
// value converted) and moves a column.
func (t *Table) ModifyColumn(ctx *sql.Context, name string, column *sql.Column, order *sql.ColumnOrder) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	from := ts.schema.IndexOfColName(name)
	if from < 0 {
		return sql.ErrTableColumnNotFound.New(t.name, name)
	}
	col := column.Copy()
	col.Source = ts.name
	col.PrimaryKey = ts.schema[from].PrimaryKey
	for _, o := range ts.pkOrds {
		if o == from {
			// A primary-key column stays NOT NULL, as in MySQL.
			col.PrimaryKey, col.Nullable = true, false
		}
	}
	rest := append(append(sql.Schema{}, ts.schema[:from]...), ts.schema[from+1:]...)
	to := from
	if order != nil {
		if order.First {
			to = 0
		} else if order.AfterColumn != "" {
			to = rest.IndexOfColName(order.AfterColumn) + 1
		}
	}
	sch := append(append(append(sql.Schema{}, rest[:to]...), col), rest[to:]...)
	// perm[i] is the old position of new column i.
	perm := make([]int, 0, len(sch))
	for i := range ts.schema {
		if i != from {
			perm = append(perm, i)
		}
	}
	perm = append(perm[:to], append([]int{from}, perm[to:]...)...)
	inv := make([]int, len(perm))
	for i, o := range perm {
		inv[o] = i
	}
	ords := make([]int, len(ts.pkOrds))
	for i, o := range ts.pkOrds {
		ords[i] = inv[o]
	}
	renames := map[string]string{}
	if !strings.EqualFold(name, col.Name) {
		renames[strings.ToLower(name)] = col.Name
	}
	n, err := tx.rewrite(ts, sql.NewPrimaryKeySchema(sch, ords...), renames, func(r sql.Row) (sql.Row, error) {
		out := make(sql.Row, len(perm))
		for i, o := range perm {
			out[i] = r[o]
		}
		if v := out[to]; v != nil {
			cv, _, err := col.Type.Convert(ctx, v)
			if err != nil {
				return nil, err
			}
			out[to] = cv
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	tx.setTable(t.db.name, t.name, n)
	t.recordDDL(ctx, tx)
	return nil
}

func shiftOrds(ords []int, from, delta int) []int {
	out := make([]int, len(ords))
	for i, o := range ords {
		if o >= from {
			o += delta
		}
		out[i] = o
	}
	return out
}

// ShouldRewriteTable implements sql.RewritableTable: every schema change of
// rows goes through RewriteInserter, with GMS converting the values.
func (t *Table) ShouldRewriteTable(ctx *sql.Context, oldSchema, newSchema sql.PrimaryKeySchema, oldColumn, newColumn *sql.Column) bool {
	return true
}

// RewriteInserter implements sql.RewritableTable: GMS streams every row, in
// newSchema's layout, into an empty version that replaces the table when
// the inserter closes without error.
func (t *Table) RewriteInserter(ctx *sql.Context, oldSchema, newSchema sql.PrimaryKeySchema, oldColumn, newColumn *sql.Column, idxCols []sql.IndexColumn) (sql.RowInserter, error) {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return nil, err
	}
	renames := map[string]string{}
	if oldColumn != nil && newColumn != nil && !strings.EqualFold(oldColumn.Name, newColumn.Name) {
		renames[strings.ToLower(oldColumn.Name)] = newColumn.Name
	}
	n, err := ts.rebuildEmpty(ts.name, newSchema, renames)
	if err != nil {
		return nil, err
	}
	if len(oldSchema.PkOrdinals) > 0 && len(newSchema.PkOrdinals) == 0 && !n.autoIncKeyed() {
		// DROP PRIMARY KEY would leave the AUTO_INCREMENT column unkeyed.
		return nil, sql.ErrWrongAutoKey.New()
	}
	n.owner, n.epoch = tx, tx.epoch
	return &rewriter{t: t, tx: tx, old: ts, n: n}, nil
}

type rewriter struct {
	t         *Table
	tx        *txn
	old, n    *tableState
	discarded bool
}

func (r *rewriter) StatementBegin(*sql.Context) {}

func (r *rewriter) DiscardChanges(*sql.Context, error) error {
	r.discarded = true
	return nil
}

func (r *rewriter) StatementComplete(*sql.Context) error { return nil }

func (r *rewriter) Insert(ctx *sql.Context, row sql.Row) error {
	return r.n.insertRewritten(r.n.newEntry(row.Copy(), 0))
}

func (r *rewriter) Close(ctx *sql.Context) error {
	if r.discarded {
		return nil
	}
	if err := r.n.checkFulltextColumns(); err != nil {
		return err
	}
	r.tx.setTable(r.t.db.name, r.t.name, r.n)
	r.t.recordDDL(ctx, r.tx)
	// GMS leaves a rewritten table's FULLTEXT indexes to the engine.
	return r.t.refreshFulltext(ctx, r.old, r.n)
}

// CreateIndex implements sql.IndexAlterableTable; 1061 on a duplicate
// name, 1062 when existing rows violate a new unique index.
func (t *Table) CreateIndex(ctx *sql.Context, def sql.IndexDef) error {
	if def.IsPrimary() {
		return t.CreatePrimaryKey(ctx, def.Columns)
	}
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	if _, ix := ts.index(def.Name); ix != nil || strings.EqualFold(def.Name, PrimaryKeyName) {
		// GMS's kind, so CREATE INDEX IF NOT EXISTS succeeds (the server
		// sends it as 1061).
		return sql.ErrDuplicateKey.New(def.Name)
	}
	if def.IsFullText() || def.IsSpatial() {
		return sql.ErrUnsupportedFeature.New("FULLTEXT and SPATIAL indexes")
	}
	for _, c := range def.Columns {
		if c.Expression != nil {
			return sql.ErrUnsupportedFeature.New("functional indexes")
		}
	}
	kd, err := ts.indexKeyDef(def.Columns)
	if err != nil {
		return err
	}
	ix := &indexState{name: def.Name, cols: append([]sql.IndexColumn(nil), def.Columns...), unique: def.IsUnique(), comment: def.Comment, vector: def.IsVector(), kd: kd, tree: newTree(kd)}
	if err := ts.build(ix); err != nil {
		return err
	}
	ts.indexes = append(ts.indexes, ix)
	t.recordDDL(ctx, tx)
	return nil
}

// DropIndex implements sql.IndexAlterableTable; GMS's index-not-found
// kind when absent, so DROP INDEX IF EXISTS succeeds (the server sends it
// as 1091).
func (t *Table) DropIndex(ctx *sql.Context, name string) error {
	if strings.EqualFold(name, PrimaryKeyName) {
		return t.DropPrimaryKey(ctx)
	}
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	i, ix := ts.index(name)
	if ix == nil {
		return sql.ErrIndexNotFound.New(name)
	}
	ts.indexes = append(ts.indexes[:i:i], ts.indexes[i+1:]...)
	t.recordDDL(ctx, tx)
	return nil
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *Table) RenameIndex(ctx *sql.Context, from, to string) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	i, ix := ts.index(from)
	if ix == nil {
		return sql.ErrCantDropFieldOrKey.New(from)
	}
	if _, other := ts.index(to); other != nil && !strings.EqualFold(from, to) {
		return sql.ErrDuplicateKey.New(to)
	}
	c := *ix
	c.name = to
	ts.indexes[i] = &c
	t.recordDDL(ctx, tx)
	return nil
}

// CreatePrimaryKey implements sql.PrimaryKeyAlterableTable.
func (t *Table) CreatePrimaryKey(ctx *sql.Context, columns []sql.IndexColumn) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	if len(ts.pkOrds) > 0 {
		return sql.ErrMultiplePrimaryKeysDefined.New()
	}
	sch := ts.schema.Copy()
	ords := make([]int, len(columns))
	for i, c := range columns {
		o := sch.IndexOfColName(c.Name)
		if o < 0 {
			return sql.ErrKeyColumnDoesNotExist.New(c.Name)
		}
		sch[o].PrimaryKey = true
		sch[o].Nullable = false
		ords[i] = o
	}
	n, err := tx.rewrite(ts, sql.NewPrimaryKeySchema(sch, ords...), nil, func(r sql.Row) (sql.Row, error) {
		for _, o := range ords {
			if r[o] == nil {
				return nil, sql.ErrInsertIntoNonNullableProvidedNull.New(sch[o].Name)
			}
		}
		return r, nil
	})
	if err != nil {
		return err
	}
	tx.setTable(t.db.name, t.name, n)
	t.recordDDL(ctx, tx)
	return nil
}

// DropPrimaryKey implements sql.PrimaryKeyAlterableTable.
func (t *Table) DropPrimaryKey(ctx *sql.Context) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	if len(ts.pkOrds) == 0 {
		return sql.ErrCantDropFieldOrKey.New(PrimaryKeyName)
	}
	for _, o := range ts.pkOrds {
		if ts.schema[o].AutoIncrement && !ts.leadsSecondaryIndex(ts.schema[o].Name) {
			return sql.ErrWrongAutoKey.New()
		}
	}
	sch := ts.schema.Copy()
	for _, o := range ts.pkOrds {
		// The columns keep NOT NULL, as in MySQL.
		sch[o].PrimaryKey = false
	}
	n, err := tx.rewrite(ts, sql.NewPrimaryKeySchema(sch), nil, func(r sql.Row) (sql.Row, error) { return r, nil })
	if err != nil {
		return err
	}
	tx.setTable(t.db.name, t.name, n)
	t.recordDDL(ctx, tx)
	return nil
}

// autoIncKeyed reports whether the AUTO_INCREMENT column, if any, is the
// first column of the primary key or of a secondary index, as MySQL
// requires (1075 otherwise).
func (ts *tableState) autoIncKeyed() bool {
	o := ts.autoIncOrd()
	if o < 0 || len(ts.pkOrds) > 0 && ts.pkOrds[0] == o {
		return true
	}
	return ts.leadsSecondaryIndex(ts.schema[o].Name)
}

// leadsSecondaryIndex reports whether column col is the first column of a
// secondary index.
func (ts *tableState) leadsSecondaryIndex(col string) bool {
	for _, ix := range ts.indexes {
		if len(ix.cols) > 0 && strings.EqualFold(ix.cols[0].Name, col) && !ix.vector {
			return true
		}
	}
	return false
}

// ModifyComment implements sql.CommentAlterableTable.
func (t *Table) ModifyComment(ctx *sql.Context, comment string) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	ts.comment = comment
	t.recordDDL(ctx, tx)
	return nil
}

// CreateIndexForForeignKey implements sql.ForeignKeyTable.
func (t *Table) CreateIndexForForeignKey(ctx *sql.Context, def sql.IndexDef) error {
	return t.CreateIndex(ctx, def)
}

// GetDeclaredForeignKeys implements sql.ForeignKeyTable.
func (t *Table) GetDeclaredForeignKeys(ctx *sql.Context) ([]sql.ForeignKeyConstraint, error) {
	ts, _ := t.state(ctx)
	if ts == nil {
		return nil, nil
	}
	out := append([]sql.ForeignKeyConstraint(nil), ts.fks...)
	// InnoDB keeps a table's foreign keys in a set ordered by name (byte
	// order), and SHOW CREATE TABLE lists them in that order
	// (testdata/mariadb/conformance.txt).
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetReferencedForeignKeys implements sql.ForeignKeyTable: the keys of
// every table, in any database, that name this one as parent (MySQL allows a
// foreign key to reference a table of another database, and deleting or
// updating a parent row checks those children too).
func (t *Table) GetReferencedForeignKeys(ctx *sql.Context) ([]sql.ForeignKeyConstraint, error) {
	tx := txnFor(ctx, t.db.eng)
	var out []sql.ForeignKeyConstraint
	for _, db := range tx.databaseNames() {
		for _, name := range tx.tableNames(db) {
			ts := tx.table(db, name)
			if ts == nil {
				continue
			}
			for _, fk := range ts.fks {
				if strings.EqualFold(fk.ParentTable, t.name) && strings.EqualFold(fk.ParentDatabase, t.db.name) {
					out = append(out, fk)
				}
			}
		}
	}
	return out, nil
}

// AddForeignKey implements sql.ForeignKeyTable; names are unique per
// database (1826).
func (t *Table) AddForeignKey(ctx *sql.Context, fk sql.ForeignKeyConstraint) error {
	tx := txnFor(ctx, t.db.eng)
	for _, name := range tx.tableNames(t.db.name) {
		if ts := tx.table(t.db.name, name); ts != nil {
			for _, other := range ts.fks {
				if strings.EqualFold(other.Name, fk.Name) {
					return sql.ErrForeignKeyDuplicateName.New(fk.Name)
				}
			}
		}
	}
	_, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	ts.fks = append(ts.fks, fk)
	t.recordDDL(ctx, tx)
	return nil
}

// DropForeignKey implements sql.ForeignKeyTable.
func (t *Table) DropForeignKey(ctx *sql.Context, fkName string, tableName string, schemaName string) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	for i, fk := range ts.fks {
		if strings.EqualFold(fk.Name, fkName) {
			ts.fks = append(ts.fks[:i:i], ts.fks[i+1:]...)
			t.recordDDL(ctx, tx)
			return nil
		}
	}
	return sql.ErrForeignKeyNotFound.New(fkName, t.name)
}

// UpdateForeignKey implements sql.ForeignKeyTable.
func (t *Table) UpdateForeignKey(ctx *sql.Context, fkName string, fk sql.ForeignKeyConstraint) error {
	_, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	for i, cur := range ts.fks {
		if strings.EqualFold(cur.Name, fkName) {
			ts.fks[i] = fk
			return nil
		}
	}
	return sql.ErrForeignKeyNotFound.New(fkName, t.name)
}

// GetChecks implements sql.CheckTable.
func (t *Table) GetChecks(ctx *sql.Context) ([]sql.CheckDefinition, error) {
	ts, _ := t.state(ctx)
	if ts == nil {
		return nil, nil
	}
	return append([]sql.CheckDefinition(nil), ts.checks...), nil
}

// CreateCheck implements sql.CheckAlterableTable.
func (t *Table) CreateCheck(ctx *sql.Context, check *sql.CheckDefinition) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	c := *check
	if c.Name == "" {
		c.Name = ts.nextCheckName()
	}
	for _, old := range ts.checks {
		if strings.EqualFold(old.Name, c.Name) {
			return mysql.NewSQLError(ErCheckConstraintDup, "HY000", "Duplicate check constraint name '%s'.", c.Name)
		}
	}
	ts.checks = append(ts.checks, c)
	t.recordDDL(ctx, tx)
	return nil
}

// nextCheckName is the name MySQL gives an unnamed CHECK constraint:
// <table>_chk_<n>, n one more than the largest in use.
func (ts *tableState) nextCheckName() string {
	prefix := strings.ToLower(ts.name) + "_chk_"
	n := 0
	for _, c := range ts.checks {
		if rest, ok := strings.CutPrefix(strings.ToLower(c.Name), prefix); ok {
			if k, err := strconv.Atoi(rest); err == nil && k > n {
				n = k
			}
		}
	}
	return fmt.Sprintf("%s_chk_%d", ts.name, n+1)
}

// DropCheck implements sql.CheckAlterableTable.
func (t *Table) DropCheck(ctx *sql.Context, name string) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	for i, c := range ts.checks {
		if strings.EqualFold(c.Name, name) {
			ts.checks = append(ts.checks[:i:i], ts.checks[i+1:]...)
			t.recordDDL(ctx, tx)
			return nil
		}
	}
	return sql.ErrUnknownConstraint.New(name)
}

var _ sql.CollationAlterableTable = (*Table)(nil)

// ModifyDefaultCollation implements sql.CollationAlterableTable (ALTER
// TABLE … COLLATE): the table's default changes; columns keep the
// collations they have, as in MySQL.
func (t *Table) ModifyDefaultCollation(ctx *sql.Context, collation sql.CollationID) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	ts.collation = collation
	t.collation = collation
	t.recordDDL(ctx, tx)
	return nil
}

// ModifyStoredCollation implements sql.CollationAlterableTable: ALTER
// TABLE … CONVERT TO CHARACTER SET is not offered.
func (t *Table) ModifyStoredCollation(ctx *sql.Context, collation sql.CollationID) error {
	return sql.ErrUnsupportedFeature.New("ALTER TABLE … CONVERT TO CHARACTER SET")
}

package storage

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/fulltext"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// FULLTEXT indexes are GMS's (package sql/fulltext): GMS keeps an index's
// words in pseudo-tables it creates through the database (a config table
// per parent table; position, document count, global count and row count
// tables per index) and maintains them through a table editor wrapped
// around the parent's. Here:
//
//   - the pseudo-tables are storage tables named with the prefix
//     fulltextPrefix ("#ft_"), which no user table in MySQL's naming would
//     start with: they are hidden (not in SHOW TABLES or
//     information_schema), their creation and their row changes are never
//     captured (so never binlogged: a MariaDB replica receives only the
//     parent table's rows and its CREATE / ALTER statement, and builds its
//     own InnoDB index), and they are not written to checkpoints;
//   - every write to a parent table keeps its indexes current: GMS's DML
//     through the editor (Inserter, Updater, …), and a replica's or a
//     binlog replay's row changes through ApplyRowChange, so a semisyncd
//     replica maintains its own index from the parent's row events;
//   - a checkpoint holds the parent's CREATE TABLE with its FULLTEXT keys
//     and its rows; after loading one, RebuildFulltext fills the indexes
//     from the rows.

// fulltextPrefix starts the name of every FULLTEXT pseudo-table.
const fulltextPrefix = "#ft_"

// isFulltextTable reports whether name is a FULLTEXT pseudo-table's.
func isFulltextTable(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), fulltextPrefix)
}

// ftIndexInfo is what a FULLTEXT index adds to an index: its pseudo-tables
// and the parent's key columns they are keyed by.
type ftIndexInfo struct {
	names fulltext.IndexTableNames
	keys  fulltext.KeyColumns
}

var (
	_ fulltext.Database            = (*Database)(nil)
	_ fulltext.IndexAlterableTable = (*Table)(nil)
	_ fulltext.Index               = (*Index)(nil)
)

// CreateFulltextTableNames implements fulltext.Database: names no table
// of the database has yet (an index dropped and added again in one
// transaction gets new tables), with the config table the parent's other
// FULLTEXT indexes already share, if any. Names are unique per parent
// table, not derived from its name alone: a renamed table keeps its
// pseudo-tables, and a new table of its old name gets others.
func (d *Database) CreateFulltextTableNames(ctx *sql.Context, parent, index string) (fulltext.IndexTableNames, error) {
	tx := txnFor(ctx, d.eng)
	taken := map[string]bool{}
	for _, n := range tx.tableNames(d.name) {
		taken[strings.ToLower(n)] = true
	}
	config := ""
	if ts := tx.table(d.name, parent); ts != nil {
		for _, ix := range ts.indexes {
			if ix.ft != nil {
				config = ix.ft.names.Config
				break
			}
		}
	}
	for i := 0; config == ""; i++ {
		if c := strings.ToLower(fmt.Sprintf("%s%s_%d_config", fulltextPrefix, parent, i)); !taken[c] {
			config = c
		}
	}
	base := strings.ToLower(fmt.Sprintf("%s%s_%s", fulltextPrefix, parent, index))
	for i := 0; ; i++ {
		p := fmt.Sprintf("%s_%d", base, i)
		names := fulltext.IndexTableNames{
			Config:      config,
			Position:    p + "_position",
			DocCount:    p + "_doc_count",
			GlobalCount: p + "_global_count",
			RowCount:    p + "_row_count",
		}
		if !taken[names.Position] && !taken[names.DocCount] && !taken[names.GlobalCount] && !taken[names.RowCount] {
			return names, nil
		}
	}
}

// CreateFulltextIndex implements fulltext.IndexAlterableTable: it records
// the index (GMS has created its pseudo-tables and fills them next). The
// index also keeps an ordinary tree over its columns, like any index: it
// serves no lookups (GMS answers MATCH … AGAINST from the pseudo-tables).
func (t *Table) CreateFulltextIndex(ctx *sql.Context, def sql.IndexDef, keys fulltext.KeyColumns, names fulltext.IndexTableNames) error {
	tx, ts, err := t.alter(ctx)
	if err != nil {
		return err
	}
	if _, ix := ts.index(def.Name); ix != nil || strings.EqualFold(def.Name, PrimaryKeyName) {
		return sql.ErrDuplicateKey.New(def.Name)
	}
	cols := make([]sql.IndexColumn, len(def.Columns))
	for i, c := range def.Columns {
		cols[i] = sql.IndexColumn{Name: c.Name}
	}
	kd, err := ts.indexKeyDef(cols)
	if err != nil {
		return err
	}
	ix := &indexState{name: def.Name, cols: cols, comment: def.Comment, kd: kd, tree: newTree(kd),
		ft: &ftIndexInfo{names: names, keys: fulltext.KeyColumns{Name: keys.Name, Type: keys.Type, Positions: append([]int(nil), keys.Positions...)}}}
	if err := ts.build(ix); err != nil {
		return err
	}
	ts.indexes = append(ts.indexes, ix)
	tx.recordDDL(ctx)
	return nil
}

// FullTextTableNames implements fulltext.Index.
func (i *Index) FullTextTableNames(*sql.Context) (fulltext.IndexTableNames, error) {
	if i.ft == nil {
		return fulltext.IndexTableNames{}, fmt.Errorf("storage: index %s is not FULLTEXT", i.name)
	}
	return i.ft.names, nil
}

// FullTextKeyColumns implements fulltext.Index.
func (i *Index) FullTextKeyColumns(*sql.Context) (fulltext.KeyColumns, error) {
	if i.ft == nil {
		return fulltext.KeyColumns{}, fmt.Errorf("storage: index %s is not FULLTEXT", i.name)
	}
	return i.ft.keys, nil
}

// hasFulltext reports whether the table has a FULLTEXT index.
func (ts *tableState) hasFulltext() bool {
	for _, ix := range ts.indexes {
		if ix.ft != nil {
			return true
		}
	}
	return false
}

// fulltextEditor returns GMS's editor of t's FULLTEXT pseudo-tables, or
// nil when t has no FULLTEXT index.
//
// The transaction first takes an exclusive lock of the table's FULLTEXT
// indexes, held until it ends: GMS's editor reads a word's counts and
// writes them back, and the rows of common words are shared by every
// document, so concurrent writers would deadlock on them (S then X) or
// both insert a new word's row (1062). Writers of one FULLTEXT table are
// serialized; the reads of the next see the last one's commit (the
// pseudo-tables are read as locking reads).
func (t *Table) fulltextEditor(ctx *sql.Context) (sql.TableEditor, error) {
	ts, tx := t.state(ctx)
	if ts == nil || !ts.hasFulltext() {
		return nil, nil
	}
	for _, ix := range ts.indexes {
		if ix.ft != nil {
			if err := tx.lockTable(ctx, t.db.name, "\x00fulltext "+ix.ft.names.Config, lockExclusive, waitNormal); err != nil {
				return nil, err
			}
			break
		}
	}
	get := func(name string) (fulltext.EditableTable, error) {
		tbl, ok, err := t.db.GetTableInsensitive(ctx, name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("storage: FULLTEXT table %s.%s of %s is missing", t.db.name, name, t.name)
		}
		return tbl.(fulltext.EditableTable), nil
	}
	var config fulltext.EditableTable
	var sets []fulltext.TableSet
	for _, gi := range ts.indexes4GMS(t.db.name) {
		ix := gi.(*Index)
		if ix.ft == nil {
			continue
		}
		var set fulltext.TableSet
		set.Index = ix
		var err error
		if config == nil {
			if config, err = get(ix.ft.names.Config); err != nil {
				return nil, err
			}
		}
		if set.Position, err = get(ix.ft.names.Position); err != nil {
			return nil, err
		}
		if set.DocCount, err = get(ix.ft.names.DocCount); err != nil {
			return nil, err
		}
		if set.GlobalCount, err = get(ix.ft.names.GlobalCount); err != nil {
			return nil, err
		}
		if set.RowCount, err = get(ix.ft.names.RowCount); err != nil {
			return nil, err
		}
		sets = append(sets, set)
	}
	ed, err := fulltext.CreateEditor(ctx, t, config, sets...)
	if err != nil {
		return nil, err
	}
	return ed, nil
}

// withFulltext wraps the parent's editor so FULLTEXT indexes follow its
// writes.
func (t *Table) withFulltext(ctx *sql.Context, e *editor) sql.TableEditor {
	if e.err != nil {
		return e
	}
	ft, err := t.fulltextEditor(ctx)
	if err != nil {
		e.err = err
		return e
	}
	if ft == nil {
		return e
	}
	m, err := fulltext.CreateMultiTableEditor(ctx, e, ft)
	if err != nil {
		e.err = err
		return e
	}
	return m
}

// applyFulltext keeps db.table's FULLTEXT indexes current for one row
// change applied by ApplyRowChange.
func (s *Session) applyFulltext(ctx *sql.Context, ch Change) error {
	d := &Database{eng: s.eng, name: ch.Database}
	ts := txnFor(ctx, s.eng).table(ch.Database, ch.Table)
	if ts == nil || !ts.hasFulltext() {
		return nil
	}
	ed, err := d.handle(ts).fulltextEditor(ctx)
	if err != nil || ed == nil {
		return err
	}
	ed.StatementBegin(ctx)
	switch ch.Kind {
	case RowInsert:
		err = ed.Insert(ctx, ch.After)
	case RowUpdate:
		err = ed.Update(ctx, ch.Before, ch.After)
	case RowDelete:
		err = ed.Delete(ctx, ch.Before)
	}
	if err != nil {
		_ = ed.DiscardChanges(ctx, err)
		_ = ed.Close(ctx)
		return err
	}
	if err := ed.StatementComplete(ctx); err != nil {
		return err
	}
	return ed.Close(ctx)
}

// RebuildFulltext refills every FULLTEXT index from its table's rows, in
// ctx's transaction (the caller commits): after a checkpoint was loaded
// (LoadRows fills tables without their indexes' pseudo-tables). Nothing
// it does is captured for the binlog.
func (e *Engine) RebuildFulltext(ctx *sql.Context) error {
	tx := txnFor(ctx, e)
	for _, dbName := range e.DatabaseNames() {
		d := &Database{eng: e, name: dbName}
		for _, name := range tx.tableNames(dbName) {
			ts := tx.table(dbName, name)
			if ts == nil || !ts.hasFulltext() {
				continue
			}
			if err := fulltext.RebuildTables(ctx, d.handle(ts), d); err != nil {
				return fmt.Errorf("storage: rebuilding the FULLTEXT indexes of %s.%s: %w", dbName, name, err)
			}
		}
	}
	return nil
}

// refreshFulltext follows a table rewrite (ALTER TABLE that changes
// columns or the primary key) from old to n: the pseudo-tables of the
// FULLTEXT indexes the rewrite dropped (all their columns gone) are
// dropped, and the remaining indexes are rebuilt, as their tables hold the
// parent's key columns and words of the old rows. A column type a FULLTEXT
// index cannot hold fails here (GMS's error).
func (t *Table) refreshFulltext(ctx *sql.Context, old, n *tableState) error {
	if !old.hasFulltext() {
		return nil
	}
	kept := map[string]bool{}
	for _, ix := range n.indexes {
		if ix.ft != nil {
			kept[strings.ToLower(ix.name)] = true
		}
	}
	var config string
	for _, ix := range old.indexes {
		if ix.ft == nil {
			continue
		}
		config = ix.ft.names.Config
		if kept[strings.ToLower(ix.name)] {
			continue
		}
		for _, name := range []string{ix.ft.names.Position, ix.ft.names.DocCount, ix.ft.names.GlobalCount, ix.ft.names.RowCount} {
			if err := t.db.DropTable(ctx, name); err != nil && !sql.ErrTableNotFound.Is(err) {
				return err
			}
		}
	}
	if len(kept) == 0 {
		if err := t.db.DropTable(ctx, config); err != nil && !sql.ErrTableNotFound.Is(err) {
			return err
		}
		return nil
	}
	return fulltext.RebuildTables(ctx, t, t.db)
}

// checkFulltextColumns fails with GMS's error when a FULLTEXT index of ts
// covers a column that is not a text type (a rewrite checks before it
// installs the new version).
func (ts *tableState) checkFulltextColumns() error {
	for _, ix := range ts.indexes {
		if ix.ft == nil {
			continue
		}
		for _, c := range ix.cols {
			if o := ts.schema.IndexOfColName(c.Name); o >= 0 && !types.IsTextOnly(ts.schema[o].Type) {
				return sql.ErrFullTextInvalidColumnType.New()
			}
		}
	}
	return nil
}

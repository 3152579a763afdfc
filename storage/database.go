package storage

import (
	"fmt"
	"github.com/dolthub/vitess/go/mysql"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// Database is a handle on one database; it resolves everything through the
// calling context's transaction.
type Database struct {
	eng  *Engine
	name string
	// shown is set on the handle of a session's hidden temporary-table
	// database (see temporary.go): the visible database's name.
	shown string
}

var (
	_ sql.Database                = (*Database)(nil)
	_ sql.TableCreator            = (*Database)(nil)
	_ sql.IndexedTableCreator     = (*Database)(nil)
	_ sql.TableDropper            = (*Database)(nil)
	_ sql.TableRenamer            = (*Database)(nil)
	_ sql.ViewDatabase            = (*Database)(nil)
	_ sql.CollatedDatabase        = (*Database)(nil)
	_ sql.TriggerDatabase         = (*Database)(nil)
	_ sql.StoredProcedureDatabase = (*Database)(nil)
)

// Name implements sql.Nameable.
func (d *Database) Name() string { return d.name }

// GetTableInsensitive returns the table named (any case).
// The calling session's temporary table of that name comes first.
func (d *Database) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	if t := d.temporary(ctx, name); t != nil {
		return t, true, nil
	}
	ts := txnFor(ctx, d.eng).table(d.name, name)
	if ts == nil {
		return nil, false, nil
	}
	return d.handle(ts), true, nil
}

func (d *Database) handle(ts *tableState) *Table {
	// A FULLTEXT pseudo-table is read by GMS's editor while the same
	// statement writes it: its reads see those writes.
	return &Table{db: d, name: ts.name, collation: ts.collation, ownWrites: isFulltextTable(ts.name)}
}

// GetTableNames lists the tables this session sees, without FULLTEXT
// pseudo-tables.
func (d *Database) GetTableNames(ctx *sql.Context) ([]string, error) {
	names := txnFor(ctx, d.eng).tableNames(d.name)
	out := names[:0:0]
	for _, n := range names {
		if !isFulltextTable(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// CreateTable creates an empty table; sql.ErrTableAlreadyExists (1050) if
// the name is taken.
func (d *Database) CreateTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	if err := checkRowSize(schema.Schema); err != nil {
		return err
	}
	tx := txnFor(ctx, d.eng)
	if err := d.lockNewName(ctx, tx, name); err != nil {
		return err
	}
	if collation == sql.Collation_Unspecified {
		collation = d.GetCollation(ctx)
	}
	tx.setTable(d.name, name, newTableState(name, schema, collation, comment))
	if isFulltextTable(name) {
		// GMS creates it for a FULLTEXT index the statement adds: the
		// statement is logged, not the pseudo-table.
		return nil
	}
	if tx.recordDDL(ctx) {
		// Remember which table the statement created (see rewriteCTAS).
		last := &tx.changes[len(tx.changes)-1]
		last.Database, last.Table = d.name, name
	}
	return nil
}

// CreateIndexedTable creates a table whose primary key is idxDef.
func (d *Database) CreateIndexedTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, idxDef sql.IndexDef, collation sql.CollationID, comment string) error {
	ords := make([]int, 0, len(idxDef.Columns))
	for _, c := range idxDef.Columns {
		i := schema.Schema.IndexOfColName(c.Name)
		if i < 0 {
			return sql.ErrKeyColumnDoesNotExist.New(c.Name)
		}
		ords = append(ords, i)
	}
	schema.PkOrdinals = ords
	return d.CreateTable(ctx, name, schema, collation, comment)
}

// lockNewName locks a table name that must not exist yet.
func (d *Database) lockNewName(ctx *sql.Context, tx *txn, name string) error {
	if !tx.dbExists(d.name) {
		return sql.ErrDatabaseNotFound.New(d.name)
	}
	if err := tx.lockTable(ctx, d.name, "", lockShared, waitNormal); err != nil {
		return err
	}
	if err := tx.lockTable(ctx, d.name, name, lockExclusive, waitNormal); err != nil {
		return err
	}
	if tx.table(d.name, name) != nil {
		if isCreateIfNotExists(ctx) {
			// GMS then answers OK; MySQL adds this note.
			ctx.Session.Warn(&sql.Warning{Level: "Note", Code: ErTableExists, Message: fmt.Sprintf("Table '%s' already exists", name)})
		}
		// GMS's kind, so CREATE TABLE IF NOT EXISTS succeeds (the server
		// sends it as 1050).
		return sql.ErrTableAlreadyExists.New(name)
	}
	return nil
}

// DropTable drops a table: the calling session's temporary table of that
// name if there is one (not logged), else the base table;
// sql.ErrTableNotFound when absent.
func (d *Database) DropTable(ctx *sql.Context, name string) error {
	if ok, err := d.dropTemporary(ctx, name); ok {
		return err
	}
	tx := txnFor(ctx, d.eng)
	if err := tx.lockTable(ctx, d.name, "", lockShared, waitNormal); err != nil {
		return err
	}
	if err := tx.lockTable(ctx, d.name, name, lockExclusive, waitNormal); err != nil {
		return err
	}
	if tx.table(d.name, name) == nil {
		return sql.ErrTableNotFound.New(name)
	}
	tx.setTable(d.name, name, nil)
	if !isFulltextTable(name) {
		tx.recordDDL(ctx)
	}
	return nil
}

// RenameTable renames a table, keeping its rows, indexes and keys.
func (d *Database) RenameTable(ctx *sql.Context, oldName, newName string) error {
	tx := txnFor(ctx, d.eng)
	if err := tx.lockTable(ctx, d.name, oldName, lockExclusive, waitNormal); err != nil {
		return err
	}
	old := tx.table(d.name, oldName)
	if old == nil {
		return sql.ErrTableNotFound.New(oldName)
	}
	if !strings.EqualFold(oldName, newName) {
		if err := d.lockNewName(ctx, tx, newName); err != nil {
			return err
		}
	}
	n := old.clone(tx, tx.epoch)
	n.name = newName
	n.schema = n.schema.Copy()
	for _, c := range n.schema {
		c.Source = newName
	}
	for i := range n.fks {
		n.fks[i].Table = newName
	}
	tx.setTable(d.name, oldName, nil)
	tx.setTable(d.name, newName, n)
	tx.recordDDL(ctx)
	return nil
}

// GetCollation implements sql.CollatedDatabase.
func (d *Database) GetCollation(ctx *sql.Context) sql.CollationID {
	if s := txnFor(ctx, d.eng).dbState(d.name); s != nil && s.collation != sql.Collation_Unspecified {
		return s.collation
	}
	return sql.Collation_Default
}

// SetCollation implements sql.CollatedDatabase (ALTER DATABASE … COLLATE).
func (d *Database) SetCollation(ctx *sql.Context, collation sql.CollationID) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	m.collation = collation
	txnFor(ctx, d.eng).recordDDL(ctx)
	return nil
}

// meta locks the database's metadata (views, triggers, procedures) and
// returns the transaction's private copy of it.
func (d *Database) meta(ctx *sql.Context) (*dbState, error) {
	return d.metaTx(ctx, txnFor(ctx, d.eng))
}

func (d *Database) metaTx(ctx *sql.Context, tx *txn) (*dbState, error) {
	if err := tx.lockTable(ctx, d.name, "\x00meta", lockExclusive, waitNormal); err != nil {
		return nil, err
	}
	o := tx.overlay(d.name)
	if o.meta == nil {
		cur := d.eng.latest.Load().db(d.name)
		if cur == nil {
			return nil, sql.ErrDatabaseNotFound.New(d.name)
		}
		o.meta = cur.shallowClone()
		o.meta.tables = nil
	}
	return o.meta, nil
}

func (d *Database) readMeta(ctx *sql.Context) *dbState {
	s := txnFor(ctx, d.eng).dbState(d.name)
	if s == nil {
		return newDBState(d.name, sql.Collation_Default)
	}
	return s
}

// CreateView implements sql.ViewDatabase.
func (d *Database) CreateView(ctx *sql.Context, name string, selectStatement, createViewStmt string) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(name)
	if _, ok := m.views[key]; ok {
		return sql.ErrExistingView.New(d.name, name)
	}
	m.views[key] = sql.ViewDefinition{Name: name, TextDefinition: selectStatement, CreateViewStatement: createViewStmt}
	txnFor(ctx, d.eng).recordDDL(ctx)
	return nil
}

// DropView implements sql.ViewDatabase.
func (d *Database) DropView(ctx *sql.Context, name string) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(name)
	if _, ok := m.views[key]; !ok {
		return sql.ErrViewDoesNotExist.New(d.name, name)
	}
	delete(m.views, key)
	txnFor(ctx, d.eng).recordDDL(ctx)
	return nil
}

// GetViewDefinition implements sql.ViewDatabase.
func (d *Database) GetViewDefinition(ctx *sql.Context, name string) (sql.ViewDefinition, bool, error) {
	v, ok := d.readMeta(ctx).views[strings.ToLower(name)]
	return v, ok, nil
}

// AllViews implements sql.ViewDatabase.
func (d *Database) AllViews(ctx *sql.Context) ([]sql.ViewDefinition, error) {
	m := d.readMeta(ctx)
	out := make([]sql.ViewDefinition, 0, len(m.views))
	for _, v := range m.views {
		out = append(out, v)
	}
	return out, nil
}

// GetTriggers implements sql.TriggerDatabase.
func (d *Database) GetTriggers(ctx *sql.Context) ([]sql.TriggerDefinition, error) {
	return append([]sql.TriggerDefinition(nil), d.readMeta(ctx).triggers...), nil
}

// CreateTrigger implements sql.TriggerDatabase.
func (d *Database) CreateTrigger(ctx *sql.Context, def sql.TriggerDefinition) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	for _, t := range m.triggers {
		if strings.EqualFold(t.Name, def.Name) {
			return mysql.NewSQLError(ErTrgAlreadyExists, "HY000", "Trigger already exists")
		}
	}
	m.triggers = append(m.triggers, def)
	txnFor(ctx, d.eng).recordDDL(ctx)
	return nil
}

// DropTrigger implements sql.TriggerDatabase.
func (d *Database) DropTrigger(ctx *sql.Context, name string) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	for i, t := range m.triggers {
		if strings.EqualFold(t.Name, name) {
			m.triggers = append(m.triggers[:i:i], m.triggers[i+1:]...)
			txnFor(ctx, d.eng).recordDDL(ctx)
			return nil
		}
	}
	return sql.ErrTriggerDoesNotExist.New(name)
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedure(ctx *sql.Context, name string) (sql.StoredProcedureDetails, bool, error) {
	p, ok := d.readMeta(ctx).procedures[strings.ToLower(name)]
	return p, ok, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (d *Database) GetStoredProcedures(ctx *sql.Context) ([]sql.StoredProcedureDetails, error) {
	m := d.readMeta(ctx)
	out := make([]sql.StoredProcedureDetails, 0, len(m.procedures))
	for _, p := range m.procedures {
		out = append(out, p)
	}
	return out, nil
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) SaveStoredProcedure(ctx *sql.Context, spd sql.StoredProcedureDetails) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(spd.Name)
	if _, ok := m.procedures[key]; ok {
		return sql.ErrStoredProcedureAlreadyExists.New(spd.Name)
	}
	m.procedures[key] = spd
	txnFor(ctx, d.eng).recordDDL(ctx)
	return nil
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (d *Database) DropStoredProcedure(ctx *sql.Context, name string) error {
	m, err := d.meta(ctx)
	if err != nil {
		return err
	}
	key := strings.ToLower(name)
	if _, ok := m.procedures[key]; !ok {
		return sql.ErrStoredProcedureDoesNotExist.New(name)
	}
	delete(m.procedures, key)
	txnFor(ctx, d.eng).recordDDL(ctx)
	return nil
}

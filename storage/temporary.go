package storage

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// Temporary tables (CREATE TEMPORARY TABLE) are ordinary tables of a hidden
// database private to one session and one database the session named:
// "\x00tmp<session id>\x00<database>". So rows, indexes, transactions,
// savepoints and rollbacks work on them as on any table, while:
//   - the database handle of the visible database resolves a name to the
//     session's temporary table first, so it shadows a base table of the same
//     name for that session only (MySQL 8.0);
//   - hidden databases are never listed (SHOW DATABASES, information_schema,
//     SHOW TABLES, which lists the visible database's base tables), never
//     written to a checkpoint image, and none of their changes reaches the
//     commit hook: with binlog_format=ROW MySQL 8.0 logs nothing of a
//     temporary table, neither its DDL nor its rows;
//   - the hidden databases are created by an internal commit of their own
//     (no change, so no binlog event) and dropped the same way when the
//     session ends; they are never persisted, so they never survive a
//     restart.
//
// Creating or dropping a temporary table is part of the running transaction
// (a ROLLBACK undoes it; MySQL keeps it) and never commits it implicitly.

// hiddenPrefix starts the name of every hidden database; no client can name
// such a database (identifiers cannot hold NUL).
const hiddenPrefix = "\x00tmp"

// isHiddenDB reports whether name is a session's temporary-table database.
func isHiddenDB(name string) bool { return strings.HasPrefix(name, hiddenPrefix) }

// tempDBName is the hidden database of session id's temporary tables of db.
func tempDBName(id uint32, db string) string {
	return fmt.Sprintf("%s%d\x00%s", hiddenPrefix, id, strings.ToLower(db))
}

var (
	_ sql.TemporaryTableCreator  = (*Database)(nil)
	_ sql.TemporaryTableDatabase = (*Database)(nil)
)

// storageSession returns ctx's session of this engine, or nil.
func storageSession(ctx *sql.Context) *Session {
	if ctx == nil || ctx.Session == nil {
		return nil
	}
	s, _ := ctx.Session.(*Session)
	return s
}

// temporary returns the calling session's temporary table name of d, or nil.
func (d *Database) temporary(ctx *sql.Context, name string) *Table {
	s := storageSession(ctx)
	if s == nil || s.eng != d.eng || d.shown != "" || len(s.tempDBs) == 0 {
		return nil
	}
	hidden, ok := s.tempDBs[strings.ToLower(d.name)]
	if !ok {
		return nil
	}
	ts := txnFor(ctx, d.eng).table(hidden, name)
	if ts == nil {
		return nil
	}
	return &Table{db: &Database{eng: d.eng, name: hidden, shown: d.name}, name: ts.name, collation: ts.collation}
}

// CreateTemporaryTable implements sql.TemporaryTableCreator: a table only
// the calling session sees, shadowing a base table of the same name;
// sql.ErrTableAlreadyExists when the session has a temporary table of
// that name in d.
func (d *Database) CreateTemporaryTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID) error {
	s := storageSession(ctx)
	if s == nil {
		return sql.ErrTemporaryTableNotSupported.New()
	}
	if err := checkRowSize(schema.Schema); err != nil {
		return err
	}
	tx := txnFor(ctx, d.eng)
	if !tx.dbExists(d.name) {
		return sql.ErrDatabaseNotFound.New(d.name)
	}
	hidden, err := s.tempDB(ctx, d.name)
	if err != nil {
		return err
	}
	if tx.table(hidden, name) != nil {
		if isCreateIfNotExists(ctx) {
			ctx.Session.Warn(&sql.Warning{Level: "Note", Code: ErTableExists, Message: fmt.Sprintf("Table '%s' already exists", name)})
		}
		return sql.ErrTableAlreadyExists.New(name)
	}
	if err := tx.lockTable(ctx, hidden, name, lockExclusive, waitNormal); err != nil {
		return err
	}
	if collation == sql.Collation_Unspecified {
		collation = d.GetCollation(ctx)
	}
	tx.setTable(hidden, name, newTableState(name, schema, collation, ""))
	return nil
}

// GetAllTemporaryTables implements sql.TemporaryTableDatabase: the calling
// session's temporary tables of d.
func (d *Database) GetAllTemporaryTables(ctx *sql.Context) ([]sql.Table, error) {
	s := storageSession(ctx)
	if s == nil || d.shown != "" {
		return nil, nil
	}
	hidden, ok := s.tempDBs[strings.ToLower(d.name)]
	if !ok {
		return nil, nil
	}
	var out []sql.Table
	for _, n := range txnFor(ctx, d.eng).tableNames(hidden) {
		if t := d.temporary(ctx, n); t != nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// dropTemporary drops the calling session's temporary table name of d; it
// reports false when there is none.
func (d *Database) dropTemporary(ctx *sql.Context, name string) (bool, error) {
	t := d.temporary(ctx, name)
	if t == nil {
		return false, nil
	}
	tx := txnFor(ctx, d.eng)
	if err := tx.lockTable(ctx, t.db.name, name, lockExclusive, waitNormal); err != nil {
		return true, err
	}
	tx.setTable(t.db.name, name, nil)
	return true, nil
}

// tempDB returns the session's hidden database for db, creating it (an
// internal commit with no change, so nothing reaches the binlog) the first
// time.
func (s *Session) tempDB(ctx *sql.Context, db string) (string, error) {
	key := strings.ToLower(db)
	if h, ok := s.tempDBs[key]; ok {
		return h, nil
	}
	h := tempDBName(s.ID(), db)
	tx := s.eng.newTxn(nil, false)
	if err := tx.lockTable(ctx, h, "", lockExclusive, waitNormal); err != nil {
		tx.rollback()
		return "", err
	}
	if !tx.dbExists(h) {
		d := tx.overlay(h)
		d.created = true
		d.meta = newDBState(h, sql.Collation_Default)
		d.tables = map[string]*tableSlot{}
	}
	if err := s.eng.commit(ctx, tx); err != nil {
		return "", err
	}
	if s.tempDBs == nil {
		s.tempDBs = map[string]string{}
	}
	s.tempDBs[key] = h
	return h, nil
}

// dropTempDBs drops the session's hidden databases and every temporary
// table in them (session end), by an internal commit with no change.
func (s *Session) dropTempDBs() {
	if len(s.tempDBs) == 0 {
		return
	}
	ctx := sql.NewEmptyContext()
	tx := s.eng.newTxn(nil, false)
	for _, h := range s.tempDBs {
		if err := tx.lockTable(ctx, h, "", lockExclusive, waitNormal); err != nil {
			s.eng.log.WithError(err).WithField("session", s.ID()).Warn("dropping the temporary tables of a closed session")
			tx.rollback()
			return
		}
		d := tx.overlay(h)
		d.created, d.dropped, d.meta = false, true, nil
		d.tables = map[string]*tableSlot{}
	}
	if err := s.eng.commit(ctx, tx); err != nil {
		s.eng.log.WithError(err).WithField("session", s.ID()).Warn("dropping the temporary tables of a closed session")
		return
	}
	s.tempDBs = nil
}

// withoutHidden returns changes without those of hidden databases (rows of
// temporary tables), reusing changes' array when nothing is dropped.
func withoutHidden(changes []Change) []Change {
	keep := 0
	for _, ch := range changes {
		if !isHiddenDB(ch.Database) {
			keep++
		}
	}
	if keep == len(changes) {
		return changes
	}
	out := make([]Change, 0, keep)
	for _, ch := range changes {
		if !isHiddenDB(ch.Database) {
			out = append(out, ch)
		}
	}
	return out
}

// visibleName is the database name GMS sees for d's tables.
func (d *Database) visibleName() string {
	if d.shown != "" {
		return d.shown
	}
	return d.name
}

// recordDDL records the running statement as DDL of t; DDL of a temporary
// table is not recorded (MySQL 8.0 with binlog_format=ROW logs none).
func (t *Table) recordDDL(ctx *sql.Context, tx *txn) {
	tx.markDDL()
	if t.db.shown != "" {
		return
	}
	tx.recordDDL(ctx)
}

package storage

import (
	"github.com/dolthub/vitess/go/mysql"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// Provider is the sql.DatabaseProvider over an Engine.
type Provider struct {
	eng *Engine
}

var (
	_ sql.MutableDatabaseProvider  = (*Provider)(nil)
	_ sql.CollatedDatabaseProvider = (*Provider)(nil)
)

// Database returns the named database or sql.ErrDatabaseNotFound (1049).
func (p *Provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	if name == "" {
		// GMS's DELETE-to-TRUNCATE rewrite looks up the current database
		// even when none is selected; an empty database with no tables
		// lets it fall back to the plain DELETE.
		return &Database{eng: p.eng, name: ""}, nil
	}
	d := txnFor(ctx, p.eng).dbState(name)
	if d == nil {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	return &Database{eng: p.eng, name: d.name}, nil
}

// HasDatabase implements sql.DatabaseProvider.
func (p *Provider) HasDatabase(ctx *sql.Context, name string) bool {
	return txnFor(ctx, p.eng).dbExists(name)
}

// AllDatabases lists the databases this session sees, by name.
func (p *Provider) AllDatabases(ctx *sql.Context) []sql.Database {
	names := txnFor(ctx, p.eng).databaseNames()
	out := make([]sql.Database, len(names))
	for i, n := range names {
		out[i] = &Database{eng: p.eng, name: n}
	}
	return out
}

// databaseNames lists the databases this transaction sees, ordered by
// lower-case name.
func (tx *txn) databaseNames() []string {
	names := map[string]string{}
	for k, d := range tx.eng.latest.Load().dbs {
		if !isHiddenDB(k) {
			names[k] = d.name
		}
	}
	for k, d := range tx.dbs {
		if d.dropped && !d.created {
			delete(names, k)
		} else if d.created {
			names[k] = d.meta.name
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

// CreateDatabase creates a database with the default collation.
func (p *Provider) CreateDatabase(ctx *sql.Context, name string) error {
	return p.CreateCollatedDatabase(ctx, name, sql.Collation_Default)
}

// CreateCollatedDatabase creates a database; sql.ErrDatabaseExists (1007)
// when it exists.
func (p *Provider) CreateCollatedDatabase(ctx *sql.Context, name string, collation sql.CollationID) error {
	tx := txnFor(ctx, p.eng)
	if err := tx.lockTable(ctx, name, "", lockExclusive, waitNormal); err != nil {
		return err
	}
	if tx.dbExists(name) {
		return sql.ErrDatabaseExists.New(name)
	}
	d := tx.overlay(name)
	d.created = true
	d.meta = newDBState(name, collation)
	tx.markDDL()
	d.tables = map[string]*tableSlot{}
	tx.recordDDL(ctx)
	return nil
}

// DropDatabase drops a database and every table in it; it waits for the
// locks other transactions hold on its tables.
func (p *Provider) DropDatabase(ctx *sql.Context, name string) error {
	tx := txnFor(ctx, p.eng)
	if err := tx.lockTable(ctx, name, "", lockExclusive, waitNormal); err != nil {
		return err
	}
	if !tx.dbExists(name) {
		return mysql.NewSQLError(ErDBDropExists, "HY000", "Can't drop database '%s'; database doesn't exist", name)
	}
	for _, tn := range tx.tableNames(name) {
		if err := tx.lockTable(ctx, name, tn, lockExclusive, waitNormal); err != nil {
			return err
		}
	}
	d := tx.overlay(name)
	d.created = false
	d.dropped = true
	d.meta = nil
	d.tables = map[string]*tableSlot{}
	tx.recordDDL(ctx)
	return nil
}

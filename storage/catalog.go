package storage

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/btree"
)

// catalog is one committed version of every database. It is immutable once
// installed as latest: a commit builds a new catalog sharing unchanged parts.
type catalog struct {
	seq uint64
	// ddlSeq counts the commits that may have changed a definition (see
	// txn.markDDL) up to this version: two versions with the same ddlSeq
	// have the same databases, tables, columns, keys, checks and foreign keys.
	ddlSeq uint64
	dbs    map[string]*dbState // by lower-case name
}

func (c *catalog) db(name string) *dbState {
	if c == nil {
		return nil
	}
	return c.dbs[strings.ToLower(name)]
}

func (c *catalog) table(db, name string) *tableState {
	d := c.db(db)
	if d == nil {
		return nil
	}
	return d.tables[strings.ToLower(name)]
}

// dbState is one database. Immutable once committed.
type dbState struct {
	name       string
	collation  sql.CollationID
	tables     map[string]*tableState // by lower-case name
	views      map[string]sql.ViewDefinition
	triggers   []sql.TriggerDefinition
	procedures map[string]sql.StoredProcedureDetails
	events     map[string]sql.EventDefinition // by lower-case name; times in UTC
}

func newDBState(name string, collation sql.CollationID) *dbState {
	return &dbState{
		name:       name,
		collation:  collation,
		tables:     map[string]*tableState{},
		views:      map[string]sql.ViewDefinition{},
		procedures: map[string]sql.StoredProcedureDetails{},
		events:     map[string]sql.EventDefinition{},
	}
}

// shallowClone copies the maps (not the tables) so a commit can replace
// entries without touching the committed version.
func (d *dbState) shallowClone() *dbState {
	n := *d
	n.tables = make(map[string]*tableState, len(d.tables)+1)
	for k, v := range d.tables {
		n.tables[k] = v
	}
	n.views = make(map[string]sql.ViewDefinition, len(d.views))
	for k, v := range d.views {
		n.views[k] = v
	}
	n.triggers = append([]sql.TriggerDefinition(nil), d.triggers...)
	n.procedures = make(map[string]sql.StoredProcedureDetails, len(d.procedures))
	for k, v := range d.procedures {
		n.procedures[k] = v
	}
	n.events = make(map[string]sql.EventDefinition, len(d.events))
	for k, v := range d.events {
		n.events[k] = v
	}
	return &n
}

// tableState is one version of a table: schema, rows, indexes and
// constraints. A committed tableState is immutable; a transaction writes to a
// private clone (see clone), which becomes the committed version at commit.
type tableState struct {
	name      string
	schema    sql.Schema
	pkOrds    []int
	collation sql.CollationID
	comment   string

	pk      *keyDef
	rows    *btree.BTreeG[*entry]
	indexes []*indexState

	autoInc uint64 // next AUTO_INCREMENT value; 0 when the table has none
	// rowIDs hands out hidden row ids (tables without a primary key): one
	// counter shared by every version of this table definition, so rows
	// inserted concurrently under row locks never share an id, and a row
	// keeps its id across versions and commits.
	rowIDs *atomic.Uint64
	checks []sql.CheckDefinition
	fks    []sql.ForeignKeyConstraint // declared by this table

	// Ownership of a private clone: the transaction writing it and the
	// statement epoch it was cloned in. Nil owner means committed.
	owner *txn
	epoch uint64

	// cloneMu serialises Copy() of this version's trees: tidwall's Copy
	// writes a field of the source tree, so concurrent clones must not race.
	cloneMu *sync.Mutex
	// gms caches gmsSchema; shared by a version's clones.
	gms *gmsSchemaCache
	// ai is the AUTO_INCREMENT counter shared by every version of this
	// table definition (see autoIncShared).
	ai *autoIncShared
}

// newRowID returns a hidden row id no other row of this table definition
// has had.
func (t *tableState) newRowID() uint64 { return t.rowIDs.Add(1) }

// newEntry returns the entry for a row of t: for a table without a primary
// key a keylessEntry with hidden row id id (0: a new one from newRowID),
// else a plain entry (id ignored). Every entry stored in t's trees is made
// here, so rowID is only ever asked of keyless entries.
func (t *tableState) newEntry(row sql.Row, id uint64) *entry {
	if len(t.pkOrds) > 0 {
		return &entry{row: row}
	}
	if id == 0 {
		id = t.newRowID()
	}
	return newKeylessEntry(row, id)
}

// entryRowID is e's hidden row id when t is keyless, else 0.
func (t *tableState) entryRowID(e *entry) uint64 {
	if len(t.pkOrds) > 0 {
		return 0
	}
	return e.rowID()
}

// autoIncShared hands out AUTO_INCREMENT values across transactions that
// insert into one table concurrently under row locks, as InnoDB's
// interleaved mode does: values are never handed out twice, and a rolled
// back transaction's values are not reused. next is at least every value
// handed out plus one; a version's own autoInc may be higher (values given
// explicitly) and the larger wins. A commit installing the table whole
// (under its X lock: TRUNCATE, ALTER TABLE … AUTO_INCREMENT) resets it.
type autoIncShared struct {
	// mu is a leaf: nothing else is locked while it is held (it may be
	// taken under the commit lock or a table's lock).
	mu   sync.Mutex
	next uint64
}

// take returns the next value for ts (a private version) and moves both
// counters past it. At the column type's maximum it returns the maximum
// again (the insert then fails with 1062, as in MySQL).
func (a *autoIncShared) take(ts *tableState) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := min(max(a.next, ts.autoInc), ts.autoIncLimit())
	ts.advanceAutoInc(v)
	a.next = max(a.next, ts.autoInc)
	return v
}

// bump moves both counters past v, a value used explicitly (capped at the
// column type's maximum, see advanceAutoInc).
func (a *autoIncShared) bump(ts *tableState, v uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ts.advanceAutoInc(v)
	a.next = max(a.next, ts.autoInc)
}

func (a *autoIncShared) reset(v uint64) {
	a.mu.Lock()
	a.next = v
	a.mu.Unlock()
}

// indexState is a secondary index: an ordered set of the table's entries.
type indexState struct {
	name    string
	cols    []sql.IndexColumn
	unique  bool
	comment string
	// vector: a VECTOR INDEX. Its tree is kept like any index's, but it
	// serves no lookups (no nearest-neighbour search): queries scan.
	vector bool
	// ft: a FULLTEXT index (fulltext.go); nil for the others.
	ft   *ftIndexInfo
	kd   *keyDef
	tree *btree.BTreeG[*entry]
}

// newTableState builds an empty table for a schema.
func newTableState(name string, pks sql.PrimaryKeySchema, collation sql.CollationID, comment string) *tableState {
	sch := pks.Schema.Copy()
	for _, c := range sch {
		c.Source = name
	}
	for _, o := range pks.PkOrdinals {
		// Primary-key columns are NOT NULL, as in MySQL.
		sch[o].PrimaryKey, sch[o].Nullable = true, false
	}
	t := &tableState{
		name:      name,
		schema:    sch,
		pkOrds:    append([]int(nil), pks.PkOrdinals...),
		collation: collation,
		comment:   comment,
		cloneMu:   &sync.Mutex{},
		gms:       &gmsSchemaCache{},
		ai:        &autoIncShared{},
		rowIDs:    &atomic.Uint64{},
	}
	for _, c := range sch {
		if c.AutoIncrement {
			t.autoInc = 1
		}
	}
	t.pk = t.pkKeyDef()
	t.rows = newTree(t.pk)
	return t
}

func (t *tableState) pkKeyDef() *keyDef {
	if len(t.pkOrds) == 0 {
		return &keyDef{tieByID: true}
	}
	cols := make([]keyCol, len(t.pkOrds))
	for i, o := range t.pkOrds {
		cols[i] = keyCol{ord: o, typ: t.schema[o].Type}
	}
	return &keyDef{cols: cols}
}

// indexKeyDef orders an index by its columns and then by the primary key (or
// hidden row id), so every entry has a unique place.
func (t *tableState) indexKeyDef(cols []sql.IndexColumn) (*keyDef, error) {
	kd := &keyDef{}
	for _, c := range cols {
		ord := t.schema.IndexOfColName(c.Name)
		if ord < 0 {
			return nil, sql.ErrKeyColumnDoesNotExist.New(c.Name)
		}
		kd.cols = append(kd.cols, keyCol{ord: ord, typ: t.schema[ord].Type, prefix: c.Length})
	}
	if len(t.pkOrds) == 0 {
		kd.tieByID = true
	} else {
		kd.tie = t.pk.cols
	}
	return kd, nil
}

// clone returns a private copy for tx to write in the given statement epoch.
// Trees are copied lazily (copy-on-write), so this is O(number of indexes).
func (t *tableState) clone(tx *txn, epoch uint64) *tableState {
	t.cloneMu.Lock()
	n := *t
	n.rows = t.rows.Copy()
	n.indexes = make([]*indexState, len(t.indexes))
	for i, ix := range t.indexes {
		c := *ix
		c.tree = ix.tree.Copy()
		n.indexes[i] = &c
	}
	t.cloneMu.Unlock()
	n.schema = t.schema
	n.checks = append([]sql.CheckDefinition(nil), t.checks...)
	n.fks = append([]sql.ForeignKeyConstraint(nil), t.fks...)
	n.owner = tx
	n.epoch = epoch
	n.cloneMu = &sync.Mutex{}
	return &n
}

// readTree returns a tree that stays unchanged while the caller iterates: the
// committed tree itself, or a copy-on-write copy of a transaction's private
// tree (which the same statement may go on modifying).
func (t *tableState) readTree(tr *btree.BTreeG[*entry]) *btree.BTreeG[*entry] {
	if t.owner == nil {
		return tr
	}
	t.cloneMu.Lock()
	defer t.cloneMu.Unlock()
	return tr.Copy()
}

func (t *tableState) index(name string) (int, *indexState) {
	for i, ix := range t.indexes {
		if strings.EqualFold(ix.name, name) {
			return i, ix
		}
	}
	return -1, nil
}

// rebuild creates a table with schema pks holding rows, keeping the indexes,
// checks and keys of t whose columns still exist. Rows must already be in the
// new schema's layout.
func (t *tableState) rebuildEmpty(name string, pks sql.PrimaryKeySchema, renames map[string]string) (*tableState, error) {
	if err := checkRowSize(pks.Schema); err != nil {
		return nil, err
	}
	n := newTableState(name, pks, t.collation, t.comment)
	if t.autoInc > 0 && n.autoInc > 0 {
		n.autoInc = t.autoInc
	}
	n.checks = append(n.checks, t.checks...)
	for _, fk := range t.fks {
		fk.Table = name
		fk.Columns = renameCols(fk.Columns, renames)
		n.fks = append(n.fks, fk)
	}
	for _, ix := range t.indexes {
		cols := make([]sql.IndexColumn, 0, len(ix.cols))
		for _, c := range ix.cols {
			if r, ok := renames[strings.ToLower(c.Name)]; ok {
				c.Name = r
			}
			if n.schema.IndexOfColName(c.Name) < 0 {
				continue
			}
			cols = append(cols, c)
		}
		if len(cols) == 0 {
			// MySQL drops an index whose every column is gone and keeps the
			// rest of an index that lost some of its columns.
			continue
		}
		kd, err := n.indexKeyDef(cols)
		if err != nil {
			return nil, err
		}
		n.indexes = append(n.indexes, &indexState{name: ix.name, cols: cols, unique: ix.unique, comment: ix.comment, vector: ix.vector, ft: ix.ft, kd: kd, tree: newTree(kd)})
	}
	return n, nil
}

func renameCols(cols []string, renames map[string]string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if r, ok := renames[strings.ToLower(c)]; ok {
			out[i] = r
		} else {
			out[i] = c
		}
	}
	return out
}

// rowCount is the number of rows in this version.
func (t *tableState) rowCount() int { return t.rows.Len() }

func sqlString(v interface{}) string { return fmt.Sprint(v) }

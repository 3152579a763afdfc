package storage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// An Image is one committed version of every database, read while commits
// go on: catalogs are copy-on-write, so holding one costs nothing but the
// memory of the versions it keeps alive. Checkpoints are written from
// Images; Load* rebuild an engine from one before it serves.

// Image is an immutable view of every database at one commit.
type Image struct{ c *catalog }

// ImageDatabase is one database of an Image, with what recreates it.
type ImageDatabase struct {
	Name      string
	Collation string // MySQL's collation name
	Tables    []ImageTable
	// Views, Triggers and Procedures are kept as they are (statements,
	// sql_mode, creation times); triggers in their firing order.
	Views      []sql.ViewDefinition
	Triggers   []sql.TriggerDefinition
	Procedures []sql.StoredProcedureDetails
	// Events are the event definitions by name, as stored.
	Events []sql.EventDefinition
}

// ImageTable is one table of an Image.
type ImageTable struct {
	Name string
	// Create is the CREATE TABLE statement without foreign keys, which are
	// ForeignKeys' ALTER TABLE statements (they run after every table
	// exists).
	Create        string
	ForeignKeys   []string
	AutoIncrement uint64 // the next value; 0 without an AUTO_INCREMENT column
	Schema        sql.Schema
	ts            *tableState
}

// Rows calls f with every row in primary-key order (insertion order for
// keyless tables), stopping at f's first error. The rows must not be
// modified.
func (t ImageTable) Rows(f func(sql.Row) error) error {
	var err error
	t.ts.rows.Scan(func(e *entry) bool {
		err = f(e.row)
		return err == nil
	})
	return err
}

// RowCount is the number of rows.
func (t ImageTable) RowCount() int { return t.ts.rows.Len() }

// CaptureImage returns the latest committed version. f runs under the
// commit lock, with no commit in progress: the caller reads there the
// binlog position and GTIDs that version ends at. It blocks commits only
// while f runs.
func (e *Engine) CaptureImage(f func()) *Image {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	if f != nil {
		f()
	}
	return &Image{c: e.latest.Load()}
}

// Exclusive runs f with every commit blocked, handing it the latest
// version (RESET MASTER: the checkpoint it writes and the binlog it resets
// must see the same commits). Lock order: the commit lock, then whatever f
// takes (the binlog's lock).
func (e *Engine) Exclusive(f func(*Image) error) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	return f(&Image{c: e.latest.Load()})
}

// Databases lists the image's databases by name, with their tables by name.
func (im *Image) Databases() []ImageDatabase {
	names := make([]string, 0, len(im.c.dbs))
	for k := range im.c.dbs {
		if !isHiddenDB(k) { // temporary tables are never persisted
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([]ImageDatabase, 0, len(names))
	for _, k := range names {
		d := im.c.dbs[k]
		coll := d.collation
		if coll == sql.Collation_Unspecified {
			coll = sql.Collation_Default
		}
		db := ImageDatabase{Name: d.name, Collation: coll.Name()}
		tnames := make([]string, 0, len(d.tables))
		for tk := range d.tables {
			if !isFulltextTable(tk) { // rebuilt from their parents (RebuildFulltext)
				tnames = append(tnames, tk)
			}
		}
		sort.Strings(tnames)
		for _, tk := range tnames {
			ts := d.tables[tk]
			it := ImageTable{Name: ts.name, Create: ts.createTableStatementNoFKs(d.name), AutoIncrement: ts.autoInc, Schema: ts.schema, ts: ts}
			for _, fk := range ts.fks {
				it.ForeignKeys = append(it.ForeignKeys, fmt.Sprintf("ALTER TABLE %s.%s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s.%s (%s)%s%s",
					quoteName(d.name), quoteName(ts.name), quoteName(fk.Name), quoteNames(fk.Columns),
					quoteName(fk.ParentDatabase), quoteName(fk.ParentTable), quoteNames(fk.ParentColumns),
					refAction(" ON UPDATE ", fk.OnUpdate), refAction(" ON DELETE ", fk.OnDelete)))
			}
			db.Tables = append(db.Tables, it)
		}
		vnames := make([]string, 0, len(d.views))
		for vk := range d.views {
			vnames = append(vnames, vk)
		}
		sort.Strings(vnames)
		for _, vk := range vnames {
			db.Views = append(db.Views, d.views[vk])
		}
		db.Triggers = append(db.Triggers, d.triggers...)
		pnames := make([]string, 0, len(d.procedures))
		for pk := range d.procedures {
			pnames = append(pnames, pk)
		}
		sort.Strings(pnames)
		for _, pk := range pnames {
			db.Procedures = append(db.Procedures, d.procedures[pk])
		}
		enames := make([]string, 0, len(d.events))
		for ek := range d.events {
			enames = append(enames, ek)
		}
		sort.Strings(enames)
		for _, ek := range enames {
			db.Events = append(db.Events, d.events[ek])
		}
		out = append(out, db)
	}
	return out
}

func refAction(prefix string, a sql.ForeignKeyReferentialAction) string {
	if a == sql.ForeignKeyReferentialAction_DefaultAction || a == "" {
		return ""
	}
	return prefix + string(a)
}

// LoadRows adds rows to db.table and sets its next AUTO_INCREMENT value
// (when not 0), straight into the latest committed version and without
// capturing changes (nothing reaches the binlog): it rebuilds the engine
// from a checkpoint and may only run before the engine serves. A duplicate
// key fails with 1062.
func (e *Engine) LoadRows(db, table string, rows []sql.Row, autoInc uint64) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	ts := e.latest.Load().table(db, table)
	if ts == nil {
		return fmt.Errorf("storage: loading rows into %s.%s: no such table", db, table)
	}
	// The largest key so far, to tell an in-order row (the bulk append)
	// from one out of order without looking the maximum up each time.
	var last *entry
	if len(ts.pkOrds) > 0 {
		last, _ = ts.rows.Max()
	}
	for _, r := range rows {
		e := ts.newEntry(r, 0)
		if len(ts.pkOrds) > 0 && last != nil && !ts.pk.less(last, e) {
			// Out of order: keys checked (an entry below the maximum
			// leaves the maximum as it is).
			if err := ts.insertRewritten(e); err != nil {
				return err
			}
			continue
		}
		ts.loadEntry(e)
		last = e
	}
	if autoInc > ts.autoInc {
		ts.autoInc = autoInc
	}
	return nil
}

// loadEntry adds an entry of a checkpoint that sorts after every entry the
// table holds (or any entry of a keyless table, which gets a new hidden row
// id): the primary tree takes it by its bulk-loading append, the indexes as
// usual. A checkpoint's rows were consistent when written: keys are checked
// only when a row is not in order (LoadRows).
func (ts *tableState) loadEntry(e *entry) {
	ts.rows.Load(e)
	for _, ix := range ts.indexes {
		ix.tree.Set(e)
	}
	ts.bumpAutoInc(e.row)
}

// LoadObjects adds views, triggers (after those db has, in this order) and
// procedures to db as they are, straight into the latest committed version
// (see LoadRows: before the engine serves).
func (e *Engine) LoadObjects(db string, views []sql.ViewDefinition, triggers []sql.TriggerDefinition, procs []sql.StoredProcedureDetails) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	c := e.latest.Load()
	d := c.db(db)
	if d == nil {
		return fmt.Errorf("storage: loading objects into %s: no such database", db)
	}
	for _, v := range views {
		d.views[strings.ToLower(v.Name)] = v
	}
	d.triggers = append(d.triggers, triggers...)
	for _, p := range procs {
		d.procedures[strings.ToLower(p.Name)] = p
	}
	return nil
}

// LoadEvents adds event definitions to db as they are, straight into the
// latest committed version (see LoadRows: before the engine serves).
func (e *Engine) LoadEvents(db string, events []sql.EventDefinition) error {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	d := e.latest.Load().db(db)
	if d == nil {
		return fmt.Errorf("storage: loading events into %s: no such database", db)
	}
	for _, ev := range events {
		d.events[strings.ToLower(ev.Name)] = ev
	}
	return nil
}

// createTableStatementNoFKs is createTableStatement without its FOREIGN KEY
// clauses.
func (ts *tableState) createTableStatementNoFKs(db string) string {
	n := *ts
	n.fks = nil
	return n.createTableStatement(db)
}

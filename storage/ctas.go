package storage

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// CREATE TABLE … SELECT must not reach the binlog as its statement text:
// replaying it (recovery, a replica) would run the SELECT and then apply
// the same rows again from the row events. MySQL logs it as a plain
// CREATE TABLE (the table as SHOW CREATE TABLE prints it) followed by the
// rows; so does this engine.

// rewriteCTAS replaces, before the commit is logged, the text of every DDL
// change that created a table the same transaction then filled with rows.
// DDL commits implicitly, so rows after a CREATE TABLE in one transaction
// come from its SELECT.
func (tx *txn) rewriteCTAS() {
	for i, ch := range tx.changes {
		if ch.Kind != DDL || ch.Table == "" {
			continue
		}
		filled := false
		for _, later := range tx.changes[i+1:] {
			if later.Kind == RowInsert && strings.EqualFold(later.Database, ch.Database) && strings.EqualFold(later.Table, ch.Table) {
				filled = true
				break
			}
		}
		if !filled {
			continue
		}
		if ts := tx.table(ch.Database, ch.Table); ts != nil {
			tx.changes[i].Query = ts.createTableStatement(ch.Database)
		}
	}
}

// createTableStatement renders the table as SHOW CREATE TABLE does,
// qualified with its database.
func (ts *tableState) createTableStatement(db string) string {
	coll := ts.collation
	if coll == sql.Collation_Unspecified {
		coll = sql.Collation_Default
	}
	var lines []string
	for _, c := range ts.schema {
		typ := c.Type.String()
		if tc, ok := c.Type.(sql.TypeWithCollation); ok {
			// A column whose collation differs from the table's says so.
			typ = tc.StringWithTableCollation(coll)
		}
		l := fmt.Sprintf("  %s %s", quoteName(c.Name), typ)
		if c.Generated != nil {
			kind := "STORED"
			if c.Virtual {
				kind = "VIRTUAL"
			}
			l += " GENERATED ALWAYS AS " + c.Generated.String() + " " + kind
		}
		if !c.Nullable {
			l += " NOT NULL"
		}
		if c.AutoIncrement {
			l += " AUTO_INCREMENT"
		}
		if c.Default != nil {
			l += " DEFAULT " + c.Default.String()
		}
		if c.OnUpdate != nil {
			l += " ON UPDATE " + c.OnUpdate.String()
		}
		if c.Comment != "" {
			l += " COMMENT " + quoteString(c.Comment)
		}
		lines = append(lines, l)
	}
	if len(ts.pkOrds) > 0 {
		cols := make([]string, len(ts.pkOrds))
		for i, o := range ts.pkOrds {
			cols[i] = quoteName(ts.schema[o].Name)
		}
		lines = append(lines, "  PRIMARY KEY ("+strings.Join(cols, ",")+")")
	}
	for _, ix := range ts.indexes {
		cols := make([]string, len(ix.cols))
		for i, c := range ix.cols {
			cols[i] = quoteName(c.Name)
			if c.Length > 0 {
				cols[i] += fmt.Sprintf("(%d)", c.Length)
			}
		}
		kind := "KEY"
		if ix.unique {
			kind = "UNIQUE KEY"
		} else if ix.ft != nil {
			kind = "FULLTEXT KEY"
		}
		lines = append(lines, fmt.Sprintf("  %s %s (%s)", kind, quoteName(ix.name), strings.Join(cols, ",")))
	}
	for _, fk := range ts.fks {
		lines = append(lines, fmt.Sprintf("  CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s.%s (%s)", quoteName(fk.Name),
			quoteNames(fk.Columns), quoteName(fk.ParentDatabase), quoteName(fk.ParentTable), quoteNames(fk.ParentColumns)))
	}
	for _, ck := range ts.checks {
		l := fmt.Sprintf("  CONSTRAINT %s CHECK (%s)", quoteName(ck.Name), ck.CheckExpression)
		if !ck.Enforced {
			l += " /*!80016 NOT ENFORCED */"
		}
		lines = append(lines, l)
	}
	stmt := fmt.Sprintf("CREATE TABLE %s.%s (\n%s\n) ENGINE=InnoDB DEFAULT CHARSET=%s COLLATE=%s",
		quoteName(db), quoteName(ts.name), strings.Join(lines, ",\n"), coll.CharacterSet().Name(), coll.Name())
	if ts.comment != "" {
		stmt += " COMMENT=" + quoteString(ts.comment)
	}
	return stmt
}

func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// quoteNames quotes each name and joins them with "," (SHOW CREATE TABLE's
// key columns).
func quoteNames(ss []string) string { return joinQuoted(ss, ",") }

// joinQuoted quotes each name and joins them with sep.
func joinQuoted(ss []string, sep string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quoteName(s)
	}
	return strings.Join(out, sep)
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

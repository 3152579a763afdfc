package storage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
)

// ForeignKey returns the committed definition of the foreign key called name
// on table, looking in database db first and then in every other database
// (in name order), since a statement may write a table of another database.
// ok is false when no table of that name declares such a key. It takes no
// lock and never blocks: it reads the latest published catalog.
func (e *Engine) ForeignKey(db, table, name string) (fk sql.ForeignKeyConstraint, ok bool) {
	c := e.latest.Load()
	if c == nil {
		return fk, false
	}
	find := func(d *dbState) (sql.ForeignKeyConstraint, bool) {
		if d == nil {
			return sql.ForeignKeyConstraint{}, false
		}
		ts := d.tables[strings.ToLower(table)]
		if ts == nil {
			return sql.ForeignKeyConstraint{}, false
		}
		for _, k := range ts.fks {
			if strings.EqualFold(k.Name, name) {
				return k, true
			}
		}
		return sql.ForeignKeyConstraint{}, false
	}
	if fk, ok = find(c.db(db)); ok {
		return fk, true
	}
	names := make([]string, 0, len(c.dbs))
	for n := range c.dbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if fk, ok = find(c.dbs[n]); ok {
			return fk, true
		}
	}
	return fk, false
}

// DescribeForeignKey writes fk as InnoDB does in its foreign-key errors (1451,
// 1452): the child table with its database, the constraint, the columns, the
// referenced table (with its database only when that differs) and the
// referential actions other than RESTRICT, ON DELETE before ON UPDATE:
//
//	`d`.`c`, CONSTRAINT `c_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE
func DescribeForeignKey(fk sql.ForeignKeyConstraint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%s, CONSTRAINT %s FOREIGN KEY (%s) REFERENCES ",
		quoteName(fk.Database), quoteName(fk.Table), quoteName(fk.Name), joinQuoted(fk.Columns, ", "))
	if fk.ParentDatabase != "" && !strings.EqualFold(fk.ParentDatabase, fk.Database) {
		b.WriteString(quoteName(fk.ParentDatabase) + ".")
	}
	fmt.Fprintf(&b, "%s (%s)", quoteName(fk.ParentTable), joinQuoted(fk.ParentColumns, ", "))
	b.WriteString(fkAction("ON DELETE", fk.OnDelete))
	b.WriteString(fkAction("ON UPDATE", fk.OnUpdate))
	return b.String()
}

// fkAction is " ON DELETE CASCADE" and the like, or empty for RESTRICT and an
// unspecified action, which InnoDB does not print.
func fkAction(clause string, a sql.ForeignKeyReferentialAction) string {
	switch a {
	case sql.ForeignKeyReferentialAction_Cascade, sql.ForeignKeyReferentialAction_SetNull,
		sql.ForeignKeyReferentialAction_NoAction, sql.ForeignKeyReferentialAction_SetDefault:
		return " " + clause + " " + string(a)
	}
	return ""
}

// QuoteIdentifier quotes an identifier as MySQL prints one: in backticks, with
// any backtick inside doubled.
func QuoteIdentifier(s string) string { return quoteName(s) }

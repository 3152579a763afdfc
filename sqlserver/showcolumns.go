package sqlserver

import (
	"errors"
	"io"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// showColumns builds SHOW [FULL] COLUMNS as MySQL 8.0 does, from GMS's rows:
//
//   - Type is the bare type ("text", "varchar(80)"), never with the COLLATE GMS adds when the
//     column's collation is not the server default, and TIME is "time" (see schemaFormatter);
//   - a generated column has Extra "VIRTUAL GENERATED" or "STORED GENERATED" (GMS leaves it
//     empty), which dump tools read to leave the column out of their INSERTs;
//   - Default is the value, not a quoted literal ('pro' → pro);
//   - FULL's Collation is the column's own, for ENUM and SET columns too.
func (b showVariablesBuilder) showColumns(ctx *sql.Context, n *plan.ShowColumns, r sql.Row) (sql.RowIter, error) {
	iter, err := b.base.Build(ctx, n, r)
	if err != nil {
		return nil, err
	}
	defer iter.Close(ctx)
	var cols []*sql.Column
	for _, c := range n.TargetSchema() {
		if !c.HiddenSystem || n.Extended {
			cols = append(cols, c)
		}
	}
	typeAt, collationAt, extraAt := 1, -1, 5
	if n.Full {
		collationAt, extraAt = 2, 6
	}
	var rows []sql.Row
	for i := 0; ; i++ {
		row, err := iter.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if i < len(cols) && len(row) > extraAt {
			col := cols[i]
			row[typeAt] = bareTypeString(col.Type)
			if ct, ok := col.Type.(sql.TypeWithCollation); ok && collationAt >= 0 && (types.IsTextOnly(col.Type) || types.IsEnum(col.Type) || types.IsSet(col.Type)) {
				row[collationAt] = ct.Collation().String()
			}
			if col.Default != nil && col.Default.IsLiteral() {
				if s, ok := row[extraAt-1].(string); ok && len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
					row[extraAt-1] = strings.ReplaceAll(s[1:len(s)-1], "''", "'")
				}
			}
			if col.Generated != nil {
				row[extraAt-1] = nil // Default
				if col.Virtual {
					row[extraAt] = "VIRTUAL GENERATED"
				} else {
					row[extraAt] = "STORED GENERATED"
				}
			}
		}
		rows = append(rows, row)
	}
	return sql.RowsToRowIter(rows...), nil
}

// bareTypeString is a type as SHOW COLUMNS and information_schema.COLUMNS.COLUMN_TYPE print it:
// without character set or collation.
func bareTypeString(t sql.Type) string {
	if ct, ok := t.(sql.TypeWithCollation); ok {
		return columnTypeString(t, ct.Collation())
	}
	return columnTypeString(t, sql.Collation_Default)
}

// buildRows builds n with GMS's builder and reads all its rows.
func (b showVariablesBuilder) buildRows(ctx *sql.Context, n sql.Node, r sql.Row) ([]sql.Row, error) {
	iter, err := b.base.Build(ctx, n, r)
	if err != nil {
		return nil, err
	}
	return sql.RowIterToRows(ctx, iter)
}

// informationSchemaColumns wraps the rows of information_schema.COLUMNS with what SHOW COLUMNS
// corrects (showColumns): COLUMN_TYPE `time` for TIME, and for a generated column EXTRA
// "VIRTUAL GENERATED"/"STORED GENERATED", GENERATION_EXPRESSION and a NULL COLUMN_DEFAULT, which
// ORMs read when they introspect a schema. Columns are looked up once per table.
func (b showVariablesBuilder) informationSchemaColumns(ctx *sql.Context, n *plan.ResolvedTable, r sql.Row) (sql.RowIter, error) {
	iter, err := b.base.Build(ctx, n, r)
	if err != nil {
		return nil, err
	}
	at := map[string]int{}
	for i, c := range n.Schema(ctx) {
		at[strings.ToUpper(c.Name)] = i
	}
	for _, name := range []string{"TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "COLUMN_TYPE", "EXTRA", "GENERATION_EXPRESSION", "COLUMN_DEFAULT"} {
		if _, ok := at[name]; !ok {
			return iter, nil // a projection: leave GMS's rows as they are
		}
	}
	return &columnsIter{RowIter: iter, b: b, at: at, tables: map[[2]string]sql.Schema{}}, nil
}

// columnsIter corrects information_schema.COLUMNS rows (informationSchemaColumns).
type columnsIter struct {
	sql.RowIter
	b      showVariablesBuilder
	at     map[string]int
	tables map[[2]string]sql.Schema
}

// Next implements sql.RowIter.
func (it *columnsIter) Next(ctx *sql.Context) (sql.Row, error) {
	row, err := it.RowIter.Next(ctx)
	if err != nil {
		return row, err
	}
	db, _ := row[it.at["TABLE_SCHEMA"]].(string)
	table, _ := row[it.at["TABLE_NAME"]].(string)
	name, _ := row[it.at["COLUMN_NAME"]].(string)
	key := [2]string{db, table}
	schema, ok := it.tables[key]
	if !ok {
		schema = it.b.tableSchema(ctx, db, table)
		it.tables[key] = schema
	}
	i := schema.IndexOfColName(name)
	if i < 0 {
		return row, nil
	}
	col := schema[i]
	row = row.Copy()
	if types.IsTimespan(col.Type) {
		row[it.at["COLUMN_TYPE"]] = "time"
	}
	if col.Generated != nil {
		row[it.at["COLUMN_DEFAULT"]] = nil
		if col.Virtual {
			row[it.at["EXTRA"]] = "VIRTUAL GENERATED"
		} else {
			row[it.at["EXTRA"]] = "STORED GENERATED"
		}
		expr := columnExprText(col.Generated)
		if strings.HasPrefix(expr, "(") && strings.HasSuffix(expr, ")") {
			expr = expr[1 : len(expr)-1]
		}
		row[it.at["GENERATION_EXPRESSION"]] = expr
	}
	return row, nil
}

// columnExprText is a column expression's SQL as its ColumnDefaultValue
// prints it resolved ("((`a` * 2))"). The storage engine hands expressions
// that read columns over unresolved, their text being that rendering
// already (storage gmsSchema); String() would add a pair of parentheses.
func columnExprText(d *sql.ColumnDefaultValue) string {
	if u, ok := d.Expr.(*sql.UnresolvedColumnDefault); ok {
		return u.ExprString
	}
	return d.String()
}

// tableSchema is the schema of db.table, or nil.
func (b showVariablesBuilder) tableSchema(ctx *sql.Context, db, table string) sql.Schema {
	if b.catalog == nil {
		return nil
	}
	d, err := b.catalog.Database(ctx, db)
	if err != nil {
		return nil
	}
	t, ok, err := d.GetTableInsensitive(ctx, table)
	if err != nil || !ok {
		return nil
	}
	return t.Schema(ctx)
}

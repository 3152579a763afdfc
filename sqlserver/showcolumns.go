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

// showProcessList builds SHOW PROCESSLIST with MySQL's Host for TCP clients: the client's
// address and port ("127.0.0.1:52044"); GMS shows the account's host ("localhost"). Only Host
// is changed here.
func (b showVariablesBuilder) showProcessList(ctx *sql.Context, n *plan.ShowProcessList, r sql.Row) (sql.RowIter, error) {
	rows, err := b.buildRows(ctx, n, r)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		if len(row) < 3 {
			continue
		}
		if id, ok := row[0].(int64); ok {
			if host, ok := b.hostOf(uint32(id)); ok {
				row[2] = host
			}
		}
	}
	return sql.RowsToRowIter(rows...), nil
}

// buildRows builds n with GMS's builder and reads all its rows.
func (b showVariablesBuilder) buildRows(ctx *sql.Context, n sql.Node, r sql.Row) ([]sql.Row, error) {
	iter, err := b.base.Build(ctx, n, r)
	if err != nil {
		return nil, err
	}
	return sql.RowIterToRows(ctx, iter)
}

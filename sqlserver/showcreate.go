package sqlserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// schemaFormatter is the sql.SchemaFormatter GMS's SHOW CREATE TABLE uses (installed through
// sql.EngineOverrides). It writes column definitions as MySQL 8.0's SHOW CREATE TABLE does, so
// that a dump (mysqldump, mariadb-dump) of a semisyncd table loads into semisyncd, MySQL and
// MariaDB and means the same table:
//
//   - an ENUM or SET default is its value ('pro'), not GMS's index ('2');
//   - a nullable column without a default says DEFAULT NULL (TEXT and BLOB columns excepted);
//     a nullable TIMESTAMP says NULL DEFAULT NULL;
//   - TIME is `time`: GMS has one TIME type, which keeps microseconds, and refuses TIME(0..5), so
//     the declared precision is not kept (README, differences);
//   - clauses come in MySQL's order: type, GENERATED ALWAYS AS (…) VIRTUAL|STORED, NOT NULL,
//     DEFAULT, ON UPDATE, AUTO_INCREMENT, COMMENT.
//
// Everything else (keys, checks, table options) is GMS's MySQL formatter.
type schemaFormatter struct {
	sql.MySqlSchemaFormatter
}

var _ sql.SchemaFormatter = (*schemaFormatter)(nil)

// GenerateCreateTableColumnDefinition implements sql.SchemaFormatter. colDefault and onUpdate
// are GMS's renderings of the column's DEFAULT and ON UPDATE expressions.
func (f *schemaFormatter) GenerateCreateTableColumnDefinition(col *sql.Column, colDefault, onUpdate string, tableCollation sql.CollationID) string {
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(f.QuoteIdentifier(col.Name))
	b.WriteByte(' ')
	b.WriteString(columnTypeString(col.Type, tableCollation))
	if col.Generated != nil {
		b.WriteString(" GENERATED ALWAYS AS ")
		b.WriteString(col.Generated.String())
		if col.Virtual {
			b.WriteString(" VIRTUAL")
		} else {
			b.WriteString(" STORED")
		}
	}
	switch {
	case !col.Nullable:
		b.WriteString(" NOT NULL")
	case types.IsTimestampType(col.Type):
		b.WriteString(" NULL")
	}
	if c, ok := col.Type.(sql.SpatialColumnType); ok {
		if srid, defined := c.GetSpatialTypeSRID(); defined {
			fmt.Fprintf(&b, " /*!80003 SRID %v */", srid)
		}
	}
	if col.Generated == nil {
		switch {
		case col.Default != nil:
			b.WriteString(" DEFAULT ")
			b.WriteString(defaultValueString(col, colDefault))
		case col.Nullable && !col.AutoIncrement && !types.IsTextBlob(col.Type):
			b.WriteString(" DEFAULT NULL")
		}
	}
	if col.OnUpdate != nil {
		b.WriteString(" ON UPDATE ")
		b.WriteString(onUpdate)
	}
	if col.AutoIncrement {
		b.WriteString(" AUTO_INCREMENT")
	}
	if col.Comment != "" {
		b.WriteString(" COMMENT '")
		b.WriteString(sql.EscapeSpecialCharactersInComment(col.Comment))
		b.WriteByte('\'')
	}
	return b.String()
}

// columnTypeString is a column's type as SHOW CREATE TABLE prints it: character set and
// collation only where they differ from the table's, TIME without GMS's "(6)".
func columnTypeString(t sql.Type, tableCollation sql.CollationID) string {
	if types.IsTimespan(t) {
		return "time"
	}
	if ct, ok := t.(sql.TypeWithCollation); ok {
		return ct.StringWithTableCollation(tableCollation)
	}
	return t.String()
}

// defaultValueString is the DEFAULT clause's value. GMS renders a literal ENUM default as its
// index and a SET default as its bit set ('2', '5'); MySQL prints the value ('pro', 'a,c').
func defaultValueString(col *sql.Column, rendered string) string {
	if !col.Default.IsLiteral() {
		return rendered
	}
	unquoted, ok := strings.CutPrefix(rendered, "'")
	if !ok {
		return rendered
	}
	unquoted, ok = strings.CutSuffix(unquoted, "'")
	if !ok {
		return rendered
	}
	n, err := strconv.ParseUint(unquoted, 10, 64)
	if err != nil {
		return rendered
	}
	switch t := col.Type.(type) {
	case sql.EnumType:
		if v, ok := t.At(int(n)); ok {
			return quoteString(v)
		}
	case sql.SetType:
		if v, err := t.BitsToString(n); err == nil {
			return quoteString(v)
		}
	}
	return rendered
}

// quoteString quotes s as a MySQL string literal in SHOW CREATE TABLE output.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `''`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)
	return "'" + r.Replace(s) + "'"
}

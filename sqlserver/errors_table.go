package sqlserver

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// MySQL's unknown-table errors (include/mysqld_error.h).
const (
	erNoSuchTable    = 1146 // ER_NO_SUCH_TABLE: Table '%s.%s' doesn't exist
	erBadTableError  = 1051 // ER_BAD_TABLE_ERROR: Unknown table '%s'
	stateNoSuchTable = "42S02"
)

// gmsTableNotFound matches GMS's sql.ErrTableNotFound message, which names the
// table as written but not its database.
var gmsTableNotFound = regexp.MustCompile(`^table not found: (.+)$`)

// tableNotFoundError rewrites GMS's "table not found: t" (1146 with SQLSTATE
// HY000) into MySQL's texts, which name the database: DROP TABLE and DROP
// VIEW give 1051 "Unknown table 'db.t'", every other statement 1146 "Table
// 'db.t' doesn't exist", both SQLSTATE 42S02. The database is the one the
// statement qualifies the name with, else currentDB. Any other error is
// returned unchanged.
//
// DROP TABLE of several names lists every one of them that is missing, in the
// statement's order, as MySQL does ("Unknown table 'd.a,d.b'"); exists tells
// whether a table is there (nil: only the table GMS named is listed).
func tableNotFoundError(err error, currentDB, query string, exists func(db, table string) bool) error {
	if err == nil {
		return nil
	}
	var se *mysql.SQLError
	msg := err.Error()
	if errors.As(err, &se) {
		if se.Num != erNoSuchTable {
			return err
		}
		msg = se.Message
	} else if !sql.ErrTableNotFound.Is(err) {
		return err
	}
	m := gmsTableNotFound.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	name := m[1]
	db := qualifierOf(query, name)
	if db == "" {
		db = currentDB
	}
	full := name
	if db != "" {
		full = db + "." + name
	}
	if w := strings.Fields(NormalizedPrefix(query)); len(w) >= 2 && w[0] == "DROP" && (w[1] == "TABLE" || w[1] == "TABLES" || w[1] == "VIEW") {
		if w[1] != "VIEW" && exists != nil {
			if all := missingDropped(query, currentDB, full, exists); all != "" {
				full = all
			}
		}
		return mysql.NewSQLError(erBadTableError, stateNoSuchTable, "Unknown table '%s'", full)
	}
	return mysql.NewSQLError(erNoSuchTable, stateNoSuchTable, "Table '%s' doesn't exist", full)
}

// qualifierOf returns the database query qualifies table name with (db.name,
// either part optionally back-quoted), or "".
func qualifierOf(query, name string) string {
	q := regexp.QuoteMeta(name)
	re, err := regexp.Compile(fmt.Sprintf("(?i)%s\\s*\\.\\s*(?:`%s`|%s\\b)", ident, q, q))
	if err != nil {
		return ""
	}
	m := re.FindStringSubmatch(query)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], "`")
}

// missingDropped returns the tables of DROP TABLE query that exists does not
// find, as "db.a,db.b", or "" when that list would not name reported (the
// table GMS found missing), or the statement cannot be read.
func missingDropped(query, currentDB, reported string, exists func(db, table string) bool) string {
	stmt, err := ast.Parse(query)
	if err != nil {
		return ""
	}
	ddl, ok := stmt.(*ast.DDL)
	if !ok || len(ddl.FromTables) < 2 {
		return ""
	}
	var names []string
	found := false
	for _, tn := range ddl.FromTables {
		db := tn.DbQualifier.String()
		if db == "" {
			db = currentDB
		}
		name := tn.Name.String()
		if exists(db, name) {
			continue
		}
		full := name
		if db != "" {
			full = db + "." + name
		}
		found = found || full == reported
		names = append(names, full)
	}
	if !found {
		return ""
	}
	return strings.Join(names, ",")
}

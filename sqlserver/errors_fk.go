package sqlserver

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/semisyncd/semisyncd/storage"
)

// MySQL's foreign-key violation errors (include/mysqld_error.h).
const (
	erRowIsReferenced2 = 1451 // ER_ROW_IS_REFERENCED_2
	erNoReferencedRow2 = 1452 // ER_NO_REFERENCED_ROW_2

	// fkDetailMax is the precision MySQL's message formats give the key's
	// description ("%.192s" in ER_ROW_IS_REFERENCED_2 and ER_NO_REFERENCED_ROW_2).
	fkDetailMax = 192
)

// gmsForeignKeyViolation matches GMS's sql.ErrForeignKeyChildViolation and
// sql.ErrForeignKeyParentViolation messages: the kind, the key's name, its
// (child) table and the referenced table.
var gmsForeignKeyViolation = regexp.MustCompile("^cannot (add or update a child|delete or update a parent) row - Foreign key violation on fk: `(.*)`, table: `(.*)`, referenced table: `(.*)`, key: `.*`$")

// foreignKeyLookup finds the definition of foreign key name on table, looking
// in database db first (storage.Engine.ForeignKey).
type foreignKeyLookup func(db, table, name string) (sql.ForeignKeyConstraint, bool)

// foreignKeyError rewrites GMS's foreign-key violation into MySQL's 1451 or
// 1452 with InnoDB's description of the key, e.g.
//
//	Cannot add or update a child row: a foreign key constraint fails (`d`.`c`, CONSTRAINT `c_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE)
//
// currentDB is the session's database, where the key is looked for first.
// Any other error is returned unchanged.
func foreignKeyError(err error, currentDB string, lookup foreignKeyLookup) error {
	if err == nil || lookup == nil {
		return err
	}
	var se *mysql.SQLError
	if errors.As(err, &se) && se.Num != erRowIsReferenced2 && se.Num != erNoReferencedRow2 {
		return err
	}
	msg := err.Error()
	if se != nil {
		msg = se.Message
	}
	m := gmsForeignKeyViolation.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	code, text := erNoReferencedRow2, "Cannot add or update a child row: a foreign key constraint fails (%s)"
	if m[1] == "delete or update a parent" {
		code, text = erRowIsReferenced2, "Cannot delete or update a parent row: a foreign key constraint fails (%s)"
	}
	var detail string
	if fk, ok := lookup(currentDB, m[3], m[2]); ok {
		detail = storage.DescribeForeignKey(fk)
	} else {
		detail = fmt.Sprintf("`%s`, CONSTRAINT `%s`", m[3], m[2])
	}
	if len(detail) > fkDetailMax {
		detail = detail[:fkDetailMax]
	}
	return mysql.NewSQLError(code, stateIntegrityViolation, text, detail)
}

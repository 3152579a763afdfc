package storage

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// MySQL error numbers the engine returns itself.
const (
	ErLockWaitTimeout    = 1205
	ErLockDeadlock       = 1213
	ErQueryInterrupted   = 1317
	ErLockNowait         = 3572
	ErKeyNotFound        = 1032
	ErDupEntry           = 1062
	ErTableExists        = 1050
	ErDBCreateExists     = 1007
	ErDBDropExists       = 1008
	ErBadTable           = 1051
	ErNoSuchTable        = 1146
	ErCantDropFieldKey   = 1091
	ErDupKeyName         = 1061
	ErTrgAlreadyExists   = 1359
	ErTrgDoesNotExist    = 1360
	ErSpAlreadyExists    = 1304
	ErSpDoesNotExist     = 1305
	ErFkDupName          = 1826
	ErCheckConstraintDup = 3822
)

func errLockWaitTimeout() error {
	return mysql.NewSQLError(ErLockWaitTimeout, "HY000", "Lock wait timeout exceeded; try restarting transaction")
}

func errDeadlock() error {
	return mysql.NewSQLError(ErLockDeadlock, "40001", "Deadlock found when trying to get lock; try restarting transaction")
}

func errInterrupted() error {
	return mysql.NewSQLError(ErQueryInterrupted, "70100", "Query execution was interrupted")
}

func errLockNowait() error {
	return mysql.NewSQLError(ErLockNowait, "HY000", "Statement aborted because lock(s) could not be acquired immediately and NOWAIT is set.")
}

func errKeyNotFound(table string) error {
	return mysql.NewSQLError(ErKeyNotFound, "HY000", "Can't find record in '%s'", table)
}

// dupKeyError builds GMS's unique-key error (so INSERT … ON DUPLICATE KEY
// UPDATE, REPLACE and INSERT IGNORE work) carrying MySQL's message text:
// "Duplicate entry '1' for key 't.PRIMARY'".
func dupKeyError(table, key string, vals []interface{}, existing sql.Row, isPK bool) error {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = formatKeyValue(v)
	}
	msg := fmt.Sprintf("Duplicate entry '%s' for key '%s.%s'", strings.Join(parts, "-"), table, key)
	return sql.NewUniqueKeyErr(msg, isPK, existing)
}

func formatKeyValue(v interface{}) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

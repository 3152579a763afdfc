package sqlserver

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
)

// mysqlDefaults are system variables whose default differs between GMS and MySQL 8.0; the
// server enforces them, so their defaults are MySQL's (SET GLOBAL … = DEFAULT included).
var mysqlDefaults = map[string]interface{}{
	"max_allowed_packet": int64(DefaultMaxAllowedPacket),
}

// installMySQLDefaults re-registers the variables of mysqlDefaults with MySQL's defaults (which
// also resets their values to them). Call it before the configuration is applied.
func installMySQLDefaults() error {
	for name, def := range mysqlDefaults {
		v, _, ok := sql.SystemVariables.GetGlobal(name)
		if !ok {
			return fmt.Errorf("sqlserver: system variable %s is not defined", name)
		}
		mv, ok := v.(*sql.MysqlSystemVariable)
		if !ok {
			return fmt.Errorf("sqlserver: system variable %s is a %T", name, v)
		}
		cp := *mv
		cp.Default = def
		sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&cp})
	}
	return nil
}

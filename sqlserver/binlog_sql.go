package sqlserver

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/storage/checkpoint"
)

// Binlog statements vitess does not parse (or GMS makes no-ops): FLUSH
// BINARY LOGS, PURGE BINARY LOGS, RESET MASTER / RESET BINARY LOGS AND
// GTIDS, SHOW BINLOG EVENTS, SHOW MASTER LOGS, SHOW REPLICAS / SHOW SLAVE
// HOSTS. Each goes through the parser hook with MySQL's privilege.

var (
	reFlushBinlogs = regexp.MustCompile(`^FLUSH (LOCAL |NO_WRITE_TO_BINLOG )?(BINARY )?LOGS$`)
	rePurge        = regexp.MustCompile(`(?is)^\s*PURGE\s+(BINARY|MASTER)\s+LOGS\s+(TO|BEFORE)\s+(.+?)\s*;?\s*$`)
	reShowEvents   = regexp.MustCompile(`(?is)^\s*SHOW\s+BINLOG\s+EVENTS(?:\s+IN\s+'([^']*)')?(?:\s+FROM\s+(\d+))?(?:\s+LIMIT\s+(\d+)(?:\s*,\s*(\d+))?)?\s*;?\s*$`)
)

func (s *Server) registerBinlogStatements() {
	r := s.repl
	p := s.parser
	p.RegisterStatement(func(prefix string) bool { return reFlushBinlogs.MatchString(prefix) },
		func(*sql.Context, string) (ast.Statement, error) {
			return Statement("FLUSH BINARY LOGS", nil, GlobalAuth(ast.AuthType_RELOAD), func(*sql.Context) ([]sql.Row, error) {
				return nil, r.w.Rotate()
			}), nil
		})
	p.RegisterStatement(func(prefix string) bool {
		return strings.HasPrefix(prefix, "PURGE BINARY LOGS ") || strings.HasPrefix(prefix, "PURGE MASTER LOGS ")
	}, func(_ *sql.Context, q string) (ast.Statement, error) {
		m := rePurge.FindStringSubmatch(q)
		if m == nil {
			return nil, errSyntax(q)
		}
		arg := strings.Trim(strings.TrimSpace(m[3]), `'"`)
		before := strings.EqualFold(m[2], "BEFORE")
		return Statement("PURGE BINARY LOGS", nil, GlobalAuth(ast.AuthType_SUPER), func(*sql.Context) ([]sql.Row, error) {
			if before {
				t, err := time.ParseInLocation("2006-01-02 15:04:05", arg, time.Local)
				if err != nil {
					if t, err = time.ParseInLocation("2006-01-02", arg, time.Local); err != nil {
						return nil, mysql.NewSQLError(1210, "HY000", "Incorrect arguments to PURGE LOGS BEFORE")
					}
				}
				// Whatever the date, the files before the current one
				// must be in a checkpoint before they go.
				if err := r.ck.Cover(r.w.LastFile()); err != nil {
					return nil, err
				}
				return nil, r.w.PurgeBefore(t)
			}
			if r.w.HasFile(arg) {
				if err := r.ck.Cover(arg); err != nil {
					return nil, err
				}
			}
			if err := r.w.PurgeTo(arg); err == binlog.ErrUnknownLog {
				return nil, mysql.NewSQLError(1373, "HY000", "Target log not found in binlog index")
			} else if err != nil {
				return nil, err
			}
			return nil, nil
		}), nil
	})
	p.RegisterStatement(func(prefix string) bool {
		return prefix == "RESET MASTER" || prefix == "RESET BINARY LOGS AND GTIDS"
	}, func(*sql.Context, string) (ast.Statement, error) {
		return Statement("RESET MASTER", nil, GlobalAuth(ast.AuthType_RELOAD), func(*sql.Context) ([]sql.Row, error) {
			if err := r.ck.Reset(); err != nil {
				return nil, err
			}
			// The semi-sync positions and counters restart with the binlog.
			s.source.Reset()
			return nil, nil
		}), nil
	})
	p.RegisterStatement(func(prefix string) bool { return prefix == "SHOW MASTER LOGS" },
		func(*sql.Context, string) (ast.Statement, error) {
			sch := sql.Schema{
				{Name: "Log_name", Type: types.LongText},
				{Name: "File_size", Type: types.Uint64},
				{Name: "Encrypted", Type: types.LongText},
			}
			return Statement("SHOW MASTER LOGS", sch, GlobalAuth(ast.AuthType_REPLICATION_CLIENT), func(*sql.Context) ([]sql.Row, error) {
				var rows []sql.Row
				for _, f := range r.w.Files() {
					rows = append(rows, sql.NewRow(f.Name, f.Size, "No"))
				}
				return rows, nil
			}), nil
		})
	p.RegisterStatement(func(prefix string) bool { return strings.HasPrefix(prefix, "SHOW BINLOG EVENTS") },
		func(_ *sql.Context, q string) (ast.Statement, error) {
			m := reShowEvents.FindStringSubmatch(q)
			if m == nil {
				return nil, errSyntax(q)
			}
			file := m[1]
			from, _ := strconv.ParseUint(m[2], 10, 64)
			offset, limit := 0, -1
			if m[3] != "" {
				limit, _ = strconv.Atoi(m[3])
				if m[4] != "" {
					offset, limit = limit, 0
					limit, _ = strconv.Atoi(m[4])
				}
			}
			sch := sql.Schema{
				{Name: "Log_name", Type: types.LongText},
				{Name: "Pos", Type: types.Uint64},
				{Name: "Event_type", Type: types.LongText},
				{Name: "Server_id", Type: types.Uint32},
				{Name: "End_log_pos", Type: types.Uint64},
				{Name: "Info", Type: types.LongText},
			}
			return Statement("SHOW BINLOG EVENTS", sch, GlobalAuth(ast.AuthType_REPLICATION), func(*sql.Context) ([]sql.Row, error) {
				evs, err := r.w.Events(file, from, offset, limit)
				if err != nil {
					return nil, mysql.NewSQLError(1220, "HY000", "%s", err.Error())
				}
				rows := make([]sql.Row, len(evs))
				for i, e := range evs {
					rows[i] = sql.NewRow(e.LogName, e.Pos, e.EventType, e.ServerID, e.EndLogPos, e.Info)
				}
				return rows, nil
			}), nil
		})
	p.RegisterStatement(func(prefix string) bool { return prefix == "SHOW REPLICAS" || prefix == "SHOW SLAVE HOSTS" },
		func(_ *sql.Context, q string) (ast.Statement, error) {
			names := []string{"Server_Id", "Host", "Port", "Source_Id", "Replica_UUID"}
			if strings.Contains(strings.ToUpper(q), "SLAVE") {
				names = []string{"Server_id", "Host", "Port", "Master_id", "Slave_UUID"}
			}
			sch := sql.Schema{
				{Name: names[0], Type: types.Uint32},
				{Name: names[1], Type: types.LongText},
				{Name: names[2], Type: types.Uint32},
				{Name: names[3], Type: types.Uint32},
				{Name: names[4], Type: types.LongText},
			}
			return Statement("SHOW REPLICAS", sch, GlobalAuth(ast.AuthType_REPLICATION), func(*sql.Context) ([]sql.Row, error) {
				var rows []sql.Row
				for _, ri := range r.Replicas() {
					rows = append(rows, sql.NewRow(ri.ServerID, ri.Host, uint32(ri.Port), ri.SourceID, ri.ReplicaUUID))
				}
				return rows, nil
			}), nil
		})
}

func errSyntax(q string) error {
	return mysql.NewSQLError(1064, "42000", "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '%s' at line 1", strings.TrimSpace(q))
}

// binlogVariables are the read-only system variables the binlog answers.
func (s *Server) binlogVariables() error {
	w := s.repl.w
	vars := []sql.SystemVariable{
		newSQLLogBinVar(),
		&sql.MysqlSystemVariable{Name: "log_bin", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemBoolType("log_bin"), Default: int8(1)},
		&sql.MysqlSystemVariable{Name: "gtid_mode", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemEnumType("gtid_mode", "OFF", "OFF_PERMISSIVE", "ON_PERMISSIVE", "ON"), Default: "ON"},
		&sql.MysqlSystemVariable{Name: "enforce_gtid_consistency", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemEnumType("enforce_gtid_consistency", "OFF", "ON", "WARN"), Default: "ON"},
		&sql.MysqlSystemVariable{Name: "log_bin_basename", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemStringType("log_bin_basename"), Default: w.Path("binlog")},
		&sql.MysqlSystemVariable{Name: "log_bin_index", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemStringType("log_bin_index"), Default: w.Path("binlog.index")},
		&sql.MysqlSystemVariable{Name: "gtid_executed", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemStringType("gtid_executed"), Default: "",
			ValueFunction: func() (interface{}, error) { return w.Executed(), nil }},
		&sql.MysqlSystemVariable{Name: "gtid_purged", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Type: types.NewSystemStringType("gtid_purged"), Default: "",
			ValueFunction: func() (interface{}, error) { return w.Purged(), nil }},
		&sql.MysqlSystemVariable{Name: "sync_binlog", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Dynamic: true,
			Type: types.NewSystemUintType("sync_binlog", 0, 4294967295), Default: uint64(1),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				n, _, _ := types.Uint64.Convert(context.Background(), v.Val)
				w.SetSyncBinlog(int64(toUint(n)))
				return nil
			}},
		&sql.MysqlSystemVariable{Name: "max_binlog_size", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Dynamic: true,
			Type: types.NewSystemUintType("max_binlog_size", 4096, 1073741824), Default: uint64(1073741824),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				n, _, _ := types.Uint64.Convert(context.Background(), v.Val)
				w.SetMaxSize(toUint(n))
				return nil
			}},
		&sql.MysqlSystemVariable{Name: "binlog_checksum", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Dynamic: true,
			Type: types.NewSystemEnumType("binlog_checksum", "NONE", "CRC32"), Default: "CRC32",
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				return w.SetChecksum(strings.EqualFold(fmt.Sprint(v.Val), "CRC32"))
			}},
		&sql.MysqlSystemVariable{Name: "binlog_error_action", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Dynamic: true,
			Type: types.NewSystemEnumType("binlog_error_action", "IGNORE_ERROR", "ABORT_SERVER"), Default: "ABORT_SERVER",
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				if strings.EqualFold(fmt.Sprint(v.Val), "IGNORE_ERROR") {
					w.SetErrorAction(binlog.IgnoreError)
				} else {
					w.SetErrorAction(binlog.AbortServer)
				}
				return nil
			}},
		&sql.MysqlSystemVariable{Name: "binlog_expire_logs_seconds", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Dynamic: true,
			Type: types.NewSystemIntType("binlog_expire_logs_seconds", 0, 4294967295, false), Default: int64(defaultBinlogExpire / time.Second),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				n, _, _ := types.Int64.Convert(context.Background(), v.Val)
				w.SetExpire(time.Duration(toUint(n)) * time.Second)
				return nil
			}},
		&sql.MysqlSystemVariable{Name: "semisyncd_checkpoint_interval", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Global), Dynamic: true,
			Type: types.NewSystemUintType("semisyncd_checkpoint_interval", 4096, 1<<40), Default: uint64(checkpoint.DefaultInterval),
			NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
				n, _, _ := types.Uint64.Convert(context.Background(), v.Val)
				s.repl.ck.SetInterval(int64(toUint(n)))
				return nil
			}},
		&sql.MysqlSystemVariable{Name: "binlog_format", Scope: sql.GetMysqlScope(sql.SystemVariableScope_Both), Dynamic: true,
			Type: types.NewSystemEnumType("binlog_format", "ROW"), Default: "ROW"},
	}
	sql.SystemVariables.AddSystemVariables(vars)
	return nil
}

func toUint(v interface{}) uint64 {
	switch n := v.(type) {
	case uint64:
		return n
	case int64:
		return uint64(n)
	}
	return 0
}

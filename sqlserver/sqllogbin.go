package sqlserver

// sql_log_bin as MySQL 8.0 has it: a session-only variable (ON by default; SET GLOBAL gives
// 1228, @@global.sql_log_bin 1238), a restricted one (setting it needs SUPER,
// SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN: 1227), not settable inside a transaction
// (1694). With it OFF the session's commits stay out of the binlog: logBinHook sends them to the
// binlog's unlogged journal (binlog.Writer.AppendUnlogged), which keeps them durable, takes no
// GTID, and is never streamed to a replica.

import (
	"context"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/storage"
)

const erInsideTransactionPreventsSwitchSQLLogBin = 1694 // ER_INSIDE_TRANSACTION_PREVENTS_SWITCH_SQL_LOG_BIN

// sqlLogBinVar is sql_log_bin: GMS's definition is at both scopes with default OFF and no checks.
type sqlLogBinVar struct {
	*sql.MysqlSystemVariable
}

var _ sql.SystemVariable = sqlLogBinVar{}

func newSQLLogBinVar() sqlLogBinVar {
	return sqlLogBinVar{&sql.MysqlSystemVariable{
		Name:    "sql_log_bin",
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Session),
		Dynamic: true,
		Type:    types.NewSystemBoolType("sql_log_bin"),
		Default: int8(1),
	}}
}

// SetValue implements sql.SystemVariable with MySQL's checks, in MySQL's order: scope (1228),
// privilege (1227), transaction (1694).
func (v sqlLogBinVar) SetValue(ctx *sql.Context, val any, global bool) (sql.SystemVarValue, error) {
	if global {
		return sql.SystemVarValue{}, sql.ErrSystemVariableSessionOnly.New(v.Name)
	}
	if !maySetRestrictedSession(ctx) {
		return sql.SystemVarValue{}, mysql.NewSQLError(erSpecificAccessDenied, stateSyntaxOrAccess, specificAccessDeniedFormat,
			"SUPER, SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN")
	}
	if inExplicitTransaction(ctx) {
		return sql.SystemVarValue{}, mysql.NewSQLError(erInsideTransactionPreventsSwitchSQLLogBin, stateGeneral,
			"Cannot modify @@session.sql_log_bin inside a transaction")
	}
	svv, err := v.MysqlSystemVariable.SetValue(ctx, val, global)
	svv.Var = v
	return svv, err
}

// InitValue implements sql.SystemVariable, keeping the wrapper in the stored value.
func (v sqlLogBinVar) InitValue(ctx *sql.Context, val any, global bool) (sql.SystemVarValue, error) {
	svv, err := v.MysqlSystemVariable.InitValue(ctx, val, global)
	svv.Var = v
	return svv, err
}

// maySetRestrictedSession reports whether the context's account may set a restricted session
// variable (MySQL's check_session_admin). Contexts without an account are the server's own.
func maySetRestrictedSession(ctx *sql.Context) bool {
	reg, ok := sql.SystemVariables.(variableRegistry)
	db := reg.privileges
	if !ok || db == nil || !db.Enabled() || ctx == nil || ctx.Session == nil || ctx.Session.Client().User == "" {
		return true
	}
	return db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_Super)) ||
		db.UserHasPrivileges(ctx, sql.NewDynamicPrivilegedOperation("system_variables_admin")) ||
		db.UserHasPrivileges(ctx, sql.NewDynamicPrivilegedOperation("session_variables_admin"))
}

// inExplicitTransaction approximates MySQL's in_active_multi_stmt_transaction: after BEGIN /
// START TRANSACTION, or with autocommit off while a transaction is open.
func inExplicitTransaction(ctx *sql.Context) bool {
	if ctx.GetIgnoreAutoCommit() {
		return true
	}
	if on, err := ctx.GetSessionVariable(ctx, "autocommit"); err == nil {
		if b, ok := on.(int8); ok && b == 0 {
			return ctx.GetTransaction() != nil
		}
	}
	return false
}

// sqlLogBinOff reports whether the committing session has sql_log_bin OFF.
func sqlLogBinOff(ctx context.Context) bool {
	sc, ok := ctx.(*sql.Context)
	if !ok || sc.Session == nil {
		return false
	}
	v, err := sc.GetSessionVariable(sc, "sql_log_bin")
	if err != nil {
		return false
	}
	b, ok := v.(int8)
	return ok && b == 0
}

// logBinHook is the storage engine's commit hook: the binlog, or its unlogged journal for a
// session with sql_log_bin OFF. A replicated transaction (its GTID set by the applier) is
// always logged.
type logBinHook struct {
	w *binlog.Writer
}

var _ storage.CommitHook = logBinHook{}

// Append implements storage.CommitHook.
func (h logBinHook) Append(ctx context.Context, cs *storage.ChangeSet) (storage.CommitTicket, error) {
	if cs.GTID == "" && sqlLogBinOff(ctx) {
		return h.w.AppendUnlogged(ctx, cs)
	}
	return h.w.Append(ctx, cs)
}

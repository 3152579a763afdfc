package sqlserver

// read_only and super_read_only, enforced as MySQL 8.0 does.
//
// GMS defines both variables but enforces neither (its own read-only mode is an engine flag
// with its own error text). MySQL's rules, which this file implements:
//
//   - With read_only ON, a statement that changes data or schema (DML, DDL, account
//     management) fails with 1290 ER_OPTION_PREVENTS_STATEMENT, "The MySQL server is running
//     with the --read-only option so it cannot execute this statement", unless the account has
//     SUPER or CONNECTION_ADMIN.
//   - With super_read_only ON, the same statements fail for every account, with
//     "--super-read-only" in the text.
//   - Setting super_read_only ON sets read_only ON; setting read_only OFF sets
//     super_read_only OFF (variableRegistry.SetGlobal calls coupleReadOnly).
//   - The replica's applier is exempt: it runs on a session that belongs to no client
//     connection (connection id 0), as every internal session of the server does. Statements
//     that change no data are allowed: SELECT, SHOW, SET, transaction control, and
//     administrative statements such as START REPLICA, CHANGE REPLICATION SOURCE, INSTALL
//     PLUGIN or FLUSH.
//
// The check is a priority exec builder: GMS builds every node of every plan through it, so
// writes are caught at any depth (a trigger's or a procedure's too) and prepared statements at
// each execution; analyzer rules would not do, since GMS's fast paths for simple INSERT and
// UPDATE skip them. Cost when no write is built: one IsReadOnly call per node; a write reads the
// two variables, and the account's privileges only when read_only alone is ON.
//
// Difference from MySQL: a transaction that wrote before read_only was switched ON commits
// (MySQL fails its COMMIT with 1290).

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"
)

// erOptionPreventsStatement is MySQL's ER_OPTION_PREVENTS_STATEMENT (read_only,
// secure_file_priv).
const erOptionPreventsStatement = 1290

// errReadOnly is MySQL's refusal of a write under read_only ("--read-only") or
// super_read_only ("--super-read-only").
func errReadOnly(option string) error {
	return mysql.NewSQLError(erOptionPreventsStatement, "HY000",
		"The MySQL server is running with the %s option so it cannot execute this statement", option)
}

// globalBool reads a boolean global variable; false when it does not exist.
func globalBool(name string) bool {
	_, v, ok := sql.SystemVariables.GetGlobal(name)
	if !ok {
		return false
	}
	switch x := v.(type) {
	case int8:
		return x != 0
	case int64:
		return x != 0
	case bool:
		return x
	}
	return false
}

// installReadOnly makes the analyzer's exec builder refuse writes under read_only, checking
// privileges against db. Call it after sqle.New and after any other priority builder is
// installed: it delegates every node to the one it finds.
func installReadOnly(a *analyzer.Analyzer, db *mysql_db.MySQLDb) {
	a.ExecBuilder.PriorityBuilder = readOnlyBuilder{next: a.ExecBuilder.PriorityBuilder, db: db}
}

// readOnlyBuilder is a priority exec builder that fails a data-changing node with 1290 under
// read_only and leaves every node to next (or GMS, when next is nil).
type readOnlyBuilder struct {
	next sql.NodeExecBuilder
	db   *mysql_db.MySQLDb
}

var _ sql.NodeExecBuilder = readOnlyBuilder{}

// Build implements sql.NodeExecBuilder.
func (b readOnlyBuilder) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	if err := checkReadOnly(ctx, n, b.db); err != nil {
		return nil, err
	}
	if b.next == nil {
		return nil, nil
	}
	return b.next.Build(ctx, n, r)
}

// checkReadOnly returns MySQL's 1290 when n changes data and read_only forbids it for the
// context's session; nil otherwise. Internal sessions (connection id 0: the replica's applier,
// start-up work) are exempt.
func checkReadOnly(ctx *sql.Context, n sql.Node, db *mysql_db.MySQLDb) error {
	if !changesData(n) {
		return nil
	}
	return checkReadOnlyWrite(ctx, db)
}

// checkReadOnlyWrite is checkReadOnly for a statement known to write (our own statements that
// change accounts, which changesData leaves out).
func checkReadOnlyWrite(ctx *sql.Context, db *mysql_db.MySQLDb) error {
	if ctx == nil || ctx.Session == nil || ctx.Session.ID() == 0 {
		return nil
	}
	super := globalBool("super_read_only")
	if !super && !globalBool("read_only") {
		return nil
	}
	if super {
		return errReadOnly("--super-read-only")
	}
	if hasConnectionAdmin(ctx, db) {
		return nil
	}
	return errReadOnly("--read-only")
}

// hasConnectionAdmin reports whether the context's account has SUPER or CONNECTION_ADMIN (what
// read_only and killing another account's thread need).
func hasConnectionAdmin(ctx *sql.Context, db *mysql_db.MySQLDb) bool {
	if db == nil || !db.Enabled() || ctx.Session.Client().User == "" {
		return true
	}
	return db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_Super)) ||
		db.UserHasPrivileges(ctx, sql.NewDynamicPrivilegedOperation("connection_admin"))
}

// changesData reports whether a node itself writes data, schema or accounts: what read_only
// forbids. A node that is not read-only only because a child is not (a block, a trigger
// executor) is left to that child, which is built too. Administrative statements GMS marks as
// writes (replication control, FLUSH PRIVILEGES, our own statements) are not data changes.
func changesData(n sql.Node) bool {
	if n.IsReadOnly() {
		return false
	}
	switch n.(type) {
	case *statementNode,
		*plan.ChangeReplicationSource, *plan.ChangeReplicationFilter,
		*plan.StartReplica, *plan.StopReplica, *plan.ResetReplica,
		*plan.FlushPrivileges:
		return false
	}
	for _, c := range n.Children() {
		if !c.IsReadOnly() {
			return false
		}
	}
	return true
}

// coupleReadOnly keeps the two variables consistent after name was set, as MySQL does:
// super_read_only ON implies read_only ON, read_only OFF implies super_read_only OFF. inner is
// the registry below variableRegistry (its own SetGlobal takes the registry's lock, so this
// runs after the first assignment returned).
func coupleReadOnly(ctx *sql.Context, inner sql.SystemVariableRegistry, name string) error {
	switch name {
	case "super_read_only":
		if globalBool("super_read_only") && !globalBool("read_only") {
			return inner.SetGlobal(ctx, "read_only", int8(1))
		}
	case "read_only":
		if !globalBool("read_only") && globalBool("super_read_only") {
			return inner.SetGlobal(ctx, "super_read_only", int8(0))
		}
	}
	return nil
}

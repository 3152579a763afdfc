package sqlserver

// Accounts and privilege errors.
//
// GMS checks privileges while it builds a plan and reports every refusal as "command denied to
// user 'u'@'h'" (1105), which loses what MySQL tells a client: which command, on which table or
// database, or which global privilege was missing. accessDeniedHandler wraps the catalog's
// authorization handler: when GMS refuses, it answers with MySQL's 1142, 1044 or 1227 built from
// the statement's authorization information. GMS does not check privileges for SET GLOBAL at
// all; variableRegistry.SetGlobal does, as MySQL does (SUPER or SYSTEM_VARIABLES_ADMIN).

import (
	"errors"
	"fmt"
	"github.com/semisyncd/semisyncd/binlog/vfs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// accessDeniedHandler is the catalog's authorization handler with MySQL's refusals.
type accessDeniedHandler struct {
	sql.AuthorizationHandler
}

var _ sql.AuthorizationHandler = accessDeniedHandler{}

// commandDenied matches GMS's refusal and captures the account.
var commandDenied = regexp.MustCompile(`^command denied to user (.*)$`)

// authShowGrantsFor is the auth type fixStatement gives SHOW GRANTS FOR an account, whose
// TargetNames[0] is the account's user name. MySQL 8.0 (Sql_cmd_show_grants) lets a session
// see the grants of any account with its own user name, any host; another account's need
// SELECT on mysql.user, else 1142 "SELECT command denied to user 'u'@'h' for table 'user'".
const authShowGrantsFor = "semisyncd_show_grants_for"

// HandleAuth implements sql.AuthorizationHandler.
func (h accessDeniedHandler) HandleAuth(ctx *sql.Context, state sql.AuthorizationQueryState, auth ast.AuthInformation) error {
	if auth.AuthType == authShowGrantsFor {
		client := ctx.Session.Client()
		if len(auth.TargetNames) == 1 && auth.TargetNames[0] == client.User {
			return nil
		}
		sel := ast.AuthInformation{AuthType: ast.AuthType_SELECT, TargetType: ast.AuthTargetType_SingleTableIdentifier,
			TargetNames: []string{"mysql", "user"}}
		if h.AuthorizationHandler.HandleAuth(ctx, state, sel) != nil {
			return mysql.NewSQLError(erTableAccessDenied, stateSyntaxOrAccess,
				"SELECT command denied to user '%s'@'%s' for table 'user'", client.User, client.Address)
		}
		return nil
	}
	err := h.AuthorizationHandler.HandleAuth(ctx, state, auth)
	if err == nil || !sql.ErrPrivilegeCheckFailed.Is(err) {
		return err
	}
	m := commandDenied.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return accessDenied(m[1], auth)
}

// accessDenied returns MySQL's error for account being refused what auth describes.
func accessDenied(account string, auth ast.AuthInformation) error {
	names := auth.TargetNames
	switch auth.TargetType {
	case ast.AuthTargetType_SingleTableIdentifier, ast.AuthTargetType_MultipleTableIdentifiers, ast.AuthTargetType_TableColumn:
		if len(names) >= 2 {
			return mysql.NewSQLError(erTableAccessDenied, stateSyntaxOrAccess,
				"%s command denied to user %s for table '%s'", commandName(auth.AuthType), account, names[1])
		}
	case ast.AuthTargetType_DatabaseIdentifiers:
		if len(names) >= 1 {
			return mysql.NewSQLError(erDBAccessDenied, stateSyntaxOrAccess,
				"Access denied for user %s to database '%s'", account, names[0])
		}
	}
	return mysql.NewSQLError(erSpecificAccessDenied, stateSyntaxOrAccess, specificAccessDeniedFormat, privilegeName(auth.AuthType))
}

// commandName is the command MySQL names in ER_TABLEACCESS_DENIED_ERROR for an auth type.
func commandName(authType string) string {
	switch authType {
	case ast.AuthType_REPLACE:
		return "INSERT"
	case ast.AuthType_LOCK:
		return "LOCK TABLES"
	case ast.AuthType_FOREIGN_KEY:
		return "REFERENCES"
	}
	return strings.ReplaceAll(authType, "_", " ")
}

// privilegeName is the global privilege MySQL names in ER_SPECIFIC_ACCESS_DENIED_ERROR.
func privilegeName(authType string) string {
	switch authType {
	case ast.AuthType_REPLICATION:
		return "SUPER or REPLICATION_SLAVE_ADMIN"
	case ast.AuthType_BINLOG:
		return "SUPER or BINLOG_ADMIN"
	case "", ast.AuthType_IGNORE, ast.AuthType_SHOW, ast.AuthType_VISIBLE:
		return "SUPER"
	}
	return strings.ReplaceAll(authType, "_", " ")
}

// errSetGlobalDenied is MySQL's refusal of SET GLOBAL.
func errSetGlobalDenied() error {
	return mysql.NewSQLError(erSpecificAccessDenied, stateSyntaxOrAccess, specificAccessDeniedFormat, "SUPER or SYSTEM_VARIABLES_ADMIN")
}

// mayChangeGlobals reports whether the context's account may change global variables. Contexts
// without an account are the server's own and may.
func mayChangeGlobals(ctx *sql.Context, db *mysql_db.MySQLDb) bool {
	if db == nil || !db.Enabled() || ctx == nil || ctx.Session == nil || ctx.Session.Client().User == "" {
		return true
	}
	return db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_Super)) ||
		db.UserHasPrivileges(ctx, sql.NewDynamicPrivilegedOperation("system_variables_admin"))
}

// setupAccounts loads the accounts persisted in dataDir, makes changes persist there, and
// (re)defines user@localhost with every privilege and password, as the configuration says.
// Defining a user turns authentication on: a wrong password gets 1045.
func setupAccounts(e *sqle.Engine, dataDir, user, password string) error {
	db := e.Analyzer.Catalog.MySQLDb
	path := filepath.Join(dataDir, privilegesFile)
	buf, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlserver: read accounts: %w", err)
	}
	if err := db.LoadData(sql.NewEmptyContext(), buf); err != nil {
		return fmt.Errorf("sqlserver: load accounts from %s: %w", path, err)
	}
	db.SetPersister(filePersister{path: path})
	ed := db.Editor()
	defer ed.Close()
	ed.RemoveUser(mysql_db.UserPrimaryKey{Host: "localhost", User: user})
	db.AddSuperUser(ed, user, "localhost", password)
	return nil
}

// filePersister writes the account tables to one file whenever an account statement changes
// them.
type filePersister struct {
	path string
}

var _ mysql_db.MySQLDbPersistence = filePersister{}

// Persist implements mysql_db.MySQLDbPersistence.
func (p filePersister) Persist(_ *sql.Context, data []byte) error {
	return vfs.WriteFileAtomic(nil, p.path, data)
}

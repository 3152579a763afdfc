package sqlserver

// Server-side file access, as MySQL 8.0 restricts it.
//
// LOAD_FILE(), SELECT … INTO OUTFILE / DUMPFILE and LOAD DATA INFILE (not LOCAL) read or write
// files as the server process. MySQL allows them only to accounts with the global FILE
// privilege and only inside @@secure_file_priv: a directory (the files must be under it), NULL
// (no file access at all) or the empty string (anywhere). GMS checks neither the privilege nor
// NULL, so fileAccessRule, run before analysis, does:
//   - INTO OUTFILE/DUMPFILE and LOAD DATA INFILE: without FILE, 1045 "Access denied for user
//     'u'@'h' (using password: YES|NO)"; outside secure_file_priv (or with it NULL), 1290;
//   - LOAD_FILE(): NULL, as MySQL returns, without FILE or when the file is outside
//     secure_file_priv (fileAccessBuilder, at exec-build time; a computed name is checked by
//     GMS's LOAD_FILE itself, which allows only files directly in secure_file_priv).
//
// The default is MySQL's safe kind: a directory under the data directory ("secure-file-priv",
// created at start), or NULL with no data directory. Config.SecureFilePriv chooses.

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// SecureFilePrivDir is the directory under the data directory that is @@secure_file_priv by
// default.
const SecureFilePrivDir = "secure-file-priv"

// SecureFilePrivNull is the Config.SecureFilePriv value that disables file access (MySQL's
// --secure-file-priv=NULL).
const SecureFilePrivNull = "NULL"

// fileAccessRuleID names the rule among GMS's (any id past GMS's own).
const fileAccessRuleID analyzer.RuleId = 10_001

// resolveSecureFilePriv returns the value @@secure_file_priv takes: the string "NULL" for NULL
// (GMS's variable cannot hold SQL NULL; the mysql client prints both alike, and GMS's LOAD_FILE
// then finds no such directory and returns NULL), "" for no restriction, else an absolute
// directory, created when it is the default one.
func resolveSecureFilePriv(cfg Config) (interface{}, error) {
	v := cfg.SecureFilePriv
	if v == nil {
		dir := filepath.Join(cfg.DataDir, SecureFilePrivDir)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		return filepath.Abs(dir)
	}
	switch {
	case strings.EqualFold(*v, SecureFilePrivNull):
		return SecureFilePrivNull, nil
	case *v == "":
		return "", nil
	}
	return filepath.Abs(*v)
}

// secureFilePriv reads @@secure_file_priv: ok is false when it is NULL.
func secureFilePriv() (dir string, ok bool) {
	_, v, found := sql.SystemVariables.GetGlobal("secure_file_priv")
	if !found || v == nil {
		return "", false
	}
	s, isString := v.(string)
	return s, isString && s != SecureFilePrivNull
}

// fileAllowed reports whether path is inside @@secure_file_priv.
func fileAllowed(path string) bool {
	dir, ok := secureFilePriv()
	if !ok {
		return false
	}
	if dir == "" {
		return true
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(dir, abs)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// fileAccessRule is the analyzer rule described at the top of this file.
func fileAccessRule(ctx *sql.Context, a *analyzer.Analyzer, n sql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *sql.QueryFlags) (sql.Node, transform.TreeIdentity, error) {
	db := a.Catalog.MySQLDb
	hasFile := func() bool {
		return db == nil || !db.Enabled() ||
			db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_File))
	}
	var refused error
	transform.Inspect(n, func(n sql.Node) bool {
		var file string
		switch n := n.(type) {
		case *plan.Into:
			file = n.Outfile + n.Dumpfile
		case *plan.LoadData:
			if !n.Local {
				file = n.File
			}
		}
		if file == "" || refused != nil {
			return refused == nil
		}
		if !hasFile() {
			refused = fileAccessDenied(ctx, db)
		} else if !fileAllowed(file) {
			refused = mysql.NewSQLError(erOptionPreventsStatement, stateGeneral,
				"The MySQL server is running with the --secure-file-priv option so it cannot execute this statement")
		}
		return refused == nil
	})
	if refused != nil {
		return nil, transform.SameTree, refused
	}
	// Before constant folding can evaluate a LOAD_FILE with a literal name.
	fb := fileAccessBuilder{db: db}
	return transform.NodeExprsWithOpaque(ctx, n, fb.nullRefused)
}

// installFileAccessBuilder puts fileAccessBuilder in front of the exec builder's priority
// builder. Call it after installShowVariables.
func installFileAccessBuilder(a *analyzer.Analyzer) {
	a.ExecBuilder.PriorityBuilder = fileAccessBuilder{next: a.ExecBuilder.PriorityBuilder, full: a.ExecBuilder, db: a.Catalog.MySQLDb}
}

// fileAccessBuilder is a priority exec builder that turns every LOAD_FILE() the session may
// not run into NULL, as MySQL returns: without FILE, with secure_file_priv NULL, or with a
// literal name outside it. It works at exec-build time because GMS plans simple SELECTs with
// a fixed rule set that skips integrators' analyzer rules. Other nodes go to next.
type fileAccessBuilder struct {
	next sql.NodeExecBuilder
	full *rowexec.BaseBuilder
	db   *mysql_db.MySQLDb
}

var _ sql.NodeExecBuilder = fileAccessBuilder{}

// Build implements sql.NodeExecBuilder.
func (b fileAccessBuilder) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	if ex, ok := n.(sql.Expressioner); ok {
		refused := false
		for _, e := range ex.Expressions() {
			transform.InspectExpr(ctx, e, func(ctx *sql.Context, e sql.Expression) bool {
				if lf, ok := e.(*function.LoadFile); ok && !b.loadFileAllowed(ctx, lf) {
					refused = true
				}
				return refused
			})
		}
		if refused {
			nn, _, err := transform.OneNodeExprsWithNode(ctx, n, func(ctx *sql.Context, _ sql.Node, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
				return transform.Expr(ctx, e, b.nullRefused)
			})
			if err != nil {
				return nil, err
			}
			return b.full.Build(ctx, nn, r)
		}
	}
	if b.next == nil {
		return nil, nil
	}
	return b.next.Build(ctx, n, r)
}

// nullRefused replaces e by NULL when it is a LOAD_FILE the session may not run.
func (b fileAccessBuilder) nullRefused(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
	if lf, ok := e.(*function.LoadFile); ok && !b.loadFileAllowed(ctx, lf) {
		return expression.NewLiteral(nil, types.LongBlob), transform.NewTree, nil
	}
	return e, transform.SameTree, nil
}

// loadFileAllowed reports whether the session may run lf.
func (b fileAccessBuilder) loadFileAllowed(ctx *sql.Context, lf *function.LoadFile) bool {
	if b.db != nil && b.db.Enabled() &&
		!b.db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{}, sql.PrivilegeType_File)) {
		return false
	}
	if _, enabled := secureFilePriv(); !enabled {
		return false
	}
	if lit, ok := lf.Children()[0].(*expression.Literal); ok {
		name, isString := lit.Value().(string)
		return isString && fileAllowed(name)
	}
	return true
}

// fileAccessDenied is MySQL's 1045 for a statement needing FILE: it names the account and
// whether it has a password.
func fileAccessDenied(ctx *sql.Context, db *mysql_db.MySQLDb) error {
	client := ctx.Session.Client()
	usingPassword := "NO"
	if db != nil {
		rd := db.Reader()
		if u := db.GetUser(rd, client.User, client.Address, false); u != nil && u.AuthString != "" {
			usingPassword = "YES"
		}
		rd.Close()
	}
	host := client.Address
	if i := strings.LastIndex(host, ":"); i > 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return mysql.NewSQLError(erAccessDenied, "28000", "Access denied for user '%s'@'%s' (using password: %s)", client.User, host, usingPassword)
}

package sqlserver

// Account statements in the binlog, as MySQL 8.0 writes them.
//
// GMS keeps accounts in its mysql_db tables (persisted to privileges.db, auth.go), outside the
// storage engine, so CREATE USER, GRANT and the rest changed nothing the commit pipeline saw
// and never reached the binlog. accountLogBuilder is a priority exec builder: when GMS builds
// (and so runs: GMS's account builders do their work in Build) an account statement that
// succeeds, it hands the statement's text to the storage session (storage.Session.LogStatement),
// which commits it as a Query event in a GTID transaction of its own through the commit
// pipeline: binlog append, group fsync, semi-sync wait. A clear-text password never reaches the
// binlog: each `IDENTIFIED [WITH plugin] BY 'password'` is written as MySQL writes it,
// `IDENTIFIED WITH 'plugin' AS 'hash'`, with the authentication string the statement stored.
// With sql_log_bin OFF nothing is logged. Binlog recovery does not run these statements again
// (the accounts are in privileges.db already; replica.EngineApplier.SkipAccountStatements); a
// replica's applier runs them as its root account, and logs them again with the source's GTID.
//
// Limits: the account change is made before the binlog append, so a failed append (binlog
// error, the server then stops under binlog_error_action = ABORT_SERVER) leaves the account
// changed but unlogged; an account statement run inside a stored program is not logged (its
// text is not the statement's: the server logs a warning), and one whose passwords cannot be
// matched to its accounts is refused before it runs. Account statements run one at a time
// from their run to their commit, so the binlog has them in the order they took effect.

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/storage"
	"github.com/sirupsen/logrus"
)

// installAccountLog puts accountLogBuilder in front of the exec builder's priority builders.
// Call it after every other priority builder is installed: the others (read_only) run first
// through it.
func installAccountLog(a *analyzer.Analyzer, log *logrus.Entry) {
	a.ExecBuilder.PriorityBuilder = accountLogBuilder{
		next:  a.ExecBuilder.PriorityBuilder,
		plain: rowexec.NewBuilder(nil, a.ExecBuilder.EngineOverrides),
		db:    a.Catalog.MySQLDb,
		log:   log,
		mu:    &sync.Mutex{},
	}
}

// accountLogBuilder runs an account statement and logs it (see the file comment); other nodes
// go to next.
type accountLogBuilder struct {
	next  sql.NodeExecBuilder
	plain *rowexec.BaseBuilder // GMS's builder without priority builders: runs the statement
	db    *mysql_db.MySQLDb
	log   *logrus.Entry
	// mu is held from an account statement's run to its commit (including the semi-sync
	// wait); it is taken before the engine's commit lock and never inside it.
	mu *sync.Mutex
}

var _ sql.NodeExecBuilder = accountLogBuilder{}

// firstStatement is the first statement of query, without its delimiter: GMS gives a
// multi-statement query's statements the text from the statement to the end.
func firstStatement(query string) string {
	for _, t := range scanTokens(query, func(int, int, string) {}) {
		if t.text == ";" {
			query = query[:t.pos]
			break
		}
	}
	return strings.TrimSpace(query)
}

// Build implements sql.NodeExecBuilder.
func (b accountLogBuilder) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	keyword, owners, ok := accountStatement(n)
	sess, isStorage := ctx.Session.(*storage.Session)
	if !ok || !isStorage {
		return b.delegate(ctx, n, r)
	}
	query := firstStatement(ctx.Query())
	prefix := NormalizedPrefix(query)
	if keyword == "ALTER USER" && isSetPassword(prefix) && len(owners) == 1 {
		// Logged as MySQL logs it: ALTER USER with the new authentication string, which
		// binlogText puts in place of this clause.
		query = "ALTER USER " + quoteString(owners[0].key.User) + "@" + quoteString(owners[0].key.Host) + " IDENTIFIED BY ''"
		prefix = "ALTER USER "
	}
	if a, ok := n.(*plan.AlterUser); ok && a.User.Auth1 != nil && strings.HasPrefix(prefix+" ", "ALTER USER ") {
		if cl, err := passwordClauses(query); err == nil && len(cl) == 0 {
			// Vitess gives an ALTER USER without an IDENTIFIED clause an empty password, and
			// GMS would store it; MySQL keeps the account's authentication.
			kept := *a
			kept.User.Auth1 = nil
			n = &kept
		}
	}
	if !strings.HasPrefix(prefix+" ", keyword+" ") {
		// A statement of a stored program: the text is the CALL's.
		b.log.WithFields(logrus.Fields{"statement": keyword, "query": truncate(query, maxNearLen)}).
			Warn("an account statement inside a stored program is not written to the binlog")
		return b.build(ctx, n, r)
	}
	if _, ours := n.(*statementNode); ours {
		// Our account statements change accounts: read_only applies (changesData leaves
		// statementNode out).
		if err := checkReadOnlyWrite(ctx, b.db); err != nil {
			return nil, err
		}
	}
	clauses, err := accountClauses(query, owners)
	if err != nil {
		return nil, err
	}
	// Run and log one account statement at a time, so the binlog has them in the order they
	// changed the accounts.
	b.mu.Lock()
	defer b.mu.Unlock()
	iter, err := b.build(ctx, n, r)
	if err != nil || sqlLogBinOff(ctx) {
		return iter, err
	}
	text, err := b.binlogText(query, clauses, owners)
	if err == nil {
		err = sess.LogStatement(ctx, text)
	}
	if err != nil {
		if iter != nil {
			_ = iter.Close(ctx)
		}
		return nil, err
	}
	return iter, nil
}

// delegate hands n to the next priority builder (nil, nil: GMS builds it).
func (b accountLogBuilder) delegate(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	if b.next == nil {
		return nil, nil
	}
	return b.next.Build(ctx, n, r)
}

// build runs n through the next priority builders (read_only's refusal) and GMS.
func (b accountLogBuilder) build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	iter, err := b.delegate(ctx, n, r)
	if err != nil || iter != nil {
		return iter, err
	}
	return b.plain.Build(ctx, n, r)
}

// binlogText is query with each password clause replaced by the plugin and authentication
// string its account now has; for an account that does not exist (ALTER USER IF EXISTS
// skipped it) the ones the statement's authentication gives.
func (b accountLogBuilder) binlogText(query string, clauses []passwordClause, owners []clauseOwner) (string, error) {
	if len(clauses) == 0 {
		return query, nil
	}
	rd := b.db.Reader()
	defer rd.Close()
	var out strings.Builder
	last := 0
	for i, c := range clauses {
		if !c.clear {
			continue
		}
		plugin, auth := "", ""
		if u, ok := rd.GetUser(owners[i].key); ok {
			plugin, auth = u.Plugin, u.AuthString
		} else if owners[i].auth != nil {
			var err error
			if auth, err = owners[i].auth.AuthString(); err != nil {
				return "", err
			}
			plugin = owners[i].auth.Plugin()
		} else {
			return "", mysql.NewSQLError(mysql.ERUnknownError, stateGeneral, "no authentication for '%s'@'%s'", owners[i].key.User, owners[i].key.Host)
		}
		out.WriteString(query[last:c.from])
		fmt.Fprintf(&out, "IDENTIFIED WITH %s AS %s", quoteString(plugin), quoteString(auth))
		last = c.to
	}
	out.WriteString(query[last:])
	return out.String(), nil
}

// clauseOwner is the account an IDENTIFIED clause belongs to, with the authentication the
// statement gives it.
type clauseOwner struct {
	key  mysql_db.UserPrimaryKey
	auth plan.Authentication
}

// accountStatement reports whether n is an account statement, with the keywords its text
// starts with and the accounts its IDENTIFIED clauses belong to, in order (CREATE USER: each
// account given an authentication; ALTER USER: its one account).
func accountStatement(n sql.Node) (string, []clauseOwner, bool) {
	owner := func(u plan.AuthenticatedUser) clauseOwner {
		host := u.Host
		if host == "" {
			host = "%"
		}
		return clauseOwner{key: mysql_db.UserPrimaryKey{Host: host, User: u.Name}, auth: u.Auth1}
	}
	switch n := n.(type) {
	case *plan.CreateUser:
		var owners []clauseOwner
		for _, u := range n.Users {
			if u.Auth1 != nil {
				owners = append(owners, owner(u))
			}
		}
		return "CREATE USER", owners, true
	case *plan.AlterUser:
		return "ALTER USER", []clauseOwner{owner(n.User)}, true
	case *plan.DropUser:
		return "DROP USER", nil, true
	case *plan.RenameUser:
		return "RENAME USER", nil, true
	case *plan.CreateRole:
		return "CREATE ROLE", nil, true
	case *plan.DropRole:
		return "DROP ROLE", nil, true
	case *plan.Grant, *plan.GrantRole, *plan.GrantProxy:
		return "GRANT", nil, true
	case *plan.Revoke, *plan.RevokeRole, *plan.RevokeProxy:
		return "REVOKE", nil, true
	case *statementNode:
		if n.name == "ALTER USER" || n.name == "RENAME USER" { // ALTER USER … REQUIRE (tls.go), accountstmts.go
			return n.name, nil, true
		}
	}
	return "", nil, false
}

// accountClauses returns the IDENTIFIED clauses of an account statement whose clause i belongs
// to owners[i]; an error when they cannot be matched (the statement must not run: its
// password could not be kept out of the binlog).
func accountClauses(query string, owners []clauseOwner) ([]passwordClause, error) {
	clauses, err := passwordClauses(query)
	if err != nil {
		return nil, err
	}
	if len(clauses) > len(owners) {
		return nil, mysql.NewSQLError(mysql.ERUnknownError, stateGeneral,
			"cannot match the statement's IDENTIFIED clauses to its accounts; the statement was not run")
	}
	return clauses, nil
}

// passwordClause is one IDENTIFIED clause of an account statement: query[from:to], and
// whether it gives a clear-text password (IDENTIFIED [WITH plugin] BY 'password').
type passwordClause struct {
	from, to int
	clear    bool
}

// passwordClauses finds the IDENTIFIED clauses of an account statement, in order. A clause
// whose form it does not know is an error: it might hold a password.
func passwordClauses(query string) ([]passwordClause, error) {
	toks := scanTokens(query, func(int, int, string) {})
	isString := func(t lexToken) bool { return t.text[0] == '\'' || t.text[0] == '"' }
	word := func(i int, w string) bool { return i < len(toks) && strings.EqualFold(toks[i].text, w) }
	var out []passwordClause
	for i := 0; i < len(toks); i++ {
		if !word(i, "IDENTIFIED") {
			continue
		}
		c := passwordClause{from: toks[i].pos}
		j := i + 1
		if word(j, "WITH") {
			j += 2 // the plugin
			if j > len(toks) {
				return nil, errUnknownIdentified(query, toks[i].pos)
			}
		}
		switch {
		case word(j, "BY") && word(j+1, "RANDOM"):
			c.to = toks[j+1].pos
		case word(j, "BY") && j+1 < len(toks) && isString(toks[j+1]):
			c.clear, c.to = true, toks[j+1].pos+len(toks[j+1].text)
		case word(j, "AS") && j+1 < len(toks) && isString(toks[j+1]):
			c.to = toks[j+1].pos + len(toks[j+1].text)
		case j != i+1 && !word(j, "BY") && !word(j, "AS"):
			c.to = toks[j-1].pos + len(toks[j-1].text) // IDENTIFIED WITH plugin
		default:
			return nil, errUnknownIdentified(query, toks[i].pos)
		}
		out = append(out, c)
		i = j
	}
	return out, nil
}

// errUnknownIdentified is MySQL's syntax error for an IDENTIFIED clause starting at pos.
func errUnknownIdentified(query string, pos int) error {
	return mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText,
		truncate(query[pos:], maxNearLen), 1+strings.Count(query[:pos], "\n"))
}

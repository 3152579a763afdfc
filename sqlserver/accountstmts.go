package sqlserver

// Account statements GMS lacks: SET PASSWORD (vitess does not parse it) and RENAME USER (GMS
// parses it but does not run it). Both are logged to the binlog as the other account
// statements are (accountlog.go): RENAME USER as written, SET PASSWORD as MySQL 8.0 logs it,
// ALTER USER 'u'@'h' IDENTIFIED WITH 'plugin' AS 'hash'.

import (
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// isSetPassword reports whether a normalized prefix is SET PASSWORD's.
func isSetPassword(p string) bool {
	rest, ok := strings.CutPrefix(p, "SET PASSWORD")
	return ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "="))
}

// registerAccountStatements adds SET PASSWORD and RENAME USER.
func (s *Server) registerAccountStatements() {
	db := s.engine.Analyzer.Catalog.MySQLDb
	s.parser.RegisterStatement(isSetPassword, func(ctx *sql.Context, query string) (ast.Statement, error) {
		return setPasswordStatement(ctx, db, query)
	})
	s.parser.RegisterStatement(
		func(p string) bool { return strings.HasPrefix(p, "RENAME USER ") },
		func(_ *sql.Context, query string) (ast.Statement, error) { return renameUserStatement(db, query) })
}

// setPasswordStatement builds SET PASSWORD [FOR account] = 'password' as the ALTER USER
// account IDENTIFIED BY 'password' it means (with ALTER USER's privilege check: one's own
// account, or CREATE USER or UPDATE on mysql). Without FOR the account is the session's. The
// forms with TO RANDOM, REPLACE or RETAIN CURRENT PASSWORD are a syntax error (1064).
func setPasswordStatement(ctx *sql.Context, db *mysql_db.MySQLDb, query string) (ast.Statement, error) {
	toks := scanTokens(query, func(int, int, string) {})
	for len(toks) > 0 && toks[len(toks)-1].text == ";" {
		toks = toks[:len(toks)-1]
	}
	syntax := func(at int) error {
		pos := len(query)
		if at < len(toks) {
			pos = toks[at].pos
		}
		return mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(query[pos:], maxNearLen), 1+strings.Count(query[:pos], "\n"))
	}
	eq := 2
	var account string
	if len(toks) > 2 && strings.EqualFold(toks[2].text, "FOR") {
		eq = 3
		for eq < len(toks) && toks[eq].text != "=" {
			eq++
		}
		if eq == 3 || eq == len(toks) {
			return nil, syntax(eq)
		}
		account = query[toks[3].pos : toks[eq-1].pos+len(toks[eq-1].text)]
	}
	if eq >= len(toks) || toks[eq].text != "=" {
		return nil, syntax(eq)
	}
	if eq+1 >= len(toks) || (toks[eq+1].text[0] != '\'' && toks[eq+1].text[0] != '"') {
		return nil, syntax(eq + 1)
	}
	if eq+2 < len(toks) {
		return nil, syntax(eq + 2)
	}
	if account == "" {
		u, ok := sessionAccount(ctx, db)
		if !ok {
			return nil, mysql.NewSQLError(erPasswordAnonymousUser, stateSyntaxOrAccess,
				"You are using MySQL as an anonymous user and anonymous users are not allowed to change passwords")
		}
		account = quoteString(u.User) + "@" + quoteString(u.Host)
	}
	stmt, err := ast.Parse("ALTER USER " + account + " IDENTIFIED BY " + toks[eq+1].text)
	if err != nil {
		return nil, syntax(3)
	}
	return stmt, nil
}

// erPasswordAnonymousUser is MySQL's ER_PASSWORD_ANONYMOUS_USER.
const erPasswordAnonymousUser = 1131

// sessionAccount returns the account ctx's session logged in as.
func sessionAccount(ctx *sql.Context, db *mysql_db.MySQLDb) (*mysql_db.User, bool) {
	if ctx == nil || ctx.Session == nil || db == nil {
		return nil, false
	}
	c := ctx.Session.Client()
	rd := db.Reader()
	defer rd.Close()
	u := db.GetUser(rd, c.User, c.Address, false)
	return u, u != nil
}

// renameUserStatement builds RENAME USER a TO b [, c TO d …]: each account keeps its
// authentication and privileges under the new name. As in MySQL it needs CREATE USER (1227)
// and changes nothing when one pair fails: an unknown old name or a new name in use is 1396
// "Operation RENAME USER failed for" the failing old names. Role grants to or from a renamed
// account are not carried over.
func renameUserStatement(db *mysql_db.MySQLDb, query string) (ast.Statement, error) {
	parsed, err := ast.Parse(query)
	if err != nil {
		return nil, err
	}
	ru, ok := parsed.(*ast.RenameUser)
	if !ok {
		return nil, mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(query, maxNearLen), 1)
	}
	key := func(a ast.AccountName) mysql_db.UserPrimaryKey {
		host := a.Host
		if a.AnyHost || host == "" {
			host = "%"
		}
		return mysql_db.UserPrimaryKey{User: a.Name, Host: host}
	}
	pairs := make([][2]mysql_db.UserPrimaryKey, len(ru.Accounts))
	for i, a := range ru.Accounts {
		pairs[i] = [2]mysql_db.UserPrimaryKey{key(a.From), key(a.To)}
	}
	return Statement("RENAME USER", nil, GlobalAuth(ast.AuthType_CREATE_USER), func(ctx *sql.Context) ([]sql.Row, error) {
		ed := db.Editor()
		defer ed.Close()
		// Check every pair against the accounts as the earlier pairs leave them.
		exists := func(k mysql_db.UserPrimaryKey, gone, made map[mysql_db.UserPrimaryKey]bool) bool {
			if made[k] {
				return true
			}
			_, ok := ed.GetUser(k)
			return ok && !gone[k]
		}
		gone, made := map[mysql_db.UserPrimaryKey]bool{}, map[mysql_db.UserPrimaryKey]bool{}
		var failed []string
		for _, p := range pairs {
			if !exists(p[0], gone, made) || exists(p[1], gone, made) {
				failed = append(failed, "'"+p[0].User+"'@'"+p[0].Host+"'")
				continue
			}
			gone[p[0]], made[p[1]] = true, true
			delete(made, p[0])
			delete(gone, p[1])
		}
		if len(failed) > 0 {
			return nil, mysql.NewSQLError(erCannotUser, stateGeneral, "Operation RENAME USER failed for %s", strings.Join(failed, ","))
		}
		for _, p := range pairs {
			u, _ := ed.GetUser(p[0])
			renamed := *u
			renamed.User, renamed.Host = p[1].User, p[1].Host
			ed.RemoveUser(p[0])
			ed.PutUser(&renamed)
		}
		return nil, db.Persist(ctx, ed)
	}), nil
}

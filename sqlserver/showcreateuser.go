package sqlserver

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/semisyncd/semisyncd/storage"
)

// registerShowCreateUser adds SHOW CREATE USER account (vitess: 1064), as MySQL 8.0 answers it:
// one row, one column named "CREATE USER for user@host", holding the CREATE USER statement
// that makes the account as it is: its plugin and authentication string, REQUIRE, the
// password and lock options (we keep no per-account password policy, so those are DEFAULT)
// and ATTRIBUTE when the account has one. Any account may see its own; another account's
// needs SELECT on the mysql schema (1044 "Access denied for user … to database 'mysql'"). An
// unknown account is 1396 "Operation SHOW CREATE USER failed for 'u'@'h'".
func (s *Server) registerShowCreateUser() {
	db := s.engine.Analyzer.Catalog.MySQLDb
	s.parser.RegisterStatement(
		func(p string) bool { return strings.HasPrefix(p, "SHOW CREATE USER ") },
		func(ctx *sql.Context, query string) (ast.Statement, error) {
			rest := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(query), ";"))
			rest = strings.TrimSpace(rest[len("SHOW CREATE USER"):])
			var user, host string
			current := strings.EqualFold(rest, "CURRENT_USER") || strings.EqualFold(rest, "CURRENT_USER()")
			if !current {
				a := accountName.FindStringSubmatch(rest)
				if a == nil {
					return nil, mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(rest, maxNearLen), 1)
				}
				user, host = a[1]+a[2]+a[3]+a[4], a[5]+a[6]+a[7]+a[8]
				if host == "" {
					host = "%"
				}
			}
			if current {
				if me := currentAccount(ctx, db); me != nil {
					user, host = me.User, me.Host
				}
			}
			schema := sql.Schema{{Name: fmt.Sprintf("CREATE USER for %s@%s", user, host), Type: types.LongText}}
			return Statement("SHOW CREATE USER", schema, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				me := currentAccount(ctx, db)
				own := me != nil && me.User == user && strings.EqualFold(me.Host, host)
				if !own && !db.UserHasPrivileges(ctx, sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: "mysql"}, sql.PrivilegeType_Select)) {
					client := ctx.Session.Client()
					return nil, mysql.NewSQLError(erDBAccessDenied, stateSyntaxOrAccess,
						"Access denied for user '%s'@'%s' to database 'mysql'", client.User, currentHost(me, client.Address))
				}
				rd := db.Reader()
				defer rd.Close()
				acct, ok := rd.GetUser(mysql_db.UserPrimaryKey{User: user, Host: host})
				if !ok {
					return nil, mysql.NewSQLError(erCannotUser, stateGeneral, "Operation SHOW CREATE USER failed for '%s'@'%s'", user, host)
				}
				return []sql.Row{{createUserStatement(acct)}}, nil
			}), nil
		})
}

// currentAccount is the account the session authenticated as (CURRENT_USER), or nil for the
// server's own contexts.
func currentAccount(ctx *sql.Context, db *mysql_db.MySQLDb) *mysql_db.User {
	if ctx == nil || ctx.Session == nil {
		return nil
	}
	client := ctx.Session.Client()
	if client.User == "" {
		return nil
	}
	rd := db.Reader()
	defer rd.Close()
	return db.GetUser(rd, client.User, client.Address, false)
}

// currentHost is the host part MySQL names in an access-denied error: the account's.
func currentHost(me *mysql_db.User, address string) string {
	if me != nil {
		return me.Host
	}
	return address
}

// createUserStatement writes the CREATE USER statement SHOW CREATE USER gives for u.
func createUserStatement(u *mysql_db.User) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE USER %s@%s IDENTIFIED WITH %s", storage.QuoteIdentifier(u.User), storage.QuoteIdentifier(u.Host), quoteString(u.Plugin))
	if u.AuthString != "" {
		b.WriteString(" AS " + quoteString(u.AuthString))
	}
	switch u.SslType {
	case "ANY":
		b.WriteString(" REQUIRE SSL")
	case "X509":
		b.WriteString(" REQUIRE X509")
	case "SPECIFIED":
		b.WriteString(" REQUIRE")
		sep := " "
		for _, f := range []struct{ name, v string }{{"SUBJECT", u.X509Subject}, {"ISSUER", u.X509Issuer}, {"CIPHER", u.SslCipher}} {
			if f.v != "" {
				b.WriteString(sep + f.name + " " + quoteString(f.v))
				sep = " AND "
			}
		}
	default:
		b.WriteString(" REQUIRE NONE")
	}
	b.WriteString(" PASSWORD EXPIRE DEFAULT")
	if u.Locked {
		b.WriteString(" ACCOUNT LOCK")
	} else {
		b.WriteString(" ACCOUNT UNLOCK")
	}
	b.WriteString(" PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT")
	if u.Attributes != nil && *u.Attributes != "" {
		b.WriteString(" ATTRIBUTE " + quoteString(*u.Attributes))
	}
	return b.String()
}

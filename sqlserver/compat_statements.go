package sqlserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/sirupsen/logrus"
)

// registerCompatStatements adds MySQL 8.0 statements the vitess grammar or GMS lacks, which
// drivers, tools and the mysql client send:
//
//   - DO expr [, expr …] evaluates the expressions and returns OK (vitess: 1064).
//   - HELP 'topic' answers from the (empty) help tables: a result set (name, is_it_category)
//     without rows, which the mysql client shows as "Nothing found" (vitess: 1064).
//   - SHOW TRIGGERS FROM|IN db [LIKE …|WHERE …] lists db's triggers: GMS resolves the triggers'
//     tables in the current database, so it fails with "no database selected" or lists
//     another database's; the statement runs with db as the current database.
//   - SHOW EVENTS FROM|IN db [LIKE …|WHERE …] likewise: GMS ignores the FROM clause and lists
//     the current database's events.
func (s *Server) registerCompatStatements() {
	s.parser.RegisterStatement(
		func(p string) bool { return firstWord(p) == "DO" && len(p) > 2 },
		func(_ *sql.Context, query string) (ast.Statement, error) {
			toks := scanTokens(query, func(int, int, string) {})
			sel, err := ast.Parse("SELECT " + query[toks[0].pos+len(toks[0].text):])
			if err != nil {
				return nil, err
			}
			sl, ok := sel.(*ast.Select)
			if !ok || sl.From != nil || sl.Where != nil {
				return nil, mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(query, maxNearLen), 1)
			}
			var exprs ast.Exprs
			for _, se := range sl.SelectExprs {
				ae, ok := se.(*ast.AliasedExpr)
				if !ok || !ae.As.IsEmpty() {
					return nil, mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(query, maxNearLen), 1)
				}
				exprs = append(exprs, ae.Expr)
			}
			return ast.InjectedStatement{Statement: doStatement{}, Children: exprs, Auth: NoAuth}, nil
		})
	s.parser.RegisterStatement(
		func(p string) bool { return firstWord(p) == "HELP" && len(p) > 4 },
		func(*sql.Context, string) (ast.Statement, error) {
			return Statement("HELP", helpSchema, NoAuth, func(*sql.Context) ([]sql.Row, error) {
				return nil, nil
			}), nil
		})
	s.registerShowFrom("TRIGGERS", plan.NewShowTriggers(sql.UnresolvedDatabase("")).Schema(sql.NewEmptyContext()))
	s.registerShowFrom("EVENTS", plan.NewShowEvents(sql.UnresolvedDatabase("")).Schema(sql.NewEmptyContext()))
}

// registerShowFrom answers SHOW <what> FROM|IN db … by running SHOW <what> … with db as the
// current database (GMS lists the current database's objects only).
func (s *Server) registerShowFrom(what string, schema sql.Schema) {
	s.parser.RegisterStatement(
		func(p string) bool {
			return strings.HasPrefix(p, "SHOW "+what+" FROM ") || strings.HasPrefix(p, "SHOW "+what+" IN ")
		},
		func(_ *sql.Context, query string) (ast.Statement, error) {
			toks := scanTokens(query, func(int, int, string) {})
			if len(toks) < 4 {
				return nil, mysql.NewSQLError(erParseError, stateSyntaxOrAccess, syntaxErrorText, truncate(query, maxNearLen), 1)
			}
			db := unquoteIdentifier(toks[3].text)
			rest := "SHOW " + what + " " + query[toks[3].pos+len(toks[3].text):]
			return Statement("SHOW "+what, schema, NoAuth, func(ctx *sql.Context) ([]sql.Row, error) {
				return s.queryInDatabase(ctx, db, rest)
			}), nil
		})
}

// helpSchema is the result of HELP when no topic matches.
var helpSchema = sql.Schema{
	{Name: "name", Type: types.LongText},
	{Name: "is_it_category", Type: types.MustCreateString(sqltypes.Char, 1, sql.Collation_Default)},
}

// queryInDatabase runs query with db as the session's current database and returns its rows;
// the current database is restored after. db must exist (1049 otherwise).
func (s *Server) queryInDatabase(ctx *sql.Context, db, query string) ([]sql.Row, error) {
	if !s.engine.Analyzer.Catalog.HasDatabase(ctx, db) {
		return nil, mysql.NewSQLError(mysql.ERBadDb, "42000", "Unknown database '%s'", db)
	}
	prev := ctx.GetCurrentDatabase()
	ctx.SetCurrentDatabase(db)
	defer ctx.SetCurrentDatabase(prev)
	// A context of its own: the engine ends (cancels) a query's context when the query ends,
	// and this one ends before the statement running it.
	inner := sql.NewContext(ctx, sql.WithSession(ctx.Session), sql.WithQuery(query))
	_, iter, _, err := s.engine.Query(inner, query)
	if err != nil {
		return nil, err
	}
	return sql.RowIterToRows(inner, iter)
}

// unquoteIdentifier removes backquotes around an identifier.
func unquoteIdentifier(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

// doStatement is DO's injectable: the planbuilder resolves its expressions.
type doStatement struct{}

// WithResolvedChildren implements ast.Injectable.
func (doStatement) WithResolvedChildren(_ context.Context, children []any) (any, error) {
	exprs := make([]sql.Expression, len(children))
	for i, c := range children {
		e, ok := c.(sql.Expression)
		if !ok {
			return nil, fmt.Errorf("DO: unexpected %T", c)
		}
		exprs[i] = e
	}
	return &statementNode{name: "DO", run: func(ctx *sql.Context) ([]sql.Row, error) {
		for _, e := range exprs {
			if _, err := e.Eval(ctx, nil); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}}, nil
}

// handshakeCollation applies the collation a client names in its handshake response, as
// MySQL does: character_set_client, character_set_connection and character_set_results become
// its character set and collation_connection the collation. GMS keeps the server's defaults.
// An id the server does not know keeps them too (MySQL does the same).
func handshakeCollation(sess sql.Session, id uint8, log *logrus.Entry) {
	if id == 0 {
		return
	}
	coll := sql.CollationID(id)
	name := coll.Name()
	if name == "" || coll.Collation().CharacterSet.Name() == "" {
		return
	}
	ctx := sql.NewContext(context.Background(), sql.WithSession(sess))
	cs := coll.Collation().CharacterSet.Name()
	for _, v := range [][2]string{
		{"character_set_client", cs}, {"character_set_connection", cs}, {"character_set_results", cs},
		{"collation_connection", name},
	} {
		if err := sess.SetSessionVariable(ctx, v[0], v[1]); err != nil {
			log.WithError(err).WithFields(logrus.Fields{"variable": v[0], "value": v[1]}).Debug("handshake collation")
			return
		}
	}
}

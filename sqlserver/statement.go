package sqlserver

import (
	"context"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// Statement builds an AST for a statement vitess cannot parse: it runs
// run when executed and returns its rows (in schema's columns; a nil
// schema makes it an OK result). auth is checked by GMS before it runs.
func Statement(name string, schema sql.Schema, auth ast.AuthInformation, run func(ctx *sql.Context) ([]sql.Row, error)) ast.Statement {
	return ast.InjectedStatement{
		Statement: injected{node: &statementNode{name: name, schema: schema, run: run}},
		Auth:      auth,
	}
}

// GlobalAuth requires a global privilege (vitess's AuthType_*).
func GlobalAuth(authType string) ast.AuthInformation {
	return ast.AuthInformation{AuthType: authType, TargetType: ast.AuthTargetType_Global}
}

// NoAuth checks nothing.
var NoAuth = ast.AuthInformation{AuthType: ast.AuthType_IGNORE, TargetType: ast.AuthTargetType_Ignore}

type injected struct{ node *statementNode }

func (i injected) WithResolvedChildren(context.Context, []any) (any, error) { return i.node, nil }

// statementNode is the sql.ExecSourceRel of a Statement.
type statementNode struct {
	name   string
	schema sql.Schema
	run    func(ctx *sql.Context) ([]sql.Row, error)
}

var _ sql.ExecSourceRel = (*statementNode)(nil)

func (n *statementNode) Resolved() bool       { return true }
func (n *statementNode) String() string       { return n.name }
func (n *statementNode) IsReadOnly() bool     { return n.schema != nil }
func (n *statementNode) Children() []sql.Node { return nil }

func (n *statementNode) Schema(*sql.Context) sql.Schema {
	if n.schema == nil {
		return types.OkResultSchema
	}
	return n.schema
}

func (n *statementNode) WithChildren(_ *sql.Context, children ...sql.Node) (sql.Node, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(children), 0)
	}
	return n, nil
}

func (n *statementNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	rows, err := n.run(ctx)
	if err != nil {
		return nil, err
	}
	if n.schema == nil {
		return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
	}
	return sql.RowsToRowIter(rows...), nil
}

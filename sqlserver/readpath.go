package sqlserver

import (
	"reflect"
	"strconv"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// rebindInPlace is rebind for fastExec: when the only node of the template that depends on
// the statement's values is its index access (no literal left in a filter or projection, as
// for point selects and key ranges), the same plan is returned at every execution with its
// index access overwritten by this execution's. No node of the plan is rebuilt, so what GMS
// caches in a node across executions (a projection's schema) is kept.
//
// The plan is the template's alone, and a template is its session's alone: a session runs one
// statement at a time, and fastExec runs the plan to its end within the command (result sets
// with a cursor go to GMS), so no execution sees another's index access. The text protocol's
// answers keep to rebind (GMS may keep their iterators for a cursor).
func (t *planTemplate) rebindInPlace(ctx *sql.Context, lits []*expression.Literal) (sql.Node, bool) {
	if len(t.litSlots) != 0 {
		return t.rebind(ctx, lits)
	}
	ita, ok := t.access(ctx, lits)
	if !ok {
		return nil, false
	}
	if t.live == nil {
		cp := *t.ita
		live, _, err := transform.Node(ctx, t.analyzed, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
			if n == sql.Node(t.ita) {
				return &cp, transform.NewTree, nil
			}
			return n, transform.SameTree, nil
		})
		if err != nil {
			return nil, false
		}
		t.live, t.liveITA = live, &cp
	}
	*t.liveITA = *ita
	return t.live, true
}

// appendVars appends what shapeBuilder.vars writes of the session's sql_mode and
// sql_select_limit to dst.
func appendVars(dst []byte, ctx *sql.Context) []byte {
	for _, name := range [...]string{"sql_mode", "sql_select_limit"} {
		v, err := ctx.GetSessionVariable(ctx, name)
		if err != nil {
			dst = append(dst, "|?"...)
			continue
		}
		dst = append(dst, '|')
		switch v := v.(type) {
		case string:
			dst = append(dst, v...)
		case int64:
			dst = strconv.AppendInt(dst, v, 10)
		case uint64:
			dst = strconv.AppendUint(dst, v, 10)
		default:
			dst = append(dst, typeName(v)...)
		}
	}
	return dst
}

// varsAre reports whether the session's sql_mode and sql_select_limit are those want was
// made of (shapeBuilder.vars), without allocating for the common lengths.
func varsAre(ctx *sql.Context, want string) bool {
	var buf [256]byte
	return string(appendVars(buf[:0], ctx)) == want
}

func typeName(v interface{}) string { return reflect.TypeOf(v).String() }

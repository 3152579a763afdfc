package sqlserver

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// BENCHMARK(count, expr), which GMS lacks: it evaluates expr count times and returns 0, as
// MySQL does; a NULL count gives NULL, a negative one NULL with warning 1411 "Incorrect count
// value: 'N' for function benchmark". It checks the statement's context as it loops, so KILL
// QUERY stops it at once (the client gets 1317) and KILL closes the connection.

// erWrongValueForType is ER_WRONG_VALUE_FOR_TYPE.
const erWrongValueForType = 1411

// benchmarkCheckEvery is how many evaluations run between two looks at the context.
const benchmarkCheckEvery = 256

// benchmark is the BENCHMARK expression.
type benchmark struct {
	count, expr sql.Expression
}

var _ sql.Expression = (*benchmark)(nil)

// benchmarkFunction is BENCHMARK for the function provider.
var benchmarkFunction = sql.Function2{Name: "benchmark", Fn: func(_ *sql.Context, count, expr sql.Expression) sql.Expression {
	return &benchmark{count: count, expr: expr}
}}

func (b *benchmark) Resolved() bool               { return b.count.Resolved() && b.expr.Resolved() }
func (b *benchmark) String() string               { return fmt.Sprintf("benchmark(%s,%s)", b.count, b.expr) }
func (b *benchmark) Type(*sql.Context) sql.Type   { return types.Int64 }
func (b *benchmark) IsNullable(*sql.Context) bool { return true }
func (b *benchmark) Children() []sql.Expression   { return []sql.Expression{b.count, b.expr} }
func (b *benchmark) CollationCoercibility(*sql.Context) (sql.CollationID, byte) {
	return sql.Collation_binary, 5
}

func (b *benchmark) WithChildren(_ *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 2 {
		return nil, sql.ErrInvalidChildrenNumber.New(b, len(children), 2)
	}
	return &benchmark{count: children[0], expr: children[1]}, nil
}

// Eval implements sql.Expression. It returns ctx's error (context.Canceled: 1317) when the
// statement is killed while it loops.
func (b *benchmark) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	v, err := b.count.Eval(ctx, row)
	if err != nil || v == nil {
		return nil, err
	}
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		return nil, err
	}
	count := n.(int64)
	if count < 0 {
		ctx.Warn(erWrongValueForType, "Incorrect count value: '%d' for function benchmark", count)
		return nil, nil
	}
	for i := int64(0); i < count; i++ {
		if i%benchmarkCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if _, err := b.expr.Eval(ctx, row); err != nil {
			return nil, err
		}
	}
	return int64(0), nil
}

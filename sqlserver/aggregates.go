package sqlserver

import (
	"github.com/cockroachdb/apd/v3"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Exact SUM and AVG.
//
// GMS's SUM and AVG are DOUBLE whatever they add up: SUM of BIGINT 9007199254740993 and 0 gives
// 9.007199254740992e+15, SUM of a DECIMAL(10,2) column prints 287.6. MySQL computes both exactly
// over integers and decimals and returns a DECIMAL:
//
//	SUM(DECIMAL(p,s))  DECIMAL(p+22, s)      SUM(integer of p digits)  DECIMAL(p+22, 0)
//	AVG(DECIMAL(p,s))  DECIMAL(p+4, s+4)     AVG(integer of p digits)  DECIMAL(p+4, 4)
//
// (precision at most 65, scale at most 30; AVG's extra 4 is div_precision_increment's default).
// Over any other type (FLOAT, DOUBLE, strings, dates) they stay GMS's DOUBLE aggregates, as in
// MySQL. The functions are installed through analyzer.ExternalFunctionProvider, which the
// planbuilder asks before its built-ins, so result metadata and every reference to the
// aggregate carry the DECIMAL type. As window functions (SUM(x) OVER …) they keep GMS's
// arithmetic and only format as DECIMAL.

// exactAggregates provides SUM and AVG, BENCHMARK (benchmark.go) and GTID_SUBSET and
// GTID_SUBTRACT (gtidfuncs.go), which GMS lacks, and the
// string functions bounded by max_allowed_packet (resultsize.go).
type exactAggregates struct{}

var _ sql.FunctionProvider = exactAggregates{}

// Function implements sql.FunctionProvider.
func (exactAggregates) Function(_ *sql.Context, _, name string) (sql.Function, bool) {
	switch name {
	case "sum":
		return sql.Function1{Name: "sum", Fn: func(ctx *sql.Context, e sql.Expression) sql.Expression {
			return newExactAggregate(ctx, e, false)
		}}, true
	case "avg":
		return sql.Function1{Name: "avg", Fn: func(ctx *sql.Context, e sql.Expression) sql.Expression {
			return newExactAggregate(ctx, e, true)
		}}, true
	case "benchmark":
		return benchmarkFunction, true
	case "gtid_subset":
		return gtidSetFunction(name, false), true
	case "gtid_subtract":
		return gtidSetFunction(name, true), true
	}
	return boundedStringFunction(name)
}

// installExactAggregates makes SUM and AVG exact (process-global, like GMS's registry).
func installExactAggregates() { analyzer.ExternalFunctionProvider = exactAggregates{} }

// newExactAggregate returns SUM(e) or AVG(e): exactAggregate when e is an integer or a decimal,
// GMS's own otherwise.
func newExactAggregate(ctx *sql.Context, e sql.Expression, avg bool) sql.Expression {
	var gms sql.Aggregation
	if avg {
		gms = aggregation.NewAvg(e)
	} else {
		gms = aggregation.NewSum(e)
	}
	typ, ok := exactResultType(e.Type(ctx), avg)
	if !ok {
		return gms
	}
	return &exactAggregate{Aggregation: gms, typ: typ, avg: avg}
}

// exactResultType is MySQL's result type of SUM or AVG over t, or false when t is neither an
// integer nor a decimal type.
func exactResultType(t sql.Type, avg bool) (sql.DecimalType, bool) {
	var precision, scale int
	switch {
	case types.IsDecimal(t):
		d := t.(sql.DecimalType)
		precision, scale = int(d.Precision()), int(d.Scale())
	case types.IsInteger(t):
		precision = integerDigits(t)
	default:
		return nil, false
	}
	if avg {
		precision, scale = precision+4, scale+4
	} else {
		precision += 22
	}
	precision, scale = min(precision, 65), min(scale, 30)
	d, err := types.CreateDecimalType(uint8(precision), uint8(scale))
	return d, err == nil
}

// integerDigits is how many decimal digits an integer type holds.
func integerDigits(t sql.Type) int {
	switch t {
	case types.Int8, types.Uint8:
		return 3
	case types.Int16, types.Uint16:
		return 5
	case types.Int24, types.Uint24:
		return 8
	case types.Int32, types.Uint32:
		return 10
	case types.Uint64:
		return 20
	}
	return 19
}

// exactAggregate is SUM or AVG over integers or decimals, computed in decimal arithmetic. It
// wraps GMS's aggregate for everything but its type and its buffer.
type exactAggregate struct {
	sql.Aggregation
	typ sql.DecimalType
	avg bool
}

var (
	_ sql.Aggregation               = (*exactAggregate)(nil)
	_ sql.WindowAdaptableExpression = (*exactAggregate)(nil)
)

// Type implements sql.Expression.
func (a *exactAggregate) Type(*sql.Context) sql.Type { return a.typ }

// IsNullable implements sql.Expression: an empty group sums to NULL.
func (a *exactAggregate) IsNullable(*sql.Context) bool { return true }

func (a *exactAggregate) rewrap(e any) *exactAggregate {
	return &exactAggregate{Aggregation: e.(sql.Aggregation), typ: a.typ, avg: a.avg}
}

// WithChildren implements sql.Expression.
func (a *exactAggregate) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	e, err := a.Aggregation.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return a.rewrap(e), nil
}

// WithId implements sql.IdExpression.
func (a *exactAggregate) WithId(id sql.ColumnId) sql.IdExpression {
	return a.rewrap(a.Aggregation.WithId(id))
}

// WithWindow implements sql.WindowAdaptableExpression.
func (a *exactAggregate) WithWindow(ctx *sql.Context, w *sql.WindowDefinition) sql.WindowAdaptableExpression {
	return a.rewrap(a.Aggregation.WithWindow(ctx, w))
}

// NewBuffer implements sql.Aggregation.
func (a *exactAggregate) NewBuffer(ctx *sql.Context) (sql.AggregationBuffer, error) {
	children := a.Children()
	child, err := transform.Clone(ctx, children[0])
	if err != nil {
		return nil, err
	}
	return &exactBuffer{expr: child, avg: a.avg, scale: int32(a.typ.Scale())}, nil
}

// exactBuffer adds up one group's values as decimals.
type exactBuffer struct {
	expr  sql.Expression
	avg   bool
	scale int32
	sum   apd.Decimal
	n     int64
}

var _ sql.AggregationBuffer = (*exactBuffer)(nil)

// Update implements sql.AggregationBuffer. NULLs (and the repeats a DISTINCT child turns into
// NULL) are skipped.
func (b *exactBuffer) Update(ctx *sql.Context, row sql.Row) error {
	v, err := b.expr.Eval(ctx, row)
	if err != nil || v == nil {
		return err
	}
	d, _, err := types.InternalDecimalType.Convert(ctx, v)
	if err != nil {
		return err
	}
	dec, ok := d.(*apd.Decimal)
	if !ok {
		return nil
	}
	if _, err := sql.DecimalCtx.Add(&b.sum, &b.sum, dec); err != nil {
		return err
	}
	b.n++
	return nil
}

// Eval implements sql.AggregationBuffer: NULL for a group without values.
func (b *exactBuffer) Eval(*sql.Context) (interface{}, error) {
	if b.n == 0 {
		return nil, nil
	}
	out := new(apd.Decimal)
	if !b.avg {
		out.Set(&b.sum)
		return out, nil
	}
	c := sql.DecimalCtx.WithPrecision(100)
	c.Rounding = apd.RoundHalfUp // MySQL rounds half away from zero
	if _, err := c.Quo(out, &b.sum, apd.New(b.n, 0)); err != nil {
		return nil, err
	}
	if _, err := c.Quantize(out, out, -b.scale); err != nil {
		return nil, err
	}
	return out, nil
}

// Dispose implements sql.Disposable.
func (b *exactBuffer) Dispose(ctx *sql.Context) { expression.Dispose(ctx, b.expr) }

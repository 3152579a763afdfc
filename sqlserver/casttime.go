package sqlserver

import (
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// withCastTime returns n with every CAST(x AS TIME) and CONVERT(x, TIME) replaced by castTime,
// which takes the time of day of a DATETIME as MySQL does: CAST('2024-01-02 10:11:12' AS TIME) is
// 10:11:12, and so is CAST(? AS TIME) with a DATETIME parameter. GMS's conversion refuses any
// value with a date part and returns NULL with warning 1292. ok is false when n has none.
//
// It runs in the exec builder (showVariablesBuilder), not as an analyzer rule: GMS analyzes
// simple SELECTs with a reduced set of batches that leaves out integrators' rules.
func withCastTime(ctx *sql.Context, n sql.Node) (sql.Node, bool, error) {
	if !mentionsTime(ctx.Query()) {
		return n, false, nil // the common case, checked without walking the plan
	}
	out, same, err := transform.NodeWithOpaque(ctx, n, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		return transform.OneNodeExprsWithNode(ctx, n, func(ctx *sql.Context, _ sql.Node, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
			return transform.Expr(ctx, e, func(ctx *sql.Context, e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
				c, ok := e.(*expression.Convert)
				if !ok || !types.IsTimespan(c.Type(ctx)) {
					return e, transform.SameTree, nil
				}
				return &castTime{Convert: c}, transform.NewTree, nil
			})
		})
	})
	return out, !bool(same) && err == nil, err
}

// castTime is a CAST to TIME that also converts date-and-time values.
type castTime struct {
	*expression.Convert
}

var _ sql.Expression = (*castTime)(nil)

// WithChildren implements sql.Expression.
func (c *castTime) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	e, err := c.Convert.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	conv, ok := e.(*expression.Convert)
	if !ok {
		return e, nil
	}
	return &castTime{Convert: conv}, nil
}

// Eval implements sql.Expression.
func (c *castTime) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	val, err := c.Child.Eval(ctx, row)
	if err != nil || val == nil {
		return nil, err
	}
	var t time.Time
	switch v := val.(type) {
	case time.Time:
		t = v
	case string:
		s := strings.TrimSpace(v)
		if !strings.ContainsAny(s, "-/") || !strings.ContainsAny(s, " T") {
			return c.Convert.Eval(ctx, row)
		}
		d, _, err := types.DatetimeMaxPrecision.Convert(ctx, s)
		if err != nil {
			return c.Convert.Eval(ctx, row)
		}
		dt, ok := d.(time.Time)
		if !ok {
			return c.Convert.Eval(ctx, row)
		}
		t = dt
	default:
		return c.Convert.Eval(ctx, row)
	}
	micros := int64(t.Hour())*3_600_000_000 + int64(t.Minute())*60_000_000 + int64(t.Second())*1_000_000 + int64(t.Nanosecond()/1000)
	return types.Time.MicrosecondsToTimespan(micros), nil
}

// mentionsTime reports whether query contains the word TIME in any case (a cheap filter:
// a CAST to TIME must spell it).
func mentionsTime(query string) bool {
	for i := 0; i+4 <= len(query); i++ {
		if (query[i]|0x20) == 't' && (query[i+1]|0x20) == 'i' && (query[i+2]|0x20) == 'm' && (query[i+3]|0x20) == 'e' {
			return true
		}
	}
	return false
}

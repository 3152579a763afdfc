package sqlserver

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// String results bounded by max_allowed_packet.
//
// MySQL refuses to build a string function's result longer than the session's
// max_allowed_packet: the function returns NULL with warning 1301 "Result of repeat() was larger
// than max_allowed_packet (67108864) - truncated". GMS builds any length it is asked for, so
// `SELECT REPEAT('a', 1500000000)` took 1.5 GB of RSS from one unprivileged statement. The
// functions below are GMS's own, wrapped (boundedString): where the result's size follows from
// the arguments (REPEAT, SPACE, LPAD, RPAD) it is checked before GMS allocates anything; for
// the others (CONCAT, CONCAT_WS, INSERT, REPLACE, TO_BASE64) the result is checked after, which
// bounds it by the sizes of their already-bounded arguments.

// erWarnAllowedPacketOverflowed is ER_WARN_ALLOWED_PACKET_OVERFLOWED.
const erWarnAllowedPacketOverflowed = 1301

// sizeBound returns the byte size the function's result would have for the evaluated
// arguments, or false when it cannot tell (a NULL or non-numeric argument: GMS decides). A known
// size of 0 means the result is the empty string (REPEAT or SPACE of a count below 1, which
// MySQL answers with ” and GMS with an error).
type sizeBound func(ctx *sql.Context, args []interface{}) (int64, bool)

// boundedString is a GMS string function whose result is NULL with warning 1301 when it would
// be longer than max_allowed_packet. With bound, the arguments are evaluated once, checked, and
// handed to GMS's function as literals.
type boundedString struct {
	sql.Expression // GMS's function
	name           string
	bound          sizeBound
}

var _ sql.FunctionExpression = (*boundedString)(nil)

// FunctionName implements sql.FunctionExpression.
func (b *boundedString) FunctionName() string { return b.name }

// Description implements sql.FunctionExpression.
func (b *boundedString) Description() string {
	if f, ok := b.Expression.(sql.FunctionExpression); ok {
		return f.Description()
	}
	return b.name
}

// IsNullable implements sql.Expression: a refused result is NULL.
func (b *boundedString) IsNullable(*sql.Context) bool { return true }

// CollationCoercibility implements sql.CollationCoercible as GMS's function does.
func (b *boundedString) CollationCoercibility(ctx *sql.Context) (sql.CollationID, byte) {
	if c, ok := b.Expression.(sql.CollationCoercible); ok {
		return c.CollationCoercibility(ctx)
	}
	return sql.Collation_binary, 4
}

// WithChildren implements sql.Expression.
func (b *boundedString) WithChildren(ctx *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	inner, err := b.Expression.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &boundedString{Expression: inner, name: b.name, bound: b.bound}, nil
}

// Eval implements sql.Expression.
func (b *boundedString) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	limit := sessionMaxAllowedPacket(ctx)
	inner := b.Expression
	if b.bound != nil {
		children := inner.Children()
		args := make([]interface{}, len(children))
		lits := make([]sql.Expression, len(children))
		for i, c := range children {
			v, err := c.Eval(ctx, row)
			if err != nil {
				return nil, err
			}
			args[i] = v
			lits[i] = expression.NewLiteral(v, c.Type(ctx))
		}
		if n, ok := b.bound(ctx, args); ok && n > limit {
			return b.refuse(ctx, limit), nil
		} else if ok && n == 0 {
			return "", nil
		}
		var err error
		if inner, err = inner.WithChildren(ctx, lits...); err != nil {
			return nil, err
		}
	}
	v, err := inner.Eval(ctx, row)
	if err != nil {
		return nil, err
	}
	if n, _ := byteLen(v); n > limit {
		return b.refuse(ctx, limit), nil
	}
	return v, nil
}

func (b *boundedString) refuse(ctx *sql.Context, limit int64) interface{} {
	ctx.Warn(erWarnAllowedPacketOverflowed, "Result of %s() was larger than max_allowed_packet (%d) - truncated", b.name, limit)
	return nil
}

// sessionMaxAllowedPacket is the session's max_allowed_packet (MySQL's default when unreadable).
func sessionMaxAllowedPacket(ctx *sql.Context) int64 {
	if v, err := ctx.GetSessionVariable(ctx, "max_allowed_packet"); err == nil {
		if n, ok := toInt64(v); ok {
			return n
		}
	}
	return DefaultMaxAllowedPacket
}

// argInt64 converts an evaluated argument to an integer as GMS's numeric arguments are read;
// false for NULL or a value that does not convert.
func argInt64(ctx *sql.Context, v interface{}) (int64, bool) {
	if v == nil {
		return 0, false
	}
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		return 0, false
	}
	i, ok := n.(int64)
	return i, ok
}

// byteLen is the length in bytes of an evaluated string argument; false for NULL or any other
// value.
func byteLen(v interface{}) (int64, bool) {
	switch x := v.(type) {
	case string:
		return int64(len(x)), true
	case []byte:
		return int64(len(x)), true
	}
	return 0, false
}

// mbMaxLen is the most bytes a character of e's result can take (MySQL sizes LPAD/RPAD by
// their result's character set).
func mbMaxLen(ctx *sql.Context, e sql.Expression) int64 {
	if st, ok := e.Type(ctx).(sql.StringType); ok {
		return int64(st.CharacterSet().MaxLength())
	}
	return 1
}

// repeatBound: REPEAT(str, count) is count copies of str.
func repeatBound(ctx *sql.Context, args []interface{}) (int64, bool) {
	l, ok := byteLen(args[0])
	if !ok {
		return 0, false
	}
	n, ok := argInt64(ctx, args[1])
	if !ok || n <= 0 || l == 0 {
		return 0, ok
	}
	if n > (1<<62)/l {
		return 1 << 62, true
	}
	return l * n, true
}

// spaceBound: SPACE(n) is n spaces.
func spaceBound(ctx *sql.Context, args []interface{}) (int64, bool) {
	n, ok := argInt64(ctx, args[0])
	return max(n, 0), ok
}

// padBound: LPAD/RPAD(str, len, pad) is len characters; MySQL counts len times the character
// set's longest character.
func padBound(mb int64) sizeBound {
	return func(ctx *sql.Context, args []interface{}) (int64, bool) {
		if len(args) < 2 {
			return 0, false
		}
		n, ok := argInt64(ctx, args[1])
		if !ok || n <= 0 {
			return 0, false
		}
		if n > (1<<62)/mb {
			return 1 << 62, true
		}
		return n * mb, true
	}
}

// boundedStringFunction returns the packet-bounded form of GMS's string function name, or false
// when name is not one of them.
func boundedStringFunction(name string) (sql.Function, bool) {
	wrap := func(e sql.Expression, bound sizeBound) sql.Expression {
		return &boundedString{Expression: e, name: name, bound: bound}
	}
	wrapN := func(e sql.Expression, err error, bound sizeBound) (sql.Expression, error) {
		if err != nil {
			return nil, err
		}
		return wrap(e, bound), nil
	}
	switch name {
	case "repeat":
		return sql.Function2{Name: name, Fn: func(ctx *sql.Context, s, n sql.Expression) sql.Expression {
			return wrap(function.NewRepeat(ctx, s, n), repeatBound)
		}}, true
	case "space":
		return sql.Function1{Name: name, Fn: func(ctx *sql.Context, n sql.Expression) sql.Expression {
			return wrap(function.NewSpace(ctx, n), spaceBound)
		}}, true
	case "lpad", "rpad":
		return sql.FunctionN{Name: name, Fn: func(ctx *sql.Context, args ...sql.Expression) (sql.Expression, error) {
			newPad := function.NewRightPad
			if name == "lpad" {
				newPad = function.NewLeftPad
			}
			e, err := newPad(ctx, args...)
			if err != nil {
				return nil, err
			}
			return wrap(e, padBound(mbMaxLen(ctx, e))), nil
		}}, true
	case "concat":
		return sql.FunctionN{Name: name, Fn: func(ctx *sql.Context, args ...sql.Expression) (sql.Expression, error) {
			e, err := function.NewConcat(ctx, args...)
			return wrapN(e, err, nil)
		}}, true
	case "concat_ws":
		return sql.FunctionN{Name: name, Fn: func(ctx *sql.Context, args ...sql.Expression) (sql.Expression, error) {
			e, err := function.NewConcatWithSeparator(ctx, args...)
			return wrapN(e, err, nil)
		}}, true
	case "insert":
		return sql.Function4{Name: name, Fn: func(ctx *sql.Context, s, pos, l, ns sql.Expression) sql.Expression {
			return wrap(function.NewInsert(ctx, s, pos, l, ns), nil)
		}}, true
	case "replace":
		return sql.Function3{Name: name, Fn: func(ctx *sql.Context, s, from, to sql.Expression) sql.Expression {
			return wrap(function.NewReplace(ctx, s, from, to), nil)
		}}, true
	case "to_base64":
		return sql.Function1{Name: name, Fn: func(ctx *sql.Context, e sql.Expression) sql.Expression {
			return wrap(function.NewToBase64(ctx, e), nil)
		}}, true
	}
	return nil, false
}

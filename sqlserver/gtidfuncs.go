package sqlserver

import (
	"fmt"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog"
)

// GTID_SUBSET(a, b) and GTID_SUBTRACT(a, b), which GMS lacks and failover and monitoring tools
// call: GTID_SUBSET is 1 when every GTID of a is in b, else 0; GTID_SUBTRACT is a's GTIDs that
// are not in b, in @@gtid_executed's text form. A NULL argument gives NULL; a set that does not
// parse gives 1772 "Malformed GTID set specification '…'.", as in MySQL.

// erMalformedGTIDSet is ER_MALFORMED_GTID_SET_SPECIFICATION.
const erMalformedGTIDSet = 1772

// gtidSetFunc is GTID_SUBSET (subtract false) or GTID_SUBTRACT.
type gtidSetFunc struct {
	a, b     sql.Expression
	subtract bool
}

var _ sql.Expression = (*gtidSetFunc)(nil)

func gtidSetFunction(name string, subtract bool) sql.Function2 {
	return sql.Function2{Name: name, Fn: func(_ *sql.Context, a, b sql.Expression) sql.Expression {
		return &gtidSetFunc{a: a, b: b, subtract: subtract}
	}}
}

func (f *gtidSetFunc) name() string {
	if f.subtract {
		return "gtid_subtract"
	}
	return "gtid_subset"
}

func (f *gtidSetFunc) Resolved() bool               { return f.a.Resolved() && f.b.Resolved() }
func (f *gtidSetFunc) String() string               { return fmt.Sprintf("%s(%s,%s)", f.name(), f.a, f.b) }
func (f *gtidSetFunc) IsNullable(*sql.Context) bool { return true }
func (f *gtidSetFunc) Children() []sql.Expression   { return []sql.Expression{f.a, f.b} }

func (f *gtidSetFunc) Type(*sql.Context) sql.Type {
	if f.subtract {
		return types.LongText
	}
	return types.Int64
}

func (f *gtidSetFunc) CollationCoercibility(ctx *sql.Context) (sql.CollationID, byte) {
	if f.subtract {
		return ctx.GetCollation(), 4
	}
	return sql.Collation_binary, 5
}

func (f *gtidSetFunc) WithChildren(_ *sql.Context, children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 2 {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(children), 2)
	}
	return &gtidSetFunc{a: children[0], b: children[1], subtract: f.subtract}, nil
}

// Eval implements sql.Expression.
func (f *gtidSetFunc) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	var sets [2]*binlog.GTIDSet
	for i, e := range []sql.Expression{f.a, f.b} {
		v, err := e.Eval(ctx, row)
		if err != nil || v == nil {
			return nil, err
		}
		s, _, err := types.LongText.Convert(ctx, v)
		if err != nil {
			return nil, err
		}
		text, _ := s.(string)
		set, err := binlog.ParseGTIDSet(text)
		if err != nil {
			if len(text) > 200 {
				text = text[:200]
			}
			return nil, mysql.NewSQLError(erMalformedGTIDSet, "HY000", "Malformed GTID set specification '%s'.", text)
		}
		sets[i] = set
	}
	if f.subtract {
		sets[0].Subtract(sets[1])
		return sets[0].String(), nil
	}
	if sets[1].ContainsSet(sets[0]) {
		return int64(1), nil
	}
	return int64(0), nil
}

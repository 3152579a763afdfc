package sqlserver

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/iters"
	"github.com/dolthub/go-mysql-server/sql/plan"
)

// installFoundRows puts foundRowsBuilder in front of the exec builder's priority builders.
//
// FOUND_ROWS() after SELECT SQL_CALC_FOUND_ROWS … LIMIT n OFFSET m is the number of rows the
// statement would return without the LIMIT, offset rows included (MySQL manual, "Information
// Functions"). GMS counts in its Limit iterator, which sits above the Offset and so never sees
// the m rows the Offset skipped: when the rows come in index order (no Sort left to count them)
// FOUND_ROWS() was m too small. foundRowsBuilder runs such a Limit over Offset pair itself and
// counts every row the Offset's input yields. (GMS's top-N sort, ORDER BY a non-indexed
// expression LIMIT 1, still counts one row too few: a GMS fault, in the README.)
func installFoundRows(a *analyzer.Analyzer) {
	a.ExecBuilder.PriorityBuilder = foundRowsBuilder{next: a.ExecBuilder.PriorityBuilder, exec: a.ExecBuilder}
}

// foundRowsBuilder builds Limit(CalcFoundRows) over Offset as one counting iterator; other
// nodes go to next (nil, nil: GMS builds them).
type foundRowsBuilder struct {
	next sql.NodeExecBuilder
	exec sql.NodeExecBuilder // the whole builder, for the Offset's input
}

var _ sql.NodeExecBuilder = foundRowsBuilder{}

// Build implements sql.NodeExecBuilder.
func (b foundRowsBuilder) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	if l, ok := n.(*plan.Limit); ok && l.CalcFoundRows {
		if o, ok := l.Child.(*plan.Offset); ok {
			limit, err := iters.GetInt64Value(ctx, l.Limit)
			if err != nil {
				return nil, err
			}
			offset, err := iters.GetInt64Value(ctx, o.Offset)
			if err != nil {
				return nil, err
			}
			child, err := b.exec.Build(ctx, o.Child, r)
			if err != nil {
				return nil, err
			}
			return &countingLimitIter{child: child, offset: offset, limit: limit}, nil
		}
	}
	if b.next == nil {
		return nil, nil
	}
	return b.next.Build(ctx, n, r)
}

// countingLimitIter skips offset rows, returns the next limit rows, then reads the rest of its
// input to count it; on Close it records the count of all rows as FOUND_ROWS().
type countingLimitIter struct {
	child         sql.RowIter
	offset, limit int64
	seen          int64 // rows read from child
}

func (i *countingLimitIter) Next(ctx *sql.Context) (sql.Row, error) {
	for i.seen < i.offset {
		if _, err := i.child.Next(ctx); err != nil {
			return nil, err
		}
		i.seen++
	}
	if i.seen >= i.offset+i.limit {
		for {
			if _, err := i.child.Next(ctx); err != nil {
				if err == io.EOF {
					return nil, io.EOF
				}
				return nil, err
			}
			i.seen++
		}
	}
	row, err := i.child.Next(ctx)
	if err != nil {
		return nil, err
	}
	i.seen++
	return row, nil
}

func (i *countingLimitIter) Close(ctx *sql.Context) error {
	err := i.child.Close(ctx)
	ctx.GetLastQueryInfo().FoundRows.Store(i.seen)
	return err
}

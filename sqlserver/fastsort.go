package sqlserver

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/encodings"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/sorters"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// fastSort replaces the plan.Sort of a verified plan-cache template (plancache.go): the same
// sort conditions over the same child, giving the same rows in the same order as GMS's sort,
// for less CPU. GMS's sort evaluates each condition's expression at every comparison and
// compares strings through the collation's weight function, which for utf8mb4_0900_ai_ci is
// a map lookup per character (sysbench's ORDER BY c spent a sixth of oltp_read_only's server
// CPU there). fastSort evaluates each expression once per row and looks the weights of
// single-byte characters up in a table made from the collation's own weight function.
//
// Its order is GMS's by construction: a stable sort under the same comparison (GMS's
// RowSorter.CompareRows: descending swaps the operands, NULLs first when asked, then the
// type's Compare, whose string comparison is mirrored exactly by compareCollated). Anything
// that could make the two differ is given to GMS's own sorter over the rows as they came:
// an expression that fails to evaluate, a comparison that fails (a malformed string), or
// values that are not of the kind mirrored.
type fastSort struct {
	*plan.Sort
}

var _ sql.ExecBuilderNode = fastSort{}

// withFastSorts returns n with each plan.Sort replaced by a fastSort.
func withFastSorts(ctx *sql.Context, n sql.Node) sql.Node {
	out, _, err := transform.Node(ctx, n, func(ctx *sql.Context, n sql.Node) (sql.Node, transform.TreeIdentity, error) {
		if s, ok := n.(*plan.Sort); ok {
			return fastSort{s}, transform.NewTree, nil
		}
		return n, transform.SameTree, nil
	})
	if err != nil {
		return n
	}
	return out
}

// WithChildren implements sql.Node.
func (s fastSort) WithChildren(ctx *sql.Context, children ...sql.Node) (sql.Node, error) {
	n, err := s.Sort.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return fastSort{n.(*plan.Sort)}, nil
}

// WithExpressions implements sql.Expressioner.
func (s fastSort) WithExpressions(ctx *sql.Context, exprs ...sql.Expression) (sql.Node, error) {
	n, err := s.Sort.WithExpressions(ctx, exprs...)
	if err != nil {
		return nil, err
	}
	return fastSort{n.(*plan.Sort)}, nil
}

// BuildRowIter implements sql.ExecBuilderNode.
func (s fastSort) BuildRowIter(ctx *sql.Context, b sql.NodeExecBuilder, r sql.Row) (sql.RowIter, error) {
	child, err := b.Build(ctx, s.Child, r)
	if err != nil {
		return nil, err
	}
	return &fastSortIter{conds: s.SortConditions, child: child, idx: -1}, nil
}

type fastSortIter struct {
	conds sql.SortConditions
	child sql.RowIter
	rows  []sql.Row
	idx   int
}

func (i *fastSortIter) Next(ctx *sql.Context) (sql.Row, error) {
	if i.idx < 0 {
		rows, err := sortRows(ctx, i.conds, i.child)
		if err != nil {
			return nil, err
		}
		i.rows, i.idx = rows, 0
	}
	if i.idx >= len(i.rows) {
		return nil, io.EOF
	}
	row := i.rows[i.idx]
	i.idx++
	return row, nil
}

func (i *fastSortIter) Close(ctx *sql.Context) error {
	i.rows = nil
	return i.child.Close(ctx)
}

// sortKey is one row's evaluated sort conditions.
type sortKey struct {
	row  sql.Row
	vals []interface{}
}

// sortRows reads child to its end (through the memory manager's rows cache, as GMS's sort)
// and returns its rows in the order of conds.
func sortRows(ctx *sql.Context, conds sql.SortConditions, child sql.RowIter) ([]sql.Row, error) {
	cache, dispose := ctx.Memory.NewRowsCache(ctx)
	defer dispose()
	for {
		row, err := child.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := cache.Add(row); err != nil {
			return nil, err
		}
	}
	rows := cache.Get()
	if len(rows) > 1 && !sortFast(ctx, conds, rows) {
		sorter := sorters.NewRowSorterWithRows(ctx, conds, rows)
		sort.Stable(sorter)
		if err := sorter.GetError(); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// sortFast sorts rows in place and reports true, or leaves them as they were and reports false
// when GMS's sorter must sort them.
func sortFast(ctx *sql.Context, conds sql.SortConditions, rows []sql.Row) bool {
	cmps := make([]valueComparer, len(conds))
	for c, sc := range conds {
		cmps[c] = comparerFor(sc.Expr.Type(ctx))
	}
	keys := make([]sortKey, len(rows))
	vals := make([]interface{}, len(rows)*len(conds))
	for r, row := range rows {
		k := sortKey{row: row, vals: vals[r*len(conds) : (r+1)*len(conds) : (r+1)*len(conds)]}
		for c, sc := range conds {
			v, err := sc.Expr.Eval(ctx, row)
			if err != nil {
				return false
			}
			k.vals[c] = v
		}
		keys[r] = k
	}
	failed := false
	slices.SortStableFunc(keys, func(a, b sortKey) int {
		if failed {
			return 0
		}
		for c, sc := range conds {
			av, bv := a.vals[c], b.vals[c]
			if sc.Order == sql.Descending {
				av, bv = bv, av
			}
			if av == nil && bv == nil {
				continue
			}
			if sc.NullOrdering == sql.NullsFirst {
				if av == nil {
					return -1
				}
				if bv == nil {
					return 1
				}
			}
			cmp, ok := cmps[c].compare(ctx, av, bv)
			if !ok {
				failed = true
				return 0
			}
			if cmp != 0 {
				return cmp
			}
		}
		return 0
	})
	if failed {
		return false
	}
	for r := range keys {
		rows[r] = keys[r].row
	}
	return true
}

// valueComparer compares two values of one sort condition as its type's Compare does; false:
// the comparison failed.
type valueComparer struct {
	typ sql.Type
	w   *weightTable // non-nil: strings compared by compareCollated
}

func comparerFor(typ sql.Type) valueComparer {
	vc := valueComparer{typ: typ}
	if st, ok := typ.(types.StringType); ok && !types.IsBinaryType(st) {
		vc.w = weightsOf(st.Collation())
	}
	return vc
}

func (vc valueComparer) compare(ctx *sql.Context, a, b interface{}) (int, bool) {
	if vc.w != nil {
		as, aok := a.(string)
		bs, bok := b.(string)
		if aok && bok {
			return vc.w.compareCollated(as, bs)
		}
	}
	cmp, err := vc.typ.Compare(ctx, a, b)
	return cmp, err == nil
}

// weightTable is a collation's weight function with the weights of the 128 single-byte
// characters looked up in a table; ascii is false for a character set that does not encode
// each of them as that one byte (then every character goes through the encoder).
type weightTable struct {
	enc    encodings.Encoder
	weight sql.CollationSorter
	ascii  bool
	table  [128]int32
}

var weightTables sync.Map // sql.CollationID → *weightTable

// weightsOf returns the weight table of collation c, made at its first use.
func weightsOf(c sql.CollationID) *weightTable {
	if w, ok := weightTables.Load(c); ok {
		return w.(*weightTable)
	}
	w := &weightTable{enc: c.CharacterSet().Encoder(), weight: c.Sorter(), ascii: true}
	if w.enc == nil || w.weight == nil {
		return nil
	}
	for b := 0; b < 128; b++ {
		r, n := w.enc.NextRune(string(rune(b)))
		if r != rune(b) || n != 1 {
			w.ascii = false
			break
		}
		w.table[b] = w.weight(rune(b))
	}
	got, _ := weightTables.LoadOrStore(c, w)
	return got.(*weightTable)
}

// next returns the weight of s's first character (s not empty) and the rest of s; false when
// that character is malformed.
func (w *weightTable) next(s string) (int32, string, bool) {
	if c := s[0]; w.ascii && c < 0x80 {
		return w.table[c], s[1:], true
	}
	r, n := w.enc.NextRune(s)
	if n <= 0 {
		return 0, s, false
	}
	return w.weight(r), s[n:], true
}

// compareCollated compares two strings as GMS's StringType.Compare does: character by
// character by weight, then the one with characters left is the greater; false when a string
// is malformed (GMS's comparison fails then).
func (w *weightTable) compareCollated(as, bs string) (int, bool) {
	for len(as) > 0 && len(bs) > 0 {
		var aw, bw int32
		var ok bool
		if aw, as, ok = w.next(as); !ok {
			return 0, false
		}
		if bw, bs, ok = w.next(bs); !ok {
			return 0, false
		}
		if aw != bw {
			if aw < bw {
				return -1, true
			}
			return 1, true
		}
	}
	switch {
	case len(as) < len(bs):
		return -1, true
	case len(as) > len(bs):
		return 1, true
	}
	return 0, true
}

// String implements fmt.Stringer (as the Sort it replaces, marked).
func (s fastSort) String() string { return fmt.Sprintf("fast%s", s.Sort.String()) }

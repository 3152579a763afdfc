package storage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/tidwall/btree"
)

// Index describes a primary or secondary index to GMS. Lookups through it
// seek in the index's tree: a point lookup costs O(log n).
type Index struct {
	db, table string
	name      string
	cols      []sql.IndexColumn
	types     []sql.Type
	unique    bool
	primary   bool
	vector    bool
	ft        *ftIndexInfo // FULLTEXT (fulltext.go)
	comment   string
	// implicit: the primary-key columns InnoDB appends to a secondary
	// index (those not already in it), in primary-key order, and their
	// types. GMS matches a foreign key's referenced columns against cols
	// followed by implicit (sql.ExtendedIndex), as InnoDB does.
	implicit      []sql.IndexColumn
	implicitTypes []sql.Type
}

var (
	_ sql.Index         = (*Index)(nil)
	_ sql.ExtendedIndex = (*Index)(nil)
)

// PrimaryKeyName is the name MySQL gives every primary key.
const PrimaryKeyName = "PRIMARY"

func (i *Index) ID() string       { return i.name }
func (i *Index) Database() string { return i.db }
func (i *Index) Table() string    { return i.table }

// Expressions lists the indexed columns as "table.column" in the table's
// and the columns' own letter case: GMS's planner matches them ignoring
// case, and SHOW CREATE TABLE / SHOW INDEX find each column by comparing
// with its Source and Name exactly.
func (i *Index) Expressions() []string {
	out := make([]string, len(i.cols))
	for n, c := range i.cols {
		out[n] = i.table + "." + c.Name
	}
	return out
}

func (i *Index) IsUnique() bool    { return i.unique || i.primary }
func (i *Index) IsSpatial() bool   { return false }
func (i *Index) IsFullText() bool  { return i.ft != nil }
func (i *Index) IsVector() bool    { return i.vector }
func (i *Index) Comment() string   { return i.comment }
func (i *Index) IsGenerated() bool { return false }

// IndexType implements sql.Index.
func (i *Index) IndexType() string {
	if i.vector {
		return "VECTOR"
	}
	if i.ft != nil {
		return "FULLTEXT"
	}
	return "BTREE"
}

// CanSupport implements sql.Index: a VECTOR index serves no lookups. GMS
// plans a FULLTEXT index only for MATCH … AGAINST, which it answers from
// the pseudo-tables.
func (i *Index) CanSupport(*sql.Context, ...sql.Range) bool { return !i.vector }

// CanSupportOrderBy reports whether rows come back in this index's order
// (never for a VECTOR index: it offers no distance order).
func (i *Index) CanSupportOrderBy(expr sql.Expression) bool {
	_, ok := expr.(*expression.GetField)
	return ok && !i.hasPrefix() && !i.vector && i.ft == nil
}

func (i *Index) CoversColumns(cols []string) bool { return false }

func (i *Index) PrefixLengths() []uint16 {
	if !i.hasPrefix() {
		return nil
	}
	out := make([]uint16, len(i.cols))
	for n, c := range i.cols {
		out[n] = uint16(c.Length)
	}
	return out
}

func (i *Index) hasPrefix() bool {
	for _, c := range i.cols {
		if c.Length > 0 {
			return true
		}
	}
	return false
}

// ExtendedExpressions implements sql.ExtendedIndex: Expressions, then
// the implicit primary-key columns.
func (i *Index) ExtendedExpressions(*sql.Context) []string {
	out := i.Expressions()
	for _, c := range i.implicit {
		out = append(out, i.table+"."+c.Name)
	}
	return out
}

// ExtendedColumnExpressionTypes implements sql.ExtendedIndex.
func (i *Index) ExtendedColumnExpressionTypes(ctx *sql.Context) []sql.ColumnExpressionType {
	out := i.ColumnExpressionTypes(ctx)
	for n, c := range i.implicit {
		out = append(out, sql.ColumnExpressionType{Expression: i.table + "." + c.Name, Type: i.implicitTypes[n]})
	}
	return out
}

// ColumnExpressionTypes implements sql.Index.
func (i *Index) ColumnExpressionTypes(*sql.Context) []sql.ColumnExpressionType {
	exprs := i.Expressions()
	out := make([]sql.ColumnExpressionType, len(exprs))
	for n := range exprs {
		out[n] = sql.ColumnExpressionType{Expression: exprs[n], Type: i.types[n]}
	}
	return out
}

func (ts *tableState) indexes4GMS(db string) []sql.Index {
	var out []sql.Index
	if len(ts.pkOrds) > 0 {
		ix := &Index{db: db, table: ts.name, name: PrimaryKeyName, primary: true}
		for _, o := range ts.pkOrds {
			ix.cols = append(ix.cols, sql.IndexColumn{Name: ts.schema[o].Name})
			ix.types = append(ix.types, ts.schema[o].Type)
		}
		out = append(out, ix)
	}
	for _, s := range ts.indexes {
		ix := &Index{db: db, table: ts.name, name: s.name, unique: s.unique, vector: s.vector, ft: s.ft, comment: s.comment}
		for _, c := range s.cols {
			o := ts.schema.IndexOfColName(c.Name)
			ix.cols = append(ix.cols, sql.IndexColumn{Name: ts.schema[o].Name, Length: c.Length})
			ix.types = append(ix.types, ts.schema[o].Type)
		}
		for _, o := range ts.pkOrds {
			if !s.hasColumn(ts.schema[o].Name) {
				ix.implicit = append(ix.implicit, sql.IndexColumn{Name: ts.schema[o].Name})
				ix.implicitTypes = append(ix.implicitTypes, ts.schema[o].Type)
			}
		}
		out = append(out, ix)
	}
	sortKeysAsMySQL(out, ts.schema)
	return out
}

// sortKeysAsMySQL orders a table's indexes as MySQL 8.0 keeps them (the
// order of SHOW CREATE TABLE, SHOW INDEX and information_schema.STATISTICS;
// mysql-server sql/sql_table.cc, sort_keys): unique keys first, among them
// those whose columns are all NOT NULL first, then PRIMARY, then those
// without a column prefix; the non-unique keys after, those over a VIRTUAL
// generated column last; otherwise the order of creation. ixs starts in
// creation order (PRIMARY first) and the sort is stable.
func sortKeysAsMySQL(ixs []sql.Index, sch sql.Schema) {
	type flags struct{ unique, nullPart, prefix, virtual, primary bool }
	of := func(ix sql.Index) flags {
		i := ix.(*Index)
		f := flags{unique: i.IsUnique(), primary: i.primary, prefix: i.hasPrefix()}
		for _, c := range i.cols {
			if o := sch.IndexOfColName(c.Name); o >= 0 {
				f.nullPart = f.nullPart || sch[o].Nullable
				f.virtual = f.virtual || sch[o].Virtual
			}
		}
		return f
	}
	fs := make(map[sql.Index]flags, len(ixs))
	for _, ix := range ixs {
		fs[ix] = of(ix)
	}
	// less reports whether a sorts strictly before b.
	less := func(a, b flags) bool {
		if a.unique != b.unique {
			return a.unique
		}
		if a.unique {
			if a.nullPart != b.nullPart {
				return !a.nullPart
			}
			if a.primary != b.primary {
				return a.primary
			}
			if a.prefix != b.prefix {
				return !a.prefix
			}
		}
		if a.virtual != b.virtual {
			return !a.virtual
		}
		return false
	}
	sort.SliceStable(ixs, func(i, j int) bool { return less(fs[ixs[i]], fs[ixs[j]]) })
}

// hasColumn reports whether the index holds the whole of column name
// (not only a prefix of it).
func (ix *indexState) hasColumn(name string) bool {
	for _, c := range ix.cols {
		if strings.EqualFold(c.Name, name) && c.Length == 0 {
			return true
		}
	}
	return false
}

// GetIndexes implements sql.IndexAddressable.
func (t *Table) GetIndexes(ctx *sql.Context) ([]sql.Index, error) {
	ts, _ := t.state(ctx)
	if ts == nil {
		return nil, nil
	}
	return ts.indexes4GMS(t.db.visibleName()), nil
}

// IndexKey returns an identity of the definition of the index name (PrimaryKeyName: the primary
// key) in the calling context's version of the table: equal values as long as the index exists
// unchanged, another value after any DDL that creates or rebuilds it, nil when there is no such
// index. It allocates nothing: the SQL layer's plan cache checks it for every statement it
// answers from a cached plan.
func (t *Table) IndexKey(ctx *sql.Context, name string) any {
	ts, _ := t.state(ctx)
	if ts == nil {
		return nil
	}
	if strings.EqualFold(name, PrimaryKeyName) {
		if len(ts.pkOrds) == 0 {
			return nil
		}
		return ts.pk
	}
	if _, ix := ts.index(name); ix != nil {
		return ix.kd
	}
	return nil
}

// IndexedAccess implements sql.IndexAddressable.
func (t *Table) IndexedAccess(ctx *sql.Context, l sql.IndexLookup) sql.IndexedTable {
	n := *t
	n.lookup = &l
	return &n
}

// PreciseMatch implements sql.IndexAddressable: lookups return exactly the
// rows in their ranges.
func (t *Table) PreciseMatch() bool { return true }

// newLookupIter returns the rows of ts inside the lookup's ranges, in index
// order (reversed for reverse lookups).
func newLookupIter(ctx *sql.Context, ts *tableState, l sql.IndexLookup) (entryIter, error) {
	if l.IsEmptyRange {
		return &entrySliceIter{}, nil
	}
	var kd *keyDef
	var tree *btree.BTreeG[*entry]
	// ords: the row position of each column a range may constrain: the
	// index's columns, then (secondary indexes) the implicit primary-key
	// columns a foreign-key lookup through sql.ExtendedIndex adds.
	var ords []int
	if strings.EqualFold(l.Index.ID(), PrimaryKeyName) && len(ts.pkOrds) > 0 {
		kd, tree = ts.pk, ts.readTree(ts.rows)
	} else {
		_, ix := ts.index(l.Index.ID())
		if ix == nil {
			return nil, fmt.Errorf("index %q not found on table %q", l.Index.ID(), ts.name)
		}
		kd, tree = ix.kd, ts.readTree(ix.tree)
		for _, o := range ts.pkOrds {
			if !ix.hasColumn(ts.schema[o].Name) {
				ords = append(ords, o)
			}
		}
	}
	ords = append(keyOrds(kd), ords...)
	ranges, ok := l.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("unsupported range collection %T", l.Ranges)
	}
	var rows []*entry
	for _, r := range ranges {
		var err error
		if len(r) > len(ords) {
			return nil, fmt.Errorf("lookup on %d columns of index %q, which has %d", len(r), l.Index.ID(), len(ords))
		}
		rows, err = scanRange(ctx, tree, kd, ords, r, rows)
		if err != nil {
			return nil, err
		}
	}
	if len(ranges) > 1 {
		// GMS does not hand the ranges in key order; the rows must come
		// in the index's order (sql.OrderedIndex).
		sort.SliceStable(rows, func(a, b int) bool {
			return cmpCols(kd.cols, rows[a].row, rows[b].row) < 0
		})
	}
	if l.IsReverse {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	return &entrySliceIter{entries: rows}, nil
}

// keyOrds returns the row positions of kd's columns.
func keyOrds(kd *keyDef) []int {
	out := make([]int, len(kd.cols))
	for i, c := range kd.cols {
		out[i] = c.ord
	}
	return out
}

// scanRange appends the entries of tree inside r. It seeks to the range's
// lower end over the leading equality columns and stops as soon as the
// ordered scan leaves the range. ords[i] is the row position of the column
// r[i] constrains; columns past kd's (implicit primary-key columns) only
// filter.
func scanRange(ctx *sql.Context, tree *btree.BTreeG[*entry], kd *keyDef, ords []int, r sql.MySQLRange, out []*entry) ([]*entry, error) {
	n := min(len(r), len(kd.cols))
	// Leading columns with a single value (x = k, or x IS NULL).
	var seek []interface{}
	eq := 0
	for eq < n {
		v, ok, err := pointValue(ctx, r[eq])
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		seek = append(seek, v)
		eq++
	}
	after := false
	if eq < n {
		switch lb := r[eq].LowerBound.(type) {
		case sql.Below:
			seek = append(seek, lb.Key)
		case sql.Above:
			seek = append(seek, lb.Key)
			after = true
		case sql.AboveNull:
			seek = append(seek, nil)
			after = true
		case sql.AboveAll:
			return out, nil
		}
	}
	var scanErr error
	visit := func(e *entry) bool {
		row := e.row
		// Leaving the equality prefix or passing the next column's upper
		// bound ends the range.
		for i := 0; i < eq; i++ {
			c := kd.cols[i]
			if compareValues(c.typ, c.prefix, seek[i], row[c.ord]) != 0 {
				return false
			}
		}
		if eq < n {
			c := kd.cols[eq]
			in, err := belowUpper(ctx, r[eq], row[c.ord])
			if err != nil {
				scanErr = err
				return false
			}
			if !in {
				return false
			}
		}
		for i := range r {
			in, err := inColumnRange(ctx, r[i], row[ords[i]])
			if err != nil {
				scanErr = err
				return false
			}
			if !in {
				return true
			}
		}
		out = append(out, e)
		return true
	}
	if len(seek) == 0 {
		tree.Scan(visit)
	} else {
		tree.Ascend(newProbe(seek, after), visit)
	}
	return out, scanErr
}

// pointValue returns k when the column range is exactly [k, k] (or only
// NULL).
func pointValue(ctx *sql.Context, rce sql.MySQLRangeColumnExpr) (interface{}, bool, error) {
	switch lb := rce.LowerBound.(type) {
	case sql.BelowNull:
		if _, ok := rce.UpperBound.(sql.AboveNull); ok {
			return nil, true, nil
		}
	case sql.Below:
		ub, ok := rce.UpperBound.(sql.Above)
		if !ok {
			return nil, false, nil
		}
		c, err := rce.Typ.Compare(ctx, lb.Key, ub.Key)
		if err != nil {
			return nil, false, err
		}
		if c == 0 {
			return lb.Key, true, nil
		}
	}
	return nil, false, nil
}

// inColumnRange reports whether v lies between the range's two cuts.
func inColumnRange(ctx *sql.Context, rce sql.MySQLRangeColumnExpr, v interface{}) (bool, error) {
	in, err := aboveLower(ctx, rce, v)
	if err != nil || !in {
		return in, err
	}
	return belowUpper(ctx, rce, v)
}

func aboveLower(ctx *sql.Context, rce sql.MySQLRangeColumnExpr, v interface{}) (bool, error) {
	switch lb := rce.LowerBound.(type) {
	case sql.BelowNull:
		return true, nil
	case sql.AboveNull:
		return v != nil, nil
	case sql.AboveAll:
		return false, nil
	case sql.Below:
		if v == nil {
			return false, nil
		}
		c, err := rce.Typ.Compare(ctx, v, lb.Key)
		return c >= 0, err
	case sql.Above:
		if v == nil {
			return false, nil
		}
		c, err := rce.Typ.Compare(ctx, v, lb.Key)
		return c > 0, err
	}
	return false, fmt.Errorf("unknown range cut %T", rce.LowerBound)
}

func belowUpper(ctx *sql.Context, rce sql.MySQLRangeColumnExpr, v interface{}) (bool, error) {
	switch ub := rce.UpperBound.(type) {
	case sql.AboveAll:
		return true, nil
	case sql.BelowNull:
		return false, nil
	case sql.AboveNull:
		return v == nil, nil
	case sql.Below:
		if v == nil {
			return true, nil
		}
		c, err := rce.Typ.Compare(ctx, v, ub.Key)
		return c < 0, err
	case sql.Above:
		if v == nil {
			return true, nil
		}
		c, err := rce.Typ.Compare(ctx, v, ub.Key)
		return c <= 0, err
	}
	return false, fmt.Errorf("unknown range cut %T", rce.UpperBound)
}

// rangeCheck returns a test of whether a row lies inside the lookup's
// ranges over its index's columns (for a row whose newer version may have
// moved out of the range the scan found it in).
func rangeCheck(ctx *sql.Context, ts *tableState, l sql.IndexLookup) func(sql.Row) (bool, error) {
	_, ix := ts.index(l.Index.ID())
	ranges, ok := l.Ranges.(sql.MySQLRangeCollection)
	if ix == nil || !ok {
		return nil
	}
	kd := ix.kd
	return func(row sql.Row) (bool, error) {
		for _, r := range ranges {
			in := true
			for i := 0; i < min(len(r), len(kd.cols)) && in; i++ {
				var err error
				in, err = inColumnRange(ctx, r[i], truncatePrefix(row[kd.cols[i].ord], kd.cols[i].prefix))
				if err != nil {
					return false, err
				}
			}
			if in {
				return true, nil
			}
		}
		return false, nil
	}
}

var _ sql.OrderedIndex = (*Index)(nil)

// Order implements sql.OrderedIndex: a lookup returns its rows in the
// index's ascending key order (IsReverse: descending), so GMS can drop a
// Sort on the index's columns, as MySQL reads an index in order for ORDER
// BY. An index with a column prefix or a VECTOR index declares no order (a
// prefix does not order the whole value).
func (i *Index) Order(*sql.Context) sql.IndexOrder {
	if i.vector {
		return sql.IndexOrderNone
	}
	for _, c := range i.cols {
		if c.Length > 0 {
			return sql.IndexOrderNone
		}
	}
	return sql.IndexOrderAsc
}

// Reversible implements sql.OrderedIndex: lookups honour IsReverse.
func (i *Index) Reversible(ctx *sql.Context) bool { return i.Order(ctx) != sql.IndexOrderNone }

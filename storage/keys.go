package storage

import (
	"bytes"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/btree"
)

// cmpCtx is the context handed to sql.Type.Compare from inside tree
// comparators, which have no query context of their own.
var cmpCtx = sql.NewEmptyContext()

// entry is one stored row of a table with a primary key: a slice header (24
// bytes, an allocation of its own size class), one per stored row. Entries
// are immutable once in a tree: an update replaces the entry.
type entry struct {
	row sql.Row
}

// keylessEntry is the entry of a table without a primary key: the row and
// its hidden row id, which keeps equal rows apart and orders them as they
// were inserted. Such a table's trees hold &keylessEntry.entry (made by
// newKeylessEntry, or tableState.newEntry), and rowID reads the id back.
// Keeping the id out of entry saves 8 bytes on every row of every other
// table (an allocation of 24 bytes instead of 32).
type keylessEntry struct {
	entry
	id uint64
}

// newKeylessEntry returns the entry of a keyless table's row with hidden id id.
func newKeylessEntry(row sql.Row, id uint64) *entry {
	return &(&keylessEntry{entry: entry{row: row}, id: id}).entry
}

// rowID is the hidden row id of an entry of a keyless table. The entry must
// have been made by newKeylessEntry: every entry of a keyless table is (the
// one place entries are made for a table is tableState.newEntry), and no
// other entry is asked for one (callers check len(pkOrds) == 0 or
// keyDef.tieByID, which only keyless tables' trees have).
func (e *entry) rowID() uint64 { return (*keylessEntry)(unsafe.Pointer(e)).id }

// A search key (probe) is an entry whose row is one *probeKey: the values of
// the key's leading columns. A probe never compares equal to a stored entry:
// it sorts just before every entry whose leading columns equal its values,
// or just after them with after set. No stored row holds a *probeKey (the
// type is this package's), so a one-column row is told from a probe by the
// value's type.
type probeKey struct {
	vals  []interface{}
	after bool
}

// newProbe returns a search key over vals (see probeKey).
func newProbe(vals []interface{}, after bool) *entry {
	return &entry{row: sql.Row{&probeKey{vals: vals, after: after}}}
}

// probe returns e's search key, or nil when e is a stored entry.
func (e *entry) probe() *probeKey {
	if len(e.row) != 1 {
		return nil
	}
	p, _ := e.row[0].(*probeKey)
	return p
}

// keyCol is one column of a key: its position in the row, its type and, for
// prefix indexes, the number of leading characters (or bytes) that count.
type keyCol struct {
	ord    int
	typ    sql.Type
	prefix int64
}

// keyDef orders entries: by cols, then (for secondary indexes and keyless
// tables) by the tie-breaker that makes each entry unique.
type keyDef struct {
	cols []keyCol
	// tie orders entries whose cols are equal: the primary key columns of the
	// table, or the hidden row id when tieByID is set.
	tie     []keyCol
	tieByID bool
}

func newTree(kd *keyDef) *btree.BTreeG[*entry] {
	return btree.NewBTreeGOptions(kd.less, btree.Options{NoLocks: true, Degree: 32})
}

func (kd *keyDef) less(a, b *entry) bool {
	if p := a.probe(); p != nil {
		return kd.cmpProbe(p, b) < 0
	}
	if p := b.probe(); p != nil {
		return kd.cmpProbe(p, a) > 0
	}
	return kd.cmp(a, b) < 0
}

func (kd *keyDef) cmp(a, b *entry) int {
	if c := cmpCols(kd.cols, a.row, b.row); c != 0 {
		return c
	}
	if kd.tieByID {
		return cmpOrdered(a.rowID(), b.rowID())
	}
	return cmpCols(kd.tie, a.row, b.row)
}

// cmpProbe compares a probe with a stored entry; it never returns 0.
func (kd *keyDef) cmpProbe(p *probeKey, e *entry) int {
	for i, v := range p.vals {
		if i >= len(kd.cols) {
			break
		}
		c := kd.cols[i]
		if r := compareValues(c.typ, c.prefix, v, e.row[c.ord]); r != 0 {
			return r
		}
	}
	if p.after {
		return 1
	}
	return -1
}

func cmpCols(cols []keyCol, a, b sql.Row) int {
	for _, c := range cols {
		if r := compareValues(c.typ, c.prefix, a[c.ord], b[c.ord]); r != 0 {
			return r
		}
	}
	return 0
}

// compareValues orders two column values as MySQL's indexes do: NULL first,
// then by the column type's collation-aware comparison.
func compareValues(typ sql.Type, prefix int64, a, b interface{}) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		default:
			return 1
		}
	}
	if prefix > 0 {
		a, b = truncatePrefix(a, prefix), truncatePrefix(b, prefix)
	}
	// Fast paths for the common key types; values GMS stores are already
	// converted to the column's Go type.
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y)
		}
	case int32:
		if y, ok := b.(int32); ok {
			return cmpOrdered(x, y)
		}
	case uint64:
		if y, ok := b.(uint64); ok {
			return cmpOrdered(x, y)
		}
	case uint32:
		if y, ok := b.(uint32); ok {
			return cmpOrdered(x, y)
		}
	case int8:
		if y, ok := b.(int8); ok {
			return cmpOrdered(x, y)
		}
	case int16:
		if y, ok := b.(int16); ok {
			return cmpOrdered(x, y)
		}
	case []byte:
		if y, ok := b.([]byte); ok && isBinaryType(typ) {
			return bytes.Compare(x, y)
		}
	}
	r, err := typ.Compare(cmpCtx, a, b)
	if err != nil {
		// Values that cannot be compared by the type (should not happen for
		// stored values) fall back to a stable textual order.
		return strings.Compare(sqlString(a), sqlString(b))
	}
	return r
}

func cmpOrdered[T int8 | int16 | int32 | int64 | uint32 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isBinaryType(t sql.Type) bool {
	st, ok := t.(sql.StringType)
	return ok && st.Collation() == sql.Collation_binary
}

func truncatePrefix(v interface{}, n int64) interface{} {
	if n <= 0 {
		return v
	}
	switch s := v.(type) {
	case string:
		if int64(utf8.RuneCountInString(s)) <= n {
			return s
		}
		i, count := 0, int64(0)
		for i = range s {
			if count == n {
				break
			}
			count++
		}
		return s[:i]
	case []byte:
		if int64(len(s)) > n {
			return s[:n]
		}
	}
	return v
}

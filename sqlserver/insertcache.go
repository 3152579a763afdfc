package sqlserver

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// insertCache spares the parser the text INSERTs a client sends over and over with other
// values (sysbench's oltp_insert, an ORM's INSERT … VALUES): parsing them was a tenth of an
// insert's CPU. A statement is scanned by a small lexer (scanInsert) into its shape, the text
// with each literal replaced by a marker, and its literals. A shape seen before has a template:
// the statement the parser made of it, whose VALUES literals are replaced by the new ones.
//
// A template is trusted only once it proved itself, as the plan cache's are: the second
// statement of a shape is parsed too, and the template filled with its literals must equal
// (reflect.DeepEqual) what the parser made of it; otherwise the shape is never cached again.
// The lexer accepts only what it understands exactly: INSERT or REPLACE, identifiers and
// keywords, backquoted names without escapes, punctuation, unsigned integers and decimals, and
// single-quoted strings with neither backslashes nor doubled quotes; anything else (comments,
// double quotes, which ANSI_QUOTES changes, hexadecimal or exponent numbers, user variables,
// placeholders, a second statement, bytes outside ASCII outside strings) leaves the statement
// to the parser. Only the literals of the VALUES rows vary; a shape with other literals, or
// with ON DUPLICATE KEY UPDATE, WITH, RETURNING or PARTITION, is not cached. The shape key
// holds the parser options and the delimiter, so a statement is never answered by a template
// made under other ones.
//
// Every use gets its own copy of the statement (GMS may write into the tree it binds). The
// cache is shared by every session; it holds at most maxInsertShapes shapes, each of a
// statement of at most maxInsertText bytes, and keeps them for the server's life.
type insertCache struct {
	// mu guards shapes; it is a leaf (nothing else is locked while it is held). A template's
	// state is atomic and its statement never changes once stored.
	mu     sync.RWMutex
	shapes map[string]*insertTemplate

	hits atomic.Int64 // statements answered, for tests
}

const (
	maxInsertShapes = 256
	maxInsertText   = 16 << 10
)

type insertState int32

const (
	insertLearned insertState = iota // made from one statement, awaiting a second
	insertTrusted                    // a second statement's parse matched it
	insertRetired                    // never answered from the cache
)

type insertTemplate struct {
	state atomic.Int32
	stmt  *ast.Insert // a private copy; never handed out
	regs  int64       // the parser's registration count when it was made
}

// insertLit is one literal of a scanned statement.
type insertLit struct {
	kind byte   // 'i' integer, 'd' decimal, 's' string
	text string // the integer or decimal as written, the string's content
}

// insertScan is what scanInsert found.
type insertScan struct {
	key    string
	lits   []insertLit
	parsed string // the statement without surrounding space and delimiters, as GMS's parser returns it
}

// scanInsert scans query as a candidate for the cache; ok is false when the cache must leave
// it alone.
func scanInsert(query string, delimiter rune, opts ast.ParserOptions) (sc insertScan, ok bool) {
	s := strings.TrimSpace(query)
	if !startsWithWord(s, "insert") && !startsWithWord(s, "replace") {
		return sc, false // every other statement leaves here, without allocating
	}
	s = strings.TrimRightFunc(s, func(r rune) bool {
		return r == delimiter || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	})
	if len(s) > maxInsertText {
		return sc, false
	}
	var key strings.Builder
	key.Grow(len(s) + 8)
	key.WriteByte(byte('0' + b2i(opts.AnsiQuotes) + 2*b2i(opts.PipesAsConcat)))
	key.WriteRune(delimiter)
	prev := byte(0) // the last byte written that is not white space
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			key.WriteByte(c)
			i++
			continue
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			key.WriteString(s[i:j])
			i = j
		case c == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 {
				return sc, false
			}
			j := i + 1 + end + 1
			if j < len(s) && s[j] == '`' {
				return sc, false // a doubled backquote
			}
			key.WriteString(s[i:j])
			i = j
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return sc, false
			}
			content := s[i+1 : i+1+end]
			j := i + 1 + end + 1
			if strings.IndexByte(content, '\\') >= 0 || (j < len(s) && s[j] == '\'') {
				return sc, false
			}
			sc.lits = append(sc.lits, insertLit{kind: 's', text: content})
			key.WriteString("\x00s")
			i = j
		case isDigit(c) || (c == '-' && (prev == '(' || prev == ',') && i+1 < len(s) && isDigit(s[i+1])):
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			kind := byte('i')
			if j < len(s) && s[j] == '.' {
				kind = 'd'
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
			if j < len(s) && (isIdentByte(s[j]) || s[j] == '.') {
				return sc, false // 1e5, 0x1F, 1.2.3
			}
			sc.lits = append(sc.lits, insertLit{kind: kind, text: s[i:j]})
			key.WriteString("\x00")
			key.WriteByte(kind)
			i = j
		case strings.IndexByte("(),.=+*<>", c) >= 0:
			key.WriteByte(c)
			i++
		default:
			// comments, double quotes, ?, @, ;, the delimiter, -, /, #, bytes outside ASCII
			return sc, false
		}
		prev = s[i-1]
	}
	sc.key, sc.parsed = key.String(), s
	return sc, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// startsWithWord reports whether s starts with the lower-case word w, in any case, followed by
// something that is not part of an identifier.
func startsWithWord(s, w string) bool {
	return len(s) > len(w) && hasPrefixFold(s, w) && !isIdentByte(s[len(w)])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) }

// answer returns the statement of a trusted template for sc, or false.
func (c *insertCache) answer(sc insertScan, regs int64) (ast.Statement, bool) {
	c.mu.RLock()
	t := c.shapes[sc.key]
	c.mu.RUnlock()
	if t == nil || insertState(t.state.Load()) != insertTrusted {
		return nil, false
	}
	if t.regs != regs {
		t.state.Store(int32(insertRetired))
		return nil, false
	}
	out, ok := t.fill(sc.lits)
	if !ok {
		return nil, false
	}
	c.hits.Add(1)
	return out, true
}

// observe learns from, or verifies a template with, the parser's statement stmt for sc.
func (c *insertCache) observe(sc insertScan, stmt ast.Statement, parsed string, regs int64) {
	c.mu.RLock()
	t := c.shapes[sc.key]
	n := len(c.shapes)
	c.mu.RUnlock()
	if t != nil {
		if insertState(t.state.Load()) != insertLearned {
			return
		}
		mine, ok := t.fill(sc.lits)
		if ok && parsed == sc.parsed && t.regs == regs && reflect.DeepEqual(mine, stmt) {
			t.state.CompareAndSwap(int32(insertLearned), int32(insertTrusted))
		} else {
			t.state.Store(int32(insertRetired))
		}
		return
	}
	if n >= maxInsertShapes {
		return
	}
	t = &insertTemplate{regs: regs}
	if ins, ok := stmt.(*ast.Insert); ok && parsed == sc.parsed && cacheableInsert(ins, sc.lits) {
		t.stmt = cloneInsert(ins, nil)
	} else {
		t.state.Store(int32(insertRetired))
	}
	c.mu.Lock()
	if c.shapes == nil {
		c.shapes = map[string]*insertTemplate{}
	}
	if c.shapes[sc.key] == nil && len(c.shapes) < maxInsertShapes {
		c.shapes[sc.key] = t
	}
	c.mu.Unlock()
}

// valuesOf returns the VALUES rows of an INSERT, or nil.
func valuesOf(rows ast.InsertRows) ast.Values {
	switch r := rows.(type) {
	case ast.Values:
		return r
	case *ast.AliasedValues:
		return r.Values
	}
	return nil
}

// cacheableInsert reports whether ins is an INSERT … VALUES whose row values are exactly lits,
// in order, besides NULLs.
func cacheableInsert(ins *ast.Insert, lits []insertLit) bool {
	if ins.With != nil || len(ins.OnDup) > 0 || len(ins.Returning) > 0 || len(ins.Partitions) > 0 {
		return false
	}
	switch r := ins.Rows.(type) {
	case ast.Values:
	case *ast.AliasedValues:
		if !r.As.IsEmpty() || len(r.Columns) > 0 {
			return false // VALUES … AS alias: leave it to the parser
		}
	default:
		return false
	}
	j := 0
	for _, tuple := range valuesOf(ins.Rows) {
		for _, e := range tuple {
			switch v := e.(type) {
			case *ast.NullVal:
			case *ast.SQLVal:
				if j >= len(lits) || !litMatches(v, lits[j]) {
					return false
				}
				j++
			default:
				return false
			}
		}
	}
	return j == len(lits)
}

func litMatches(v *ast.SQLVal, l insertLit) bool {
	switch l.kind {
	case 'i':
		return v.Type == ast.IntVal && string(v.Val) == l.text
	case 'd':
		return v.Type == ast.FloatVal && string(v.Val) == l.text
	case 's':
		return v.Type == ast.StrVal && string(v.Val) == l.text
	}
	return false
}

// fill returns a copy of the template's statement with lits as its row values.
func (t *insertTemplate) fill(lits []insertLit) (ast.Statement, bool) {
	if t.stmt == nil {
		return nil, false
	}
	out := cloneInsert(t.stmt, lits)
	if out == nil {
		return nil, false
	}
	return out, true
}

// cloneInsert copies ins (its slices too, so nothing of ins is shared but strings), with the
// literals of its rows replaced by lits in order when lits is not nil. It returns nil when
// lits do not fit.
func cloneInsert(ins *ast.Insert, lits []insertLit) *ast.Insert {
	out := *ins
	out.Columns = slices.Clone(ins.Columns)
	out.Comments = slices.Clone(ins.Comments)
	out.Auth.TargetNames = slices.Clone(ins.Auth.TargetNames)
	rows := valuesOf(ins.Rows)
	vals := make(ast.Values, len(rows))
	j := 0
	for r, tuple := range rows {
		nt := make(ast.ValTuple, len(tuple))
		for i, e := range tuple {
			switch v := e.(type) {
			case *ast.SQLVal:
				val := v.Val
				if lits != nil {
					if j >= len(lits) {
						return nil
					}
					l := lits[j]
					j++
					if (l.kind == 's') != (v.Type == ast.StrVal) || (l.kind == 'd') != (v.Type == ast.FloatVal) {
						return nil
					}
					val = []byte(l.text)
				}
				nt[i] = &ast.SQLVal{Type: v.Type, Val: slices.Clone(val)}
			case *ast.NullVal:
				nt[i] = &ast.NullVal{}
			default:
				return nil
			}
		}
		vals[r] = nt
	}
	if lits != nil && j != len(lits) {
		return nil
	}
	if av, ok := ins.Rows.(*ast.AliasedValues); ok {
		out.Rows = &ast.AliasedValues{Values: vals, As: av.As, Columns: slices.Clone(av.Columns)}
	} else {
		out.Rows = vals
	}
	return &out
}

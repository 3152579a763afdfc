package sqlserver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// MatchFunc reports whether a statement is one a registration handles. It receives the
// statement's normalized prefix (see NormalizedPrefix): upper case, comments dropped, runs of
// white space folded to one space, at most prefixLen bytes.
type MatchFunc func(normalizedPrefix string) bool

// BuildFunc turns one statement's text (without its trailing delimiter) into an AST. Statements
// the vitess grammar cannot express return ast.InjectedStatement whose Statement resolves to a
// sql.ExecSourceRel node (Statement builds them); set its Auth.AuthType
// (e.g. ast.AuthType_SUPER), because an empty one fails once users exist. An error is reported
// to the client: a *mysql.SQLError with its code (when the statement runs), any other error as
// a parse error, so vitess's "syntax error at position N near 'tok'" becomes MySQL's 1064.
type BuildFunc func(ctx *sql.Context, query string) (ast.Statement, error)

// prefixLen is how much of a statement NormalizedPrefix keeps: enough for the longest keyword
// sequence a registration matches on ("CHANGE REPLICATION SOURCE TO", "INSTALL PLUGIN x SONAME").
const prefixLen = 96

// Parser is the SQL parser the engine uses: vitess's MySQL grammar (sql.NewMysqlParser), plus
// statements registered with RegisterStatement, which are tried first. Every query first goes
// through rewriteQuery (MySQL's executable-comment rules and spellings vitess refuses) and, where
// the parsed text is returned, quoteKeywordIdentifiers; fixStatement corrects what vitess parsed,
// and checkDepth refuses a tree deeper than maxExprDepth (1436) before GMS plans it.
// It is safe for concurrent use; registrations normally happen before the server starts.
type Parser struct {
	mysql sql.Parser

	mu    sync.RWMutex
	stmts []registeredStatement
	regs  atomic.Int64 // registrations made, for the insert cache

	inserts insertCache // text INSERTs parsed before (insertcache.go)
}

type registeredStatement struct {
	match MatchFunc
	build BuildFunc
}

var _ sql.Parser = (*Parser)(nil)

// NewParser returns a Parser with no registered statements.
func NewParser() *Parser {
	return &Parser{mysql: sql.NewMysqlParser()}
}

// RegisterStatement adds a statement form to the parser: every statement whose normalized
// prefix satisfies match is built by build instead of the MySQL grammar. Registrations are
// tried in the order they were made; the first match wins. Example, for the plugins package:
//
//	p.RegisterStatement(
//		func(prefix string) bool { return strings.HasPrefix(prefix, "INSTALL PLUGIN ") },
//		func(ctx *sql.Context, query string) (ast.Statement, error) { … })
func (p *Parser) RegisterStatement(match MatchFunc, build BuildFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stmts = append(p.stmts, registeredStatement{match: match, build: build})
	p.regs.Add(1)
}

// lookup returns the build function registered for statement s, or nil.
func (p *Parser) lookup(s string) BuildFunc {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.stmts) == 0 {
		return nil
	}
	prefix := NormalizedPrefix(s)
	for _, r := range p.stmts {
		if r.match(prefix) {
			return r.build
		}
	}
	return nil
}

// ParseSimple implements sql.Parser.
func (p *Parser) ParseSimple(query string) (ast.Statement, error) {
	query = quoteKeywordIdentifiers(rewriteQuery(query))
	if build := p.lookup(query); build != nil {
		return runBuild(build, sql.NewContext(context.Background()), sql.RemoveSpaceAndDelimiter(query, ';'))
	}
	stmt, err := p.mysql.ParseSimple(query)
	return checkDepth(fixStatement(stmt, query), query), err
}

// Parse implements sql.Parser.
func (p *Parser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	return p.ParseWithOptions(ctx, query, ';', multi, sql.LoadSqlMode(ctx).ParserOptions())
}

// ParseWithOptions implements sql.Parser.
func (p *Parser) ParseWithOptions(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions) (ast.Statement, string, string, error) {
	sc, candidate := scanInsert(query, delimiter, options)
	if candidate {
		regs := p.regs.Load()
		if stmt, ok := p.inserts.answer(sc, regs); ok {
			return stmt, sc.parsed, "", nil
		}
		stmt, parsed, remainder, err := p.parseFull(ctx, query, delimiter, multi, options)
		if err == nil && remainder == "" {
			p.inserts.observe(sc, stmt, parsed, regs)
		}
		return stmt, parsed, remainder, err
	}
	return p.parseFull(ctx, query, delimiter, multi, options)
}

// parseFull is ParseWithOptions without the insert cache.
func (p *Parser) parseFull(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions) (ast.Statement, string, string, error) {
	query = quoteKeywordIdentifiers(rewriteQuery(query))
	if build := p.lookup(query); build != nil {
		s := sql.RemoveSpaceAndDelimiter(query, delimiter)
		parsed, remainder := s, ""
		if multi {
			if end := statementEnd(s, delimiter); end < len(s) {
				parsed, remainder = sql.RemoveSpaceAndDelimiter(s[:end], delimiter), s[end+1:]
			}
		}
		stmt, err := runBuild(build, sqlContext(ctx), parsed)
		return stmt, parsed, remainder, err
	}
	stmt, parsed, remainder, err := p.mysql.ParseWithOptions(ctx, query, delimiter, multi, options)
	return checkDepth(fixStatement(stmt, parsed), parsed), parsed, remainder, err
}

// ParseOneWithOptions implements sql.Parser.
func (p *Parser) ParseOneWithOptions(ctx context.Context, query string, options ast.ParserOptions) (ast.Statement, int, error) {
	query = rewriteQuery(query)
	if build := p.lookup(query); build != nil {
		end := statementEnd(query, ';')
		stmt, err := runBuild(build, sqlContext(ctx), sql.RemoveSpaceAndDelimiter(query[:end], ';'))
		if end < len(query) {
			end++ // the next statement starts after the delimiter
		}
		return stmt, end, err
	}
	stmt, end, err := p.mysql.ParseOneWithOptions(ctx, query, options)
	text := query[:min(end, len(query))]
	if err == nil {
		// The caller (PREPARE among them) reports this error as it is.
		err = depthError(stmt, text)
	}
	return fixStatement(stmt, text), end, err
}

// runBuild calls build. A *mysql.SQLError it returns becomes a statement that fails with it:
// GMS turns every parse error into a syntax error and would lose the code.
func runBuild(build BuildFunc, ctx *sql.Context, query string) (ast.Statement, error) {
	stmt, err := build(ctx, query)
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return Statement(query, nil, NoAuth, func(*sql.Context) ([]sql.Row, error) { return nil, se }), nil
	}
	return stmt, err
}

// sqlContext returns ctx as a *sql.Context, which it is whenever the engine parses a client's
// statement, or a fresh context around it otherwise.
func sqlContext(ctx context.Context) *sql.Context {
	if c, ok := ctx.(*sql.Context); ok {
		return c
	}
	return sql.NewContext(ctx)
}

// NormalizedPrefix returns the start of statement s as registrations match it: leading white
// space and comments (/* … */, -- …, # …) dropped, every run of white space or comments
// folded into one space, letters upper-cased, cut at prefixLen bytes. Quoted text is kept
// (upper-cased too). Executable comments (/*! … */) are dropped like any other comment.
func NormalizedPrefix(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s) && b.Len() < prefixLen; {
		if n := commentLen(s[i:]); n > 0 {
			i += n
			space = true
			continue
		}
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			i++
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
		i++
	}
	out := b.String()
	if len(out) > prefixLen {
		out = out[:prefixLen]
	}
	return out
}

// commentLen returns the length of the comment that starts s, or 0.
func commentLen(s string) int {
	switch {
	case strings.HasPrefix(s, "/*"):
		if end := strings.Index(s[2:], "*/"); end >= 0 {
			return end + 4
		}
		return len(s)
	case strings.HasPrefix(s, "#"), strings.HasPrefix(s, "-- "), strings.HasPrefix(s, "--\t"), s == "--":
		if end := strings.IndexByte(s, '\n'); end >= 0 {
			return end + 1
		}
		return len(s)
	}
	return 0
}

// statementEnd returns the index of the first delimiter in s outside quotes and comments, or
// len(s) when s holds one statement.
func statementEnd(s string, delimiter rune) int {
	for i := 0; i < len(s); {
		if n := commentLen(s[i:]); n > 0 {
			i += n
			continue
		}
		switch c := s[i]; c {
		case '\'', '"', '`':
			i = quoteEnd(s, i)
			continue
		default:
			if rune(c) == delimiter {
				return i
			}
		}
		i++
	}
	return len(s)
}

// quoteEnd returns the index just past the quoted string that opens at s[start]. A doubled quote
// or a backslash (outside backticks) escapes the next character.
func quoteEnd(s string, start int) int {
	q := s[start]
	for i := start + 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

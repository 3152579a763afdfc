package sqlserver

import (
	"strconv"
	"strings"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// mysqlVersionID is the server version executable comments are compared with: /*!NNNNN … */
// runs its text when NNNNN ≤ this, as in MySQL 8.0.40.
const mysqlVersionID = 80040

// rewriteQuery returns query with what the vitess grammar gets wrong about MySQL 8.0's lexer
// fixed, keeping every byte offset (each change replaces text with as many spaces), so the
// parser's positions and remainders stay valid:
//
//   - /*M!NNNNN … */ is MariaDB's executable comment; MySQL's lexer sees an ordinary comment
//     (vitess runs its text). mariadb-dump writes them (`/*M!999999\- enable the sandbox mode */`).
//   - /*!NNNNN … */ runs only when NNNNN ≤ mysqlVersionID (vitess runs every one).
//   - FLUSH LOCAL … and FLUSH NO_WRITE_TO_BINLOG … are FLUSH …: the keyword only keeps the
//     statement out of the binlog, and semisyncd does not binlog FLUSH TABLES (GMS refuses
//     "LOCAL not supported"; dump tools send FLUSH /*!40101 LOCAL */ TABLES).
//   - YEAR(4) in a column definition of CREATE/ALTER TABLE is YEAR (MySQL 8.0 accepts the
//     deprecated display width; vitess refuses it with 1064).
//
// Text inside quotes is never changed. The result is query itself when nothing changed.
func rewriteQuery(query string) string {
	if !strings.ContainsAny(query, "/fFyY") {
		return query
	}
	var out []byte // copy on first change
	change := func(from, to int, with string) {
		if out == nil {
			out = []byte(query)
		}
		copy(out[from:to], with)
		for i := from + len(with); i < to; i++ {
			out[i] = ' '
		}
	}
	toks := scanTokens(query, change)
	stmtStart := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].text != ";" {
			continue
		}
		rewriteStatement(query, toks[stmtStart:i], change)
		stmtStart = i + 1
	}
	if out == nil {
		return query
	}
	return string(out)
}

// lexToken is one lexical token of a query: its text and where it starts.
type lexToken struct {
	text string
	pos  int
}

// scanTokens splits query into tokens (words, quoted strings, single punctuation characters),
// skipping white space and comments. The text of an executable comment that runs is scanned
// as tokens; one that does not run, and every /*M! comment, is turned into an ordinary comment
// through change.
func scanTokens(q string, change func(from, to int, with string)) []lexToken {
	var toks []lexToken
	inExec := false // inside an executable comment whose text runs
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case inExec && strings.HasPrefix(q[i:], "*/"):
			inExec = false
			i += 2
		case strings.HasPrefix(q[i:], "/*M!"):
			change(i+2, i+4, "") // an ordinary comment to MySQL
			i += commentLen(q[i:])
		case strings.HasPrefix(q[i:], "/*!") && !inExec:
			digits := 0
			for digits < 6 && i+3+digits < len(q) && '0' <= q[i+3+digits] && q[i+3+digits] <= '9' {
				digits++
			}
			if digits == 6 && (i+9 >= len(q) || !isSpace(q[i+9])) {
				digits = 5
			}
			if digits >= 5 {
				v, _ := strconv.Atoi(q[i+3 : i+3+digits])
				if v > mysqlVersionID {
					change(i+2, i+3, "")
					i += commentLen(q[i:])
					continue
				}
			}
			if !strings.Contains(q[i+3:], "*/") {
				i = len(q)
				continue
			}
			inExec = true
			i += 3 + digits
		case strings.HasPrefix(q[i:], "/*"), c == '#', strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || isSpace(q[i+2])):
			i += commentLen(q[i:])
		case c == '\'' || c == '"' || c == '`':
			end := quoteEnd(q, i)
			toks = append(toks, lexToken{q[i:end], i})
			i = end
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			toks = append(toks, lexToken{q[i:j], i})
			i = j
		default:
			toks = append(toks, lexToken{q[i : i+1], i})
			i++
		}
	}
	return toks
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// yearFunctionContext lists words after which YEAR(4) is a function call, not a column type.
var yearFunctionContext = map[string]bool{
	"AS": true, "DEFAULT": true, "AND": true, "OR": true, "NOT": true, "WHEN": true, "THEN": true,
	"ELSE": true, "SELECT": true, "WHERE": true, "RETURN": true, "XOR": true, "IN": true, "BY": true,
}

// rewriteStatement applies the statement-level rewrites of rewriteQuery to one statement's
// tokens.
func rewriteStatement(q string, toks []lexToken, change func(from, to int, with string)) {
	if len(toks) < 2 {
		return
	}
	first := strings.ToUpper(toks[0].text)
	switch first {
	case "FLUSH":
		if w := strings.ToUpper(toks[1].text); w == "LOCAL" || w == "NO_WRITE_TO_BINLOG" {
			change(toks[1].pos, toks[1].pos+len(toks[1].text), "")
		}
	case "CREATE", "ALTER":
		for i := 1; i+3 < len(toks); i++ {
			if !strings.EqualFold(toks[i].text, "YEAR") || toks[i+1].text != "(" || toks[i+2].text != "4" || toks[i+3].text != ")" {
				continue
			}
			prev := toks[i-1].text
			if !isWordByte(prev[0]) && prev[0] != '`' || yearFunctionContext[strings.ToUpper(prev)] {
				continue
			}
			change(toks[i+1].pos, toks[i+3].pos+1, "")
		}
	}
}

// fixStatement corrects a statement vitess parsed from query where vitess or GMS reads it
// differently from MySQL:
//
//   - SET NAMES cs COLLATE coll also sets collation_connection to coll (vitess drops the
//     COLLATE clause, so the connection kept cs's default collation);
//   - SHOW TRIGGERS FROM db (or IN db) lists db's triggers; GMS takes the current database and
//     only falls back to db when there is none (registerCompatStatements runs it with db as the
//     current database; this covers the parser paths registrations do not see);
//   - SHOW GRANTS and SHOW GRANTS FOR CURRENT_USER need no privilege (vitess asks SELECT on
//     mysql for every form); SHOW GRANTS FOR an account is checked by accessDeniedHandler
//     (authShowGrantsFor).
func fixStatement(stmt ast.Statement, query string) ast.Statement {
	switch s := stmt.(type) {
	case *ast.ShowGrants:
		if s.For == nil || s.CurrentUser {
			s.Auth = NoAuth
		} else {
			s.Auth = ast.AuthInformation{AuthType: authShowGrantsFor, TargetNames: []string{s.For.Name}}
		}
	case *ast.Show:
		if strings.EqualFold(s.Type, "triggers") && s.ShowTablesOpt != nil && s.ShowTablesOpt.DbName != "" && s.Table.DbQualifier.IsEmpty() {
			s.Table.DbQualifier = ast.NewTableIdent(s.ShowTablesOpt.DbName)
		}
	case *ast.Set:
		for i, e := range s.Exprs {
			if e.Name == nil || !strings.EqualFold(e.Name.String(), "names") {
				continue
			}
			if coll := setNamesCollation(query); coll != "" {
				c := &ast.SetVarExpr{Name: ast.NewColName("collation_connection"), Scope: e.Scope,
					Expr: &ast.SQLVal{Type: ast.StrVal, Val: []byte(coll)}}
				s.Exprs = append(s.Exprs[:i+1], append(ast.SetVarExprs{c}, s.Exprs[i+1:]...)...)
			}
			break
		}
	}
	return stmt
}

// setNamesCollation returns coll of "SET NAMES cs COLLATE coll" in query, or "".
func setNamesCollation(query string) string {
	toks := scanTokens(query, func(int, int, string) {})
	for i := 0; i+3 < len(toks); i++ {
		if strings.EqualFold(toks[i].text, "NAMES") && strings.EqualFold(toks[i+2].text, "COLLATE") {
			c := toks[i+3].text
			if len(c) >= 2 && (c[0] == '\'' || c[0] == '"') {
				c = c[1 : len(c)-1]
			}
			return unquoteIdentifier(c)
		}
	}
	return ""
}

// keywordIdentifiers are words MySQL 8.0 accepts as bare identifiers that the vitess grammar
// only knows as keywords, each with the test for the statement context where vitess needs the
// keyword (given the statement's tokens before the word).
var keywordIdentifiers = map[string]func(before []lexToken) bool{
	"PLAN":   explainPrefix,                                            // EXPLAIN … PLAN
	"LOCKED": func(b []lexToken) bool { return lastWordIs(b, "SKIP") }, // … SKIP LOCKED
}

// lastWordIs reports whether the last of toks is the keyword w.
func lastWordIs(toks []lexToken, w string) bool {
	return len(toks) > 0 && strings.EqualFold(toks[len(toks)-1].text, w)
}

// quoteKeywordIdentifiers backquotes the bare words of keywordIdentifiers where they are
// identifiers (CREATE TABLE t (plan int), SELECT plan FROM t, CREATE DATABASE locked), so vitess
// parses them: PLAN is not even a keyword in MySQL 8.0 and LOCKED is a non-reserved one, but
// vitess reserves them for EXPLAIN PLAN and SKIP LOCKED. Unlike rewriteQuery
// this changes the query's length, so it is applied only where the text parsed is what is
// returned (ParseSimple, ParseWithOptions, the listener's COM_STMT_PREPARE), not in
// ParseOneWithOptions, whose caller slices the original text with the returned offset.
func quoteKeywordIdentifiers(query string) string {
	query = rewriteForShare(query)
	if !containsFold(query, "plan") && !containsFold(query, "locked") {
		return query
	}
	toks := scanTokens(query, func(int, int, string) {})
	var b strings.Builder
	last := 0
	stmtStart := 0
	for i, t := range toks {
		if t.text == ";" {
			stmtStart = i + 1
			continue
		}
		keep, ok := keywordIdentifiers[strings.ToUpper(t.text)]
		if !ok {
			continue
		}
		if i > 0 && (toks[i-1].text == "@" || toks[i-1].pos+1 == t.pos && toks[i-1].text == "`") {
			continue
		}
		if keep(toks[stmtStart:i]) {
			continue
		}
		b.WriteString(query[last:t.pos])
		b.WriteString("`" + t.text + "`")
		last = t.pos + len(t.text)
	}
	if last == 0 {
		return query
	}
	b.WriteString(query[last:])
	return b.String()
}

// explainPrefix reports whether toks are the start of EXPLAIN/DESCRIBE up to where vitess
// expects PLAN: EXPLAIN [EXTENDED | ANALYZE] [FORMAT = x].
func explainPrefix(toks []lexToken) bool {
	if len(toks) == 0 {
		return false
	}
	switch strings.ToUpper(toks[0].text) {
	case "EXPLAIN", "DESCRIBE", "DESC":
	default:
		return false
	}
	for _, t := range toks[1:] {
		switch strings.ToUpper(t.text) {
		case "EXTENDED", "ANALYZE", "FORMAT", "=", "TREE", "JSON", "TRADITIONAL":
		default:
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case ASCII word w in any case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for j < len(w) && s[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// rewriteForShare spells MySQL 8.0's locking clause FOR SHARE [NOWAIT | SKIP LOCKED] as
// LOCK IN SHARE MODE, the form vitess parses (it has no FOR SHARE). NOWAIT and SKIP LOCKED
// are dropped from the parsed text: the engine reads them, as it reads the lock mode, from the
// statement's own text (storage Session.lockingRead). A quoted `share` is left alone.
func rewriteForShare(query string) string {
	if !containsFold(query, "share") {
		return query
	}
	toks := scanTokens(query, func(int, int, string) {})
	var b strings.Builder
	last := 0
	for i := 0; i+1 < len(toks); i++ {
		if !strings.EqualFold(toks[i].text, "FOR") || !strings.EqualFold(toks[i+1].text, "SHARE") ||
			(toks[i].pos > 0 && query[toks[i].pos-1] == '`') {
			continue
		}
		end := i + 2
		switch {
		case end < len(toks) && strings.EqualFold(toks[end].text, "NOWAIT"):
			end++
		case end+1 < len(toks) && strings.EqualFold(toks[end].text, "SKIP") && strings.EqualFold(toks[end+1].text, "LOCKED"):
			end += 2
		}
		stop, with := len(query), "LOCK IN SHARE MODE"
		if end < len(toks) {
			stop, with = toks[end].pos, with+" "
		}
		b.WriteString(query[last:toks[i].pos])
		b.WriteString(with)
		last = stop
		i = end - 1
	}
	if last == 0 {
		return query
	}
	b.WriteString(query[last:])
	return b.String()
}

package plugins

// The SQL surface: parsing INSTALL PLUGIN and UNINSTALL PLUGIN (the vitess grammar has no
// INSTALL, UNINSTALL or SONAME; the server registers them through its parser hook), the rows
// of SHOW PLUGINS and of information_schema.PLUGINS (GMS's table is always empty), and the
// privilege check of INSTALL and UNINSTALL.

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// mayWritePluginTable returns MySQL's 1142 when ctx's account lacks priv on mysql.plugin
// (globally, on the mysql database or on the table). Contexts without an account are the
// server's own and may.
func mayWritePluginTable(ctx *sql.Context, db *mysql_db.MySQLDb, priv sql.PrivilegeType, command string) error {
	if db == nil || !db.Enabled() || ctx == nil || ctx.Session == nil || ctx.Session.Client().User == "" {
		return nil
	}
	set := db.UserActivePrivilegeSet(ctx)
	mysqlDB := set.Database("mysql")
	if set.Has(priv) || mysqlDB.Has(priv) || mysqlDB.Table("plugin").Has(priv) {
		return nil
	}
	client := ctx.Session.Client()
	account := fmt.Sprintf("'%s'@'%s'", client.User, client.Address)
	rd := db.Reader()
	if u := db.GetUser(rd, client.User, client.Address, false); u != nil {
		account = u.UserHostToString("'")
	}
	rd.Close()
	return errTableAccessDenied(command, account)
}

// ShowPluginsSchema is the result of SHOW PLUGINS: MySQL's five columns.
var ShowPluginsSchema = sql.Schema{
	{Name: "Name", Type: types.MustCreateString(sqltypes.VarChar, 64, sql.Collation_Information_Schema_Default)},
	{Name: "Status", Type: types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_Information_Schema_Default)},
	{Name: "Type", Type: types.MustCreateString(sqltypes.VarChar, 80, sql.Collation_Information_Schema_Default)},
	{Name: "Library", Type: types.MustCreateString(sqltypes.VarChar, 64, sql.Collation_Information_Schema_Default), Nullable: true},
	{Name: "License", Type: types.MustCreateString(sqltypes.VarChar, 80, sql.Collation_Information_Schema_Default)},
}

// ShowPlugins returns the rows of SHOW PLUGINS (ShowPluginsSchema): one per loaded plugin, in
// load order.
func (r *Registry) ShowPlugins() []sql.Row {
	var rows []sql.Row
	for _, p := range r.Loaded() {
		rows = append(rows, sql.NewRow(p.Name, PluginStatus, PluginType, p.Library, PluginLicense))
	}
	return rows
}

// informationSchemaColumns is MySQL's information_schema.PLUGINS (GMS's schema, which it does
// not export).
var informationSchemaColumns = []struct {
	name     string
	length   int64
	nullable bool
}{
	{"PLUGIN_NAME", 64, false}, {"PLUGIN_VERSION", 20, false}, {"PLUGIN_STATUS", 10, false},
	{"PLUGIN_TYPE", 80, false}, {"PLUGIN_TYPE_VERSION", 20, false}, {"PLUGIN_LIBRARY", 64, true},
	{"PLUGIN_LIBRARY_VERSION", 20, true}, {"PLUGIN_AUTHOR", 64, true}, {"PLUGIN_DESCRIPTION", 65535, true},
	{"PLUGIN_LICENSE", 80, true}, {"LOAD_OPTION", 64, false},
}

// InformationSchemaTable returns information_schema.PLUGINS with a row per loaded plugin, to
// put in information_schema.NewInformationSchemaTablesToAdd before the engine's catalog is
// built (docs/gms-notes.md §7). SHOW PLUGINS does not use it.
func (r *Registry) InformationSchemaTable() *information_schema.InformationSchemaTable {
	schema := make(sql.Schema, len(informationSchemaColumns))
	for i, c := range informationSchemaColumns {
		schema[i] = &sql.Column{
			Name:     c.name,
			Type:     types.MustCreateString(sqltypes.VarChar, c.length, sql.Collation_Information_Schema_Default),
			Nullable: c.nullable,
			Source:   information_schema.PluginsTableName,
		}
	}
	return &information_schema.InformationSchemaTable{
		TableName:   information_schema.PluginsTableName,
		TableSchema: schema,
		Reader: func(*sql.Context, sql.Catalog) (sql.RowIter, error) {
			var rows []sql.Row
			for _, p := range r.Loaded() {
				rows = append(rows, sql.NewRow(p.Name, PluginVersion, PluginStatus, PluginType, PluginTypeVersion,
					p.Library, LibraryVersion, PluginAuthor, p.Description, PluginLicense, LoadOption))
			}
			return sql.RowsToRowIter(rows...), nil
		},
	}
}

// errSyntax is a syntax error in vitess's form, "syntax error at position N near 'tok'" (N just
// past the token; no near at the end of the statement), which the server turns into MySQL's
// 1064 text.
func errSyntax(t token) error {
	if t.kind == tokEnd {
		return fmt.Errorf("syntax error at position %d", t.end)
	}
	return fmt.Errorf("syntax error at position %d near '%s'", t.end, t.text)
}

// errNotSupported is MySQL's 1235 for a statement form semisyncd does not have.
func errNotSupported(what string) error {
	return mysql.NewSQLError(erNotSupportedYet, stateSyntaxOrAccess, "This version of MySQL doesn't yet support '%s'", what)
}

// ParseInstall parses INSTALL PLUGIN name SONAME 'library' (the statement without its
// delimiter). A malformed statement gets vitess's syntax error form, "syntax error at position
// N near 'token'", which the server reports as MySQL's 1064; INSTALL COMPONENT gets 1235.
func ParseInstall(query string) (name, soname string, err error) {
	lx := lexer{s: query}
	lx.next() // INSTALL
	switch t := lx.next(); {
	case t.isWord("COMPONENT"):
		return "", "", errNotSupported("INSTALL COMPONENT")
	case !t.isWord("PLUGIN"):
		return "", "", errSyntax(t)
	}
	n := lx.next()
	if n.kind != tokWord && n.kind != tokQuotedIdent {
		return "", "", errSyntax(n)
	}
	if t := lx.next(); !t.isWord("SONAME") {
		return "", "", errSyntax(t)
	}
	lib := lx.next()
	if lib.kind != tokString {
		return "", "", errSyntax(lib)
	}
	if t := lx.next(); t.kind != tokEnd {
		return "", "", errSyntax(t)
	}
	return n.value, lib.value, nil
}

// ParseUninstall parses UNINSTALL PLUGIN name, with ParseInstall's errors.
func ParseUninstall(query string) (name string, err error) {
	lx := lexer{s: query}
	lx.next() // UNINSTALL
	switch t := lx.next(); {
	case t.isWord("COMPONENT"):
		return "", errNotSupported("UNINSTALL COMPONENT")
	case !t.isWord("PLUGIN"):
		return "", errSyntax(t)
	}
	n := lx.next()
	if n.kind != tokWord && n.kind != tokQuotedIdent {
		return "", errSyntax(n)
	}
	if t := lx.next(); t.kind != tokEnd {
		return "", errSyntax(t)
	}
	return n.value, nil
}

type tokKind int

const (
	tokEnd         tokKind = iota
	tokWord                // an unquoted identifier or keyword
	tokQuotedIdent         // `identifier`
	tokString              // 'text' or "text"
	tokOther               // any other character
)

// token is one token of a statement: its kind, its text as written, its value (the unquoted
// identifier or string) and where it ends.
type token struct {
	kind        tokKind
	text, value string
	end         int
}

func (t token) isWord(w string) bool { return t.kind == tokWord && strings.EqualFold(t.text, w) }

// lexer splits the few statements this package parses into MySQL tokens.
type lexer struct {
	s   string
	pos int
}

func isIdentChar(c rune) bool {
	return c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80
}

// skip moves past white space and comments.
func (l *lexer) skip() {
	for l.pos < len(l.s) {
		rest := l.s[l.pos:]
		switch {
		case strings.ContainsRune(" \t\r\n\f\v", rune(rest[0])):
			l.pos++
		case strings.HasPrefix(rest, "/*"):
			if end := strings.Index(rest[2:], "*/"); end >= 0 {
				l.pos += end + 4
			} else {
				l.pos = len(l.s)
			}
		case rest[0] == '#' || strings.HasPrefix(rest, "-- ") || strings.HasPrefix(rest, "--\t") || rest == "--":
			if end := strings.IndexByte(rest, '\n'); end >= 0 {
				l.pos += end + 1
			} else {
				l.pos = len(l.s)
			}
		default:
			return
		}
	}
}

// next returns the next token.
func (l *lexer) next() token {
	l.skip()
	start := l.pos
	if start >= len(l.s) {
		return token{kind: tokEnd, end: start}
	}
	switch c := l.s[start]; {
	case c == '`':
		value, ok := l.quoted('`', false)
		return token{kind: quotedKind(tokQuotedIdent, ok), text: l.s[start:l.pos], value: value, end: l.pos}
	case c == '\'' || c == '"':
		value, ok := l.quoted(c, true)
		return token{kind: quotedKind(tokString, ok), text: l.s[start:l.pos], value: value, end: l.pos}
	case isIdentChar(rune(c)):
		end := start
		for end < len(l.s) && isIdentChar(rune(l.s[end])) {
			end++
		}
		l.pos = end
		return token{kind: tokWord, text: l.s[start:end], value: l.s[start:end], end: end}
	default:
		l.pos++
		return token{kind: tokOther, text: l.s[start:l.pos], end: l.pos}
	}
}

// quotedKind is kind for a closed quoted token, tokOther (a syntax error) for an unclosed one.
func quotedKind(kind tokKind, closed bool) tokKind {
	if closed {
		return kind
	}
	return tokOther
}

// quoted reads a quoted token that starts at l.pos and moves past it: a doubled quote stands
// for the quote and, in strings, a backslash escapes the next character as MySQL's string
// literals do. It returns the unquoted value and whether the closing quote was found.
func (l *lexer) quoted(q byte, escapes bool) (string, bool) {
	var b strings.Builder
	i := l.pos + 1
	for i < len(l.s) {
		c := l.s[i]
		switch {
		case c == q && i+1 < len(l.s) && l.s[i+1] == q:
			b.WriteByte(q)
			i += 2
		case c == q:
			l.pos = i + 1
			return b.String(), true
		case escapes && c == '\\' && i+1 < len(l.s):
			b.WriteString(unescape(l.s[i+1]))
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	l.pos = len(l.s) // unterminated: the whole rest is the token
	return b.String(), false
}

// unescape is the character a backslash escape in a MySQL string stands for.
func unescape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return "\\" + string(c)
	}
	return string(c)
}

package sqlserver

import (
	"context"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

func TestNormalizedPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"install plugin rpl_semi_sync_source soname 'semisync_source.so'": "INSTALL PLUGIN RPL_SEMI_SYNC_SOURCE SONAME 'SEMISYNC_SOURCE.SO'",
		"  \n\tInstall   /* c */ PLUGIN\nx":                               "INSTALL PLUGIN X",
		"/* lead */ -- line\n# hash\nSHOW  replicas":                      "SHOW REPLICAS",
		"/*! executable */ SELECT 1":                                      "SELECT 1",
		"select/**/1":                                                     "SELECT 1",
		"":                                                                "",
		"/* never closed":                                                 "",
	} {
		if got := NormalizedPrefix(in); got != want {
			t.Errorf("NormalizedPrefix(%q) = %q, want %q", in, got, want)
		}
	}
	if got := NormalizedPrefix(strings.Repeat("a ", 200)); len(got) > prefixLen {
		t.Errorf("prefix of %d bytes, longer than %d", len(got), prefixLen)
	}
}

func TestStatementEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"A; B", 1},
		{"A", 1},
		{"A 'x;y'; B", 7},
		{`A "x;y" ; B`, 8},
		{"A `x;y`; B", 7},
		{`A 'it''s;' ; B`, 11},
		{`A 'a\';b'; B`, 9},
		{"A /* ; */ ; B", 10},
		{"A -- ;\n; B", 7},
		{"A 'never closed;", 16},
	} {
		if got := statementEnd(tc.in, ';'); got != tc.want {
			t.Errorf("statementEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// fakeStatement is what the test registration builds.
type fakeStatement struct {
	ast.InjectedStatement
	text string
}

func TestParserRegistration(t *testing.T) {
	p := NewParser()
	var built []string
	p.RegisterStatement(
		func(prefix string) bool { return strings.HasPrefix(prefix, "INSTALL PLUGIN ") },
		func(ctx *sql.Context, query string) (ast.Statement, error) {
			built = append(built, query)
			return fakeStatement{text: query}, nil
		})
	ctx := sql.NewEmptyContext()

	stmt, parsed, rest, err := p.ParseWithOptions(ctx, "install plugin x soname 'a;b.so'; SELECT 1", ';', true, ast.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := stmt.(fakeStatement); !ok || f.text != "install plugin x soname 'a;b.so'" {
		t.Errorf("statement %#v", stmt)
	}
	if parsed != "install plugin x soname 'a;b.so'" || rest != " SELECT 1" {
		t.Errorf("parsed %q, remainder %q", parsed, rest)
	}

	stmt, _, rest, err = p.ParseWithOptions(ctx, strings.TrimSpace(rest), ';', true, ast.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stmt.(*ast.Select); !ok || rest != "" {
		t.Errorf("SELECT 1 parsed as %T, remainder %q", stmt, rest)
	}

	if _, err := p.ParseSimple("INSTALL PLUGIN y SONAME 'y.so';"); err != nil {
		t.Fatal(err)
	}
	stmt, next, err := p.ParseOneWithOptions(context.Background(), "INSTALL PLUGIN z SONAME 'z.so'; SELECT 2", ast.ParserOptions{})
	if err != nil || next != len("INSTALL PLUGIN z SONAME 'z.so';") {
		t.Errorf("ParseOneWithOptions: next %d, %v", next, err)
	}
	if f, ok := stmt.(fakeStatement); !ok || f.text != "INSTALL PLUGIN z SONAME 'z.so'" {
		t.Errorf("ParseOneWithOptions statement %#v", stmt)
	}
	if want := []string{"install plugin x soname 'a;b.so'", "INSTALL PLUGIN y SONAME 'y.so'", "INSTALL PLUGIN z SONAME 'z.so'"}; strings.Join(built, "|") != strings.Join(want, "|") {
		t.Errorf("built %q, want %q", built, want)
	}

	if _, _, _, err := p.Parse(ctx, "INSTALL COMPONENT 'x'", false); err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("an unregistered statement reached the MySQL grammar: %v", err)
	}
}

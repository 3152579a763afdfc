package sqlserver

import (
	"fmt"
	"strings"
	"testing"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// TestScanInsert: the lexer takes the statements it understands exactly, with their
// literals, and leaves everything else to the parser.
func TestScanInsert(t *testing.T) {
	for _, tc := range []struct {
		q    string
		lits []insertLit // nil: refused
	}{
		{"INSERT INTO t (id, c) VALUES (1, 'a')", []insertLit{{'i', "1"}, {'s', "a"}}},
		{"  insert into `t` values (10,'x y'),(-3, 2.50);  ", []insertLit{{'i', "10"}, {'s', "x y"}, {'i', "-3"}, {'d', "2.50"}}},
		{"REPLACE INTO t VALUES (NULL, 'é')", []insertLit{{'s', "é"}}},
		{"INSERT INTO t VALUES (1, '')", []insertLit{{'i', "1"}, {'s', ""}}},
		{"INSERT INTO t VALUES (1 - 2)", nil},                           // '-' not after ( or ,
		{"INSERT INTO t VALUES ('a\\'b')", nil},                         // backslash escape
		{"INSERT INTO t VALUES ('it''s')", nil},                         // doubled quote
		{`INSERT INTO t VALUES ("a")`, nil},                             // double quotes depend on ANSI_QUOTES
		{"INSERT INTO t VALUES (0x1F)", nil},                            // hexadecimal
		{"INSERT INTO t VALUES (1e5)", nil},                             // exponent
		{"INSERT INTO t VALUES (?)", nil},                               // placeholder
		{"INSERT INTO t VALUES (@v)", nil},                              // user variable
		{"INSERT INTO t VALUES (1); DROP TABLE t", nil},                 // a second statement
		{"INSERT /* c */ INTO t VALUES (1)", nil},                       // comment
		{"INSERT INTO t VALUES (1) -- c", nil},                          // comment
		{"INSERT INTO t VALUES (1) # c", nil},                           // comment
		{"INSERT INTO t VALUES (_utf8mb4'a')", []insertLit{{'s', "a"}}}, // an introducer scans as a word and a string; cacheableInsert refuses the parse
		{"INSERT INTO `a``b` VALUES (1)", nil},                          // escaped backquote
		{"SELECT 1", nil},
		{"INSERTX INTO t VALUES (1)", nil},
		{"INSERT INTO t VALUES (1.2.3)", nil},
	} {
		sc, ok := scanInsert(tc.q, ';', ast.ParserOptions{})
		if tc.lits == nil {
			if ok {
				t.Errorf("%q: accepted with %v, want refused", tc.q, sc.lits)
			}
			continue
		}
		if !ok {
			t.Errorf("%q: refused", tc.q)
			continue
		}
		if fmt.Sprint(sc.lits) != fmt.Sprint(tc.lits) {
			t.Errorf("%q: literals %v, want %v", tc.q, sc.lits, tc.lits)
		}
		if sc.parsed != strings.TrimRight(strings.TrimSpace(tc.q), "; ") {
			t.Errorf("%q: parsed %q", tc.q, sc.parsed)
		}
	}
	// What the lexer takes but the parser builds otherwise is never made a template.
	for _, q := range []string{"INSERT INTO t VALUES (_utf8mb4'a')", "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 2",
		"INSERT INTO t VALUES (CONCAT('a', 'b'))"} {
		sc, ok := scanInsert(q, ';', ast.ParserOptions{})
		if !ok {
			t.Fatalf("%q refused by the lexer", q)
		}
		stmt, _, _, err := NewParser().parseFull(t.Context(), q, ';', false, ast.ParserOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ins, ok := stmt.(*ast.Insert); !ok || cacheableInsert(ins, sc.lits) {
			t.Errorf("%q: cacheable", q)
		}
	}
	// Shapes: the same text with other literals has one key; other options or text another.
	a, _ := scanInsert("INSERT INTO t VALUES (1, 'a')", ';', ast.ParserOptions{})
	b, _ := scanInsert("INSERT INTO t VALUES (22, 'bbb')", ';', ast.ParserOptions{})
	c, _ := scanInsert("INSERT INTO t VALUES (1, 'a')", ';', ast.ParserOptions{AnsiQuotes: true})
	d, _ := scanInsert("INSERT INTO u VALUES (1, 'a')", ';', ast.ParserOptions{})
	e, _ := scanInsert("INSERT INTO t VALUES (1, 2)", ';', ast.ParserOptions{})
	if a.key != b.key || a.key == c.key || a.key == d.key || a.key == e.key {
		t.Errorf("shape keys: %q %q %q %q %q", a.key, b.key, c.key, d.key, e.key)
	}
}

// TestInsertCacheAnswersTextInserts: text INSERTs of one shape are answered from a template
// after two parses, and every row holds exactly the values its statement wrote; shapes the
// parser builds differently (an introducer, ON DUPLICATE KEY UPDATE, a function) are never
// answered, and work.
func TestInsertCacheAnswersTextInserts(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE ic", "USE ic",
		"CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT, c VARCHAR(40), d DECIMAL(6,2))")
	cache := &s.parser.inserts
	before := cache.hits.Load()
	want := map[int]string{}
	for i := 1; i <= 40; i++ {
		k, c := i*7-100, fmt.Sprintf("row-%d é", i)
		d := fmt.Sprintf("%d.%02d", i, i%100)
		q := fmt.Sprintf("INSERT INTO t (id, k, c, d) VALUES (%d, %d, '%s', %s)", i, k, c, d)
		if i%5 == 0 {
			q = fmt.Sprintf("INSERT INTO t (id, k, c, d) VALUES (0, %d, '%s', %s)", k, c, d) // AUTO_INCREMENT
		}
		res, err := db.Exec(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id, _ := res.LastInsertId()
		if i%5 != 0 && id != int64(i) {
			t.Fatalf("%s: insert id %d", q, id)
		}
		want[int(id)] = fmt.Sprintf("%d|%s|%s", k, c, d)
	}
	// multi-row with NULLs
	for i := 0; i < 5; i++ {
		base := 1000 + 10*i
		q := fmt.Sprintf("INSERT INTO t VALUES (%d, NULL, 'm%d', NULL), (%d, %d, NULL, 1.50)", base, i, base+1, i)
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		want[base] = fmt.Sprintf("NULL|m%d|NULL", i)
		want[base+1] = fmt.Sprintf("%d|NULL|1.50", i)
	}
	if got := cache.hits.Load() - before; got < 38 {
		t.Fatalf("%d of 45 text INSERTs answered from templates, want ≥ 38", got)
	}
	// Shapes the cache must leave to the parser.
	mustExec(t, db,
		"INSERT INTO t (id, c) VALUES (2001, _utf8mb4'x')", "INSERT INTO t (id, c) VALUES (2002, _utf8mb4'y')",
		"INSERT INTO t (id, c) VALUES (2003, _utf8mb4'z')",
		"INSERT INTO t (id, k) VALUES (1, 5) ON DUPLICATE KEY UPDATE k = 11", "INSERT INTO t (id, k) VALUES (1, 6) ON DUPLICATE KEY UPDATE k = 12",
		"INSERT INTO t (id, k) VALUES (1, 7) ON DUPLICATE KEY UPDATE k = 13",
		"INSERT INTO t (id, c) VALUES (2004, CONCAT('a', 'b'))", "INSERT INTO t (id, c) VALUES (2005, CONCAT('c', 'd'))",
		"INSERT INTO t (id, c) VALUES (2006, CONCAT('e', 'f'))")
	want[2001], want[2002], want[2003] = "NULL|x|NULL", "NULL|y|NULL", "NULL|z|NULL"
	want[1] = "13|" + strings.SplitN(want[1], "|", 2)[1]
	want[2004], want[2005], want[2006] = "NULL|ab|NULL", "NULL|cd|NULL", "NULL|ef|NULL"

	rows, err := db.Query("SELECT id, k, c, d FROM t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]string{}
	for rows.Next() {
		var id int
		var k, c, d *string
		if err := rows.Scan(&id, &k, &c, &d); err != nil {
			t.Fatal(err)
		}
		str := func(p *string) string {
			if p == nil {
				return "NULL"
			}
			return *p
		}
		got[id] = str(k) + "|" + str(c) + "|" + str(d)
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("id %d: %q, want %q", id, got[id], w)
		}
	}
	// A duplicate key from a cached shape is MySQL's 1062, and the row stays as it was.
	_, err = db.Exec("INSERT INTO t (id, k, c, d) VALUES (2, 0, 'dup', 0.00)")
	if errNumber(err) != 1062 {
		t.Fatalf("duplicate insert: %v, want 1062", err)
	}
}

// TestInsertCacheRetiresMismatch: a template whose filled statement differs from the parser's
// for the second statement of its shape is never trusted.
func TestInsertCacheRetiresMismatch(t *testing.T) {
	var c insertCache
	p := NewParser()
	parse := func(q string) (insertScan, ast.Statement, string) {
		t.Helper()
		sc, ok := scanInsert(q, ';', ast.ParserOptions{})
		if !ok {
			t.Fatalf("%q refused", q)
		}
		stmt, parsed, _, err := p.parseFull(t.Context(), q, ';', false, ast.ParserOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sc, stmt, parsed
	}
	sc1, st1, p1 := parse("INSERT INTO t VALUES (1, 'a')")
	c.observe(sc1, st1, p1, 0)
	sc2, _, p2 := parse("INSERT INTO t VALUES (2, 'b')")
	_, other, _ := parse("INSERT INTO t VALUES (3, 'c')")
	c.observe(sc2, other, p2, 0) // not what the parser made of sc2
	if _, ok := c.answer(sc2, 0); ok {
		t.Fatal("a template that failed its verification answered")
	}
	sc3, st3, p3 := parse("INSERT INTO t VALUES (4, 'd')")
	c.observe(sc3, st3, p3, 0)
	if _, ok := c.answer(sc3, 0); ok {
		t.Fatal("a retired template was trusted again")
	}
	// A clean shape: trusted after its second statement, and not after a registration.
	var c2 insertCache
	c2.observe(sc1, st1, p1, 0)
	if _, ok := c2.answer(sc2, 0); ok {
		t.Fatal("a template answered before its verification")
	}
	_, st2, _ := parse("INSERT INTO t VALUES (2, 'b')")
	c2.observe(sc2, st2, p2, 0)
	got, ok := c2.answer(sc3, 0)
	if !ok || ast.String(got) != ast.String(st3) {
		t.Fatalf("trusted template: %v %v, want %s", ok, got, ast.String(st3))
	}
	if _, ok := c2.answer(sc3, 1); ok {
		t.Fatal("answered after a statement registration")
	}
}

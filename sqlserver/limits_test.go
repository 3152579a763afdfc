package sqlserver

import (
	"fmt"
	"strings"
	"testing"
)

// TestExpressionDepth: a statement nesting deeper than maxExprDepth (a 10,000- or 100,000-term
// 1+1+…, a long OR chain, the same prepared) is refused with MySQL's 1436 before it is planned;
// shallower ones evaluate, long flat lists (IN, function arguments) are not limited, and the
// connection keeps serving.
func TestExpressionDepth(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE DATABASE d"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE d.t (a INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO d.t VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	sum := func(n int) string { return "SELECT 1" + strings.Repeat("+1", n-1) }
	var or strings.Builder
	or.WriteString("SELECT COUNT(*) FROM d.t WHERE a = 0")
	for i := 1; i < 100000; i++ {
		fmt.Fprintf(&or, " OR a = %d", i)
	}
	refused := func(name string, err error) {
		t.Helper()
		if errNumber(err) != 1436 || !strings.Contains(err.Error(), "(HY000): Thread stack overrun: ") {
			t.Fatalf("%s: %v, want 1436 (HY000) Thread stack overrun", name, err)
		}
	}
	for _, n := range []int{10000, 100000} {
		var v int64
		refused(fmt.Sprintf("%d terms", n), db.QueryRow(sum(n)).Scan(&v))
	}
	var v int64
	refused("100,000 ORs", db.QueryRow(or.String()).Scan(&v))
	refused("100,000 terms prepared", db.QueryRow("SELECT ?"+strings.Repeat("+1", 99999), 1).Scan(&v))
	refused("in a view", func() error { _, err := db.Exec("CREATE VIEW d.v AS " + sum(100000)); return err }())

	// Parentheses nest at most 200 deep in vitess's grammar: deeper is a syntax error (MySQL's
	// parser stack also ends in 1064, far deeper).
	err := db.QueryRow("SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)).Scan(&v)
	if errNumber(err) != 1064 || !strings.Contains(err.Error(), "You have an error in your SQL syntax") {
		t.Fatalf("100,000 nested parentheses: %v, want 1064", err)
	}
	for _, n := range []int{1000, 2000} {
		if err := db.QueryRow(sum(n)).Scan(&v); err != nil || v != int64(n) {
			t.Fatalf("%d terms: %d, %v", n, v, err)
		}
	}
	in := "SELECT COUNT(*) FROM d.t WHERE a IN (0" + strings.Repeat(",2", 100000) + ")"
	if err := db.QueryRow(in).Scan(&v); err != nil || v != 1 {
		t.Fatalf("IN list of 100,001: %d, %v", v, err)
	}
	var c string
	if err := db.QueryRow("SELECT CONCAT('a'" + strings.Repeat(",'a'", 9999) + ")").Scan(&c); err != nil || c != strings.Repeat("a", 10000) {
		t.Fatalf("CONCAT of 10,000 arguments: %d bytes, %v", len(c), err)
	}
	if err := db.QueryRow("SELECT 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("the connection afterwards: %v", err)
	}
}

package sqlserver

import "testing"

func TestRewriteQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"/*M!999999\\- enable the sandbox mode */ SELECT 5", "/*  999999\\- enable the sandbox mode */ SELECT 5"},
		{"/*M!100101 SET @x=1 */", "/*  100101 SET @x=1 */"},
		{"/*!40101 SET @x=1 */", "/*!40101 SET @x=1 */"},
		{"/*!90000 SET @x=1 */ SELECT 2", "/* 90000 SET @x=1 */ SELECT 2"},
		{"/*!80040 SELECT 3 */", "/*!80040 SELECT 3 */"},
		{"/*!80041 SELECT 3 */", "/* 80041 SELECT 3 */"},
		{"FLUSH /*!40101 LOCAL */ TABLES", "FLUSH /*!40101       */ TABLES"},
		{"flush local tables", "flush       tables"},
		{"FLUSH NO_WRITE_TO_BINLOG TABLES", "FLUSH                    TABLES"},
		{"SELECT 'FLUSH LOCAL'", "SELECT 'FLUSH LOCAL'"},
		{"CREATE TABLE t (y year(4) NOT NULL)", "CREATE TABLE t (y year    NOT NULL)"},
		{"CREATE TABLE t (`y` YEAR ( 4 ), z int)", "CREATE TABLE t (`y` YEAR      , z int)"},
		{"ALTER TABLE t MODIFY y year(4)", "ALTER TABLE t MODIFY y year   "},
		{"CREATE TABLE t (y int DEFAULT (year(4)))", "CREATE TABLE t (y int DEFAULT (year(4)))"},
		{"CREATE TABLE t (y int CHECK (y > year(4)))", "CREATE TABLE t (y int CHECK (y > year(4)))"},
		{"SELECT year(4)", "SELECT year(4)"},
		{"CREATE TABLE t (c varchar(9) DEFAULT 'year(4)')", "CREATE TABLE t (c varchar(9) DEFAULT 'year(4)')"},
		{"SELECT 1; FLUSH LOCAL TABLES", "SELECT 1; FLUSH       TABLES"},
		{"SELECT '/*M!1 x */'", "SELECT '/*M!1 x */'"},
	}
	for _, tt := range tests {
		if got := rewriteQuery(tt.in); got != tt.want {
			t.Errorf("rewriteQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(rewriteQuery(tt.in)) != len(tt.in) {
			t.Errorf("rewriteQuery(%q) changed the length", tt.in)
		}
	}
}

func TestQuoteKeywordIdentifiers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"CREATE TABLE t (id int, plan varchar(9))", "CREATE TABLE t (id int, `plan` varchar(9))"},
		{"SELECT Plan, t.plan FROM t WHERE plan = 'plan'", "SELECT `Plan`, t.`plan` FROM t WHERE `plan` = 'plan'"},
		{"SELECT `plan` FROM t", "SELECT `plan` FROM t"},
		{"EXPLAIN PLAN SELECT plan FROM t", "EXPLAIN PLAN SELECT `plan` FROM t"},
		{"EXPLAIN FORMAT = TREE PLAN SELECT 1", "EXPLAIN FORMAT = TREE PLAN SELECT 1"},
		{"SET @plan = 1; SELECT @plan", "SET @plan = 1; SELECT @plan"},
		{"SELECT 1 -- plan", "SELECT 1 -- plan"},
		{"SELECT planets FROM t", "SELECT planets FROM t"},
		{"CREATE DATABASE locked", "CREATE DATABASE `locked`"},
		{"SELECT locked FROM t.locked", "SELECT `locked` FROM t.`locked`"},
		{"SELECT * FROM t FOR UPDATE SKIP LOCKED", "SELECT * FROM t FOR UPDATE SKIP LOCKED"},
		{"SELECT * FROM t FOR SHARE skip locked", "SELECT * FROM t LOCK IN SHARE MODE"},
		{"SELECT * FROM t WHERE id = 1 FOR SHARE", "SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE"},
		{"SELECT * FROM t FOR SHARE NOWAIT; SELECT 1", "SELECT * FROM t LOCK IN SHARE MODE ; SELECT 1"},
		{"SELECT 'for share' FROM t", "SELECT 'for share' FROM t"},
	}
	for _, tt := range tests {
		if got := quoteKeywordIdentifiers(tt.in); got != tt.want {
			t.Errorf("quoteKeywordIdentifiers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

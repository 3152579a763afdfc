package storage

import (
	"testing"

	"github.com/dolthub/go-mysql-server/sql/analyzer/analyzererrors"
)

// TestRowSizeLimit: CREATE TABLE, CREATE TEMPORARY TABLE and ALTER TABLE
// refuse a row wider than MySQL's 65,535 bytes (BLOB and TEXT counted by
// their pointers only), and a multi-clause ALTER whose last clause fails
// leaves the table as it was.
func TestRowSizeLimit(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE d")
	c.mustExec("USE d")
	c.mustExec("CREATE TABLE t (a INT PRIMARY KEY)")
	for _, tc := range []struct {
		sql     string
		tooWide bool
	}{
		// utf8mb4: 4 bytes a character; + 2 length bytes; + INT 4.
		{"CREATE TABLE w1 (a INT PRIMARY KEY, b VARCHAR(16383))", true},
		{"CREATE TABLE w2 (a INT PRIMARY KEY, b VARCHAR(16382))", false},
		{"CREATE TEMPORARY TABLE w3 (a INT PRIMARY KEY, b VARCHAR(16383))", true},
		{"CREATE TABLE w4 (a INT PRIMARY KEY, b VARBINARY(65000), c BLOB, d LONGTEXT, e JSON)", false},
		{"CREATE TABLE w5 (a INT PRIMARY KEY, b VARBINARY(65250), c CHAR(255) CHARACTER SET latin1, d DECIMAL(65, 30))", true}, // 4+65252+255+30+1
		{"CREATE TABLE w6 (a INT PRIMARY KEY, b VARBINARY(65240), c CHAR(255) CHARACTER SET latin1, d DECIMAL(65, 30))", false},
		{"ALTER TABLE t ADD COLUMN b VARCHAR(16383)", true},
		{"ALTER TABLE t ADD COLUMN b VARCHAR(16000), ADD COLUMN c VARCHAR(16000)", true},
		{"ALTER TABLE t ADD COLUMN b VARCHAR(16000), ADD COLUMN c VARCHAR(10)", false},
		{"ALTER TABLE t MODIFY COLUMN c VARCHAR(400)", true},
	} {
		_, err := c.query(tc.sql)
		if tc.tooWide != analyzererrors.ErrInvalidRowLength.Is(err) || (!tc.tooWide && err != nil) {
			t.Errorf("%s: %v, want too wide %v", tc.sql, err, tc.tooWide)
		}
	}
	if n := len(c.mustExec("SHOW COLUMNS FROM t")); n != 3 {
		t.Fatalf("t has %d columns, want 3 (a, b, c: failed ALTERs undone)", n)
	}
}

package storage

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestIndexRangesMatchScan: range lookups through primary, secondary and two-column indexes
// (integer and string columns, NULLs, negative values, open and closed bounds) return exactly
// the rows a scan of an unindexed copy of the table returns.
func TestIndexRangesMatchScan(t *testing.T) {
	h := newHarness(t)
	c := h.conn()
	c.mustExec("CREATE DATABASE r")
	c.mustExec("USE r")
	c.mustExec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b BIGINT, s VARCHAR(10), KEY ab (a, b), KEY s_1 (s))")
	c.mustExec("CREATE TABLE plain (id INT, a INT, b BIGINT, s VARCHAR(10))")
	var vals []string
	for id := -20; id <= 20; id++ {
		a, b := fmt.Sprint(id%5), fmt.Sprint((id*7)%9)
		if id%6 == 0 {
			a = "NULL"
		}
		if id%7 == 0 {
			b = "NULL"
		}
		vals = append(vals, fmt.Sprintf("(%d, %s, %s, 'v%02d')", id, a, b, (id+20)%13))
	}
	c.mustExec("INSERT INTO t VALUES " + strings.Join(vals, ","))
	c.mustExec("INSERT INTO plain VALUES " + strings.Join(vals, ","))
	preds := []string{
		"id BETWEEN -3 AND 7", "id > 5", "id >= 5", "id < -4", "id <= -4", "id > 3 AND id < 9",
		"id = 4", "id BETWEEN 9 AND 2",
		"a = 2", "a > 1", "a >= -2 AND a < 3", "a IS NULL", "a IS NOT NULL AND a < 0",
		"a = 1 AND b > 2", "a = 1 AND b >= 2 AND b <= 5", "a = -3 AND b < 0", "a = 2 AND b IS NULL",
		"a = 0 AND b = 0", "a BETWEEN 1 AND 3 AND b > 4",
		"s = 'v03'", "s > 'v05'", "s BETWEEN 'v02' AND 'v07'",
	}
	rows := func(q string) string {
		t.Helper()
		got := c.mustExec(q)
		out := make([]string, len(got))
		for i, r := range got {
			out[i] = fmt.Sprint(r...)
		}
		sort.Strings(out)
		return strings.Join(out, ";")
	}
	for _, p := range preds {
		t.Run(p, func(t *testing.T) {
			want := rows("SELECT id, a, b, s FROM plain WHERE " + p)
			if got := rows("SELECT id, a, b, s FROM t WHERE " + p); got != want {
				t.Fatalf("indexed: %s\nscan:    %s", got, want)
			}
		})
	}
}

package sqlserver

import (
	gosql "database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// sortFixture is fastFixture's server with table fx.s of strings in several collations, with
// NULLs, ties, case and accent variants, multi-byte characters and an invalid byte sequence's
// stand-in (a latin1 column), keyed 1..40.
func sortFixture(t *testing.T) (*Server, func(q string, args ...any) []string) {
	t.Helper()
	s, db := fastFixture(t)
	mustExec(t, db, `CREATE TABLE s (id INT PRIMARY KEY, k INT,
		a VARCHAR(20) COLLATE utf8mb4_0900_ai_ci,
		b VARCHAR(20) COLLATE utf8mb4_bin,
		g VARCHAR(20) COLLATE utf8mb4_general_ci,
		l VARCHAR(20) CHARACTER SET latin1,
		f CHAR(10))`)
	words := []string{"a", "A", "á", "b", "B", "", "ab", "a b", "a ", "Ä", "ß", "ss", "z", "€", "😀", "日本", "abc", "ABC", "Ab", "aB"}
	var vals []string
	for i := 1; i <= 40; i++ {
		w := words[i%len(words)]
		k := "NULL"
		if i%7 != 0 {
			k = string(rune('0' + i%4))
		}
		a := "'" + w + "'"
		if i%9 == 0 {
			a = "NULL"
		}
		lat := "'" + strings.Map(func(r rune) rune {
			if r > 0xff {
				return 'x'
			}
			return r
		}, w) + "'"
		vals = append(vals, "("+itoa(i)+","+k+","+a+",'"+w+"','"+w+"',"+lat+",'"+w+"')")
	}
	mustExec(t, db, "INSERT INTO s VALUES "+strings.Join(vals, ","))
	run := func(q string, args ...any) []string {
		t.Helper()
		st, err := db.Prepare(q)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		got, err := queryStrings(t, st, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
		return got
	}
	return s, run
}

func itoa(i int) string { return strconv.Itoa(i) }

func typesVarchar(c sql.CollationID) sql.Type {
	return types.MustCreateString(sqltypes.VarChar, 20, c)
}

// hasFastSort reports whether some session's verified template sorts with fastSort.
func hasFastSort(pc *planCache) bool {
	found := false
	pc.sessions.Range(func(_, v any) bool {
		for _, t := range v.(*sessionPlans).shapes {
			if t.state != tmplVerified {
				continue
			}
			transform.Inspect(t.analyzed, func(n sql.Node) bool {
				if _, ok := n.(fastSort); ok {
					found = true
				}
				return true
			})
		}
		return true
	})
	return found
}

// TestFastSortMatchesGMS: ordered (and DISTINCT ordered) ranges answered by the cache's
// templates, whose sorts are fastSorts, give exactly the rows in exactly the order GMS's own
// plan gives with the cache off: ascending and descending, several collations, NULLs first
// and last, ties kept in index order, multi-column orders, integer sort keys, empty and
// single-row ranges, and parameters of several integer sizes.
func TestFastSortMatchesGMS(t *testing.T) {
	s, run := sortFixture(t)
	queries := []string{
		"SELECT id, a FROM s WHERE id BETWEEN ? AND ? ORDER BY a",
		"SELECT id, a FROM s WHERE id BETWEEN ? AND ? ORDER BY a DESC",
		"SELECT id, b FROM s WHERE id BETWEEN ? AND ? ORDER BY b",
		"SELECT id, g FROM s WHERE id BETWEEN ? AND ? ORDER BY g DESC",
		"SELECT id, l FROM s WHERE id BETWEEN ? AND ? ORDER BY l",
		"SELECT id, f FROM s WHERE id BETWEEN ? AND ? ORDER BY f",
		"SELECT id, k, a FROM s WHERE id BETWEEN ? AND ? ORDER BY k, a DESC",
		"SELECT id, k FROM s WHERE id BETWEEN ? AND ? ORDER BY k DESC, id",
		"SELECT DISTINCT a FROM s WHERE id BETWEEN ? AND ? ORDER BY a",
		"SELECT DISTINCT g FROM s WHERE id BETWEEN ? AND ? ORDER BY g",
		"SELECT a FROM s WHERE id >= ? AND id <= ? ORDER BY a",
	}
	params := [][2]any{{1, 40}, {2, 39}, {3, 30}, {5, 5}, {7, 6}, {41, 50}, {-5, 12}, {int64(1) << 20, int64(1) << 21}, {0, 200}, {300, 70000}, {1, 20}, {10, 40}}
	fast := map[string][]string{}
	for _, q := range queries {
		for i, p := range params {
			fast[q+itoa(i)] = run(q, p[0], p[1])
		}
	}
	if !hasFastSort(s.plans) {
		t.Fatal("no verified template sorts with fastSort")
	}
	s.plans.disabled.Store(true)
	for _, q := range queries {
		for i, p := range params {
			want := run(q, p[0], p[1])
			if got := fast[q+itoa(i)]; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s %v:\n cached: %v\n GMS:    %v", q, p, got, want)
			}
		}
	}
}

// TestCompareCollatedMatchesGMS: the weight table's comparison agrees with GMS's
// StringType.Compare on pairs of strings, including invalid UTF-8, in four collations.
func TestCompareCollatedMatchesGMS(t *testing.T) {
	ctx := sql.NewEmptyContext()
	strs := []string{"", "a", "A", "á", "ab", "a b", "a ", "ß", "ss", "€", "😀", "日本", "\xff", "a\xffb", "a\xc3", "z", "Z", "0", "9", "-"}
	for _, coll := range []sql.CollationID{sql.Collation_utf8mb4_0900_ai_ci, sql.Collation_utf8mb4_bin, sql.Collation_utf8mb4_general_ci, sql.Collation_latin1_swedish_ci} {
		typ := comparerFor(typesVarchar(coll))
		if typ.w == nil {
			t.Fatalf("%s: no weight table", coll)
		}
		for _, a := range strs {
			for _, b := range strs {
				want, err := typ.typ.Compare(ctx, a, b)
				got, ok := typ.w.compareCollated(a, b)
				if ok != (err == nil) || (ok && got != want) {
					t.Errorf("%s: compare(%q, %q) = %d, %v; GMS %d, %v", coll, a, b, got, ok, want, err)
				}
			}
		}
	}
}

// TestFastExecInPlaceRebindInterleaved: two prepared statements of one shape (one template,
// rebound in place) alternate on one connection, each with its own values, and a REPEATABLE
// READ transaction's ordered ranges keep its snapshot while another session commits; every
// answer is GMS's (the cache off).
func TestFastExecInPlaceRebindInterleaved(t *testing.T) {
	s, db := fastFixture(t)
	other := open(t, dsn(s, "root", ""))
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q1, err := conn.PrepareContext(t.Context(), "SELECT id, c FROM t WHERE id BETWEEN ? AND ? ORDER BY c")
	if err != nil {
		t.Fatal(err)
	}
	defer q1.Close()
	q2, err := conn.PrepareContext(t.Context(), "SELECT id, c FROM t WHERE id  BETWEEN ? AND ?  ORDER BY c")
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	sum, err := conn.PrepareContext(t.Context(), "SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ?")
	if err != nil {
		t.Fatal(err)
	}
	defer sum.Close()
	type step struct {
		st   int
		a, b int
	}
	var steps []step
	for i := 1; i <= 40; i++ {
		steps = append(steps, step{i % 3, 256 + i*7%40, 256 + i*7%40 + 1 + i%12}) // GMS types both bounds int16
	}
	stmts := []*gosql.Stmt{q1, q2, sum}
	runAll := func() []string {
		var out []string
		for _, sp := range steps {
			got, err := queryStrings(t, stmts[sp.st], sp.a, sp.b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join(got, ","))
		}
		return out
	}
	runAll() // learn
	before := s.plans.fastHits.Load()
	fast := runAll()
	if s.plans.fastHits.Load()-before < int64(len(steps))*3/4 {
		t.Fatalf("%d of %d on the fast path", s.plans.fastHits.Load()-before, len(steps))
	}
	// A transaction's snapshot: the fast path reads it while another session commits.
	if _, err := conn.ExecContext(t.Context(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	inTx1 := runAll()
	mustExec(t, other, "UPDATE fx.t SET k = k + 1, c = CONCAT('x', c) WHERE id % 5 = 0")
	inTx2 := runAll()
	if _, err := conn.ExecContext(t.Context(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	after := runAll()
	s.plans.disabled.Store(true)
	gmsAfter := runAll()
	for i := range steps {
		if fast[i] != inTx1[i] || inTx1[i] != inTx2[i] {
			t.Fatalf("step %d %v: before %q, in the transaction %q then %q", i, steps[i], fast[i], inTx1[i], inTx2[i])
		}
		if after[i] != gmsAfter[i] {
			t.Fatalf("step %d %v: cached %q, GMS %q", i, steps[i], after[i], gmsAfter[i])
		}
	}
	if strings.Join(after, ";") == strings.Join(fast, ";") {
		t.Fatal("the other session's commit changed nothing the statements read")
	}
}

package sqlserver

import (
	gosql "database/sql"
	"strconv"
	"strings"
	"testing"
)

// fastFixture is a server with database fx, table t (id 1..300, k = id*10, c = "row<id>") and
// one connection as root.
func fastFixture(t *testing.T) (*Server, *gosql.DB) {
	t.Helper()
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "CREATE DATABASE fx", "USE fx",
		"CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20), KEY k_1 (k))")
	var b strings.Builder
	b.WriteString("INSERT INTO t VALUES ")
	for i := 1; i <= 300; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString("(" + strconv.Itoa(i) + "," + strconv.Itoa(i*10) + ",'row" + strconv.Itoa(i) + "')")
	}
	mustExec(t, db, b.String())
	return s, db
}

// queryStrings runs a prepared query and returns its rows, each row's columns joined by "|".
func queryStrings(t *testing.T, st *gosql.Stmt, args ...any) ([]string, error) {
	t.Helper()
	rows, err := st.Query(args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
			if !v.Valid {
				parts[i] = "NULL"
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out, rows.Err()
}

// TestFastExecAnswersPreparedSelects: once learned, prepared point selects and ranges skip
// GMS's binding (fastHits rise), across parameter values GMS types differently (int8 … int32),
// and every answer is the right row set, including results longer than one batch.
func TestFastExecAnswersPreparedSelects(t *testing.T) {
	s, db := fastFixture(t)
	cases := []struct {
		name  string
		query string
		args  func(i int) []any
		want  func(i int) []string
	}{
		{"point", "SELECT c FROM t WHERE id=?",
			func(i int) []any { return []any{i} },
			func(i int) []string {
				if i > 300 {
					return nil
				}
				return []string{"row" + strconv.Itoa(i)}
			}},
		{"sum range", "SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ?",
			func(i int) []any { return []any{i, i + 9} },
			func(i int) []string {
				sum := 0
				for j := i; j <= i+9 && j <= 300; j++ {
					sum += j * 10
				}
				if i > 300 {
					return []string{"NULL"}
				}
				return []string{strconv.Itoa(sum)}
			}},
		{"ordered range", "SELECT id, c FROM t WHERE id BETWEEN ? AND ? ORDER BY c",
			func(i int) []any { return []any{i, i + 2} },
			func(i int) []string {
				var out []string
				for j := i; j <= i+2 && j <= 300; j++ {
					out = append(out, strconv.Itoa(j)+"|row"+strconv.Itoa(j))
				}
				// ORDER BY c: "row10" sorts before "row9"
				for a := 0; a < len(out); a++ {
					for b := a + 1; b < len(out); b++ {
						if strings.SplitN(out[b], "|", 2)[1] < strings.SplitN(out[a], "|", 2)[1] {
							out[a], out[b] = out[b], out[a]
						}
					}
				}
				return out
			}},
		{"long range", "SELECT id FROM t WHERE id >= ?",
			func(i int) []any { return []any{i} },
			func(i int) []string {
				var out []string
				for j := i; j <= 300; j++ {
					out = append(out, strconv.Itoa(j))
				}
				return out
			}},
		{"secondary index", "SELECT id FROM t WHERE k = ?",
			func(i int) []any { return []any{i * 10} },
			func(i int) []string {
				if i > 300 {
					return nil
				}
				return []string{strconv.Itoa(i)}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := db.Prepare(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			before := s.plans.fastHits.Load()
			n := 0
			for i := 1; i <= 320; i += 3 {
				n++
				got, err := queryStrings(t, st, tc.args(i)...)
				if err != nil {
					t.Fatalf("i=%d: %v", i, err)
				}
				if want := tc.want(i); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("i=%d: got %v, want %v", i, got, want)
				}
			}
			if got := s.plans.fastHits.Load() - before; got < int64(n)*3/4 {
				t.Fatalf("%d of %d executions on the fast path, want ≥ 3/4", got, n)
			}
		})
	}
}

// TestFastExecFollowsSessionAndSchema: the fast path never answers for another database,
// after DDL on the table, or without the SELECT privilege; and it counts Com_select.
func TestFastExecFollowsSessionAndSchema(t *testing.T) {
	s, root := fastFixture(t)
	mustExec(t, root, "CREATE DATABASE fy", "CREATE TABLE fy.t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20), KEY k_1 (k))",
		"INSERT INTO fy.t VALUES (1, 0, 'other1'), (2, 0, 'other2'), (3, 0, 'other3')",
		"CREATE USER u@'%'", "GRANT SELECT ON fx.* TO u@'%'")
	db := open(t, dsn(s, "u", ""))
	db.SetMaxOpenConns(1)
	mustExec(t, db, "USE fx")
	star, err := db.Prepare("SELECT * FROM t WHERE id=?")
	if err != nil {
		t.Fatal(err)
	}
	defer star.Close()
	warm := func() {
		t.Helper()
		for i := 1; i <= 6; i++ {
			got, err := queryStrings(t, star, i)
			if err != nil || len(got) != 1 || got[0] != strconv.Itoa(i)+"|"+strconv.Itoa(i*10)+"|row"+strconv.Itoa(i) {
				t.Fatalf("id %d: %v, %v", i, got, err)
			}
		}
	}
	warm()
	before := s.plans.fastHits.Load()
	var comBefore, comAfter int64
	var name string
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Com_select'").Scan(&name, &comBefore); err != nil {
		t.Fatal(err)
	}
	got, err := queryStrings(t, star, 7)
	if err != nil || len(got) != 1 || got[0] != "7|70|row7" {
		t.Fatalf("id 7: %v, %v", got, err)
	}
	if s.plans.fastHits.Load() == before {
		t.Fatal("the warmed-up statement did not take the fast path")
	}
	if err := db.QueryRow("SHOW SESSION STATUS LIKE 'Com_select'").Scan(&name, &comAfter); err != nil {
		t.Fatal(err)
	}
	if comAfter != comBefore+1 {
		t.Fatalf("Com_select %d → %d: want the fast execution counted once", comBefore, comAfter)
	}

	// A column added: SELECT * shows it at once.
	mustExec(t, root, "ALTER TABLE fx.t ADD COLUMN d INT NOT NULL DEFAULT 5")
	if got, err := queryStrings(t, star, 8); err != nil || len(got) != 1 || got[0] != "8|80|row8|5" {
		t.Fatalf("after ADD COLUMN: %v, %v", got, err)
	}
	// Another database's table of the same name.
	mustExec(t, root, "GRANT SELECT ON fy.* TO u@'%'")
	warmC, err := db.Prepare("SELECT c FROM t WHERE id=?")
	if err != nil {
		t.Fatal(err)
	}
	defer warmC.Close()
	for i := 1; i <= 6; i++ {
		if got, err := queryStrings(t, warmC, i); err != nil || len(got) != 1 || got[0] != "row"+strconv.Itoa(i) {
			t.Fatalf("fx id %d: %v, %v", i, got, err)
		}
	}
	mustExec(t, db, "USE fy")
	if got, err := queryStrings(t, warmC, 2); err != nil || len(got) != 1 || got[0] != "other2" {
		t.Fatalf("after USE fy: %v, %v; want other2", got, err)
	}
	mustExec(t, db, "USE fx")
	// The column dropped: an error, not a stale plan.
	mustExec(t, root, "ALTER TABLE fx.t DROP COLUMN c")
	if got, err := queryStrings(t, warmC, 3); err == nil {
		t.Fatalf("after DROP COLUMN c: %v, want an error", got)
	}
	// The privilege revoked: refused at once.
	for i := 1; i <= 6; i++ {
		if _, err := queryStrings(t, star, i); err != nil {
			t.Fatalf("id %d: %v", i, err)
		}
	}
	mustExec(t, root, "REVOKE SELECT ON fx.* FROM u@'%'")
	if _, err := queryStrings(t, star, 4); errNumber(err) != 1142 && errNumber(err) != 1044 {
		t.Fatalf("after REVOKE: %v, want error 1142 or 1044", err)
	}
}

// TestFastExecReadsTransactionSnapshot: fast executions read the session's transaction: a
// REPEATABLE READ transaction keeps its snapshot while another session commits, and sees the
// commit after it ends (autocommit reads see it at once).
func TestFastExecReadsTransactionSnapshot(t *testing.T) {
	s, db := fastFixture(t)
	other := open(t, dsn(s, "root", ""))
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := conn.PrepareContext(t.Context(), "SELECT k FROM t WHERE id=?")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := func(id int) int {
		t.Helper()
		var v int
		if err := st.QueryRow(id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i := 1; i <= 6; i++ {
		k(i)
	}
	before := s.plans.fastHits.Load()
	if _, err := conn.ExecContext(t.Context(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if got := k(7); got != 70 {
		t.Fatalf("k(7) = %d, want 70", got)
	}
	mustExec(t, other, "UPDATE fx.t SET k = 71 WHERE id = 7")
	if got := k(7); got != 70 {
		t.Fatalf("inside the transaction after another commit: k(7) = %d, want the snapshot's 70", got)
	}
	if _, err := conn.ExecContext(t.Context(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if got := k(7); got != 71 {
		t.Fatalf("after COMMIT: k(7) = %d, want 71", got)
	}
	mustExec(t, other, "UPDATE fx.t SET k = 72 WHERE id = 7")
	if got := k(7); got != 72 {
		t.Fatalf("autocommit read: k(7) = %d, want 72", got)
	}
	if got := s.plans.fastHits.Load() - before; got < 3 {
		t.Fatalf("%d of 4 reads on the fast path, want ≥ 3", got)
	}
}

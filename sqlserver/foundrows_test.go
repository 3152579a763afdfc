package sqlserver

import "testing"

// TestFoundRowsWithOffset: FOUND_ROWS() after SQL_CALC_FOUND_ROWS … LIMIT n OFFSET m counts
// every row the statement matches, the skipped ones included, whether the rows come in index
// order (GMS's Limit over Offset, which counted only the rows past the offset) or through a
// sort, in the text and the binary protocol.
func TestFoundRowsWithOffset(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE DATABASE fr", "USE fr",
		"CREATE TABLE t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cases := []struct {
		query string
		args  []any
		rows  int
		found int
	}{
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY id LIMIT 2 OFFSET 2", nil, 2, 5},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY id LIMIT 2, 2", nil, 2, 5},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t WHERE id <= 4 ORDER BY id LIMIT 1 OFFSET 1", nil, 1, 4},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY id DESC LIMIT 2 OFFSET 4", nil, 1, 5},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY id LIMIT 2 OFFSET 10", nil, 0, 5},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY v LIMIT 2 OFFSET 1", nil, 2, 5},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t ORDER BY id LIMIT 3", nil, 3, 5},
		{"SELECT SQL_CALC_FOUND_ROWS v FROM t ORDER BY v LIMIT 3", nil, 3, 5},
		{"SELECT SQL_CALC_FOUND_ROWS * FROM t WHERE id > ? ORDER BY id LIMIT ? OFFSET ?", []any{1, 1, 2}, 1, 4},
	}
	for _, c := range cases {
		conn, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rows, err := conn.QueryContext(t.Context(), c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		var found int
		if err := conn.QueryRowContext(t.Context(), "SELECT FOUND_ROWS()").Scan(&found); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if n != c.rows || found != c.found {
			t.Errorf("%s %v: %d rows, FOUND_ROWS() %d; want %d rows, %d", c.query, c.args, n, found, c.rows, c.found)
		}
	}
}

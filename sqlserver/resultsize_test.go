package sqlserver

import (
	gosql "database/sql"
	"fmt"
	"runtime"
	"testing"
)

// TestResultLargerThanMaxAllowedPacket: a string function whose result would pass the session's
// max_allowed_packet answers NULL with MySQL's warning 1301, and REPEAT/SPACE/LPAD/RPAD refuse
// before building it (memory); results under the limit are unchanged.
func TestResultLargerThanMaxAllowedPacket(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	if _, err := root.Exec("SET GLOBAL max_allowed_packet = 1048576"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = root.Exec("SET GLOBAL max_allowed_packet = DEFAULT") })
	db := open(t, dsn(s, "root", "")) // a new session: its max_allowed_packet is the new global
	db.SetMaxOpenConns(1)

	over := []struct{ fn, expr string }{
		{"repeat", "REPEAT('ab', 600000)"},
		{"space", "SPACE(2000000)"},
		{"lpad", "LPAD('a', 300000, 'b')"}, // utf8mb4: 4 bytes a character, as MySQL counts
		{"rpad", "RPAD('a', 2000000, 'b')"},
		{"concat", "CONCAT(REPEAT('a', 600000), REPEAT('b', 600000))"},
		{"concat_ws", "CONCAT_WS(',', REPEAT('a', 600000), REPEAT('b', 600000))"},
		{"insert", "INSERT(REPEAT('a', 600000), 1, 0, REPEAT('b', 600000))"},
		{"replace", "REPLACE(REPEAT('a', 600000), 'a', 'bb')"},
		{"to_base64", "TO_BASE64(REPEAT('a', 900000))"},
	}
	for _, c := range over {
		t.Run(c.fn, func(t *testing.T) {
			var v gosql.NullString
			if err := db.QueryRow("SELECT " + c.expr).Scan(&v); err != nil || v.Valid {
				t.Fatalf("%s = %d bytes, %v; want NULL", c.expr, len(v.String), err)
			}
			var level, msg string
			var code int
			want := fmt.Sprintf("Result of %s() was larger than max_allowed_packet (1048576) - truncated", c.fn)
			if err := db.QueryRow("SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || level != "Warning" || code != 1301 || msg != want {
				t.Fatalf("warning after %s: %s %d %q %v; want Warning 1301 %q", c.expr, level, code, msg, err, want)
			}
		})
	}

	under := []struct {
		expr string
		want string
	}{
		{"LENGTH(REPEAT('ab', 500000))", "1000000"},
		{"LENGTH(LPAD('a', 200000, 'b'))", "200000"},
		{"CONCAT('a', 'b', 'c')", "abc"},
		{"REPEAT('ab', 3)", "ababab"},
		{"CONCAT('[', REPEAT('a', -1), SPACE(0), SPACE(-2), ']')", "[]"}, // MySQL: a count below 1 is ''
		{"CONCAT_WS(',', 'a', NULL, 'b')", "a,b"},
		{"INSERT('abc', 2, 1, 'x')", "axc"},
		{"REPLACE('abc', 'b', 'yy')", "ayyc"},
		{"TO_BASE64('a')", "YQ=="},
		{"COALESCE(REPEAT(NULL, 2), 'null')", "null"},
	}
	for _, c := range under {
		var v string
		if err := db.QueryRow("SELECT " + c.expr).Scan(&v); err != nil || v != c.want {
			t.Errorf("%s = %q %v, want %q", c.expr, v, err, c.want)
		}
	}

	// The refused REPEAT of 1.5 GB never allocates it (the server runs in this process).
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var v gosql.NullInt64
	if err := db.QueryRow("SELECT LENGTH(REPEAT('a', 1500000000))").Scan(&v); err != nil || v.Valid {
		t.Fatalf("LENGTH(REPEAT('a', 1500000000)) = %v %v, want NULL", v, err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("a refused 1.5 GB REPEAT allocated %d MB", grew>>20)
	}
}

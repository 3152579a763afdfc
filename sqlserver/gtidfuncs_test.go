package sqlserver

import (
	gosql "database/sql"
	"strings"
	"testing"
)

// TestGTIDSetFunctions: GTID_SUBSET and GTID_SUBTRACT as MySQL 8.0 gives them, over the wire:
// values, NULL arguments, and 1772 for a malformed set.
func TestGTIDSetFunctions(t *testing.T) {
	s, _ := startServer(t, Config{})
	db := open(t, dsn(s, "root", ""))
	const a = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	const b = "4e11fa47-71ca-11e1-9e33-c80aa9429562"
	for _, tc := range []struct {
		q    string
		want string // "NULL" for NULL
	}{
		{"SELECT GTID_SUBSET('" + a + ":1-5', '" + a + ":1-10')", "1"},
		{"SELECT GTID_SUBSET('" + a + ":1-11', '" + a + ":1-10')", "0"},
		{"SELECT GTID_SUBSET('', '" + a + ":1')", "1"},
		{"SELECT GTID_SUBSET('" + a + ":3', '')", "0"},
		{"SELECT GTID_SUBSET('" + a + ":1-3," + b + ":2', '" + b + ":1-9,\n" + a + ":1-5')", "1"},
		{"SELECT GTID_SUBSET(NULL, '" + a + ":1')", "NULL"},
		{"SELECT GTID_SUBTRACT('" + a + ":1-10', '" + a + ":3-4:8')", a + ":1-2:5-7:9-10"},
		{"SELECT GTID_SUBTRACT('" + a + ":1-5," + b + ":1-3', '" + b + ":1-3')", a + ":1-5"},
		// MySQL's text form: a newline after each comma between UUIDs
		{"SELECT GTID_SUBTRACT('" + a + ":1-5," + b + ":1-3', '" + b + ":2')", a + ":1-5,\n" + b + ":1:3"},
		{"SELECT GTID_SUBTRACT('" + a + ":1-5', '" + a + ":1-5')", ""},
		{"SELECT GTID_SUBTRACT('" + a + ":1', NULL)", "NULL"},
		{"SELECT GTID_SUBSET(@@GLOBAL.gtid_executed, @@GLOBAL.gtid_executed)", "1"},
	} {
		var got gosql.NullString
		if err := db.QueryRow(tc.q).Scan(&got); err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		v := got.String
		if !got.Valid {
			v = "NULL"
		}
		if v != tc.want {
			t.Errorf("%s = %q, want %q", tc.q, v, tc.want)
		}
	}
	for _, q := range []string{
		"SELECT GTID_SUBSET('not-a-gtid', '')",
		"SELECT GTID_SUBTRACT('" + a + ":1', '" + a + ":5-2')",
	} {
		_, err := db.Exec(q)
		if errNumber(err) != 1772 || !strings.Contains(err.Error(), "Malformed GTID set specification") {
			t.Errorf("%s: %v, want 1772", q, err)
		}
	}
	// The server keeps serving after the errors.
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the errors: %v", err)
	}
}

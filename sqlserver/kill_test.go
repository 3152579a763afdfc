package sqlserver

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKillQuery: KILL QUERY stops a running statement, whose client gets MySQL's 1317, and the
// connection keeps serving.
func TestKillQuery(t *testing.T) {
	s, _ := startServer(t, Config{})
	db, admin := open(t, dsn(s, "root", "")), open(t, dsn(s, "root", ""))
	db.SetMaxOpenConns(1)
	var id int64
	if err := db.QueryRow("SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var n int64
		done <- db.QueryRow("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 1000000000) SELECT COUNT(*) FROM r").Scan(&n)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !processListHas(t, admin, "WITH RECURSIVE") {
		if ctx.Err() != nil {
			t.Fatal("the statement never showed in the process list")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := admin.Exec("KILL QUERY " + strconv.FormatInt(id, 10)); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("KILL QUERY did not stop the statement")
	}
	if errNumber(err) != 1317 || !strings.Contains(err.Error(), "Query execution was interrupted") {
		t.Fatalf("killed statement: %v, want 1317 Query execution was interrupted", err)
	}
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection after KILL QUERY: %v", err)
	}
}

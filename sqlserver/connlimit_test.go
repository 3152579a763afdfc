package sqlserver

import (
	"context"
	gosql "database/sql"
	"strings"
	"testing"
	"time"
)

// TestMaxConnections: past @@max_connections a client gets 1040 "Too many connections", one
// more is kept for an account with SUPER, and a closed connection frees its place.
func TestMaxConnections(t *testing.T) {
	s, _ := startServer(t, Config{})
	root := open(t, dsn(s, "root", ""))
	for _, q := range []string{"CREATE USER u@'%' IDENTIFIED BY 'pw'", "SET GLOBAL max_connections = 3"} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { _, _ = root.Exec("SET GLOBAL max_connections = DEFAULT") })
	ctx := context.Background()
	hold := func(db *gosql.DB) (*gosql.Conn, error) {
		c, err := db.Conn(ctx)
		if err == nil {
			err = c.PingContext(ctx)
		}
		return c, err
	}
	// root's pool already holds one connection.
	users := open(t, dsn(s, "u", "pw"))
	users.SetMaxIdleConns(0) // a released *gosql.Conn closes its connection
	var held []*gosql.Conn
	for i := 0; i < 2; i++ {
		c, err := hold(users)
		if err != nil {
			t.Fatalf("connection %d: %v", i+2, err)
		}
		held = append(held, c)
	}
	_, err := hold(open(t, dsn(s, "u", "pw")))
	if errNumber(err) != 1040 || !strings.Contains(err.Error(), "Too many connections") {
		t.Fatalf("4th connection of a user without SUPER: %v, want 1040", err)
	}
	admins := open(t, dsn(s, "root", ""))
	admins.SetMaxIdleConns(0)
	admin, err := hold(admins)
	if err != nil {
		t.Fatalf("the administrator's reserved connection: %v", err)
	}
	if _, err := hold(open(t, dsn(s, "root", ""))); errNumber(err) != 1040 {
		t.Fatalf("5th connection: %v, want 1040", err)
	}
	admin.Close()
	held[0].Close()
	// The server counts a connection out when it sees the close: poll with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := hold(open(t, dsn(s, "u", "pw")))
		if err == nil {
			c.Close()
			break
		}
		if errNumber(err) != 1040 || time.Now().After(deadline) {
			t.Fatalf("after two connections closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

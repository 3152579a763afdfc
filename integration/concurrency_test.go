package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestNoLostUpdatesOverTheWire: 8 connections × 500 increments end at
// exactly 8000, in autocommit and in explicit transactions.
func TestNoLostUpdatesOverTheWire(t *testing.T) {
	srv := StartServer(t)
	const conns, per = 8, 500
	for _, explicit := range []bool{false, true} {
		t.Run(fmt.Sprintf("explicit=%v", explicit), func(t *testing.T) {
			db := srv.DB(t, "")
			name := fmt.Sprintf("lost%v", explicit)
			mustExec(t, db, "CREATE DATABASE "+name)
			mustExec(t, db, "CREATE TABLE "+name+".c (id INT PRIMARY KEY, n INT NOT NULL)")
			mustExec(t, db, "INSERT INTO "+name+".c VALUES (1, 0)")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i := 0; i < conns; i++ {
				c := srv.Conn(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < per; j++ {
						var err error
						if explicit {
							if _, err = c.ExecContext(ctx, "BEGIN"); err == nil {
								if _, err = c.ExecContext(ctx, "UPDATE "+name+".c SET n = n + 1 WHERE id = 1"); err == nil {
									_, err = c.ExecContext(ctx, "COMMIT")
								}
							}
						} else {
							_, err = c.ExecContext(ctx, "UPDATE "+name+".c SET n = n + 1")
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRow("SELECT n FROM " + name + ".c WHERE id = 1").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != conns*per {
				t.Fatalf("n = %d, want %d", n, conns*per)
			}
		})
	}
}

// TestSnapshotsOverTheWire: a reading transaction keeps its snapshot while
// another session commits, and its COMMIT does not erase the other
// session's rows.
func TestSnapshotsOverTheWire(t *testing.T) {
	srv := StartServer(t)
	db := srv.DB(t, "")
	mustExec(t, db, "CREATE DATABASE snap")
	mustExec(t, db, "CREATE TABLE snap.t (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO snap.t VALUES (1)")
	ctx := context.Background()
	reader, writer := srv.Conn(t), srv.Conn(t)
	count := func() int {
		var n int
		if err := reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM snap.t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := reader.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 1 {
		t.Fatalf("count = %d, want 1", got)
	}
	for i := 2; i <= 4; i++ {
		if _, err := writer.ExecContext(ctx, fmt.Sprintf("INSERT INTO snap.t VALUES (%d)", i)); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != 1 {
			t.Fatalf("inside the transaction count = %d after another commit, want 1", got)
		}
	}
	if _, err := reader.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 4 {
		t.Fatalf("after COMMIT count = %d, want 4 (the other session's rows kept)", got)
	}
}

package sqlserver

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/variables"
)

func newTestProcTable() *procTable {
	if sql.StatusVariables == nil {
		variables.InitStatusVariables()
	}
	return newProcTable()
}

func procCtx(id uint32, pid uint64) *sql.Context {
	sess := sql.NewBaseSessionWithClientServer("test", sql.Client{User: "u", Address: "h"}, id)
	return sql.NewContext(context.Background(), sql.WithSession(sess), sql.WithPid(pid))
}

func findProc(t *testing.T, pt *procTable, id uint32) sql.Process {
	t.Helper()
	for _, p := range pt.Processes() {
		if p.Connection == id {
			return p
		}
	}
	t.Fatalf("connection %d not in the process list", id)
	return sql.Process{}
}

// TestProcTableLifecycle: a connection goes Connect → Sleep → Query → Sleep; the query's
// context ends with EndQuery or Kill; a pid in use and an unknown connection are refused;
// progress is kept per query; RemoveConnection forgets it.
func TestProcTableLifecycle(t *testing.T) {
	pt := newTestProcTable()
	pt.AddConnection(7, "h:1")
	if p := findProc(t, pt, 7); p.Command != sql.ProcessCommandConnect || p.User != "unauthenticated user" {
		t.Fatalf("after AddConnection: %+v", p)
	}
	ctx := procCtx(7, 100)
	pt.ConnectionReady(ctx.Session)
	if p := findProc(t, pt, 7); p.Command != sql.ProcessCommandSleep || p.User != "u" {
		t.Fatalf("after ConnectionReady: %+v", p)
	}

	qctx, err := pt.BeginQuery(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if p := findProc(t, pt, 7); p.Command != sql.ProcessCommandQuery || p.Query != "SELECT 1" || p.QueryPid != 100 {
		t.Fatalf("after BeginQuery: %+v", p)
	}
	if _, err := pt.BeginQuery(procCtx(7, 100), "SELECT 2"); err == nil {
		t.Fatal("a second BeginQuery with a pid in use succeeded")
	}
	if _, err := pt.BeginQuery(procCtx(8, 101), "SELECT 3"); err == nil {
		t.Fatal("BeginQuery of an unregistered connection succeeded")
	}
	pt.AddTableProgress(100, "t", 10)
	pt.UpdateTableProgress(100, "t", 3)
	pt.UpdateTableProgress(999, "t", 3) // no such query: ignored
	if p := findProc(t, pt, 7); p.Progress["t"].Done != 3 || p.Progress["t"].Total != 10 {
		t.Fatalf("progress %+v", p.Progress)
	}
	pt.EndQuery(qctx)
	if qctx.Err() == nil {
		t.Fatal("EndQuery left the query's context running")
	}
	if p := findProc(t, pt, 7); p.Command != sql.ProcessCommandSleep || p.Query != "" || p.QueryPid != 0 || len(p.Progress) != 0 {
		t.Fatalf("after EndQuery: %+v", p)
	}
	// The pid is free again once the query ended.
	q2, err := pt.BeginQuery(procCtx(7, 100), "SELECT 4")
	if err != nil {
		t.Fatal(err)
	}
	pt.Kill(7)
	if q2.Err() == nil {
		t.Fatal("Kill left the query's context running")
	}
	pt.EndQuery(q2)

	pt.RemoveConnection(7)
	for _, p := range pt.Processes() {
		if p.Connection == 7 {
			t.Fatalf("removed connection still listed: %+v", p)
		}
	}
}

// TestProcTableConcurrent: many connections beginning and ending queries at once while the list
// is read (run with -race); each ends asleep.
func TestProcTableConcurrent(t *testing.T) {
	pt := newTestProcTable()
	const conns, queries = 8, 200
	for i := uint32(1); i <= conns; i++ {
		pt.AddConnection(i, "h")
		pt.ConnectionReady(procCtx(i, 0).Session)
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := uint32(1); i <= conns; i++ {
		wg.Add(1)
		go func(id uint32) {
			defer wg.Done()
			for q := 0; q < queries; q++ {
				pid := uint64(id)*100000 + uint64(q)
				c, err := pt.BeginQuery(procCtx(id, pid), fmt.Sprintf("q%d", q))
				if err != nil {
					errs <- err
					return
				}
				pt.AddTableProgress(pid, "t", 1)
				pt.EndQuery(c)
			}
		}(i)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = pt.Processes()
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, p := range pt.Processes() {
		if p.Command != sql.ProcessCommandSleep || p.QueryPid != 0 {
			t.Fatalf("connection %d left as %+v", p.Connection, p)
		}
	}
}

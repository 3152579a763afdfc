package replica

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
)

// recordingApplier records what the SQL thread applies.
type recordingApplier struct {
	mu  sync.Mutex
	txs []*Transaction
}

func (a *recordingApplier) Apply(_ context.Context, tx *Transaction) (func() error, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.txs = append(a.txs, tx)
	return nil, nil
}

func (a *recordingApplier) applied() []*Transaction {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Transaction(nil), a.txs...)
}

// TestSQLThreadSkipsExecutedAndStopsOnUnsupported: a transaction whose GTID
// is executed is skipped, the next is applied with its GTID, source file and
// statement, and a compressed transaction stops the thread with 1593 before
// it (instead of being lost); a restart stops there again and applies
// nothing twice.
func TestSQLThreadSkipsExecutedAndStopsOnUnsupported(t *testing.T) {
	app := &recordingApplier{}
	r, err := New(Config{DataDir: t.TempDir(), ServerID: 2, Applier: app, Executed: func() string { return testSourceUUID + ":1" }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	host := "source.example"
	if err := r.Change(ChangeOptions{Host: &host}); err != nil {
		t.Fatal(err)
	}
	relay := r.RelayLog()
	rot := rotateEvent(1, binlog.Position{File: "binlog.000003", Pos: 4})
	if err := relay.Append(rot); err != nil {
		t.Fatal(err)
	}
	relay.MarkBoundary(binlog.Position{File: "binlog.000003", Pos: 4}, nil)
	appendTx(t, relay, 1, 300) // executed already
	for _, ev := range [][]byte{gtidEv(t, 2, 340), queryEv("d", "CREATE TABLE t (a INT)", 400)} {
		if err := relay.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	g2, _ := binlog.ParseGTID(binlog.EventBody(gtidEv(t, 2, 0), true))
	relay.MarkBoundary(binlog.Position{File: "binlog.000003", Pos: 400}, &g2)
	for _, ev := range [][]byte{gtidEv(t, 3, 440), makeEvent(transactionPayloadEvent, 1, 900, 0, []byte("zstd…"))} {
		if err := relay.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	g3, _ := binlog.ParseGTID(binlog.EventBody(gtidEv(t, 3, 0), true))
	relay.MarkBoundary(binlog.Position{File: "binlog.000003", Pos: 900}, &g3)
	if err := relay.Flush(); err != nil {
		t.Fatal(err)
	}

	for run := 1; run <= 2; run++ {
		if err := r.Start(SQLThread); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the SQL thread stopping", func() bool { return r.Running()&SQLThread == 0 })
		got := app.applied()
		if len(got) != 1 || got[0].GTID != testSourceUUID+":2" || got[0].File != "binlog.000003" ||
			len(got[0].Events) != 1 || got[0].Events[0].Query == nil || got[0].Events[0].Query.SQL != "CREATE TABLE t (a INT)" ||
			got[0].Events[0].Query.DB != "d" || got[0].Events[0].EndPos != 400 {
			t.Fatalf("run %d: applied %+v", run, got)
		}
		st, _ := r.Status()
		if st.LastSQLErrno != 1593 || st.ExecSourceLogPos != 400 || st.RelaySourceLogFile != "binlog.000003" ||
			!strings.Contains(st.LastSQLError, "Transaction_payload event (binlog_transaction_compression)") {
			t.Fatalf("run %d: status %+v", run, st)
		}
	}
}

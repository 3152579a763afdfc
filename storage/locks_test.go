package storage

import (
	"context"

	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	sqltypes "github.com/dolthub/vitess/go/sqltypes"
)

func testTxn(id uint64) *txn { return &txn{id: id, held: map[lockKey]modeSet{}} }

var intKey = []keyCol{{ord: 0, typ: types.Int64}}
var ciKey = []keyCol{{ord: 0, typ: types.MustCreateString(sqltypes.VarChar, 10, sql.Collation_utf8mb4_0900_ai_ci)}}

// TestLockCompatibility: the table-lock matrix of InnoDB (IS, IX, S, X),
// checked with NOWAIT requests against one holder each.
func TestLockCompatibility(t *testing.T) {
	modes := []lockMode{lockIS, lockIX, lockShared, lockExclusive}
	names := map[lockMode]string{lockIS: "IS", lockIX: "IX", lockShared: "S", lockExclusive: "X"}
	want := map[string]bool{
		"IS/IS": true, "IS/IX": true, "IS/S": true, "IS/X": false,
		"IX/IS": true, "IX/IX": true, "IX/S": false, "IX/X": false,
		"S/IS": true, "S/IX": false, "S/S": true, "S/X": false,
		"X/IS": false, "X/IX": false, "X/S": false, "X/X": false,
	}
	ctx := context.Background()
	for _, held := range modes {
		for _, req := range modes {
			lm := newLockManager()
			a, b := testTxn(1), testTxn(2)
			k := tableKey("d", "t")
			if err := lm.acquire(ctx, a, k, held, time.Second, waitNoWait); err != nil {
				t.Fatal(err)
			}
			err := lm.acquire(ctx, b, k, req, time.Second, waitNoWait)
			name := names[req] + "/" + names[held]
			if got := err == nil; got != want[name] {
				t.Errorf("%s held, %s requested: granted=%v (err %v), want %v", names[held], names[req], got, err, want[name])
			}
			if err != nil && mysqlCode(err) != ErLockNowait {
				t.Errorf("%s: err %v, want 3572", name, err)
			}
		}
	}
}

// TestRecordLocks: record locks as a state machine, one step at a time,
// each request with NOWAIT (or SKIP LOCKED) so nothing blocks: different
// keys never conflict, the same key does (S with S does not), collation
// equality makes one lock, release frees everything, and the lock table
// is empty afterwards.
func TestRecordLocks(t *testing.T) {
	ctx := context.Background()
	lm := newLockManager()
	a, b := testTxn(1), testTxn(2)
	sp := spaceKey{lockKey: tableKey("d", "t")}
	steps := []struct {
		tx     *txn
		cols   []keyCol
		key    interface{}
		mode   lockMode
		policy lockWaitPolicy
		want   int // 0 granted, else the error code; -1 errSkipLocked
	}{
		{a, intKey, int64(1), lockExclusive, waitNoWait, 0},
		{b, intKey, int64(2), lockExclusive, waitNoWait, 0},      // another row: no conflict
		{b, intKey, int64(1), lockExclusive, waitNoWait, 3572},   // a's row
		{b, intKey, int64(1), lockShared, waitNoWait, 3572},      // S against X
		{b, intKey, int64(1), lockExclusive, waitSkipLocked, -1}, // SKIP LOCKED
		{a, intKey, int64(1), lockShared, waitNoWait, 0},         // covered by a's X
		{a, intKey, int64(3), lockShared, waitNoWait, 0},
		{b, intKey, int64(3), lockShared, waitNoWait, 0},       // S with S
		{b, intKey, int64(3), lockExclusive, waitNoWait, 3572}, // upgrade blocked by a's S
	}
	for i, s := range steps {
		err := lm.acquireRecord(ctx, s.tx, sp, s.cols, sql.Row{s.key}, s.mode, time.Second, s.policy)
		got := 0
		switch {
		case err == errSkipLocked:
			got = -1
		case err != nil:
			got = mysqlCode(err)
		}
		if got != s.want {
			t.Fatalf("step %d: got %d (%v), want %d", i, got, err, s.want)
		}
	}
	// Collation equality: 'a' and 'A' are one key under a _ci collation.
	ci := spaceKey{lockKey: tableKey("d", "t"), index: "u"}
	if err := lm.acquireRecord(ctx, a, ci, ciKey, sql.Row{"abc"}, lockExclusive, time.Second, waitNoWait); err != nil {
		t.Fatal(err)
	}
	if err := lm.acquireRecord(ctx, b, ci, ciKey, sql.Row{"ABC"}, lockExclusive, time.Second, waitNoWait); mysqlCode(err) != ErLockNowait {
		t.Fatalf("ABC while abc is locked: %v, want 3572", err)
	}
	lm.releaseAll(a)
	if err := lm.acquireRecord(ctx, b, sp, intKey, sql.Row{int64(1)}, lockExclusive, time.Second, waitNoWait); err != nil {
		t.Fatalf("after a's release: %v", err)
	}
	lm.releaseAll(b)
	if len(lm.spaces) != 0 || len(lm.tables) != 0 || len(lm.waiting) != 0 {
		t.Fatalf("lock tables not empty: %d spaces, %d tables, %d waiting", len(lm.spaces), len(lm.tables), len(lm.waiting))
	}
}

// TestRecordLockWaits: a waiter is granted when the holder releases; a
// wait ends with 1205 at the timeout and with 1317 when its context is
// cancelled; a request closing a cycle fails at once with 1213 while the
// other waiter goes on waiting (and is granted once the victim releases).
func TestRecordLockWaits(t *testing.T) {
	ctx := context.Background()
	sp := spaceKey{lockKey: tableKey("d", "t")}
	row := func(n int64) sql.Row { return sql.Row{n} }

	t.Run("granted after release", func(t *testing.T) {
		lm := newLockManager()
		a, b := testTxn(1), testTxn(2)
		if err := lm.acquireRecord(ctx, a, sp, intKey, row(1), lockExclusive, time.Second, waitNormal); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- lm.acquireRecord(ctx, b, sp, intKey, row(1), lockExclusive, time.Minute, waitNormal) }()
		waitFor(t, lm.isWaiting)
		select {
		case err := <-done:
			t.Fatalf("granted while held: %v", err)
		default:
		}
		lm.releaseAll(a)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("timeout 1205 and kill 1317", func(t *testing.T) {
		lm := newLockManager()
		a, b := testTxn(1), testTxn(2)
		if err := lm.acquireRecord(ctx, a, sp, intKey, row(1), lockExclusive, time.Second, waitNormal); err != nil {
			t.Fatal(err)
		}
		if err := lm.acquireRecord(ctx, b, sp, intKey, row(1), lockExclusive, 10*time.Millisecond, waitNormal); mysqlCode(err) != ErLockWaitTimeout {
			t.Fatalf("err %v, want 1205", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- lm.acquireRecord(cctx, b, sp, intKey, row(1), lockExclusive, time.Minute, waitNormal) }()
		waitFor(t, lm.isWaiting)
		cancel()
		if err := <-done; mysqlCode(err) != ErQueryInterrupted {
			t.Fatalf("err %v, want 1317", err)
		}
		if lm.isWaiting() {
			t.Fatal("still waiting")
		}
	})

	t.Run("cycle 1213", func(t *testing.T) {
		lm := newLockManager()
		a, b, c := testTxn(1), testTxn(2), testTxn(3)
		for _, s := range []struct {
			tx *txn
			n  int64
		}{{a, 1}, {b, 2}, {c, 3}} {
			if err := lm.acquireRecord(ctx, s.tx, sp, intKey, row(s.n), lockExclusive, time.Second, waitNormal); err != nil {
				t.Fatal(err)
			}
		}
		// a waits for b, b waits for c: a chain, no cycle.
		aDone, bDone := make(chan error, 1), make(chan error, 1)
		go func() { aDone <- lm.acquireRecord(ctx, a, sp, intKey, row(2), lockExclusive, time.Minute, waitNormal) }()
		waitFor(t, func() bool { return lm.waitingCount() == 1 })
		go func() { bDone <- lm.acquireRecord(ctx, b, sp, intKey, row(3), lockExclusive, time.Minute, waitNormal) }()
		waitFor(t, func() bool { return lm.waitingCount() == 2 })
		// c asking for a's row closes a → b → c → a.
		if err := lm.acquireRecord(ctx, c, sp, intKey, row(1), lockExclusive, time.Minute, waitNormal); mysqlCode(err) != ErLockDeadlock {
			t.Fatalf("err %v, want 1213", err)
		}
		if lm.waitingCount() != 2 {
			t.Fatal("the other waiters stopped waiting")
		}
		lm.releaseAll(c) // the victim rolls back
		if err := <-bDone; err != nil {
			t.Fatal(err)
		}
		lm.releaseAll(b)
		if err := <-aDone; err != nil {
			t.Fatal(err)
		}
	})
}

func (lm *lockManager) waitingCount() int {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return len(lm.waiting)
}

package storage

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/tidwall/btree"
)

// lockMode is a lock's strength. Tables take all four (IS and IX are the
// intention locks row-level DML takes; S and X lock the whole table);
// records take S and X.
type lockMode uint8

const (
	lockIS lockMode = iota + 1
	lockIX
	lockShared
	lockExclusive
)

// modeSet is the set of modes one transaction holds on one lock.
type modeSet uint8

func (s modeSet) has(m lockMode) bool { return s&(1<<m) != 0 }

// covers reports whether holding s already grants m: X covers every mode,
// S and IX each cover IS.
func (s modeSet) covers(m lockMode) bool {
	if s.has(m) || s.has(lockExclusive) {
		return true
	}
	return m == lockIS && (s.has(lockShared) || s.has(lockIX))
}

// compatible is InnoDB's table-lock compatibility matrix (record locks use
// its S/X corner).
func compatible(a, b lockMode) bool {
	switch a {
	case lockIS:
		return b != lockExclusive
	case lockIX:
		return b == lockIS || b == lockIX
	case lockShared:
		return b == lockIS || b == lockShared
	}
	return false
}

func (s modeSet) compatibleWith(m lockMode) bool {
	for h := lockIS; h <= lockExclusive; h++ {
		if s.has(h) && !compatible(m, h) {
			return false
		}
	}
	return true
}

// lockKey names a lockable table, or a whole database when table is empty.
// Names are lower-case.
type lockKey struct {
	db, table string
}

func tableKey(db, table string) lockKey {
	return lockKey{db: strings.ToLower(db), table: strings.ToLower(table)}
}

// spaceKey names one set of record locks: the primary key of a table
// (index "") or one of its unique secondary indexes (lower-case name).
type spaceKey struct {
	lockKey
	index string
}

// lockState is one lock: who holds it in which modes. A lockState with
// waiters is never dropped, so a waiter keeps its pointer across waits.
type lockState struct {
	holders map[*txn]modeSet
	waiters int
	// released is closed (and replaced) whenever a holder releases, waking
	// every waiter to try again.
	released chan struct{}
}

func newLockState() *lockState {
	return &lockState{holders: map[*txn]modeSet{}, released: make(chan struct{})}
}

func (st *lockState) idle() bool { return len(st.holders) == 0 && st.waiters == 0 }

// grantable reports whether tx may add m: every other holder's modes are
// compatible with it.
func (st *lockState) grantable(tx *txn, m lockMode) bool {
	for o, s := range st.holders {
		if o != tx && !s.compatibleWith(m) {
			return false
		}
	}
	return true
}

// blockers lists the transactions whose modes keep tx from m.
func (st *lockState) blockers(tx *txn, m lockMode) []*txn {
	var out []*txn
	for o, s := range st.holders {
		if o != tx && !s.compatibleWith(m) {
			out = append(out, o)
		}
	}
	return out
}

// recLock is one record lock: the key (a row with only the key columns
// set) and its state.
type recLock struct {
	key sql.Row
	st  *lockState
}

// recSpace holds the record locks of one spaceKey, ordered (and compared
// for equality) by the key columns exactly as the index orders them, so
// two values the collation makes equal are one lock.
type recSpace struct {
	tree *btree.BTreeG[*recLock]
}

func newRecSpace(cols []keyCol) *recSpace {
	less := func(a, b *recLock) bool { return cmpCols(cols, a.key, b.key) < 0 }
	return &recSpace{tree: btree.NewBTreeGOptions(less, btree.Options{NoLocks: true})}
}

// heldRecord is one record lock a transaction holds, for release.
type heldRecord struct {
	space spaceKey
	rl    *recLock
}

// waitInfo is what a waiting transaction waits for.
type waitInfo struct {
	st   *lockState
	mode lockMode
}

// lockWaitPolicy is what a request does when it cannot be granted at once.
type lockWaitPolicy uint8

const (
	waitNormal     lockWaitPolicy = iota
	waitNoWait                    // fail with 3572 (NOWAIT)
	waitSkipLocked                // report errSkipLocked (SKIP LOCKED)
)

// errSkipLocked is returned instead of waiting under SKIP LOCKED: the
// caller skips the row.
var errSkipLocked = errors.New("storage: record locked (SKIP LOCKED)")

// lockManager grants table and record locks to transactions; both are held
// until the transaction ends. One mutex guards every lock. A wait is
// bounded by the caller's timeout (error 1205) and by its context (KILL
// QUERY: error 1317); a request whose wait would close a cycle in the
// wait-for graph fails at once with a deadlock (error 1213), the requester
// being the victim. Waiters are woken on every release of the lock they
// wait for and try again (no queue order).
type lockManager struct {
	// mu is a leaf: it is released before waiting and never held while
	// another storage lock (the commit lock, cloneMu, autoIncShared.mu) is
	// taken.
	mu      sync.Mutex
	tables  map[lockKey]*lockState
	spaces  map[spaceKey]*recSpace
	waiting map[*txn]waitInfo
}

func newLockManager() *lockManager {
	return &lockManager{tables: map[lockKey]*lockState{}, spaces: map[spaceKey]*recSpace{}, waiting: map[*txn]waitInfo{}}
}

// acquire blocks until tx holds table (or database) key in mode. It returns
// at once when tx already holds a mode covering it.
func (lm *lockManager) acquire(ctx context.Context, tx *txn, key lockKey, mode lockMode, timeout time.Duration, policy lockWaitPolicy) error {
	if tx.held[key].covers(mode) {
		return nil
	}
	lm.mu.Lock()
	st := lm.tables[key]
	if st == nil {
		st = newLockState()
		lm.tables[key] = st
	}
	err := lm.wait(ctx, tx, st, mode, timeout, policy)
	if err == nil {
		if tx.held == nil {
			tx.held = map[lockKey]modeSet{}
		}
		tx.held[key] = st.holders[tx]
	} else if st.idle() {
		delete(lm.tables, key)
	}
	lm.mu.Unlock()
	return err
}

// acquireRecord blocks until tx holds the record lock on key (the key
// columns cols of the row) in space, in mode (lockShared or lockExclusive).
// Under waitSkipLocked a lock that cannot be had at once gives
// errSkipLocked. The caller must hold an intention lock on the table, so
// the key columns cannot change while the space exists.
func (lm *lockManager) acquireRecord(ctx context.Context, tx *txn, space spaceKey, cols []keyCol, row sql.Row, mode lockMode, timeout time.Duration, policy lockWaitPolicy) error {
	key := recordKey(cols, row)
	lm.mu.Lock()
	sp := lm.spaces[space]
	if sp == nil {
		sp = newRecSpace(cols)
		lm.spaces[space] = sp
	}
	rl, ok := sp.tree.Get(&recLock{key: key})
	if !ok {
		rl = &recLock{key: key, st: newLockState()}
		sp.tree.Set(rl)
	}
	had := rl.st.holders[tx] != 0
	err := lm.wait(ctx, tx, rl.st, mode, timeout, policy)
	if err == nil && !had {
		tx.records = append(tx.records, heldRecord{space: space, rl: rl})
	}
	if rl.st.idle() {
		lm.dropRecord(space, sp, rl)
	}
	lm.mu.Unlock()
	return err
}

// recordKey returns the lock key of row: a row with only the key columns
// cols set.
func recordKey(cols []keyCol, row sql.Row) sql.Row {
	key := make(sql.Row, len(row))
	for _, c := range cols {
		key[c.ord] = row[c.ord]
	}
	return key
}

// holdsRecord reports whether tx holds the record lock on row's key cols in
// space in a mode covering mode. It never waits.
func (lm *lockManager) holdsRecord(tx *txn, space spaceKey, cols []keyCol, row sql.Row, mode lockMode) bool {
	key := recordKey(cols, row)
	lm.mu.Lock()
	defer lm.mu.Unlock()
	sp := lm.spaces[space]
	if sp == nil {
		return false
	}
	rl, ok := sp.tree.Get(&recLock{key: key})
	return ok && rl.st.holders[tx].covers(mode)
}

func (lm *lockManager) dropRecord(space spaceKey, sp *recSpace, rl *recLock) {
	sp.tree.Delete(rl)
	if sp.tree.Len() == 0 {
		delete(lm.spaces, space)
	}
}

// wait grants mode on st to tx, waiting as the policy allows. Called and
// returns with lm.mu held.
func (lm *lockManager) wait(ctx context.Context, tx *txn, st *lockState, mode lockMode, timeout time.Duration, policy lockWaitPolicy) error {
	if st.holders[tx].covers(mode) {
		return nil
	}
	var deadline <-chan time.Time
	for {
		if st.grantable(tx, mode) {
			st.holders[tx] |= 1 << mode
			return nil
		}
		switch policy {
		case waitNoWait:
			return errLockNowait()
		case waitSkipLocked:
			return errSkipLocked
		}
		if lm.closesCycle(tx, st, mode) {
			return errDeadlock()
		}
		lm.waiting[tx] = waitInfo{st: st, mode: mode}
		st.waiters++
		ch := st.released
		lm.mu.Unlock()

		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		var err error
		select {
		case <-ch:
		case <-deadline:
			err = errLockWaitTimeout()
		case <-ctx.Done():
			err = errInterrupted()
		}
		lm.mu.Lock()
		st.waiters--
		delete(lm.waiting, tx)
		if err != nil {
			return err
		}
	}
}

// closesCycle reports whether tx waiting for mode on st would wait,
// directly or through others, on itself. Called with lm.mu held.
func (lm *lockManager) closesCycle(tx *txn, st *lockState, mode lockMode) bool {
	seen := map[*txn]bool{}
	stack := st.blockers(tx, mode)
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h == tx {
			return true
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		if w, ok := lm.waiting[h]; ok {
			stack = append(stack, w.st.blockers(h, w.mode)...)
		}
	}
	return false
}

// releaseAll drops every lock tx holds and wakes their waiters.
func (lm *lockManager) releaseAll(tx *txn) {
	if len(tx.held) == 0 && len(tx.records) == 0 {
		return
	}
	lm.mu.Lock()
	for key := range tx.held {
		st := lm.tables[key]
		if st == nil {
			continue
		}
		lm.release(st, tx)
		if st.idle() {
			delete(lm.tables, key)
		}
	}
	for _, h := range tx.records {
		lm.release(h.rl.st, tx)
		if h.rl.st.idle() {
			if sp := lm.spaces[h.space]; sp != nil {
				lm.dropRecord(h.space, sp, h.rl)
			}
		}
	}
	delete(lm.waiting, tx)
	lm.mu.Unlock()
	tx.held = nil
	tx.records = nil
}

func (lm *lockManager) release(st *lockState, tx *txn) {
	delete(st.holders, tx)
	close(st.released)
	st.released = make(chan struct{})
}

// holds reports whether tx holds table key in a mode covering mode.
func (lm *lockManager) holds(tx *txn, key lockKey, mode lockMode) bool {
	return tx.held[key].covers(mode)
}

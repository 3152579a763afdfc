package storage

import (
	"context"
	"strings"
	"sync"
	"time"
)

// lockMode is a table lock's strength.
type lockMode uint8

const (
	lockShared lockMode = iota + 1
	lockExclusive
)

// lockKey names a lockable object: a table, or a whole database when table
// is empty. Names are lower-case.
type lockKey struct {
	db, table string
}

func tableKey(db, table string) lockKey {
	return lockKey{db: strings.ToLower(db), table: strings.ToLower(table)}
}

type lockState struct {
	exclusive *txn
	shared    map[*txn]struct{}
	// released is closed (and replaced) whenever the lock is released, waking
	// every waiter to try again.
	released chan struct{}
}

// lockManager grants table locks to transactions. Locks are held until the
// transaction ends. A wait is bounded by the caller's timeout (error 1205)
// and by its context (KILL QUERY: error 1317); a wait that would close a
// cycle in the wait-for graph fails at once with a deadlock (error 1213).
type lockManager struct {
	mu      sync.Mutex
	locks   map[lockKey]*lockState
	waiting map[*txn]lockKey
}

func newLockManager() *lockManager {
	return &lockManager{locks: map[lockKey]*lockState{}, waiting: map[*txn]lockKey{}}
}

// errLockNoWait is returned for NOWAIT locking reads that would wait.
type lockWaitPolicy uint8

const (
	waitNormal lockWaitPolicy = iota
	waitNoWait
)

// acquire blocks until tx holds key in mode (or stronger). It returns nil at
// once when tx already holds it.
func (lm *lockManager) acquire(ctx context.Context, tx *txn, key lockKey, mode lockMode, timeout time.Duration, policy lockWaitPolicy) error {
	var deadline <-chan time.Time
	for {
		lm.mu.Lock()
		st := lm.locks[key]
		if st == nil {
			st = &lockState{shared: map[*txn]struct{}{}, released: make(chan struct{})}
			lm.locks[key] = st
		}
		if lm.grantable(st, tx, mode) {
			if mode == lockExclusive {
				st.exclusive = tx
				delete(st.shared, tx)
			} else if st.exclusive != tx {
				st.shared[tx] = struct{}{}
			}
			tx.held[key] = struct{}{}
			delete(lm.waiting, tx)
			lm.mu.Unlock()
			return nil
		}
		if policy == waitNoWait {
			lm.mu.Unlock()
			return errLockNowait()
		}
		if lm.closesCycle(tx, st) {
			delete(lm.waiting, tx)
			lm.mu.Unlock()
			return errDeadlock()
		}
		lm.waiting[tx] = key
		ch := st.released
		lm.mu.Unlock()

		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ch:
		case <-deadline:
			lm.stopWaiting(tx)
			return errLockWaitTimeout()
		case <-ctx.Done():
			lm.stopWaiting(tx)
			return errInterrupted()
		}
	}
}

func (lm *lockManager) stopWaiting(tx *txn) {
	lm.mu.Lock()
	delete(lm.waiting, tx)
	lm.mu.Unlock()
}

func (lm *lockManager) grantable(st *lockState, tx *txn, mode lockMode) bool {
	if st.exclusive != nil {
		return st.exclusive == tx
	}
	if mode == lockShared {
		return true
	}
	for o := range st.shared {
		if o != tx {
			return false
		}
	}
	return true
}

// holders lists the transactions other than tx that keep tx from the lock.
func holders(st *lockState, tx *txn) []*txn {
	var out []*txn
	if st.exclusive != nil && st.exclusive != tx {
		out = append(out, st.exclusive)
	}
	for o := range st.shared {
		if o != tx {
			out = append(out, o)
		}
	}
	return out
}

// closesCycle reports whether tx waiting on st would wait, directly or
// through others, on itself. Called with lm.mu held.
func (lm *lockManager) closesCycle(tx *txn, st *lockState) bool {
	seen := map[*txn]bool{}
	stack := holders(st, tx)
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
		if k, ok := lm.waiting[h]; ok {
			if s := lm.locks[k]; s != nil {
				stack = append(stack, holders(s, h)...)
			}
		}
	}
	return false
}

// releaseAll drops every lock tx holds and wakes their waiters.
func (lm *lockManager) releaseAll(tx *txn) {
	if len(tx.held) == 0 {
		return
	}
	lm.mu.Lock()
	for key := range tx.held {
		st := lm.locks[key]
		if st == nil {
			continue
		}
		if st.exclusive == tx {
			st.exclusive = nil
		}
		delete(st.shared, tx)
		close(st.released)
		st.released = make(chan struct{})
		if st.exclusive == nil && len(st.shared) == 0 {
			delete(lm.locks, key)
		}
	}
	delete(lm.waiting, tx)
	lm.mu.Unlock()
	tx.held = map[lockKey]struct{}{}
}

// holds reports whether tx holds key in at least mode.
func (lm *lockManager) holds(tx *txn, key lockKey, mode lockMode) bool {
	if _, ok := tx.held[key]; !ok {
		return false
	}
	if mode == lockShared {
		return true
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	st := lm.locks[key]
	return st != nil && st.exclusive == tx
}

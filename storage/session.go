package storage

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	_ "github.com/dolthub/go-mysql-server/sql/variables" // system variable registry
)

// Session is the GMS session of this engine: a BaseSession that can run
// storage transactions.
type Session struct {
	*sql.BaseSession
	eng *Engine

	// nextGTID is consumed by the next commit (SetNextGTID).
	nextGTID string

	// Locking-read mode of the current statement, parsed once per statement text.
	lockKnown  bool
	lockQuery  string
	lockMode   lockMode
	lockPolicy lockWaitPolicy
	// lockSource: the statement is DML (or CREATE TABLE … SELECT) whose
	// reads of other tables take S record locks (see lockingRead).
	lockSource bool

	// suspended is the transaction GMS last cleared (see SetTransaction).
	suspended *Transaction

	// replicated: the session applies another server's transactions
	// (SetReplicated).
	replicated bool
	// tempDBs maps a lower-case database name to the session's hidden
	// database of its temporary tables (see temporary.go).
	tempDBs map[string]string
}

var _ sql.TransactionSession = (*Session)(nil)

// Transaction is the sql.Transaction of this engine.
type Transaction struct {
	tx         *txn
	savepoints []savepoint
	// keep: CommitTransaction declined to commit; the clearing GMS
	// does next must not end the transaction.
	keep bool
}

type savepoint struct {
	name string
	m    *mark
}

var _ sql.Transaction = (*Transaction)(nil)

func (t *Transaction) String() string { return fmt.Sprintf("storage tx %d", t.tx.id) }

// IsReadOnly implements sql.Transaction.
func (t *Transaction) IsReadOnly() bool { return t.tx.readOnly }

// StartTransaction begins a transaction; its snapshot is taken at its first
// table access.
//
// While a transaction is suspended (see SetTransaction) and the caller runs
// inside it (a statement of a procedure CALLed by a trigger of a running
// statement, or a CALL inside an explicit or autocommit=0 transaction), the
// suspended transaction is handed back: MySQL runs those statements in the
// enclosing transaction.
func (s *Session) StartTransaction(ctx *sql.Context, c sql.TransactionCharacteristic) (sql.Transaction, error) {
	if sp := s.suspended; sp != nil && !sp.tx.done {
		if len(sp.tx.open) > 0 || ctx.GetIgnoreAutoCommit() || !autocommit(ctx) {
			return sp, nil
		}
	}
	return &Transaction{tx: s.eng.newTxn(s, c == sql.ReadOnly)}, nil
}

// spuriousImplicitCommit reports a commit GMS asks for in the middle of a
// transaction the statement must not end: GMS binds a view by binding its
// CREATE VIEW statement, which marks the reading statement as DDL, and
// then commits it as DDL implicitly commits. In an explicit transaction
// (or with autocommit off) the only commits that reach us during a
// statement that MySQL never lets commit implicitly are those.
func spuriousImplicitCommit(ctx *sql.Context) bool {
	if !ctx.GetIgnoreAutoCommit() && autocommit(ctx) {
		return false
	}
	switch firstKeyword(ctx.Query()) {
	case "select", "with", "table", "values", "show", "describe", "desc", "explain",
		"insert", "update", "delete", "replace", "do", "savepoint", "release":
		return true
	}
	return false
}

// firstKeyword is the statement's first word, lower case, after leading
// blanks, parentheses and comments.
func firstKeyword(q string) string {
	w := leadingWords(q, 1)
	if len(w) == 0 {
		return ""
	}
	return w[0]
}

// leadingWords returns up to n of the statement's first words, lower case,
// skipping leading blanks, parentheses and comments (/* … */, -- and #, but
// not an executable /*! … */ comment, whose text is a statement of its own)
// and stopping at the first character that is not a letter or an underscore.
// Every statement sniffer in this package reads the statement through it, so
// that a client's leading comment (`/* app */ ALTER TABLE …`) changes nothing.
func leadingWords(q string, n int) []string {
	var words []string
	for len(words) < n {
		q = strings.TrimLeft(q, " \t\r\n\f\v(")
		switch {
		case strings.HasPrefix(q, "/*") && !strings.HasPrefix(q, "/*!"):
			end := strings.Index(q, "*/")
			if end < 0 {
				return words
			}
			q = q[end+2:]
			continue
		case strings.HasPrefix(q, "--"), strings.HasPrefix(q, "#"):
			end := strings.IndexByte(q, '\n')
			if end < 0 {
				return words
			}
			q = q[end+1:]
			continue
		}
		end := strings.IndexFunc(q, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
		})
		if end < 0 {
			end = len(q)
		}
		if end == 0 {
			return words
		}
		words = append(words, strings.ToLower(q[:end]))
		q = q[end:]
	}
	return words
}

// autocommit reads the session's autocommit (true when unreadable).
func autocommit(ctx *sql.Context) bool {
	on, err := plan.IsSessionAutocommit(ctx)
	return err != nil || on
}

// CommitTransaction commits; it blocks for the binlog fsync and the
// semi-sync wait of the commit hook (see Engine.commit).
func (s *Session) CommitTransaction(ctx *sql.Context, t sql.Transaction) error {
	st, ok := t.(*Transaction)
	if !ok {
		return fmt.Errorf("storage: foreign transaction %T", t)
	}
	if st.tx.inStatement(ctx.Pid()) || spuriousImplicitCommit(ctx) {
		// A statement nested in a running one (a procedure a trigger
		// CALLs) asks for its autocommit, or GMS asks for an implicit
		// commit MySQL would not make: the transaction goes on, and
		// GMS's clearing of it right after is ignored (SetTransaction).
		st.keep = true
		return nil
	}
	st.tx.gtid, s.nextGTID = s.nextGTID, ""
	return s.eng.commit(ctx, st.tx)
}

// AppendCommit is the first half of CommitTransaction, for a committer
// that pipelines (the replica's SQL thread): it returns once t is in the
// binlog and in the newest version, with its locks released, so the
// session's next transaction builds on it (row changes read the newest
// version). finish makes it durable and visible and puts its GTID in
// @@gtid_executed; it blocks for the group fsync and the semi-sync wait,
// returns CommitTransaction's error from them, and must be called exactly
// once (nil: nothing to finish). Until it returns, readers do not see t.
func (s *Session) AppendCommit(ctx *sql.Context, t sql.Transaction) (finish func() error, err error) {
	st, ok := t.(*Transaction)
	if !ok {
		return nil, fmt.Errorf("storage: foreign transaction %T", t)
	}
	st.tx.gtid, s.nextGTID = s.nextGTID, ""
	return s.eng.appendCommit(ctx, st.tx)
}

// LogStatement commits the session's transaction with query recorded after
// its changes as a statement of its own (a DDL change: the binlog writes it
// as one Query event in its own GTID transaction), though the statement
// changed nothing in this engine: account statements, whose effect lives in
// the server's privilege tables, reach the binlog this way. The commit goes
// through the whole pipeline (binlog append, group fsync, semi-sync wait)
// and carries the GTID set by SetNextGTID, if any; its error is returned.
// Like MySQL's implicit commit around such a statement, the changes the
// transaction made before it commit too, and the transaction ends; a
// statement nested in a running one records query and leaves the commit to
// the enclosing statement. Without a transaction of this engine on ctx, one
// is begun for the statement.
func (s *Session) LogStatement(ctx *sql.Context, query string) error {
	st, ok := ctx.GetTransaction().(*Transaction)
	if !ok || st.tx.eng != s.eng {
		st = &Transaction{tx: s.eng.newTxn(s, false)}
		ctx.SetTransaction(st)
	}
	if st.tx.done {
		st.tx = s.eng.newTxn(s, false)
	}
	st.tx.record(Change{Kind: DDL, Query: query, CurrentDB: ctx.GetCurrentDatabase()})
	if st.tx.inStatement(ctx.Pid()) {
		return nil
	}
	st.tx.gtid, s.nextGTID = s.nextGTID, ""
	return s.eng.commit(ctx, st.tx)
}

// SetNextGTID makes the session's next commit carry gtid ("uuid:number")
// into the binlog instead of a new GTID, as SET gtid_next does: the
// replica's applier keeps its source's GTIDs.
func (s *Session) SetNextGTID(gtid string) { s.nextGTID = gtid }

// Rollback discards the transaction and releases its locks.
func (s *Session) Rollback(ctx *sql.Context, t sql.Transaction) error {
	if st, ok := t.(*Transaction); ok {
		st.tx.rollback()
	}
	return nil
}

// CreateSavepoint implements sql.TransactionSession. A name in use moves.
func (s *Session) CreateSavepoint(ctx *sql.Context, t sql.Transaction, name string) error {
	st := t.(*Transaction)
	st.removeSavepoint(name)
	st.savepoints = append(st.savepoints, savepoint{name: name, m: st.tx.mark()})
	return nil
}

// RollbackToSavepoint implements sql.TransactionSession; savepoints made
// after name are removed, as in MySQL.
func (s *Session) RollbackToSavepoint(ctx *sql.Context, t sql.Transaction, name string) error {
	st := t.(*Transaction)
	for i, sp := range st.savepoints {
		if strings.EqualFold(sp.name, name) {
			st.tx.restore(sp.m)
			st.savepoints = st.savepoints[:i+1]
			return nil
		}
	}
	return sql.ErrSavepointDoesNotExist.New(name)
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *Session) ReleaseSavepoint(ctx *sql.Context, t sql.Transaction, name string) error {
	st := t.(*Transaction)
	if !st.removeSavepoint(name) {
		return sql.ErrSavepointDoesNotExist.New(name)
	}
	return nil
}

func (t *Transaction) removeSavepoint(name string) bool {
	for i, sp := range t.savepoints {
		if strings.EqualFold(sp.name, name) {
			t.savepoints = append(t.savepoints[:i], t.savepoints[i+1:]...)
			return true
		}
	}
	return false
}

// txnFor returns the storage transaction of ctx. Contexts without one (GMS
// internals) get a fresh read-only view of the published version.
// DefinitionSeq identifies the definitions (databases, tables, columns,
// keys, checks, foreign keys) the session's statements see now. current is
// true when they are the newest committed ones: the transaction changed no
// definition (markDDL) and no definition changed since its snapshot. While
// the newest committed definitions stay those of seq, DefinitionSeq returns
// seq again; after any commit that may have changed one, a greater value.
// It takes no lock and does not start a snapshot.
func (s *Session) DefinitionSeq(ctx *sql.Context) (seq uint64, current bool) {
	latest := s.eng.latest.Load()
	tx := txnFor(ctx, s.eng)
	if tx.ddl {
		return latest.ddlSeq, false
	}
	seen := tx.snap
	if seen == nil {
		seen = s.eng.published.Load()
	}
	return latest.ddlSeq, seen.ddlSeq == latest.ddlSeq
}

func txnFor(ctx *sql.Context, e *Engine) *txn {
	if ctx != nil && ctx.Session != nil {
		if t, ok := ctx.GetTransaction().(*Transaction); ok && t.tx.eng == e {
			if t.tx.done {
				// GMS may keep using a context after its transaction ended
				// (between statements): begin afresh, as MySQL would.
				t.tx = e.newTxn(t.tx.sess, t.tx.readOnly)
			}
			t.tx.statement(ctx)
			return t.tx
		}
	}
	tx := e.newTxn(nil, true)
	tx.done = false
	return tx
}

// lockingRead returns the lock a statement's reads of tables take (0 for
// plain reads): the mode of SELECT … FOR UPDATE / FOR SHARE / LOCK IN SHARE
// MODE with its NOWAIT or SKIP LOCKED; and S, waiting, for the tables that
// INSERT … SELECT, REPLACE … SELECT, CREATE TABLE … SELECT and UPDATE or
// DELETE (multi-table, or with a subquery) read without writing them, as
// InnoDB's locking reads of a statement's source rows under REPEATABLE READ
// and SERIALIZABLE (the binlog must replay the statement on the same rows).
// Under READ COMMITTED and READ UNCOMMITTED those sources are consistent
// reads that lock nothing. The tables a statement writes are locked X as
// they are scanned (PartitionRows), whatever this returns.
//
// source reports that the mode is that of a statement's sources: the caller
// drops it under READ COMMITTED (readCommitted, looked up only for the reads
// that need it).
func (s *Session) lockingRead(ctx *sql.Context) (mode lockMode, policy lockWaitPolicy, source bool) {
	// The text decides: a session repeating a statement (as prepared
	// statements are) parses it once.
	q := ctx.Query()
	if !s.lockKnown || s.lockQuery != q {
		s.parseLockingRead(q)
	}
	return s.lockMode, s.lockPolicy, s.lockSource
}

// parseLockingRead sets the locking-read fields from statement text q.
func (s *Session) parseLockingRead(q string) {
	s.lockKnown, s.lockQuery, s.lockMode, s.lockPolicy, s.lockSource = true, q, 0, waitNormal, false
	switch firstKeyword(q) {
	case "select", "with":
	case "insert", "replace", "update", "delete", "create":
		s.lockMode, s.lockSource = lockShared, true
		return
	default:
		return
	}
	l := strings.ToLower(q)
	switch {
	case strings.Contains(l, "for update"):
		s.lockMode = lockExclusive
	case strings.Contains(l, "for share"), strings.Contains(l, "lock in share mode"):
		s.lockMode = lockShared
	}
	switch {
	case s.lockMode == 0:
	case strings.Contains(l, "nowait"):
		s.lockPolicy = waitNoWait
	case strings.Contains(l, "skip locked"):
		s.lockPolicy = waitSkipLocked
	}
}

var _ sql.LifecycleAwareSession = (*Session)(nil)

// SetTransaction implements sql.Session.
//
// GMS clears a session's transaction (sets nil) in two cases: after a
// failed autocommit statement, never to use it again, and around a CALL,
// restoring it when the procedure ends. Neither may lose it silently, so a
// cleared transaction is suspended: it comes back if it is set again or
// handed out by StartTransaction; otherwise it is rolled back (releasing
// its locks) when another transaction replaces it, at the end of the
// command, or when the session ends. A clearing right after a commit
// CommitTransaction declined (Transaction.keep) is ignored.
func (s *Session) SetTransaction(t sql.Transaction) {
	cur, _ := s.BaseSession.GetTransaction().(*Transaction)
	if cur != nil && cur.keep {
		cur.keep = false
		if t == nil {
			return
		}
	}
	switch {
	case cur == nil || cur == t:
	case t == nil:
		s.suspend(cur)
	default:
		cur.tx.rollback()
	}
	if t != nil && s.suspended != nil {
		if t != sql.Transaction(s.suspended) {
			s.suspended.tx.rollback()
		}
		s.suspended = nil
	}
	s.BaseSession.SetTransaction(t)
}

func (s *Session) suspend(t *Transaction) {
	if s.suspended != nil && s.suspended != t {
		s.suspended.tx.rollback()
	}
	s.suspended = t
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *Session) CommandBegin() error { return nil }

// CommandEnd rolls back a transaction left suspended by the command (a
// failed autocommit statement's).
func (s *Session) CommandEnd() {
	if s.suspended != nil {
		s.suspended.tx.rollback()
		s.suspended = nil
	}
}

// SessionEnd rolls back the open transaction of a closed connection and
// drops its temporary tables.
func (s *Session) SessionEnd() {
	s.CommandEnd()
	if cur, ok := s.BaseSession.GetTransaction().(*Transaction); ok {
		cur.tx.rollback()
	}
	s.dropTempDBs()
}

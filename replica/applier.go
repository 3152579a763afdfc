package replica

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/storage"
)

// Transaction is one source transaction read back from the relay log (the
// binlog's own type: recovery and the SQL thread share it, and this package's
// EngineApplier applies both). File is the source binlog file.
type Transaction = binlog.Transaction

// TxEvent is one event of a Transaction.
type TxEvent = binlog.TxEvent

// Applier applies source transactions to the replica's data; the SQL thread
// calls it once per transaction, in order, from one goroutine.
type Applier interface {
	// Apply applies tx atomically and commits it with tx.GTID (when set), so
	// that the replica's @@gtid_executed records the transaction in the same
	// commit as its changes. A failure leaves nothing applied and is an
	// *ApplyError carrying MySQL's error number and the text SHOW REPLICA
	// STATUS shows in Last_SQL_Error.
	//
	// Apply may return before the commit is complete (pipelining: the next
	// transaction is applied while this one's fsync runs). Then finish is
	// non-nil: the commit is durable, visible and in @@gtid_executed once
	// finish returns nil, and finish's error (an *ApplyError) is the
	// commit's failure. The caller calls each finish exactly once, in
	// commit order, from one goroutine (not necessarily Apply's); Apply
	// may be called for later transactions before that. A transaction
	// that holds a DDL statement is applied only when every earlier
	// finish has returned, and returns no finish.
	Apply(ctx context.Context, tx *Transaction) (finish func() error, err error)
}

// ApplyNow applies tx through a and waits for its commit to complete.
func ApplyNow(ctx context.Context, a Applier, tx *Transaction) error {
	finish, err := a.Apply(ctx, tx)
	if err != nil || finish == nil {
		return err
	}
	return finish()
}

// ApplyError is an applier failure as MySQL's SQL thread reports it.
type ApplyError struct {
	Code    int
	Message string
}

func (e *ApplyError) Error() string { return e.Message }

// EngineApplier is the Applier of a semisyncd server: row events go through
// the storage engine's apply API (by row image, as binlog recovery does),
// QUERY events (DDL) through the SQL engine with the statement's default
// database. Both commit through the storage engine, so the server's binlog
// writes the transaction with the source's GTID (log_replica_updates).
type EngineApplier struct {
	Engine  *sqle.Engine
	Storage *storage.Engine
	// User is the account statements run as (every privilege).
	User string
	// SkipAccountStatements makes Apply skip account statements (CREATE USER, GRANT, …: see
	// IsAccountStatement): binlog recovery sets it, because the accounts they made are kept
	// in the server's privilege tables, not rebuilt from the binlog. The SQL thread runs them.
	SkipAccountStatements bool
	// MapError, when set, turns an error of a statement (and its text) into the error a
	// MySQL server gives for it, whose number and message the SQL thread reports.
	MapError func(err error, query string) error
	// Replica: every transaction comes from another server (the SQL
	// thread). Otherwise (binlog replay at start) a transaction comes from
	// another server when its GTID's UUID is not LocalUUID. Events such a
	// transaction creates or alters are stored SLAVESIDE_DISABLED, as
	// MySQL's replica stores them (storage.Session.SetReplicated).
	Replica   bool
	LocalUUID string

	pid  atomic.Uint64
	sess *storage.Session // reused by every transaction (Apply is not concurrent)
}

var _ Applier = (*EngineApplier)(nil)

// session returns a context on the applier's session (made once: a new
// session copies every system variable), with db as the default database
// and query as the statement text (DDL is logged with it).
func (a *EngineApplier) session(parent context.Context, db, query string) (*sql.Context, *storage.Session) {
	if a.sess == nil {
		user := a.User
		if user == "" {
			user = "root"
		}
		a.sess = a.Storage.NewSession(sql.NewBaseSessionWithClientServer("replica", sql.Client{User: user, Address: "localhost"}, 0)).(*storage.Session)
	}
	ctx := sql.NewContext(parent, sql.WithSession(a.sess), sql.WithQuery(query), sql.WithPid(a.pid.Add(1)))
	ctx.SetCurrentDatabase(db)
	return ctx, a.sess
}

// Apply implements Applier. A transaction is one DDL statement or a group
// of row events (what MySQL 8.0 and semisyncd sources write); should one
// mix both, the parts are applied in order and the GTID goes with the last.
// Only a transaction that is all row events returns a finish.
func (a *EngineApplier) Apply(parent context.Context, tx *Transaction) (finish func() error, err error) {
	var parts [][]TxEvent
	for i, ev := range tx.Events {
		if ev.Query != nil || i == 0 || tx.Events[i-1].Query != nil {
			parts = append(parts, nil)
		}
		parts[len(parts)-1] = append(parts[len(parts)-1], ev)
	}
	for i, part := range parts {
		gtid := ""
		if i == len(parts)-1 {
			gtid = tx.GTID
		}
		if part[0].Query != nil {
			if err := a.applyQuery(parent, tx, part[0], gtid); err != nil {
				return nil, err
			}
			continue
		}
		f, err := a.applyRows(parent, tx, part, gtid)
		if err != nil {
			return nil, err
		}
		if i == len(parts)-1 {
			return f, nil
		}
		// A statement follows: it must see these rows.
		if err := f(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// applyQuery runs a DDL statement (a transaction of its own) with the
// source's GTID.
func (a *EngineApplier) applyQuery(parent context.Context, tx *Transaction, ev TxEvent, gtid string) error {
	q := ev.Query
	if a.SkipAccountStatements && IsAccountStatement(q.SQL) {
		return nil
	}
	ctx, sess := a.session(parent, q.DB, q.SQL)
	sess.SetReplicated(a.fromElsewhere(tx.GTID))
	defer sess.SetReplicated(false)
	if gtid != "" {
		sess.SetNextGTID(gtid)
	}
	_, iter, _, err := a.Engine.Query(ctx, q.SQL)
	if err == nil {
		_, err = sql.RowIterToRows(ctx, iter)
	}
	if err != nil {
		if a.MapError != nil {
			err = a.MapError(err, q.SQL)
		}
		code, msg := errorCode(err)
		return &ApplyError{Code: code, Message: fmt.Sprintf("Error '%s' on query. Default database: '%s'. Query: '%s'", msg, q.DB, q.SQL)}
	}
	return nil
}

// fromElsewhere reports whether the transaction of this GTID was made by
// another server (see Replica).
func (a *EngineApplier) fromElsewhere(gtid string) bool {
	if a.Replica {
		return true
	}
	uuid, _, ok := strings.Cut(gtid, ":")
	return ok && a.LocalUUID != "" && !strings.EqualFold(uuid, a.LocalUUID)
}

// applyRows applies a row-based transaction in one storage transaction and
// appends its commit; finish completes the commit (see Applier).
func (a *EngineApplier) applyRows(parent context.Context, tx *Transaction, evs []TxEvent, gtid string) (finish func() error, err error) {
	ctx, sess := a.session(parent, "", "")
	stx, err := sess.StartTransaction(ctx, sql.ReadWrite)
	if err != nil {
		return nil, &ApplyError{Code: mysql.ERUnknownError, Message: err.Error()}
	}
	ctx.SetTransaction(stx)
	defer func() {
		if err != nil {
			_ = sess.Rollback(ctx, stx)
			ctx.SetTransaction(nil)
		}
	}()
	schema := func(db, table string) (sql.Schema, bool) {
		pks, ok := sess.TableSchema(ctx, db, table)
		return pks.Schema, ok
	}
	maps := map[uint64]*binlog.TableMapEvent{}
	for _, ev := range evs {
		if ev.TableMap != nil {
			maps[ev.TableMap.TableID] = ev.TableMap
			continue
		}
		if ev.Rows == nil {
			continue
		}
		tm := maps[ev.Rows.TableID]
		if tm == nil {
			return nil, &ApplyError{Code: 1593, Message: fmt.Sprintf("Fatal error: rows event for unknown table id %d; the event's source log %s, end_log_pos %d", ev.Rows.TableID, tx.File, ev.EndPos)}
		}
		if _, ok := schema(tm.DB, tm.Table); !ok {
			return nil, &ApplyError{Code: 1146, Message: fmt.Sprintf("Error executing row event: 'Table '%s.%s' doesn't exist'", tm.DB, tm.Table)}
		}
		one := binlog.Transaction{Events: []binlog.TxEvent{{TableMap: tm}, {Rows: ev.Rows}}}
		changes, derr := one.Changes(schema)
		if derr != nil {
			return nil, &ApplyError{Code: 1593, Message: fmt.Sprintf("Fatal error: could not decode %s event on table %s.%s: %v; the event's source log %s, end_log_pos %d",
				rowsEventName(ev.Rows.Type), tm.DB, tm.Table, derr, tx.File, ev.EndPos)}
		}
		for _, ch := range changes {
			if aerr := sess.ApplyRowChange(ctx, ch); aerr != nil {
				code, msg := errorCode(aerr)
				text := fmt.Sprintf("Could not execute %s event on table %s.%s; %s, Error_code: %d;", rowsEventName(ev.Rows.Type), tm.DB, tm.Table, msg, code)
				if h := handlerError(code); h != "" {
					text += " handler error " + h + ";"
				}
				text += fmt.Sprintf(" the event's source log %s, end_log_pos %d", tx.File, ev.EndPos)
				return nil, &ApplyError{Code: code, Message: text}
			}
		}
	}
	if gtid != "" {
		sess.SetNextGTID(gtid)
	}
	commitFailed := func(cerr error) error {
		code, msg := errorCode(cerr)
		return &ApplyError{Code: code, Message: fmt.Sprintf("Error in Xid_log_event: Commit could not be completed, '%s', Error_code: %d; the event's source log %s", msg, code, tx.File)}
	}
	done, cerr := sess.AppendCommit(ctx, stx)
	if cerr != nil {
		return nil, commitFailed(cerr)
	}
	ctx.SetTransaction(nil)
	return func() error {
		if done == nil {
			return nil
		}
		if err := done(); err != nil {
			return commitFailed(err)
		}
		return nil
	}, nil
}

// accountStatements are the leading keywords of MySQL's account-management statements.
var accountStatements = [][]string{
	{"CREATE", "USER"}, {"ALTER", "USER"}, {"DROP", "USER"}, {"RENAME", "USER"},
	{"CREATE", "ROLE"}, {"DROP", "ROLE"}, {"GRANT"}, {"REVOKE"},
	{"SET", "PASSWORD"}, {"SET", "DEFAULT", "ROLE"},
}

// IsAccountStatement reports whether query is an account-management statement (CREATE,
// ALTER, DROP or RENAME USER, CREATE or DROP ROLE, GRANT, REVOKE, SET PASSWORD, SET DEFAULT
// ROLE), judged by its first words after white space and comments.
func IsAccountStatement(query string) bool {
	words := leadingWords(query, 3)
	for _, kw := range accountStatements {
		if len(words) < len(kw) {
			continue
		}
		match := true
		for i, w := range kw {
			if !strings.EqualFold(words[i], w) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// leadingWords returns up to n leading words of q, skipping white space and /* */, -- and #
// comments (an executable /*! comment's text is read as words).
func leadingWords(q string, n int) []string {
	var out []string
	for i := 0; i < len(q) && len(out) < n; {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '(':
			i++
		case strings.HasPrefix(q[i:], "/*!"):
			i += 3
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
		case strings.HasPrefix(q[i:], "*/"):
			i += 2
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case c == '#' || strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return out
			}
			i += end + 1
		default:
			j := i
			for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z') {
				j++
			}
			if j == i {
				return out
			}
			out = append(out, q[i:j])
			i = j
		}
	}
	return out
}

// rowsEventName is MySQL's name for a rows event type in error messages.
func rowsEventName(typ byte) string {
	switch typ {
	case binlog.WRITE_ROWS_EVENT:
		return "Write_rows"
	case binlog.UPDATE_ROWS_EVENT:
		return "Update_rows"
	case binlog.DELETE_ROWS_EVENT:
		return "Delete_rows"
	}
	return "Rows"
}

// handlerError is the storage-engine error MySQL names beside a row
// event's error number.
func handlerError(code int) string {
	switch code {
	case 1062:
		return "HA_ERR_FOUND_DUPP_KEY"
	case 1032:
		return "HA_ERR_KEY_NOT_FOUND"
	}
	return ""
}

// errorCode returns MySQL's error number and message for an engine error.
func errorCode(err error) (int, string) {
	for e := err; e != nil; {
		if uk, ok := e.(sql.UniqueKeyError); ok {
			return mysql.ERDupEntry, uk.Error()
		}
		switch c := e.(type) {
		case interface{ Cause() error }:
			e = c.Cause()
		case interface{ Unwrap() error }:
			e = c.Unwrap()
		default:
			e = nil
		}
	}
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num, se.Message
	}
	se = sql.CastSQLError(err)
	msg := se.Message
	// GMS prefixes some messages with the kind; MySQL's text follows it.
	if i := strings.Index(msg, ": Duplicate entry"); i >= 0 {
		msg = msg[i+2:]
	}
	return se.Num, msg
}

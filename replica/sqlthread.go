package replica

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/sirupsen/logrus"
)

// The SQL thread (MySQL's applier): it reads complete transactions from the
// relay log and applies each through the Applier, committed with the
// source's GTID.
//
// Exactly once: the GTID is written to this server's binlog in the same
// commit as the data, so @@gtid_executed is the applied position, atomic
// with the data. The relay-log position (Relay_Log_Pos, Exec_Source_Log_Pos)
// is saved after the commit, at most every savePeriod and when the thread
// stops; after a crash it may lag, and the transactions between it and the
// data are recognised by their GTIDs and skipped.

// savePeriod bounds how often the SQL thread rewrites the replica's
// metadata file while it applies.
const savePeriod = 200 * time.Millisecond

// Error numbers of the SQL thread.
const (
	erRelayReadFail = 13121 // ER_REPLICA_RELAY_LOG_READ_FAILURE
)

type sqlThread struct {
	r    *Replica
	log  *logrus.Entry
	pos  RelayPos        // where the next transaction starts
	exec binlog.Position // source position of the last applied transaction

	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}
	// ctx is what transactions are applied under; interrupt cancels it.
	ctx       context.Context
	interrupt context.CancelFunc
}

func newSQLThread(r *Replica, pos RelayPos, exec binlog.Position) *sqlThread {
	ctx, cancel := context.WithCancel(context.Background())
	return &sqlThread{r: r, log: r.log.WithField("thread", "sql"), pos: pos, exec: exec,
		stopCh: make(chan struct{}), done: make(chan struct{}), ctx: ctx, interrupt: cancel}
}

// stopAndWait asks the thread to stop after the transaction it is applying
// and waits for it (STOP REPLICA). With interrupt, the transaction is
// interrupted instead — its lock waits end at once — and rolled back; it
// is applied again at the next start (server shutdown).
func (t *sqlThread) stopAndWait(interrupt bool) {
	t.stopOnce.Do(func() { close(t.stopCh) })
	if interrupt {
		t.interrupt()
	}
	<-t.done
	t.interrupt()
}

func (t *sqlThread) stopped() bool {
	select {
	case <-t.stopCh:
		return true
	default:
		return false
	}
}

// fail records Last_SQL_Errno/Error; the thread then ends.
func (t *sqlThread) fail(code int, msg string) {
	t.log.WithFields(logrus.Fields{"errno": code, "relay_log_file": t.pos.File, "relay_log_pos": t.pos.Pos}).Error(msg)
	t.r.sqlUpdate(func(s *sqlStatus) { s.errno, s.err, s.errTime = code, msg, time.Now() })
}

func (t *sqlThread) save() {
	if err := t.r.saveSQLPos(t.pos, t.exec); err != nil {
		t.log.WithError(err).Warn("could not save the applier position")
		return
	}
	if err := t.r.relay.PurgeBefore(t.pos.File); err != nil {
		t.log.WithError(err).Warn("could not purge applied relay log files")
	}
}

// threadStop is why the apply loop ended early: an error to record as
// Last_SQL_Error (code 0: none, a shutdown interrupt), and the relay-log
// position to stay at (nil: after the last complete unit).
type threadStop struct {
	code int
	msg  string
	at   *RelayPos
}

// run applies transactions until stopped or an error.
func (t *sqlThread) run() {
	defer close(t.done)
	defer t.r.sqlEnded(t)
	t.log.WithFields(logrus.Fields{"relay_log_file": t.pos.File, "relay_log_pos": t.pos.Pos, "exec_source_log_file": t.exec.File, "exec_source_log_pos": t.exec.Pos}).
		Info("replica SQL thread started")
	defer t.log.Info("replica SQL thread exiting")

	rr := &relayReader{relay: t.r.relay}
	defer rr.close()
	if err := rr.open(t.pos); err != nil {
		t.fail(erRelayReadFail, fmt.Sprintf("Relay log read failure: Could not parse relay log event entry. %v", err))
		return
	}
	// The relay log has a header of its own: start after it.
	t.pos = rr.pos()
	q := newCommitQueue(t.r, t.pos, t.exec)
	stop, dirty := t.apply(rr, q)

	// Every commit the loop appended completes (or fails) before the
	// thread records where it stopped.
	pos, exec, failure := q.close()
	t.pos, t.exec = pos, exec
	switch {
	case failure != nil:
		// The earliest failure wins: later transactions were never
		// complete. START REPLICA retries from the failed one.
		t.pos = failure.start
		var ae *ApplyError
		if errors.As(failure.err, &ae) {
			t.fail(ae.Code, ae.Message)
		} else {
			t.fail(erReplicaFatal, "Fatal error: "+failure.err.Error())
		}
		dirty = true
	case stop != nil:
		if stop.at != nil {
			t.pos = *stop.at
			dirty = true
		}
		if stop.code != 0 {
			t.fail(stop.code, stop.msg)
		}
	}
	if dirty {
		t.save()
	}
}

// apply is the SQL thread's loop: it reads units from the relay log,
// applies their transactions and queues their commits on q, until stopped
// (nil) or an error (its threadStop). dirty reports whether positions were
// queued since the last save.
func (t *sqlThread) apply(rr *relayReader, q *commitQueue) (stop *threadStop, dirty bool) {
	applied := t.r.executed()
	lastSave := time.Now()
	// saveCompleted saves the position of the units complete so far; units
	// still pending keep the position dirty.
	saveCompleted := func() {
		busy := q.busy()
		t.pos, t.exec, _ = q.completed()
		t.save()
		dirty, lastSave = busy, time.Now()
	}

	var (
		tt      txTracker
		tx      *Transaction
		txStart RelayPos
		txTS    uint32
		gtid    *binlog.GTIDEvent
		execAt  = t.exec // source position as events are read
	)
	for {
		readable, changed := t.r.relay.Readable()
		ev, h, body, err := rr.next(readable)
		if err == errCaughtUp {
			if q.busy() {
				// Commits are finishing: the thread is caught up once
				// they are complete (or more arrives meanwhile).
				select {
				case <-changed:
				case <-q.idleCh():
				case <-t.stopCh:
					return nil, dirty
				}
				continue
			}
			if _, _, f := q.completed(); f != nil {
				return nil, dirty
			}
			// Caught up: a position not saved yet is saved once savePeriod
			// has passed since the last save, whether more arrives or not.
			var timer *time.Timer
			var due <-chan time.Time
			if dirty {
				wait := savePeriod - time.Since(lastSave)
				if wait <= 0 {
					saveCompleted()
				} else {
					timer = time.NewTimer(wait)
					due = timer.C
				}
			}
			t.r.sqlUpdate(func(s *sqlStatus) {
				s.caughtUp, s.state = true, "Replica has read all relay log; waiting for more updates"
			})
			select {
			case <-changed:
			case <-due:
			case <-t.stopCh:
				if timer != nil {
					timer.Stop()
				}
				return nil, dirty
			}
			if timer != nil {
				timer.Stop()
			}
			continue
		}
		if err != nil {
			return &threadStop{code: erRelayReadFail, msg: fmt.Sprintf("Relay log read failure: Could not parse relay log event entry. The possible reasons are: the source's binary log is corrupted, or the relay log is corrupted (%v)", err)}, dirty
		}
		if tx != nil && (h.Type == binlog.GTID_LOG_EVENT || h.Type == binlog.ANONYMOUS_GTID_LOG_EVENT) {
			// A transaction that never ended (a relay log written by an
			// older version, or damaged): drop it, as MySQL's applier
			// rolls back a group cut by a new GTID.
			t.log.WithField("gtid", gtidString(gtid)).Warn("relay log transaction without its end; skipped")
			tx, gtid = nil, nil
		}
		if tx == nil {
			txStart = RelayPos{File: rr.fr.Name(), Pos: rr.fr.Pos() - uint64(len(ev))}
			txTS = h.Timestamp
		}
		switch h.Type {
		case binlog.ROTATE_EVENT:
			if rp, err := binlog.ParseRotate(body); err == nil {
				execAt = rp
			}
		case binlog.FORMAT_DESCRIPTION_EVENT, binlog.PREVIOUS_GTIDS_LOG_EVENT:
		case binlog.GTID_LOG_EVENT:
			if g, err := binlog.ParseGTID(body); err == nil {
				gtid = &g
			}
			fallthrough
		default:
			if h.LogPos != 0 {
				execAt.Pos = uint64(h.LogPos)
			}
		}
		if !supportedEvent(h) {
			at := RelayPos{File: rr.fr.Name(), Pos: rr.fr.Pos() - uint64(len(ev))}
			if tx != nil {
				at = txStart
			}
			return &threadStop{code: erReplicaFatal, at: &at, msg: fmt.Sprintf("Fatal error: this replica cannot apply %s (event type %d) at relay log %s position %d; the event's source log %s, end_log_pos %d",
				eventName(h.Type), h.Type, rr.fr.Name(), rr.fr.Pos()-uint64(len(ev)), execAt.File, h.LogPos)}, dirty
		}
		wasInTx := tt.InTransaction()
		end := tt.Feed(h.Type, body)
		if tt.InTransaction() || (end && wasInTx) || (end && h.Type == binlog.QUERY_EVENT) {
			if tx == nil {
				tx = &Transaction{File: execAt.File}
				t.r.sqlUpdate(func(s *sqlStatus) {
					s.caughtUp, s.eventTS, s.state = false, txTS, "Applying a transaction"
				})
			}
			switch h.Type {
			case binlog.QUERY_EVENT:
				if q, err := binlog.ParseQuery(body); err == nil && !commentOnly(q.SQL) {
					switch upper(q.SQL) {
					case "BEGIN", "COMMIT":
					default:
						tx.Events = append(tx.Events, TxEvent{EndPos: h.LogPos, Query: &q})
					}
				}
			case binlog.TABLE_MAP_EVENT:
				tm, err := binlog.ParseTableMap(body)
				if err != nil {
					return &threadStop{code: erRelayReadFail, msg: fmt.Sprintf("Relay log read failure: Could not parse relay log event entry (%v)", err)}, dirty
				}
				tx.Events = append(tx.Events, TxEvent{EndPos: h.LogPos, TableMap: &tm})
			case binlog.WRITE_ROWS_EVENT, binlog.UPDATE_ROWS_EVENT, binlog.DELETE_ROWS_EVENT,
				writeRowsEventV1, updateRowsEventV1, deleteRowsEventV1:
				typ, body := rowsV2(h.Type, body)
				re, err := binlog.ParseRows(typ, body)
				if err != nil {
					return &threadStop{code: erRelayReadFail, msg: fmt.Sprintf("Relay log read failure: Could not parse relay log event entry (%v)", err)}, dirty
				}
				tx.Events = append(tx.Events, TxEvent{EndPos: h.LogPos, Rows: &re})
			}
		}
		if !end {
			continue
		}
		// A unit ends here: apply the transaction if there is one.
		u := queuedUnit{start: txStart}
		if tx != nil {
			tx.GTID = gtidString(gtid)
			u.gtid = tx.GTID
			skip := gtid != nil && applied.Contains(gtid.SID, gtid.GNO)
			if !skip {
				if hasQuery(tx) {
					// A statement sees every earlier transaction.
					if _, _, f := q.settle(); f != nil {
						return nil, dirty
					}
				}
				finish, err := t.r.cfg.Applier.Apply(t.ctx, tx)
				if err != nil {
					// The position stays before the failed transaction:
					// START REPLICA retries it.
					at := txStart
					var ae *ApplyError
					switch {
					case t.ctx.Err() != nil:
						t.log.WithField("gtid", tx.GTID).Info("transaction interrupted by shutdown; it is applied again at the next start")
						return &threadStop{at: &at}, dirty
					case errors.As(err, &ae):
						return &threadStop{code: ae.Code, msg: ae.Message, at: &at}, dirty
					default:
						return &threadStop{code: erReplicaFatal, msg: "Fatal error: " + err.Error(), at: &at}, dirty
					}
				}
				u.finish = finish
				if gtid != nil {
					applied.Add(gtid.SID, gtid.GNO)
				}
			} else {
				t.log.WithField("gtid", tx.GTID).Debug("skipping a transaction already executed")
			}
			tx, gtid = nil, nil
		}
		u.pos, u.exec = rr.pos(), execAt
		q.push(u)
		dirty = true
		if time.Since(lastSave) >= savePeriod {
			saveCompleted()
		}
		if t.stopped() {
			return nil, dirty
		}
	}
}

// hasQuery reports whether tx holds a statement (DDL).
func hasQuery(tx *Transaction) bool {
	for _, ev := range tx.Events {
		if ev.Query != nil {
			return true
		}
	}
	return false
}

// Event types the SQL thread knows beyond binlog's constants.
const (
	intvarEvent             byte = 5
	randEvent               byte = 13
	userVarEvent            byte = 14
	rowsQueryEvent          byte = 29
	partialUpdateRowsEvent  byte = 39
	transactionPayloadEvent      = binlog.TRANSACTION_PAYLOAD_EVENT
)

// logEventIgnorableF marks an event a replica may skip when it does not know
// its type.
const logEventIgnorableF uint16 = 0x0080

// supportedEvent reports whether the SQL thread can apply (or may skip) an
// event. Compressed transactions (binlog_transaction_compression), partial
// JSON updates (binlog_row_value_options=PARTIAL_JSON), XA and other
// unknown types stop it with an error rather than being lost.
func supportedEvent(h binlog.Header) bool {
	switch h.Type {
	case binlog.FORMAT_DESCRIPTION_EVENT, binlog.PREVIOUS_GTIDS_LOG_EVENT, binlog.ROTATE_EVENT,
		binlog.GTID_LOG_EVENT, binlog.ANONYMOUS_GTID_LOG_EVENT, binlog.QUERY_EVENT, binlog.XID_EVENT,
		binlog.TABLE_MAP_EVENT, binlog.WRITE_ROWS_EVENT, binlog.UPDATE_ROWS_EVENT, binlog.DELETE_ROWS_EVENT,
		writeRowsEventV1, updateRowsEventV1, deleteRowsEventV1,
		intvarEvent, randEvent, userVarEvent, rowsQueryEvent, binlog.STOP_EVENT, binlog.HEARTBEAT_LOG_EVENT:
		return true
	}
	return h.Flags&logEventIgnorableF != 0
}

// eventName names an event type in error messages.
func eventName(typ byte) string {
	switch typ {
	case partialUpdateRowsEvent:
		return "a Partial_update_rows event (binlog_row_value_options=PARTIAL_JSON)"
	case transactionPayloadEvent:
		return "a Transaction_payload event (binlog_transaction_compression)"
	}
	return "an event of an unsupported type"
}

// Version 1 rows events (MySQL 5.1–5.5, and MariaDB, which still writes
// them): the v2 layout without the extra-data block.
const (
	writeRowsEventV1  byte = 23
	updateRowsEventV1 byte = 24
	deleteRowsEventV1 byte = 25
)

// rowsV2 returns a rows event body in the v2 layout: a v1 body gets an
// empty extra-data block (its length, 2, counts itself) after the table id
// and flags.
func rowsV2(typ byte, body []byte) (byte, []byte) {
	if typ < writeRowsEventV1 || typ > deleteRowsEventV1 || len(body) < 8 {
		return typ, body
	}
	v2 := make([]byte, 0, len(body)+2)
	v2 = append(v2, body[:8]...)
	v2 = append(v2, 2, 0)
	v2 = append(v2, body[8:]...)
	return typ - writeRowsEventV1 + binlog.WRITE_ROWS_EVENT, v2
}

// commentOnly reports whether a QUERY event holds nothing but comments:
// MariaDB sends such "# Dummy event replacing event type …" queries in place
// of its own events to replicas that do not announce MariaDB capabilities.
// Executable comments (/*! … */) are statements.
func commentOnly(q string) bool {
	for {
		q = strings.TrimLeft(q, " \t\r\n")
		switch {
		case q == "":
			return true
		case strings.HasPrefix(q, "#"), strings.HasPrefix(q, "-- "):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return true
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*") && !strings.HasPrefix(q, "/*!"):
			i := strings.Index(q[2:], "*/")
			if i < 0 {
				return true
			}
			q = q[i+4:]
		default:
			return false
		}
	}
}

func gtidString(g *binlog.GTIDEvent) string {
	if g == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", g.SID, g.GNO)
}

func upper(s string) string {
	b := []byte(s)
	start, end := 0, len(b)
	for start < end && (b[start] == ' ' || b[start] == '\n' || b[start] == '\t' || b[start] == '\r') {
		start++
	}
	for end > start && (b[end-1] == ' ' || b[end-1] == '\n' || b[end-1] == '\t' || b[end-1] == '\r' || b[end-1] == ';') {
		end--
	}
	b = b[start:end]
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

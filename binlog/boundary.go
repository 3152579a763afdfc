package binlog

import "strings"

// TRANSACTION_PAYLOAD_EVENT is MySQL 8.0's compressed transaction: it holds
// the whole rest of its transaction.
const TRANSACTION_PAYLOAD_EVENT byte = 40

// TxBoundary follows transaction boundaries in an event stream, as MySQL
// groups events: GTID, then either one DDL QUERY, or QUERY "BEGIN" … XID /
// QUERY "COMMIT". Outside a transaction every event is a unit of its own
// (ROTATE, FORMAT_DESCRIPTION, …). It is the one rule for where a
// transaction ends: recovery, the dump (which asks for an ACK at each end)
// and the replica's IO and SQL threads and relay-log recovery use it. The
// zero value is at a boundary.
type TxBoundary struct {
	inTx  bool // between GTID (or BEGIN) and the transaction's end
	begun bool // BEGIN seen
}

// Feed takes one event (type and body, checksum stripped) and reports
// whether it ends a unit: after it the stream is at a transaction boundary.
func (t *TxBoundary) Feed(typ byte, body []byte) bool {
	switch typ {
	case GTID_LOG_EVENT, ANONYMOUS_GTID_LOG_EVENT:
		t.inTx, t.begun = true, false
		return false
	case QUERY_EVENT:
		q, err := ParseQuery(body)
		if err != nil {
			return !t.inTx
		}
		switch s := strings.ToUpper(strings.TrimSpace(q.SQL)); {
		case s == "BEGIN":
			t.inTx, t.begun = true, true
			return false
		case s == "COMMIT":
			t.inTx, t.begun = false, false
			return true
		case t.begun:
			return false // a statement inside BEGIN … COMMIT
		default:
			t.inTx = false // DDL: a transaction of its own
			return true
		}
	case XID_EVENT, TRANSACTION_PAYLOAD_EVENT:
		t.inTx, t.begun = false, false
		return true
	}
	return !t.inTx
}

// InTransaction reports whether the stream is inside a transaction.
func (t *TxBoundary) InTransaction() bool { return t.inTx }

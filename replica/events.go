package replica

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
)

// Events the replica makes itself (the relay log's own FORMAT_DESCRIPTION,
// PREVIOUS_GTIDS and ROTATE events), checksum normalisation of received
// events, and the transaction-boundary rules shared by the IO thread, the
// SQL thread and relay-log recovery.

// relayServerVersion is what the relay log's FORMAT_DESCRIPTION_EVENT says
// wrote the file.
const relayServerVersion = "8.0.40-semisyncd"

// fdePostHeaderLengths is MySQL 8.0's post-header-length table (event types
// 1..41), as a MySQL 8.0 server writes it in a FORMAT_DESCRIPTION_EVENT.
// Readers of our relay log (mysqlbinlog, SHOW RELAYLOG EVENTS) use it to
// decode the source's events, which are stored unchanged.
var fdePostHeaderLengths = []byte{
	0x38, 0x0d, 0x00, 0x08, 0x00, 0x12, 0x00, 0x04, 0x04, 0x04,
	0x04, 0x12, 0x00, 0x00, 0x5c, 0x00, 0x04, 0x1a, 0x08, 0x00,
	0x00, 0x00, 0x08, 0x08, 0x08, 0x02, 0x00, 0x00, 0x00, 0x0a,
	0x0a, 0x0a, 0x19, 0x19, 0x00, 0x12, 0x34, 0x00, 0x0a, 0x28,
	0x00,
}

// makeEvent builds one v4 event with a CRC32 trailer. logPos is the
// event's end position as it should be recorded (relay-log offset for the
// relay log's own events, 0 for artificial ones).
func makeEvent(typ byte, serverID, logPos uint32, flags uint16, body []byte) []byte {
	ev := make([]byte, binlog.HeaderLen, binlog.HeaderLen+len(body)+binlog.ChecksumLen)
	binary.LittleEndian.PutUint32(ev[0:], uint32(time.Now().Unix()))
	ev[4] = typ
	binary.LittleEndian.PutUint32(ev[5:], serverID)
	binary.LittleEndian.PutUint32(ev[13:], logPos)
	binary.LittleEndian.PutUint16(ev[17:], flags)
	ev = append(ev, body...)
	binary.LittleEndian.PutUint32(ev[9:], uint32(len(ev)+binlog.ChecksumLen))
	return binary.LittleEndian.AppendUint32(ev, crc32.ChecksumIEEE(ev))
}

// formatDescriptionEvent is the relay log's FORMAT_DESCRIPTION_EVENT: every
// event in a relay log file carries a CRC32, whatever the source sends.
func formatDescriptionEvent(serverID uint32, at uint64) []byte {
	body := binary.LittleEndian.AppendUint16(nil, 4)
	var ver [50]byte
	copy(ver[:], relayServerVersion)
	body = append(body, ver[:]...)
	body = binary.LittleEndian.AppendUint32(body, uint32(time.Now().Unix()))
	body = append(body, binlog.HeaderLen)
	body = append(body, fdePostHeaderLengths...)
	body = append(body, binlog.BINLOG_CHECKSUM_ALG_CRC32)
	size := binlog.HeaderLen + len(body) + binlog.ChecksumLen
	return makeEvent(binlog.FORMAT_DESCRIPTION_EVENT, serverID, uint32(at)+uint32(size), 0, body)
}

// previousGTIDsEvent is a relay file's PREVIOUS_GTIDS_LOG_EVENT: the GTIDs
// retrieved into earlier relay files (Retrieved_Gtid_Set survives purges).
func previousGTIDsEvent(serverID uint32, at uint64, set *binlog.GTIDSet) []byte {
	body := set.SIDBlock()
	size := binlog.HeaderLen + len(body) + binlog.ChecksumLen
	return makeEvent(binlog.PREVIOUS_GTIDS_LOG_EVENT, serverID, uint32(at)+uint32(size), 0, body)
}

// rotateEvent is an artificial ROTATE_EVENT naming a source position: the
// relay log writes one at the start of each file it rotates to, so every
// file says which source file its transactions come from.
func rotateEvent(serverID uint32, src binlog.Position) []byte {
	body := binary.LittleEndian.AppendUint64(nil, src.Pos)
	body = append(body, src.File...)
	return makeEvent(binlog.ROTATE_EVENT, serverID, 0, binlog.LOG_EVENT_ARTIFICIAL_F, body)
}

// withChecksum returns ev as the relay log stores it: with a CRC32 trailer.
// has says whether ev already carries one (then it is verified and ev is
// returned as is); otherwise a trailer is appended and event_size fixed.
func withChecksum(ev []byte, has bool) ([]byte, error) {
	if len(ev) < binlog.HeaderLen {
		return nil, fmt.Errorf("event of %d bytes is shorter than its header", len(ev))
	}
	size := binary.LittleEndian.Uint32(ev[9:])
	if int(size) != len(ev) {
		return nil, fmt.Errorf("event_size %d does not match the %d bytes received", size, len(ev))
	}
	if has {
		if err := binlog.VerifyChecksum(ev); err != nil {
			return nil, err
		}
		return ev, nil
	}
	out := make([]byte, len(ev), len(ev)+binlog.ChecksumLen)
	copy(out, ev)
	binary.LittleEndian.PutUint32(out[9:], uint32(len(out)+binlog.ChecksumLen))
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// fdeChecksum reports whether the events following a FORMAT_DESCRIPTION_EVENT
// carry a CRC32: the algorithm byte sits before the FDE's own 4 checksum
// bytes.
func fdeChecksum(ev []byte) bool {
	if len(ev) < binlog.HeaderLen+57+5 {
		return false
	}
	return ev[len(ev)-5] == binlog.BINLOG_CHECKSUM_ALG_CRC32
}

// txTracker follows transaction boundaries in an event stream, as MySQL
// groups events: GTID, then either one DDL QUERY, or QUERY "BEGIN" …
// XID / QUERY "COMMIT". Outside a transaction every event is a unit of its
// own (ROTATE, FORMAT_DESCRIPTION, …).
type txTracker struct {
	inTx  bool // between GTID (or BEGIN) and the transaction's end
	begun bool // BEGIN seen
}

// feed takes one event (type and body, checksum stripped) and reports
// whether it ends a unit: after it the stream is at a transaction boundary.
func (t *txTracker) feed(typ byte, body []byte) bool {
	switch typ {
	case binlog.GTID_LOG_EVENT, binlog.ANONYMOUS_GTID_LOG_EVENT:
		t.inTx, t.begun = true, false
		return false
	case binlog.QUERY_EVENT:
		q, err := binlog.ParseQuery(body)
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
	case binlog.XID_EVENT, transactionPayloadEvent:
		// A TRANSACTION_PAYLOAD (compressed) event holds the whole rest of
		// its transaction.
		t.inTx, t.begun = false, false
		return true
	}
	return !t.inTx
}

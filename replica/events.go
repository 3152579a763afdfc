package replica

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/semisyncd/semisyncd/binlog"
)

// Events the replica makes itself (the relay log's own FORMAT_DESCRIPTION,
// PREVIOUS_GTIDS and ROTATE events), checksum normalisation of received
// events, and the transaction-boundary rules shared by the IO thread, the
// SQL thread and relay-log recovery.

// makeEvent builds one v4 event with a CRC32 trailer. logPos is the
// event's end position as it should be recorded (relay-log offset for the
// relay log's own events, 0 for artificial ones).
func makeEvent(typ byte, serverID, logPos uint32, flags uint16, body []byte) []byte {
	return binlog.MakeEvent(uint32(time.Now().Unix()), typ, serverID, logPos, flags, body, true)
}

// formatDescriptionEvent is the relay log's FORMAT_DESCRIPTION_EVENT: every
// event in a relay log file carries a CRC32, whatever the source sends.
func formatDescriptionEvent(serverID uint32, at uint64) []byte {
	return binlog.FormatDescription(uint32(time.Now().Unix()), serverID, at, 0, true)
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
	out = append(out, 0, 0, 0, 0)
	// SetLogPos computes the CRC as MySQL verifies it (an FDE's in-use flag excluded).
	binlog.SetLogPos(out, binary.LittleEndian.Uint32(out[13:]), true)
	return out, nil
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

// txTracker is the binlog's transaction-boundary rule (one for recovery,
// the dump and the replica).
type txTracker = binlog.TxBoundary

package binlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Event type codes, named as MySQL names them.
const (
	QUERY_EVENT              byte = 2
	STOP_EVENT               byte = 3
	ROTATE_EVENT             byte = 4
	FORMAT_DESCRIPTION_EVENT byte = 15
	XID_EVENT                byte = 16
	TABLE_MAP_EVENT          byte = 19
	HEARTBEAT_LOG_EVENT      byte = 27
	WRITE_ROWS_EVENT         byte = 30
	UPDATE_ROWS_EVENT        byte = 31
	DELETE_ROWS_EVENT        byte = 32
	GTID_LOG_EVENT           byte = 33
	ANONYMOUS_GTID_LOG_EVENT byte = 34
	PREVIOUS_GTIDS_LOG_EVENT byte = 35
)

// Event header flags.
const (
	LOG_EVENT_BINLOG_IN_USE_F uint16 = 0x0001
	LOG_EVENT_ARTIFICIAL_F    uint16 = 0x0020
)

// Rows event flags.
const (
	STMT_END_F uint16 = 0x0001
)

// Checksum algorithms (FDE byte, @@binlog_checksum).
const (
	BINLOG_CHECKSUM_ALG_OFF   byte = 0
	BINLOG_CHECKSUM_ALG_CRC32 byte = 1
)

const (
	// HeaderLen is the v4 event header length.
	HeaderLen = 19
	// ChecksumLen is the CRC32 trailer length.
	ChecksumLen = 4
	// FileHeaderLen is the length of the magic at the start of a file.
	FileHeaderLen = 4
)

// Magic starts every binlog and relay log file.
var Magic = []byte{0xfe, 'b', 'i', 'n'}

// ServerVersion is what the FORMAT_DESCRIPTION_EVENT says wrote the file.
const ServerVersion = "8.0.40-semisyncd"

// postHeaderLengths is MySQL 8.0's table (event types 1..41) as a real
// MySQL 8.0 server writes it in its FORMAT_DESCRIPTION_EVENT.
var postHeaderLengths = []byte{
	0x38, 0x0d, 0x00, 0x08, 0x00, 0x12, 0x00, 0x04, 0x04, 0x04,
	0x04, 0x12, 0x00, 0x00, 0x5c, 0x00, 0x04, 0x1a, 0x08, 0x00,
	0x00, 0x00, 0x08, 0x08, 0x08, 0x02, 0x00, 0x00, 0x00, 0x0a,
	0x0a, 0x0a, 0x19, 0x19, 0x00, 0x12, 0x34, 0x00, 0x0a, 0x28,
	0x00,
}

// Header is a v4 event header.
type Header struct {
	Timestamp uint32
	Type      byte
	ServerID  uint32
	EventSize uint32
	LogPos    uint32
	Flags     uint16
}

// ParseHeader decodes the 19-byte header at the start of ev.
func ParseHeader(ev []byte) (Header, error) {
	if len(ev) < HeaderLen {
		return Header{}, fmt.Errorf("binlog: event header needs %d bytes, have %d", HeaderLen, len(ev))
	}
	return Header{
		Timestamp: binary.LittleEndian.Uint32(ev[0:]),
		Type:      ev[4],
		ServerID:  binary.LittleEndian.Uint32(ev[5:]),
		EventSize: binary.LittleEndian.Uint32(ev[9:]),
		LogPos:    binary.LittleEndian.Uint32(ev[13:]),
		Flags:     binary.LittleEndian.Uint16(ev[17:]),
	}, nil
}

// ErrChecksum reports an event whose CRC32 does not match.
var ErrChecksum = errors.New("binlog: event checksum mismatch")

// VerifyChecksum checks the CRC32 trailer of a complete event.
func VerifyChecksum(ev []byte) error {
	if len(ev) < HeaderLen+ChecksumLen {
		return fmt.Errorf("binlog: event too short for a checksum (%d bytes)", len(ev))
	}
	n := len(ev) - ChecksumLen
	if eventCRC(ev[:n]) != binary.LittleEndian.Uint32(ev[n:]) {
		return ErrChecksum
	}
	return nil
}

// eventCRC is the CRC32 of an event without its checksum. A
// FORMAT_DESCRIPTION_EVENT's CRC is computed with LOG_EVENT_BINLOG_IN_USE_F
// clear, as MySQL and MariaDB verify it: servers flip that flag when they
// close a file without touching the checksum.
func eventCRC(ev []byte) uint32 {
	if len(ev) >= HeaderLen && ev[4] == FORMAT_DESCRIPTION_EVENT && ev[17]&byte(LOG_EVENT_BINLOG_IN_USE_F) != 0 {
		ev[17] &^= byte(LOG_EVENT_BINLOG_IN_USE_F)
		c := crc32.ChecksumIEEE(ev)
		ev[17] |= byte(LOG_EVENT_BINLOG_IN_USE_F)
		return c
	}
	return crc32.ChecksumIEEE(ev)
}

// SetLogPos rewrites an event's log_pos (and its CRC when it has one).
func SetLogPos(ev []byte, pos uint32, checksum bool) {
	binary.LittleEndian.PutUint32(ev[13:], pos)
	if checksum {
		n := len(ev) - ChecksumLen
		binary.LittleEndian.PutUint32(ev[n:], eventCRC(ev[:n]))
	}
}

// MakeEvent builds one complete v4 event: header (timestamp ts, log_pos
// logPos) and body, with a CRC32 trailer when checksum is set.
func MakeEvent(ts uint32, typ byte, serverID, logPos uint32, flags uint16, body []byte, checksum bool) []byte {
	ev := make([]byte, HeaderLen, HeaderLen+len(body)+ChecksumLen)
	binary.LittleEndian.PutUint32(ev[0:], ts)
	ev[4] = typ
	binary.LittleEndian.PutUint32(ev[5:], serverID)
	binary.LittleEndian.PutUint32(ev[13:], logPos)
	binary.LittleEndian.PutUint16(ev[17:], flags)
	ev = append(ev, body...)
	size := len(ev)
	if checksum {
		size += ChecksumLen
	}
	binary.LittleEndian.PutUint32(ev[9:], uint32(size))
	if checksum {
		ev = binary.LittleEndian.AppendUint32(ev, eventCRC(ev))
	}
	return ev
}

// FormatDescription builds the FORMAT_DESCRIPTION_EVENT of a file whose
// events carry CRC32s when checksum is set; the event starts at offset at
// (its log_pos is its end). It always has its own 4 checksum bytes.
func FormatDescription(ts uint32, serverID uint32, at uint64, flags uint16, checksum bool) []byte {
	e := &encoder{serverID: serverID, checksum: checksum, timestamp: ts, pos: at}
	e.formatDescription(ts, flags)
	return e.buf
}

// encoder appends complete events to buf. pos is the file offset at which
// buf[0] will be written, so each event's log_pos is known.
type encoder struct {
	serverID  uint32
	checksum  bool
	timestamp uint32
	buf       []byte
	pos       uint64
}

// begin appends a header placeholder and returns the event's start index.
func (e *encoder) begin(typ byte, flags uint16) int {
	start := len(e.buf)
	var h [HeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], e.timestamp)
	h[4] = typ
	binary.LittleEndian.PutUint32(h[5:], e.serverID)
	binary.LittleEndian.PutUint16(h[17:], flags)
	e.buf = append(e.buf, h[:]...)
	return start
}

// end fills event_size and log_pos and appends the checksum.
func (e *encoder) end(start int) { e.finish(start, e.checksum) }

// finish is end with the checksum decision made by the caller: the
// FORMAT_DESCRIPTION_EVENT always carries one, so readers find the
// algorithm byte at a fixed distance from its end.
func (e *encoder) finish(start int, checksum bool) {
	size := len(e.buf) - start
	if checksum {
		size += ChecksumLen
	}
	binary.LittleEndian.PutUint32(e.buf[start+9:], uint32(size))
	endPos := e.pos + uint64(start) + uint64(size)
	binary.LittleEndian.PutUint32(e.buf[start+13:], uint32(endPos))
	if checksum {
		e.buf = binary.LittleEndian.AppendUint32(e.buf, eventCRC(e.buf[start:]))
	}
}

func (e *encoder) u8(v byte)    { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }
func (e *encoder) u48(v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	e.buf = append(e.buf, b[:6]...)
}
func (e *encoder) bytes(b []byte)  { e.buf = append(e.buf, b...) }
func (e *encoder) packed(v uint64) { e.buf = appendPackedInt(e.buf, v) }

// appendPackedInt appends MySQL's length-encoded integer.
func appendPackedInt(b []byte, v uint64) []byte {
	switch {
	case v < 251:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	b = append(b, 0xfe)
	return binary.LittleEndian.AppendUint64(b, v)
}

// readPackedInt decodes a length-encoded integer; n = 0 on short input.
func readPackedInt(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch c := b[0]; {
	case c < 251:
		return uint64(c), 1
	case c == 0xfc:
		if len(b) < 3 {
			return 0, 0
		}
		return uint64(binary.LittleEndian.Uint16(b[1:])), 3
	case c == 0xfd:
		if len(b) < 4 {
			return 0, 0
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4
	case c == 0xfe:
		if len(b) < 9 {
			return 0, 0
		}
		return binary.LittleEndian.Uint64(b[1:]), 9
	}
	return 0, 0
}

// formatDescription appends a FORMAT_DESCRIPTION_EVENT.
func (e *encoder) formatDescription(createTime uint32, flags uint16) {
	s := e.begin(FORMAT_DESCRIPTION_EVENT, flags)
	e.u16(4)
	var ver [50]byte
	copy(ver[:], ServerVersion)
	e.bytes(ver[:])
	e.u32(createTime)
	e.u8(HeaderLen)
	e.bytes(postHeaderLengths)
	if e.checksum {
		e.u8(BINLOG_CHECKSUM_ALG_CRC32)
	} else {
		e.u8(BINLOG_CHECKSUM_ALG_OFF)
	}
	e.finish(s, true)
}

// previousGTIDs appends a PREVIOUS_GTIDS_LOG_EVENT for set.
func (e *encoder) previousGTIDs(set *GTIDSet) {
	s := e.begin(PREVIOUS_GTIDS_LOG_EVENT, 0)
	e.bytes(set.SIDBlock())
	e.end(s)
}

// gtid appends a GTID_LOG_EVENT with MySQL 8.0's logical clock and
// timestamps. commitMicros is the commit time in µs since the epoch.
func (e *encoder) gtid(sid SID, gno int64, lastCommitted, seqNo int64, commitMicros uint64, txLen uint64) {
	s := e.begin(GTID_LOG_EVENT, 0)
	e.u8(0) // flags: row-based only
	e.bytes(sid[:])
	e.u64(uint64(gno))
	e.u8(2) // logical timestamp type code
	e.u64(uint64(lastCommitted))
	e.u64(uint64(seqNo))
	// immediate_commit_timestamp, 7 bytes; top bit clear: the original
	// commit timestamp is the same.
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], commitMicros&^(1<<55))
	e.bytes(ts[:7])
	e.packed(txLen)
	e.u32(80040) // immediate_server_version; top bit clear: original same
	e.end(s)
}

// query appends a QUERY_EVENT with the status variables MySQL writes for
// row-based transactions and DDL.
func (e *encoder) query(threadID uint32, db, sql string, sqlMode uint64) {
	s := e.begin(QUERY_EVENT, 0)
	e.u32(threadID)
	e.u32(0) // exec time
	e.u8(byte(len(db)))
	e.u16(0) // error code
	var sv []byte
	sv = append(sv, 0) // Q_FLAGS2_CODE
	sv = binary.LittleEndian.AppendUint32(sv, 0)
	sv = append(sv, 1) // Q_SQL_MODE_CODE
	sv = binary.LittleEndian.AppendUint64(sv, sqlMode)
	sv = append(sv, 6, 3, 's', 't', 'd') // Q_CATALOG_NZ_CODE "std"
	sv = append(sv, 4)                   // Q_CHARSET_CODE: client, connection, server collations
	sv = binary.LittleEndian.AppendUint16(sv, 45)
	sv = binary.LittleEndian.AppendUint16(sv, 45)
	sv = binary.LittleEndian.AppendUint16(sv, 45)
	e.u16(uint16(len(sv)))
	e.bytes(sv)
	e.bytes([]byte(db))
	e.u8(0)
	e.bytes([]byte(sql))
	e.end(s)
}

// xid appends an XID_EVENT.
func (e *encoder) xid(xid uint64) {
	s := e.begin(XID_EVENT, 0)
	e.u64(xid)
	e.end(s)
}

// rotate appends a ROTATE_EVENT naming the next file.
func (e *encoder) rotate(pos uint64, name string, flags uint16) {
	s := e.begin(ROTATE_EVENT, flags)
	e.u64(pos)
	e.bytes([]byte(name))
	e.end(s)
}

// stop appends a STOP_EVENT (clean shutdown).
func (e *encoder) stop() {
	s := e.begin(STOP_EVENT, 0)
	e.end(s)
}

package binlog

import (
	"encoding/binary"
	"fmt"
)

// Decoders of event bodies (header and checksum already stripped). None
// panics on short or garbage input: every length is checked.

// QueryEvent is a QUERY_EVENT's content.
type QueryEvent struct {
	ThreadID uint32
	DB       string
	SQL      string
}

// ParseQuery decodes a QUERY_EVENT body.
func ParseQuery(body []byte) (QueryEvent, error) {
	if len(body) < 13 {
		return QueryEvent{}, fmt.Errorf("binlog: query event too short")
	}
	q := QueryEvent{ThreadID: binary.LittleEndian.Uint32(body)}
	dbLen := int(body[8])
	svLen := int(binary.LittleEndian.Uint16(body[11:]))
	p := 13 + svLen
	if p+dbLen+1 > len(body) {
		return QueryEvent{}, fmt.Errorf("binlog: query event too short")
	}
	q.DB = string(body[p : p+dbLen])
	q.SQL = string(body[p+dbLen+1:])
	return q, nil
}

// GTIDEvent is a GTID_LOG_EVENT's identity.
type GTIDEvent struct {
	SID            SID
	GNO            int64
	LastCommitted  int64
	SequenceNumber int64
}

// ParseGTID decodes a GTID_LOG_EVENT body.
func ParseGTID(body []byte) (GTIDEvent, error) {
	if len(body) < 25 {
		return GTIDEvent{}, fmt.Errorf("binlog: GTID event too short")
	}
	var g GTIDEvent
	copy(g.SID[:], body[1:17])
	g.GNO = int64(binary.LittleEndian.Uint64(body[17:]))
	if len(body) >= 42 && body[25] == 2 {
		g.LastCommitted = int64(binary.LittleEndian.Uint64(body[26:]))
		g.SequenceNumber = int64(binary.LittleEndian.Uint64(body[34:]))
	}
	return g, nil
}

// ParseRotate decodes a ROTATE_EVENT body: the next file and position.
func ParseRotate(body []byte) (Position, error) {
	if len(body) < 8 {
		return Position{}, fmt.Errorf("binlog: rotate event too short")
	}
	return Position{File: string(body[8:]), Pos: binary.LittleEndian.Uint64(body)}, nil
}

// ParseXID decodes an XID_EVENT body.
func ParseXID(body []byte) (uint64, error) {
	if len(body) < 8 {
		return 0, fmt.Errorf("binlog: xid event too short")
	}
	return binary.LittleEndian.Uint64(body), nil
}

// ParsePreviousGTIDs decodes a PREVIOUS_GTIDS_LOG_EVENT body.
func ParsePreviousGTIDs(body []byte) (*GTIDSet, error) { return ParseSIDBlock(body) }

// TableMapEvent is a TABLE_MAP_EVENT's content, before column decoding.
type TableMapEvent struct {
	TableID    uint64
	Flags      uint16
	DB, Table  string
	Types      []byte
	Meta       []byte // the metadata block
	NullBitmap []byte
	Optional   []byte // optional metadata TLVs
}

// ParseTableMap decodes a TABLE_MAP_EVENT body (6-byte table ids).
func ParseTableMap(body []byte) (TableMapEvent, error) {
	var tm TableMapEvent
	short := fmt.Errorf("binlog: table map event too short")
	if len(body) < 10 {
		return tm, short
	}
	tm.TableID = uint48(body)
	tm.Flags = binary.LittleEndian.Uint16(body[6:])
	p := 8
	readName := func() (string, bool) {
		if p >= len(body) {
			return "", false
		}
		n := int(body[p])
		if p+1+n+1 > len(body) {
			return "", false
		}
		s := string(body[p+1 : p+1+n])
		p += n + 2
		return s, true
	}
	var ok bool
	if tm.DB, ok = readName(); !ok {
		return tm, short
	}
	if tm.Table, ok = readName(); !ok {
		return tm, short
	}
	ncols, n := readPackedInt(body[p:])
	if n == 0 || ncols > 4096 {
		return tm, short
	}
	p += n
	if p+int(ncols) > len(body) {
		return tm, short
	}
	tm.Types = body[p : p+int(ncols)]
	p += int(ncols)
	mlen, n := readPackedInt(body[p:])
	if n == 0 || mlen > uint64(len(body)) || p+n+int(mlen) > len(body) {
		return tm, short
	}
	p += n
	tm.Meta = body[p : p+int(mlen)]
	p += int(mlen)
	nb := (int(ncols) + 7) / 8
	if p+nb > len(body) {
		return tm, short
	}
	tm.NullBitmap = body[p : p+nb]
	tm.Optional = body[p+nb:]
	return tm, nil
}

// RowsEvent is a WRITE/UPDATE/DELETE_ROWS v2 event before row decoding.
type RowsEvent struct {
	Type     byte
	TableID  uint64
	Flags    uint16
	NCols    int
	Present  []bool // columns present in each (before) image
	Present2 []bool // update events: columns present in the after image
	Rows     []byte // the row images
}

// ParseRows decodes a v2 rows event body of event type typ.
func ParseRows(typ byte, body []byte) (RowsEvent, error) {
	re := RowsEvent{Type: typ}
	short := fmt.Errorf("binlog: rows event too short")
	if len(body) < 10 {
		return re, short
	}
	re.TableID = uint48(body)
	re.Flags = binary.LittleEndian.Uint16(body[6:])
	extra := int(binary.LittleEndian.Uint16(body[8:]))
	if extra < 2 || 8+extra > len(body) {
		return re, short
	}
	p := 8 + extra
	ncols, n := readPackedInt(body[p:])
	if n == 0 || ncols > 4096 {
		return re, short
	}
	p += n
	re.NCols = int(ncols)
	nb := (re.NCols + 7) / 8
	bitmap := func() ([]bool, bool) {
		if p+nb > len(body) {
			return nil, false
		}
		out := make([]bool, re.NCols)
		for i := range out {
			out[i] = body[p+i/8]&(1<<(i%8)) != 0
		}
		p += nb
		return out, true
	}
	var ok bool
	if re.Present, ok = bitmap(); !ok {
		return re, short
	}
	if typ == UPDATE_ROWS_EVENT {
		if re.Present2, ok = bitmap(); !ok {
			return re, short
		}
	}
	re.Rows = body[p:]
	return re, nil
}

func uint48(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40
}

package binlog

import (
	"fmt"
	"io"
)

// EventInfo is one row of SHOW BINLOG EVENTS.
type EventInfo struct {
	LogName   string
	Pos       uint64
	EventType string
	ServerID  uint32
	EndLogPos uint64
	Info      string
}

var eventTypeNames = map[byte]string{
	QUERY_EVENT: "Query", STOP_EVENT: "Stop", ROTATE_EVENT: "Rotate", FORMAT_DESCRIPTION_EVENT: "Format_desc",
	XID_EVENT: "Xid", TABLE_MAP_EVENT: "Table_map", HEARTBEAT_LOG_EVENT: "Heartbeat", WRITE_ROWS_EVENT: "Write_rows",
	UPDATE_ROWS_EVENT: "Update_rows", DELETE_ROWS_EVENT: "Delete_rows", GTID_LOG_EVENT: "Gtid",
	ANONYMOUS_GTID_LOG_EVENT: "Anonymous_Gtid", PREVIOUS_GTIDS_LOG_EVENT: "Previous_gtids",
}

// Events lists the events of file (the first file when empty) from
// position from (0: the start), skipping offset and returning at most
// limit (<0: all), as SHOW BINLOG EVENTS does. An unknown file or a
// position not on an event boundary is an error (MySQL's 1220 texts).
func (w *Writer) Events(file string, from uint64, offset, limit int) ([]EventInfo, error) {
	if file == "" {
		file = w.FirstFile()
	}
	if !w.HasFile(file) {
		return nil, fmt.Errorf("Error when executing command SHOW BINLOG EVENTS: Could not find target log")
	}
	readable, _ := w.Readable()
	fr, err := OpenFile(w.Path(file))
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	if from > FileHeaderLen {
		if err := fr.Seek(from); err != nil {
			return nil, err
		}
	}
	var out []EventInfo
	for limit < 0 || len(out) < limit {
		if file == readable.File && fr.Pos() >= readable.Pos {
			break
		}
		ev, start, err := fr.Next()
		if err == io.EOF || err == ErrTornEvent {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("Error when executing command SHOW BINLOG EVENTS: Wrong offset or I/O error")
		}
		if offset > 0 {
			offset--
			continue
		}
		h, _ := ParseHeader(ev)
		name := eventTypeNames[h.Type]
		if name == "" {
			name = fmt.Sprintf("Unknown(%d)", h.Type)
		}
		out = append(out, EventInfo{LogName: file, Pos: start, EventType: name, ServerID: h.ServerID, EndLogPos: uint64(h.LogPos), Info: eventInfo(h.Type, fr.Body(ev))})
	}
	return out, nil
}

// eventInfo is the Info column MySQL shows for an event.
func eventInfo(typ byte, body []byte) string {
	switch typ {
	case FORMAT_DESCRIPTION_EVENT:
		return "Server ver: " + ServerVersion + ", Binlog ver: 4"
	case PREVIOUS_GTIDS_LOG_EVENT:
		if s, err := ParsePreviousGTIDs(body); err == nil {
			return s.String()
		}
	case GTID_LOG_EVENT:
		if g, err := ParseGTID(body); err == nil {
			return fmt.Sprintf("SET @@SESSION.GTID_NEXT= '%s:%d'", g.SID, g.GNO)
		}
	case QUERY_EVENT:
		if q, err := ParseQuery(body); err == nil {
			if q.DB != "" && q.SQL != "BEGIN" {
				return fmt.Sprintf("use `%s`; %s", q.DB, q.SQL)
			}
			return q.SQL
		}
	case TABLE_MAP_EVENT:
		if tm, err := ParseTableMap(body); err == nil {
			return fmt.Sprintf("table_id: %d (%s.%s)", tm.TableID, tm.DB, tm.Table)
		}
	case WRITE_ROWS_EVENT, UPDATE_ROWS_EVENT, DELETE_ROWS_EVENT:
		if re, err := ParseRows(typ, body); err == nil {
			s := fmt.Sprintf("table_id: %d", re.TableID)
			if re.Flags&STMT_END_F != 0 {
				s += " flags: STMT_END_F"
			}
			return s
		}
	case XID_EVENT:
		if x, err := ParseXID(body); err == nil {
			return fmt.Sprintf("COMMIT /* xid=%d */", x)
		}
	case ROTATE_EVENT:
		if p, err := ParseRotate(body); err == nil {
			return fmt.Sprintf("%s;pos=%d", p.File, p.Pos)
		}
	}
	return ""
}

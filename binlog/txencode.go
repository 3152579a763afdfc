package binlog

import (
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/semisyncd/semisyncd/storage/changes"
)

// maxRowsEventBody is where a rows event is split, like MySQL's
// binlog_row_event_max_size (8 KiB).
const maxRowsEventBody = 8192

// encodeChangeSet appends a committed transaction's events: each group of
// row changes as GTID, BEGIN, table maps and rows events, XID; each DDL
// change as GTID and its QUERY. Called with w.mu held.
func (w *Writer) encodeChangeSet(enc *encoder, cs *changes.ChangeSet) error {
	if cs.GTID != "" {
		sid, gno, err := parseGTID(cs.GTID)
		if err != nil {
			return err
		}
		if w.executed.Contains(sid, gno) {
			return fmt.Errorf("binlog: GTID %s is already executed", cs.GTID)
		}
		w.forced = &forcedGTID{sid: sid, gno: gno}
		defer func() { w.forced = nil }()
	}
	return w.encodeUnits(enc, cs, w.encodeTx, true)
}

// encodeUnlogged appends an unlogged commit's events (sql_log_bin = 0, for
// the journal): what encodeChangeSet writes without the GTID and XID
// events, so no GTID or Xid number is taken. Called with w.mu held.
func (w *Writer) encodeUnlogged(enc *encoder, cs *changes.ChangeSet) error {
	bare := func(enc *encoder, fill func(*encoder) error) error { return fill(enc) }
	return w.encodeUnits(enc, cs, bare, false)
}

// encodeUnits writes each unit of cs (a DDL change; a run of row changes
// as BEGIN, rows and, with xid, an XID) through tx, which frames it.
func (w *Writer) encodeUnits(enc *encoder, cs *changes.ChangeSet, tx func(*encoder, func(*encoder) error) error, xid bool) error {
	chs := cs.Changes
	for i := 0; i < len(chs); {
		if chs[i].Kind == changes.DDL {
			ch := chs[i]
			tx(enc, func(body *encoder) error {
				body.query(cs.ConnectionID, ch.CurrentDB, ch.Query, 0)
				return nil
			})
			i++
			continue
		}
		j := i
		for j < len(chs) && chs[j].Kind != changes.DDL {
			j++
		}
		group := chs[i:j]
		if err := tx(enc, func(body *encoder) error {
			body.query(cs.ConnectionID, "", "BEGIN", 0)
			if err := w.encodeRowChanges(body, group); err != nil {
				return err
			}
			if xid {
				w.xid++
				body.xid(w.xid)
			}
			return nil
		}); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// encodeTx appends a GTID event and then the transaction body written by
// fill; the GTID event carries the transaction's total length.
func (w *Writer) encodeTx(enc *encoder, fill func(*encoder) error) error {
	sid, gno := w.sid, w.nextGNO
	if w.forced != nil {
		// A replicated transaction keeps its source's GTID (one unit per
		// ChangeSet: the first gets it).
		sid, gno = w.forced.sid, w.forced.gno
		w.forced = nil
	}
	// The GTID event's size depends on the packed length of the
	// transaction length it carries; settle it before writing the body.
	body := &encoder{serverID: enc.serverID, checksum: enc.checksum, timestamp: enc.timestamp}
	gtidSize := func(lenBytes int) uint64 {
		n := uint64(HeaderLen + 42 + 7 + lenBytes + 4)
		if enc.checksum {
			n += ChecksumLen
		}
		return n
	}
	start := enc.pos + uint64(len(enc.buf))
	size := gtidSize(1)
	body.pos = start + size
	if err := fill(body); err != nil {
		return err
	}
	txLen := size + uint64(len(body.buf))
	if l := len(appendPackedInt(nil, txLen)); l != 1 {
		size = gtidSize(l)
		body = &encoder{serverID: enc.serverID, checksum: enc.checksum, timestamp: enc.timestamp, pos: start + size}
		if err := fill(body); err != nil {
			return err
		}
		txLen = size + uint64(len(body.buf))
	}
	w.seqNo++
	enc.gtid(sid, gno, w.seqNo-1, w.seqNo, uint64(time.Now().UnixMicro()), txLen)
	enc.buf = append(enc.buf, body.buf...)
	w.executed.Add(sid, gno)
	w.appended = append(w.appended, gtidOf{sid, gno})
	if sid == w.sid && gno >= w.nextGNO {
		w.nextGNO = gno + 1
	}
	return nil
}

// encodeRowChanges writes row changes as statements: each run of changes
// of one kind to one table becomes a TABLE_MAP and rows events, the last
// flagged STMT_END_F.
func (w *Writer) encodeRowChanges(enc *encoder, changes []changes.Change) error {
	for i := 0; i < len(changes); {
		j := i + 1
		for j < len(changes) && changes[j].Kind == changes[i].Kind &&
			changes[j].Database == changes[i].Database && changes[j].Table == changes[i].Table &&
			sameSchema(changes[j].Schema, changes[i].Schema) {
			j++
		}
		if err := w.encodeStatement(enc, changes[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func sameSchema(a, b sql.Schema) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (w *Writer) encodeStatement(enc *encoder, run []changes.Change) error {
	first := run[0]
	def, err := w.tableDef(first.Database, first.Table, first.Schema)
	if err != nil {
		return err
	}
	cols, tid := def.cols, def.id
	s := enc.begin(TABLE_MAP_EVENT, 0)
	enc.bytes(def.mapBody)
	enc.end(s)
	typ := WRITE_ROWS_EVENT
	switch first.Kind {
	case changes.RowUpdate:
		typ = UPDATE_ROWS_EVENT
	case changes.RowDelete:
		typ = DELETE_ROWS_EVENT
	}
	var rows []byte
	flush := func(last bool) {
		flags := uint16(0)
		if last {
			flags = STMT_END_F
		}
		s := enc.begin(typ, 0)
		enc.u48(tid)
		enc.u16(flags)
		enc.u16(2) // extra data length: just itself
		enc.packed(uint64(len(cols)))
		bitmap := allSet(len(cols))
		enc.bytes(bitmap)
		if typ == UPDATE_ROWS_EVENT {
			enc.bytes(bitmap)
		}
		enc.bytes(rows)
		enc.end(s)
		rows = rows[:0]
	}
	for k, ch := range run {
		var err error
		switch ch.Kind {
		case changes.RowInsert:
			rows, err = EncodeRow(rows, cols, ch.Schema, ch.After)
		case changes.RowDelete:
			rows, err = EncodeRow(rows, cols, ch.Schema, ch.Before)
		case changes.RowUpdate:
			if rows, err = EncodeRow(rows, cols, ch.Schema, ch.Before); err == nil {
				rows, err = EncodeRow(rows, cols, ch.Schema, ch.After)
			}
		}
		if err != nil {
			return fmt.Errorf("binlog: table %s.%s: %w", ch.Database, ch.Table, err)
		}
		if k == len(run)-1 {
			flush(true)
		} else if len(rows) >= maxRowsEventBody {
			flush(false)
		}
	}
	return nil
}

func allSet(n int) []byte {
	b := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		b[i/8] |= 1 << (i % 8)
	}
	return b
}

// tableDef is what the encoder derives from one table definition: its
// column definitions, table id and TABLE_MAP_EVENT body. Storage shares one
// schema slice per table version, so the result is computed once per
// definition, not on every commit under the writer's lock.
type tableDef struct {
	cols    []ColumnDef
	id      uint64
	mapBody []byte
}

// tableDefKey identifies a table definition: its name and the schema slice
// of that table version (a changed definition is a new slice, with a new
// table id, as MySQL gives a table share after DDL).
type tableDefKey struct {
	db, table string
	first     *sql.Column
	n         int
}

func (w *Writer) tableDef(db, table string, sch sql.Schema) (*tableDef, error) {
	key := tableDefKey{db: db, table: table, n: len(sch)}
	if len(sch) > 0 {
		key.first = sch[0]
	}
	if d, ok := w.tableDefs[key]; ok {
		return d, nil
	}
	cols, err := ColumnDefs(sch)
	if err != nil {
		return nil, fmt.Errorf("binlog: table %s.%s: %w", db, table, err)
	}
	w.nextTID++
	d := &tableDef{cols: cols, id: w.nextTID, mapBody: tableMapBody(w.nextTID, db, table, cols)}
	w.tableDefs[key] = d
	return d, nil
}

// tableMapBody is a TABLE_MAP_EVENT body with the SIGNEDNESS and
// COLUMN_NAME optional metadata.
func tableMapBody(tid uint64, db, table string, cols []ColumnDef) []byte {
	enc := &encoder{}
	enc.u48(tid)
	enc.u16(1)
	enc.u8(byte(len(db)))
	enc.bytes([]byte(db))
	enc.u8(0)
	enc.u8(byte(len(table)))
	enc.bytes([]byte(table))
	enc.u8(0)
	enc.packed(uint64(len(cols)))
	for _, c := range cols {
		enc.u8(c.Type)
	}
	meta := AppendColumnMetadata(nil, cols)
	enc.packed(uint64(len(meta)))
	enc.bytes(meta)
	nulls := make([]byte, (len(cols)+7)/8)
	for i, c := range cols {
		if c.Nullable {
			nulls[i/8] |= 1 << (i % 8)
		}
	}
	enc.bytes(nulls)
	// SIGNEDNESS (1): one bit per numeric column, most significant first.
	var sign []byte
	n := 0
	for _, c := range cols {
		if !c.IsNumeric() {
			continue
		}
		if n%8 == 0 {
			sign = append(sign, 0)
		}
		if c.Unsigned {
			sign[n/8] |= 0x80 >> (n % 8)
		}
		n++
	}
	if n > 0 {
		enc.u8(1)
		enc.packed(uint64(len(sign)))
		enc.bytes(sign)
	}
	// COLUMN_NAME (4): length-prefixed names.
	var names []byte
	for _, c := range cols {
		names = appendPackedInt(names, uint64(len(c.Name)))
		names = append(names, c.Name...)
	}
	enc.u8(4)
	enc.packed(uint64(len(names)))
	enc.bytes(names)
	return enc.buf
}

// Changes decodes a transaction into storage changes, reading each table's
// schema through schema (as it is when the transaction is applied).
func (tx *Transaction) Changes(schema func(db, table string) (sql.Schema, bool)) ([]changes.Change, error) {
	var out []changes.Change
	maps := map[uint64]*TableMapEvent{}
	for _, ev := range tx.Events {
		switch {
		case ev.Query != nil:
			if strings.EqualFold(strings.TrimSpace(ev.Query.SQL), "BEGIN") {
				continue
			}
			out = append(out, changes.Change{Kind: changes.DDL, Query: ev.Query.SQL, CurrentDB: ev.Query.DB})
		case ev.TableMap != nil:
			maps[ev.TableMap.TableID] = ev.TableMap
		case ev.Rows != nil:
			tm := maps[ev.Rows.TableID]
			if tm == nil {
				return nil, fmt.Errorf("binlog: rows event for unknown table id %d", ev.Rows.TableID)
			}
			sch, ok := schema(tm.DB, tm.Table)
			if !ok {
				return nil, fmt.Errorf("binlog: table %s.%s does not exist", tm.DB, tm.Table)
			}
			cols, err := ColumnDefsFromTableMap(tm.Types, tm.Meta, tm.NullBitmap)
			if err != nil {
				return nil, err
			}
			data := ev.Rows.Rows
			for len(data) > 0 {
				row, n, err := DecodeRow(data, cols, sch, ev.Rows.Present)
				if err != nil {
					return nil, err
				}
				data = data[n:]
				ch := changes.Change{Database: tm.DB, Table: tm.Table, Schema: sch}
				switch ev.Rows.Type {
				case WRITE_ROWS_EVENT:
					ch.Kind, ch.After = changes.RowInsert, row
				case DELETE_ROWS_EVENT:
					ch.Kind, ch.Before = changes.RowDelete, row
				case UPDATE_ROWS_EVENT:
					after, n, err := DecodeRow(data, cols, sch, ev.Rows.Present2)
					if err != nil {
						return nil, err
					}
					data = data[n:]
					ch.Kind, ch.Before, ch.After = changes.RowUpdate, row, after
				}
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

// gtidOf is one GTID a ticket will make visible.
type gtidOf struct {
	sid SID
	gno int64
}

type forcedGTID struct {
	sid SID
	gno int64
}

// parseGTID parses "uuid:number".
func parseGTID(s string) (SID, int64, error) {
	u, n, ok := strings.Cut(s, ":")
	if !ok {
		return SID{}, 0, fmt.Errorf("binlog: malformed GTID %q", s)
	}
	sid, err := ParseSID(u)
	if err != nil {
		return SID{}, 0, err
	}
	var gno int64
	if _, err := fmt.Sscan(n, &gno); err != nil || gno < 1 {
		return SID{}, 0, fmt.Errorf("binlog: malformed GTID %q", s)
	}
	return sid, gno, nil
}

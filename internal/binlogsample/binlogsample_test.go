package binlogsample

import (
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
)

// TestWrite: the sample decodes: five transactions with their GTIDs, the two DDL statements
// and the three row events, each row image decoding against the sample schema's table map.
func TestWrite(t *testing.T) {
	path, err := Write(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	evs, checksum, err := Events(path)
	if err != nil || !checksum {
		t.Fatalf("events: checksum %v, %v", checksum, err)
	}
	count := map[byte]int{}
	for _, ev := range evs {
		h, err := binlog.ParseHeader(ev)
		if err != nil {
			t.Fatal(err)
		}
		count[h.Type]++
		body := binlog.EventBody(ev, true)
		switch h.Type {
		case binlog.WRITE_ROWS_EVENT, binlog.UPDATE_ROWS_EVENT, binlog.DELETE_ROWS_EVENT:
			if _, err := binlog.ParseRows(h.Type, body); err != nil {
				t.Fatalf("rows event type %d: %v", h.Type, err)
			}
		case binlog.TABLE_MAP_EVENT:
			if _, err := binlog.ParseTableMap(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	for typ, want := range map[byte]int{binlog.GTID_LOG_EVENT: 5, binlog.TABLE_MAP_EVENT: 3, binlog.WRITE_ROWS_EVENT: 1, binlog.UPDATE_ROWS_EVENT: 1, binlog.DELETE_ROWS_EVENT: 1, binlog.XID_EVENT: 3} {
		if count[typ] != want {
			t.Errorf("%d events of type %d, want %d (all: %v)", count[typ], typ, want, count)
		}
	}
}

package binlog

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseEvent feeds arbitrary bytes to every event decoder a replica or recovery runs on
// received or stored events: none may panic, whatever the bytes.
func FuzzParseEvent(f *testing.F) {
	f.Add(MakeEvent(1, QUERY_EVENT, 1, 100, 0, append(make([]byte, 13), "\x00BEGIN"...), true))
	f.Add(MakeEvent(1, ROTATE_EVENT, 1, 0, 0, append(binary.LittleEndian.AppendUint64(nil, 4), "binlog.000002"...), true))
	f.Add(FormatDescription(1, 1, 4, 0, true))
	f.Add(MakeEvent(1, GTID_LOG_EVENT, 1, 0, 0, make([]byte, 42), false))
	f.Add(MakeEvent(1, TABLE_MAP_EVENT, 1, 0, 0, []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 'd', 0, 1, 't', 0, 2, 3, 15, 1, 10, 0}, false))
	f.Add(MakeEvent(1, WRITE_ROWS_EVENT, 1, 0, 0, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0xff, 0, 1, 0, 0, 0}, false))
	f.Fuzz(func(t *testing.T, ev []byte) {
		if _, err := ParseHeader(ev); err != nil {
			return
		}
		_ = VerifyChecksum(ev)
		for _, checksum := range []bool{false, true} {
			body := EventBody(ev, checksum)
			_, _ = ParseQuery(body)
			_, _ = ParseGTID(body)
			_, _ = ParseRotate(body)
			_, _ = ParseXID(body)
			_, _ = ParsePreviousGTIDs(body)
			_, _ = ParseTableMap(body)
			for _, typ := range []byte{WRITE_ROWS_EVENT, UPDATE_ROWS_EVENT, DELETE_ROWS_EVENT} {
				_, _ = ParseRows(typ, body)
			}
		}
	})
}

// FuzzParseAck feeds arbitrary semi-sync ACK payloads to the dump's reply reader's decoder.
func FuzzParseAck(f *testing.F) {
	f.Add(append(append([]byte{SemiSyncMagic}, binary.LittleEndian.AppendUint64(nil, 1234)...), "binlog.000001"...))
	f.Add([]byte{SemiSyncMagic, 1, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		pos, ok, why := ParseAck(p)
		if ok == (why != "") {
			t.Fatalf("ok=%v with reason %q", ok, why)
		}
		if ok && len(pos.File) >= 512 {
			t.Fatalf("accepted a %d-byte file name", len(pos.File))
		}
	})
}

// FuzzFileReader reads arbitrary file contents as a binlog (or relay log) file, as start-up
// recovery and the relay-log reader do: OpenFile and Next return errors, never panic, and Next
// never returns an event longer than the file.
func FuzzFileReader(f *testing.F) {
	good := append(append([]byte(nil), Magic...), FormatDescription(1, 1, 4, 0, true)...)
	f.Add(good)
	f.Add(append(append([]byte(nil), good...), MakeEvent(1, XID_EVENT, 1, 0, 0, make([]byte, 8), true)...))
	f.Add(good[:len(good)-3])
	bad := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(bad[len(Magic)+9:], 1<<29)
	f.Add(bad)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "binlog.000001")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fr, err := OpenFile(path)
		if err != nil {
			return
		}
		defer fr.Close()
		for i := 0; i < 1000; i++ {
			ev, _, err := fr.Next()
			if err != nil {
				return
			}
			if len(ev) > len(data) {
				t.Fatalf("event of %d bytes from a %d-byte file", len(ev), len(data))
			}
			_ = fr.Body(ev)
		}
	})
}

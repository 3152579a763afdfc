package binlog_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/internal/binlogsample"
	"github.com/semisyncd/semisyncd/internal/fuzzrun"
)

// TestWriteFuzzCorpus rewrites the checked-in seed corpora of this package's fuzz targets
// (testdata/fuzz/<FuzzName>/seed-*) from the sample binlog our writer produces: each valid
// input, and truncated and garbled copies. It runs only with SEMISYNCD_WRITE_FUZZ_CORPUS=1;
// inputs the fuzzer found (files not named seed-*) are kept.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv(fuzzrun.WriteSeedsEnv) != "1" {
		t.Skip("set " + fuzzrun.WriteSeedsEnv + "=1 to rewrite the seed corpora")
	}
	dir := t.TempDir()
	path, err := binlogsample.Write(filepath.Join(dir, "crc"), true)
	if err != nil {
		t.Fatal(err)
	}
	plainPath, err := binlogsample.Write(filepath.Join(dir, "plain"), false)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(path)
	plainFile, _ := os.ReadFile(plainPath)
	evs, _, err := binlogsample.Events(path)
	if err != nil {
		t.Fatal(err)
	}
	plainEvs, _, err := binlogsample.Events(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	add := fuzzrun.Seeds(t)
	w := func(target, format string, args ...any) func(...any) {
		return func(values ...any) { add(target, fmt.Sprintf(format, args...), values...) }
	}

	// FuzzParseEvent: every event with and without checksum, cut in half, with a flipped body
	// byte, and with an event_size past the event.
	for i, ev := range evs {
		h, _ := binlog.ParseHeader(ev)
		w("FuzzParseEvent", "crc-%02d-type%d", i, h.Type)(ev)
		w("FuzzParseEvent", "cut-%02d-type%d", i, h.Type)(ev[:len(ev)/2])
		w("FuzzParseEvent", "flip-%02d-type%d", i, h.Type)(fuzzrun.Flip(ev, binlog.HeaderLen+(len(ev)-binlog.HeaderLen)/2))
		big := append([]byte(nil), ev...)
		binary.LittleEndian.PutUint32(big[9:], uint32(len(ev)+1000))
		w("FuzzParseEvent", "size-%02d-type%d", i, h.Type)(big)
	}
	for i, ev := range plainEvs {
		h, _ := binlog.ParseHeader(ev)
		w("FuzzParseEvent", "plain-%02d-type%d", i, h.Type)(ev)
	}

	// FuzzFileReader: both files whole, cut inside each event, with a flipped byte in the
	// format description and in the last event, and with a damaged event size.
	w("FuzzFileReader", "crc")(file)
	w("FuzzFileReader", "plain")(plainFile)
	off := len(binlog.Magic)
	for i, ev := range evs {
		w("FuzzFileReader", "cut-in-%02d", i)(file[:off+len(ev)/2])
		off += len(ev)
	}
	w("FuzzFileReader", "flip-fde")(fuzzrun.Flip(file, len(binlog.Magic)+binlog.HeaderLen+3))
	w("FuzzFileReader", "flip-last")(fuzzrun.Flip(file, len(file)-6))
	sized := append([]byte(nil), file...)
	binary.LittleEndian.PutUint32(sized[len(binlog.Magic)+len(evs[0])+9:], 1<<29)
	w("FuzzFileReader", "size-second")(sized)

	// FuzzParseAck: ACKs as a replica sends them for each event's end position, truncated, and
	// with an over-long file name.
	pos := uint64(len(binlog.Magic))
	for i, ev := range evs {
		pos += uint64(len(ev))
		ack := append([]byte{binlog.SemiSyncMagic}, binary.LittleEndian.AppendUint64(nil, pos)...)
		ack = append(ack, "binlog.000001"...)
		w("FuzzParseAck", "ack-%02d", i)(ack)
		if i == 0 {
			w("FuzzParseAck", "cut-pos")(ack[:5])
			w("FuzzParseAck", "no-name")(ack[:9])
			w("FuzzParseAck", "bad-magic")(fuzzrun.Flip(ack, 0))
			long := append(ack[:9:9], make([]byte, 600)...)
			w("FuzzParseAck", "long-name")(long)
		}
	}

	// FuzzDecodeRow: each rows event's images with its table map's column types and metadata,
	// cut, and with a flipped byte.
	var tm binlog.TableMapEvent
	for i, ev := range evs {
		h, _ := binlog.ParseHeader(ev)
		body := binlog.EventBody(ev, true)
		switch h.Type {
		case binlog.TABLE_MAP_EVENT:
			if tm, err = binlog.ParseTableMap(body); err != nil {
				t.Fatal(err)
			}
		case binlog.WRITE_ROWS_EVENT, binlog.UPDATE_ROWS_EVENT, binlog.DELETE_ROWS_EVENT:
			re, err := binlog.ParseRows(h.Type, body)
			if err != nil {
				t.Fatal(err)
			}
			w("FuzzDecodeRow", "rows-%02d-type%d", i, h.Type)(re.Rows, tm.Types, tm.Meta)
			w("FuzzDecodeRow", "cut-%02d-type%d", i, h.Type)(re.Rows[:len(re.Rows)/2], tm.Types, tm.Meta)
			w("FuzzDecodeRow", "flip-%02d-type%d", i, h.Type)(fuzzrun.Flip(re.Rows, len(re.Rows)/2), tm.Types, tm.Meta)
			w("FuzzDecodeRow", "meta-cut-%02d-type%d", i, h.Type)(re.Rows, tm.Types, tm.Meta[:len(tm.Meta)/2])
		}
	}
}

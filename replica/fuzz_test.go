package replica

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
	"github.com/semisyncd/semisyncd/internal/binlogsample"
	"github.com/sirupsen/logrus"
)

// FuzzReceivedEvent feeds arbitrary bytes to what the IO thread runs on each event a source
// sends (checksum normalisation, FDE checksum detection, transaction boundaries) and to the
// SQL thread's decoders: none may panic, and a normalised event always verifies.
func FuzzReceivedEvent(f *testing.F) {
	f.Add(binlog.FormatDescription(1, 1, 4, 0, true), true)
	f.Add(binlog.MakeEvent(1, binlog.QUERY_EVENT, 1, 0, 0, append(make([]byte, 13), "\x00COMMIT"...), false), false)
	f.Add(binlog.MakeEvent(1, binlog.XID_EVENT, 1, 0, 0, make([]byte, 8), true), true)
	f.Add([]byte{1, 2, 3}, false)
	f.Fuzz(func(t *testing.T, ev []byte, has bool) {
		_ = fdeChecksum(ev)
		out, err := withChecksum(ev, has)
		if err != nil {
			return
		}
		if err := binlog.VerifyChecksum(out); err != nil {
			t.Fatalf("normalised event does not verify: %v", err)
		}
		h, err := binlog.ParseHeader(out)
		if err != nil {
			t.Fatal(err)
		}
		body := binlog.EventBody(out, true)
		var tr txTracker
		tr.Feed(h.Type, body)
		_, _ = binlog.ParseTableMap(body)
		_, _ = binlog.ParseRows(h.Type, body)
	})
}

// FuzzRelayLogRecovery opens a relay log whose last file holds arbitrary bytes, as a replica
// does at start after a crash or with a damaged disk: OpenRelayLog refuses it, or keeps a
// prefix of it that ends at a transaction boundary. What it kept reads back without error, and
// the log then takes a new transaction and publishes it to readers.
func FuzzRelayLogRecovery(f *testing.F) {
	f.Add(relaySample(f))
	f.Add(relaySample(f)[:300])
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		name := relayBaseName + ".000001"
		if err := os.WriteFile(filepath.Join(dir, relayIndexName), []byte("./"+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := OpenRelayLog(dir, 2, logrus.NewEntry(quiet), nil)
		if err != nil {
			return
		}
		defer r.Close()
		kept, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, kept) {
			t.Fatalf("recovery left %d bytes that are not a prefix of the %d-byte file", len(kept), len(data))
		}
		before := len(readAll(t, r, RelayPos{File: name}))
		appendTx(t, r, 1000, 1<<20)
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
		if after := len(readAll(t, r, RelayPos{File: name})); after != before+3 {
			t.Fatalf("%d events readable after one more transaction, %d before", after, before)
		}
	})
}

// relaySample is a relay log file as the IO thread writes it: the sample binlog's events
// received, their transaction boundaries marked, flushed.
func relaySample(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	path, err := binlogsample.Write(filepath.Join(dir, "src"), true)
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := binlogsample.Events(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "relay"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRelayLog(filepath.Join(dir, "relay"), 2, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var tt txTracker
	var gtid *binlog.GTIDEvent
	pos := uint64(binlog.FileHeaderLen)
	for _, ev := range evs[2:] { // the source's FDE and PREVIOUS_GTIDS stay out, as over the wire
		h, _ := binlog.ParseHeader(ev)
		body := binlog.EventBody(ev, true)
		if err := r.Append(ev); err != nil {
			t.Fatal(err)
		}
		pos = uint64(h.LogPos)
		if h.Type == binlog.GTID_LOG_EVENT {
			g, err := binlog.ParseGTID(body)
			if err != nil {
				t.Fatal(err)
			}
			gtid = &g
		}
		if tt.Feed(h.Type, body) {
			r.MarkBoundary(binlog.Position{File: "binlog.000001", Pos: pos}, gtid)
			gtid = nil
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "relay", relayBaseName+".000001"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

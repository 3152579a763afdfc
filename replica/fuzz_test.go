package replica

import (
	"testing"

	"github.com/semisyncd/semisyncd/binlog"
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

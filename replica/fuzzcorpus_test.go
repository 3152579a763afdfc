package replica

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
// (testdata/fuzz/<FuzzName>/seed-*): the sample binlog's events as a source sends them (with
// and without checksum), a relay log file the relay log wrote, and truncated and garbled
// copies. It runs only with SEMISYNCD_WRITE_FUZZ_CORPUS=1; inputs the fuzzer found stay.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv(fuzzrun.WriteSeedsEnv) != "1" {
		t.Skip("set " + fuzzrun.WriteSeedsEnv + "=1 to rewrite the seed corpora")
	}
	add := fuzzrun.Seeds(t)
	dir := t.TempDir()
	for _, checksum := range []bool{true, false} {
		path, err := binlogsample.Write(filepath.Join(dir, fmt.Sprint(checksum)), checksum)
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := binlogsample.Events(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			h, _ := binlog.ParseHeader(ev)
			name := fmt.Sprintf("checksum-%v-%02d-type%d", checksum, i, h.Type)
			add("FuzzReceivedEvent", name, ev, checksum)
			add("FuzzReceivedEvent", name+"-cut", ev[:len(ev)-3], checksum)
			add("FuzzReceivedEvent", name+"-flip", fuzzrun.Flip(ev, len(ev)/2), checksum)
			add("FuzzReceivedEvent", name+"-claimed", ev, !checksum)
		}
	}
	relay := relaySample(t)
	add("FuzzRelayLogRecovery", "whole", relay)
	// Cut inside every event, and with each event's size damaged.
	for off, i := binlog.FileHeaderLen, 0; off+binlog.HeaderLen <= len(relay); i++ {
		size := int(binary.LittleEndian.Uint32(relay[off+9:]))
		add("FuzzRelayLogRecovery", fmt.Sprintf("cut-in-%02d", i), relay[:off+size/2])
		sized := append([]byte(nil), relay...)
		binary.LittleEndian.PutUint32(sized[off+9:], uint32(size+7))
		add("FuzzRelayLogRecovery", fmt.Sprintf("size-%02d", i), sized)
		if i%3 == 0 {
			add("FuzzRelayLogRecovery", fmt.Sprintf("flip-%02d", i), fuzzrun.Flip(relay, off+size/2))
		}
		off += size
	}
	add("FuzzRelayLogRecovery", "magic-only", relay[:binlog.FileHeaderLen])
}

package fuzzrun

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzEnv controls TestFuzzTargets: "0" skips it; a Go duration ("30s", "10m") fuzzes each
// target that long instead of its bounded count (for a longer run by hand).
const FuzzEnv = "SEMISYNCD_FUZZ"

// execs is each target's input count in the bounded run. Targets that drive a real server (a
// connection, a login and a prepared statement per input) get fewer than the pure decoders.
// A target missing here (a pure decoder) gets defaultExecs.
var execs = map[string]int{
	"FuzzHandshakeResponse":  1000,
	"FuzzCommand":            500,
	"FuzzReplicationCommand": 1000,
	"FuzzFileReader":         3000,
	"FuzzRelayLogRecovery":   1000,
}

const defaultExecs = 10000

// budget bounds the whole run (builds and fuzzing): under go test's default 10-minute timeout.
const budget = 8 * time.Minute

// TestFuzzTargets runs every fuzz target of the module for a bounded number of inputs (see the
// package comment) and fails on a crasher, printing the input. It is skipped with -short or
// SEMISYNCD_FUZZ=0.
func TestFuzzTargets(t *testing.T) {
	mode := os.Getenv(FuzzEnv)
	if testing.Short() || mode == "0" {
		t.Skip("bounded fuzzing skipped (-short or " + FuzzEnv + "=0)")
	}
	var fuzztime string
	deadline := budget
	if mode != "" {
		if _, err := time.ParseDuration(mode); err != nil {
			t.Fatalf("%s=%q: want 0 or a duration: %v", FuzzEnv, mode, err)
		}
		fuzztime = mode
		if dl, ok := t.Deadline(); ok {
			deadline = time.Until(dl) - 30*time.Second
		} else {
			deadline = 1<<63 - 1
		}
	}
	root := ModuleRoot()
	targets, err := Targets(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) == 0 {
		t.Fatal("no fuzz targets found under " + root)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	tmp := t.TempDir()
	cache := filepath.Join(tmp, "cache")
	built := map[string]string{}
	for _, tg := range targets {
		t.Run(strings.ReplaceAll(tg.Dir, "/", "_")+"/"+tg.Name, func(t *testing.T) {
			bin, ok := built[tg.Dir]
			if !ok {
				bin = filepath.Join(tmp, strings.ReplaceAll(tg.Dir, "/", "_")+".test")
				start := time.Now()
				if out, err := Build(ctx, root, tg.Dir, bin); err != nil {
					t.Fatalf("building %s for fuzzing: %v\n%s", tg.Dir, err, out)
				}
				t.Logf("built %s in %v", tg.Dir, time.Since(start).Round(time.Millisecond))
				built[tg.Dir] = bin
			}
			n := execs[tg.Name]
			if n == 0 {
				n = defaultExecs
			}
			start := time.Now()
			res, err := Fuzz(ctx, root, bin, tg, n, fuzztime, cache)
			if err != nil {
				if res.Crasher != "" {
					t.Fatalf("%s found a crasher, written to %s (plain go test now replays it; commit it with the fix):\n%s\n%s",
						tg.Name, res.Crasher, res.Input, res.Output)
				}
				t.Fatalf("%s: %v\n%s", tg.Name, err, res.Output)
			}
			t.Logf("%s: %s in %v", tg.Name, lastLine(res.Output), time.Since(start).Round(time.Millisecond))
		})
	}
}

// lastLine is the fuzzer's final status line ("fuzz: elapsed: …, execs: …").
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "fuzz: ") {
			return lines[i]
		}
	}
	return strconv.Quote(lines[len(lines)-1])
}

// TestEveryTargetHasACorpus: each fuzz target has a checked-in seed corpus
// (testdata/fuzz/<FuzzName>/ in its package) that plain go test replays.
func TestEveryTargetHasACorpus(t *testing.T) {
	root := ModuleRoot()
	targets, err := Targets(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		dir := filepath.Join(root, filepath.FromSlash(tg.Dir), "testdata", "fuzz", tg.Name)
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) < 3 {
			t.Errorf("%s/%s: %d seed files in %s (%v), want at least 3", tg.Dir, tg.Name, len(ents), dir, err)
			continue
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || !strings.HasPrefix(string(b), "go test fuzz v1\n") {
				t.Errorf("%s: not a corpus file (%v)", filepath.Join(dir, e.Name()), err)
			}
		}
	}
}

// TestTargets: the discovery finds the targets this test knows exist, and WriteSeed writes what
// the fuzzer reads back.
func TestTargets(t *testing.T) {
	targets, err := Targets(ModuleRoot())
	if err != nil {
		t.Fatal(err)
	}
	have, names := map[string]bool{}, map[string]bool{}
	for _, tg := range targets {
		have[tg.Dir+"."+tg.Name] = true
		names[tg.Name] = true
	}
	for name := range execs {
		if !names[name] {
			t.Errorf("execs names %s, which is no fuzz target", name)
		}
	}
	for _, want := range []string{"binlog.FuzzParseEvent", "binlog.FuzzDecodeRow", "replica.FuzzReceivedEvent", "sqlserver.FuzzCommand", "sqlserver.FuzzReplicationCommand", "replica.FuzzRelayLogRecovery"} {
		if !have[want] {
			t.Errorf("target %s not found (found %v)", want, targets)
		}
	}
	dir := t.TempDir()
	if err := WriteSeed(dir, "s", []byte("a\x00\xff\"b"), "x\n", true, uint8(7), int64(-3)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "s"))
	want := "go test fuzz v1\n[]byte(\"a\\x00\\xff\\\"b\")\nstring(\"x\\n\")\nbool(true)\nbyte(7)\nint64(-3)\n"
	if string(b) != want {
		t.Fatalf("seed file:\n%s\nwant:\n%s", b, want)
	}
	if err := WriteSeed(dir, "bad", 1.5); err == nil {
		t.Fatal("a float64 seed value was accepted")
	}
}

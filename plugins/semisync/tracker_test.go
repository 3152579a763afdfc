package semisync

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tracker is tested as a deterministic state machine: scripts in
// testdata/*.txt list commands (commit, wait, ack, tick, connect, …), each
// followed by "----" and the releases and state it must produce.
// go test ./plugins/semisync -rewrite regenerates the expected output.

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scripts")

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type testCase struct {
	cmd  string
	want string
}

func parseScript(t *testing.T, path string) (header []string, cases []testCase) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cur *testCase
	var want []string
	inWant := false
	flush := func() {
		if cur != nil {
			cur.want = strings.Join(want, "\n")
			cases = append(cases, *cur)
		}
		cur, want, inWant = nil, nil, false
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inWant && line == "":
			flush()
		case inWant:
			want = append(want, line)
		case line == "----":
			inWant = true
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			if cur == nil {
				header = append(header, line)
			}
		default:
			cur = &testCase{cmd: line}
		}
	}
	flush()
	return header, cases
}

func TestTrackerScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, cases := parseScript(t, path)
			var tr *Tracker
			var out strings.Builder
			for _, c := range cases {
				got := run(t, &tr, c.cmd)
				if !*rewrite && got != c.want {
					t.Fatalf("%s\n got:\n%s\n want:\n%s", c.cmd, got, c.want)
				}
				fmt.Fprintf(&out, "%s\n----\n%s\n\n", c.cmd, got)
			}
			if *rewrite {
				data, _ := os.ReadFile(path)
				head := strings.SplitN(string(data), "\n\n", 2)[0]
				if !strings.HasPrefix(head, "#") {
					head = ""
				} else {
					head += "\n\n"
				}
				if err := os.WriteFile(path, []byte(head+out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func args(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func pos(s string) Position {
	file, off, _ := strings.Cut(s, ":")
	n, _ := strconv.ParseUint(off, 10, 64)
	return Position{File: file, Pos: n}
}

func at(m map[string]string) time.Time {
	ms, _ := strconv.Atoi(m["t"])
	return epoch.Add(time.Duration(ms) * time.Millisecond)
}

func num(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// run applies one command and renders its releases and the state.
func run(t *testing.T, tr **Tracker, line string) string {
	fields := strings.Fields(line)
	m := args(fields[1:])
	var rel []Release
	var extra string
	switch fields[0] {
	case "new":
		*tr = NewTracker(Config{
			Enabled: m["enabled"] != "off", Timeout: time.Duration(num(m["timeout"])) * time.Millisecond,
			WaitNoReplica: m["wait_no_replica"] != "off", WaitCount: num(m["count"]),
		})
	case "commit":
		(*tr).Commit(pos(m["pos"]))
	case "wait":
		if r := (*tr).Wait(uint64(num(m["id"])), pos(m["pos"]), at(m)); r != nil {
			rel = append(rel, *r)
		} else {
			extra = "waiting"
		}
	case "ack":
		rel = (*tr).Ack(uint32(num(m["id"])), pos(m["pos"]), at(m))
	case "tick":
		rel = (*tr).Tick(at(m))
	case "cancel":
		rel = (*tr).Cancel(uint64(num(m["id"])))
	case "connect":
		rel = (*tr).Connect(uint32(num(m["id"])), pos(m["start"]), at(m))
	case "disconnect":
		rel = (*tr).Disconnect(uint32(num(m["id"])), at(m))
	case "enable":
		rel = (*tr).SetEnabled(fields[1] == "on", at(m))
	case "wait-no-replica":
		rel = (*tr).SetWaitNoReplica(fields[1] == "on", at(m))
	case "wait-count":
		rel = (*tr).SetWaitCount(num(m["n"]), at(m))
	case "timeout":
		(*tr).SetTimeout(time.Duration(num(m["ms"])) * time.Millisecond)
	case "want-ack":
		extra = fmt.Sprintf("flag=%v", (*tr).WantAck(pos(m["pos"]), m["txend"] == "true"))
	case "flagged":
		(*tr).Flagged()
	case "reset":
		(*tr).Reset()
	case "flush-status":
		(*tr).ResetFlushable()
	case "shutdown":
		rel = (*tr).Shutdown(at(m))
	default:
		t.Fatalf("unknown command %q", line)
	}
	var b strings.Builder
	for _, r := range rel {
		fmt.Fprintf(&b, "release %d %s\n", r.ID, r.Outcome)
	}
	if extra != "" {
		b.WriteString(extra + "\n")
	}
	c := (*tr).Counters()
	status := "OFF"
	if (*tr).Status() {
		status = "ON"
	}
	fmt.Fprintf(&b, "status=%s clients=%d wait_sessions=%d yes_tx=%d no_tx=%d no_times=%d tx_waits=%d tx_wait_time=%d backtraverse=%d net_waits=%d",
		status, c.Clients, c.WaitSessions, c.YesTx, c.NoTx, c.NoTimes, c.TxWaits, c.TxWaitTimeMicros, c.WaitPosBacktraverse, c.NetWaits)
	return b.String()
}

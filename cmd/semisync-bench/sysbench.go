package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sbResult is what one sysbench run reported.
type sbResult struct {
	Transactions int64
	TPS          float64
	Errors       int64 // "ignored errors": deadlocks, lock wait timeouts and the like
	P95Line      float64
	// Hist is the latency histogram (ms → count), merged across repeats by the report.
	Hist map[float64]int64
}

var (
	reTx      = regexp.MustCompile(`(?m)^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec`)
	reErrors  = regexp.MustCompile(`(?m)^\s*ignored errors:\s+(\d+)`)
	reP95     = regexp.MustCompile(`(?m)^\s*95th percentile:\s+([\d.]+)`)
	reHistRow = regexp.MustCompile(`^\s*([\d.]+)\s+\|\**\s+(\d+)\s*$`)
)

// parseSysbench reads sysbench 1.0's report of a run with --histogram=on. It fails when the
// transaction line is missing (sysbench did not finish).
func parseSysbench(out string) (sbResult, error) {
	m := reTx.FindStringSubmatch(out)
	if m == nil {
		return sbResult{}, fmt.Errorf("no transactions line in sysbench output")
	}
	r := sbResult{Hist: map[float64]int64{}}
	r.Transactions, _ = strconv.ParseInt(m[1], 10, 64)
	r.TPS, _ = strconv.ParseFloat(m[2], 64)
	if m := reErrors.FindStringSubmatch(out); m != nil {
		r.Errors, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reP95.FindStringSubmatch(out); m != nil {
		r.P95Line, _ = strconv.ParseFloat(m[1], 64)
	}
	inHist := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Latency histogram") {
			inHist = true
			continue
		}
		if !inHist {
			continue
		}
		if hm := reHistRow.FindStringSubmatch(line); hm != nil {
			v, _ := strconv.ParseFloat(hm[1], 64)
			n, _ := strconv.ParseInt(hm[2], 10, 64)
			r.Hist[v] += n
		} else if strings.TrimSpace(line) != "" && !strings.Contains(line, "distribution") {
			inHist = false
		}
	}
	return r, nil
}

// percentile returns the smallest histogram value at or below which fraction q of the counts
// lie, or 0 for an empty histogram.
func percentile(hist map[float64]int64, q float64) float64 {
	var total int64
	keys := make([]float64, 0, len(hist))
	for k, n := range hist {
		keys = append(keys, k)
		total += n
	}
	if total == 0 {
		return 0
	}
	sort.Float64s(keys)
	need := int64(q*float64(total) + 0.999999)
	if need < 1 {
		need = 1
	}
	var seen int64
	for _, k := range keys {
		seen += hist[k]
		if seen >= need {
			return k
		}
	}
	return keys[len(keys)-1]
}

// sysbenchArgs are the common options of every run against t.
func sysbenchArgs(t *target, workload string, threads int) []string {
	return []string{workload, "--db-driver=mysql", "--mysql-host=" + t.host, fmt.Sprintf("--mysql-port=%d", t.port),
		"--mysql-user=" + t.user, "--mysql-password=", "--mysql-db=sbtest", "--tables=1", "--table-size=10000",
		fmt.Sprintf("--threads=%d", threads)}
}

// sysbenchPrepare creates and loads sbtest1.
func sysbenchPrepare(ctx context.Context, t *target) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sysbench", append(sysbenchArgs(t, "oltp_read_write", 1), "prepare")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sysbench prepare on %s: %v\n%s", t.name, err, out)
	}
	return nil
}

// sysbenchRun runs workload for d; sysbench is killed when it overruns d by a minute.
func sysbenchRun(ctx context.Context, t *target, workload string, threads int, d time.Duration) (sbResult, string, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	args := append(sysbenchArgs(t, workload, threads), fmt.Sprintf("--time=%d", int(d.Seconds())), "--events=0",
		"--report-interval=0", "--histogram=on", "run")
	out, err := exec.CommandContext(ctx, "sysbench", args...).CombinedOutput()
	if err != nil {
		return sbResult{}, string(out), fmt.Errorf("sysbench %s: %v", workload, err)
	}
	r, err := parseSysbench(string(out))
	return r, string(out), err
}

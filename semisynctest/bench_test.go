package semisynctest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkStart measures Start until ready (every replica connected with semi-sync, the
// primary ON with all its clients) for 0, 1 and 2 replicas, and reports the resident memory of
// each idle server just started (the largest of any server and of the primary, and the mean, in MB) — numbers to read, never asserted:
//
//	go test ./semisynctest -run x -bench Start -benchtime 10x
func BenchmarkStart(b *testing.B) {
	if _, _, err := Binary(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{0, 1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			var maxRSS, sumRSS, servers, primaryRSS int64
			for i := 0; i < b.N; i++ {
				c := Start(b, Options{Replicas: n})
				b.StopTimer()
				for _, s := range c.all {
					rss, err := rssKB(s.cmd.Process.Pid)
					if err != nil {
						b.Fatal(err)
					}
					maxRSS = max(maxRSS, rss)
					if s == c.Primary {
						primaryRSS = max(primaryRSS, rss)
					}
					sumRSS += rss
					servers++
				}
				c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(maxRSS)/1024, "max-RSS-MB")
			b.ReportMetric(float64(primaryRSS)/1024, "primary-max-RSS-MB")
			b.ReportMetric(float64(sumRSS)/float64(servers)/1024, "avg-RSS-MB")
		})
	}
}

// rssKB reads VmRSS of a process from /proc (Linux).
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

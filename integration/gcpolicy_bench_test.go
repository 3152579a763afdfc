package integration

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
)

// BenchmarkGCPolicyOLTPInsert runs sysbench oltp_insert (10,000-row table,
// 1 and 16 threads, 10 s each, no replica) on semisyncd under three GC
// policies, one server per policy, in turn within each iteration so drift
// of a shared machine spreads over all of them: the runtime's default
// (GOGC=100), GOGC 400 without a memory limit (the earlier policy,
// GOMEMLIMIT=off), and the server's default (GOGC 400 with the limit that
// follows the live heap, package gcpolicy). It reports TPS and the
// server's RSS after the runs.
//
//	go test ./integration -run x -bench GCPolicyOLTPInsert -benchtime 2x
func BenchmarkGCPolicyOLTPInsert(b *testing.B) {
	if _, err := exec.LookPath("sysbench"); err != nil {
		b.Skip("sysbench not installed (Debian package sysbench)")
	}
	policies := []struct {
		name string
		env  []string
	}{
		{"gogc100", []string{"GOGC=100", "GOMEMLIMIT=off"}},
		{"gogc400-nolimit", []string{"GOMEMLIMIT=off"}},
		{"default", nil},
	}
	tps := map[string]float64{}
	rss := map[string]float64{}
	for i := 0; i < b.N; i++ {
		for _, p := range policies {
			srv := StartServer(b, WithEnv(p.env...))
			host, port, _ := net.SplitHostPort(srv.Addr)
			db := srv.DB(b, "")
			mustExec(b, db, "CREATE DATABASE sbtest")
			mustExec(b, db, "CREATE USER 'bench'@'%'")
			mustExec(b, db, "GRANT ALL ON *.* TO 'bench'@'%'")
			sb := func(cmd string, threads int) float64 {
				return sysbenchInsert(b, p.name, host, port, cmd, threads)
			}
			sb("prepare", 1)
			for _, threads := range []int{1, 16} {
				tps[fmt.Sprintf("tps:%d/%s", threads, p.name)] += sb("run", threads) / float64(b.N)
			}
			rss["MB-RSS:"+p.name] += float64(rssKB(srv.cmd.Process.Pid)) / 1024 / float64(b.N)
			srv.Stop(b)
		}
	}
	for k, v := range tps {
		b.ReportMetric(v, k)
	}
	for k, v := range rss {
		b.ReportMetric(v, k)
	}
}

// Command semisync-bench compares semisyncd with MariaDB at semi-synchronous replication in one
// run on one machine:
//
//	go run ./cmd/semisync-bench [--time 5s] [--threads 1,16,64] [--workloads …] [--repeats 2] [--out bench-results]
//
// It starts a semisyncd primary with a semisyncd semi-sync replica (the semisynctest kit) and,
// when Debian's mariadb-server is installed, a MariaDB primary with a MariaDB semi-sync replica
// (row binlog, sync_binlog=1, innodb_flush_log_at_trx_commit=1; both AFTER_SYNC), loads one
// sysbench table of 10k rows into each, and runs every workload × thread count × mode (async,
// semi-sync) on each server; each cell is repeated, with the order of modes and servers turned
// around on every repeat so that load changes of the machine spread over all of them. With
// --two-replicas a semisyncd primary with two replicas adds cells with
// rpl_semi_sync_source_wait_for_replica_count 1 and 2 (MariaDB has no such variable).
//
// A semi-sync run counts only when the primary's Rpl_semi_sync_*_status stayed ON and its
// yes_tx rose by at least the transactions sysbench committed; otherwise the cell reports it as
// invalid. Results go to --out: results.md (the table) and tps.png (the plot).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/semisyncd/semisyncd/internal/mariadbd"
)

var allWorkloads = []string{"oltp_point_select", "oltp_read_only", "oltp_insert", "oltp_write_only", "oltp_read_write"}

func main() {
	app := &cli.App{
		Name:  "semisync-bench",
		Usage: "sysbench semisyncd against MariaDB, async and semi-sync, and write a table and a plot",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "time", Value: 5 * time.Second, Usage: "duration of one run of a cell (whole seconds)"},
			&cli.StringFlag{Name: "threads", Value: "1,16,64", Usage: "sysbench thread counts, comma-separated"},
			&cli.StringFlag{Name: "workloads", Value: strings.Join(allWorkloads, ","), Usage: "sysbench workloads, comma-separated"},
			&cli.IntFlag{Name: "repeats", Value: 2, Usage: "runs of each cell"},
			&cli.StringFlag{Name: "modes", Value: "async,semi-sync", Usage: "async and/or semi-sync"},
			&cli.BoolFlag{Name: "two-replicas", Usage: "also a semisyncd primary with two replicas, semi-sync with wait count 1 and 2"},
			&cli.StringFlag{Name: "baseline", Usage: "path of another semisyncd build: also run it (primary + replica), labelled semisyncd-base, to compare builds side by side"},
			&cli.BoolFlag{Name: "no-mariadb", Usage: "leave MariaDB out even when installed"},
			&cli.StringFlag{Name: "out", Value: "bench-results", Usage: "results folder (results.md, tps.png)"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "logrus level"},
		},
		Action: bench,
	}
	if err := app.Run(os.Args); err != nil {
		logrus.WithError(err).Error("semisync-bench failed")
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad thread count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// task is one sysbench run of the schedule.
type task struct {
	t         *target
	key       cellKey
	semi      bool
	waitCount int
}

func bench(c *cli.Context) error {
	lvl, err := logrus.ParseLevel(c.String("log-level"))
	if err != nil {
		return err
	}
	logrus.SetLevel(lvl)
	log := logrus.WithField("cmd", "semisync-bench")
	if _, err := exec.LookPath("sysbench"); err != nil {
		return fmt.Errorf("sysbench not installed (Debian package sysbench)")
	}
	threads, err := parseInts(c.String("threads"))
	if err != nil {
		return err
	}
	workloads := splitList(c.String("workloads"))
	modes := splitList(c.String("modes"))
	for _, m := range modes {
		if m != "async" && m != "semi-sync" {
			return fmt.Errorf("bad mode %q: async or semi-sync", m)
		}
	}
	d := c.Duration("time").Round(time.Second)
	if d < time.Second {
		return fmt.Errorf("--time must be at least 1s")
	}
	repeats := c.Int("repeats")
	if repeats < 1 {
		return fmt.Errorf("--repeats must be at least 1")
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var targets []*target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	log.Info("starting semisyncd primary + replica")
	ss, err := startSemisyncd(log, 1, "", "semisyncd")
	if err != nil {
		return fmt.Errorf("semisyncd: %w", err)
	}
	targets = append(targets, ss)
	if bin := c.String("baseline"); bin != "" {
		log.WithField("binary", bin).Info("starting the baseline semisyncd primary + replica")
		base, err := startSemisyncd(log, 1, bin, "semisyncd-base")
		if err != nil {
			return fmt.Errorf("baseline semisyncd: %w", err)
		}
		targets = append(targets, base)
	}
	if !c.Bool("no-mariadb") {
		if _, err := mariadbd.Installed(); err != nil {
			log.WithError(err).Warn("MariaDB left out")
		} else {
			log.Info("starting MariaDB primary + replica")
			md, err := startMariaDB(log)
			if err != nil {
				return fmt.Errorf("mariadb: %w", err)
			}
			targets = append(targets, md)
		}
	}
	var two *target
	if c.Bool("two-replicas") {
		log.Info("starting semisyncd primary + 2 replicas")
		two, err = startSemisyncd(log, 2, "", "semisyncd-2r")
		if err != nil {
			return fmt.Errorf("semisyncd with two replicas: %w", err)
		}
		targets = append(targets, two)
	}
	for _, t := range targets {
		log.WithField("server", t.name).Info("sysbench prepare")
		if err := sysbenchPrepare(ctx, t); err != nil {
			return err
		}
	}

	m := matrix{Workloads: workloads, Threads: threads, Modes: modes}
	for _, t := range targets {
		if t != two {
			m.Servers = append(m.Servers, t.name)
		}
	}
	if two != nil {
		m.Servers = append(m.Servers, two.name)
		m.Modes = append(m.Modes, "semi-sync w=1", "semi-sync w=2")
	}
	var schedule []task
	for _, wl := range workloads {
		for _, th := range threads {
			for rep := 0; rep < repeats; rep++ {
				var round []task
				for mi := range modes {
					mode := modes[(mi+rep)%len(modes)]
					for ti := range targets {
						t := targets[(ti+rep)%len(targets)]
						if t == two {
							continue
						}
						round = append(round, task{t: t, key: cellKey{t.name, wl, th, mode}, semi: mode != "async"})
					}
				}
				if two != nil {
					for wi := 0; wi < 2; wi++ {
						w := (wi+rep)%2 + 1
						round = append(round, task{t: two, key: cellKey{two.name, wl, th, fmt.Sprintf("semi-sync w=%d", w)}, semi: true, waitCount: w})
					}
				}
				schedule = append(schedule, round...)
			}
		}
	}
	est := time.Duration(len(schedule)) * (d + 700*time.Millisecond)
	log.WithFields(logrus.Fields{"runs": len(schedule), "estimate": est.Round(time.Second)}).Info("running the matrix")

	rawDir := filepath.Join(c.String("out"), "raw")
	if err := os.MkdirAll(rawDir, 0o755); err != nil {
		return err
	}
	var runs []run
	started := time.Now()
	for i, tk := range schedule {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, out := runOne(ctx, tk, d)
		runs = append(runs, r)
		name := fmt.Sprintf("%03d-%s-%s-%d-%s.txt", i+1, tk.key.Server, tk.key.Workload, tk.key.Threads, strings.ReplaceAll(tk.key.Mode, " ", ""))
		_ = os.WriteFile(filepath.Join(rawDir, name), []byte(out), 0o644)
		elapsed := time.Since(started)
		left := time.Duration(float64(elapsed) / float64(i+1) * float64(len(schedule)-i-1))
		status := fmt.Sprintf("%.0f TPS", r.Result.TPS)
		if why := r.invalid(); why != "" {
			status = "INVALID: " + why
		}
		fmt.Fprintf(os.Stderr, "[%3d/%d] %s elapsed, ~%s left  %-12s %-17s %2d threads %-13s %s\n", i+1, len(schedule),
			elapsed.Round(time.Second), left.Round(time.Second), tk.key.Server, tk.key.Workload, tk.key.Threads, tk.key.Mode, status)
	}

	cells := aggregate(runs)
	if err := os.MkdirAll(c.String("out"), 0o755); err != nil {
		return err
	}
	mdPath := filepath.Join(c.String("out"), "results.md")
	f, err := os.Create(mdPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "# semisync-bench results\n\n`%s` — %s, %d CPUs, sysbench 1 table × 10k rows, %v a run, %d runs a cell, total %v.\n\n",
		strings.Join(append([]string{"go run ./cmd/semisync-bench"}, os.Args[1:]...), " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"), numCPU(), d, repeats, time.Since(started).Round(time.Second))
	writeMarkdown(f, m, cells)
	if err := f.Close(); err != nil {
		return err
	}
	writeMarkdown(os.Stdout, m, cells)
	pngPath := filepath.Join(c.String("out"), "tps.png")
	if err := writePlot(pngPath, m, cells); err != nil {
		log.WithError(err).Warn("no plot")
	}
	log.WithFields(logrus.Fields{"table": mdPath, "plot": pngPath}).Info("done")
	return nil
}

// runOne sets the target's mode, reads its counters, runs sysbench while sampling the semi-sync
// status twice a second, reads the counters again and waits for the replicas to apply
// everything. It returns sysbench's output too.
func runOne(ctx context.Context, tk task, d time.Duration) (run, string) {
	r := run{Key: tk.key}
	if err := tk.t.setMode(ctx, tk.semi, tk.waitCount); err != nil {
		r.Err = fmt.Errorf("setting mode: %w", err)
		return r, ""
	}
	var err error
	if r.Before, err = tk.t.counters(ctx); err != nil {
		r.Err = err
		return r, ""
	}
	sampled := make(chan bool, 1)
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		off := false
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sctx.Done():
				sampled <- off
				return
			case <-tick.C:
				if tk.semi {
					if c, err := tk.t.counters(sctx); err == nil && !c.On {
						off = true
					}
				}
			}
		}
	}()
	res, out, err := sysbenchRun(ctx, tk.t, tk.key.Workload, tk.key.Threads, d)
	cancel()
	r.SawOff = <-sampled
	if err != nil {
		r.Err = err
		logrus.WithField("server", tk.t.name).WithError(err).Warn(lastLines(out, 5))
		return r, out
	}
	r.Result = res
	if r.After, err = tk.t.counters(ctx); err != nil {
		r.Err = err
		return r, out
	}
	// The next run starts with the replicas caught up, so a replica's
	// backlog never takes CPU from another run; how long it took is
	// reported.
	if r.CatchUp, err = tk.t.waitCaughtUp(ctx); err != nil {
		r.Err = err
	}
	return r, out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// readOnly names the workloads that commit no writes: their semi-sync cells expect yes_tx not
// to move.
var readOnly = map[string]bool{"oltp_point_select": true, "oltp_read_only": true}

// cellKey names one cell of the matrix; a cell is run repeats times.
type cellKey struct {
	Server   string
	Workload string
	Threads  int
	Mode     string // "async", "semi-sync", or "semi-sync w=N" for the two-replica cluster
}

// run is one repetition of a cell.
type run struct {
	Key    cellKey
	Result sbResult
	Before counters
	After  counters
	// SawOff is set when a sample of the status during the run read OFF.
	SawOff bool
	// CatchUp is how long the replicas took, after sysbench ended, to apply everything.
	CatchUp time.Duration
	// Err is why sysbench, a counter read or the replicas' catch-up failed; the run is then
	// invalid.
	Err error
}

// invalid returns why a run cannot count, or "". A semi-sync run counts only when semi-sync
// stayed ON through it (ON before and after, no sample OFF, no_times and no_tx unchanged) and
// yes_tx rose by at least the transactions sysbench committed (read-only workloads commit
// nothing to acknowledge). Every run needs sysbench to have finished with transactions.
func (r run) invalid() string {
	if r.Err != nil {
		return r.Err.Error()
	}
	if r.Result.Transactions == 0 {
		return "no transaction completed"
	}
	if r.Key.Mode == "async" {
		return ""
	}
	switch {
	case !r.Before.On || !r.After.On || r.SawOff:
		return "semi-sync status was not ON throughout"
	case r.After.NoTimes != r.Before.NoTimes:
		return fmt.Sprintf("semi-sync switched OFF %d times", r.After.NoTimes-r.Before.NoTimes)
	case r.After.NoTx != r.Before.NoTx:
		return fmt.Sprintf("no_tx rose by %d", r.After.NoTx-r.Before.NoTx)
	}
	if !readOnly[r.Key.Workload] {
		if yes := r.After.YesTx - r.Before.YesTx; yes < r.Result.Transactions {
			return fmt.Sprintf("yes_tx rose by %d for %d committed transactions", yes, r.Result.Transactions)
		}
	}
	return ""
}

// cell aggregates a cell's runs: TPS is the mean of the valid runs, latencies come from their
// merged histograms, errors and semi-sync waits are summed over them.
type cell struct {
	Key               cellKey
	Runs, Valid       int
	TPS               float64
	P50, P95, P99     float64
	Errors            int64
	TxWaits, WaitTime int64         // semi-sync: commits that waited and their total wait, µs
	CatchUp           time.Duration // mean over the valid runs
	Invalid           []string
}

// avgWait is the mean semi-sync wait per commit in µs, or -1 when no commit waited.
func (c cell) avgWait() float64 {
	if c.TxWaits == 0 {
		return -1
	}
	return float64(c.WaitTime) / float64(c.TxWaits)
}

func aggregate(runs []run) map[cellKey]*cell {
	out := map[cellKey]*cell{}
	hists := map[cellKey]map[float64]int64{}
	for _, r := range runs {
		c := out[r.Key]
		if c == nil {
			c = &cell{Key: r.Key}
			out[r.Key] = c
			hists[r.Key] = map[float64]int64{}
		}
		c.Runs++
		if why := r.invalid(); why != "" {
			c.Invalid = append(c.Invalid, why)
			continue
		}
		c.Valid++
		c.TPS += r.Result.TPS
		c.Errors += r.Result.Errors
		c.TxWaits += r.After.TxWaits - r.Before.TxWaits
		c.WaitTime += r.After.TxWaitTime - r.Before.TxWaitTime
		c.CatchUp += r.CatchUp
		for v, n := range r.Result.Hist {
			hists[r.Key][v] += n
		}
	}
	for k, c := range out {
		if c.Valid > 0 {
			c.TPS /= float64(c.Valid)
			c.CatchUp /= time.Duration(c.Valid)
		}
		h := hists[k]
		c.P50, c.P95, c.P99 = math.NaN(), math.NaN(), math.NaN()
		if len(h) > 0 {
			c.P50, c.P95, c.P99 = percentile(h, 0.50), percentile(h, 0.95), percentile(h, 0.99)
		}
	}
	return out
}

// ratio is a's TPS over b's, or NaN when either has no valid run.
func ratio(a, b *cell) float64 {
	if a == nil || b == nil || a.Valid == 0 || b.Valid == 0 || b.TPS == 0 {
		return math.NaN()
	}
	return a.TPS / b.TPS
}

// matrix is the order rows are printed in.
type matrix struct {
	Servers   []string
	Workloads []string
	Threads   []int
	Modes     []string
}

// baseline is the server every ratio is taken against.
const baseline = "mariadb"

func fmtFloat(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// writeMarkdown writes one row per cell: server, workload, threads, mode, TPS, latency
// percentiles (ms), ignored errors, ratio to MariaDB's cell, mean semi-sync wait (µs) and the
// valid run count with the reasons of invalid ones.
func writeMarkdown(w io.Writer, m matrix, cells map[cellKey]*cell) {
	fmt.Fprintln(w, "| server | workload | threads | mode | TPS | p50 ms | p95 ms | p99 ms | errors | ratio to MariaDB | semi-sync wait µs | replica catch-up s | valid runs |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, wl := range m.Workloads {
		for _, th := range m.Threads {
			for _, mode := range m.Modes {
				for _, srv := range m.Servers {
					c := cells[cellKey{srv, wl, th, mode}]
					if c == nil {
						continue
					}
					base := cells[cellKey{baseline, wl, th, baseMode(mode)}]
					rat := math.NaN()
					if srv != baseline {
						rat = ratio(c, base)
					}
					wait := "–"
					if mode != "async" && c.avgWait() >= 0 {
						wait = fmt.Sprintf("%.0f", c.avgWait())
					}
					valid := fmt.Sprintf("%d/%d", c.Valid, c.Runs)
					if len(c.Invalid) > 0 {
						valid += " (" + strings.Join(uniq(c.Invalid), "; ") + ")"
					}
					tps := "invalid"
					if c.Valid > 0 {
						tps = fmt.Sprintf("%.0f", c.TPS)
					}
					catchUp := "–"
					if c.Valid > 0 {
						catchUp = fmt.Sprintf("%.2f", c.CatchUp.Seconds())
					}
					fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s |\n", srv, wl, th, mode, tps,
						fmtFloat(c.P50, 2), fmtFloat(c.P95, 2), fmtFloat(c.P99, 2), c.Errors, fmtFloat(rat, 2), wait, catchUp, valid)
				}
			}
		}
	}
}

// baseMode maps the two-replica modes onto MariaDB's single semi-sync mode for ratios.
func baseMode(mode string) string {
	if strings.HasPrefix(mode, "semi-sync") {
		return "semi-sync"
	}
	return mode
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// writePlot draws path (PNG): one panel per workload, in it one group of bars per thread count
// and one bar per server and mode, TPS on each panel's own linear axis; an invalid cell draws no
// bar.
func writePlot(path string, m matrix, cells map[cellKey]*cell) error {
	type series struct{ srv, mode string }
	var ss []series
	for _, srv := range m.Servers {
		for _, mode := range m.Modes {
			for _, wl := range m.Workloads {
				if cells[cellKey{srv, wl, m.Threads[0], mode}] != nil {
					ss = append(ss, series{srv, mode})
					break
				}
			}
		}
	}
	palette := []color.RGBA{{31, 119, 180, 255}, {174, 199, 232, 255}, {214, 39, 40, 255}, {255, 152, 150, 255},
		{44, 160, 44, 255}, {152, 223, 138, 255}, {148, 103, 189, 255}, {197, 176, 213, 255}}
	width := vg.Points(math.Min(14, 90/float64(len(ss)*len(m.Threads)+1)))
	plots := make([][]*plot.Plot, 1)
	for wi, wl := range m.Workloads {
		p := plot.New()
		p.Title.Text = wl
		if wi == 0 {
			p.Y.Label.Text = "transactions/s"
		}
		p.X.Label.Text = "threads"
		var labels []string
		for _, th := range m.Threads {
			labels = append(labels, strconv.Itoa(th))
		}
		top := 0.0
		for i, s := range ss {
			vals := make(plotter.Values, len(m.Threads))
			for j, th := range m.Threads {
				if c := cells[cellKey{s.srv, wl, th, s.mode}]; c != nil && c.Valid > 0 {
					vals[j] = c.TPS
					top = math.Max(top, c.TPS)
				}
			}
			b, err := plotter.NewBarChart(vals, width)
			if err != nil {
				return err
			}
			b.Color = palette[i%len(palette)]
			b.LineStyle.Width = 0
			b.Offset = width * vg.Length(float64(i)-float64(len(ss)-1)/2)
			p.Add(b)
			if wi == len(m.Workloads)-1 {
				p.Legend.Add(s.srv+" "+s.mode, b)
			}
		}
		p.Legend.Top = true
		p.Legend.TextStyle.Font.Size = vg.Points(8)
		p.NominalX(labels...)
		p.Y.Min = 0
		if wi == len(m.Workloads)-1 && top > 0 {
			p.Y.Max = top * (1.1 + 0.07*float64(len(ss))) // room for the legend above the bars
		}
		plots[0] = append(plots[0], p)
	}
	w := vg.Length(3.2*float64(len(m.Workloads))) * vg.Inch
	h := 4.5 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	t := draw.Tiles{Rows: 1, Cols: len(m.Workloads), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, t, dc)
	for j := range plots[0] {
		plots[0][j].Draw(canvases[0][j])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func numCPU() int { return runtime.NumCPU() }

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// lineSeries is one named line of points.
type lineSeries struct {
	name string
	pts  plotter.XYs
}

func savePlot(dir, file, title, xlabel, ylabel string, logX bool, series []lineSeries) error {
	p, err := linePlot(title, xlabel, ylabel, logX, series)
	if err != nil {
		return err
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, file))
}

// linePlot draws series as lines with points.
func linePlot(title, xlabel, ylabel string, logX bool, series []lineSeries) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	for i, s := range series {
		if len(s.pts) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		pts.Color = plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// WritePlots draws the report's plots into dir and returns their names.
func WritePlots(dir string, r *Report) ([]string, error) {
	var files []string
	type key = struct{ flow, backend string }
	var order []key
	ratio := map[key]plotter.XYs{}
	p99 := map[key]plotter.XYs{}
	for _, e := range r.E2E {
		k := key{e.Flow, e.Backend}
		if _, ok := ratio[k]; !ok {
			order = append(order, k)
		}
		// A row with failed answers on either side (logins shed with 429
		// past the hashing slots, timeouts) compares unlike work: its
		// ratio stays in the table, not on the chart.
		if r := e.Ratio(); !math.IsNaN(r) && !math.IsInf(r, 0) && e.Gatehouse.Errors == 0 && e.BareSide.Errors == 0 {
			ratio[k] = append(ratio[k], plotter.XY{X: float64(e.C), Y: r})
		}
		p99[k] = append(p99[k], plotter.XY{X: float64(e.C), Y: float64(e.Gatehouse.Lat.P99) / float64(time.Millisecond)})
	}
	if len(order) > 0 {
		var ls []lineSeries
		for _, k := range order {
			ls = append(ls, lineSeries{fmt.Sprintf("%s (%s)", k.flow, k.backend), p99[k]})
		}
		if err := ratioGrid(dir, "e2e-ratio.png", order, ratio); err != nil {
			return files, err
		}
		if err := savePlot(dir, "e2e-p99.png", "Gatehouse p99 latency", "concurrency", "p99 (ms)", true, ls); err != nil {
			return files, err
		}
		files = append(files, "e2e-ratio.png", "e2e-p99.png")
	}
	var cdf []lineSeries
	for _, v := range r.Revoke {
		if len(v.Delays) == 0 {
			continue
		}
		d := slices.Clone(v.Delays)
		slices.Sort(d)
		var pts plotter.XYs
		for i, x := range d {
			pts = append(pts, plotter.XY{X: float64(x) / float64(time.Millisecond), Y: float64(i+1) / float64(len(d))})
		}
		cdf = append(cdf, lineSeries{v.Path, pts})
	}
	if len(cdf) > 0 {
		if err := savePlot(dir, "revocation-cdf.png", "Revocation delay (CDF)", "ms from revocation to first rejection", "fraction of trials", false, cdf); err != nil {
			return files, err
		}
		files = append(files, "revocation-cdf.png")
	}
	g, err := growthPlot(dir, r)
	files = append(files, g...)
	return files, err
}

// growthPlot draws the cookie check's p50 against live sessions.
func growthPlot(dir string, r *Report) ([]string, error) {
	var series []lineSeries
	for _, g := range r.Growth {
		var miss, warm plotter.XYs
		for _, p := range g.Points {
			if p.Miss.N > 0 {
				miss = append(miss, plotter.XY{X: float64(p.Sessions), Y: float64(p.Miss.P50) / float64(time.Microsecond)})
			}
			if p.Warm.N > 0 {
				warm = append(warm, plotter.XY{X: float64(p.Sessions), Y: float64(p.Warm.P50) / float64(time.Microsecond)})
			}
		}
		series = append(series, lineSeries{"miss (" + g.Backend + ")", miss}, lineSeries{"warm (" + g.Backend + ")", warm})
	}
	if len(series) == 0 {
		return nil, nil
	}
	p, err := linePlot("Cookie check (GET /v1/me) p50 against live sessions", "live cookie sessions", "p50 (µs)", true, series)
	if err != nil {
		return nil, err
	}
	// From zero, so that flat looks flat; sizes named as in the report.
	p.Y.Min = 0
	p.Legend.Left = true
	p.Legend.Top = false
	var ticks []plot.Tick
	for n := 1000; n <= 10_000_000; n *= 10 {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: count(n)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, "growth-cookie-check.png")); err != nil {
		return nil, err
	}
	return []string{"growth-cookie-check.png"}, nil
}

// flowTargets are issue 18's throughput ratio targets by flow, drawn as a
// line on each flow's chart.
var flowTargets = map[string]float64{
	"GET /v1/me cookie":       0.90,
	"GET /v1/me bearer":       0.90,
	"POST /oauth2/token cc":   0.85,
	"POST /oauth2/introspect": 0.90,
	"GET JWKS":                0.95,
	"POST /v1/login session":  0.95,
	"POST /v1/login token":    0.95,
}

// ratioGrid draws one small chart per flow, a line per backend, with the
// flow's target as a dashed line: fifteen series in one chart were not
// readable. The charts share their axes, so they compare at a glance.
func ratioGrid(dir, file string, order []struct{ flow, backend string }, ratio map[struct{ flow, backend string }]plotter.XYs) error {
	var flows []string
	for _, k := range order {
		if !slices.Contains(flows, k.flow) {
			flows = append(flows, k.flow)
		}
	}
	const cols = 2
	rows := (len(flows) + cols - 1) / cols
	backends := []string{"sqlite", "postgres", "redis"}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, f := range flows {
		var series []lineSeries
		for _, b := range backends {
			if pts := ratio[struct{ flow, backend string }{f, b}]; len(pts) > 0 {
				series = append(series, lineSeries{b, pts})
			}
		}
		p, err := linePlot(f, "concurrency", "ratio to bare", true, series)
		if err != nil {
			return err
		}
		p.Title.TextStyle.Font.Size = vg.Points(15)
		// The same axis on every chart, up to 1.4, or up to 2 when a point
		// is above 1.4; the few beyond 2 are drawn at the top edge (the
		// table has their value), so that one outlier cannot flatten a
		// chart as a ratio of 50 once did.
		p.Y.Min, p.Y.Max = 0, 1.4
		for _, sr := range series {
			for j, pt := range sr.pts {
				p.Y.Max = max(p.Y.Max, min(pt.Y*1.05, 2))
				sr.pts[j].Y = min(pt.Y, 2)
			}
		}
		p.X.Min, p.X.Max = 1, 128
		if t, ok := flowTargets[f]; ok {
			line, err := plotter.NewLine(plotter.XYs{{X: 1, Y: t}, {X: 128, Y: t}})
			if err != nil {
				return err
			}
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
			line.Width = vg.Points(1.5)
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("target %.2f", t), line)
		}
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.YOffs = vg.Points(2)
		grid[i/cols][i%cols] = p
	}
	img := vgimg.New(vg.Length(cols)*5.5*vg.Inch, vg.Length(rows)*3.4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

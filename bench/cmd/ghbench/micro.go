package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// BenchLine is one result line of "go test -bench": the benchmark's name
// (without the -GOMAXPROCS suffix) and its metrics by unit.
type BenchLine struct {
	Name    string
	Metrics map[string]float64
}

// ParseBenchOutput reads the result lines of "go test -bench" output.
func ParseBenchOutput(out string) []BenchLine {
	var lines []BenchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		bl := BenchLine{Name: name, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			bl.Metrics[f[i+1]] = v
		}
		lines = append(lines, bl)
	}
	return lines
}

// MedianMetric returns, for each benchmark name, the median of a metric
// over repeated lines (from -count).
func MedianMetric(lines []BenchLine, unit string) map[string]float64 {
	all := map[string][]float64{}
	for _, l := range lines {
		if v, ok := l.Metrics[unit]; ok {
			all[l.Name] = append(all[l.Name], v)
		}
	}
	out := map[string]float64{}
	for k, v := range all {
		out[k] = Median(v)
	}
	return out
}

// goBench runs "go test -run ^$ -bench pattern args... pkg" in dir and
// returns its output.
func goBench(ctx context.Context, dir, pkg, pattern string, env []string, args ...string) (string, error) {
	a := append([]string{"test", "-run", "^$", "-bench", pattern}, args...)
	a = append(a, pkg)
	cmd := exec.CommandContext(ctx, "go", a...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("go %s: %w\n%s", strings.Join(a, " "), err, tail(string(out), 2000))
	}
	return string(out), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

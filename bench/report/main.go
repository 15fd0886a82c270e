// Command report turns `go test -bench` output into the ratio tables of
// bench/RESULTS.md: for every benchmark named Family/variant/param it
// prints each variant's median next to the baseline variant's median from
// the same run, and their ratio.
//
//	go test -run '^$' -bench . -count 5 ./bench/ | go run ./bench/report
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// line matches "BenchmarkName-2   N   12.3 ns/op   0.5 ns/entity ...".
var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type key struct{ family, param string }

func main() {
	baseline := flag.String("baseline", "slice,copy,cpu,interpreted", "variants the others are compared with: per benchmark, the first of these it has")
	unit := flag.String("unit", "ns/entity", "metric to compare when a benchmark reports it (ns/op otherwise)")
	flag.Parse()
	if err := report(os.Stdin, os.Stdout, *baseline, *unit); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func report(in io.Reader, out io.Writer, baseline, unit string) error {
	samples := map[key]map[string][]float64{}
	units := map[key]string{}
	others := map[key]map[string]map[string][]float64{} // key → variant → unit → samples
	var singles []string
	singleVals := map[string][]float64{}
	singleUnit := map[string]string{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		value, u, ok := metric(m[2], unit)
		if !ok {
			continue
		}
		extra := extras(m[2], u)
		parts := strings.Split(m[1], "/")
		if len(parts) != 3 {
			if _, seen := singleVals[m[1]]; !seen {
				singles = append(singles, m[1])
			}
			singleVals[m[1]] = append(singleVals[m[1]], value)
			singleUnit[m[1]] = u
			continue
		}
		k := key{parts[0], parts[2]}
		if samples[k] == nil {
			samples[k] = map[string][]float64{}
		}
		units[k] = u
		if others[k] == nil {
			others[k] = map[string]map[string][]float64{}
		}
		if others[k][parts[1]] == nil {
			others[k][parts[1]] = map[string][]float64{}
		}
		for eu, ev := range extra {
			others[k][parts[1]][eu] = append(others[k][parts[1]][eu], ev)
		}
		samples[k][parts[1]] = append(samples[k][parts[1]], value)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(samples) == 0 && len(singles) == 0 {
		return fmt.Errorf("no benchmark lines on input")
	}
	keys := make([]key, 0, len(samples))
	for k := range samples {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].family != keys[j].family {
			return keys[i].family < keys[j].family
		}
		if a, b := paramValue(keys[i].param), paramValue(keys[j].param); a != b {
			return a < b
		}
		return keys[i].param < keys[j].param
	})
	fmt.Fprintf(out, "| benchmark | size | variant | median | unit | × baseline | also |\n|---|---|---|---|---|---|---|\n")
	for _, k := range keys {
		var base []float64
		hasBase := false
		for _, name := range strings.Split(baseline, ",") {
			if base, hasBase = samples[k][name]; hasBase {
				break
			}
		}
		variants := make([]string, 0, len(samples[k]))
		for v := range samples[k] {
			variants = append(variants, v)
		}
		sort.Strings(variants)
		for _, v := range variants {
			med := median(samples[k][v])
			ratio := "—"
			if hasBase {
				ratio = fmt.Sprintf("%.2f", med/median(base))
			}
			var also []string
			for eu, ev := range others[k][v] {
				also = append(also, format(median(ev))+" "+eu)
			}
			sort.Strings(also)
			fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n", k.family, k.param, v, format(med), units[k], ratio, strings.Join(also, ", "))
		}
	}
	if len(singles) > 0 {
		fmt.Fprintf(out, "\n| benchmark | median | unit |\n|---|---|---|\n")
		for _, s := range singles {
			fmt.Fprintf(out, "| %s | %s | %s |\n", s, format(median(singleVals[s])), singleUnit[s])
		}
	}
	return nil
}

// extras returns the other metrics of a result line: everything but the
// primary unit and ns/op.
func extras(fields, primary string) map[string]float64 {
	out := map[string]float64{}
	f := strings.Fields(fields)
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || f[i+1] == primary || f[i+1] == "ns/op" {
			continue
		}
		out[f[i+1]] = v
	}
	return out
}

// metric picks the wanted unit from a result line, or ns/op.
func metric(fields, unit string) (float64, string, bool) {
	f := strings.Fields(fields)
	var nsop float64
	found := false
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		if f[i+1] == unit {
			return v, unit, true
		}
		if f[i+1] == "ns/op" {
			nsop, found = v, true
		}
	}
	return nsop, "ns/op", found
}

// format prints 3 significant digits, without an exponent below 1e9.
func format(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func paramValue(p string) float64 {
	_, v, _ := strings.Cut(p, "=")
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Command report turns `go test -bench` output into the ratio tables of
// bench/RESULTS.md: for every benchmark named Family/variant/param it
// prints each variant's median next to the baseline variant's median from
// the same run, and their ratio.
//
//	go test -run '^$' -bench . -count 5 ./bench/ | go run ./bench/report
//
// A table with a row missing reads as a complete table, so the report
// refuses to print one: it exits 1, naming what is missing, when a
// benchmark failed (a "--- FAIL" line), a package failed, a variant of a
// family has no result at one of the family's sizes, or a benchmark named
// in -require has no result at all.
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

// failed matches go test's "--- FAIL: BenchmarkName" (indented for a
// sub-benchmark); failedPkg its "FAIL	package [build failed]" summary.
var (
	failed    = regexp.MustCompile(`^\s*--- FAIL: Benchmark(\S+)`)
	failedPkg = regexp.MustCompile(`^FAIL\s+(\S+)`)
)

type key struct{ family, param string }

func main() {
	baseline := flag.String("baseline", "slice,copy,cpu,interpreted,full", "variants the others are compared with: per benchmark, the first of these it has")
	unit := flag.String("unit", "ns/entity", "metric to compare when a benchmark reports it (ns/op otherwise)")
	require := flag.String("require", "", "comma-separated benchmarks the tables need (Family, Family/variant or a full name, without the Benchmark prefix); one without a result fails the report")
	flag.Parse()
	var required []string
	if *require != "" {
		required = strings.Split(*require, ",")
	}
	if err := report(os.Stdin, os.Stdout, *baseline, *unit, required...); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// report writes the tables for the benchmark output on in, or, when a
// benchmark the tables need is missing or failed, writes nothing and
// returns an error naming each one.
func report(in io.Reader, out io.Writer, baseline, unit string, required ...string) error {
	var problems []string
	seen := map[string]bool{} // every benchmark name with a result
	samples := map[key]map[string][]float64{}
	units := map[key]string{}
	others := map[key]map[string]map[string][]float64{} // key → variant → unit → samples
	var singles []string
	singleVals := map[string][]float64{}
	singleUnit := map[string]string{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if f := failed.FindStringSubmatch(sc.Text()); f != nil {
			problems = append(problems, f[1]+" failed")
			continue
		}
		if f := failedPkg.FindStringSubmatch(sc.Text()); f != nil {
			problems = append(problems, "package "+f[1]+" failed")
			continue
		}
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		value, u, ok := metric(m[2], unit)
		if !ok {
			continue
		}
		seen[m[1]] = true
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
	if len(samples) == 0 && len(singles) == 0 && len(problems) == 0 {
		return fmt.Errorf("no benchmark lines on input")
	}
	for _, p := range incomplete(samples) {
		// A failed benchmark is named once, as failed.
		if name, _ := strings.CutSuffix(p, " has no result"); !slices.Contains(problems, name+" failed") {
			problems = append(problems, p)
		}
	}
	for _, r := range required {
		if !hasResult(seen, strings.TrimPrefix(strings.TrimSpace(r), "Benchmark")) {
			problems = append(problems, strings.TrimSpace(r)+" has no result")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the tables need benchmarks that are missing or failed (nothing printed):\n  %s", strings.Join(problems, "\n  "))
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

// incomplete names every variant that lacks a result at a size where its
// family has others: a row its table would silently drop.
func incomplete(samples map[key]map[string][]float64) []string {
	params := map[string][]string{}
	variants := map[string]map[string]bool{}
	for k, vs := range samples {
		params[k.family] = append(params[k.family], k.param)
		if variants[k.family] == nil {
			variants[k.family] = map[string]bool{}
		}
		for v := range vs {
			variants[k.family][v] = true
		}
	}
	var out []string
	for family, ps := range params {
		for v := range variants[family] {
			for _, p := range ps {
				if _, ok := samples[key{family, p}][v]; !ok {
					out = append(out, family+"/"+v+"/"+p+" has no result")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// hasResult says whether name, or a benchmark under it (name/…), has a
// result line.
func hasResult(seen map[string]bool, name string) bool {
	if seen[name] {
		return true
	}
	for s := range seen {
		if strings.HasPrefix(s, name+"/") {
			return true
		}
	}
	return false
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

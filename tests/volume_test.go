package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rayos/engine/world/marker"
)

// knowledge writes a folder of Markdown and Go files (and things the
// ingestion must skip) under dir/knowledge.
func knowledge(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"knowledge/kernel.md": "# Kernel notes\n\nWhat I learnt reading the kernel.\n\n" +
			"## Scheduling\n\nThe scheduler places compute tasks on the least loaded device, and moves them when a device runs hot.\n\n" +
			"## Memory\n\nPages are reclaimed by the LRU lists when memory runs short.\n",
		"knowledge/garden.md": "# Garden\n\nThe plot behind the house.\n\n" +
			"## Tomatoes\n\nWater the tomatoes every morning, and pinch out the side shoots each week.\n\n" +
			"## Roses\n\nPrune the roses in late winter.\n",
		"knowledge/code/placement.go": "package placement\n\n// PlaceTask picks the device with the lowest cost for a task.\n" +
			"func PlaceTask(costs []float64) int {\n\tbest := 0\n\tfor i, c := range costs {\n\t\tif c < costs[best] {\n\t\t\tbest = i\n\t\t}\n\t}\n\treturn best\n}\n",
		"knowledge/image.png":   "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"knowledge/.git/config": "[core]\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type volumeHits struct {
	Index string `json:"index"`
	Hits  []struct {
		ID      uint64  `json:"id"`
		Score   float32 `json:"score"`
		File    string  `json:"file"`
		Offset  int     `json:"offset"`
		Heading string  `json:"heading"`
		Text    string  `json:"text"`
	} `json:"hits"`
}

func volumeQuery(t *testing.T, dir, text string, args ...string) (volumeHits, string) {
	t.Helper()
	r := rayos(t, dir, append([]string{"volume", "query", "--data", "data", "--json", text}, args...)...)
	if r.code != 0 {
		t.Fatalf("query %q: exit %d\n%s", text, r.code, r.stderr)
	}
	var doc volumeHits
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("query %q: %v\n%s", text, err, r.stdout)
	}
	return doc, r.stdout
}

type volumeStats struct {
	Items int    `json:"items"`
	Files int    `json:"files"`
	Index string `json:"index"`
	Dim   int    `json:"dim"`
}

func volumeStatsOf(t *testing.T, dir string) volumeStats {
	t.Helper()
	r := rayos(t, dir, "volume", "stats", "--data", "data", "--json")
	var st volumeStats
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
		t.Fatalf("stats: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return st
}

// bootMarkers boots for a few ticks and returns its markers.
func bootMarkers(t *testing.T, dir string) []string {
	t.Helper()
	r := rayos(t, dir, "boot", "--data", "data", "--hz", "1000", "--ticks", "3", "--gpu", "cpu")
	if r.code != 0 {
		t.Fatalf("boot: exit %d\n%s", r.code, r.stderr)
	}
	return lines(r.stdout)
}

// volumeMarkers are the RAYOS_BOOT:volume lines, which must come right
// after registry-loaded (and before the gpu marker).
func volumeMarkers(t *testing.T, got []string) []string {
	t.Helper()
	var out []string
	at := slices.IndexFunc(got, func(l string) bool { return strings.HasPrefix(l, "RAYOS_BOOT:registry-loaded:") })
	for i, l := range got {
		if strings.HasPrefix(l, "RAYOS_BOOT:volume:") {
			if at < 0 || i <= at || !strings.HasPrefix(got[at+1+len(out)], "RAYOS_BOOT:volume:") {
				t.Errorf("volume marker %q is not right after registry-loaded:\n%s", l, strings.Join(got, "\n"))
			}
			if _, err := marker.Parse(l); err != nil {
				t.Errorf("volume marker %q does not parse: %v", l, err)
			}
			out = append(out, l)
		}
	}
	return out
}

func TestVolumeCommandsAndBoot(t *testing.T) {
	dir := t.TempDir()
	// No Volume yet: the boot says nothing about one.
	if m := volumeMarkers(t, bootMarkers(t, dir)); len(m) != 0 {
		t.Fatalf("a boot without a Volume printed %q", m)
	}
	knowledge(t, dir)
	r := rayos(t, dir, "volume", "add", "--data", "data", "knowledge")
	if r.code != 0 {
		t.Fatalf("add: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"skipped knowledge/.git: hidden folder", "skipped knowledge/image.png: binary"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("add's stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !regexp.MustCompile(`^added \d+ passages from 3 files, skipped 2, `).MatchString(r.stdout) {
		t.Errorf("add said %q", r.stdout)
	}

	for _, c := range []struct{ query, file, heading string }{
		{"when should I water the tomatoes", "knowledge/garden.md", "Garden > Tomatoes"},
		{"which device does the scheduler place compute tasks on", "knowledge/kernel.md", "Kernel notes > Scheduling"},
		{"PlaceTask lowest cost device", "knowledge/code/placement.go", "func PlaceTask(costs []float64) int"},
	} {
		doc, _ := volumeQuery(t, dir, c.query, "-k", "3")
		if len(doc.Hits) != 3 || doc.Hits[0].File != c.file || doc.Hits[0].Heading != c.heading {
			t.Errorf("query %q: %+v, want first %s [%s]", c.query, doc.Hits, c.file, c.heading)
			continue
		}
		h := doc.Hits[0]
		source, _ := os.ReadFile(filepath.Join(dir, h.File))
		if h.Offset+len(h.Text) > len(source) || string(source[h.Offset:h.Offset+len(h.Text)]) != h.Text {
			t.Errorf("query %q: the passage is not the file's bytes at offset %d", c.query, h.Offset)
		}
		if !(h.Score > doc.Hits[1].Score || h.Score == doc.Hits[1].Score) || h.Score <= 0 || h.Score > 1.0001 {
			t.Errorf("query %q: scores %v, %v not best first in (0, 1]", c.query, h.Score, doc.Hits[1].Score)
		}
	}
	// The text output shows score, file, offset, heading and the passage.
	r = rayos(t, dir, "volume", "query", "--data", "data", "water the tomatoes", "-k", "1")
	if r.code != 0 || !regexp.MustCompile(`^1\. 0\.\d{3}  knowledge/garden\.md @\d+  \[Garden > Tomatoes\]  \(id \d+\)\n   ## Tomatoes Water the tomatoes every morning`).MatchString(r.stdout) {
		t.Errorf("text query: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	st := volumeStatsOf(t, dir)
	if st.Files != 3 || st.Items < 7 || st.Index != "exact" || st.Dim <= 0 {
		t.Errorf("stats %+v: want 3 files, ≥ 7 passages, exact", st)
	}
	// Re-adding a file replaces its passages instead of doubling them.
	if r := rayos(t, dir, "volume", "add", "--data", "data", "knowledge/garden.md"); r.code != 0 || !strings.Contains(r.stdout, "replacing") {
		t.Errorf("re-add: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if again := volumeStatsOf(t, dir); again.Items != st.Items {
		t.Errorf("re-adding garden.md: %d passages, was %d", again.Items, st.Items)
	}

	// Rebuild gives the same answers.
	queries := []string{"tomatoes", "scheduler device", "memory pages", "roses winter", "PlaceTask"}
	before := map[string]string{}
	for _, q := range queries {
		doc, _ := volumeQuery(t, dir, q, "-k", "5")
		for i := range doc.Hits {
			doc.Hits[i].ID = 0 // a re-add renumbered garden.md's; rebuild must not change the rest
		}
		b, _ := json.Marshal(doc)
		before[q] = string(b)
	}
	if r := rayos(t, dir, "volume", "rebuild", "--data", "data"); r.code != 0 || !strings.HasPrefix(r.stdout, "rebuilt ") {
		t.Fatalf("rebuild: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, q := range queries {
		doc, _ := volumeQuery(t, dir, q, "-k", "5")
		for i := range doc.Hits {
			doc.Hits[i].ID = 0
		}
		if b, _ := json.Marshal(doc); string(b) != before[q] {
			t.Errorf("query %q after rebuild:\n%s\nbefore:\n%s", q, b, before[q])
		}
	}
	// --exact agrees on a Volume this small.
	exact, _ := volumeQuery(t, dir, "tomatoes", "-k", "5", "--exact")
	if exact.Index != "exact" || len(exact.Hits) != 5 {
		t.Errorf("--exact: %+v", exact)
	}

	// The boot stages it, right after the registry.
	m := volumeMarkers(t, bootMarkers(t, dir))
	if len(m) != 1 || !regexp.MustCompile(`^RAYOS_BOOT:volume:items=\d+ index=exact dim=\d+ load_ms=\d+$`).MatchString(m[0]) {
		t.Errorf("boot's volume markers %q", m)
	}
	// The policy can turn it off.
	policyFile := filepath.Join(dir, "data", "policy", "rayos-policy.toml")
	orig, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policyFile, append(slices.Clone(orig), "\n[volume]\nenabled = false\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if m := volumeMarkers(t, bootMarkers(t, dir)); !slices.Equal(m, []string{"RAYOS_BOOT:volume:disabled"}) {
		t.Errorf("disabled by the policy: %q", m)
	}
	if err := os.WriteFile(policyFile, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	// Remove by file: its passages go, the others stay.
	if r := rayos(t, dir, "volume", "remove", "--data", "data", "--file", "knowledge/garden.md"); r.code != 0 || !strings.HasPrefix(r.stdout, "removed ") {
		t.Fatalf("remove --file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if st := volumeStatsOf(t, dir); st.Files != 2 {
		t.Errorf("after remove --file: %+v, want 2 files", st)
	}
	doc, _ := volumeQuery(t, dir, "water the tomatoes", "-k", "3")
	for _, h := range doc.Hits {
		if h.File == "knowledge/garden.md" {
			t.Errorf("a removed file still answers: %+v", h)
		}
	}
	// Remove by ID.
	id := doc.Hits[0].ID
	if r := rayos(t, dir, "volume", "remove", "--data", "data", strconv.FormatUint(id, 10)); r.code != 0 {
		t.Errorf("remove %d: exit %d\n%s", id, r.code, r.stderr)
	}

	// Bad input: a clear error, the right status, nothing changed.
	volFile := filepath.Join(dir, "data", "volume", "volume.rvol")
	saved, _ := os.ReadFile(volFile)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"volume", "query", "--data", "data", "x", "-k", "0"}, 2, "-k 0: want 1 to 1000"},
		{[]string{"volume", "query", "--data", "data", "x", "-k", "1001"}, 2, "-k 1001"},
		{[]string{"volume", "query", "--data", "data", "  "}, 2, "empty"},
		{[]string{"volume", "add", "--data", "data"}, 2, "at least one FILE or DIR"},
		{[]string{"volume", "add", "--data", "data", "knowledge", "nope"}, 1, "nope: does not exist"},
		{[]string{"volume", "add", "--data", "data", "knowledge", "--chunk-size", "10"}, 2, "chunk size 10"},
		{[]string{"volume", "add", "--data", "data", "knowledge/image.png"}, 1, "nothing to add"},
		{[]string{"volume", "remove", "--data", "data", "--file", "nope.md"}, 1, "not in the Volume: nope.md"},
		{[]string{"volume", "remove", "--data", "data", "999999"}, 1, "not in the Volume: 999999"},
		{[]string{"volume", "remove", "--data", "data", "abc"}, 2, `ID "abc"`},
		{[]string{"volume", "remove", "--data", "data"}, 2, "IDs or --file"},
		{[]string{"volume", "add", "--data", "elsewhere", "knowledge"}, 1, "not a complete RayOS data folder"},
	} {
		r := rayos(t, dir, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", strings.Join(c.args, " "), r.code, c.code, c.want, r.stderr)
		}
		if now, _ := os.ReadFile(volFile); !bytes.Equal(now, saved) {
			t.Fatalf("%s changed volume.rvol", strings.Join(c.args, " "))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("add into a folder that is not RAYOS_DATA created it")
	}
}

func TestVolumeCorruptFile(t *testing.T) {
	dir := t.TempDir()
	bootMarkers(t, dir)
	knowledge(t, dir)
	// Two saves: the second keeps the first as the last good copy.
	for _, path := range []string{"knowledge/kernel.md", "knowledge/garden.md"} {
		if r := rayos(t, dir, "volume", "add", "--data", "data", path); r.code != 0 {
			t.Fatalf("add %s: exit %d\n%s", path, r.code, r.stderr)
		}
	}
	volDir := filepath.Join(dir, "data", "volume")
	file := filepath.Join(volDir, "volume.rvol")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 2; i < len(data)/2+16; i++ {
		data[i] ^= 0xff
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, volDir)
	// A writer refuses, naming the file, and changes nothing.
	r := rayos(t, dir, "volume", "add", "--data", "data", "knowledge/code")
	if r.code != 1 || !strings.Contains(r.stderr, file) && !strings.Contains(r.stderr, "data/volume/volume.rvol") {
		t.Errorf("add on a damaged file: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "nothing changed") {
		t.Errorf("add on a damaged file does not say nothing changed:\n%s", r.stderr)
	}
	if after := listDir(t, volDir); !slices.Equal(before, after) {
		t.Errorf("a refused add changed the folder:\n%q\n%q", before, after)
	}
	// A query warns and answers from the last good copy (kernel.md only).
	r = rayos(t, dir, "volume", "query", "--data", "data", "scheduler", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "volume.rvol") || !strings.Contains(r.stdout, "knowledge/kernel.md") {
		t.Errorf("query on a damaged file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The boot says it recovered, and stages the copy.
	m := volumeMarkers(t, bootMarkers(t, dir))
	if len(m) != 2 || m[0] != "RAYOS_BOOT:volume:recovered file=volume/volume.rvol using=prev" ||
		!strings.HasPrefix(m[1], "RAYOS_BOOT:volume:items=") {
		t.Errorf("boot on a damaged file: %q", m)
	}
	// Rebuild repairs it: the copy becomes the Volume, the damaged file
	// is kept aside, and writers work again.
	if r := rayos(t, dir, "volume", "rebuild", "--data", "data"); r.code != 0 || !strings.Contains(r.stderr, "recovering") {
		t.Fatalf("rebuild: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(file + ".corrupt"); err != nil {
		t.Errorf("the damaged file was not kept aside: %v", err)
	}
	if r := rayos(t, dir, "volume", "add", "--data", "data", "knowledge/code"); r.code != 0 {
		t.Errorf("add after rebuild: exit %d\n%s", r.code, r.stderr)
	}
	if m := volumeMarkers(t, bootMarkers(t, dir)); len(m) != 1 || !strings.HasPrefix(m[0], "RAYOS_BOOT:volume:items=") {
		t.Errorf("boot after the repair: %q", m)
	}

	// Both the file and its copy damaged: every command fails naming the
	// file, and the boot goes on without the Volume.
	for _, name := range []string{"volume.rvol", "volume.rvol.prev"} {
		if err := os.WriteFile(filepath.Join(volDir, name), []byte("RVOL garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r = rayos(t, dir, "volume", "stats", "--data", "data")
	if r.code != 1 || !strings.Contains(r.stderr, "volume.rvol") {
		t.Errorf("stats on two damaged files: exit %d\n%s", r.code, r.stderr)
	}
	if m := volumeMarkers(t, bootMarkers(t, dir)); len(m) != 1 || !strings.HasPrefix(m[0], "RAYOS_BOOT:volume:error ") {
		t.Errorf("boot on two damaged files: %q", m)
	}
}

// Two writers at once: the second waits for the first, and neither loses
// the other's passages.
func TestVolumeConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	bootMarkers(t, dir)
	knowledge(t, dir)
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for _, path := range []string{"knowledge/kernel.md", "knowledge/garden.md", "knowledge/code"} {
		c := exec.Command(rayosBin, "volume", "add", "--data", "data", path)
		c.Dir, c.Env = dir, withoutRayosData()
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, c), append(outs, &out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("writer %d: %v\n%s", i, err, outs[i])
		}
	}
	if st := volumeStatsOf(t, dir); st.Files != 3 {
		t.Errorf("after three concurrent adds: %+v, want 3 files", st)
	}
}

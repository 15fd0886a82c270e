package ingest

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkCover asserts the rules of docs/volume.md "Ingestion": every byte
// of a non-blank file is in some chunk, chunks are the file's bytes
// unchanged, in order, no chunk is over size, every chunk starts and ends
// on a rune boundary, and consecutive chunks of one section overlap by
// exactly the overlap, less at most 3 bytes to start on a whole rune.
func checkCover(t *testing.T, data []byte, chunks []Chunk, o Options) {
	t.Helper()
	o, _ = o.withDefaults()
	covered := make([]bool, len(data))
	for i, c := range chunks {
		if c.Offset < 0 || c.End() > len(data) || string(data[c.Offset:c.End()]) != c.Text {
			t.Fatalf("chunk %d [%d,%d) is not the file's bytes", i, c.Offset, c.End())
		}
		if len(c.Text) > o.Size {
			t.Errorf("chunk %d: %d bytes, over the size %d", i, len(c.Text), o.Size)
		}
		if !utf8.ValidString(c.Text) {
			t.Errorf("chunk %d [%d,%d) splits a rune", i, c.Offset, c.End())
		}
		for j := c.Offset; j < c.End(); j++ {
			covered[j] = true
		}
		if i == 0 {
			if c.Offset != 0 {
				t.Errorf("first chunk starts at %d, not 0", c.Offset)
			}
			continue
		}
		prev := chunks[i-1]
		switch {
		case c.Offset == prev.End():
			// A new section (or no overlap): chunks meet.
		case c.Offset < prev.End():
			got := prev.End() - c.Offset
			if got > o.Overlap || got < o.Overlap-3 {
				t.Errorf("chunks %d and %d overlap by %d bytes, want %d (less ≤ 3 for a rune)", i-1, i, got, o.Overlap)
			}
			if got != o.Overlap && utf8.RuneStart(data[prev.End()-o.Overlap]) {
				t.Errorf("chunks %d and %d overlap by %d bytes though %d starts a rune", i-1, i, got, o.Overlap)
			}
			if c.Heading != prev.Heading && !strings.HasSuffix(prev.File, ".go") {
				t.Errorf("overlapping chunks %d and %d have headings %q and %q", i-1, i, prev.Heading, c.Heading)
			}
		default:
			t.Errorf("gap between chunk %d (ends %d) and chunk %d (starts %d)", i-1, prev.End(), i, c.Offset)
		}
	}
	for j, ok := range covered {
		if !ok {
			t.Fatalf("byte %d of the file is in no chunk", j)
		}
	}
}

func TestMarkdownHeadings(t *testing.T) {
	data := readFixture(t, "notes.md")
	chunks, err := Split("notes.md", data, Markdown, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, data, chunks, Options{})
	var headings []string
	for _, c := range chunks {
		headings = append(headings, c.Heading)
	}
	want := []string{"", "Intro", "Intro > Setup", "Intro > Usage", "Intro > Usage > Boot", "Reference"}
	if !reflect.DeepEqual(headings, want) {
		t.Fatalf("headings %q, want %q", headings, want)
	}
	// The fenced "# not a heading" stays inside Setup.
	if !strings.Contains(chunks[2].Text, "# not a heading") {
		t.Errorf("Setup chunk lost its code fence: %q", chunks[2].Text)
	}
	if !strings.HasPrefix(chunks[1].Text, "# Intro\n") {
		t.Errorf("a section starts at its heading line, got %q", chunks[1].Text)
	}
}

func TestCRLF(t *testing.T) {
	data := readFixture(t, "crlf.md")
	chunks, err := Split("crlf.md", data, Markdown, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, data, chunks, Options{})
	if len(chunks) != 2 || chunks[0].Heading != "Title" || chunks[1].Heading != "Title > Sub" {
		t.Fatalf("chunks %+v: want Title and Title > Sub, no CR in headings", chunks)
	}
	// Small chunks on CRLF text never end between CR and LF.
	o := Options{Size: 64, Overlap: 10}
	long := []byte(strings.Repeat("word word word\r\n", 40))
	chunks, err = Split("long.txt", long, Text, o)
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, long, chunks, o)
	for _, c := range chunks[:len(chunks)-1] {
		if strings.HasSuffix(c.Text, "\r") {
			t.Errorf("chunk at %d ends between CR and LF", c.Offset)
		}
	}
}

func TestOverlapAndRunes(t *testing.T) {
	data := readFixture(t, "utf8.txt")
	for _, o := range []Options{{}, {Size: 64, Overlap: 31}, {Size: 100, Overlap: 7}, {Size: 300, Overlap: NoOverlap}, {Size: 77, Overlap: 1}} {
		chunks, err := Split("utf8.txt", data, Text, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) < 5 {
			t.Fatalf("%+v: only %d chunks of a %d-byte file", o, len(chunks), len(data))
		}
		checkCover(t, data, chunks, o)
		// The last paragraph has no space or line end: cut on runes.
		// (An overlap under 4 bytes may vanish when it would split a rune.)
		if o.Overlap >= utf8.UTFMax {
			overlapping := 0
			for i := 1; i < len(chunks); i++ {
				if chunks[i].Offset < chunks[i-1].End() {
					overlapping++
				}
			}
			if overlapping != len(chunks)-1 {
				t.Errorf("%+v: %d of %d chunk pairs overlap; one section, so all should", o, overlapping, len(chunks)-1)
			}
		}
	}
}

func TestPrefersParagraphBreaks(t *testing.T) {
	para := strings.Repeat("alpha beta gamma ", 5) + "\n"
	data := []byte(strings.Repeat(para+"\n", 20))
	o := Options{Size: 300, Overlap: 40}
	chunks, err := Split("p.txt", data, Text, o)
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, data, chunks, o)
	for _, c := range chunks[:len(chunks)-1] {
		if !strings.HasSuffix(c.Text, "\n\n") {
			t.Errorf("chunk at %d ends mid-paragraph: %q", c.Offset, c.Text[len(c.Text)-10:])
		}
	}
}

func TestSourceDeclarations(t *testing.T) {
	data := readFixture(t, "kernel.go")
	o := Options{Size: 150, Overlap: 20}
	chunks, err := Split("kernel.go", data, Source, o)
	if err != nil {
		t.Fatal(err)
	}
	checkCover(t, data, chunks, o)
	var headings []string
	for _, c := range chunks {
		headings = append(headings, c.Heading)
	}
	for _, want := range []string{"type Scheduler struct", "func (s *Scheduler) Place(task int) error", "func Drain(s *Scheduler) int"} {
		if !slices.Contains(headings, want) {
			t.Errorf("no chunk headed %q in %q", want, headings)
		}
	}
	// Chunks end before a declaration's comment where one fits.
	for _, c := range chunks[:len(chunks)-1] {
		if !strings.HasSuffix(c.Text, "\n\n") && !strings.HasSuffix(c.Text, "\n") {
			t.Errorf("source chunk at %d ends mid-line: %q", c.Offset, c.Text)
		}
	}
	// The whole file in one chunk is headed by its first declaration.
	one, _ := Split("kernel.go", data, Source, Options{})
	if len(one) != 1 || one[0].Heading != "type Scheduler struct" {
		t.Errorf("one chunk: %+v", one)
	}
}

func TestDeterministic(t *testing.T) {
	data := readFixture(t, "utf8.txt")
	a, _ := Split("utf8.txt", data, Text, Options{Size: 90, Overlap: 13})
	b, _ := Split("utf8.txt", data, Text, Options{Size: 90, Overlap: 13})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same bytes gave different chunks")
	}
}

func TestEmptyAndBlank(t *testing.T) {
	for _, data := range []string{"", "\n\n  \t\r\n"} {
		chunks, err := Split("e.txt", []byte(data), Text, Options{})
		if err != nil || len(chunks) != 0 {
			t.Errorf("%q: %d chunks, err %v; want none", data, len(chunks), err)
		}
	}
	// Blank sections are folded, not dropped: leading blank lines before a
	// heading belong to its chunk.
	data := []byte("\n\n# A\ntext\n# B\n\n")
	chunks, _ := Split("b.md", data, Markdown, Options{})
	checkCover(t, data, chunks, Options{})
	if len(chunks) != 2 || chunks[0].Heading != "A" || !strings.HasPrefix(chunks[0].Text, "\n\n# A") || chunks[1].Text != "# B\n\n" {
		t.Errorf("chunks %+v: want the blank lines with A, and B's heading line with its blank tail", chunks)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{Size: 10}, {Size: MaxSize + 1}, {Size: 100, Overlap: 50}, {Overlap: -5}, {MaxFileSize: -1}} {
		if _, err := Split("x.txt", []byte("hello"), Text, o); err == nil {
			t.Errorf("%+v: accepted", o)
		}
		if _, _, err := Collect([]string{"testdata"}, o); err == nil {
			t.Errorf("Collect %+v: accepted", o)
		}
	}
}

func TestCollectFixtures(t *testing.T) {
	files, skips, err := Collect([]string{"testdata"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
		for _, c := range f.Chunks {
			if c.File != f.Path {
				t.Errorf("chunk of %s names %s", f.Path, c.File)
			}
		}
	}
	want := []string{"testdata/crlf.md", "testdata/kernel.go", "testdata/notes.md", "testdata/utf8.txt"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	reasons := map[string]string{}
	for _, s := range skips {
		reasons[s.Path] = s.Reason
	}
	for path, want := range map[string]string{
		"testdata/.hidden":    "hidden folder",
		"testdata/blob.bin":   "binary",
		"testdata/latin1.txt": "not UTF-8",
		"testdata/empty.txt":  "empty",
		"testdata/blank.txt":  "empty",
	} {
		if !strings.Contains(reasons[path], want) {
			t.Errorf("skip of %s: %q, want it to say %q (skips: %v)", path, reasons[path], want, skips)
		}
	}
}

func TestCollectLinksAndLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/doc.md", "# Doc\nsome text\n")
	write("a/big.txt", strings.Repeat("x", 5000))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(".", filepath.Join(dir, "a", "up")))               // a loop
	must(os.Symlink("doc.md", filepath.Join(dir, "a", "zz-again.md"))) // the same file twice
	must(os.Symlink("nowhere", filepath.Join(dir, "a", "broken.md")))  // broken
	must(os.Symlink("self", filepath.Join(dir, "a", "self")))          // a link to itself
	must(syscallMkfifo(filepath.Join(dir, "a", "pipe")))               // never opened
	files, skips, err := Collect([]string{filepath.Join(dir, "a")}, Options{MaxFileSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != filepath.Join(dir, "a", "doc.md") {
		t.Fatalf("files %+v: want only a/doc.md", files)
	}
	reasons := map[string]string{}
	for _, s := range skips {
		reasons[filepath.Base(s.Path)] = s.Reason
	}
	for name, want := range map[string]string{
		"up": "symlink loop", "zz-again.md": "already taken in", "broken.md": "broken symlink",
		"self": "symlink loop", "pipe": "not a regular file", "big.txt": "over the limit",
	} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: skip reason %q, want %q", name, reasons[name], want)
		}
	}
}

func TestCollectBadPaths(t *testing.T) {
	if _, _, err := Collect([]string{"testdata/nope"}, Options{}); err == nil || !strings.Contains(err.Error(), "testdata/nope: does not exist") {
		t.Errorf("missing path: %v", err)
	}
	if _, _, err := Collect(nil, Options{}); err == nil {
		t.Error("no paths accepted")
	}
	if _, _, err := Collect([]string{""}, Options{}); err == nil {
		t.Error("empty path accepted")
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: permission checks do not apply")
		return
	}
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked.txt")
	if err := os.WriteFile(locked, []byte("secret"), 0o000); err != nil {
		t.Fatal(err)
	}
	files, _, err := Collect([]string{dir}, Options{})
	if err == nil || !strings.Contains(err.Error(), "locked.txt: cannot be read") || files != nil {
		t.Errorf("unreadable file: files %v, err %v", files, err)
	}
}

package ingest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Options shape the chunks. The zero value of a field means its default.
type Options struct {
	// Size is the most bytes a chunk holds (default DefaultSize).
	Size int
	// Overlap is how many bytes of a chunk's end the next chunk of the
	// same section repeats at its start (default DefaultOverlap; 0 is
	// "the default", NoOverlap turns it off). Less than Size/2.
	Overlap int
	// MaxFileSize: larger files are skipped (default DefaultMaxFileSize).
	MaxFileSize int64
}

// Defaults and bounds of Options.
const (
	DefaultSize        = 1200
	DefaultOverlap     = 200
	DefaultMaxFileSize = 4 << 20
	MinSize            = 64
	MaxSize            = 1 << 20
	// NoOverlap as Options.Overlap asks for chunks that do not overlap.
	NoOverlap = -1
)

// Check reports what is wrong with o, naming the field.
func (o Options) Check() error {
	_, err := o.withDefaults()
	return err
}

// withDefaults fills the zero fields and checks the result; the error
// names the field.
func (o Options) withDefaults() (Options, error) {
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	switch o.Overlap {
	case 0:
		o.Overlap = min(DefaultOverlap, o.Size/2-1)
	case NoOverlap:
		o.Overlap = 0
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	switch {
	case o.Size < MinSize || o.Size > MaxSize:
		return o, fmt.Errorf("chunk size %d: want %d to %d bytes", o.Size, MinSize, MaxSize)
	case o.Overlap < 0 || o.Overlap >= o.Size/2:
		return o, fmt.Errorf("chunk overlap %d: want 0 to %d bytes (less than half the chunk size %d)", o.Overlap, o.Size/2-1, o.Size)
	case o.MaxFileSize < 0:
		return o, fmt.Errorf("max file size %d: must not be negative", o.MaxFileSize)
	}
	return o, nil
}

// Kind is how a file is cut into sections.
type Kind string

// The kinds of text file.
const (
	// Markdown is cut at its ATX headings ("# Title"), outside code fences.
	Markdown Kind = "markdown"
	// Source is program text: chunks end at blank lines before top-level
	// declarations where they can, and carry the declaration as heading.
	Source Kind = "source"
	// Text is anything else: chunks end at paragraph breaks where they can.
	Text Kind = "text"
)

// sourceExts are the file name extensions read as Source.
var sourceExts = map[string]bool{
	".go": true, ".c": true, ".h": true, ".cc": true, ".cpp": true, ".hpp": true,
	".rs": true, ".py": true, ".js": true, ".ts": true, ".java": true, ".kt": true,
	".rb": true, ".sh": true, ".lua": true, ".zig": true, ".swift": true, ".cs": true,
	".glsl": true, ".comp": true, ".proto": true, ".sql": true, ".toml": true, ".yaml": true, ".yml": true,
}

// KindOf is the kind of the file at path, from its extension.
func KindOf(path string) Kind {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case ext == ".md" || ext == ".markdown":
		return Markdown
	case sourceExts[ext]:
		return Source
	}
	return Text
}

// Chunk is one passage of a file.
type Chunk struct {
	// File is the file as the user named it (see Collect).
	File string
	// Offset is the chunk's first byte in the file; Text is the file's
	// bytes from there, unchanged (CRLF line ends included).
	Offset int
	Text   string
	// Heading is the Markdown heading path ("Intro > Setup") the chunk
	// lies under, or the source declaration it starts or continues; "" if
	// none.
	Heading string
}

// End is the offset just past the chunk.
func (c Chunk) End() int { return c.Offset + len(c.Text) }

// section is a span of a file that chunks never cross.
type section struct {
	start, end int
	heading    string
}

// Split cuts data, the contents of file, into chunks (see the package
// documentation and docs/volume.md for the rules). data must be UTF-8
// text; Collect checks that. A file of only whitespace gives no chunks.
func Split(file string, data []byte, kind Kind, o Options) ([]Chunk, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var secs []section
	if kind == Markdown {
		secs = markdownSections(data)
	} else {
		secs = []section{{0, len(data), ""}}
	}
	var decls []decl
	if kind == Source {
		decls = declarations(data)
	}
	var chunks []Chunk
	for _, s := range mergeBlank(data, secs) {
		for a := s.start; ; {
			b := s.end
			if b-a > o.Size {
				b = bestBreak(data, a+o.Size/2, a+o.Size, kind)
			}
			c := Chunk{File: file, Offset: a, Text: string(data[a:b]), Heading: s.heading}
			if kind == Source {
				c.Heading = declHeading(decls, a, b)
			}
			chunks = append(chunks, c)
			if b == s.end {
				break
			}
			// b > a+Size/2 > a+Overlap, so the next chunk starts after a.
			a = b - o.Overlap
			for a < b && !utf8.RuneStart(data[a]) {
				a++
			}
		}
	}
	return chunks, nil
}

// mergeBlank folds a section of only whitespace into the next one (the
// last into the one before), so every byte stays in some chunk without
// chunks that say nothing.
func mergeBlank(data []byte, secs []section) []section {
	var out []section
	carry := -1
	for _, s := range secs {
		if carry >= 0 {
			s.start, carry = carry, -1
		}
		if len(bytes.TrimSpace(data[s.start:s.end])) == 0 {
			carry = s.start
			continue
		}
		out = append(out, s)
	}
	if carry >= 0 && len(out) > 0 {
		out[len(out)-1].end = secs[len(secs)-1].end
	}
	return out
}

// bestBreak picks where a chunk starting before lo ends: a position in
// (lo, limit] that is a rune boundary, preferring (highest first) a blank
// line before an unindented line, a blank line, a line end, a space; the
// latest position of the best kind found wins.
func bestBreak(data []byte, lo, limit int, kind Kind) int {
	best, bestRank := -1, -1
	for p := limit; p > lo; p-- {
		if !utf8.RuneStart(data[p]) {
			continue
		}
		r := breakRank(data, p, kind)
		if r > bestRank {
			best, bestRank = p, r
			if r == 4 {
				break
			}
		}
	}
	if best < 0 { // cannot happen: a rune is at most 4 bytes and lo < limit-4
		best = limit
	}
	return best
}

// breakRank rates ending a chunk just before data[p] (0 < p < len(data)).
func breakRank(data []byte, p int, kind Kind) int {
	prev := data[p-1]
	switch {
	case prev == '\n' && blankLineEndsAt(data, p-1):
		if kind != Text && data[p] != ' ' && data[p] != '\t' && data[p] != '\n' && data[p] != '\r' {
			return 4 // a top-level line after a blank one: a new declaration
		}
		return 3
	case prev == '\n':
		return 2
	case (prev == ' ' || prev == '\t') && data[p] != ' ':
		return 1
	case prev == '\r' && data[p] == '\n':
		return -1 // never between CR and LF
	}
	return 0
}

// blankLineEndsAt reports whether the line whose '\n' is at i holds
// nothing but whitespace (and the file has a line before it).
func blankLineEndsAt(data []byte, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch data[j] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return false
}

// markdownSections cuts a Markdown file at each ATX heading outside
// fenced code; each section carries its heading path.
func markdownSections(data []byte) []section {
	var secs []section
	var stack []heading
	start, cur := 0, ""
	fence := ""
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		line := strings.TrimRight(string(data[off:next]), "\r\n")
		indented := strings.TrimLeft(line, " ")
		if len(line)-len(indented) <= 3 {
			switch {
			case fence != "":
				if strings.HasPrefix(indented, fence) && strings.Trim(indented, fence[:1]+" \t") == "" {
					fence = ""
				}
			case strings.HasPrefix(indented, "```") || strings.HasPrefix(indented, "~~~"):
				fence = indented[:3]
			default:
				if level, text, ok := atxHeading(indented); ok {
					if off > start {
						secs = append(secs, section{start, off, cur})
					}
					for len(stack) > 0 && stack[len(stack)-1].level >= level {
						stack = stack[:len(stack)-1]
					}
					stack = append(stack, heading{level, text})
					names := make([]string, len(stack))
					for i, h := range stack {
						names[i] = h.text
					}
					start, cur = off, strings.Join(names, " > ")
				}
			}
		}
		off = next
	}
	if len(data) > start {
		secs = append(secs, section{start, len(data), cur})
	}
	return secs
}

type heading struct {
	level int
	text  string
}

// atxHeading parses "## Title ##" (1 to 6 '#', then a space or the line's
// end); the text loses its closing '#'s.
func atxHeading(line string) (level int, text string, ok bool) {
	for level < len(line) && line[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(line) && line[level] != ' ' && line[level] != '\t') {
		return 0, "", false
	}
	text = strings.TrimSpace(line[level:])
	if t := strings.TrimRight(text, "#"); t == "" || strings.HasSuffix(t, " ") || strings.HasSuffix(t, "\t") {
		text = strings.TrimSpace(t)
	}
	return level, text, true
}

// decl is a top-level declaration of a source file: the line's offset and
// its text without the opening brace.
type decl struct {
	off  int
	text string
}

// declLine matches the first line of a top-level declaration in the usual
// languages, at column 0 (cheap, and right for Go, Python, Rust, JS/TS).
var declLine = regexp.MustCompile(`^(export\s+)?(pub(\([^)]*\))?\s+)?(async\s+)?(func|function|def|class|type|struct|enum|trait|impl|interface|fn|const|var|module|mod)\b`)

// MaxHeading bounds a heading taken from a source line.
const MaxHeading = 120

func declarations(data []byte) []decl {
	var out []decl
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		line := data[off:next]
		if declLine.Match(line) {
			text := strings.TrimSpace(string(line))
			text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(text, "{"), ":"))
			if len(text) > MaxHeading {
				cut := MaxHeading
				for cut > 0 && !utf8.RuneStart(text[cut]) {
					cut--
				}
				text = text[:cut] + "…"
			}
			out = append(out, decl{off, text})
		}
		off = next
	}
	return out
}

// declHeading is the first declaration that begins in [a, b), else the
// one the chunk continues (the last before a), else "".
func declHeading(decls []decl, a, b int) string {
	h := ""
	for _, d := range decls {
		switch {
		case d.off < a:
			h = d.text
		case d.off < b:
			return d.text
		default:
			return h
		}
	}
	return h
}

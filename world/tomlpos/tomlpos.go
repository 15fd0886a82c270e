// Package tomlpos finds where keys are defined in a TOML document, so that
// the strict loaders of RayOS's files (policy, VM registry) can name the
// line of every problem: BurntSushi/toml reports lines for syntax and type
// errors, but not for unknown keys or for values a loader rejects.
package tomlpos

import (
	"bufio"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// Key quotes a key part when bare TOML would not allow it.
func Key(k string) string {
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

// KeyLines maps every dotted key of a simple TOML document (tables and
// key = value lines, as our schemas use) to the line that defines it, for
// error messages. It is a best effort: an unmatched key reports line 0.
func KeyLines(text string) map[string]int {
	lines := map[string]int{}
	table := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case strings.HasPrefix(line, "["):
			table = strings.Trim(strings.SplitN(line, "]", 2)[0], "[ ")
			table = normaliseKey(table)
			if _, ok := lines[table]; !ok {
				lines[table] = n
			}
		default:
			k, _, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			key := normaliseKey(strings.TrimSpace(k))
			if table != "" {
				key = table + "." + key
			}
			if _, ok := lines[key]; !ok {
				lines[key] = n
			}
		}
	}
	return lines
}

// normaliseKey rewrites a dotted key as toml.Key.String does: bare parts
// as they are, others quoted.
func normaliseKey(k string) string {
	var parts []string
	for _, p := range splitDotted(k) {
		parts = append(parts, Key(p))
	}
	return strings.Join(parts, ".")
}

// splitDotted splits a.b."c.d" into its parts, unquoting quoted ones.
func splitDotted(k string) []string {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

// DecodeError turns a BurntSushi/toml syntax or type error into
// "name:line: key: problem", the form every TOML file's errors take here.
func DecodeError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = pe.LastKey + ": " + msg
		}
		return fmt.Errorf("%s:%d: %s", name, pe.Position.Line, msg)
	}
	// Type mismatches come as "toml: line N (last key "k"): …".
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	if m := typeError.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s: %s", name, m[1], m[2], m[3])
	}
	return fmt.Errorf("%s: %s", name, msg)
}

var typeError = regexp.MustCompile(`^line (\d+) \(last key "([^"]*)"\): (.*)$`)

package marker

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is a marker family; its Prefix starts the line.
type Kind uint8

// The marker families (docs/markers.md). The number of fields each carries is
// fixed (see Kind.Fields).
const (
	KindBoot            Kind = iota + 1 // RAYOS_BOOT:<stage>:<detail>
	KindPolicyViolation                 // RAYOS_POLICY_VIOLATION:<rule>:<detail>
	KindHostEvent                       // RAYOS_HOST_EVENT_V0:<op>:<payload>
	KindHostAck                         // RAYOS_HOST_ACK:<op>:<ok|err>:<detail>
	KindGuest                           // RAYOS_GUEST:<vm-id>:<state>
	KindAudit                           // RAYOS_AUDIT:<action>:<detail>
	KindIntent                          // RAYOS_INTENT:<source>:<action>:<target>:<detail>
	KindSched                           // RAYOS_SCHED:<task>:<from>-><to>:<reason>
)

var kinds = [...]struct {
	prefix string
	fields int
}{
	KindBoot:            {"RAYOS_BOOT", 2},
	KindPolicyViolation: {"RAYOS_POLICY_VIOLATION", 2},
	KindHostEvent:       {"RAYOS_HOST_EVENT_V0", 2},
	KindHostAck:         {"RAYOS_HOST_ACK", 3},
	KindGuest:           {"RAYOS_GUEST", 2},
	KindAudit:           {"RAYOS_AUDIT", 2},
	KindIntent:          {"RAYOS_INTENT", 4},
	KindSched:           {"RAYOS_SCHED", 3},
}

// Prefix is the line's first token, e.g. "RAYOS_BOOT".
func (k Kind) Prefix() string {
	if !k.valid() {
		return fmt.Sprintf("RAYOS_UNKNOWN_%d", k)
	}
	return kinds[k].prefix
}

// Fields is how many ':'-separated fields follow the prefix.
func (k Kind) Fields() int {
	if !k.valid() {
		return 0
	}
	return kinds[k].fields
}

func (k Kind) valid() bool { return k >= KindBoot && int(k) < len(kinds) }

// Marker is one line of the contract. Fields holds exactly Kind.Fields()
// values, unescaped.
type Marker struct {
	Kind   Kind
	Fields []string
}

// Boot is RAYOS_BOOT:<stage>:<detail>.
func Boot(stage, detail string) Marker { return Marker{KindBoot, []string{stage, detail}} }

// PolicyViolation is RAYOS_POLICY_VIOLATION:<rule>:<detail>.
func PolicyViolation(rule, detail string) Marker {
	return Marker{KindPolicyViolation, []string{rule, detail}}
}

// HostEvent is RAYOS_HOST_EVENT_V0:<op>:<payload>.
func HostEvent(op, payload string) Marker { return Marker{KindHostEvent, []string{op, payload}} }

// HostAck is RAYOS_HOST_ACK:<op>:<ok|err>:<detail>.
func HostAck(op string, ok bool, detail string) Marker {
	status := "err"
	if ok {
		status = "ok"
	}
	return Marker{KindHostAck, []string{op, status, detail}}
}

// Guest is RAYOS_GUEST:<vm-id>:<state>.
func Guest(vmID, state string) Marker { return Marker{KindGuest, []string{vmID, state}} }

// Intent is RAYOS_INTENT:<source>:<action>:<target>:<detail>: how an
// utterance was understood — the input it came from, the action and target
// guest it resolved to ("none" and "-" when it resolved to nothing) and the
// confidence, or the "did you mean" answer.
func Intent(source uint64, action, target, detail string) Marker {
	return Marker{KindIntent, []string{strconv.FormatUint(source, 10), action, target, detail}}
}

// Sched is RAYOS_SCHED:<task>:<from>-><to>:<reason>: a named compute task
// moved — from and to are device names ("-" for none), reason a
// components.MigrationReasonNames spelling. The arrow is part of the
// middle field, so the line has three fields.
func Sched(task, from, to, reason string) Marker {
	return Marker{KindSched, []string{task, from + "->" + to, reason}}
}

// Audit is RAYOS_AUDIT:<action>:<detail>.
func Audit(action, detail string) Marker { return Marker{KindAudit, []string{action, detail}} }

// String formats the marker as its line, without the trailing newline.
// A marker with the wrong number of fields still formats (missing fields
// empty, extra fields dropped) so that a programming error never loses a
// line; Validate reports it.
func (m Marker) String() string {
	var b strings.Builder
	b.WriteString(m.Kind.Prefix())
	for i := 0; i < m.Kind.Fields(); i++ {
		b.WriteByte(':')
		if i < len(m.Fields) {
			appendEscaped(&b, m.Fields[i])
		}
	}
	return b.String()
}

// Validate reports a marker that does not fit its kind's grammar.
func (m Marker) Validate() error {
	if !m.Kind.valid() {
		return fmt.Errorf("marker: unknown kind %d", m.Kind)
	}
	if len(m.Fields) != m.Kind.Fields() {
		return fmt.Errorf("marker: %s takes %d fields, got %d", m.Kind.Prefix(), m.Kind.Fields(), len(m.Fields))
	}
	if m.Kind == KindHostAck && m.Fields[1] != "ok" && m.Fields[1] != "err" {
		return fmt.Errorf("marker: %s status must be ok or err, got %q", m.Kind.Prefix(), m.Fields[1])
	}
	return nil
}

// Parse reads one marker line (a trailing "\n" or "\r\n" is allowed) and
// returns it with its fields unescaped.
func Parse(line string) (Marker, error) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	prefix, rest, found := strings.Cut(line, ":")
	if !found {
		return Marker{}, fmt.Errorf("marker: %q has no ':'", line)
	}
	kind := kindByPrefix(prefix)
	if kind == 0 {
		return Marker{}, fmt.Errorf("marker: unknown prefix %q", prefix)
	}
	raw := strings.Split(rest, ":")
	if len(raw) != kind.Fields() {
		return Marker{}, fmt.Errorf("marker: %s takes %d fields, line has %d", prefix, kind.Fields(), len(raw))
	}
	m := Marker{Kind: kind, Fields: make([]string, len(raw))}
	for i, f := range raw {
		v, err := unescape(f)
		if err != nil {
			return Marker{}, fmt.Errorf("marker: %s field %d: %w", prefix, i+1, err)
		}
		m.Fields[i] = v
	}
	return m, m.Validate()
}

func kindByPrefix(prefix string) Kind {
	for k := KindBoot; k.valid(); k++ {
		if kinds[k].prefix == prefix {
			return k
		}
	}
	return 0
}

// mustEscape is true for the bytes that cannot appear raw in a field: the
// field separator, the escape character itself, and every control byte
// (newline, carriage return, NUL, DEL, …) that could break or hide a line.
func mustEscape(c byte) bool {
	return c == ':' || c == '%' || c < 0x20 || c == 0x7f
}

const hexDigits = "0123456789ABCDEF"

func appendEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
}

// Escape returns s as it appears inside a marker field.
func Escape(s string) string {
	var b strings.Builder
	appendEscaped(&b, s)
	return b.String()
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape at byte %d", i)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape %q at byte %d", s[i:i+3], i)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

package marker

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestFormat(t *testing.T) {
	cases := []struct {
		m    Marker
		want string
	}{
		{Boot("ready", "tick=0"), "RAYOS_BOOT:ready:tick=0"},
		{HostAck("present", true, "linux"), "RAYOS_HOST_ACK:present:ok:linux"},
		{HostAck("type", false, "guest linux is hidden"), "RAYOS_HOST_ACK:type:err:guest linux is hidden"},
		{Guest("linux", "hidden"), "RAYOS_GUEST:linux:hidden"},
		{PolicyViolation("input.presented", "a:b"), "RAYOS_POLICY_VIOLATION:input.presented:a%3Ab"},
		{HostEvent("type", "line1\nline2 100%"), "RAYOS_HOST_EVENT_V0:type:line1%0Aline2 100%25"},
		{Audit("inject", "\r\x00\x7f"), "RAYOS_AUDIT:inject:%0D%00%7F"},
	}
	for _, c := range cases {
		if got := c.m.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
		back, err := Parse(c.want)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.want, err)
		}
		if back.Kind != c.m.Kind || strings.Join(back.Fields, "\x00") != strings.Join(c.m.Fields, "\x00") {
			t.Errorf("Parse(%q) = %+v, want %+v", c.want, back, c.m)
		}
	}
}

// Every marker of every kind, with arbitrary bytes in its fields, formats
// to exactly one line and parses back to itself.
func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		kind := Kind(rapid.IntRange(int(KindBoot), int(KindSched)).Draw(t, "kind"))
		fields := make([]string, kind.Fields())
		for i := range fields {
			fields[i] = rapid.String().Draw(t, "field")
		}
		if kind == KindHostAck {
			fields[1] = rapid.SampledFrom([]string{"ok", "err"}).Draw(t, "status")
		}
		m := Marker{kind, fields}
		line := m.String()
		if strings.ContainsAny(line, "\n\r\x00") {
			t.Fatalf("line %q contains a control character", line)
		}
		if got := strings.Count(line, ":"); got != kind.Fields() {
			t.Fatalf("line %q has %d separators, want %d", line, got, kind.Fields())
		}
		back, err := Parse(line + "\n")
		if err != nil {
			t.Fatalf("Parse(%q): %v", line, err)
		}
		if back.Kind != kind || len(back.Fields) != len(fields) {
			t.Fatalf("Parse(%q) = %+v", line, back)
		}
		for i := range fields {
			if back.Fields[i] != fields[i] {
				t.Fatalf("field %d: got %q, want %q", i, back.Fields[i], fields[i])
			}
		}
	})
}

func TestParseRejects(t *testing.T) {
	bad := map[string]string{
		"no separator":      "RAYOS_BOOT",
		"unknown prefix":    "RAYOS_NOPE:a:b",
		"too few fields":    "RAYOS_HOST_ACK:present:ok",
		"too many fields":   "RAYOS_BOOT:a:b:c",
		"truncated escape":  "RAYOS_BOOT:a:b%3",
		"bad escape":        "RAYOS_BOOT:a:%zz",
		"ack status":        "RAYOS_HOST_ACK:present:maybe:x",
		"not a marker line": "hello world",
	}
	for name, line := range bad {
		if _, err := Parse(line); err == nil {
			t.Errorf("%s: Parse(%q) accepted", name, line)
		}
	}
}

func TestBusDeliversInOrderToSinksAndSubscribers(t *testing.T) {
	var a, b bytes.Buffer
	bus := NewBus(&a)
	bus.AddSink(&b)
	sub := bus.Subscribe(8)
	bus.Emit(Boot("start", "x"))
	bus.Emit(Guest("linux", "hidden"))
	want := "RAYOS_BOOT:start:x\nRAYOS_GUEST:linux:hidden\n"
	if a.String() != want || b.String() != want {
		t.Fatalf("sinks got %q and %q, want %q", a.String(), b.String(), want)
	}
	if m := <-sub.C; m.Kind != KindBoot {
		t.Errorf("first delivered %v", m)
	}
	if m := <-sub.C; m.Kind != KindGuest {
		t.Errorf("second delivered %v", m)
	}
	if got := bus.Recent(); len(got) != 2 || got[1] != "RAYOS_GUEST:linux:hidden" {
		t.Errorf("Recent() = %q", got)
	}
	sub.Close()
	sub.Close()
	bus.Emit(Boot("after", "close")) // must not panic on a closed subscriber
}

func TestSlowSubscriberDropsInsteadOfBlocking(t *testing.T) {
	bus := NewBus()
	sub := bus.Subscribe(1)
	for i := 0; i < 5; i++ {
		bus.Emit(Boot("n", "x"))
	}
	if sub.Dropped() != 4 {
		t.Errorf("Dropped() = %d, want 4", sub.Dropped())
	}
}

func TestRecentKeepsTheLast64(t *testing.T) {
	bus := NewBus()
	for i := 0; i < 100; i++ {
		bus.Emit(Boot("n", strings.Repeat("x", i)))
	}
	got := bus.Recent()
	if len(got) != 64 || got[63] != Boot("n", strings.Repeat("x", 99)).String() || got[0] != Boot("n", strings.Repeat("x", 36)).String() {
		t.Errorf("Recent() kept %d lines, first %q", len(got), got[0])
	}
}

func TestAddSinkWithHistoryReplaysEarlierLines(t *testing.T) {
	bus := NewBus()
	bus.Emit(Boot("start", "a"))
	bus.Emit(Boot("bootinfo", "b"))
	var log bytes.Buffer
	if err := bus.AddSinkWithHistory(&log); err != nil {
		t.Fatal(err)
	}
	bus.Emit(Boot("ready", "c"))
	if want := "RAYOS_BOOT:start:a\nRAYOS_BOOT:bootinfo:b\nRAYOS_BOOT:ready:c\n"; log.String() != want {
		t.Errorf("log = %q, want %q", log.String(), want)
	}
}

package keys_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rayos/engine/world/keys"
)

func code(t *testing.T, name string) uint32 {
	t.Helper()
	c, ok := keys.Code(name)
	if !ok {
		t.Fatalf("no key %q", name)
	}
	return c
}

func TestText(t *testing.T) {
	chords, ok := keys.Text("Hi, x!")
	if !ok {
		t.Fatal("plain text refused")
	}
	shift, h, one := code(t, "leftshift"), code(t, "h"), code(t, "1")
	if len(chords) != 6 || len(chords[0]) != 2 || chords[0][0] != shift || chords[0][1] != h || chords[5][1] != one {
		t.Errorf("chords %v", chords)
	}
	if _, ok := keys.Text("héllo"); ok {
		t.Error("a character with no US key was accepted")
	}
}

// The codes are the kernel's (linux/input-event-codes.h): a wrong one
// would press another key in the guest.
func TestCodesAreLinux(t *testing.T) {
	for name, want := range map[string]uint32{
		"KEY_ENTER": 28, "esc": 1, "leftctrl": 29, "rightctrl": 97, "rightalt": 100, "capslock": 58,
		"insert": 110, "delete": 111, "sysrq": 99, "leftmeta": 125, "f11": 87, "f24": 194, "kp0": 82, "kpenter": 96,
		"Ctrl": 29, "control": 29, "del": 111, "win": 125, "super": 125, "printscreen": 99, "escape": 1,
	} {
		if c, ok := keys.Code(name); !ok || c != want {
			t.Errorf("%s = %d, %v; want %d", name, c, ok, want)
		}
	}
	if _, ok := keys.Code("nokey"); ok {
		t.Error("nokey is a key")
	}
}

func TestChord(t *testing.T) {
	got, err := keys.Chord("ctrl+alt+delete")
	if err != nil || !slices.Equal(got, []uint32{29, 56, 111}) {
		t.Errorf("ctrl+alt+delete = %v, %v", got, err)
	}
	if got, err := keys.Chord("Shift+F10"); err != nil || !slices.Equal(got, []uint32{42, 68}) {
		t.Errorf("Shift+F10 = %v, %v", got, err)
	}
	if got, err := keys.Chord("enter"); err != nil || !slices.Equal(got, []uint32{28}) {
		t.Errorf("enter = %v, %v", got, err)
	}
}

// Careless and hostile chords get an error that says what is wrong.
func TestChordBadInput(t *testing.T) {
	for text, want := range map[string]string{
		"":                                  "missing key",
		"  ":                                "missing key",
		"ctrl+":                             "empty key name",
		"+":                                 "empty key name",
		"ctrl+ctrl":                         `key "ctrl" twice`,
		"ctrl+leftctrl":                     `key "leftctrl" twice`,
		"ctrl+alt+delet":                    `unknown key "delet" (did you mean delete`,
		"ctlr+c":                            `unknown key "ctlr" (did you mean ctrl`,
		"nokey":                             `unknown key "nokey"`,
		"a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q": "more than 16",
		strings.Repeat("x", 300):            "longer than 256",
		"\x00\xff":                          `unknown key "\x00\xff" (rayos ctl keys lists them)`,
	} {
		_, err := keys.Chord(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Chord(%q) = %v, want an error with %q", text, err, want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("Chord(%q): error spans lines (it goes into a marker): %q", text, err)
		}
	}
	var unknown keys.UnknownKeyError
	if _, err := keys.Chord("ctrl+pgae"); !errors.As(err, &unknown) || unknown.Name != "pgae" {
		t.Errorf("ctrl+pgae: %v", err)
	}
}

func TestClosest(t *testing.T) {
	for name, want := range map[string][]string{
		"delet":                   {"delete"},
		"entr":                    {"enter"},
		"page":                    {"pagedown", "pageup"},
		"ESC":                     nil, // a key: nothing closer than itself is offered
		"zzzzzzzzzz":              nil,
		strings.Repeat("a", 1000): nil,
	} {
		got := keys.Closest(name, 2)
		if name == "ESC" {
			if slices.Contains(got, "esc") {
				t.Errorf("Closest(ESC) offers esc itself: %v", got)
			}
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("Closest(%q) = %v, want %v", name, got, want)
		}
	}
	if got := keys.Closest("f1", 0); got != nil {
		t.Errorf("n=0 gave %v", got)
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"", "abc", 3}, {"start", "strat", 1}, {"kitten", "sitting", 3}, {"linx", "linux", 1}, {"shwo", "show", 1}, {"é", "e", 1}} {
		if got := keys.Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := keys.Distance(c.b, c.a); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", c.b, c.a, got, c.d)
		}
	}
}

func TestNames(t *testing.T) {
	names := keys.Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "ctrl") || !slices.Contains(names, "f12") {
		t.Errorf("names %v", names)
	}
	for _, n := range names {
		if _, ok := keys.Code(n); !ok {
			t.Errorf("listed name %q is no key", n)
		}
	}
	names[0] = "changed"
	if keys.Names()[0] == "changed" {
		t.Error("Names shares its slice")
	}
}

func FuzzChord(f *testing.F) {
	for _, s := range []string{"ctrl+alt+delete", "", "+", "a+b", "\xff", "KEY_ENTER"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chord, err := keys.Chord(s)
		if err == nil && (len(chord) == 0 || len(chord) > keys.MaxChord) {
			t.Fatalf("Chord(%q) = %v without error", s, chord)
		}
	})
}

package tomlpos

import "testing"

func TestKeyLines(t *testing.T) {
	text := `version = 1
# a comment = not a key
[guests.linux]
start = true

[guests."my vm"]
cpus = 2
[[arrays]]
x = 1
`
	lines := KeyLines(text)
	for key, want := range map[string]int{
		"version": 1, "guests.linux": 3, "guests.linux.start": 4,
		`guests."my vm"`: 6, `guests."my vm".cpus`: 7, "arrays.x": 9,
	} {
		if lines[key] != want {
			t.Errorf("%s on line %d, want %d", key, lines[key], want)
		}
	}
	if Key("linux") != "linux" || Key("my vm") != `"my vm"` || Key("") != `""` {
		t.Error("Key quoting")
	}
}

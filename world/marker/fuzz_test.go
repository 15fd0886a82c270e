package marker

import "testing"

// Parse must never panic, and whatever it accepts must format back to a
// line that parses to the same marker.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"RAYOS_BOOT:ready:tick=0",
		"RAYOS_HOST_ACK:type:err:a%3Ab",
		"RAYOS_GUEST:linux:hidden\n",
		"RAYOS_AUDIT:x:%0",
		"RAYOS_POLICY_VIOLATION::",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := Parse(line)
		if err != nil {
			return
		}
		again, err := Parse(m.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", m.String(), err)
		}
		if again.String() != m.String() {
			t.Fatalf("%q → %q → %q", line, m.String(), again.String())
		}
	})
}

package boot_test

import (
	"testing"

	"github.com/rayos/engine/boot"
)

// ParseBootInfo must never panic, and what it accepts is always of the
// version this runtime reads with a known entry.
func FuzzParseBootInfo(f *testing.F) {
	f.Add("version = 0\nentry = \"normal\"\ndata = \"/var/rayos\"\n")
	f.Add("version = 0\nflags = [\"recovery\"]\n")
	f.Add("version = 1\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		b, err := boot.ParseBootInfo("fuzz", text)
		if err != nil {
			return
		}
		if b.Version != boot.BootInfoVersion {
			t.Fatalf("accepted version %d", b.Version)
		}
		switch b.WithDefaults().Entry {
		case "", boot.EntryNormal, boot.EntryRecovery, boot.EntryPrevious:
		default:
			t.Fatalf("accepted entry %q", b.Entry)
		}
	})
}

package boot_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayos/engine/boot"
)

func TestParseBootInfo(t *testing.T) {
	b, err := boot.ParseBootInfo("bi.toml", "version = 0\nentry = \"previous\"\ndata = \"/var/rayos\"\nvolume = \"/var/rayos/volume\"\n")
	if err != nil {
		t.Fatal(err)
	}
	b = b.WithDefaults()
	if b.Entry != "previous" || b.Policy != "/var/rayos/policy/rayos-policy.toml" || b.Registry != "/var/rayos/vm/registry.toml" || b.Source != "bi.toml" {
		t.Errorf("%+v", b)
	}
	r, _ := boot.ParseBootInfo("bi.toml", "version = 0\nflags = [\"recovery\"]\n")
	if r.WithDefaults().Entry != boot.EntryRecovery {
		t.Error("the recovery flag does not force the recovery entry")
	}
	bad := map[string]string{
		"version = 3\n":                      "version 3: unknown BootInfo version",
		"entry = \"normal\"\n":               "version: missing",
		"version = 0\nentry = \"safe\"\n":    `entry "safe"`,
		"version = 0\ncolour = \"blue\"\n":   `unknown key "colour"`,
		"version = 0\nflags = [\"turbo\"]\n": `unknown flag "turbo"`,
		"version = \"zero\"\n":               "bi.toml",
	}
	for text, want := range bad {
		_, err := boot.ParseBootInfo("bi.toml", text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", text, err, want)
		}
	}
	_, err = boot.ParseBootInfo("bi.toml", "version = 3\n")
	if !errors.Is(err, boot.ErrUnknownBootInfoVersion) {
		t.Error("an unknown version is not ErrUnknownBootInfoVersion")
	}
}

func TestFromCmdline(t *testing.T) {
	path, entry := boot.FromCmdline("BOOT_IMAGE=/vmlinuz root=/dev/sda1 rayos.bootinfo=/boot/rayos/bootinfo.toml quiet rayos.entry=recovery\n")
	if path != "/boot/rayos/bootinfo.toml" || entry != "recovery" {
		t.Errorf("got %q %q", path, entry)
	}
	if p, e := boot.FromCmdline("root=/dev/sda1 quiet"); p != "" || e != "" {
		t.Errorf("a plain command line gave %q %q", p, e)
	}
}

func TestBootCountingAndEntryChoice(t *testing.T) {
	st := boot.State{Failures: map[string]int{}}
	now := time.Unix(1000, 0)
	for i := 1; i <= 3; i++ {
		entry, why := boot.ChooseEntry("", st, true)
		if i < 3 && (entry != boot.EntryNormal || why != "") {
			t.Fatalf("attempt %d: %s (%s)", i, entry, why)
		}
		st.Begin(entry, now) // never reaches ready
	}
	entry, why := boot.ChooseEntry("", st, true)
	if entry != boot.EntryPrevious || !strings.Contains(why, "normal failed 3 times") {
		t.Errorf("after 3 failures: %s (%s)", entry, why)
	}
	if entry, _ := boot.ChooseEntry("", st, false); entry != boot.EntryRecovery {
		t.Errorf("without a last-good snapshot: %s, want recovery", entry)
	}
	if entry, _ := boot.ChooseEntry(boot.EntryNormal, st, true); entry != boot.EntryNormal {
		t.Errorf("an explicit request for normal gave %s", entry)
	}
	if entry, why := boot.ChooseEntry(boot.EntryPrevious, st, false); entry != boot.EntryRecovery || why == "" {
		t.Errorf("previous without a snapshot: %s (%s)", entry, why)
	}
	st.Begin(boot.EntryNormal, now)
	st.Ready()
	if st.Failures[boot.EntryNormal] != 0 || st.LastGood != boot.EntryNormal {
		t.Errorf("after a good boot: %+v", st)
	}
	// The state survives a write and a read.
	path := filepath.Join(t.TempDir(), "boot", "state.toml")
	st.Failures[boot.EntryRecovery] = 2
	if err := st.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := boot.ReadState(path)
	if err != nil || back.LastGood != st.LastGood || back.Failures[boot.EntryRecovery] != 2 || !back.Attempt.ReachedReady {
		t.Errorf("read back %+v, %v", back, err)
	}
	if _, err := boot.ReadState(filepath.Join(t.TempDir(), "none.toml")); err != nil {
		t.Errorf("a missing state file is an error: %v", err)
	}
}

func TestLayoutMountCreatesThenValidates(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	l := boot.Layout{Root: root}
	m, err := l.Mount("policy text", "registry text")
	if err != nil || !m.Created || m.Completed || !m.Owned {
		t.Fatalf("first mount: %v, %+v", err, m)
	}
	if data, _ := os.ReadFile(l.PolicyFile()); string(data) != "policy text" {
		t.Errorf("policy file holds %q", data)
	}
	m, err = l.Mount("other", "other")
	if err != nil || m.Created || !m.Owned {
		t.Fatalf("second mount: %v, %+v", err, m)
	}
	if data, _ := os.ReadFile(l.PolicyFile()); string(data) != "policy text" {
		t.Error("a later mount overwrote the policy")
	}
	os.RemoveAll(filepath.Join(root, "crash"))
	os.Remove(filepath.Join(root, "boot"))
	os.RemoveAll(filepath.Join(root, "boot"))
	os.WriteFile(filepath.Join(root, "boot"), nil, 0o644)
	_, err = l.Mount("", "")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "crash")+": missing folder") || !strings.Contains(err.Error(), filepath.Join(root, "boot")+": not a folder") {
		t.Errorf("broken layout: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if _, err := (boot.Layout{Root: other}).Mount("", ""); err == nil || !strings.Contains(err.Error(), "not a RayOS data folder") {
		t.Errorf("a foreign folder was accepted: %v", err)
	}
}

func TestCrashReportWrite(t *testing.T) {
	dir := t.TempDir()
	path, err := boot.CrashReport{Time: time.Unix(0, 0), Panic: "boom", Stack: []byte("goroutine 1"), Tick: 7, Entry: "normal", Markers: []string{"RAYOS_BOOT:ready:tick=0"}}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	for _, want := range []string{"panic:   boom", "tick:    7", "  RAYOS_BOOT:ready:tick=0", "goroutine 1"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %q:\n%s", want, data)
		}
	}
}

func TestPreviousThatKeepsFailingEscalatesToRecovery(t *testing.T) {
	st := boot.State{Failures: map[string]int{boot.EntryNormal: 3}}
	now := time.Unix(1000, 0)
	for i := 1; i <= 3; i++ {
		entry, why := boot.ChooseEntry("", st, true)
		if entry != boot.EntryPrevious || !strings.Contains(why, "normal failed 3 times") {
			t.Fatalf("attempt %d: %s (%s), want previous", i, entry, why)
		}
		st.Begin(entry, now) // never reaches ready
	}
	entry, why := boot.ChooseEntry("", st, true)
	if entry != boot.EntryRecovery || !strings.Contains(why, "previous failed 3 times in a row") {
		t.Errorf("after previous failed 3 times: %s (%s), want recovery", entry, why)
	}
	// Recovery coming up does not send it back to a previous that fails.
	st.Begin(entry, now)
	st.Ready()
	if entry, _ := boot.ChooseEntry("", st, true); entry != boot.EntryRecovery {
		t.Errorf("after a good recovery boot: %s", entry)
	}
	// Asked for explicitly, previous is still tried.
	if entry, _ := boot.ChooseEntry(boot.EntryPrevious, st, true); entry != boot.EntryPrevious {
		t.Errorf("explicit previous: %s", entry)
	}
}

func TestReadStateIsStrict(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.toml")
	for text, want := range map[string]string{
		"[failures]\nnormal = -100\n":      "failures.normal: -100 is out of range [0, 1000000]",
		"[failures]\nrecovery = 1000001\n": "failures.recovery: 1000001 is out of range",
		"[failures]\nturbo = 1\n":          "failures.turbo: unknown entry",
		"colour = 1\n":                     "colour: unknown key",
		"[attempt]\ncolour = 1\n":          "attempt.colour: unknown key",
		"[attempt]\nentry = \"safe\"\n":    `attempt.entry: unknown entry "safe"`,
		"[attempt]\nstarted_unix = -5\n":   "attempt.started_unix: -5 is negative",
		"last_good = \"windows\"\n":        `last_good: unknown entry "windows"`,
		"failures = 3\n":                   path,
		strings.Repeat("# pad\n", 12_000):  "is more than the 65536 this file may have",
	} {
		os.WriteFile(path, []byte(text), 0o640)
		st, err := boot.ReadState(path)
		short := text[:min(len(text), 40)]
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q naming the file", short, err, want)
		}
		if st.Failures == nil || len(st.Failures) != 0 || st.Attempt.Entry != "" {
			t.Errorf("%q: an invalid file gave %+v, want a fresh state", short, st)
		}
	}
	os.WriteFile(path, []byte("last_good = \"normal\"\n[attempt]\nentry = \"previous\"\n[failures]\nnormal = 3\nprevious = 0\n"), 0o640)
	if st, err := boot.ReadState(path); err != nil || st.Failures[boot.EntryNormal] != 3 || st.Attempt.Entry != boot.EntryPrevious {
		t.Errorf("valid state: %+v, %v", st, err)
	}
}

func TestMountCompletesAnInterruptedFirstBootOnly(t *testing.T) {
	const pol, reg = "policy text\n", "registry text\n"
	root := filepath.Join(t.TempDir(), "data")
	l := boot.Layout{Root: root}
	// What a kill during the first boot can leave: folders, one default
	// file, a temporary file, logs. (No layout-version.)
	for _, d := range []string{"policy", "vm", "logs", "crash"} {
		os.MkdirAll(filepath.Join(root, d), 0o750)
	}
	os.WriteFile(l.PolicyFile(), []byte(pol), 0o640)
	os.WriteFile(filepath.Join(root, "vm", ".rayos-tmp-registry.toml-9"), []byte("regi"), 0o600)
	os.WriteFile(filepath.Join(root, ".layout-version.123456"), nil, 0o600) // an older build's temporary name
	os.WriteFile(l.MarkerLog(), []byte("RAYOS_BOOT:start:rayos\n"), 0o640)
	m, err := l.Mount(pol, reg)
	if err != nil || !m.Created || !m.Completed || !m.Owned {
		t.Fatalf("interrupted first boot: %+v, %v", m, err)
	}
	if data, _ := os.ReadFile(l.RegistryFile()); string(data) != reg {
		t.Errorf("registry %q", data)
	}
	if err := l.Validate(); err != nil {
		t.Errorf("completed layout: %v", err)
	}

	// Not RayOS's: refused, and nothing written.
	for name, plant := range map[string]func(root string){
		"a policy that is not the default": func(r string) {
			os.MkdirAll(filepath.Join(r, "policy"), 0o750)
			os.WriteFile(filepath.Join(r, "policy", "rayos-policy.toml"), []byte("mine"), 0o640)
		},
		"a file in a layout folder": func(r string) {
			os.MkdirAll(filepath.Join(r, "crash"), 0o750)
			os.WriteFile(filepath.Join(r, "crash", "core"), []byte("mine"), 0o640)
		},
		"another folder": func(r string) { os.MkdirAll(filepath.Join(r, "photos"), 0o750) },
	} {
		other := filepath.Join(t.TempDir(), "data")
		plant(other)
		m, err := (boot.Layout{Root: other}).Mount(pol, reg)
		if err == nil || m.Owned || !strings.Contains(err.Error(), "not a RayOS data folder") {
			t.Errorf("%s: %+v, %v", name, m, err)
		}
		if _, err := os.Stat(filepath.Join(other, "layout-version")); err == nil {
			t.Errorf("%s: layout-version was written", name)
		}
	}
	// Another layout version is not owned either.
	os.WriteFile(l.VersionFile(), []byte("9\n"), 0o640)
	if m, err := l.Mount(pol, reg); err == nil || m.Owned {
		t.Errorf("layout 9: %+v, %v", m, err)
	}
}

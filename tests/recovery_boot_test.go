package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/policy"
)

// snapshotFiles reads every regular file under dir, for "nothing on disk
// changed" checks that look at content, not only names and sizes.
func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			data, _ := os.ReadFile(path)
			files[path] = string(data)
		}
		return nil
	})
	return files
}

func TestSecondInstanceIsRefusedBeforeAnythingIsWrittenOrAnnounced(t *testing.T) {
	dir := t.TempDir()
	first := spawnBoot(t, dir, "--hz", "100")
	first.waitFor(t, "RAYOS_GUEST:windows:hidden") // autostart done
	data := filepath.Join(dir, "data")
	// The guests' vCPUs are placed and pinned a few ticks later: wait
	// until the first instance writes no more markers, so that any change
	// to the folder is the second instance's.
	waitUnchanged(t, filepath.Join(data, "logs", "markers.log"))
	names, files := listDir(t, data), snapshotFiles(t, data)

	r := boot(t, dir)
	if r.code != 1 {
		t.Errorf("second instance: exit %d, want 1", r.code)
	}
	want := fmt.Sprintf("RAYOS_BOOT:failed:stage=data-mounted data is in use by pid %d (", first.cmd.Process.Pid)
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "boot --data data") {
		t.Errorf("second instance markers lack %q naming the holder's command line:\n%s", want, r.stdout)
	}
	for _, never := range []string{"RAYOS_BOOT:ready", "RAYOS_BOOT:data-mounted:", "RAYOS_BOOT:entry:"} {
		if strings.Contains(r.stdout, never) {
			t.Errorf("second instance announced %s:\n%s", never, r.stdout)
		}
	}
	if !slices.Equal(names, listDir(t, data)) {
		t.Errorf("second instance changed the data folder:\nbefore %v\nafter  %v", names, listDir(t, data))
	}
	for path, content := range snapshotFiles(t, data) {
		if files[path] != content {
			t.Errorf("second instance rewrote %s", path)
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(data, "boot", "state.toml")), "reached_ready = true") {
		t.Error("the refused instance counted as a boot attempt")
	}

	// kill -9 releases the lock (the kernel drops it): the next boot runs.
	first.killNow(t)
	r = boot(t, dir)
	if r.code != 0 || !strings.Contains(r.stdout, "RAYOS_BOOT:ready:tick=0") {
		t.Errorf("boot after the holder was killed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// firstBootLeftovers is what a first boot killed before it wrote
// layout-version leaves behind: some folders, some of the default files,
// a temporary file of the write in flight.
func firstBootLeftovers(t *testing.T, data string) {
	t.Helper()
	for _, d := range []string{"policy", "vm", "volume", "logs"} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(data, "policy", "rayos-policy.toml"), []byte(policy.Default()), 0o640)
	os.WriteFile(filepath.Join(data, "vm", ".rayos-tmp-registry.toml-4242"), []byte(guests.DefaultRegistry[:40]), 0o600)
	os.WriteFile(filepath.Join(data, "logs", "markers.log"), []byte("RAYOS_BOOT:start:rayos 0.1.0-dev\n"), 0o640)
}

func TestInterruptedFirstBootIsCompletedAndForeignFoldersAreNotTouched(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	firstBootLeftovers(t, data)
	r := boot(t, dir)
	if r.code != 0 {
		t.Fatalf("boot after an interrupted first boot: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "completing boot", r.stdout,
		"RAYOS_BOOT:data-mounted:layout=1 created=true completed=interrupted-first-boot",
		"RAYOS_BOOT:entry:normal failures=0", "RAYOS_BOOT:ready:tick=0")
	if v := readFile(t, filepath.Join(data, "layout-version")); v != "1\n" {
		t.Errorf("layout-version = %q", v)
	}
	if readFile(t, filepath.Join(data, "vm", "registry.toml")) != guests.DefaultRegistry {
		t.Error("the completed layout lacks the default registry")
	}
	if left := tempFiles(t, data); len(left) > 0 {
		t.Errorf("temporary files of the killed boot are still there: %v", left)
	}

	// Not RayOS's: the same folders, but a file creation never writes.
	for name, plant := range map[string]func(string){
		"edited policy": func(d string) {
			firstBootLeftovers(t, d)
			os.WriteFile(filepath.Join(d, "policy", "rayos-policy.toml"), []byte("version = 1\n# mine\n"), 0o640)
		},
		"someone's notes": func(d string) {
			firstBootLeftovers(t, d)
			os.WriteFile(filepath.Join(d, "volume", "notes.txt"), []byte("mine"), 0o640)
		},
		"a home folder": func(d string) {
			os.MkdirAll(filepath.Join(d, "Documents"), 0o750)
			os.WriteFile(filepath.Join(d, ".bashrc"), []byte("# mine"), 0o640)
		},
	} {
		other := t.TempDir()
		plant(filepath.Join(other, "data"))
		before, content := listDir(t, other), snapshotFiles(t, other)
		r := boot(t, other)
		if r.code != 1 || !strings.Contains(r.stdout, "RAYOS_BOOT:failed:stage=data-mounted") || !strings.Contains(r.stderr, "is not a RayOS data folder") {
			t.Errorf("%s: exit %d, want a data-mounted failure:\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if after := listDir(t, other); !slices.Equal(before, after) {
			t.Errorf("%s: the foreign folder was changed:\nbefore %v\nafter  %v", name, before, after)
		}
		for path, c := range snapshotFiles(t, other) {
			if content[path] != c {
				t.Errorf("%s: %s was rewritten", name, path)
			}
		}
		// Recovery, asked for, comes up on it — and still writes nothing.
		r = boot(t, other, "--entry", "recovery")
		if r.code != 0 || !strings.Contains(r.stdout, "RAYOS_BOOT:ready:tick=0") {
			t.Errorf("%s: recovery: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if after := listDir(t, other); !slices.Equal(before, after) {
			t.Errorf("%s: recovery changed the foreign folder:\nbefore %v\nafter  %v", name, before, after)
		}
	}
}

func TestEveryFailedBootCountsUntilRecoveryComesUpByItself(t *testing.T) {
	dir := t.TempDir()
	if r := boot(t, dir); r.code != 0 {
		t.Fatalf("good boot: exit %d\n%s", r.code, r.stderr)
	}
	data := filepath.Join(dir, "data")
	// A RayOS-owned layout breaks: normal fails at data-mounted, three
	// times; then previous (the last-good snapshot) fails the same way,
	// three times; then recovery, which tolerates a broken layout, comes up.
	os.RemoveAll(filepath.Join(data, "volume"))
	for i := 1; i <= 6; i++ {
		r := boot(t, dir)
		if r.code != 1 || !strings.Contains(r.stdout, "RAYOS_BOOT:failed:stage=data-mounted") {
			t.Fatalf("failing boot %d: exit %d\n%s", i, r.code, r.stdout)
		}
		state := readFile(t, filepath.Join(data, "boot", "state.toml"))
		entry := "normal"
		if i > 3 {
			entry = "previous"
			mustContain(t, fmt.Sprintf("failing boot %d", i), r.stdout, "RAYOS_BOOT:fallback:entry=previous because normal failed 3 times in a row")
		}
		mustContain(t, fmt.Sprintf("state after failing boot %d", i), state, `entry = "`+entry+`"`, "reached_ready = false")
	}
	r := boot(t, dir)
	if r.code != 0 {
		t.Fatalf("seventh boot: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "seventh boot", r.stdout,
		"RAYOS_BOOT:data-mounted:layout invalid, recovery continues",
		"RAYOS_BOOT:fallback:entry=recovery because previous failed 3 times in a row",
		"RAYOS_BOOT:entry:recovery", "RAYOS_BOOT:ready:tick=0")

	// A registry that stops loading counts the same way: the fourth boot is
	// previous, with the last good registry.
	dir = t.TempDir()
	boot(t, dir)
	os.WriteFile(filepath.Join(dir, "data", "vm", "registry.toml"), []byte("version = 1\n[vm.linux]\nos = \"beos\"\n"), 0o640)
	for i := 1; i <= 3; i++ {
		if r := boot(t, dir); r.code != 1 || !strings.Contains(r.stdout, "RAYOS_BOOT:failed:stage=registry-loaded") {
			t.Fatalf("registry boot %d: exit %d\n%s", i, r.code, r.stdout)
		}
	}
	r = boot(t, dir)
	mustContain(t, "after three registry failures", r.stdout,
		"RAYOS_BOOT:fallback:entry=previous because normal failed 3 times in a row",
		"RAYOS_BOOT:registry-loaded:vms=linux,windows", "RAYOS_BOOT:ready:tick=0")
}

func TestStaleTemporaryFilesAreRemovedUnderTheLocks(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "vm", "linux"), 0o750)
	stale := []string{
		filepath.Join(data, ".rayos-tmp-layout-version-1"),
		filepath.Join(data, "boot", ".rayos-tmp-state.toml-2"),
		filepath.Join(data, "boot", "last-good", ".rayos-tmp-registry.toml-3"),
		filepath.Join(data, "policy", ".rayos-tmp-rayos-policy.toml-4"),
		filepath.Join(data, "vm", ".rayos-tmp-registry.toml-5"),
		filepath.Join(data, "vm", "linux", ".rayos-tmp-managed-save-6"),
	}
	kept := filepath.Join(data, "policy", ".my-editor-swap")
	for _, p := range append(stale, kept) {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if r := boot(t, dir); r.code != 0 {
		t.Fatalf("boot: exit %d\n%s", r.code, r.stderr)
	}
	if left := tempFiles(t, data); len(left) > 0 {
		t.Errorf("boot left stale temporary files: %v", left)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("boot removed a file that is not RayOS's: %v", err)
	}
	// rayos guest edits clean vm/ under the registry lock.
	os.WriteFile(filepath.Join(data, "vm", ".rayos-tmp-registry.toml-7"), []byte("half"), 0o600)
	if r := rayos(t, dir, "guest", "remove", "windows", "--data", "data"); r.code != 0 {
		t.Fatalf("guest remove: exit %d %s", r.code, r.stderr)
	}
	if left := tempFiles(t, data); len(left) > 0 {
		t.Errorf("guest remove left stale temporary files: %v", left)
	}
}

func TestBadBootInputsAreRefusedByNameAndChangeNothing(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	data := filepath.Join(dir, "data")
	fifo := func(path string) {
		os.Remove(path)
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// A missing hand-off boots recovery, and says so on stderr too.
	r := rayos(t, dir, "boot", "--bootinfo", "nope.toml", "--data", "data", "--ticks", "2", "--hz", "1000", "--gpu", "cpu")
	if r.code != 0 || !strings.Contains(r.stdout, "RAYOS_BOOT:entry:recovery") {
		t.Errorf("missing bootinfo: exit %d\n%s", r.code, r.stdout)
	}
	if !regexp.MustCompile(`level=ERROR .*bootinfo.*nope\.toml`).MatchString(r.stderr) {
		t.Errorf("missing bootinfo: stderr does not say so: %q", r.stderr)
	}

	// A FIFO as the hand-off would block the open; it is refused instead.
	fifo(filepath.Join(dir, "bi.fifo"))
	r = rayos(t, dir, "boot", "--bootinfo", "bi.fifo", "--data", "data", "--ticks", "2", "--hz", "1000", "--gpu", "cpu")
	mustContain(t, "FIFO bootinfo", r.stdout, "RAYOS_BOOT:bootinfo:error", "bi.fifo", "not a regular file (a FIFO)", "RAYOS_BOOT:entry:recovery")

	// /dev/zero as the registry and the policy (named by a hand-off).
	os.WriteFile(filepath.Join(dir, "zero.toml"), []byte("version = 0\ndata = \"data\"\nregistry = \"/dev/zero\"\npolicy = \"/dev/zero\"\n"), 0o644)
	r = rayos(t, dir, "boot", "--bootinfo", "zero.toml", "--ticks", "2", "--hz", "1000", "--gpu", "cpu")
	if r.code != 1 {
		t.Errorf("/dev/zero registry: exit %d, want 1", r.code)
	}
	mustContain(t, "/dev/zero inputs", r.stdout,
		"RAYOS_POLICY_VIOLATION:policy-invalid:/dev/zero"+escape(": not a regular file (a character device)"),
		"RAYOS_BOOT:failed:stage=registry-loaded registry"+escape(": /dev/zero: not a regular file (a character device)"))

	// A FIFO as the policy, and a policy over 1 MiB: restricted, named.
	policyPath := filepath.Join(data, "policy", "rayos-policy.toml")
	good := readFile(t, policyPath)
	fifo(policyPath)
	r = boot(t, dir)
	mustContain(t, "FIFO policy", r.stdout, "RAYOS_POLICY_VIOLATION:policy-invalid:"+escape(filepath.Join("data", "policy", "rayos-policy.toml")+": not a regular file (a FIFO)"), "RAYOS_BOOT:ready:tick=0")
	if info, err := os.Lstat(policyPath); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		t.Error("the boot replaced the FIFO policy")
	}
	os.Remove(policyPath)
	os.WriteFile(policyPath, []byte(good+strings.Repeat("# padding\n", 110_000)), 0o640)
	r = boot(t, dir)
	mustContain(t, "huge policy", r.stdout, "RAYOS_POLICY_VIOLATION:policy-invalid:", "is more than the 1048576 this file may have", "RAYOS_BOOT:policy-loaded:restricted")
	os.WriteFile(policyPath, []byte(good), 0o640)
}

func TestInvalidBootStateIsReportedAndCountsFromZero(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	state := filepath.Join(dir, "data", "boot", "state.toml")
	for text, key := range map[string]string{
		"[failures]\nnormal = -100\n":                           "failures.normal: -100 is out of range",
		"[failures]\nnormal = 99999999999\n":                    "failures.normal: 99999999999 is out of range",
		"[failures]\nsafe-mode = 2\n":                           "failures.safe-mode: unknown entry",
		"colour = \"blue\"\n":                                   "colour: unknown key",
		"last_good = \"windows95\"\n":                           `last_good: unknown entry`,
		"[attempt]\nentry = \"normal\"\nstarted_unix = \"x\"\n": "state.toml",
	} {
		os.WriteFile(state, []byte(text), 0o640)
		r := boot(t, dir)
		if r.code != 0 || !strings.Contains(r.stdout, "RAYOS_BOOT:entry:normal failures=0") {
			t.Errorf("state %q: exit %d\n%s", text, r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, filepath.Join("data", "boot", "state.toml")) || !strings.Contains(r.stderr, key) {
			t.Errorf("state %q: stderr does not name the file and %q:\n%s", text, key, r.stderr)
		}
	}
	// A FIFO in its place is not read (it would block), and is replaced
	// by the attempt like any invalid state.
	os.Remove(state)
	syscall.Mkfifo(state, 0o600)
	r := boot(t, dir)
	if r.code != 0 || !strings.Contains(r.stderr, "not a regular file (a FIFO)") {
		t.Errorf("FIFO state: exit %d\n%s", r.code, r.stderr)
	}
	if n := strings.Count(readFile(t, state), "reached_ready = true"); n != 1 {
		t.Errorf("state after the FIFO: %q", readFile(t, state))
	}
}

// waitUnchanged waits until path has kept its size for half a second (a
// writer gone quiet), at most the recovery ceiling.
func waitUnchanged(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(recoveryCeiling)
	last, since := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		info, err := os.Stat(path)
		if err == nil && info.Size() != last {
			last, since = info.Size(), time.Now()
		}
		if last >= 0 && time.Since(since) >= 500*time.Millisecond {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s kept changing for %v", path, recoveryCeiling)
}

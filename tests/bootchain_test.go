package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func boot(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return rayos(t, dir, append([]string{"boot", "--data", "data", "--hz", "1000", "--ticks", "3", "--gpu", "cpu"}, args...)...)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func TestFirstBootCreatesTheLayoutAndLaterBootsValidateIt(t *testing.T) {
	dir := t.TempDir()
	r := boot(t, dir)
	if r.code != 0 {
		t.Fatalf("first boot: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, "first boot markers", r.stdout, "RAYOS_BOOT:data-mounted:layout=1 created=true")
	data := filepath.Join(dir, "data")
	for _, d := range []string{"policy", "vm", "volume", "logs", "crash", "boot"} {
		if info, err := os.Stat(filepath.Join(data, d)); err != nil || !info.IsDir() {
			t.Errorf("layout lacks folder %s", d)
		}
	}
	if v := readFile(t, filepath.Join(data, "layout-version")); v != "1\n" {
		t.Errorf("layout-version = %q", v)
	}
	pol := readFile(t, filepath.Join(data, "policy", "rayos-policy.toml"))
	mustContain(t, "default policy", pol, "# RayOS policy", "network = false")
	if strings.Contains(pol, "network = true") {
		t.Error("the default policy turns guest networking on")
	}
	mustContain(t, "registry", readFile(t, filepath.Join(data, "vm", "registry.toml")), "[vm.linux]")
	mustContain(t, "boot state", readFile(t, filepath.Join(data, "boot", "state.toml")), "reached_ready = true", `last_good = "normal"`)

	// A later boot validates and says exactly what is wrong.
	os.RemoveAll(filepath.Join(data, "volume"))
	os.WriteFile(filepath.Join(data, "layout-version"), []byte("9\n"), 0o644)
	r = boot(t, dir)
	if r.code != 1 {
		t.Fatalf("broken layout: exit %d, want 1", r.code)
	}
	mustContain(t, "broken layout markers", r.stdout, "RAYOS_BOOT:failed:stage=data-mounted")
	mustContain(t, "broken layout error", r.stderr, filepath.Join("data", "volume")+": missing folder", `layout version "9" is not 1`)
	if strings.Contains(r.stdout, "RAYOS_BOOT:ready") {
		t.Error("a boot with a broken layout reached ready")
	}
}

func TestInvalidPolicyBootsRestricted(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	policyPath := filepath.Join(dir, "data", "policy", "rayos-policy.toml")
	if err := os.WriteFile(policyPath, []byte("version = 1\n[guests.linux]\nstart = true\nnetwrok = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmd.jsonl"), []byte(`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}
{"tick":2,"input":{"kind":"text","text":"present linux"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := boot(t, dir, "--journal", "cmd.jsonl")
	if r.code != 0 {
		t.Fatalf("restricted boot: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, "restricted boot", r.stdout,
		"RAYOS_POLICY_VIOLATION:policy-invalid:"+escape(filepath.Join("data", "policy", "rayos-policy.toml")+":4: guests.linux.netwrok: unknown key"),
		"RAYOS_BOOT:policy-loaded:restricted (deny all)",
		"RAYOS_BOOT:services-started:entry=normal policy=restricted",
		"RAYOS_BOOT:ready:tick=0",
		"RAYOS_POLICY_VIOLATION:policy-invalid:action=present guest=linux")
}

func escape(s string) string { return strings.ReplaceAll(s, ":", "%3A") }

func TestRepeatedFailuresFallBackToThePreviousEntry(t *testing.T) {
	dir := t.TempDir()
	if r := boot(t, dir); r.code != 0 {
		t.Fatalf("good boot: exit %d\n%s", r.code, r.stderr)
	}
	// An update breaks the policy, and boots start failing before ready.
	policyPath := filepath.Join(dir, "data", "policy", "rayos-policy.toml")
	os.WriteFile(policyPath, []byte("this is not toml ="), 0o644)
	for i := 1; i <= 3; i++ {
		r := boot(t, dir, "--debug-panic", "before-ready")
		if r.code != 1 {
			t.Fatalf("failing boot %d: exit %d", i, r.code)
		}
		if i < 3 && !strings.Contains(r.stdout, "RAYOS_BOOT:entry:normal failures="+string(rune('0'+i-1))) {
			t.Errorf("failing boot %d markers:\n%s", i, r.stdout)
		}
	}
	r := boot(t, dir)
	if r.code != 0 {
		t.Fatalf("fallback boot: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, "fallback boot", r.stdout,
		"RAYOS_BOOT:fallback:entry=previous because normal failed 3 times in a row",
		"RAYOS_BOOT:entry:previous",
		"RAYOS_BOOT:policy-loaded:guests=linux,windows", // the last good policy, not the broken one
		"RAYOS_BOOT:services-started:entry=previous policy=valid",
		"RAYOS_BOOT:ready:tick=0")
	// Left to choose, it stays on previous; asked for normal, it tries again.
	r = boot(t, dir, "--entry", "normal")
	mustContain(t, "explicit normal", r.stdout, "RAYOS_BOOT:entry:normal", "RAYOS_BOOT:policy-loaded:restricted")
	mustContain(t, "boot state", readFile(t, filepath.Join(dir, "data", "boot", "state.toml")), "normal = 0")
}

func TestRecoveryStartsNoGuestAndOnlyReadsThePolicy(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	policyPath := filepath.Join(dir, "data", "policy", "rayos-policy.toml")
	before := readFile(t, policyPath)
	os.RemoveAll(filepath.Join(dir, "data", "volume")) // recovery must come up on a broken layout
	r := boot(t, dir, "--entry", "recovery")
	if r.code != 0 {
		t.Fatalf("recovery: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, "recovery", r.stdout,
		"RAYOS_BOOT:data-mounted:layout invalid, recovery continues",
		"RAYOS_BOOT:entry:recovery",
		"RAYOS_GUEST:linux:defined", "RAYOS_GUEST:windows:defined",
		"RAYOS_BOOT:services-started:entry=recovery",
		"RAYOS_BOOT:ready:tick=0")
	if regexp.MustCompile(`RAYOS_GUEST:\w+:(hidden|presented|starting)`).MatchString(r.stdout) {
		t.Errorf("recovery started a guest:\n%s", r.stdout)
	}
	if readFile(t, policyPath) != before {
		t.Error("recovery changed the policy file")
	}
}

func TestPanicLeavesACrashReport(t *testing.T) {
	dir := t.TempDir()
	r := boot(t, dir, "--ticks", "10", "--debug-panic", "tick=4")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	m := regexp.MustCompile(`(?m)^RAYOS_BOOT:crash:(crash/\S+\.txt)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no crash marker:\n%s", r.stdout)
	}
	report := readFile(t, filepath.Join(dir, "data", m[1]))
	mustContain(t, "crash report", report, "tick:    4", "panic:   debug panic at tick 4", "entry:   normal",
		"last markers (oldest first):", "RAYOS_BOOT:ready:tick=0", "stack:", "goroutine")
	mustContain(t, "stderr", r.stderr, "crash report: "+filepath.Join("data", m[1]))
}

func TestBootInfoHandOff(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok.toml"), []byte("version = 0\nentry = \"recovery\"\ndata = \"handed\"\n"), 0o644)
	r := rayos(t, dir, "boot", "--bootinfo", "ok.toml", "--ticks", "2", "--hz", "1000", "--gpu", "cpu")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, "bootinfo boot", r.stdout, "RAYOS_BOOT:bootinfo:version=0 source=ok.toml entry=recovery", "RAYOS_BOOT:entry:recovery")
	if _, err := os.Stat(filepath.Join(dir, "handed", "layout-version")); err != nil {
		t.Error("the data path of the BootInfo was not used")
	}

	os.WriteFile(filepath.Join(dir, "future.toml"), []byte("version = 7\ndata = \"handed\"\n"), 0o644)
	r = rayos(t, dir, "boot", "--bootinfo", "future.toml", "--data", "handed", "--ticks", "2", "--hz", "1000", "--gpu", "cpu")
	if r.code != 0 {
		t.Fatalf("unknown version: exit %d\n%s", r.code, r.stderr)
	}
	mustContain(t, "unknown version", r.stdout, "RAYOS_BOOT:bootinfo:error"+escape(": bootinfo future.toml: version 7: unknown BootInfo version"), "booting recovery", "RAYOS_BOOT:entry:recovery")
}

func TestPolicyReloadWhileRunningAndReplay(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	policyPath := filepath.Join(dir, "data", "policy", "rayos-policy.toml")
	cmd := exec.Command(rayosBin, "boot", "--data", "data", "--hz", "100", "--gpu", "cpu", "--record", "run.rec")
	cmd.Dir = dir
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var all []string
	waitFor := func(prefix string) string {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("rayos exited before %q:\n%s", prefix, strings.Join(all, "\n"))
				}
				all = append(all, l)
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q within 20 s:\n%s", prefix, strings.Join(all, "\n"))
			}
		}
	}
	replace := func(text string) {
		tmp := policyPath + ".new"
		if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, policyPath); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("RAYOS_BOOT:ready:")
	replace("version = 1\n[guests.linux]\ncpus = 999\n")
	refused := waitFor("RAYOS_POLICY_VIOLATION:policy-invalid:")
	if !strings.Contains(refused, escape("replacement refused, last good policy kept: reloaded policy:3: guests.linux.cpus")) {
		t.Errorf("refusal marker: %s", refused)
	}
	replace("version = 1\n[guests.linux]\nstart = true\n")
	if l := waitFor("RAYOS_AUDIT:policy-reloaded:"); l != "RAYOS_AUDIT:policy-reloaded:guests=linux rules=15" {
		t.Errorf("reload marker: %s", l)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor("RAYOS_BOOT:shutdown:")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	// The reloads are in the journal: a replay reproduces them.
	r := rayos(t, dir, "replay", "run.rec", "--gpu", "cpu")
	if r.code != 0 {
		t.Fatalf("replay: exit %d\n%s", r.code, r.stderr)
	}
	if got, want := fromWorld(r.stdout), fromWorld(strings.Join(all, "\n")+"\n"); got != want {
		t.Errorf("replay differs:\n%s\n---\n%s", got, want)
	}
}

func TestPolicyCommands(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	good := filepath.Join("data", "policy", "rayos-policy.toml")
	r := rayos(t, dir, "policy", "check", good)
	if r.code != 0 || !strings.Contains(r.stdout, good+": ok (guests=linux,windows") {
		t.Errorf("check good: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "bad.toml"), []byte("version = 1\n[guests.linux]\nmemory_mib = 3\n"), 0o644)
	r = rayos(t, dir, "policy", "check", "bad.toml")
	if r.code != 1 || !strings.Contains(r.stderr, "bad.toml:3: guests.linux.memory_mib: 3 is out of range") {
		t.Errorf("check bad: exit %d %q", r.code, r.stderr)
	}
	cases := map[string][]string{
		"allow: rule guests.linux.present":    {"--guest", "linux", "--action", "present"},
		"deny: rule input.presented":          {"--guest", "linux", "--action", "type"},
		"allow: rule guests.linux.inputs":     {"--guest", "linux", "--action", "type", "--presented"},
		"confirm: rule guests.linux.confirm":  {"--guest", "linux", "--action", "shutdown"},
		"confirm: rule intent.min_confidence": {"--guest", "windows", "--action", "start", "--confidence", "0.5"},
		"deny: rule default-deny":             {"--guest", "mac", "--action", "start"},
		"deny: rule policy-invalid":           {"--guest", "linux", "--action", "start", "--policy", "bad.toml"},
	}
	for want, args := range cases {
		r := rayos(t, dir, append([]string{"policy", "explain", "--data", "data"}, args...)...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
			t.Errorf("explain %v: exit %d, %q, want %q", args, r.code, r.stdout, want)
		}
	}
	r = rayos(t, dir, "policy", "explain", "--guest", "linux", "--action", "fly")
	if r.code != 2 || !strings.Contains(r.stderr, `--action "fly"`) {
		t.Errorf("bad action: exit %d %q", r.code, r.stderr)
	}
}

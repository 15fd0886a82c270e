package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestToolingVersionFlagPrintsTheVersion(t *testing.T) {
	dir := t.TempDir()
	sub := rayosEnv(t, dir, nil, "version")
	flag := rayosEnv(t, dir, nil, "--version")
	if sub.code != 0 || flag.code != 0 {
		t.Fatalf("version: %d %q; --version: %d %q", sub.code, sub.stderr, flag.code, flag.stderr)
	}
	if !strings.HasPrefix(sub.stdout, "rayos ") || !strings.Contains(sub.stdout, "ark v") {
		t.Errorf("rayos version printed %q", sub.stdout)
	}
	if flag.stdout != sub.stdout {
		t.Errorf("rayos --version printed %q, rayos version %q", flag.stdout, sub.stdout)
	}
}

func TestToolingRayosDataComesFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "from-env")
	env := []string{"RAYOS_DATA=" + data}

	r := rayosEnv(t, dir, env, "boot", "--hz", "1000", "--ticks", "2", "--gpu", "cpu")
	if r.code != 0 {
		t.Fatalf("boot with RAYOS_DATA: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "policy", "rayos-policy.toml")); err != nil {
		t.Fatalf("boot did not create RAYOS_DATA from the environment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rayos-data")); !os.IsNotExist(err) {
		t.Errorf("boot used ./rayos-data although RAYOS_DATA was set (%v)", err)
	}

	// guest, policy explain and ctl read the same folder.
	g := rayosEnv(t, dir, env, "guest", "list")
	if g.code != 0 || !strings.Contains(g.stdout, "linux") {
		t.Errorf("guest list with RAYOS_DATA: exit %d\n%s%s", g.code, g.stdout, g.stderr)
	}
	// The default policy asks to confirm a shutdown; a missing policy
	// (./rayos-data) would deny it as invalid.
	p := rayosEnv(t, dir, env, "policy", "explain", "--guest", "linux", "--action", "shutdown")
	if p.code != 0 || !strings.HasPrefix(p.stdout, "confirm: rule guests.linux.confirm") {
		t.Errorf("policy explain with RAYOS_DATA: exit %d\n%s%s", p.code, p.stdout, p.stderr)
	}
	c := rayosEnv(t, dir, env, "ctl", "--timeout", "1s", "status")
	if c.code != 1 || !strings.Contains(c.stderr, filepath.Join(data, "control.sock")) {
		t.Errorf("ctl with RAYOS_DATA and nothing running: exit %d, stderr %q, want its control.sock named", c.code, c.stderr)
	}

	// --data wins over RAYOS_DATA.
	r = rayosEnv(t, dir, env, "boot", "--data", "flag-data", "--hz", "1000", "--ticks", "1", "--gpu", "cpu")
	if r.code != 0 {
		t.Fatalf("boot --data with RAYOS_DATA set: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "flag-data", "policy", "rayos-policy.toml")); err != nil {
		t.Errorf("--data did not win over RAYOS_DATA: %v", err)
	}
}

func TestToolingEmptyDataIsBadUsage(t *testing.T) {
	commands := [][]string{
		{"boot", "--hz", "1000", "--ticks", "1", "--gpu", "cpu"},
		{"guest", "list"},
		{"guest", "add", "dev", "--os", "linux", "--memory", "512", "--vcpus", "1", "--kernel", "vmlinuz"},
		{"policy", "explain", "--guest", "linux", "--action", "present"},
		{"ctl", "status"},
	}
	for _, args := range commands {
		name := strings.Join(args[:2], " ")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// An empty --data once meant the current folder, where boot
			// wrote its policy and registry.
			for _, empty := range []string{"", "  "} {
				r := rayosEnv(t, dir, nil, append(slices.Clone(args), "--data", empty)...)
				if r.code != 2 || !strings.Contains(r.stderr, "--data is empty") {
					t.Errorf("--data %q: exit %d, stderr %q; want 2 naming --data", empty, r.code, r.stderr)
				}
			}
			r := rayosEnv(t, dir, []string{"RAYOS_DATA="}, args...)
			if r.code != 2 || !strings.Contains(r.stderr, "RAYOS_DATA is set but empty") {
				t.Errorf("RAYOS_DATA=\"\": exit %d, stderr %q; want 2 naming RAYOS_DATA", r.code, r.stderr)
			}
			if got := listDir(t, dir); len(got) != 1 {
				t.Errorf("an empty data folder changed the disk: %v", got)
			}
		})
	}
}

func TestToolingHelpDocumentsRayosData(t *testing.T) {
	dir := t.TempDir()
	root := rayosEnv(t, dir, nil, "--help")
	if root.code != 0 || !strings.Contains(root.stdout, "RAYOS_DATA  the RAYOS_DATA folder for every subcommand") {
		t.Errorf("rayos --help does not document RAYOS_DATA:\n%s", root.stdout)
	}
	for _, args := range [][]string{{"boot", "--help"}, {"ctl", "--help"}, {"guest", "list", "--help"}, {"policy", "explain", "--help"}} {
		r := rayosEnv(t, dir, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "(default: $RAYOS_DATA when set)") {
			t.Errorf("rayos %s: --data does not mention RAYOS_DATA:\n%s", strings.Join(args, " "), r.stdout)
		}
	}
}

func TestToolingPolicyExplainRefusesANonNumberConfidence(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "1.5", "-0.1"} {
		r := rayosEnv(t, dir, nil, "policy", "explain", "--guest", "linux", "--action", "start", "--confidence", c)
		if r.code != 2 || !strings.Contains(r.stderr, "--confidence") || r.stdout != "" {
			t.Errorf("--confidence %s: exit %d, stdout %q, stderr %q; want exit 2 naming --confidence", c, r.code, r.stdout, r.stderr)
		}
	}
	r := rayosEnv(t, dir, nil, "policy", "explain", "--guest", "linux", "--action", "start", "--confidence", "0.5")
	if r.code != 0 {
		t.Errorf("--confidence 0.5: exit %d, %s", r.code, r.stderr)
	}
}

func TestToolingTinyHzIsBadUsage(t *testing.T) {
	dir := t.TempDir()
	// 1e-300 Hz passed validation and the tick length overflowed into a panic.
	for _, hz := range []string{"1e-300", "0.0001"} {
		r := rayosEnv(t, dir, nil, "boot", "--data", "data", "--hz", hz, "--ticks", "1", "--gpu", "cpu")
		if r.code != 2 || !strings.Contains(r.stderr, "--hz") || !strings.Contains(r.stderr, "out of range") {
			t.Errorf("--hz %s: exit %d, stderr %q; want 2 naming --hz", hz, r.code, r.stderr)
		}
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("a refused boot changed the disk: %v", got)
	}
	journal := filepath.Join(dir, "slow.jsonl")
	writeJournal(t, journal, `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":1e-300}`, `{"end":2}`)
	r := rayosEnv(t, dir, nil, "replay", journal)
	if r.code != 2 || !strings.Contains(r.stderr, journal+":1: header: hz 1e-300 out of range") {
		t.Errorf("replay of a 1e-300 Hz journal: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestToolingReplayRefusesAnEndlessJournal(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "endless.jsonl")
	writeJournal(t, journal, `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":100}`, `{"end":18446744073709551615}`)
	r := rayosEnv(t, dir, nil, "replay", journal)
	if r.code != 2 || !strings.Contains(r.stderr, journal+":2: end tick 18446744073709551615 is beyond") {
		t.Errorf("replay of end 2^64−1: exit %d, stderr %q; want 2 naming the file and line", r.code, r.stderr)
	}
}

// A replay of the longest journal allowed runs for hours unpaced; SIGINT
// and SIGTERM must end it like a boot: a shutdown marker and exit 0.
func TestToolingReplayStopsCleanlyOnASignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			journal := filepath.Join(dir, "long.jsonl")
			writeJournal(t, journal, `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":100}`, fmt.Sprintf(`{"end":%d}`, uint64(1)<<32))
			cmd := exec.Command(rayosBin, "replay", journal)
			cmd.Dir, cmd.Env = dir, withoutRayosData()
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			var mu sync.Mutex
			var got []string
			ready := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(out)
				once := sync.OnceFunc(func() { close(ready) })
				for sc.Scan() {
					mu.Lock()
					got = append(got, sc.Text())
					mu.Unlock()
					if strings.HasPrefix(sc.Text(), "RAYOS_BOOT:ready:") {
						once()
					}
				}
			}()
			select {
			case <-ready:
			case <-done:
				t.Fatalf("replay ended before ready:\n%s", stderr.String())
			case <-time.After(time.Minute): // a ceiling for a hung start
				t.Fatal("no RAYOS_BOOT:ready within a minute")
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("replay still running a minute after %v", sig)
			}
			err = cmd.Wait()
			mu.Lock()
			last := got[len(got)-1]
			mu.Unlock()
			if err != nil {
				t.Fatalf("replay after %v: %v\nstderr: %s", sig, err, stderr.String())
			}
			if want := "RAYOS_BOOT:shutdown:reason=signal-" + map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]; !strings.HasPrefix(last, want) {
				t.Errorf("last marker %q, want %q…", last, want)
			}
		})
	}
}

func writeJournal(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	rayosboot "github.com/rayos/engine/boot"
	"github.com/rayos/engine/world/marker"
)

// The documented boot order (docs/markers.md): each pattern matches one
// line, in this order, and nothing else is printed.
var bootOrder = []string{
	`^RAYOS_BOOT:start:rayos \S+$`,
	`^RAYOS_BOOT:bootinfo:version=0 source=harness entry=auto$`,
	`^RAYOS_BOOT:data-mounted:layout=1 created=(true|false)$`,
	`^RAYOS_BOOT:entry:normal failures=0$`,
	`^RAYOS_BOOT:policy-loaded:guests=linux,windows rules=\d+$`,
	`^RAYOS_BOOT:registry-loaded:vms=linux,windows$`,
	`^RAYOS_BOOT:gpu:backend=cpu type=cpu device="Go go1\.\d+.*" memory="host" why="asked for"$`,
	// The demo's devices are the machine's — here a fixed two-CPU fabric
	// file, so that placements are the same everywhere (docs/fabric.md) —
	// and its only tasks the guests' vCPUs and emulator threads.
	`^RAYOS_BOOT:world:scene=demo seed=1 hz=1000 surfaces=4 guests=2 devices=2 tasks=0$`,
	`^RAYOS_BOOT:fabric:source=file cpus=2 packages=1 numa=1 gpus=0 thermal=model$`,
	`^RAYOS_GUEST:linux:defined$`,
	`^RAYOS_GUEST:windows:defined$`,
	`^RAYOS_BOOT:systems:input,attention-decay,attention,prompt-focus,input-broker,prompt,intent,host-bridge,policy,effects,host-ack,workload,vcpu,schedule,compose,gpu-submit$`,
	`^RAYOS_BOOT:services-started:entry=normal policy=valid$`,
	`^RAYOS_BOOT:ready:tick=0$`,
	// The autostart guests start in the first tick, as intents (said as
	// "start linux" by RayOS itself) through the policy.
	`^RAYOS_INTENT:1:start:linux:confidence=1\.00 parse=1\.00 attention=1\.00$`,
	`^RAYOS_INTENT:2:start:windows:confidence=1\.00 parse=1\.00 attention=1\.00$`,
	`^RAYOS_AUDIT:policy-allow:action=start guest=linux confidence=1\.00 source=1 rule=guests\.linux\.start$`,
	`^RAYOS_AUDIT:policy-allow:action=start guest=windows confidence=1\.00 source=2 rule=guests\.windows\.start$`,
	`^RAYOS_GUEST:linux:hidden$`,
	`^RAYOS_AUDIT:start:guest=linux source=1 result=ok hidden$`,
	`^RAYOS_GUEST:windows:hidden$`,
	`^RAYOS_AUDIT:start:guest=windows source=2 result=ok hidden$`,
	// The running guests' vCPUs are placed on the fabric, then pinned.
	`^RAYOS_SCHED:linux/emulator:-->cpu0:placed$`,
	`^RAYOS_SCHED:linux/vcpu0:-->cpu0:placed$`,
	`^RAYOS_SCHED:windows/emulator:-->cpu0:placed$`,
	`^RAYOS_SCHED:windows/vcpu0:-->cpu1:placed$`,
	`^RAYOS_SCHED:windows/vcpu1:-->cpu1:placed$`,
	`^RAYOS_AUDIT:pin:guest=linux vcpu=emulator cpu=0 result=ok$`,
	`^RAYOS_AUDIT:pin:guest=linux vcpu=0 cpu=0 result=ok$`,
	`^RAYOS_AUDIT:pin:guest=windows vcpu=emulator cpu=0 result=ok$`,
	`^RAYOS_AUDIT:pin:guest=windows vcpu=0 cpu=1 result=ok$`,
	`^RAYOS_AUDIT:pin:guest=windows vcpu=1 cpu=1 result=ok$`,
	`^RAYOS_BOOT:shutdown:reason=tick-limit tick=25$`,
}

// twoCPUs is the fabric the boot-order test boots on: two CPU threads of
// one core each, like a small VM.
const twoCPUs = `version = 1
[devices.cpu0]
kind = "cpu"
cpu = 0
package = 0
core = 0
numa = 0
[devices.cpu1]
kind = "cpu"
cpu = 1
package = 0
core = 1
numa = 0
`

func TestBootPrintsMarkersInDocumentedOrder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fabric.toml"), []byte(twoCPUs), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "boot", "--data", "data", "--hz", "1000", "--ticks", "25", "--gpu", "cpu", "--fabric", "fabric.toml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	got := lines(r.stdout)
	if len(got) != len(bootOrder) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(bootOrder), r.stdout)
	}
	for i, pattern := range bootOrder {
		if !regexp.MustCompile(pattern).MatchString(got[i]) {
			t.Errorf("line %d = %q, want %s", i+1, got[i], pattern)
		}
		if _, err := marker.Parse(got[i]); err != nil {
			t.Errorf("line %d does not parse: %v", i+1, err)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "data", "logs", "markers.log"))
	if err != nil {
		t.Fatal(err)
	}
	if string(log) != r.stdout {
		t.Errorf("markers.log differs from stdout:\n%s", log)
	}
	// A second boot appends to the same log.
	r2 := rayos(t, dir, "boot", "--data", "data", "--hz", "1000", "--ticks", "25", "--gpu", "cpu")
	log, _ = os.ReadFile(filepath.Join(dir, "data", "logs", "markers.log"))
	if string(log) != r.stdout+r2.stdout || !strings.Contains(r2.stdout, "created=false") {
		t.Errorf("second boot did not append its markers, or re-created the layout")
	}
}

const demoJournal = `{"format":"rayos-journal","version":1,"seed":5,"scene":"demo","hz":500}
{"tick":3,"input":{"kind":"gaze","device":1,"origin":[0,1.6,0],"direction":[0,0,-1]}}
{"tick":4,"input":{"kind":"voice","text":"present linux"}}
{"tick":10,"input":{"kind":"text","text":"type linux hello"}}
{"tick":12,"input":{"kind":"key","key":28,"pressed":true}}
`

func TestSameSeedAndJournalGiveIdenticalMarkersAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(demoJournal), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, seed string) (string, string) {
		r := rayos(t, dir, "boot", "--data", name, "--seed", seed, "--hz", "1000", "--ticks", "150",
			"--journal", "in.jsonl", "--record", name+".rec", "--snapshot", name+".json")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, r.code, r.stderr)
		}
		snap, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return r.stdout, string(snap)
	}
	outA, snapA := run("a", "11")
	outB, snapB := run("b", "11")
	if outA != outB {
		t.Errorf("marker streams differ:\n%s\n---\n%s", outA, outB)
	}
	if snapA != snapB {
		t.Error("snapshots differ for the same seed and journal")
	}
	// "present linux" is allowed and carried out; typing into the now
	// presented guest is allowed and injected.
	if !strings.Contains(snapA, `"presented": true`) || !strings.Contains(outA, "RAYOS_GUEST:linux:presented\n") ||
		!strings.Contains(outA, "RAYOS_AUDIT:type:guest=linux source=5 result=ok") { // 1 and 2: the autostart starts
		t.Errorf("the journal's commands did not reach the world, the gate and the effects:\n%s", outA)
	}
	_, snapC := run("c", "12")
	if snapC == snapA {
		t.Error("a different seed gave the same snapshot")
	}

	// Replaying the recording gives the same world and, from the world
	// marker on, the same markers.
	r := rayos(t, dir, "replay", "a.rec", "--snapshot", "replayed.json")
	if r.code != 0 {
		t.Fatalf("replay: exit %d\n%s", r.code, r.stderr)
	}
	replayed, _ := os.ReadFile(filepath.Join(dir, "replayed.json"))
	if string(replayed) != snapA {
		t.Error("replay's snapshot differs from the recorded run's")
	}
	if fromWorld(r.stdout) != fromWorld(outA) || fromWorld(outA) == "" {
		t.Errorf("replay markers differ:\n%s\n---\n%s", r.stdout, outA)
	}
	if !strings.HasSuffix(lines(r.stdout)[0], " replay") {
		t.Errorf("replay's start marker does not say so: %q", lines(r.stdout)[0])
	}
}

// fromWorld is the world's part of a marker stream: from the world marker
// to the shutdown marker, without the host's boot stages before it and its
// teardown (managed saves) after it.
func fromWorld(stream string) string {
	i := strings.Index(stream, "RAYOS_BOOT:world:")
	if i < 0 {
		return ""
	}
	stream = stream[i:]
	if j := strings.Index(stream, "RAYOS_BOOT:shutdown:"); j >= 0 {
		if k := strings.IndexByte(stream[j:], '\n'); k >= 0 {
			stream = stream[:j+k+1]
		}
	}
	return stream
}

func TestSIGTERMShutsDownCleanlyAndReplaysToTheSameTick(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(rayosBin, "boot", "--data", "data", "--hz", "200", "--record", "run.rec", "--snapshot", "final.json")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var got []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		got = append(got, sc.Text())
		if sc.Text() == "RAYOS_BOOT:ready:tick=0" {
			time.Sleep(300 * time.Millisecond) // let it tick a while
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v (want status 0)", err)
	}
	last := got[len(got)-1]
	m := regexp.MustCompile(`^RAYOS_BOOT:shutdown:reason=signal-SIGTERM tick=(\d+)$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last marker %q, want a signal shutdown", last)
	}
	if m[1] == "0" || m[1] == "1" {
		t.Errorf("stopped at tick %s: the world never ticked", m[1])
	}
	r := rayos(t, dir, "replay", "run.rec", "--snapshot", "replayed.json")
	if r.code != 0 || lines(r.stdout)[len(lines(r.stdout))-1] != last {
		t.Errorf("replay of a signalled run ended with %q (exit %d), want %q", lines(r.stdout)[len(lines(r.stdout))-1], r.code, last)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "final.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "replayed.json"))
	if len(a) == 0 || string(a) != string(b) {
		t.Error("replayed snapshot differs from the signalled run's")
	}
}

func TestBadInputGetsAClearErrorAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "afile"), []byte("not a dir"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "corrupt.jsonl"), []byte(demoJournal+"{\"tick\":20,\"input\":{\"kind\":\"gaze\"}}\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "unreadable.jsonl"), []byte(demoJournal), 0o000))
	must(os.Mkdir(filepath.Join(dir, "journal-is-a-dir.jsonl"), 0o755))
	cases := []struct {
		name string
		args []string
		want []string // substrings of stderr
		code int
	}{
		{"file as data dir", []string{"boot", "--data", "afile", "--ticks", "1"}, []string{"afile", "not a directory"}, 2},
		{"data dir under a file", []string{"boot", "--data", "afile/sub", "--ticks", "1"}, []string{"afile/sub", "not a directory"}, 2},
		{"unwritable data dir", []string{"boot", "--data", "/proc/rayos-data", "--ticks", "1"}, []string{"/proc/rayos-data"}, 1},
		{"unknown flag", []string{"boot", "--data", "new", "--frobnicate"}, []string{"--frobnicate"}, 2},
		{"hz not a number", []string{"boot", "--data", "new", "--hz", "fast"}, []string{"--hz", "fast"}, 2},
		{"hz zero", []string{"boot", "--data", "new", "--hz", "0"}, []string{"--hz", "out of range"}, 2},
		{"hz too high", []string{"boot", "--data", "new", "--hz", "1e9"}, []string{"--hz", "out of range"}, 2},
		{"hz NaN", []string{"boot", "--data", "new", "--hz", "NaN"}, []string{"--hz"}, 2},
		{"unknown scene", []string{"boot", "--data", "new", "--scene", "mars"}, []string{"--scene", "mars", "demo"}, 2},
		{"missing journal", []string{"boot", "--data", "new", "--journal", "nope.jsonl"}, []string{"nope.jsonl", "no such file"}, 2},
		{"corrupt journal line", []string{"boot", "--data", "new", "--journal", "corrupt.jsonl"}, []string{"corrupt.jsonl:6:", "gaze needs origin"}, 2},
		{"journal is a dir", []string{"replay", "journal-is-a-dir.jsonl"}, []string{"journal-is-a-dir.jsonl"}, 2},
		{"replay corrupt", []string{"replay", "corrupt.jsonl"}, []string{"corrupt.jsonl:6:"}, 2},
		{"replay without journal", []string{"replay"}, []string{"replay takes 1 argument"}, 2},
		{"record into missing folder", []string{"boot", "--data", "new", "--record", "no/such/dir/r.jsonl"}, []string{"--record", "no/such/dir"}, 2},
		{"bad log level", []string{"boot", "--data", "new", "--log-level", "loud"}, []string{"--log-level", "loud"}, 2},
		{"unknown entry", []string{"boot", "--data", "new", "--entry", "safe"}, []string{"--entry", "safe", "normal, recovery, previous"}, 2},
		{"unknown gpu backend", []string{"boot", "--data", "new", "--gpu", "cuda"}, []string{"--gpu", "cuda", "auto, vulkan, cpu"}, 2},
		{"frame into missing folder", []string{"boot", "--data", "new", "--frame", "nowhere/f.png"}, []string{"--frame", "nowhere"}, 2},
	}
	if os.Geteuid() != 0 {
		// root reads any file; for others an unreadable journal is a case.
		cases = append(cases, struct {
			name string
			args []string
			want []string
			code int
		}{"unreadable journal", []string{"boot", "--data", "new", "--journal", "unreadable.jsonl"}, []string{"unreadable.jsonl", "permission denied"}, 2})
	}
	before := listDir(t, dir)
	for _, c := range cases {
		r := rayos(t, dir, c.args...)
		if r.code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, r.code, c.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q does not mention %q", c.name, r.stderr, w)
			}
		}
		if r.stdout != "" && c.name != "unwritable data dir" {
			t.Errorf("%s: printed markers before failing: %q", c.name, r.stdout)
		}
	}
	if after := listDir(t, dir); !slices.Equal(before, after) {
		t.Errorf("bad input changed the disk:\nbefore %v\nafter  %v", before, after)
	}
}

func TestHelpTeaches(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"boot", "--help"}, {"replay", "--help"}, {"ctl", "--help"}, {"policy", "--help"}, {"guest", "--help"}, {"bench", "--help"}, {"version", "--help"}} {
		r := rayos(t, t.TempDir(), args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("rayos %v: exit %d, output %q", args, r.code, r.stdout)
		}
	}
	r := rayos(t, t.TempDir(), "boot", "--help")
	for _, want := range []string{"--data", "--hz", "--ticks", "--journal", "--record", "--explain", "Examples:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("boot --help lacks %q", want)
		}
	}
	r = rayos(t, t.TempDir(), "boot", "--explain")
	if r.code != 0 || !strings.Contains(r.stdout, " 1. input") || !strings.Contains(r.stdout, ". policy —") || !strings.Contains(r.stdout, fmt.Sprintf("%2d. gpu-submit", len(rayosboot.Pipeline()))) {
		t.Errorf("--explain: exit %d\n%s", r.code, r.stdout)
	}
	r = rayos(t, t.TempDir(), "bench", "--ticks", "5", "--warmup", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "tick: p50") || !strings.Contains(r.stdout, "gpu-submit") {
		t.Errorf("bench: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := rayos(t, t.TempDir(), "bench", "--scene", "moon"); r.code != 2 || !strings.Contains(r.stderr, "--scene") {
		t.Errorf("bench with a bad scene: exit %d %q", r.code, r.stderr)
	}
	r = rayos(t, t.TempDir(), "version")
	if r.code != 0 || !regexp.MustCompile(`^rayos \S+ \(go1\.\d+`).MatchString(r.stdout) {
		t.Errorf("version: %q", r.stdout)
	}
}

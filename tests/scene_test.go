package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The stress world churns through the whole binary: the workload system is
// in the pipeline, tasks finish and arrive (their entities are recycled),
// and a replay of the recording gives the same world byte for byte.
func TestSceneStressChurnsAndReplays(t *testing.T) {
	dir := t.TempDir()
	r := rayos(t, dir, "boot", "--data", "data", "--scene", "stress", "--ticks", "50", "--gpu", "cpu", "--hz", "1000",
		"--record", "stress.rec", "--snapshot", "stress.json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"RAYOS_BOOT:world:scene=stress seed=1 hz=1000 surfaces=258 guests=2 devices=64 tasks=100000\n",
		",host-ack,workload,vcpu,schedule,",
		"RAYOS_BOOT:shutdown:reason=tick-limit tick=50\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in the markers:\n%s", want, r.stdout)
		}
	}
	snap, err := os.ReadFile(filepath.Join(dir, "stress.json"))
	if err != nil {
		t.Fatal(err)
	}
	var world struct {
		Entities []struct {
			Gen        uint32                     `json:"gen"`
			Components map[string]json.RawMessage `json:"components"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(snap, &world); err != nil {
		t.Fatal(err)
	}
	tasks, recycled, placed := 0, 0, 0
	for _, e := range world.Entities {
		p, ok := e.Components["Placement"]
		if _, vcpu := e.Components["VCPU"]; !ok || vcpu {
			continue // the guests' vCPU tasks are not the scene's
		}
		tasks++
		if e.Gen > 0 {
			recycled++ // an arrival in a finished task's entity
		}
		var pl struct {
			Device uint32 `json:"device"`
		}
		if err := json.Unmarshal(p, &pl); err != nil {
			t.Fatal(err)
		}
		if pl.Device != 0 {
			placed++
		}
	}
	// 0.2 % a tick for 50 ticks: about 10,000 arrivals.
	if tasks != 100_000 || recycled < 5_000 {
		t.Errorf("%d tasks, %d of them arrivals: the world did not churn", tasks, recycled)
	}
	if placed < 90_000 {
		t.Errorf("only %d of %d tasks placed after 50 ticks of a world that holds them all", placed, tasks)
	}

	rr := rayos(t, dir, "replay", "stress.rec", "--snapshot", "replayed.json")
	if rr.code != 0 {
		t.Fatalf("replay: exit %d\n%s", rr.code, rr.stderr)
	}
	replayed, _ := os.ReadFile(filepath.Join(dir, "replayed.json"))
	if !bytes.Equal(replayed, snap) {
		t.Error("the replay of a churning world ends in another world")
	}
	if fromWorld(rr.stdout) != fromWorld(r.stdout) {
		t.Errorf("replay markers differ:\n%s\n---\n%s", rr.stdout, r.stdout)
	}
}

// A million tasks boot end to end. On the CPU backend each of the first
// ticks evaluates every unplaced task against all 1,024 devices (about a
// billion pairs), which takes tens of seconds on a small machine, so this
// run gets more than the usual minute.
func TestSceneDatacenterBoots(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rayosBin, "boot", "--data", "data", "--scene", "datacenter", "--ticks", "3", "--gpu", "cpu", "--hz", "1000")
	cmd.Dir, cmd.Env = dir, withoutRayosData()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if ctx.Err() != nil || !errors.As(err, &exit) {
			t.Fatalf("datacenter boot: %v\n%s", err, errOut.String())
		}
		t.Fatalf("exit %d\n%s", exit.ExitCode(), errOut.String())
	}
	for _, want := range []string{
		"RAYOS_BOOT:world:scene=datacenter seed=1 hz=1000 surfaces=6 guests=2 devices=1024 tasks=1000000\n",
		",host-ack,workload,vcpu,schedule,",
		"RAYOS_BOOT:ready:tick=0\n",
		"RAYOS_BOOT:shutdown:reason=tick-limit tick=3\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the markers:\n%s", want, out.String())
		}
	}
}

// Every scene the help names boots; an unknown one is bad usage that
// lists them all.
func TestSceneNamesAndTheirWorlds(t *testing.T) {
	dir := t.TempDir()
	for scene, world := range map[string]string{
		"demo":     `surfaces=4 guests=2 devices=\d+ tasks=0`, // this machine's CPUs, only real tasks (docs/fabric.md)
		"desktop":  "surfaces=66 guests=2 devices=16 tasks=2000",
		"overload": "surfaces=258 guests=2 devices=64 tasks=100000",
	} {
		r := rayos(t, dir, "boot", "--data", "data", "--scene", scene, "--ticks", "2", "--gpu", "cpu", "--hz", "1000")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", scene, r.code, r.stderr)
		}
		if want := regexp.MustCompile(`(?m)^RAYOS_BOOT:world:scene=` + scene + ` seed=1 hz=1000 ` + world + `$`); !want.MatchString(r.stdout) {
			t.Errorf("%s: no world marker with %s:\n%s", scene, world, r.stdout)
		}
	}
	r := rayos(t, dir, "boot", "--data", "data", "--scene", "nowhere", "--ticks", "1", "--gpu", "cpu")
	if r.code != 2 || !strings.Contains(r.stderr, "known: datacenter, demo, desktop, overload, stress") {
		t.Errorf("an unknown scene: exit %d\n%s", r.code, r.stderr)
	}
	help := rayos(t, dir, "boot", "--help")
	if !strings.Contains(help.stdout, "datacenter, demo, desktop, overload, stress") {
		t.Errorf("boot --help does not name the scenes:\n%s", help.stdout)
	}
}

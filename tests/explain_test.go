package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rayos explain placement answers from a running RayOS and from a
// snapshot with the same report format; a task that does not exist, a
// bad snapshot and bad usage get clear errors.
func TestExplainPlacement(t *testing.T) {
	dir := t.TempDir()
	// A fixed two-CPU fabric, so that every vCPU has room on any machine.
	if err := os.WriteFile(filepath.Join(dir, "fabric.toml"), []byte(twoCPUs), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := rayos(t, dir, "boot", "--data", "snap", "--hz", "1000", "--ticks", "100", "--gpu", "cpu", "--fabric", "fabric.toml", "--snapshot", "world.json"); r.code != 0 {
		t.Fatalf("boot: exit %d\n%s", r.code, r.stderr)
	}
	var snap struct {
		Entities []struct {
			ID         uint32
			Components map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "world.json")), &snap); err != nil {
		t.Fatal(err)
	}
	var task uint32
	for _, e := range snap.Entities {
		if raw, ok := e.Components["TaskName"]; ok && strings.Contains(string(raw), `"linux/vcpu0"`) {
			task = e.ID
			break
		}
	}
	if task == 0 {
		t.Fatal("the snapshot has no task linux/vcpu0")
	}
	id := fmt.Sprint(task)

	// By name and by entity id, the same task.
	for _, which := range []string{"linux/vcpu0", id} {
		r := rayos(t, dir, "explain", "placement", which, "--snapshot", "world.json")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "linux/vcpu0 (entity "+id+":") || !strings.Contains(r.stdout, " devices weighed, ") ||
			!strings.Contains(r.stdout, "last move at tick ") {
			t.Errorf("explain %s from the snapshot: exit %d\n%s%s", which, r.code, r.stdout, r.stderr)
		}
	}
	r := rayos(t, dir, "explain", "placement", id, "--snapshot", "world.json", "-o", "json")
	var rep struct {
		Task      string
		Evaluated int
		Placement struct{ Device uint32 }
		Migration *struct{ Reason int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Task != "linux/vcpu0" || rep.Evaluated == 0 || rep.Placement.Device == 0 || rep.Migration == nil {
		t.Errorf("-o json: %v\n%s", err, r.stdout)
	}

	live := startRayos(t, dir, "--hz", "100", "--fabric", "fabric.toml")
	live.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
	r = rayos(t, dir, "explain", "placement", "linux/vcpu0", "--data", "data")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "linux/vcpu0 (entity ") || !strings.Contains(r.stdout, " devices weighed, ") {
		t.Errorf("explain from the running RayOS: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := rayos(t, dir, "explain", "placement", "no/such-task", "--data", "data"); r.code != 1 || !strings.Contains(r.stderr, `no such compute task "no/such-task"`) {
		t.Errorf("unknown task: exit %d %q", r.code, r.stderr)
	}
	if r := rayos(t, dir, "explain", "placement", "999999", "--data", "data"); r.code != 1 || !strings.Contains(r.stderr, "no such compute task") {
		t.Errorf("unknown id: exit %d %q", r.code, r.stderr)
	}

	os.WriteFile(filepath.Join(dir, "garbage.json"), []byte("{\"entities\": ["), 0o644)
	if r := rayos(t, dir, "explain", "placement", id, "--snapshot", "garbage.json"); r.code != 1 || !strings.Contains(r.stderr, "garbage.json") {
		t.Errorf("garbage snapshot: exit %d %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"explain", "placement"}, {"explain", "placement", "a", "b"}, {"explain", "placement", id, "-o", "yaml"}} {
		if r := rayos(t, dir, args...); r.code != 2 {
			t.Errorf("rayos %v: exit %d, want 2 (usage)", args, r.code)
		}
	}
}

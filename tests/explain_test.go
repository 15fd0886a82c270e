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
	if r := rayos(t, dir, "boot", "--data", "snap", "--hz", "1000", "--ticks", "100", "--gpu", "cpu", "--snapshot", "world.json"); r.code != 0 {
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
		if _, ok := e.Components["ComputeTask"]; ok {
			task = e.ID
			break
		}
	}
	if task == 0 {
		t.Fatal("the snapshot has no compute task")
	}
	id := fmt.Sprint(task)

	r := rayos(t, dir, "explain", "placement", id, "--snapshot", "world.json")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "task "+id+" (entity "+id+":") || !strings.Contains(r.stdout, " devices weighed, ") {
		t.Errorf("explain from the snapshot: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = rayos(t, dir, "explain", "placement", id, "--snapshot", "world.json", "-o", "json")
	var rep struct {
		Task      string
		Evaluated int
		Placement struct{ Device uint32 }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Task != "task "+id || rep.Evaluated == 0 {
		t.Errorf("-o json: %v\n%s", err, r.stdout)
	}

	live := startRayos(t, dir, "--hz", "100")
	live.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
	r = rayos(t, dir, "explain", "placement", id, "--data", "data")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "task "+id+" (entity "+id+":") {
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

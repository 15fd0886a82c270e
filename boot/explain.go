package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// PlacementReport is why a compute task is where it is: `rayos explain
// placement TASK` prints it, from a running RayOS (through the control
// socket) or from a snapshot. The cost terms are the place kernel's
// (docs/scheduling.md), weighed against every device as it is at that
// tick.
type PlacementReport struct {
	// Task is the task's name ("linux/vcpu0"), or "task <id>" for an
	// unnamed (synthetic) one; Entity the task's entity.
	Task   string               `json:"task"`
	Entity components.EntityRef `json:"entity"`
	Tick   uint64               `json:"tick"`
	// ComputeTask and Placement are the task and its last decision (the
	// terms it was placed with).
	ComputeTask components.ComputeTask `json:"compute_task"`
	Placement   components.Placement   `json:"placement"`
	// Migration is its last move, with From the device it came from
	// (nil: never recorded).
	Migration *components.Migration `json:"migration,omitempty"`
	From      string                `json:"from,omitempty"`
	Weights   gpu.Weights           `json:"weights"`
	// Gain is the scheduler's hysteresis: a placed task moves only to a
	// device that costs less than staying × Gain (0 when not known, from
	// a snapshot).
	Gain float32 `json:"gain,omitempty"`
	gpu.Explanation
}

// errNoTask is a task name or id that names no compute task.
var errNoTask = errors.New("no such compute task")

// taskSource is what an explanation reads: the live world or a snapshot.
type taskSource struct {
	tick    uint64
	devices []gpu.DeviceView
	// tasks are the candidates: every compute task's entity, name (""
	// for none), task, placement and migration.
	tasks []taskEntry
}

type taskEntry struct {
	ref       components.EntityRef
	name      string
	task      components.ComputeTask
	placement components.Placement
	migration *components.Migration
}

// report finds the task named by what (a TaskName, an entity id, or
// "ID:GEN") and explains it.
func (s *taskSource) report(what string, weights gpu.Weights) (PlacementReport, error) {
	what = strings.TrimSpace(what)
	var found *taskEntry
	id, idErr := parseRef(what)
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.name == what || idErr == nil && t.ref.ID == id.ID && (id.Gen == 0 || t.ref.Gen == id.Gen) {
			found = t
			break
		}
	}
	if found == nil {
		return PlacementReport{}, fmt.Errorf("%w %q (a task name like linux/vcpu0, or an entity id)", errNoTask, what)
	}
	r := PlacementReport{
		Task: found.name, Entity: found.ref, Tick: s.tick, ComputeTask: found.task, Placement: found.placement,
		Migration: found.migration, Weights: weights,
		Explanation: gpu.Explain(weights, found.task, found.placement, s.devices),
	}
	if r.Task == "" {
		r.Task = fmt.Sprintf("task %d", found.ref.ID)
	}
	if m := found.migration; m != nil {
		r.From = s.deviceName(m.From)
	}
	return r, nil
}

// parseRef reads "ID" or "ID:GEN".
func parseRef(s string) (components.EntityRef, error) {
	idText, genText, hasGen := strings.Cut(s, ":")
	id, err := strconv.ParseUint(idText, 10, 32)
	if err != nil || id == 0 {
		return components.EntityRef{}, fmt.Errorf("not an entity id: %q", s)
	}
	ref := components.EntityRef{ID: uint32(id)}
	if hasGen {
		gen, err := strconv.ParseUint(genText, 10, 32)
		if err != nil {
			return components.EntityRef{}, fmt.Errorf("not an entity generation: %q", s)
		}
		ref.Gen = uint32(gen)
	}
	return ref, nil
}

func (s *taskSource) deviceName(id uint32) string {
	for _, d := range s.devices {
		if d.ID == id {
			return d.Name
		}
	}
	return components.DeviceName(id, nil)
}

// registered reports whether the world knows component type T. A read
// must not register one: registering is a change to the world that a
// replay (which never reads) would not make.
func registered[T any](w *ecs.World) bool {
	want := reflect.TypeFor[T]()
	for _, id := range ecs.ComponentIDs(w) {
		if info, ok := ecs.ComponentInfo(w, id); ok && info.Type == want {
			return true
		}
	}
	return false
}

// optional returns a map of component T when the world knows it, else nil.
func optional[T any](w *ecs.World) *ecs.Map1[T] {
	if !registered[T](w) {
		return nil
	}
	return ecs.NewMap1[T](w)
}

// liveTasks reads the world between two ticks.
func liveTasks(w *world.World) *taskSource {
	s := &taskSource{tick: w.Clock.Tick}
	if !registered[components.Device](w.ECS) || !registered[components.ComputeTask](w.ECS) || !registered[components.Placement](w.ECS) {
		return s
	}
	nodes := optional[components.FabricNode](w.ECS)
	dq := ecs.NewFilter1[components.Device](w.ECS).Query()
	for dq.Next() {
		e := dq.Entity()
		var node *components.FabricNode
		if nodes != nil && nodes.HasAll(e) {
			node = nodes.Get(e)
		}
		s.devices = append(s.devices, gpu.DeviceView{ID: e.ID(), Name: components.DeviceName(e.ID(), node), Device: *dq.Get()})
	}
	names := optional[components.TaskName](w.ECS)
	moves := optional[components.Migration](w.ECS)
	tq := ecs.NewFilter2[components.ComputeTask, components.Placement](w.ECS).Query()
	for tq.Next() {
		e := tq.Entity()
		task, pl := tq.Get()
		t := taskEntry{ref: world.Ref(e), task: *task, placement: *pl}
		if names != nil && names.HasAll(e) {
			t.name = names.Get(e).Text
		}
		if moves != nil && moves.HasAll(e) {
			m := *moves.Get(e)
			t.migration = &m
		}
		s.tasks = append(s.tasks, t)
	}
	return s
}

// isExplain tells an "explain placement TASK" control request.
func isExplain(line string) bool {
	return strings.HasPrefix(strings.TrimSpace(line), "explain")
}

// answerExplain answers an explain request from the world as it stands
// between two ticks: a read by the host, like a screenshot, so it is
// neither journaled nor seen by the world. The ACK's detail is the report
// as JSON (rayos explain placement prints it).
func (rt *runtime) answerExplain(req guests.ControlRequest) {
	line := rt.explainLine(req.Line)
	if rt.control != nil {
		rt.control.Reply(req.ID, line)
	}
}

func (rt *runtime) explainLine(request string) string {
	fields := strings.Fields(request)
	if len(fields) != 3 || fields[1] != "placement" {
		return marker.HostAck("explain", false, "usage: explain placement TASK").String()
	}
	weights := gpu.DefaultMirrorConfig.Weights
	if m := ecs.GetResource[gpu.Mirror](rt.w.ECS); m != nil {
		weights = m.Config().Weights
	}
	r, err := liveTasks(rt.w).report(fields[2], weights)
	if m := ecs.GetResource[gpu.Mirror](rt.w.ECS); m != nil {
		r.Gain = m.PlaceGain
	}
	if err != nil {
		return marker.HostAck("explain", false, err.Error()).String()
	}
	text, err := json.Marshal(r)
	if err != nil {
		return marker.HostAck("explain", false, err.Error()).String()
	}
	return marker.HostAck("explain", true, string(text)).String()
}

// ExplainSnapshot explains a task from a snapshot file (rayos boot
// --snapshot), with the default cost weights: a snapshot does not hold
// the mirror's.
func ExplainSnapshot(path, task string) (PlacementReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return PlacementReport{}, err
	}
	defer f.Close()
	s, err := snapshotTasks(f)
	if err != nil {
		return PlacementReport{}, fmt.Errorf("%s: %w", path, err)
	}
	return s.report(task, gpu.DefaultMirrorConfig.Weights)
}

// snapshotTasks reads the devices and compute tasks of a snapshot.
func snapshotTasks(in io.Reader) (*taskSource, error) {
	var snap struct {
		Clock    world.Clock `json:"clock"`
		Entities []struct {
			ID         uint32                     `json:"id"`
			Gen        uint32                     `json:"gen"`
			Components map[string]json.RawMessage `json:"components"`
		} `json:"entities"`
	}
	if err := json.NewDecoder(in).Decode(&snap); err != nil {
		return nil, fmt.Errorf("not a snapshot: %w", err)
	}
	s := &taskSource{tick: snap.Clock.Tick}
	for _, e := range snap.Entities {
		c := e.Components
		get := func(kind string, into any) (bool, error) {
			raw, ok := c[kind]
			if !ok {
				return false, nil
			}
			if err := json.Unmarshal(raw, into); err != nil {
				return false, fmt.Errorf("entity %d: %s: %w", e.ID, kind, err)
			}
			return true, nil
		}
		var dev components.Device
		if ok, err := get("Device", &dev); err != nil {
			return nil, err
		} else if ok {
			var node components.FabricNode
			has, err := get("FabricNode", &node)
			if err != nil {
				return nil, err
			}
			name := components.DeviceName(e.ID, nil)
			if has {
				name = components.DeviceName(e.ID, &node)
			}
			s.devices = append(s.devices, gpu.DeviceView{ID: e.ID, Name: name, Device: dev})
			continue
		}
		t := taskEntry{ref: components.EntityRef{ID: e.ID, Gen: e.Gen}}
		if ok, err := get("ComputeTask", &t.task); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		if _, err := get("Placement", &t.placement); err != nil {
			return nil, err
		}
		var name components.TaskName
		if _, err := get("TaskName", &name); err != nil {
			return nil, err
		}
		t.name = name.Text
		var m components.Migration
		if ok, err := get("Migration", &m); err != nil {
			return nil, err
		} else if ok {
			t.migration = &m
		}
		s.tasks = append(s.tasks, t)
	}
	return s, nil
}

// WriteText prints the report for a person: where the task is and what
// it costs there, term by term; the runner-up and what it would cost; its
// last move and why.
func (r *PlacementReport) WriteText(out io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (entity %d:%d) at tick %d: demand %.2f, priority %.0f, affinity (%.2f, %.2f, %.2f)\n",
		r.Task, r.Entity.ID, r.Entity.Gen, r.Tick, r.ComputeTask.Demand, r.ComputeTask.Priority,
		r.ComputeTask.Affinity[0], r.ComputeTask.Affinity[1], r.ComputeTask.Affinity[2])
	switch {
	case r.Device == nil:
		b.WriteString("  unplaced")
		if r.Fits == 0 {
			b.WriteString(": no device takes it now")
		}
		b.WriteString("\n")
	case r.Stay != nil:
		fmt.Fprintf(&b, "  on %s: cost %s\n", r.Device.Name, terms(r.Stay))
	default:
		fmt.Fprintf(&b, "  on %s, which would not take it now (it moves at its next decision)\n", r.Device.Name)
	}
	if r.RunnerUp != nil {
		fmt.Fprintf(&b, "  runner-up %s: cost %s\n", r.RunnerUp.Name, terms(r.RunnerUpTerms))
		if r.Stay != nil && r.RunnerUpTerms.Cost < r.Stay.Cost && r.Gain > 0 {
			fmt.Fprintf(&b, "  it stays: a move needs a device under %.2f × the cost of staying (%.3f), so that tasks do not flap\n",
				r.Gain, r.Gain*r.Stay.Cost)
		}
	} else if r.Device != nil {
		b.WriteString("  no other device takes it\n")
	}
	fmt.Fprintf(&b, "  %d devices weighed, %d would take it\n", r.Evaluated, r.Fits)
	if m := r.Migration; m != nil && int(m.Reason) < len(components.MigrationReasonNames) {
		fmt.Fprintf(&b, "  last move at tick %d from %s: %s\n", m.Tick, r.From, components.MigrationReasonNames[m.Reason])
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func terms(p *components.Placement) string {
	return fmt.Sprintf("%.3f = locality %.3f + load %.3f + thermal %.3f + energy %.3f + priority %.3f",
		p.Cost, p.Locality, p.Load, p.Thermal, p.Energy, p.Priority)
}

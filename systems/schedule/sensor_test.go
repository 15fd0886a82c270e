package schedule_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/world"
)

// sensed is two CPUs (slots 0 and 1, named cpu0/cpu1) with three tasks on
// cpu0 — one of them a guest's vCPU — run with the input system, so that
// readings arrive as `thermal` inputs do in RayOS.
type sensed struct {
	w       *world.World
	sched   *world.Scheduler
	cpu     [2]ecs.Entity
	tasks   []ecs.Entity
	devMap  *ecs.Map1[components.Device]
	pls     *ecs.Map1[components.Placement]
	markers bytes.Buffer
}

func newSensed(t *testing.T) *sensed {
	s := &sensed{}
	s.w = world.New(world.Config{Hz: 60, Seed: 5}, nil)
	s.w.Markers.AddSink(&s.markers)
	m := ecs.NewMap2[components.Device, components.FabricNode](s.w.ECS)
	for i := range s.cpu {
		s.cpu[i] = m.NewEntity(&components.Device{Position: components.Vec3{float32(i) * 0.5, 0, 0}, Capacity: 20, Temperature: 40, EnergyCost: 1, Kind: 1, Slot: uint32(i)},
			&components.FabricNode{Name: []string{"cpu0", "cpu1"}[i], CPU: i})
	}
	tm := ecs.NewMap2[components.ComputeTask, components.Placement](s.w.ECS)
	for range 3 {
		s.tasks = append(s.tasks, tm.NewEntity(&components.ComputeTask{Demand: 1, Priority: 1}, &components.Placement{}))
	}
	ecs.NewMap1[components.TaskName](s.w.ECS).Add(s.tasks[0], &components.TaskName{Text: "linux/vcpu0"})
	ecs.NewMap1[components.VCPU](s.w.ECS).Add(s.tasks[0], &components.VCPU{Index: 0})
	s.devMap = ecs.NewMap1[components.Device](s.w.ECS)
	s.pls = ecs.NewMap1[components.Placement](s.w.ECS)
	if _, err := gpu.Install(s.w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.sched, err = world.NewScheduler(s.w, input.New(), schedule.New(), gpusync.NewSubmit()); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		s.sched.Tick(s.w)
	}
	for i, e := range s.tasks {
		if got := s.pls.Get(e).Device; got != s.cpu[0].ID() {
			t.Fatalf("task %d on %d before any reading, want all on the nearest CPU %d", i, got, s.cpu[0].ID())
		}
	}
	return s
}

func (s *sensed) feed(slot uint32, celsius float32) {
	s.w.Inbox.Feed(s.w.Clock, components.Input{Kind: components.InputThermal, Device: slot, Celsius: celsius})
}

func (s *sensed) stats() *components.SchedStats {
	res := ecs.NewResource[components.SchedStats](s.w.ECS)
	return res.Get()
}

func (s *sensed) temp(i int) float32 { return s.devMap.Get(s.cpu[i]).Temperature }

// A `thermal` input that puts a CPU above the threshold makes its tasks —
// the guest's vCPU among them — shed with reason thermal; the reading
// stands instead of the model for SensorFresh, after which the silent
// sensor's device follows the model again (from the last reading) and,
// once cooled, takes work.
func TestThermalInputShedsAndStandsForSensorFresh(t *testing.T) {
	s := newSensed(t)
	s.feed(0, 91)
	s.sched.Tick(s.w)
	if got := s.temp(0); got != 91 {
		t.Fatalf("cpu0 at %v °C after a reading of 91", got)
	}
	for i, e := range s.tasks {
		if got := s.pls.Get(e).Device; got != s.cpu[1].ID() {
			t.Errorf("task %d on %d after cpu0 read 91 °C, want shed to cpu1 (%d)", i, got, s.cpu[1].ID())
		}
	}
	if !strings.Contains(s.markers.String(), "RAYOS_SCHED:linux/vcpu0:cpu0->cpu1:thermal\n") {
		t.Errorf("no thermal marker for the vCPU; markers:\n%s", s.markers.String())
	}
	if m := ecs.NewMap1[components.Migration](s.w.ECS).Get(s.tasks[0]); m.Reason != components.ReasonThermal {
		t.Errorf("vCPU migration %+v, want reason thermal", *m)
	}
	stats := s.stats()
	if stats.Total[components.ReasonThermal] != 3 || stats.Hot != 1 {
		t.Errorf("stats %+v, want 3 thermal moves and 1 hot device", *stats)
	}
	// The reading stands: an unloaded device's model would cool it.
	fresh := int(schedule.SensorFresh / s.w.Clock.Dt)
	for range fresh - 2 {
		s.sched.Tick(s.w)
	}
	if got := s.temp(0); got != 91 {
		t.Fatalf("cpu0 at %v °C %d ticks after its reading, want the reading (91) to stand for SensorFresh", got, fresh-1)
	}
	if got := s.devMap.Get(s.cpu[0]).Load; got != 0 {
		t.Errorf("hot cpu0 took work back: load %v", got)
	}
	// Silent past SensorFresh: the model takes over from 91 towards
	// ambient, and once below threshold − hysteresis cpu0 is usable again.
	for range 3 {
		s.sched.Tick(s.w)
	}
	if got := s.temp(0); got >= 91 || got < 85 {
		t.Errorf("cpu0 at %v °C just after SensorFresh, want the model relaxing from 91", got)
	}
	for range 60 * 20 {
		s.sched.Tick(s.w)
	}
	if got := s.temp(0); got >= schedule.ThermalThresholdC-schedule.ThermalHysteresisC {
		t.Errorf("cpu0 at %v °C 20 s after its sensor went silent, want it cooled by the model", got)
	}
	if got := s.stats().Hot; got != 0 {
		t.Errorf("%d devices still hot after cooling", got)
	}
}

// A recent reading is used instead of the model: the model would move
// both CPUs towards 30 °C + 50 °C × load fraction (37.5 and 30 °C here);
// their sensors' 45 and 33 °C stand instead, and a second reading
// replaces the first.
func TestThermalInputOverridesTheModel(t *testing.T) {
	s := newSensed(t)
	s.feed(0, 45)
	s.feed(1, 33)
	for range 60 * 20 { // 2 τ: the model alone would be within 1 °C of its target
		s.sched.Tick(s.w)
	}
	if got, other := s.temp(0), s.temp(1); got != 45 || other != 33 {
		t.Fatalf("cpus at %v and %v °C, want their readings 45 and 33", got, other)
	}
	s.feed(0, 52.5)
	s.sched.Tick(s.w)
	if got := s.temp(0); got != 52.5 {
		t.Errorf("cpu0 at %v °C after a second reading of 52.5", got)
	}
	if got := s.devMap.Get(s.cpu[0]).Load; got != 3 {
		t.Errorf("cpu0 load %v with a cool sensor, want its three tasks kept", got)
	}
}

// Careless or hostile readings change nothing: NaN, out of range, a slot
// no device has.
func TestBadThermalInputsChangeNothing(t *testing.T) {
	s := newSensed(t)
	before := [2]float32{s.temp(0), s.temp(1)}
	s.feed(0, float32(math.NaN()))
	s.feed(0, 500)
	s.feed(1, -273)
	s.feed(7, 95)
	s.sched.Tick(s.w)
	for i := range 2 {
		if got := s.temp(i); math.IsNaN(float64(got)) || math.Abs(float64(got-before[i])) > 1 {
			t.Errorf("cpu%d at %v °C after bad readings, was %v (only the model's step)", i, got, before[i])
		}
	}
	for i, e := range s.tasks {
		if got := s.pls.Get(e).Device; got != s.cpu[0].ID() {
			t.Errorf("task %d moved to %d by a bad reading", i, got)
		}
	}
	if got := s.stats().Hot; got != 0 {
		t.Errorf("%d hot devices after bad readings", got)
	}
}

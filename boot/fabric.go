package boot

import (
	"fmt"
	"os"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/fabric"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

// Fabric modes of Options.Fabric (any other value is a fabric file).
const (
	FabricAuto  = "auto"
	FabricScene = "scene"
)

// DefaultSysRoot is where the host's /sys is mounted.
const DefaultSysRoot = "/sys"

// fabricScenes are the scenes whose devices come from the host: the bench
// scenes keep their synthetic devices whatever --fabric says.
var fabricScenes = map[string]bool{"demo": true}

// fabricState is what the boot made of --fabric: the fabric whose devices
// the world holds (nil when the scene's were kept), its journal text, and
// the sensors the thermal sampler reads.
type fabricState struct {
	fab     *fabric.Fabric
	text    string
	thermal *fabric.Thermal
	marker  string
}

// buildFabric replaces the scene's synthetic devices with the fabric: the
// journal's on a replay, else --fabric's (the host's /sys for auto, a
// file). Each Device gets its FabricNode and slot.
func (rt *runtime) buildFabric(w *world.World, sum *scene.Summary) error {
	o := rt.o
	st := &rt.fabric
	var f fabric.Fabric
	switch {
	case o.Replay && o.Journal.Header.Fabric != "":
		var err error
		if f, err = fabric.Load("journal fabric", o.Journal.Header.Fabric); err != nil {
			return err
		}
	case o.Replay, o.Fabric == FabricScene, !fabricScenes[o.Scene]:
		st.marker = sceneMarker(w)
		return nil
	case o.Fabric == FabricAuto || o.Fabric == "":
		root := o.SysRoot
		if root == "" {
			root = DefaultSysRoot
		}
		var warns []fabric.Warning
		f, warns = fabric.Discover(root)
		for _, wn := range warns {
			rt.log.Warn("fabric discovery", "path", wn.Path, "problem", wn.Msg)
		}
		if info := rt.backend.Info(); info.Backend == "vulkan" && (info.Type == "discrete" || info.Type == "integrated") {
			// The PCIe root's NUMA node is not known here: node 0.
			f.AddGPUs([]fabric.GPU{{Name: info.Device, Kind: fabric.KindGPU}})
		}
		th, warns := fabric.Sensors(root, &f)
		for _, wn := range warns {
			rt.log.Warn("thermal sensor", "path", wn.Path, "problem", wn.Msg)
		}
		st.thermal = th
	default:
		var err error
		if f, err = fabric.LoadFile(o.Fabric); err != nil {
			return fmt.Errorf("--fabric: %w", err)
		}
	}
	if rt.policy != nil {
		f.SetEnergy(energyTable(rt.policy.File.Energy.CPU, rt.policy.File.Energy.GPU, rt.policy.File.Energy.NPU))
	}
	// Out with the scene's synthetic devices, in with the fabric's.
	var gone []ecs.Entity
	q := ecs.NewFilter1[components.Device](w.ECS).Query()
	for q.Next() {
		gone = append(gone, q.Entity())
	}
	for _, e := range gone {
		w.ECS.RemoveEntity(e)
	}
	m := ecs.NewMap2[components.Device, components.FabricNode](w.ECS)
	for _, d := range f.Devices {
		p := d.Position
		m.NewEntity(&components.Device{
			Position: components.Vec3{p[0], p[1], p[2]}, Capacity: d.Capacity,
			Temperature: fabric.IdleCelsius, EnergyCost: d.EnergyCost, Kind: uint32(d.Kind), Slot: d.Slot,
		}, &components.FabricNode{Name: d.Name, CPU: d.CPU, Package: d.Package, Core: d.Core, NUMA: d.NUMA, Sensor: d.Sensor})
	}
	sum.Devices = len(f.Devices)
	st.fab, st.text, st.marker = &f, f.Marshal(), f.Marker()
	dropSyntheticTasks(w)
	sum.Tasks = 0
	return nil
}

// dropSyntheticTasks removes the scene's synthetic compute tasks: on this
// machine's fabric the tasks are real — the guests' vCPUs and emulator
// threads (systems/vcpu) —, and the demo scene's tasks, sized for its own
// 4 devices, would ask for dozens of times what a small machine has and
// leave no room for them. Synthetic tasks stay in the bench scenes, which
// keep their synthetic fabrics.
func dropSyntheticTasks(w *world.World) {
	var gone []ecs.Entity
	q := ecs.NewFilter1[components.ComputeTask](w.ECS).Without(ecs.C[components.VCPU]()).Query()
	for q.Next() {
		gone = append(gone, q.Entity())
	}
	for _, e := range gone {
		w.ECS.RemoveEntity(e)
	}
}

// energyTable is DefaultEnergy with the policy's [energy] overrides.
func energyTable(cpu, gpu, npu *float64) fabric.Energy {
	e := fabric.DefaultEnergy
	for k, v := range map[fabric.Kind]*float64{fabric.KindCPU: cpu, fabric.KindGPU: gpu, fabric.KindNPU: npu} {
		if v != nil {
			e[k] = float32(*v)
		}
	}
	return e
}

// sceneMarker describes kept synthetic devices in the fabric marker's
// words.
func sceneMarker(w *world.World) string {
	var cpus, gpus int
	q := ecs.NewFilter1[components.Device](w.ECS).Query()
	for q.Next() {
		switch q.Get().Kind {
		case uint32(fabric.KindCPU):
			cpus++
		case uint32(fabric.KindGPU):
			gpus++
		}
	}
	return fmt.Sprintf("source=scene cpus=%d packages=0 numa=0 gpus=%d thermal=model", cpus, gpus)
}

// announceFabric emits RAYOS_BOOT:fabric (right after the world marker).
func (rt *runtime) announceFabric() {
	rt.bus.Emit(marker.Boot("fabric", rt.fabric.marker))
}

// startThermal starts the sampler: every --thermal-sample it reads the
// sensors off the tick and sends the readings that changed, which the
// tick loop feeds as thermal inputs. Nil (never delivers) without sensors,
// on a replay (the journal has the readings) or with sampling off.
// ThermalResend is how often an unchanged sensor reading is fed again: a
// third of the time the scheduler trusts one (schedule.SensorFresh, 30 s).
const ThermalResend = 10 * time.Second

func (rt *runtime) startThermal() <-chan []fabric.Reading {
	st := &rt.fabric
	if rt.o.Replay || st.fab == nil || st.thermal == nil || !st.thermal.Sensing() || rt.o.ThermalSample <= 0 {
		return nil
	}
	out := make(chan []fabric.Reading, 1)
	done := make(chan struct{})
	rt.closers = append(rt.closers, func() { close(done) })
	fab, th, every, log := *st.fab, st.thermal, rt.o.ThermalSample, rt.log
	go func() {
		last := map[int]float32{}
		sent := map[int]time.Time{}
		warned := map[string]bool{}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			rs, warns := th.Read(&fab)
			for _, wn := range warns {
				if !warned[wn.Path] { // once per sensor, not once a second
					warned[wn.Path] = true
					log.Warn("thermal sensor", "path", wn.Path, "problem", wn.Msg)
				}
			}
			// A reading goes in when it changed, and again every
			// ThermalResend while it holds steady: the scheduler trusts a
			// reading for a while only (schedule.SensorFresh) and then
			// falls back to its model, which a steady sensor must not
			// make it do.
			var changed []fabric.Reading
			now := time.Now()
			for _, r := range rs {
				if c, ok := last[r.Device]; !ok || c != r.Celsius || now.Sub(sent[r.Device]) >= ThermalResend {
					last[r.Device], sent[r.Device] = r.Celsius, now
					changed = append(changed, r)
				}
			}
			if len(changed) > 0 {
				select {
				case out <- changed:
				case <-done:
					return
				}
			}
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	return out
}

// feedThermal feeds sampled readings as thermal inputs.
func feedThermal(w *world.World, rs []fabric.Reading) {
	for _, r := range rs {
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputThermal, Device: r.Slot, Celsius: r.Celsius})
	}
}

// validateFabric checks --fabric and --thermal-sample before anything is
// created: a file must load.
func (o *Options) validateFabric() error {
	if o.ThermalSample < 0 {
		return fmt.Errorf("--thermal-sample %v: want 0 (off) or a positive interval", o.ThermalSample)
	}
	switch o.Fabric {
	case "", FabricAuto, FabricScene:
		return nil
	}
	if _, err := os.Stat(o.Fabric); err != nil {
		return fmt.Errorf("--fabric %q: want auto, scene or a fabric file: %w", o.Fabric, err)
	}
	if _, err := fabric.LoadFile(o.Fabric); err != nil {
		return fmt.Errorf("--fabric: %w", err)
	}
	return nil
}

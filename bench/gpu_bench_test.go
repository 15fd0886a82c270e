package bench

import (
	"fmt"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/compose"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/scene"
)

// backendsFor opens the CPU backend and Vulkan (lavapipe on a machine
// without a GPU, the GPU where there is one).
func backendsFor(b *testing.B) []gpu.Backend {
	vk, err := gpu.NewVulkan()
	if err != nil {
		b.Fatalf("Vulkan: %v (run `make deps`)", err)
	}
	b.Cleanup(func() { vk.Close() })
	return []gpu.Backend{gpu.NewCPU(), vk}
}

func sceneWorld(b *testing.B, name string) *world.World {
	w := world.New(world.Config{Seed: 1, Hz: 60, Scene: name}, nil)
	if _, err := scene.Build(name, w); err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkMirrorSync measures what a tick's sync uploads (and costs):
// with nothing changed (goal 0 bytes) and with 1% of the tasks changed.
func BenchmarkMirrorSync(b *testing.B) {
	for _, name := range []string{"desktop", "stress"} {
		for _, changed := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/changed=%d%%", name, changed), func(b *testing.B) {
				w := sceneWorld(b, name)
				m, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig)
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Submit(); err != nil { // the initial full upload
					b.Fatal(err)
				}
				var tasks []ecs.Entity
				q := ecs.NewFilter1[components.ComputeTask](w.ECS).Query()
				for q.Next() {
					tasks = append(tasks, q.Entity())
				}
				data := ecs.NewMap1[components.ComputeTask](w.ECS)
				step := 100
				var bytes int
				i := 0
				for b.Loop() {
					if changed > 0 {
						for j := i % step; j < len(tasks); j += step {
							data.Get(tasks[j]).Priority++
							m.Tasks.Mark(tasks[j])
						}
						i++
					}
					if _, err := m.Sync(); err != nil {
						b.Fatal(err)
					}
					bytes += m.Stats().ColumnBytes
				}
				b.ReportMetric(float64(bytes)/float64(b.N), "bytes/tick")
			})
		}
	}
}

// BenchmarkUpload compares the mirror's upload path (gather marked slots
// from the ECS, write them into the mapped buffer) with a plain copy of
// the same bytes, in MB/s.
func BenchmarkUpload(b *testing.B) {
	const n = 100_000
	for _, backend := range backendsFor(b) {
		b.Run(fmt.Sprintf("mirror-%s/n=%d", backend.Info().Backend, n), func(b *testing.B) {
			w := world.New(world.Config{Seed: 1, Hz: 60}, nil)
			tasks := ecs.NewMap1[components.ComputeTask](w.ECS)
			tasks.NewBatchFn(n, func(_ ecs.Entity, t *components.ComputeTask) { t.Demand = 1 })
			col, err := gpu.NewColumn[components.ComputeTask](w.ECS, backend, n)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n * 32)
			for b.Loop() {
				col.MarkAll()
				if _, err := col.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run(fmt.Sprintf("copy/n=%d", n), func(b *testing.B) {
		// Both sides written first: untouched pages all map the kernel's one
		// zero page, which would make the baseline read from cache.
		src := make([]components.ComputeTask, n)
		for i := range src {
			src[i].Demand = 1
		}
		dst := make([]byte, n*32)
		copy(dst, gpu.Bytes(src))
		b.SetBytes(n * 32)
		for b.Loop() {
			copy(dst, gpu.Bytes(src))
		}
	})
}

// The kernels on each backend at desktop and stress sizes, fed through the
// mirror exactly as a tick feeds them (one submit + wait per op, and for
// compose the frame read back, as a consumer of it must). On the CPU
// backend each kernel is its Go twin run on every core by the backend's
// pool, the baseline; cpu-serial is the same backend on one thread (the
// twins as they are written), so the report's "× cpu" column of
// cpu-serial is the pool's speedup on the machine that ran it.
//
// What each op is: hit tests every ray (the benchmark marks the rays
// changed, as a world where every gaze moved); place decides every task,
// all unplaced (decisions are not applied: a world's first placement, the
// worst case; the stress world's 64 devices are pruned with clusters);
// compose draws and reads back the whole frame. Only the kernel asked for
// runs: the others have nothing to do in a world where nothing changed.
func BenchmarkKernelHit(b *testing.B)     { benchKernel(b, "hit") }
func BenchmarkKernelPlace(b *testing.B)   { benchKernel(b, "place") }
func BenchmarkKernelCompose(b *testing.B) { benchKernel(b, "compose") }

func benchKernel(b *testing.B, kernel string) {
	backends := backendsFor(b)
	serial := gpu.NewCPUWorkers(1)
	b.Cleanup(func() { serial.Close() })
	for i, backend := range append(backends, serial) {
		variant := backend.Info().Backend
		if i == len(backends) {
			variant = "cpu-serial"
		}
		for _, name := range []string{"desktop", "stress"} {
			b.Run(fmt.Sprintf("%s/scene=%s", variant, name), func(b *testing.B) {
				w := sceneWorld(b, name)
				m, err := gpu.Install(w.ECS, backend, gpu.DefaultMirrorConfig)
				if err != nil {
					b.Fatal(err)
				}
				texels := make([]uint32, 64*36)
				for i := range texels {
					texels[i] = gpu.RGBA(uint8(i), 100, 200, uint8(128+i%128))
				}
				q := ecs.NewFilter1[components.Surface](w.ECS).Query()
				for q.Next() {
					if err := m.SetTexture(q.Entity(), 64, 36, texels); err != nil {
						b.Fatal(err)
					}
				}
				frame := make([]uint32, m.Config().FrameWidth*m.Config().FrameHeight)
				rays := ecs.NewFilter1[components.AttentionRay](w.ECS)
				run := func() {
					if kernel == "hit" {
						q := rays.Query()
						for q.Next() {
							m.Rays.Mark(q.Entity())
						}
					}
					m.PlaceRequested = kernel == "place"
					m.ComposeRequested = kernel == "compose"
					if err := m.Submit(); err != nil {
						b.Fatal(err)
					}
					if err := m.Collect(); err != nil {
						b.Fatal(err)
					}
					if kernel == "compose" {
						if err := m.ReadFrame(frame); err != nil {
							b.Fatal(err)
						}
					}
				}
				run() // uploads everything once, runs every kernel
				for b.Loop() {
					run()
				}
			})
		}
	}
}

// BenchmarkSubmit is the fixed cost of one tick's GPU round trip with no
// work in it: write the parameters, submit the recorded program, wait.
func BenchmarkSubmit(b *testing.B) {
	for _, backend := range backendsFor(b) {
		b.Run(fmt.Sprintf("%s/scene=empty", backend.Info().Backend), func(b *testing.B) {
			w := world.New(world.Config{Seed: 1, Hz: 60}, nil)
			m, err := gpu.Install(w.ECS, backend, gpu.DefaultMirrorConfig)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Submit(); err != nil { // the first submit composes the empty frame
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Submit(); err != nil {
					b.Fatal(err)
				}
				if err := m.Collect(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCompositor composes the desktop world — 64 windows, decorated
// with their title bars by the compose system — into 1920×1080, on each
// backend, four ways in the same run:
//   - full: every tile recomposed (the frame's first composition);
//   - one-surface: one window moved by a pixel (and back next op), only
//     its old and new rectangles recomposed — the common case;
//   - brute-force: every tile recomposed, each pixel looking at every
//     surface (no bins: what the kernel did before tiles);
//   - one-surface-tap: one-surface with the frame tap on, as while the
//     viewer watches: the recomposed tiles are read back.
//
// composed-px/op is the pixels recomposed, read-B/op what was read back.
func BenchmarkCompositor(b *testing.B) {
	for _, backend := range backendsFor(b) {
		for _, variant := range []string{"full", "one-surface", "brute-force", "one-surface-tap"} {
			b.Run(fmt.Sprintf("%s/backend=%s", variant, backend.Info().Backend), func(b *testing.B) {
				w := sceneWorld(b, "desktop")
				m, err := gpu.Install(w.ECS, backend, gpu.DefaultMirrorConfig)
				if err != nil {
					b.Fatal(err)
				}
				sched, err := world.NewScheduler(w, compose.New(), gpusync.NewSubmit())
				if err != nil {
					b.Fatal(err)
				}
				sched.Tick(w) // textures, decorations, titles, the first composition
				sched.Tick(w)
				m.BinEverything = variant == "brute-force"
				m.SetFrameTap(variant == "one-surface-tap")
				surfaces := ecs.NewMap1[components.Surface](w.ECS)
				q := ecs.NewFilter1[components.Surface](w.ECS).Query()
				q.Next()
				moved := q.Entity()
				q.Close()
				run := func(i int) {
					switch variant {
					case "full", "brute-force":
						m.ComposeRequested = true
					default:
						surfaces.Get(moved).Rect.X += int32(1 - 2*(i%2))
						m.Surfaces.Mark(moved)
					}
					if err := m.Submit(); err != nil {
						b.Fatal(err)
					}
					if err := m.Collect(); err != nil {
						b.Fatal(err)
					}
				}
				run(0)
				run(1)
				var pixels, read int
				i := 0
				for b.Loop() {
					run(i)
					i++
					pixels += m.Stats().ComposedPixels
					if u, ok := m.FrameUpdate(); ok {
						read += len(u.Pixels) * 4
					}
				}
				b.ReportMetric(float64(pixels)/float64(i), "composed-px/op")
				b.ReportMetric(float64(read)/float64(i), "read-B/op")
			})
		}
	}
}

package gpu_test

import (
	"runtime"
	"sync"
	"testing"

	"github.com/rayos/engine/gpu"
)

// The Vulkan backend survives garbage collections during its driver
// calls. vulkan-go frees the C copies of array arguments from a finalizer
// that a collection may run while the driver still reads them; with a
// collector running flat out beside it, opening the backend (a compute
// pipeline per kernel, each compiled by lavapipe for milliseconds) used to
// die with SIGSEGV in vkCreateComputePipelines within a few opens. The
// calls now go through gpu's own C layer (vkcall.go); every open, kernel
// run (descriptor writes, barriers, a submit) and copy must give the
// CPU backend's results.
func TestVulkanSurvivesCollectionsDuringDriverCalls(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	const width, height = 64, 16
	c := fullCompose(width, height, gpu.RGBA(9, 8, 7, 255))
	for open := range 6 {
		vk, err := gpu.NewVulkan()
		if err != nil {
			t.Fatalf("open %d: %v (run `make deps`)", open, err)
		}
		for range 3 {
			got := make([]uint32, width*height)
			run(t, vk, "compose", gpu.GroupsFor(width*height), c.inputs(), gpu.Bytes(got), make([]byte, 16))
			for i, px := range got {
				if px != c.p.Background {
					t.Fatalf("open %d: pixel %d = %08x, want the background %08x", open, i, px, c.p.Background)
				}
			}
		}
		if err := vk.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

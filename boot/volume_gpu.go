package boot

import (
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/volume"
)

// exactScanner gives the Volume the GPU's search kernel for its exact
// scans when this machine has a real GPU: a Vulkan device of its own (the
// world's backend belongs to the tick's goroutine; retrieval runs on
// another), holding the Volume's vectors device-resident. Elsewhere it is
// nil: on the CPU backend or lavapipe the kernel is slower than the
// Volume's own scan (bench/RESULTS.md, "Volume exact search on the
// backends").
func (rt *runtime) exactScanner() volume.ExactScanner {
	info := rt.backend.Info()
	if info.Backend != "vulkan" || (info.Type != "discrete" && info.Type != "integrated") {
		return nil
	}
	b, err := gpu.NewVulkan()
	if err != nil {
		rt.log.Warn("Volume: no GPU for exact search, scanning on the cores", "err", err)
		return nil
	}
	s, err := gpu.NewSearcher(b, volume.DefaultDim)
	if err != nil {
		b.Close()
		rt.log.Warn("Volume: no GPU for exact search, scanning on the cores", "err", err)
		return nil
	}
	rt.closers = append(rt.closers, func() { s.Close(); b.Close() })
	rt.log.Info("Volume: exact search on the GPU", "device", info.Device)
	return volume.GPU(s)
}

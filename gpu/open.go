package gpu

import (
	"fmt"
	"log/slog"
)

// Modes of --gpu.
const (
	ModeAuto   = "auto"
	ModeVulkan = "vulkan"
	ModeCPU    = "cpu"
)

// Modes lists the accepted --gpu values.
var Modes = []string{ModeAuto, ModeVulkan, ModeCPU}

// Open returns the backend for mode and a one-line reason for the choice.
//
//   - cpu: the Go twins.
//   - vulkan: the best Vulkan device, whatever its type (lavapipe too).
//     When none can be opened, Open fails and says why: whoever names
//     Vulkan wants its figures or its parity, and quietly running the Go
//     twins instead would report CPU numbers as GPU ones (bench/gpu.sh
//     benchmarked the CPU twice that way on a machine whose loader was
//     broken).
//   - auto: a discrete, integrated or virtual GPU through Vulkan; a CPU
//     Vulkan device (lavapipe) is passed over, because on small machines
//     it is slower than the Go twins. No usable Vulkan at all is never
//     fatal here: Open logs why and returns the CPU backend, so a machine
//     without a GPU still boots.
func Open(mode string, log *slog.Logger) (Backend, string, error) {
	switch mode {
	case ModeCPU:
		return NewCPU(), "asked for", nil
	case ModeAuto, ModeVulkan:
	default:
		return nil, "", fmt.Errorf("unknown gpu mode %q (want auto, vulkan or cpu)", mode)
	}
	b, err := NewVulkan()
	if err != nil {
		if mode == ModeVulkan {
			return nil, "", fmt.Errorf("--gpu vulkan: no usable Vulkan device: %w (--gpu auto falls back to the CPU backend; --gpu cpu asks for it)", err)
		}
		log.Warn("Vulkan unavailable; using the CPU backend", "mode", mode, "err", err)
		return NewCPU(), "vulkan unavailable", nil
	}
	info := b.Info()
	if mode == ModeAuto && info.Type == "cpu" {
		b.Close()
		return NewCPU(), fmt.Sprintf("only a CPU Vulkan device (%s)", info.Device), nil
	}
	return b, "asked for", nil
}

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
//   - auto: a discrete, integrated or virtual GPU through Vulkan; a CPU
//     Vulkan device (lavapipe) is passed over, because on small machines
//     it is slower than the Go twins.
//
// When Vulkan is asked for but unusable, Open never fails: it logs why and
// returns the CPU backend, so a machine without a GPU still boots.
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

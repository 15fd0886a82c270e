package gpu

import "github.com/rayos/engine/components"

// DeviceView is one device as an explanation weighs it: its entity id,
// its name, and its state now.
type DeviceView struct {
	ID     uint32            `json:"id"`
	Name   string            `json:"name"`
	Device components.Device `json:"device"`
}

// Explanation is why a task is where it is, weighed against every device
// as they are now, with the cost terms the place kernel uses: what
// staying costs, the best other device that would take it (the runner-
// up), and how many devices were weighed and would take it.
type Explanation struct {
	// Device is where the task is (nil: unplaced), Stay the terms of
	// staying there now.
	Device *DeviceView           `json:"device,omitempty"`
	Stay   *components.Placement `json:"stay,omitempty"`
	// RunnerUp is the cheapest other device that takes the task, with its
	// terms (nil: no other device does).
	RunnerUp      *DeviceView           `json:"runner_up,omitempty"`
	RunnerUpTerms *components.Placement `json:"runner_up_terms,omitempty"`
	Evaluated     int                   `json:"evaluated"`
	Fits          int                   `json:"fits"`
}

// Explain weighs task, placed as pl, against devices with weights w: a
// device's load counts without the task's own demand when the task is on
// it, as the place kernel evaluates.
func Explain(w Weights, task components.ComputeTask, pl components.Placement, devices []DeviceView) Explanation {
	var ex Explanation
	for i := range devices {
		d := &devices[i]
		load := d.Device.Load
		own := pl.Device != 0 && d.ID == pl.Device
		if own {
			load -= task.Demand
			ex.Device = d
		}
		ex.Evaluated++
		terms, fits := PlacementTerms(w, &task, &d.Device, load)
		if !fits {
			continue
		}
		ex.Fits++
		terms.Device = d.ID
		if own {
			ex.Stay = &terms
			continue
		}
		if ex.RunnerUpTerms == nil || terms.Cost < ex.RunnerUpTerms.Cost {
			ex.RunnerUp, ex.RunnerUpTerms = d, &terms
		}
	}
	return ex
}

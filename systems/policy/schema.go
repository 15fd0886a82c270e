package policy

// File is rayos-policy.toml as written. Every key is optional except
// version; what a file leaves out is denied.
type File struct {
	// Version of the schema; this build reads version 1.
	Version int `toml:"version"`
	// Intent holds settings of intent resolution.
	Intent IntentSettings `toml:"intent"`
	// Guests maps a registry VM id to what that guest may do.
	Guests map[string]GuestRules `toml:"guests"`
	// Energy overrides the scheduler's per-kind energy cost (the fabric's
	// DefaultEnergy); a kind left out keeps its default.
	Energy EnergySettings `toml:"energy"`
	// Volume says whether boot stages the Volume (volume.go).
	Volume VolumeSettings `toml:"volume"`
}

// EnergySettings are the relative energy costs of one unit of demand-time
// per device kind, each in [0, MaxEnergy]; nil means "the default".
type EnergySettings struct {
	CPU *float64 `toml:"cpu"`
	GPU *float64 `toml:"gpu"`
	NPU *float64 `toml:"npu"`
}

// IntentSettings govern when an allowed intent still needs the user.
type IntentSettings struct {
	// MinConfidence: an intent resolved with less confidence needs
	// explicit confirmation. In [0, 1]; default 0.9.
	MinConfidence *float64 `toml:"min_confidence"`
	// ConfirmTimeoutSeconds: a confirmation not given in time cancels the
	// intent. In [1, 3600]; default 30.
	ConfirmTimeoutSeconds *int `toml:"confirm_timeout_s"`
}

// GuestRules are the permissions of one guest. Absent booleans are false.
type GuestRules struct {
	Start    bool `toml:"start"`
	Resume   bool `toml:"resume"`
	Present  bool `toml:"present"`
	Shutdown bool `toml:"shutdown"`
	// Network allows the guest a network interface (default false).
	Network bool `toml:"network"`
	// CPUs is either a count capping the VM's vCPUs (cpus = 2) or the
	// host CPUs its vCPUs may run on (cpus = "0-1,3"); see CPUSpec.
	CPUs CPUSpec `toml:"cpus"`
	// MaxVCPUs refuses to start the guest when the registry asks for more
	// vCPUs (0: not set).
	MaxVCPUs int `toml:"max_vcpus"`
	// MemoryMiB caps the VM; 0 means "not set" (the registry's value is
	// used, up to the compiled-in maximum).
	MemoryMiB int `toml:"memory_mib"`
	// Devices lists the virtio devices that may be exposed: input, gpu, net.
	Devices []string `toml:"devices"`
	// Inputs lists the input injections allowed while presented: type,
	// press, mouse, click.
	Inputs []string `toml:"inputs"`
	// Confirm lists actions that always need explicit confirmation.
	Confirm []string `toml:"confirm"`
}

// Limits of the schema, checked by the loader.
const (
	SchemaVersion        = 1
	MaxCPUs              = 256
	MinMemoryMiB         = 64
	MaxMemoryMiB         = 1 << 20
	DefaultMinConfidence = 0.9
	DefaultConfirmS      = 30
	MaxConfirmS          = 3600
	// MaxEnergy bounds an [energy] cost: costs are relative (a CPU thread
	// is about 1), so anything far above is a typo.
	MaxEnergy = 1000
)

// Allowed values of the list keys.
var (
	DeviceNames = []string{"input", "gpu", "net"}
	InputNames  = []string{"type", "press", "mouse", "click"}
)

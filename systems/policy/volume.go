package policy

// VolumeSettings is the [volume] table: whether `rayos boot` stages the
// Volume (RAYOS_DATA/volume, the vector store retrieval reads).
type VolumeSettings struct {
	// Enabled: nil means the default, true.
	Enabled *bool `toml:"enabled"`
}

// VolumeEnabled reports whether boot stages the Volume. The restricted
// (deny-all) policy stages nothing: a boot without a valid policy serves
// no knowledge either.
func (p *Policy) VolumeEnabled() bool {
	if p.Restricted {
		return false
	}
	return p.File.Volume.Enabled == nil || *p.File.Volume.Enabled
}

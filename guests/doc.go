// Package guests is RayOS's VM supervisor. So far it holds the VM
// registry (RAYOS_DATA/vm/registry.toml): the canonical mapping from a
// stable VM id to its OS and resources, strictly validated. The libvirt
// driver, lifecycle and host bridge build on it.
package guests

// Package guests is RayOS's VM supervisor and host bridge.
//
// Where to start:
//
//   - [Registry] is RAYOS_DATA/vm/registry.toml: stable VM ids, strictly
//     validated ([LoadRegistry]) and saved crash-safely ([Registry.Save]).
//   - [DomainXML] turns a registry entry and the policy's [Limits] into a
//     libvirt domain (no network interface unless the policy allows one).
//   - [Driver] is what the supervisor needs from a hypervisor; [NewLibvirt]
//     speaks to a real libvirtd through go-libvirt.
//   - [Supervisor] runs allowed work through the driver off the tick,
//     reports results and lifecycle events, reconnects and reconciles when
//     libvirtd goes away, saves guests at shutdown and captures displays.
//   - [ControlServer] is the control socket of the v0 host bridge.
//   - Package daemon starts a private libvirtd for tests.
//
// docs/guests.md describes the whole path of a request.
package guests

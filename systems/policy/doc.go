// Package policy is RayOS's policy engine: the schema of
// RAYOS_DATA/policy/rayos-policy.toml, its strict loader, the compiled form
// that decides an intent in well under a microsecond, and the gate system
// that decides every pending IntentEnvelope each tick.
//
// Where to start:
//
//   - [Load] parses and validates a policy file (errors name file, line and
//     key) and compiles it into a [Policy].
//   - [Policy.Decide] answers allow, deny or confirm for one guest, action,
//     confidence and presented state, with the name of the deciding rule,
//     without allocating.
//   - [Gate] is the tick system; [Current] is the world resource holding the
//     policy in force (and whether it is the restricted deny-all one).
//   - [Default] is the commented policy written on first boot: guests may
//     start hidden, nothing is networked.
//
// The schema is written down in docs/policy.md.
package policy

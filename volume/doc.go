// Package volume is RayOS's Volume: a store of text items (id, text,
// metadata, vector) that answers "which items are most like this?" by
// cosine similarity. Retrieval for intent resolution, the `rayos volume`
// commands and boot staging all sit on top of it.
//
// Where to start:
//
//   - [Open] loads (or creates) the Volume kept in a folder, normally
//     RAYOS_DATA/volume; [Volume.Save] writes it back crash-safely
//     (volume.rvol, with the previous good copy kept as volume.rvol.prev).
//     A damaged file is reported as a [*RecoveryError] while the last good
//     copy is served.
//   - [Volume.Add], [Volume.Remove] change the items; [Volume.Query] and
//     [Volume.QueryVector] search them and return [Hit]s, best first.
//   - [Embedder] turns text into a vector; [HashEmbedder] is the built-in,
//     model-free one (hashed character n-grams and words).
//
// Search is exact (a scan over every item, split across cores) below
// [Options.ExactBelow] items or when asked for; above it an HNSW graph
// written here (Malkov & Yashunin, with the paper's heuristic neighbour
// selection) answers, held to its recall against the exact scan by the
// tests. docs/volume.md describes the file format, the index and its
// parameters, and the measured figures.
package volume

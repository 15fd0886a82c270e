// Package ingest turns files into passages for the Volume: it walks the
// files and folders a user names ([Collect]) and cuts each text file into
// overlapping chunks ([Split]) that keep where they came from — the file
// as the user named it, the byte offset, and a heading (a Markdown heading
// path such as "Intro > Setup", or a source file's declaration).
//
// Where to start:
//
//   - [Collect] walks paths and reports every file it leaves out ([Skip])
//     with the reason: hidden entries, binary or non-UTF-8 files, files over
//     the size limit, special files, symlink loops and files reached twice.
//   - [Split] chunks one file's bytes; [Options] sets the chunk size, the
//     overlap and the size limit. The same bytes always give the same chunks.
//
// The rules (what a chunk is, how much consecutive chunks overlap) are
// written down in docs/volume.md, section "Ingestion".
package ingest

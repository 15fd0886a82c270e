// Package marker is RayOS's automation contract: the stable one-line
// markers that scripts, tests and the viewer follow.
//
// A [Marker] is a [Kind] and its fields. [Marker.String] formats the line,
// [Parse] reads it back, and the two are exact inverses for every possible
// field value: ':' , '%', and control characters inside a field are
// percent-escaped, so a payload can never split a field or a line. The
// grammar is written in docs/markers.md.
//
// A [Bus] is where the world emits markers: it writes each line to its
// sinks (stdout, RAYOS_DATA/logs/markers.log), keeps the most recent lines
// for crash reports, and fans markers out to subscribers such as the viewer
// and the end-to-end tests. Start with [Boot], [Guest] and the other
// constructors, then [Bus.Emit].
package marker

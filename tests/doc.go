// Package tests holds RayOS's end-to-end tests: they build the real rayos
// binary once and drive it as a user or a boot script would, reading its
// markers from stdout and its files from RAYOS_DATA.
package tests

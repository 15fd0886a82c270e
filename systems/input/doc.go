// Package input is the first system of the tick: it drains the world's
// Inbox (inputs fed from the journal, the control socket or a signal) into
// Input entities that live for exactly this tick, and turns a signal input
// into a stop request.
package input

package effects

import (
	"github.com/rayos/engine/components"
)

// Step is what one action does to a guest in its current state, by the
// lifecycle state machine that simulated and real guests share
// (docs/guests.md draws it):
//
//	start     defined | stopped | crashed → hidden      (hidden, presented: nothing to do)
//	shutdown  hidden | presented | suspended → stopped
//	suspend   hidden | presented → suspended            (suspended: nothing to do)
//	resume    suspended → hidden                        (hidden, presented: nothing to do)
//	present   hidden → presented                        (presented: nothing to do)
//	hide      presented → hidden                        (any other state: nothing to do)
//	type, press, mouse, click: only into a presented guest; no state change
//
// A guest leaves the screen whenever it stops running (suspended, stopped,
// crashed) and comes back hidden: RayOS never shows a guest on its own;
// presenting is always a request of its own, decided by the policy in
// force at that moment.
type Step struct {
	// To is the state the action leads to once carried out.
	To components.GuestState
	// Noop, when set, says why there is nothing to do: the action is
	// answered ok with it and nothing changes.
	Noop string
	// Refuse, when set, says why the action cannot be carried out from
	// this state: it fails with it and nothing changes.
	Refuse string
}

// Lifecycle returns the step action takes from guest g's state.
func Lifecycle(action components.IntentAction, g *components.Guest) Step {
	state := g.State
	running := state == components.GuestHidden || state == components.GuestPresented
	name := components.GuestStateNames[state]
	notRunning := Step{Refuse: "guest " + g.ID + " is " + name + ", not running"}
	switch action {
	case components.ActionStart:
		switch {
		case running:
			return Step{To: state, Noop: "already running"}
		case state == components.GuestSuspended:
			return Step{Refuse: "guest " + g.ID + " is suspended (resume it)"}
		}
		return Step{To: components.GuestHidden}
	case components.ActionShutdown:
		if running || state == components.GuestSuspended {
			return Step{To: components.GuestStopped}
		}
		return notRunning
	case components.ActionSuspend:
		switch {
		case running:
			return Step{To: components.GuestSuspended}
		case state == components.GuestSuspended:
			return Step{To: state, Noop: "already suspended"}
		}
		return notRunning
	case components.ActionResume:
		switch {
		case state == components.GuestSuspended:
			return Step{To: components.GuestHidden}
		case running:
			return Step{To: state, Noop: "already running"}
		}
		return Step{Refuse: "guest " + g.ID + " is " + name + ", not suspended (start it)"}
	case components.ActionPresent:
		switch state {
		case components.GuestHidden:
			return Step{To: components.GuestPresented}
		case components.GuestPresented:
			return Step{To: state, Noop: name}
		}
		return notRunning
	case components.ActionHide:
		if state == components.GuestPresented || g.Presented {
			return Step{To: components.GuestHidden}
		}
		return Step{To: state, Noop: name}
	case components.ActionType, components.ActionPress, components.ActionMouse, components.ActionClick:
		if state == components.GuestPresented {
			return Step{To: state}
		}
		return Step{Refuse: "guest " + g.ID + " is not presented"}
	}
	return Step{Refuse: "no effect for " + components.IntentActionNames[action]}
}

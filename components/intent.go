package components

// IntentAction is what a resolved intent asks RayOS to do.
type IntentAction uint8

// Intent actions; IntentActionNames gives their spelling in text input,
// policy files and markers.
const (
	ActionStart IntentAction = iota + 1
	ActionPresent
	ActionHide
	ActionShutdown
	ActionType
	ActionPress
	ActionMouse
	ActionClick
	ActionConfirm
	ActionCancel
	ActionSuspend
	ActionResume
	// ActionStatus and ActionPending are reads of the control plane (every
	// guest's state; the requests waiting for confirmation). The policy
	// does not govern them, but they take their place in the request order
	// like everything else: a status pipelined after a present sees it.
	ActionStatus
	ActionPending
	// ActionSay is an utterance that could not be resolved to any action:
	// its envelope exists only to carry the answer ("did you mean …") to
	// the client that said it. Nothing acts on it.
	ActionSay
	// ActionRecall is a read of the Volume ("find my notes about the
	// kernel"): Argument is the query. Intent resolution asks the Volume
	// off the tick and finishes the envelope itself when the answer comes
	// back as an InputRetrieval; the policy does not govern it.
	ActionRecall
)

// LastGoverned is the last action the policy decides; the ones after it
// are reads.
const LastGoverned = ActionResume

// IntentActionNames maps each IntentAction to its spelling.
var IntentActionNames = [...]string{
	ActionStart:    "start",
	ActionPresent:  "present",
	ActionHide:     "hide",
	ActionShutdown: "shutdown",
	ActionType:     "type",
	ActionPress:    "press",
	ActionMouse:    "mouse",
	ActionClick:    "click",
	ActionConfirm:  "confirm",
	ActionCancel:   "cancel",
	ActionSuspend:  "suspend",
	ActionResume:   "resume",
	ActionStatus:   "status",
	ActionPending:  "pending",
	ActionSay:      "say",
	ActionRecall:   "recall",
}

// ActionSet is a set of IntentActions, bit 1<<action.
type ActionSet uint16

// InputActions are the input injections: they reach a guest only while it
// is presented and the policy in force allows that kind.
const InputActions = ActionSet(1<<ActionType | 1<<ActionPress | 1<<ActionMouse | 1<<ActionClick)

// IntentStatus is where an envelope is on its way through the pipeline.
type IntentStatus uint8

// Intent statuses, in pipeline order.
const (
	IntentPending IntentStatus = iota + 1 // resolved, waiting for the policy gate
	IntentConfirm                         // policy wants the user to confirm
	IntentAllowed                         // policy allowed it; effects will act
	IntentDenied                          // policy denied it
	IntentDone                            // effects completed it
	IntentFailed                          // effects tried and failed
	IntentRunning                         // effects started it; a completion will follow
)

// IntentStatusNames maps each IntentStatus to its spelling.
var IntentStatusNames = [...]string{
	IntentPending: "pending",
	IntentConfirm: "confirm",
	IntentAllowed: "allowed",
	IntentDenied:  "denied",
	IntentRunning: "running",
	IntentDone:    "done",
	IntentFailed:  "failed",
}

// IntentEnvelope is one resolved intent: the only way anything that touches a
// guest is requested. Intent resolution creates it, the policy gate decides
// it, effects carry it out.
type IntentEnvelope struct {
	// Action is what is asked.
	Action IntentAction `json:"action"`
	// Target is the entity acted on (a Guest for lifecycle and input).
	Target EntityRef `json:"target"`
	// Confidence in [0, 1] that the user meant this: 1 for an explicit
	// command, the attention weight for a gaze-resolved target.
	Confidence float32 `json:"confidence"`
	// Status is the envelope's progress.
	Status IntentStatus `json:"status"`
	// Source is the Input.Seq that produced the intent.
	Source uint64 `json:"source"`
	// Argument is the action's payload: text to type, key name, pointer
	// coordinates as "x,y".
	Argument string `json:"argument,omitempty"`
	// Tick is the tick of the envelope's last status change.
	Tick uint64 `json:"tick"`
	// Request is the control-socket request this intent answers (its ACK
	// goes back to that client), 0 for intents from the user's own input.
	Request uint64 `json:"request,omitempty"`
	// Client is the control-socket connection the request came from, 0
	// for the user's own input and for RayOS's own intents. A "confirm"
	// without an id resolves only its own client's pending requests.
	Client uint32 `json:"client,omitempty"`
	// Order is the envelope's place in the order requests take effect:
	// its own Source, or, once a confirmation allowed it, the Source of
	// that confirm. Effects carry out envelopes in Order, so requests take
	// effect in the order they were received whatever the ECS's storage
	// order.
	Order uint64 `json:"order"`
	// Notified is set once the client was told that the request waits
	// for confirmation.
	Notified bool `json:"notified,omitempty"`
	// Acked is set once the request's ACK has been emitted.
	Acked bool `json:"acked,omitempty"`
	// Detail is the outcome in words (a denial's rule, an effect's error).
	Detail string `json:"detail,omitempty"`
	// Understood is, for an envelope resolved from an utterance a client
	// said ("say …"), the RAYOS_INTENT line saying how it was understood:
	// the client is told before the request's ACK. Announced is set once
	// it was.
	Understood string `json:"understood,omitempty"`
	Announced  bool   `json:"announced,omitempty"`
}

// PendingConfirmation is an allowed-but-unconfirmed intent waiting for the
// user: a later "confirm" intent allows it, "cancel" or the deadline denies
// it. The oldest pending confirmation is the one a confirm resolves.
type PendingConfirmation struct {
	// Envelope is the IntentEnvelope waiting.
	Envelope EntityRef `json:"envelope"`
	// Rule names the policy rule that asked for confirmation.
	Rule string `json:"rule"`
	// Requested and Expires are ticks: when it was asked, and when it
	// lapses.
	Requested uint64 `json:"requested"`
	Expires   uint64 `json:"expires"`
}

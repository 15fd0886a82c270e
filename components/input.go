package components

// InputKind is the device class an input event came from.
type InputKind uint8

// Input kinds. InputKindNames gives their journal spelling.
const (
	InputKey InputKind = iota + 1
	InputPointer
	InputGaze
	InputText
	InputVoice
	// InputSignal is a process signal (SIGTERM, SIGINT) turned into an
	// event, so that a shutdown is journaled and replays identically.
	InputSignal
	// InputPolicy carries a replaced policy file's text (in Text), so that
	// a reload is journaled and replays identically.
	InputPolicy
	// InputHost is a control-socket request line (in Text); Device holds
	// the request id its ACK is routed back by.
	InputHost
	// InputEffect is the completion of an effect (a hypervisor call): Text
	// is "ok" or "err: <why>", Device the Source of the envelope it
	// completes. Effects that leave the process come back as inputs, so
	// replays need no hypervisor.
	InputEffect
	// InputGuestEvent is a hypervisor lifecycle event: Text is
	// "<vm-id> <what>" (started, suspended, resumed, stopped, crashed, …).
	InputGuestEvent
	// InputThermal is a temperature reading from the host's sensors:
	// Device is the device's slot (the CPU number for a CPU), Celsius the
	// reading. The sampler feeds one when a reading changes, so that the
	// scheduler's thermal decisions replay identically.
	InputThermal
	// InputRetrieval is the Volume's answer to a recall: Device is the
	// Seq of the utterance that asked (as uint32, like InputEffect's
	// Source), Text the passages as compact JSON (an array of
	// {"score","file","heading","text","guest"}) or "err: <why>". The
	// Volume is asked off the tick; its answer comes back as an input, so
	// replays need no Volume. At most MaxRetrievalText bytes.
	InputRetrieval
)

// MaxRetrievalText bounds an InputRetrieval's Text: a handful of passages,
// each cut short, fits in far less.
const MaxRetrievalText = 16 << 10

// InputKindNames maps each InputKind to its journal spelling.
var InputKindNames = [...]string{
	InputKey:        "key",
	InputPointer:    "pointer",
	InputGaze:       "gaze",
	InputText:       "text",
	InputVoice:      "voice",
	InputSignal:     "signal",
	InputPolicy:     "policy",
	InputHost:       "host",
	InputEffect:     "effect",
	InputGuestEvent: "guest-event",
	InputThermal:    "thermal",
	InputRetrieval:  "retrieval",
}

// Input is one event, alive for exactly the tick it was fed into. Only the
// fields of its Kind are meaningful.
type Input struct {
	// Kind says which device produced the event.
	Kind InputKind `json:"kind"`
	// Seq is the event's position in the journal (1-based); attention rays
	// and intents name their source input by it.
	Seq uint64 `json:"seq"`
	// TimeNs is the simulation time at which the event was fed, in
	// nanoseconds since boot.
	TimeNs int64 `json:"time_ns"`
	// Device distinguishes several devices of one kind (two gaze trackers).
	// For InputHost it is the request id the ACK is routed back by.
	Device uint32 `json:"device,omitempty"`
	// Client is the control-socket connection an InputHost request came
	// from (0 for the local user's own inputs): "confirm" without an id
	// resolves only that client's own pending request.
	Client uint32 `json:"client,omitempty"`
	// Key is a Linux input key code (KEY_A = 30) for InputKey; Pressed
	// tells press from release.
	Key     uint16 `json:"key,omitempty"`
	Pressed bool   `json:"pressed,omitempty"`
	// Pointer is the pointer position in framebuffer pixels and Buttons
	// its button bit mask, for InputPointer.
	Pointer [2]float32 `json:"pointer,omitempty"`
	Buttons uint32     `json:"buttons,omitempty"`
	// Origin and Direction are the gaze ray for InputGaze (scene space,
	// Direction of unit length).
	Origin    Vec3 `json:"origin,omitempty"`
	Direction Vec3 `json:"direction,omitempty"`
	// Celsius is an InputThermal reading in °C.
	Celsius float32 `json:"celsius,omitempty"`
	// Text is the typed line or voice transcript (InputText, InputVoice),
	// the signal name for InputSignal, the policy source for InputPolicy.
	Text string `json:"text,omitempty"`
}

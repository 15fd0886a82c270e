package viewer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The page and the server talk over one WebSocket at /ws: JSON text
// messages both ways, each an object whose "t" names its type, plus binary
// messages from the server carrying the frame's tiles (frame.go).
// docs/viewer.md documents every message.

// MaxMessage bounds a message from a client; a longer one closes the
// connection with status 1009 (message too big).
const MaxMessage = 4096

// Message types a client sends.
const (
	InAuth    = "auth"    // {"t":"auth","token":"…"}: allow actions on this connection
	InAction  = "action"  // {"t":"action","id":1,"op":"present","arg":"linux"}
	InQuery   = "query"   // {"t":"query","id":2,"q":"entities","kind":"Guest","offset":0,"limit":50}
	InFrames  = "frames"  // {"t":"frames","on":false}: stop (or start) the frame stream
	InControl = "control" // {"t":"control","op":"pause"} (pause, resume, step, seek)
	InInput   = "input"   // {"t":"input","kind":"key","key":30,"pressed":true} or {"t":"input","kind":"pointer","x":960,"y":540,"buttons":1}
)

// Message types the server sends.
const (
	OutHello     = "hello"
	OutError     = "error"
	OutAck       = "ack"
	OutReply     = "reply"
	OutState     = "state"
	OutPlacement = "placement"
	OutMarkers   = "markers"
	OutReset     = "reset"
)

// Actions are the ops a page may send, with what their argument is. They
// are the control socket's own ops, sent as a control request line.
var Actions = map[string]string{
	"present":  "VM",
	"hide":     "VM",
	"start":    "VM",
	"shutdown": "VM",
	"confirm":  "ID",
	"cancel":   "ID",
}

// actionNames lists Actions for error messages, in the order users meet them.
const actionNames = "present, hide, start, shutdown, confirm, cancel"

// Queries a client may ask.
const (
	QueryEntities = "entities" // a page of entities, optionally of one kind and matching a search
	QueryEntity   = "entity"   // one entity's component values
	QueryTask     = "task"     // a compute task's cost terms and its runner-up device
)

// Control ops (tick control; --debug, or a replay in rayos view).
const (
	ControlPause  = "pause"
	ControlResume = "resume"
	ControlStep   = "step"
	ControlSeek   = "seek" // rayos view JOURNAL only
)

// MaxStep bounds the ticks one step message asks for.
const MaxStep = 1000

// Inbound is a message from a client. Unknown fields are refused, so
// that a typo is an error instead of being ignored.
type Inbound struct {
	T      string `json:"t"`
	ID     uint32 `json:"id,omitempty"`
	Token  string `json:"token,omitempty"`
	Op     string `json:"op,omitempty"`
	Arg    string `json:"arg,omitempty"`
	Q      string `json:"q,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Search string `json:"search,omitempty"`
	Offset int    `json:"offset,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Entity *Ref   `json:"entity,omitempty"`
	On     *bool  `json:"on,omitempty"`
	Tick   uint64 `json:"tick,omitempty"`
	Count  int    `json:"count,omitempty"`
	// An input's fields (kind key: key, pressed; kind pointer: x, y,
	// buttons). Pointers, so that a missing field is told from a zero.
	Key     *int     `json:"key,omitempty"`
	Pressed *bool    `json:"pressed,omitempty"`
	X       *float64 `json:"x,omitempty"`
	Y       *float64 `json:"y,omitempty"`
	Buttons *int     `json:"buttons,omitempty"`
}

// Ref names an entity: its id and generation, so that a reference to an
// entity that died and whose id was reused is recognised.
type Ref struct {
	ID  uint32 `json:"id"`
	Gen uint32 `json:"gen"`
}

// ParseInbound decodes one client message and checks it; the error says
// what is wrong in words a person sending it by hand understands.
func ParseInbound(data []byte) (*Inbound, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("message is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Inbound
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("message is not a JSON object of the viewer protocol: %v", err)
	}
	if dec.More() {
		return nil, errors.New("message has more than one JSON value")
	}
	switch m.T {
	case "":
		return nil, errors.New(`message has no "t" (its type)`)
	case InAuth, InFrames:
	case InAction:
		if err := checkAction(&m); err != nil {
			return &m, err
		}
	case InQuery:
		if err := checkQuery(&m); err != nil {
			return &m, err
		}
	case InControl:
		if err := checkControl(&m); err != nil {
			return &m, err
		}
	case InInput:
		if err := checkInput(&m); err != nil {
			return &m, err
		}
	default:
		return &m, fmt.Errorf("unknown message type %q (want one of auth, action, query, frames, control, input)", m.T)
	}
	return &m, nil
}

// checkAction refuses an action the control socket would not get from
// the page: unknown ops, and arguments that are not one plain word.
func checkAction(m *Inbound) error {
	want, ok := Actions[m.Op]
	if !ok {
		return fmt.Errorf("unknown action %q (want one of %s)", m.Op, actionNames)
	}
	switch want {
	case "VM":
		if !isName(m.Arg) {
			return fmt.Errorf("action %s: arg %q is not a VM id (letters, digits, '-', '_', '.', at most 64)", m.Op, m.Arg)
		}
	case "ID":
		if _, err := strconv.ParseUint(m.Arg, 10, 64); err != nil {
			return fmt.Errorf("action %s: arg %q is not a request id (see the pending list)", m.Op, m.Arg)
		}
	}
	return nil
}

// isName accepts a VM id: one word of at most 64 safe characters, so that
// the request line can never carry a second word or a control character.
func isName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)) {
			return false
		}
	}
	return true
}

// Limits of one entities query.
const (
	MaxPage = 100
	// SearchBudget is how many entities one search request examines; the
	// reply says where to continue.
	SearchBudget = 2000
	// IDSearchBudget is the same for a search by id ("#123"), which is
	// cheaper per entity.
	IDSearchBudget = 50000
)

func checkQuery(m *Inbound) error {
	switch m.Q {
	case QueryEntities:
		if m.Offset < 0 {
			return fmt.Errorf("query entities: offset %d is negative", m.Offset)
		}
		if m.Limit < 0 || m.Limit > MaxPage {
			return fmt.Errorf("query entities: limit %d is not in 0…%d", m.Limit, MaxPage)
		}
		if len(m.Search) > 200 {
			return errors.New("query entities: search longer than 200 bytes")
		}
	case QueryEntity, QueryTask:
		if m.Entity == nil {
			return fmt.Errorf(`query %s: no "entity" ({"id":…,"gen":…})`, m.Q)
		}
	default:
		return fmt.Errorf("unknown query %q (want one of entities, entity, task)", m.Q)
	}
	return nil
}

func checkControl(m *Inbound) error {
	switch m.Op {
	case ControlPause, ControlResume:
	case ControlStep:
		if m.Count < 0 || m.Count > MaxStep {
			return fmt.Errorf("control step: count %d is not in 0…%d (0 or none: one tick)", m.Count, MaxStep)
		}
	case ControlSeek:
	default:
		return fmt.Errorf("unknown control %q (want one of pause, resume, step, seek)", m.Op)
	}
	return nil
}

// Outbound messages. Each is encoded once and sent to every client that
// needs it.

// Hello is the first message on a connection.
type Hello struct {
	T          string `json:"t"`
	Mode       string `json:"mode"` // live, journal, snapshot
	Version    string `json:"version"`
	Client     uint32 `json:"client"`
	Authorized bool   `json:"authorized"`
	Remote     bool   `json:"remote"`
	Control    bool   `json:"control"` // pause/step/resume are available
	Seek       bool   `json:"seek"`    // a journal: seek too
	Actions    bool   `json:"actions"` // a live world: actions are available
	Inputs     bool   `json:"inputs"`  // keys and pointer from this page are accepted (live, authorized)
	MaxMessage int    `json:"max_message"`
	TileSize   int    `json:"tile_size"`
}

// ErrorMsg answers a message that could not be carried out.
type ErrorMsg struct {
	T     string `json:"t"`
	ID    uint32 `json:"id,omitempty"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

// Error codes.
const (
	CodeBadMessage   = "bad-message"
	CodeUnauthorized = "unauthorized"
	CodeUnavailable  = "unavailable"
	CodeBusy         = "busy"
	CodeNotFound     = "not-found"
)

// AckMsg is a control-socket answer (or notice) for one of the page's
// actions, as the marker line the bridge emitted.
type AckMsg struct {
	T       string `json:"t"`
	ID      uint32 `json:"id"`
	Request uint32 `json:"request"`
	Notice  bool   `json:"notice"`
	OK      bool   `json:"ok"`
	Line    string `json:"line"`
}

// Reply answers a query.
type Reply struct {
	T    string `json:"t"`
	ID   uint32 `json:"id"`
	Q    string `json:"q"`
	Data any    `json:"data"`
}

package world_test

import (
	"strings"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// A Volume's answer (kind "retrieval") round-trips, and a careless or
// hostile one is refused naming the line and the rule it breaks.
func TestJournalRetrievalInput(t *testing.T) {
	const head = `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}` + "\n"
	good := head + `{"tick":2,"input":{"kind":"retrieval","device":5,"text":"[{\"score\":0.5,\"file\":\"a.md\",\"heading\":\"A\",\"text\":\"x\"}]"}}` + "\n" +
		`{"tick":3,"input":{"kind":"retrieval","device":6,"text":"err: no volume"}}` + "\n"
	j, err := world.ReadJournal(strings.NewReader(good), "good")
	if err != nil {
		t.Fatal(err)
	}
	in, err := j.Events[0].Input.ToInput()
	if err != nil || in.Kind != components.InputRetrieval || in.Device != 5 || !strings.HasPrefix(in.Text, "[{") {
		t.Fatalf("retrieval input read as %+v, %v", in, err)
	}
	if back := world.FromInput(in); back.Kind != "retrieval" || back.Device != 5 || back.Text != in.Text {
		t.Errorf("FromInput gives %+v", back)
	}
	for _, c := range []struct{ line, says string }{
		{`{"tick":2,"input":{"kind":"retrieval","text":"[]"}}`, "needs device"},
		{`{"tick":2,"input":{"kind":"retrieval","device":1}}`, "JSON array"},
		{`{"tick":2,"input":{"kind":"retrieval","device":1,"text":"{\"a\":1}"}}`, "JSON array"},
		{`{"tick":2,"input":{"kind":"retrieval","device":1,"text":"[{\"a\":"}}`, "JSON array"},
		{`{"tick":2,"input":{"kind":"retrieval","device":1,"text":"err: "}}`, "JSON array"},
		{`{"tick":2,"input":{"kind":"retrieval","device":1,"text":"hello"}}`, "JSON array"},
		{`{"tick":2,"input":{"kind":"retrieval","device":1,"text":"err: ` + strings.Repeat("x", components.MaxRetrievalText) + `"}}`, "more than"},
	} {
		_, err := world.ReadJournal(strings.NewReader(head+c.line+"\n"), "j")
		if err == nil || !strings.Contains(err.Error(), "j:2:") || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%.80s: error %v, want j:2: … %q", c.line, err, c.says)
		}
	}
}

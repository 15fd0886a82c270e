package world_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// TestJournalThermalAndFabric: thermal readings (0 °C included) and the
// header's fabric text survive the round trip.
func TestJournalThermalAndFabric(t *testing.T) {
	var buf bytes.Buffer
	fab := "version = 1\n[devices.cpu0]\nkind = \"cpu\"\ncpu = 0\n"
	jw, err := world.NewJournalWriter(nopCloser{&buf}, world.JournalHeader{Seed: 1, Scene: "demo", Hz: 60, Fabric: fab})
	if err != nil {
		t.Fatal(err)
	}
	inputs := []components.Input{
		{Kind: components.InputThermal, Device: 3, Celsius: 71.5},
		{Kind: components.InputThermal, Device: 0, Celsius: 0},
		{Kind: components.InputThermal, Device: 64, Celsius: -12.25},
	}
	for i, in := range inputs {
		jw.Record(uint64(i+1), in)
	}
	if err := jw.Close(5); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `{"kind":"thermal","celsius":0}`) {
		t.Errorf("0 °C not written:\n%s", buf.String())
	}
	j, err := world.ReadJournal(&buf, "mem")
	if err != nil {
		t.Fatal(err)
	}
	if j.Header.Fabric != fab {
		t.Errorf("fabric %q", j.Header.Fabric)
	}
	for i, ev := range j.Events {
		got, err := ev.Input.ToInput()
		if err != nil || got != inputs[i] {
			t.Errorf("event %d: %+v (%v), want %+v", i, got, err, inputs[i])
		}
	}
}

func TestJournalRejectsBadThermal(t *testing.T) {
	head := `{"format":"` + world.JournalFormat + `","version":` + strconv.Itoa(world.JournalVersion) + `,"seed":1,"scene":"demo","hz":60}` + "\n"
	for _, c := range []struct{ line, want string }{
		{`{"tick":1,"input":{"kind":"thermal","device":1}}`, "j:2: input: thermal needs celsius"},
		{`{"tick":1,"input":{"kind":"thermal","celsius":900}}`, "j:2: input: thermal celsius 900 out of range [-50, 200]"},
		{`{"tick":1,"input":{"kind":"thermal","celsius":"hot"}}`, "j:2:"},
	} {
		_, err := world.ReadJournal(strings.NewReader(head+c.line+"\n"), "j")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.line, err, c.want)
		}
	}
}

package boot

import (
	"errors"
	"testing"

	"github.com/rayos/engine/volume"
)

func TestRetrievalOffTheTick(t *testing.T) {
	v, err := volume.Open(t.TempDir(), volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Add([]volume.Item{
		{Text: "the kernel scheduler places tasks on devices", Meta: map[string]string{"file": "notes/kernel.md"}},
		{Text: "a recipe for bread with flour and water", Meta: map[string]string{"file": "notes/bread.md"}},
	}); err != nil {
		t.Fatal(err)
	}
	s := NewRetrieval(nil)
	defer s.Close()
	if !s.Ask(RetrievalRequest{ID: 1, Text: "kernel", K: 1}) {
		t.Fatal("the first request was refused")
	}
	if a := <-s.Answers(); a.ID != 1 || !errors.Is(a.Err, ErrVolumeNotReady) {
		t.Fatalf("before the Volume is in: %+v, want ErrVolumeNotReady", a)
	}
	s.SetRetriever(stagedVolume{v})
	s.Ask(RetrievalRequest{ID: 2, Text: "my notes about the kernel", K: 1})
	s.Ask(RetrievalRequest{ID: 3, Text: "bread recipe", K: 1})
	for _, want := range []struct {
		id   uint64
		file string
	}{{2, "notes/kernel.md"}, {3, "notes/bread.md"}} {
		a := <-s.Answers()
		if a.ID != want.id || a.Err != nil || len(a.Hits) != 1 || a.Hits[0].Meta["file"] != want.file {
			t.Errorf("answer %+v, want id %d from %s", a, want.id, want.file)
		}
	}
	// A bad k is an answer, not a crash.
	s.Ask(RetrievalRequest{ID: 4, Text: "x", K: 0})
	if a := <-s.Answers(); a.Err == nil {
		t.Errorf("k=0 answered %+v", a)
	}
	// Nobody reads the answers: the queue fills and Ask refuses rather
	// than block the tick.
	refused := false
	for i := 0; i < 4*RetrievalQueue && !refused; i++ {
		refused = !s.Ask(RetrievalRequest{ID: uint64(10 + i), Text: "kernel", K: 1})
	}
	if !refused {
		t.Error("a full queue still accepted requests")
	}
	s.Close()
	if s.Ask(RetrievalRequest{ID: 99, Text: "kernel", K: 1}) {
		t.Error("a closed service accepted a request")
	}
}

func TestVolumeDir(t *testing.T) {
	if got := volumeDir(BootInfo{Data: "d"}); got != "d/volume" {
		t.Errorf("default: %s", got)
	}
	if got := volumeDir(BootInfo{Data: "d", Volume: "/srv/vol"}); got != "/srv/vol" {
		t.Errorf("given: %s", got)
	}
}

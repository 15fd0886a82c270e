package volume_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/rayos/engine/volume"
)

// Open a Volume, add passages, ask for the closest, save.
func Example() {
	dir, _ := os.MkdirTemp("", "volume-example")
	defer os.RemoveAll(dir)

	v, err := volume.Open(dir, volume.Options{})
	var rec *volume.RecoveryError
	if errors.As(err, &rec) {
		fmt.Println("recovered:", rec) // boot prints its marker here
	} else if err != nil {
		panic(err)
	}
	v.Add([]volume.Item{
		{Text: "The scheduler places tasks on devices", Meta: map[string]string{"file": "sched.md"}},
		{Text: "Guests start hidden until presented", Meta: map[string]string{"file": "guests.md"}},
	})
	hits, _ := v.Query("where are guests presented", 1, false)
	fmt.Println(hits[0].Meta["file"], hits[0].ID)
	if err := v.Save(); err != nil {
		panic(err)
	}
	fmt.Println(v.Stats().Items, "items saved")
	// Output:
	// guests.md 2
	// 2 items saved
}

package keys_test

import (
	"fmt"

	"github.com/rayos/engine/world/keys"
)

func ExampleChord() {
	chord, _ := keys.Chord("ctrl+alt+delete")
	fmt.Println(chord)
	_, err := keys.Chord("ctrl+alt+delet")
	fmt.Println(err)
	// Output:
	// [29 56 111]
	// unknown key "delet" (did you mean delete?)
}

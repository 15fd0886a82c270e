package language_test

import (
	"fmt"

	"github.com/rayos/engine/systems/intent/language"
)

func ExampleParse() {
	v := language.Vocabulary{Guests: []language.Guest{{ID: "linux", OS: "linux"}, {ID: "win11", OS: "windows"}}}
	r := language.Parse("shwo the linux desktop", v)
	fmt.Println(r.Command.Target.Guest, r.Command.Certainty, r.Suggestions)
	r = language.Parse("press ctrl alt del", v)
	fmt.Println(r.Command.Argument, r.Command.Certainty)
	// Output:
	// linux 0.6 [show linux]
	// ctrl+alt+del 1
}

package boot

// startDisplay opens Options.Display (a Linux framebuffer) when set, and
// showDisplay hands it each composition's damage after a tick. They are
// filled in with the framebuffer sink (boot/display); until then a
// Display is accepted and shows nothing.
func (rt *runtime) startDisplay() {}

func (rt *runtime) showDisplay() {}

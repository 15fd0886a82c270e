package guests

import "net"

// AcceptDelay is the accept loop's backoff, for tests.
var AcceptDelay = acceptDelay

// ServeControl serves the control protocol on any listener, so that tests
// can make accept fail the way an exhausted process does.
func ServeControl(ln net.Listener, o ControlOptions) *ControlServer {
	return serveControl(ln, ln.Addr().String(), o)
}

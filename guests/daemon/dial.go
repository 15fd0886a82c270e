package daemon

import (
	"net"
	"time"
)

func dial(socket string) (net.Conn, error) { return net.DialTimeout("unix", socket, time.Second) }

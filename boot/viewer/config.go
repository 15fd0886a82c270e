package viewer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// The flags that configure a viewer, named in errors so that bad input
// says which flag to change.
const (
	FlagAddr      = "--viewer"
	FlagRemote    = "--viewer-allow-remote"
	FlagTokenFile = "--viewer-token-file"
	FlagDebug     = "--debug"
)

// Client numbers. The world tells requests apart by the number of the
// client that sent them ("confirm" without an id answers the same
// client's request) and the runtime routes ACKs by it, so each source has
// its own range: control-socket connections 1 … guests.MaxControlClient
// (2^31 − 1), a journal fed into a live boot the next 2^30 (boot's
// journalClient), viewer connections the last 2^30.
const (
	FirstClient uint32 = 3 << 30
	LastClient  uint32 = 1<<32 - 1
)

// IsViewerClient reports whether a request's client number is a viewer
// connection's.
func IsViewerClient(c uint32) bool { return c >= FirstClient }

// Defaults of the limits in Config.
const (
	DefaultMaxClients        = 16
	DefaultWriteTimeout      = 5 * time.Second
	DefaultStateInterval     = 100 * time.Millisecond
	DefaultPlacementInterval = time.Second
	DefaultFrameInterval     = time.Second / 30
	// TokenBytes is the token's entropy: 128 bits, written as 32 hex
	// digits.
	TokenBytes = 16
)

// Config configures a viewer server.
type Config struct {
	// Addr is the address to listen on, IP:PORT or localhost:PORT; port 0
	// picks a free one (Server.Addr says which).
	Addr string
	// AllowRemote permits a non-loopback Addr; every request then needs
	// the token.
	AllowRemote bool
	// Debug enables pausing, stepping and resuming the tick from the page
	// and /debug/pprof.
	Debug bool
	// Token is the secret; empty generates one (crypto/rand, 128 bits).
	Token string
	// MaxClients bounds the WebSocket clients connected at once; the next
	// is refused with a close frame that says so.
	MaxClients int
	// WriteTimeout is how long one message to a client may take to be
	// written before the client is dropped as stalled.
	WriteTimeout time.Duration
	// StateInterval, PlacementInterval and FrameInterval bound how often
	// the tick publishes the world summary, the placement map and the
	// frame's tiles (wall clock: presentation, never world state).
	StateInterval, PlacementInterval, FrameInterval time.Duration
	// InputRate bounds the inputs (keys, pointer) one client may send per
	// second, and at once; 0 is DefaultInputRate.
	InputRate int
	// Version is the engine's version, shown on the page.
	Version string
	// Notice receives the line with the page's URL (stderr).
	Notice io.Writer
	// Logger receives diagnostics.
	Logger *slog.Logger
}

// Validate checks the configuration without listening: a non-loopback
// address without AllowRemote is refused, naming the flags.
func (c *Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("%s %q: want IP:PORT or localhost:PORT (%v)", FlagAddr, c.Addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%s %q: port %q is not a number in 0…65535", FlagAddr, c.Addr, port)
	}
	loopback := false
	switch {
	case host == "localhost":
		loopback = true
	case host == "":
		// ":7777" listens on every interface.
	default:
		ip, err := netip.ParseAddr(host)
		if err != nil {
			// A host name would need DNS, and could resolve to anything.
			return fmt.Errorf("%s %q: %q is not an IP address; want IP:PORT or localhost:PORT", FlagAddr, c.Addr, host)
		}
		loopback = ip.IsLoopback()
	}
	if !loopback && !c.AllowRemote {
		return fmt.Errorf("%s %q: not a loopback address: the viewer would be reachable from other machines; add %s to allow it (every request then needs the token)", FlagAddr, c.Addr, FlagRemote)
	}
	if c.Token != "" {
		if err := checkToken(c.Token); err != nil {
			return fmt.Errorf("viewer token: %w", err)
		}
	}
	if c.MaxClients < 0 || c.WriteTimeout < 0 || c.StateInterval < 0 || c.PlacementInterval < 0 || c.FrameInterval < 0 || c.InputRate < 0 {
		return errors.New("viewer: negative limit")
	}
	return nil
}

// withDefaults fills the zero limits.
func (c Config) withDefaults() Config {
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.StateInterval == 0 {
		c.StateInterval = DefaultStateInterval
	}
	if c.PlacementInterval == 0 {
		c.PlacementInterval = DefaultPlacementInterval
	}
	if c.FrameInterval == 0 {
		c.FrameInterval = DefaultFrameInterval
	}
	if c.InputRate == 0 {
		c.InputRate = DefaultInputRate
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Notice == nil {
		c.Notice = io.Discard
	}
	return c
}

// NewToken returns a fresh token: 128 random bits as 32 hex digits.
func NewToken() (string, error) {
	var b [TokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("viewer token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// checkToken refuses a token too weak to guard the viewer.
func checkToken(t string) error {
	if len(t) < 2*TokenBytes {
		return fmt.Errorf("%d characters; want at least %d (128 bits as hex)", len(t), 2*TokenBytes)
	}
	for _, c := range []byte(t) {
		if c <= ' ' || c >= 0x7f || c == '"' || c == ';' || c == ',' || c == '\\' {
			return fmt.Errorf("contains %q; want printable ASCII without quotes, separators or spaces", c)
		}
	}
	return nil
}

package viewer

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world/atomicfile"
	"golang.org/x/term"
)

//go:embed assets
var assets embed.FS

// Modes a server serves in.
const (
	ModeLive     = "live"     // rayos boot --viewer: a running world
	ModeJournal  = "journal"  // rayos view JOURNAL: a replay with a tick scrubber
	ModeSnapshot = "snapshot" // rayos view SNAPSHOT: one world, frozen
)

// Server is one viewer: the HTTP server, the hub that fans publications
// out to the WebSocket clients, and the tick side that publishes.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mode  string
	token string
	ln    net.Listener
	srv   *http.Server
	hub   *hub
	met   *metrics

	// queries waits for the tick goroutine (Serve); requests for the
	// runtime's loop, which feeds them like control-socket requests; wake
	// tells that loop there is something for it (a query, a request, a
	// change of pace).
	queries  chan *query
	requests chan guests.ControlRequest
	// inputs wait for the next tick (BeforeTick feeds them); frameW and
	// frameH are the attached world's frame, which pointer positions
	// must fall inside.
	inputs         inputs
	frameW, frameH atomic.Int32
	// now is the clock of the clients' input budgets (a test's is frozen).
	now  func() time.Time
	wake chan struct{}
	pace pacer

	nextClient, nextRequest atomic.Uint32
	// attached says a world is attached: queries have someone to answer.
	attached atomic.Bool
	// side is the tick side: only the goroutine that ticks (or, offline,
	// the snapshot's) touches it.
	side *tickSide

	limit     limiter
	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
}

// Queue sizes between the page and the tick.
const (
	queryQueue   = 64
	requestQueue = 64
	// queriesPerServe is how many queries one Serve answers; the rest wait
	// for the next (each query is bounded on its own: a page of rows, a
	// search of SearchBudget entities).
	queriesPerServe = 4
)

// New validates cfg, listens on its address and starts serving the page.
// The world comes later (Attach, or ServeSnapshot); until then the page
// says it waits for one. mode is ModeLive, ModeJournal or ModeSnapshot.
func New(cfg Config, mode string) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Token == "" {
		t, err := NewToken()
		if err != nil {
			return nil, err
		}
		cfg.Token = t
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", FlagAddr, cfg.Addr, err)
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, mode: mode, token: cfg.Token, ln: ln,
		queries:  make(chan *query, queryQueue),
		requests: make(chan guests.ControlRequest, requestQueue),
		wake:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
		now:      time.Now,
	}
	s.pace.controllable = cfg.Debug || mode == ModeJournal
	s.met = newMetrics()
	s.hub = newHub(s)
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.hub.run()
	}()
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("viewer: serving stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on (the port chosen when the
// configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the page's address, without the token.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Token is the secret every action (and, with AllowRemote, every request)
// needs.
func (s *Server) Token() string { return s.token }

// Mode is what the server serves: ModeLive, ModeJournal or ModeSnapshot.
func (s *Server) Mode() string { return s.mode }

// Describe is the detail of the RAYOS_BOOT:viewer marker: where the page
// is and how it is guarded, never the token.
func (s *Server) Describe() string {
	host, port, _ := net.SplitHostPort(s.Addr())
	return fmt.Sprintf("host=%s port=%s remote=%t debug=%t", host, port, s.cfg.AllowRemote, s.cfg.Debug)
}

// WriteTokenFile writes the token to path, readable by its owner only.
func (s *Server) WriteTokenFile(path string) error {
	if err := atomicfile.WriteBytes(path, []byte(s.token+"\n"), 0o600); err != nil {
		return fmt.Errorf("viewer token file: %w", err)
	}
	return nil
}

// Announce tells the user where the page is, on Config.Notice (stderr).
// The URL with the token goes there only when that is a terminal, or when
// there is no token file to read it from: a service's stderr usually ends
// up in a persistent journal, and the token must not.
func (s *Server) Announce(tokenFile string) {
	withToken := s.URL() + "?token=" + s.token
	switch {
	case tokenFile == "" || isTerminal(s.cfg.Notice):
		fmt.Fprintf(s.cfg.Notice, "rayos: viewer at %s\n", withToken)
	default:
		fmt.Fprintf(s.cfg.Notice, "rayos: viewer at %s (the token is in %s: open %s?token=<token>)\n", s.URL(), tokenFile, s.URL())
	}
}

// isTerminal reports whether w is a terminal (not merely a character
// device: /dev/null is one too).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Close stops serving: clients are told RayOS is going away, the hub and
// the HTTP server stop. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		s.hub.closeAll("RayOS is shutting down")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = s.srv.Shutdown(ctx)
		if err != nil {
			s.srv.Close()
		}
		s.wg.Wait()
	})
	return err
}

// routes is every path the server answers, behind the guard.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", files))
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	if s.cfg.Debug {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return s.guard(mux)
}

// authKey carries, in a request's context, whether it presented the token.
type authKey struct{}

// guard checks every request before it reaches a handler: the Host (a
// loopback-only viewer answers only to loopback names, so that a web page
// elsewhere cannot reach it by rebinding its own name to 127.0.0.1) and
// the token (required on every request when remote access is allowed;
// refused when wrong, everywhere).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The page's URL may carry the token: never send it on as a Referer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'")
		if !s.cfg.AllowRemote && !loopbackHost(r.Host) {
			http.Error(w, fmt.Sprintf("viewer: Host %q is not a loopback name; this viewer answers only to localhost and loopback addresses (%s allows others, with the token)", r.Host, FlagRemote), http.StatusMisdirectedRequest)
			return
		}
		tok, from := s.tokenOf(r)
		authorized := false
		switch {
		case tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1:
			authorized = true
		case tok != "":
			s.met.refused.WithLabelValues("wrong-token").Inc()
			http.Error(w, "viewer: wrong token (from "+from+"); use the one RayOS printed or wrote to its token file", http.StatusForbidden)
			return
		case s.cfg.AllowRemote:
			s.met.refused.WithLabelValues("no-token").Inc()
			http.Error(w, "viewer: token required: this viewer allows remote access ("+FlagRemote+"), so every request needs ?token=, an Authorization: Bearer header or the cookie the page sets", http.StatusUnauthorized)
			return
		}
		if authorized && from == "query" {
			// The page's own requests (assets, the WebSocket) then carry
			// it without putting it in every URL.
			http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, authorized)))
	})
}

// cookieName is per port: cookies do not tell ports apart, and two RayOS
// instances on one host must not overwrite each other's.
func (s *Server) cookieName() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return "rayos_viewer_" + port
}

// tokenOf finds the token a request presents, and where.
func (s *Server) tokenOf(r *http.Request) (token, from string) {
	if t := r.URL.Query().Get("token"); t != "" {
		return t, "query"
	}
	if a := r.Header.Get("Authorization"); a != "" {
		t, ok := strings.CutPrefix(a, "Bearer ")
		if !ok {
			return a, "Authorization header (want Bearer)"
		}
		return strings.TrimSpace(t), "Authorization header"
	}
	if c, err := r.Cookie(s.cookieName()); err == nil && c.Value != "" {
		return c.Value, "cookie"
	}
	return "", ""
}

// loopbackHost accepts a Host header naming this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// serveWS upgrades to a WebSocket and runs one client until it leaves or
// is dropped.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	authorized, _ := r.Context().Value(authKey{}).(bool)
	// The default Accept refuses a cross-origin page: the WebSocket
	// handshake is not subject to CORS, so without it any web site the
	// user visits could connect to the loopback viewer.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Debug("viewer: websocket refused", "err", err, "remote", r.RemoteAddr)
		return
	}
	if !s.hub.admit() {
		s.met.refused.WithLabelValues("too-many-clients").Inc()
		reason := fmt.Sprintf("too many viewer clients (limit %d); try again later", s.cfg.MaxClients)
		s.warn("viewer: client refused", "reason", reason, "remote", r.RemoteAddr)
		conn.Close(websocket.StatusTryAgainLater, reason)
		return
	}
	defer s.hub.release()
	c := newClient(s, conn, authorized, r.RemoteAddr)
	c.run(r.Context())
}

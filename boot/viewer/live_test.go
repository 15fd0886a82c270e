package viewer_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/world/marker"
)

// A page connects, is told what it may do, and receives the world's
// summary and the boot's markers.
func TestLivePageGetsHelloStateAndMarkers(t *testing.T) {
	l := startLive(t, viewer.Config{}, 200)
	c := dial(t, l.srv, "")
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if hello.Mode != viewer.ModeLive || hello.Authorized || !hello.Actions || hello.Control || !viewer.IsViewerClient(hello.Client) {
		t.Errorf("hello %+v: want live, not authorized (no token), actions, no control without --debug, a viewer client number", hello)
	}
	st := c.awaitState("two hidden guests", func(st *viewer.State) bool {
		return len(st.Guests) == 2 && st.Guests[0].State == "hidden" && st.Guests[1].State == "hidden"
	})
	// Lists are [] when empty, never null: the page iterates them.
	raw := c.awaitType(viewer.OutState).Raw
	if !strings.Contains(string(raw), `"pending":[]`) || strings.Contains(string(raw), "null") {
		t.Errorf("a state with a null list: %s", raw)
	}
	// As many systems as the pipeline runs (boot.BuildWorld's world).
	if pipeline := len(newWorld(t, "demo").w.Stats.Systems); st.Scene != "demo" || st.Entities == 0 || len(st.Systems) != pipeline || pipeline == 0 || st.Frame.Width != 1920 {
		t.Errorf("state: scene %q, %d entities, %d systems, frame %v", st.Scene, st.Entities, len(st.Systems), st.Frame)
	}
	// The frame statistics: the world's first composition was the whole
	// frame (the tap makes it so for the viewer too).
	if lc := st.GPU.LastCompose; lc.Tick == 0 || lc.Tiles == 0 || lc.Pixels == 0 || lc.Pixels > 1920*1080 || lc.Tiles*256 < lc.Pixels {
		t.Errorf("last composition %+v", lc)
	}
	// The scheduler's counts: a row per reason, the demo's tasks placed.
	sc := c.awaitState("tasks placed", func(st *viewer.State) bool {
		return len(st.Sched.Migrations) > 0 && st.Sched.Migrations[0].Total > 0
	}).Sched
	if len(sc.Migrations) != 6 || sc.Migrations[0].Reason != "placed" || sc.Migrations[5].Reason != "device-gone" {
		t.Errorf("sched %+v: want the six reasons, placed first", sc)
	}
	// The demo world: its devices and tasks (this machine's fabric and
	// only the guests' vCPU tasks, or the scene's 4 devices and 32
	// synthetic tasks besides), 2 guests, 4 surfaces (theirs among them).
	counts := map[string]int{}
	for _, k := range st.Kinds {
		counts[k.Name] = k.Count
	}
	if counts["Device"] < 1 || counts["FabricNode"] != 0 && counts["FabricNode"] != counts["Device"] || counts["ComputeTask"] != counts["VCPU"]+map[bool]int{true: 32}[counts["FabricNode"] == 0] || counts["Guest"] != 2 || counts["Surface"] != 4 {
		t.Errorf("kinds %v", counts)
	}
	// present: the policy decides per action, naming the rule.
	linux := st.Guests[slices.IndexFunc(st.Guests, func(g viewer.GuestInfo) bool { return g.ID == "linux" })]
	want := map[string]string{"present": "allow", "type": "deny", "shutdown": "confirm", "hide": "allow"}
	for _, d := range linux.Decisions {
		if v, ok := want[d.Action]; ok && v != d.Verdict {
			t.Errorf("linux %s: %s (rule %s), want %s", d.Action, d.Verdict, d.Rule, v)
		}
		if d.Action == "type" && d.Rule != "input.presented" {
			t.Errorf("linux type denied by %q, want input.presented", d.Rule)
		}
	}
	ready := c.awaitMarker("the boot's ready marker", func(it viewer.MarkerItem) bool { return strings.HasPrefix(it.Line, "RAYOS_BOOT:ready") })
	if ready.Tick != 0 || ready.Kind != "RAYOS_BOOT" {
		t.Errorf("ready marker %+v: want tick 0 (before the first tick), kind RAYOS_BOOT", ready)
	}
	// The guests started in the first tick, and their markers say so.
	hidden := c.awaitMarker("linux hidden", func(it viewer.MarkerItem) bool { return it.Line == "RAYOS_GUEST:linux:hidden" })
	if hidden.Tick == 0 {
		t.Errorf("%+v: want the tick that started it", hidden)
	}
	for _, it := range c.markers {
		if m, err := marker.Parse(it.Line); err != nil || m.Kind.Prefix() != it.Kind {
			t.Errorf("marker item %+v does not parse as its kind: %v", it, err)
		}
	}
}

// present from the page goes through the host bridge, the policy and
// the ACKs like `rayos ctl present`: the same HOST_EVENT, policy and ACK
// markers, and the ACK comes back to the page that asked.
func TestActionFromThePageIsAControlRequest(t *testing.T) {
	l := startLive(t, viewer.Config{}, 200)
	c := dial(t, l.srv, l.srv.Token())
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if !hello.Authorized {
		t.Fatal("a client with the token is not authorized")
	}
	c.awaitState("linux hidden", func(st *viewer.State) bool {
		return len(st.Guests) == 2 && st.Guests[0].State == "hidden"
	})
	c.send(viewer.Inbound{T: viewer.InAction, ID: 7, Op: "present", Arg: "linux"})
	var ack viewer.AckMsg
	c.await("the ACK", func(m msg) bool {
		if m.T != viewer.OutAck {
			return false
		}
		m.decode(t, &ack)
		return !ack.Notice
	})
	if ack.ID != 7 || !ack.OK || ack.Line != "RAYOS_HOST_ACK:present:ok:presented" {
		t.Errorf("ack %+v", ack)
	}
	c.awaitState("linux presented", func(st *viewer.State) bool { return st.Guests[0].Presented })

	// The same request on the control socket, for windows.
	conn, err := net.Dial("unix", filepath.Join(l.data, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "present windows\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "RAYOS_HOST_ACK:present:ok:presented\n" {
		t.Fatalf("ctl present windows: %q %v", line, err)
	}
	c.awaitState("windows presented", func(st *viewer.State) bool { return st.Guests[1].Presented })
	// Both requests left the same markers, guest for guest.
	stdout := l.stdout.String()
	for _, vm := range []string{"linux", "windows"} {
		for _, pattern := range []string{
			`RAYOS_HOST_EVENT_V0:present:` + vm + `\n`,
			`RAYOS_AUDIT:policy-allow:action=present guest=` + vm + ` confidence=1\.00 source=\d+ rule=guests\.` + vm + `\.present\n`,
			`RAYOS_GUEST:` + vm + `:presented\n`,
		} {
			if !regexp.MustCompile(pattern).MatchString(stdout) {
				t.Errorf("no %s in the markers:\n%s", pattern, stdout)
			}
		}
	}
	if n := strings.Count(stdout, "RAYOS_HOST_ACK:present:ok:presented\n"); n != 2 {
		t.Errorf("%d present ACKs, want 2 (one per request)", n)
	}
}

// /metrics serves the tick's histograms per system, markers by kind,
// guests by state and GPU bytes per tick, in Prometheus' text format.
func TestMetrics(t *testing.T) {
	l := startLive(t, viewer.Config{}, 200)
	c := dial(t, l.srv, "")
	c.awaitState("a few ticks", func(st *viewer.State) bool { return st.Tick > 5 && st.Guests[0].State == "hidden" })
	resp, err := http.Get("http://" + l.srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, pattern := range []string{
		`(?m)^rayos_tick_duration_seconds_count [1-9]`,
		`(?m)^rayos_system_duration_seconds_bucket\{system="compose",le="\+Inf"\} [1-9]`,
		`(?m)^rayos_system_duration_seconds_count\{system="gpu-submit"\} [1-9]`,
		`(?m)^rayos_markers_total\{kind="RAYOS_BOOT"\} [1-9]`,
		`(?m)^rayos_markers_total\{kind="RAYOS_GUEST"\} [1-9]`,
		`(?m)^rayos_guests\{state="hidden"\} 2$`,
		`(?m)^rayos_gpu_upload_bytes_per_tick_count [1-9]`,
		`(?m)^rayos_gpu_readback_bytes_per_tick_count [1-9]`,
		`(?m)^rayos_viewer_clients 1$`,
		`(?m)^rayos_compositor_pixels_total [1-9]`, // the first composition: the whole frame
		`(?m)^rayos_sched_migrations_total\{reason="placed"\} [1-9]`,
		`(?m)^rayos_sched_migrations_total\{reason="thermal"\} \d`,
		`(?m)^go_goroutines `,
	} {
		if !regexp.MustCompile(pattern).Match(body) {
			t.Errorf("no %s in /metrics", pattern)
		}
	}
	// No pprof without --debug.
	if r, err := http.Get("http://" + l.srv.Addr() + "/debug/pprof/"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without --debug: %v %v", r.Status, err)
	}
}

package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/guests/daemon"
)

// A real libvirtd (private, test driver): the guests start through intents
// at boot, and every control request reaches the hypervisor through the
// policy; the recorded run replays without one.
func TestRealHypervisorThroughTheControlPlane(t *testing.T) {
	d := daemon.Private(t)
	dir := t.TempDir()
	boot(t, dir)
	policyText := `version = 1
[guests.linux]
start = true
present = true
resume = true
shutdown = true
network = false
cpus = 1
memory_mib = 256
inputs = ["type", "press"]
[guests.windows]
start = true
`
	if err := os.WriteFile(filepath.Join(dir, "data", "policy", "rayos-policy.toml"), []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRayos(t, dir, "--hz", "200", "--libvirt-socket", d.Socket, "--libvirt-uri", "test:///default", "--record", "run.rec")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=linux")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}
	for _, s := range []struct {
		args []string
		ack  string
	}{
		{[]string{"type", "linux", "x"}, "RAYOS_HOST_ACK:type:err:denied by policy rule input.presented"},
		{[]string{"present", "linux"}, "RAYOS_HOST_ACK:present:ok:presented"},
		{[]string{"type", "linux", "Hi!"}, "RAYOS_HOST_ACK:type:ok:delivered"},
		{[]string{"press", "linux", "enter"}, "RAYOS_HOST_ACK:press:ok:delivered"},
		{[]string{"suspend", "linux"}, "RAYOS_HOST_ACK:suspend:ok:suspended"},
		{[]string{"resume", "linux"}, "RAYOS_HOST_ACK:resume:ok:hidden"},
		{[]string{"present", "windows"}, "RAYOS_HOST_ACK:present:err:denied by policy rule guests.windows.present"},
		{[]string{"shutdown", "linux"}, "RAYOS_HOST_ACK:shutdown:ok:stopped"},
		{[]string{"status"}, "RAYOS_HOST_ACK:status:ok:linux=stopped windows=hidden"},
	} {
		if res := ctl(s.args...); !strings.HasPrefix(res.stdout, s.ack) {
			t.Errorf("ctl %v: %q (exit %d), want %q", s.args, res.stdout, res.code, s.ack)
		}
	}
	mustContain(t, "markers", r.output(),
		"RAYOS_GUEST:linux:defined\n", "RAYOS_GUEST:linux:hidden\n", "RAYOS_GUEST:linux:presented\n",
		"RAYOS_GUEST:linux:suspended\n", "RAYOS_GUEST:linux:stopped\n")

	// The domain was defined from the registry and the policy.
	drv, err := guests.NewLibvirt(d.Socket, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	x, err := drv.XML("linux")
	drv.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(x, "<interface") || !strings.Contains(x, "<vcpu placement='static'>1</vcpu>") || !strings.Contains(x, "<memory unit='KiB'>262144</memory>") {
		t.Errorf("domain not shaped by the policy:\n%s", x)
	}
	r.stop(t)

	// The hypervisor's results are in the journal: a replay needs none.
	rep := rayos(t, dir, "replay", "run.rec", "--gpu", "cpu")
	if rep.code != 0 {
		t.Fatalf("replay: exit %d\n%s", rep.code, rep.stderr)
	}
	if got, want := fromWorld(rep.stdout), fromWorld(r.output()); got != want {
		t.Errorf("replay differs:\n%s\n---\n%s", got, want)
	}
}

// libvirtd killed mid-run: the world keeps ticking and answering, requests
// that need the hypervisor fail with an err ACK instead of hanging, and
// after libvirtd restarts the supervisor reconnects and reconciles.
func TestHypervisorLossAndReconcile(t *testing.T) {
	d := daemon.Private(t)
	dir := t.TempDir()
	boot(t, dir)
	os.WriteFile(filepath.Join(dir, "data", "policy", "rayos-policy.toml"), []byte("version = 1\n[guests.linux]\nstart = true\nshutdown = true\n[guests.windows]\nstart = true\n"), 0o644)
	r := startRayos(t, dir, "--hz", "100", "--libvirt-socket", d.Socket, "--libvirt-uri", "test:///default")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=linux")
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "RAYOS_AUDIT:hypervisor:lost")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}
	if res := ctl("status"); res.code != 0 {
		t.Errorf("the world stopped answering without its hypervisor: %q", res.stdout)
	}
	if res := ctl("shutdown", "linux"); res.code != 1 || !strings.Contains(res.stdout, "hypervisor is unavailable") {
		t.Errorf("shutdown during the outage: exit %d %q", res.code, res.stdout)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "RAYOS_AUDIT:hypervisor:reconciled")
	// The test driver forgets its domains when libvirtd restarts: the
	// world now agrees that linux is only defined, and it can start again.
	mustContain(t, "markers", r.output(), "RAYOS_GUEST:linux:defined\n")
	if res := ctl("status", "linux"); !strings.Contains(res.stdout, "linux=defined") {
		t.Errorf("status after reconcile: %q", res.stdout)
	}
	if res := ctl("start", "linux"); res.code != 0 {
		t.Errorf("start after reconnect: exit %d %q", res.code, res.stdout)
	}
	r.stop(t)
}

// libvirtd not up yet at boot is not a failed boot: RayOS boots to ready,
// reports the hypervisor unavailable, keeps trying, and once libvirtd is
// up it reconciles and starts the autostart guests (held until then).
func TestBootsBeforeItsHypervisorIsUp(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	os.WriteFile(filepath.Join(dir, "data", "policy", "rayos-policy.toml"), []byte("version = 1\n[guests.linux]\nstart = true\n[guests.windows]\nstart = true\n"), 0o644)
	libvirtDir := t.TempDir()
	socket := filepath.Join(libvirtDir, "run", "libvirt-sock")
	r := startRayos(t, dir, "--hz", "100", "--libvirt-socket", socket, "--libvirt-uri", "test:///default")
	r.waitFor(t, "RAYOS_AUDIT:hypervisor:unavailable")
	if strings.Contains(r.output(), "RAYOS_AUDIT:start:") {
		t.Errorf("autostart was tried without a hypervisor:\n%s", r.output())
	}
	if res := rayos(t, dir, "ctl", "--data", "data", "status"); res.code != 0 {
		t.Errorf("status without a hypervisor: exit %d %q", res.code, res.stdout)
	}
	d, err := daemon.Start(libvirtDir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	r.waitFor(t, "RAYOS_AUDIT:hypervisor:reconciled")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=linux source=")
	r.waitFor(t, "RAYOS_GUEST:linux:hidden")
	r.stop(t)
	state := readFile(t, filepath.Join(dir, "data", "boot", "state.toml"))
	if !strings.Contains(state, "reached_ready = true") {
		t.Errorf("the boot did not count as good:\n%s", state)
	}
}

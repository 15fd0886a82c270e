package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/guests/daemon"
)

// vcpuFabric is this machine's two CPUs as a fabric file, each with room
// for 200: the demo world keeps its 32 synthetic tasks (demand 1–8 each,
// ~144 in all) beside the guest's, and all of them must fit on one CPU for
// a heat spike on the other to move everything off it (at the default
// capacity of 1 per CPU thread, two vCPUs on two CPUs could not make way).
// cpu0 is NUMA node 0, where the guest's memory is, so the vCPUs start near
// it. Temperatures come only from thermal inputs (thermal = "sensors" with
// no sensor here): the journal's spike stands for 30 s.
const vcpuFabric = `version = 1
thermal = "sensors"
[devices.cpu0]
kind = "cpu"
cpu = 0
numa = 0
capacity = 200
[devices.cpu1]
kind = "cpu"
cpu = 1
numa = 1
capacity = 200
`

// heatTick is when the journal heats cpu0: the guest has long been started
// and its vCPUs pinned by then (50 Hz: 30 s).
const heatTick = 1500

var pinAudit = regexp.MustCompile(`RAYOS_AUDIT:pin:guest=linux vcpu=(\d+) cpu=(\d+) result=ok`)

// lastPins is the CPU each vCPU was last pinned to, by the audits in out.
func lastPins(out string) map[int]int {
	pins := map[int]int{}
	for _, m := range pinAudit.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		pins[v] = c
	}
	return pins
}

// The real thing: RayOS attached to a private libvirtd boots the tiny
// Linux guest with 2 vCPUs, places them, and libvirt holds exactly the
// pinning RayOS decided; a heat spike on cpu0 moves the vCPUs on it to
// cpu1, the RAYOS_SCHED marker says thermal, and libvirt follows. A pin
// libvirt refuses (a CPU this host lacks) changes nothing.
func TestVCPUsPinnedWhereRayOSPlacesThem(t *testing.T) {
	cache := testGuest(t)
	d := daemon.Private(t)
	dir := t.TempDir()
	boot(t, dir)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data/vm/registry.toml", testGuestRegistry(cache, 2))
	write("data/policy/rayos-policy.toml", `version = 1
[guests.linux]
start = true
shutdown = true
cpus = "0-1"
max_vcpus = 2
`)
	write("fab.toml", vcpuFabric)
	write("heat.jsonl", `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":50}
`+fmt.Sprintf(`{"tick":%d,"input":{"kind":"thermal","device":0,"celsius":95}}`, heatTick)+"\n")
	r := startRayos(t, dir, "--hz", "50", "--libvirt-socket", d.Socket, "--libvirt-uri", "qemu:///system",
		"--fabric", "fab.toml", "--thermal-sample", "0", "--journal", "heat.jsonl")
	r.waitFor(t, "RAYOS_GUEST:linux:hidden")
	r.waitFor(t, "RAYOS_AUDIT:pin:guest=linux vcpu=0 ")
	r.waitFor(t, "RAYOS_AUDIT:pin:guest=linux vcpu=1 ")

	lv, err := guests.NewLibvirt(d.Socket, "qemu:///system")
	if err != nil {
		t.Fatal(err)
	}
	defer lv.Close()
	// libvirt holds what RayOS last pinned (a pin may still be on its way:
	// compare once the audits and libvirt agree, within a deadline).
	agree := func(stage string) map[int]int {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			want := lastPins(r.output())
			got, err := lv.VCPUPins("linux", 2, 2)
			ok := err == nil && len(got) == 2 && len(want) == 2
			for v := range 2 {
				ok = ok && len(got[v]) == 1 && got[v][0] == want[v]
			}
			if ok {
				return want
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: libvirt pins %v (err %v), RayOS's audits say %v\n%s", stage, got, err, want, r.output())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	before := agree("placed")
	t.Logf("placed: %v", before)
	onCPU0 := 0
	for _, c := range before {
		if c == 0 {
			onCPU0++
		}
	}
	if onCPU0 == 0 {
		t.Fatalf("no vCPU near the guest's memory on cpu0 before the spike: %v", before)
	}

	// The spike: every vCPU on cpu0 moves to cpu1, for the thermal reason.
	for v, c := range before {
		if c == 0 {
			r.waitFor(t, fmt.Sprintf("RAYOS_SCHED:linux/vcpu%d:cpu0->cpu1:thermal", v))
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		after := lastPins(r.output())
		if after[0] == 1 && after[1] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vCPUs not pinned away from the hot cpu0: %v\n%s", after, r.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if after := agree("after the spike"); after[0] != 1 || after[1] != 1 {
		t.Errorf("after the spike: %v", after)
	}

	// Bad input: a CPU this 2-CPU host lacks is refused by libvirt, and
	// the pinning stays what it was.
	if err := lv.PinVCPU("linux", 0, 63); err == nil {
		t.Error("libvirt pinned vCPU 0 to CPU 63 of a 2-CPU host")
	} else {
		t.Logf("pin to cpu 63 refused: %v", err)
	}
	if got, err := lv.VCPUPins("linux", 2, 2); err != nil || len(got) != 2 || len(got[0]) != 1 || got[0][0] != 1 {
		t.Errorf("after a refused pin, libvirt holds %v (err %v), want vCPU 0 still on cpu 1", got, err)
	}
	mustContain(t, "markers", r.output(), "RAYOS_AUDIT:pin:guest=linux vcpu=emulator ")
	r.stop(t)
}

package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rimage "github.com/rayos/engine/boot/image"
)

// machine is `rayos image boot` running in the background, its serial
// console collected line by line.
type machine struct {
	t      *testing.T
	cmd    *exec.Cmd
	qmp    string
	mu     sync.Mutex
	lines  []string
	more   chan struct{} // closed and replaced at each new line
	done   chan struct{}
	err    error
	stderr bytes.Buffer
}

// bootImage starts `rayos image boot img args…` with a QMP socket.
func bootImage(t *testing.T, img string, args ...string) *machine {
	t.Helper()
	m := &machine{t: t, qmp: filepath.Join(t.TempDir(), "qmp.sock"), more: make(chan struct{}), done: make(chan struct{})}
	m.cmd = exec.Command(rayosBin, append([]string{"image", "boot", img, "--qmp", m.qmp, "--timeout", "6m"}, args...)...)
	m.cmd.Env = withoutRayosData()
	m.cmd.Stderr = &m.stderr
	out, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m.mu.Lock()
			m.lines = append(m.lines, sc.Text())
			close(m.more)
			m.more = make(chan struct{})
			m.mu.Unlock()
		}
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() {
		select {
		case <-m.done:
		default:
			m.cmd.Process.Kill()
			<-m.done
		}
	})
	return m
}

// waitFor waits for a console line matching re after line from (an index
// into the lines) and returns its index.
func (m *machine) waitFor(re string, from int, timeout time.Duration) int {
	m.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(timeout)
	for {
		m.mu.Lock()
		for i := from; i < len(m.lines); i++ {
			if rx.MatchString(m.lines[i]) {
				m.mu.Unlock()
				return i
			}
		}
		from = max(from, len(m.lines))
		more := m.more
		m.mu.Unlock()
		select {
		case <-more:
		case <-m.done:
			m.mu.Lock()
			n := len(m.lines)
			m.mu.Unlock()
			if from >= n {
				m.t.Fatalf("the machine stopped (%v) before a line matching %q; stderr: %s\nconsole tail:\n%s", m.err, re, m.stderr.String(), m.tail(40))
			}
		case <-deadline:
			m.t.Fatalf("no line matching %q within %s; console tail:\n%s", re, timeout, m.tail(40))
		}
	}
}

// count is how many console lines match re.
func (m *machine) count(re string) int {
	rx := regexp.MustCompile(re)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.lines {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

func (m *machine) tail(n int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.lines[max(0, len(m.lines)-n):], "\n")
}

// wait waits for `rayos image boot` to end and returns its exit status.
func (m *machine) wait(timeout time.Duration) int {
	m.t.Helper()
	select {
	case <-m.done:
	case <-time.After(timeout):
		m.t.Fatalf("rayos image boot still running after %s; console tail:\n%s", timeout, m.tail(30))
	}
	if m.err == nil {
		return 0
	}
	if ee, ok := m.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	m.t.Fatal(m.err)
	return -1
}

func (m *machine) dialQMP() *rimage.QMP {
	m.t.Helper()
	q, err := rimage.DialQMP(m.qmp, 30*time.Second)
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() { q.Close() })
	return q
}

// typeText types s on the machine's keyboard, one key at a time.
func typeText(t *testing.T, q *rimage.QMP, s string) {
	t.Helper()
	for _, r := range s {
		var keys []string
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			keys = []string{string(r)}
		case r == ' ':
			keys = []string{"spc"}
		case r == '?':
			keys = []string{"shift", "slash"}
		case r == '\n':
			keys = []string{"ret"}
		default:
			t.Fatalf("typeText: no key for %q", r)
		}
		if err := q.SendKeys(keys...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond) // send-key holds each key 100 ms
	}
}

// readPPM reads a binary PPM (P6, maxval 255), QEMU's screendump format.
func readPPM(t *testing.T, path string) *image.RGBA {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(bytes.NewReader(data))
	var magic string
	var w, h, maxval int
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxval); err != nil || magic != "P6" || maxval != 255 {
		t.Fatalf("%s: not a P6 PPM with maxval 255 (%q %d×%d max %d): %v", path, magic, w, h, maxval, err)
	}
	r.ReadByte() // the single whitespace after the header
	pix := make([]byte, 3*w*h)
	if _, err := io.ReadFull(r, pix); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = pix[3*i], pix[3*i+1], pix[3*i+2], 255
	}
	return img
}

// dataPartition runs debugfs on the image's RayOS Data partition (at its
// offset: no mount, no root) and returns its output.
func dataPartition(t *testing.T, img string, requests ...string) string {
	t.Helper()
	out, err := exec.Command("sgdisk", "-i", "2", img).CombinedOutput()
	if err != nil {
		t.Fatalf("sgdisk -i 2 %s: %v: %s", img, err, out)
	}
	m := regexp.MustCompile(`First sector: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("sgdisk: no first sector in %s", out)
	}
	first, _ := strconv.ParseInt(string(m[1]), 10, 64)
	cmds := filepath.Join(t.TempDir(), "debugfs.cmds")
	os.WriteFile(cmds, []byte(strings.Join(requests, "\n")+"\n"), 0o644)
	args := []string{"-f", cmds, fmt.Sprintf("%s?offset=%d", img, first*512)}
	for _, r := range requests {
		if strings.HasPrefix(r, "write ") || strings.HasPrefix(r, "rm ") {
			args = append([]string{"-w"}, args...)
			break
		}
	}
	out, err = exec.Command("debugfs", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs %v: %v: %s", args, err, out)
	}
	return string(out)
}

// near says a pixel is within tol of c in every channel.
func near(p color.RGBA, c [3]uint8, tol int) bool {
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	return d(p.R, c[0]) <= tol && d(p.G, c[1]) <= tol && d(p.B, c[2]) <= tol
}

// TestImageBootsInQEMU is the installed system, end to end: the image is
// built, booted in QEMU under software emulation with OVMF and
// systemd-boot, and driven only from outside — its keyboard, its power
// button and its screen — while the serial console is read:
//
//  1. the default entry boots through RAYOS_BOOT:ready on a fresh data
//     partition; the screen shows RayOS's composed frame; words typed on
//     the machine's keyboard reach RayOS's prompt and are understood
//     (RAYOS_INTENT on the console), presenting the linux guest, whose
//     orange trust border then appears on the screen; the mouse moved onto
//     that window and clicked reaches the guest; the power button
//     shuts RayOS down and powers the machine off (exit status 0);
//  2. the recovery entry, chosen once through systemd-boot's one-shot EFI
//     variable, boots in recovery on the data the first boot left;
//  3. a broken registry on the data partition makes the default entry
//     fail: the machine restarts by itself, and after three failures the
//     fourth boot falls back to previous and comes up;
//  4. a runtime that panics leaves its crash report on the data partition
//     and the harness exits with the runtime's status.
func TestImageBootsInQEMU(t *testing.T) {
	needImageTools(t)
	for _, c := range []struct{ path, pkg string }{
		{"qemu-system-x86_64", "qemu-system-x86"}, {rimage.DefaultFirmware, "ovmf"}, {"debugfs", "e2fsprogs"},
	} {
		var err error
		if strings.HasPrefix(c.path, "/") {
			_, err = os.Stat(c.path)
		} else {
			_, err = exec.LookPath(c.path)
		}
		if err != nil {
			t.Fatalf("%s missing: install Debian package %s (make deps)", c.path, c.pkg)
		}
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "rayos.img")
	if r := rayos(t, dir, "image", "build", "--out", img); r.code != 0 {
		t.Fatalf("image build: %d %s", r.code, r.stderr)
	}

	// The reference: the same compositor's frame of the same scene on
	// this machine, for the colours of RayOS's own surfaces.
	ref := filepath.Join(dir, "ref.png")
	if r := rayos(t, dir, "boot", "--data", filepath.Join(dir, "host-data"), "--ticks", "3", "--gpu", "cpu", "--fabric", "scene", "--frame", ref); r.code != 0 {
		t.Fatalf("reference frame: %d %s", r.code, r.stderr)
	}

	t.Run("normal", func(t *testing.T) {
		m := bootImage(t, img)
		ready := m.waitFor(`^RAYOS_BOOT:ready:`, 0, 3*time.Minute)
		for _, want := range []string{`^RAYOS_BOOT:data-mounted:layout=1 created=true`, `^RAYOS_BOOT:entry:normal failures=0`} {
			if m.count(want) != 1 {
				t.Errorf("console lacks %q", want)
			}
		}
		q := m.dialQMP()
		_ = checkScreen(t, q, filepath.Join(dir, "screen-boot.ppm"), ref, false)

		typeText(t, q, "show the linux desktop\n")
		m.waitFor(`^RAYOS_INTENT:\d+:present:linux:`, ready, time.Minute)
		m.waitFor(`^RAYOS_GUEST:linux:presented`, ready, time.Minute)
		box := checkScreen(t, q, filepath.Join(dir, "screen-linux.ppm"), ref, true)

		// The mouse: to the top-left corner (the pointer stops at the
		// frame's edge), then to the middle of linux's window, and a
		// click — a pointer input the broker routes to the guest.
		moveMouse(t, q, -4000, -4000)
		fx, fy := box.frameCentre()
		moveMouse(t, q, fx, fy)
		clickMouse(t, q)
		m.waitFor(`^RAYOS_AUDIT:click:guest=linux source=\d+ result=ok`, ready, time.Minute)

		if err := q.PowerDown(); err != nil {
			t.Fatal(err)
		}
		m.waitFor(`^RAYOS_BOOT:shutdown:reason=signal-power-button`, ready, time.Minute)
		m.waitFor(`^RAYOS_BOOT:halt:status=0 action=poweroff`, ready, time.Minute)
		if code := m.wait(time.Minute); code != 0 {
			t.Fatalf("rayos image boot exited %d after a clean shutdown; stderr %s", code, m.stderr.String())
		}
	})
	if t.Failed() {
		return
	}

	t.Run("recovery", func(t *testing.T) {
		m := bootImage(t, img, "--entry", "recovery")
		ready := m.waitFor(`^RAYOS_BOOT:ready:`, 0, 3*time.Minute)
		for _, want := range []string{`^RAYOS_BOOT:bootinfo:.* entry=recovery`, `^RAYOS_BOOT:data-mounted:layout=1 created=false`, `^RAYOS_BOOT:entry:recovery`} {
			if m.count(want) != 1 {
				t.Errorf("console lacks %q", want)
			}
		}
		if err := m.dialQMP().PowerDown(); err != nil {
			t.Fatal(err)
		}
		m.waitFor(`^RAYOS_BOOT:halt:status=0 action=poweroff`, ready, time.Minute)
		if code := m.wait(time.Minute); code != 0 {
			t.Fatalf("exit %d", code)
		}
		// systemd-boot consumed the one-shot variable: the next boot is the default.
		if v, set, err := rimage.GetVariable(img+".vars", rimage.OneShotVariable, rimage.LoaderGUID); err != nil || set {
			t.Errorf("LoaderEntryOneShot after the boot: %q set=%v err=%v, want consumed", v, set, err)
		}
		// Persistence: the data partition holds both boots' markers.
		log := dataPartition(t, img, "cat /logs/markers.log")
		if n := strings.Count(log, "RAYOS_BOOT:start:"); n != 2 {
			t.Errorf("markers.log on the data partition has %d boots, want 2:\n%s", n, log)
		}
		if n := strings.Count(log, "RAYOS_BOOT:halt:status=0 action=poweroff"); n != 2 {
			t.Errorf("markers.log has %d clean halts, want 2", n)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("fallback-to-previous", func(t *testing.T) {
		bad := filepath.Join(dir, "bad-registry.toml")
		os.WriteFile(bad, []byte("version = 1\n[vm.linux]\nos = \"plan9\"\n"), 0o644)
		dataPartition(t, img, "rm /vm/registry.toml", "write "+bad+" /vm/registry.toml")
		m := bootImage(t, img)
		last := 0
		for i := 1; i <= 3; i++ {
			last = m.waitFor(`^RAYOS_BOOT:failed:stage=registry-loaded`, last, 3*time.Minute) + 1
			last = m.waitFor(`^RAYOS_BOOT:halt:status=[1-9]\d* action=reboot`, last, time.Minute) + 1
		}
		m.waitFor(`^RAYOS_BOOT:fallback:entry=previous because normal failed 3 times`, last, 3*time.Minute)
		m.waitFor(`^RAYOS_BOOT:entry:previous`, last, time.Minute)
		ready := m.waitFor(`^RAYOS_BOOT:ready:`, last, time.Minute)
		if n := m.count(`^RAYOS_BOOT:start:`); n != 4 {
			t.Errorf("%d boots, want 4 (three failures, then previous)", n)
		}
		if err := m.dialQMP().PowerDown(); err != nil {
			t.Fatal(err)
		}
		m.waitFor(`^RAYOS_BOOT:halt:status=0 action=poweroff`, ready, time.Minute)
		if code := m.wait(time.Minute); code != 0 {
			t.Fatalf("exit %d", code)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("crash", func(t *testing.T) {
		// The recovery entry, once, with the runtime's panic hook on its
		// command line (written into the ESP like an update would): the
		// runtime panics before ready, its crash report lands on the data
		// partition, PID 1 restarts the machine (--no-reboot ends the run
		// there) and the harness exits with the runtime's status.
		entry := filepath.Join(dir, "recovery.conf")
		orig := espFile(t, img, "loader/entries/recovery.conf")
		os.WriteFile(entry, bytes.Replace(orig, []byte("rayos.entry=recovery"), []byte("rayos.entry=recovery rayos.debug-panic=before-ready"), 1), 0o644)
		putESPFile(t, img, entry, "loader/entries/recovery.conf")
		defer func() {
			os.WriteFile(entry, orig, 0o644)
			putESPFile(t, img, entry, "loader/entries/recovery.conf")
		}()
		m := bootImage(t, img, "--entry", "recovery", "--no-reboot")
		at := m.waitFor(`^RAYOS_BOOT:crash:crash/\S+\.txt$`, 0, 3*time.Minute)
		m.waitFor(`^RAYOS_BOOT:halt:status=1 action=reboot`, at, time.Minute)
		if code := m.wait(time.Minute); code != 1 {
			t.Fatalf("rayos image boot exited %d, want the runtime's status 1", code)
		}
		if m.count(`^RAYOS_BOOT:ready:`) != 0 {
			t.Error("the panicking boot reached ready")
		}
		listing := dataPartition(t, img, "ls -l /crash")
		name := regexp.MustCompile(`\d{8}T\d{6}\.\d{9}Z\.txt`).FindString(listing)
		if name == "" {
			t.Fatalf("no crash report on the data partition:\n%s", listing)
		}
		report := dataPartition(t, img, "cat /crash/"+name)
		for _, want := range []string{"RayOS crash report", "entry:   recovery", "debug panic before ready", "RAYOS_BOOT:services-started"} {
			if !strings.Contains(report, want) {
				t.Errorf("crash report lacks %q:\n%s", want, report)
			}
		}
	})
}

// espFile reads a file of the image's EFI system partition with mtools
// (at the partition's offset: no mount).
func espFile(t *testing.T, img, name string) []byte {
	t.Helper()
	cmd := exec.Command("mtype", "-i", fmt.Sprintf("%s@@%d", img, rimage.ESPOffset), "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mtype %s: %v", name, err)
	}
	return out
}

// putESPFile replaces a file of the image's EFI system partition.
func putESPFile(t *testing.T, img, src, name string) {
	t.Helper()
	cmd := exec.Command("mcopy", "-o", "-i", fmt.Sprintf("%s@@%d", img, rimage.ESPOffset), src, "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mcopy %s: %v: %s", name, err, out)
	}
}

// checkScreen takes screendumps until one shows RayOS's frame (the first
// compositions reach the framebuffer a moment after ready), for at most a
// minute: the background and the top bar in the reference frame's
// colours, and, when presented, the linux guest's orange trust border
// around a window.
func checkScreen(t *testing.T, q *rimage.QMP, path, refPNG string, linuxShown bool) windowBox {
	t.Helper()
	f, err := os.Open(refPNG)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	refImg, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if err := q.Screendump(path); err != nil {
			t.Fatal(err)
		}
		screen := readPPM(t, path)
		problems, box := screenProblems(screen, refImg, linuxShown)
		if len(problems) == 0 {
			return box
		}
		if time.Now().After(deadline) {
			png.Encode(mustCreate(t, strings.TrimSuffix(path, ".ppm")+".png"), screen) // for a person looking at the failure
			t.Fatalf("%s after a minute:\n%s", path, strings.Join(problems, "\n"))
		}
		time.Sleep(time.Second)
	}
}

// windowBox is the orange trust border's box on the screen, and how the
// screen maps to the frame.
type windowBox struct {
	minX, minY, maxX, maxY int
	scale, ox, oy          float64
}

// frameCentre is the box's middle in frame pixels.
func (b windowBox) frameCentre() (int, int) {
	return int((float64(b.minX+b.maxX)/2 - b.ox) / b.scale), int((float64(b.minY+b.maxY)/2 - b.oy) / b.scale)
}

// screenProblems lists what the screen lacks of the frame, and the linux
// window's box when it is shown.
func screenProblems(screen *image.RGBA, refImg image.Image, linuxShown bool) ([]string, windowBox) {
	var problems []string
	sw, sh := screen.Bounds().Dx(), screen.Bounds().Dy()
	fw, fh := refImg.Bounds().Dx(), refImg.Bounds().Dy()
	// The frame is scaled to fit, centred, aspect kept.
	scale := min(float64(sw)/float64(fw), float64(sh)/float64(fh))
	ox, oy := (float64(sw)-scale*float64(fw))/2, (float64(sh)-scale*float64(fh))/2
	at := func(fx, fy int) color.RGBA {
		return screen.RGBAAt(int(ox+scale*(float64(fx)+0.5)), int(oy+scale*(float64(fy)+0.5)))
	}
	rgb := func(c color.Color) [3]uint8 {
		r, g, b, _ := c.RGBA()
		return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
	}
	// Points of the frame that only RayOS draws: the top bar (its middle,
	// away from the prompt's text) and the background near the bottom
	// corners.
	for _, p := range [][2]int{{fw / 2, 20}, {fw - 200, 12}, {10, fh - 10}, {fw - 10, fh - 10}} {
		want := rgb(refImg.At(p[0], p[1]))
		if got := at(p[0], p[1]); !near(got, want, 6) {
			problems = append(problems, fmt.Sprintf("frame point %v shows %v, the compositor draws %v there", p, got, want))
		}
	}
	if !linuxShown {
		return problems, windowBox{}
	}
	orange := [3]uint8{251, 140, 0}
	minX, minY, maxX, maxY, n := sw, sh, -1, -1, 0
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			if near(screen.RGBAAt(x, y), orange, 12) {
				n++
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	if n == 0 || maxX-minX < 100 || maxY-minY < 80 {
		return append(problems, fmt.Sprintf("no orange trust border of a window (%d orange pixels in %d,%d–%d,%d)", n, minX, minY, maxX, maxY)), windowBox{}
	}
	// A border: the box's left and right columns are orange most of the way down.
	for _, x := range []int{minX, maxX} {
		k := 0
		for y := minY; y <= maxY; y++ {
			if near(screen.RGBAAt(x, y), orange, 12) {
				k++
			}
		}
		if k < (maxY-minY)*8/10 {
			problems = append(problems, fmt.Sprintf("column %d of the orange box is orange on %d of %d rows: not a border", x, k, maxY-minY+1))
		}
	}
	return problems, windowBox{minX, minY, maxX, maxY, scale, ox, oy}
}

// moveMouse moves the machine's PS/2 mouse by dx, dy (frame pixels: the
// evdev pointer moves one pixel per count), in small steps as a hand would.
func moveMouse(t *testing.T, q *rimage.QMP, dx, dy int) {
	t.Helper()
	for dx != 0 || dy != 0 {
		sx, sy := max(-60, min(60, dx)), max(-60, min(60, dy))
		if _, err := q.Do("input-send-event", map[string]any{"events": []map[string]any{
			{"type": "rel", "data": map[string]any{"axis": "x", "value": sx}},
			{"type": "rel", "data": map[string]any{"axis": "y", "value": sy}},
		}}); err != nil {
			t.Fatal(err)
		}
		dx, dy = dx-sx, dy-sy
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}

// clickMouse presses and releases the left button.
func clickMouse(t *testing.T, q *rimage.QMP) {
	t.Helper()
	for _, down := range []bool{true, false} {
		if _, err := q.Do("input-send-event", map[string]any{"events": []map[string]any{
			{"type": "btn", "data": map[string]any{"button": "left", "down": down}},
		}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustCreate(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

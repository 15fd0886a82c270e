package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/rayos/engine/boot/image"
)

// needImageTools fails the test when the Debian packages the image build needs are
// missing (make deps installs them).
func needImageTools(t *testing.T) {
	t.Helper()
	for _, c := range []struct{ path, pkg string }{
		{"mkfs.fat", "dosfstools"}, {"mcopy", "mtools"}, {"sgdisk", "gdisk"}, {"mke2fs", "e2fsprogs"},
		{"/usr/lib/systemd/boot/efi/systemd-bootx64.efi", "systemd-boot-efi"},
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
	if m, _ := filepath.Glob("/boot/vmlinuz-*"); len(m) == 0 {
		t.Fatal("no /boot/vmlinuz-*: install Debian package linux-image-amd64 (make deps)")
	}
}

// gptPart is one used GPT partition entry.
type gptPart struct {
	typ, name   string
	first, last uint64 // LBAs, inclusive
}

// guid formats a GPT GUID (first three fields little-endian).
func guid(b []byte) string {
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16]))
}

// readGPT parses the primary GPT header at LBA 1 and its entries, checking
// the signature and both CRCs.
func readGPT(t *testing.T, disk []byte) []gptPart {
	t.Helper()
	h := disk[512:1024]
	if string(h[:8]) != "EFI PART" {
		t.Fatalf("LBA 1 signature %q, want \"EFI PART\"", h[:8])
	}
	hsize := binary.LittleEndian.Uint32(h[12:16])
	hdr := bytes.Clone(h[:hsize])
	binary.LittleEndian.PutUint32(hdr[16:20], 0)
	if got, want := crc32.ChecksumIEEE(hdr), binary.LittleEndian.Uint32(h[16:20]); got != want {
		t.Errorf("GPT header CRC %08x, stored %08x", got, want)
	}
	lba := binary.LittleEndian.Uint64(h[72:80])
	n := binary.LittleEndian.Uint32(h[80:84])
	size := binary.LittleEndian.Uint32(h[84:88])
	table := disk[lba*512 : lba*512+uint64(n*size)]
	if got, want := crc32.ChecksumIEEE(table), binary.LittleEndian.Uint32(h[88:92]); got != want {
		t.Errorf("GPT entries CRC %08x, stored %08x", got, want)
	}
	var parts []gptPart
	for i := range n {
		e := table[i*size : (i+1)*size]
		if bytes.Equal(e[:16], make([]byte, 16)) {
			continue
		}
		u := make([]uint16, 36)
		for j := range u {
			u[j] = binary.LittleEndian.Uint16(e[56+2*j:])
		}
		name := strings.TrimRight(string(utf16.Decode(u)), "\x00")
		parts = append(parts, gptPart{guid(e[:16]), name, binary.LittleEndian.Uint64(e[32:40]), binary.LittleEndian.Uint64(e[40:48])})
	}
	return parts
}

func TestImageBuild(t *testing.T) {
	needImageTools(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "rayos.img")
	r := rayos(t, dir, "image", "build", "--out", out, "--data-size", "32")
	if r.code != 0 {
		t.Fatalf("image build: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "built "+out+": ") {
		t.Errorf("stdout %q, want the built line", r.stdout)
	}
	disk, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	parts := readGPT(t, disk)
	if len(parts) != 2 {
		t.Fatalf("GPT has %d partitions, want 2: %+v", len(parts), parts)
	}
	esp, data := parts[0], parts[1]
	if esp.typ != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" || esp.name != "EFI System" || esp.first != 2048 {
		t.Errorf("partition 1 = %+v, want the EFI system partition at LBA 2048", esp)
	}
	if data.typ != "0FC63DAF-8483-4772-8E79-3D69D8477DE4" || data.name != "RayOS Data" || data.first <= esp.last {
		t.Errorf("partition 2 = %+v, want the Linux RayOS Data partition after the ESP", data)
	}
	if got := (data.last - data.first + 1) * 512; got != 32<<20 {
		t.Errorf("data partition is %d bytes, want 32 MiB", got)
	}
	if uint64(len(disk)) < (data.last+34)*512 {
		t.Errorf("disk of %d bytes has no room for the backup GPT after LBA %d", len(disk), data.last)
	}

	// The data partition: an ext4 superblock (magic 0xEF53) labelled RAYOS_DATA.
	sb := disk[data.first*512+1024:]
	if binary.LittleEndian.Uint16(sb[56:58]) != 0xEF53 {
		t.Errorf("data partition has no ext superblock")
	}
	if label := strings.TrimRight(string(sb[120:136]), "\x00"); label != "RAYOS_DATA" {
		t.Errorf("data partition label %q, want RAYOS_DATA", label)
	}

	// The ESP, read with mtools at its offset (no mounting).
	at := fmt.Sprintf("%s@@%d", out, esp.first*512)
	mtools := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(args[0], append([]string{"-i", at}, args[1:]...)...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return b
	}
	listing := string(mtools("mdir", "-/", "-b", "::/"))
	for _, f := range []string{"::/EFI/BOOT/BOOTX64.EFI", "::/loader/loader.conf", "::/vmlinuz", "::/initrd.gz",
		"::/loader/entries/normal.conf", "::/loader/entries/recovery.conf", "::/loader/entries/previous.conf"} {
		if !strings.Contains(listing, f+"\n") {
			t.Errorf("ESP lacks %s; it holds:\n%s", f, listing)
		}
	}
	if got := string(mtools("mtype", "::/loader/loader.conf")); got != "default normal.conf\ntimeout 0\neditor no\n" {
		t.Errorf("loader.conf = %q", got)
	}
	for name, title := range map[string]string{"normal": "RayOS", "recovery": "RayOS (recovery)", "previous": "RayOS (previous)"} {
		entry := " rayos.entry=" + name
		if name == "normal" {
			entry = "" // the default entry lets the runtime choose (boot counting)
		}
		want := "title " + title + "\nlinux /vmlinuz\ninitrd /initrd.gz\noptions console=ttyS0 loglevel=4 panic=10" + entry + " rayos.data=LABEL=RAYOS_DATA\n"
		if got := string(mtools("mtype", "::/loader/entries/"+name+".conf")); got != want {
			t.Errorf("%s.conf = %q, want %q", name, got, want)
		}
	}
	boot, _ := os.ReadFile(image.DefaultBootloader)
	if got := mtools("mtype", "::/EFI/BOOT/BOOTX64.EFI"); !bytes.Equal(got, boot) {
		t.Errorf("BOOTX64.EFI (%d bytes) is not systemd-boot (%d bytes)", len(got), len(boot))
	}
	if k := mtools("mtype", "::/vmlinuz"); len(k) < 1<<20 || string(k[:2]) != "MZ" {
		t.Errorf("vmlinuz: %d bytes, not a bzImage with its EFI stub", len(k))
	}

	// The initramfs: /init is the rayos binary, with its libraries.
	zr, err := gzip.NewReader(bytes.NewReader(mtools("mtype", "::/initrd.gz")))
	if err != nil {
		t.Fatalf("initrd.gz: %v", err)
	}
	entries, err := image.ReadCPIO(zr)
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := os.ReadFile(rayosBin)
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name] = true
		if e.Name == "init" && !bytes.Equal(e.Data, bin) {
			t.Errorf("/init (%d bytes) is not the rayos binary (%d bytes)", len(e.Data), len(bin))
		}
	}
	libs, err := image.SharedLibs(rayosBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append([]string{"init", "proc", "sys", "dev", "dev/console", "var/rayos", "lib/modules/load",
		"lib/modules/virtio_blk.ko", "lib/modules/virtio_pci.ko", "lib/modules/ext4.ko", "lib/modules/jbd2.ko", "lib/modules/crc32c_generic.ko", "lib/modules/evdev.ko"}, libs...) {
		if !names[strings.TrimPrefix(want, "/")] {
			t.Errorf("initramfs lacks %s", want)
		}
	}
}

// TestImageBuildBadInput: bad flags exit 2, a missing kernel or tool exits
// 1 naming it, and a failed build leaves an earlier image untouched.
func TestImageBuildBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rayos.img")
	for _, args := range [][]string{
		{"image", "build"},
		{"image", "build", "--out", out, "--data-size", "4"},
		{"image", "build", "--out", out, "--data-size", "-1"},
		{"image", "build", "--out", out, "--no-such-flag"},
		{"image", "build", "--out", out, "extra"},
	} {
		r := rayos(t, dir, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "rayos: ") {
			t.Errorf("rayos %s: exit %d, want 2 with an error\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if err := os.WriteFile(out, []byte("earlier image"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "image", "build", "--out", out, "--kernel", filepath.Join(dir, "no-vmlinuz"))
	if r.code != 1 || !strings.Contains(r.stderr, "--kernel "+filepath.Join(dir, "no-vmlinuz")) || !strings.Contains(r.stderr, "linux-image-amd64") {
		t.Errorf("missing kernel: exit %d, want 1 naming the kernel and its package\n%s", r.code, r.stderr)
	}
	// A kernel whose modules cannot be found: named, with --modules.
	odd := filepath.Join(dir, "my-kernel")
	os.WriteFile(odd, []byte("not really a kernel"), 0o644)
	r = rayos(t, dir, "image", "build", "--out", out, "--kernel", odd)
	if r.code != 1 || !strings.Contains(r.stderr, "not named vmlinuz-<release>") || !strings.Contains(r.stderr, "--modules") {
		t.Errorf("kernel without a release in its name: exit %d, want 1 pointing at --modules\n%s", r.code, r.stderr)
	}
	r = rayos(t, dir, "image", "build", "--out", out, "--kernel", odd, "--modules", filepath.Join(dir, "no-modules"))
	if r.code != 1 || !strings.Contains(r.stderr, "--modules "+filepath.Join(dir, "no-modules")) {
		t.Errorf("missing module folder: exit %d, want 1 naming it\n%s", r.code, r.stderr)
	}
	empty := t.TempDir()
	r = rayos(t, dir, "image", "build", "--out", out, "--kernel", odd, "--modules", empty)
	if r.code != 1 || !strings.Contains(r.stderr, "modules.dep") {
		t.Errorf("module folder without modules.dep: exit %d, want 1 naming it\n%s", r.code, r.stderr)
	}
	r = rayos(t, dir, "image", "build", "--out", filepath.Join(dir, "no-folder", "rayos.img"))
	if r.code != 1 || !strings.Contains(r.stderr, "no-folder") {
		t.Errorf("missing folder: exit %d, want 1 naming it\n%s", r.code, r.stderr)
	}
	// No tools on PATH: the first missing one is named with its package.
	if m, _ := filepath.Glob("/boot/vmlinuz-*"); len(m) > 0 {
		if _, err := os.Stat(image.DefaultBootloader); err == nil {
			r = rayosEnv(t, dir, []string{"PATH=" + t.TempDir()}, "image", "build", "--out", out)
			if r.code != 1 || !strings.Contains(r.stderr, "not found on PATH (Debian package") {
				t.Errorf("empty PATH: exit %d, want 1 naming a missing tool\n%s", r.code, r.stderr)
			}
		}
	}
	if b, _ := os.ReadFile(out); string(b) != "earlier image" {
		t.Errorf("a failed build changed %s", out)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".rayos-image-*"))
	if len(left) != 0 {
		t.Errorf("failed builds left %q", left)
	}
}

// TestImageBootRefusals: what a careless call of rayos image boot gets —
// a usage error (exit 2) or an error naming the file (exit 1) — before
// QEMU starts, with nothing changed on disk.
func TestImageBootRefusals(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	os.WriteFile(img, make([]byte, 1<<20), 0o644)
	garbage := filepath.Join(dir, "garbage.vars")
	os.WriteFile(garbage, []byte("not EFI variables"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"image", "boot"}, 2, "the disk image"},
		{[]string{"image", "boot", img, "--entry", "sideways"}, 2, `--entry "sideways"`},
		{[]string{"image", "boot", img, "--memory", "10"}, 2, "--memory 10"},
		{[]string{"image", "boot", img, "--timeout", "-1s"}, 2, "--timeout"},
		{[]string{"image", "boot", filepath.Join(dir, "missing.img")}, 1, "missing.img"},
		{[]string{"image", "boot", dir}, 1, "not a regular file"},
		{[]string{"image", "boot", img, "--vars", garbage}, 1, "garbage.vars: not an OVMF variable file"},
		{[]string{"image", "boot", img, "--vars", garbage, "--entry", "recovery"}, 1, "not an OVMF variable file"},
	} {
		r := rayos(t, dir, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("rayos %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.want)
		}
	}
	if b, _ := os.ReadFile(garbage); string(b) != "not EFI variables" {
		t.Error("a refused variable file was changed")
	}
	if _, err := os.Stat(img + ".vars"); err == nil {
		t.Error("a refused boot made a variable store")
	}
}

// TestImageBootStdoutClosed: `rayos image boot IMG | head -1` — stdout
// closed while the machine runs — is not SIGPIPE killing the harness
// (which would leave the machine running, or cut its power): the harness
// says so, tries the power button, and exits with an error of its own.
// QEMU is a stand-in here, a script that prints console lines and has no
// QMP, so the power button fails and the harness stops it.
func TestImageBootStdoutClosed(t *testing.T) {
	if _, err := os.Stat(image.DefaultVarsTemplate); err != nil {
		t.Fatalf("%s: %v (install Debian package ovmf: make deps)", image.DefaultVarsTemplate, err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	fake := "#!/bin/sh\necho $$ > " + filepath.Join(dir, "qemu.pid") + "\nwhile :; do echo RAYOS_BOOT:start:entry=normal; sleep 0.05; done\n"
	if err := os.WriteFile(filepath.Join(bin, "qemu-system-x86_64"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "disk.img")
	disk := make([]byte, 1<<20)
	copy(disk[512:], "EFI PART")
	os.WriteFile(img, disk, 0o644)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader is gone before the first line
	cmd := exec.Command(rayosBin, "image", "boot", img, "--timeout", "1m")
	cmd.Env = append(withoutRayosData(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	w.Close()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("the harness died of signal %v; stderr %q", ws.Signal(), stderr.String())
	}
	if err == nil || !strings.Contains(stderr.String(), "stdout closed") {
		t.Errorf("exit %v, stderr %q; want an error saying stdout closed", err, stderr.String())
	}
	if log, _ := os.ReadFile(img + ".log"); !strings.Contains(string(log), "RAYOS_BOOT:start:") {
		t.Errorf("log %q: want the console in the log", log)
	}
}

// TestImageBootHangup: the terminal closing (SIGHUP) is a request to shut
// down, like Ctrl+C — not the harness dying and leaving QEMU behind. The
// stand-in QEMU has no QMP, so the power button fails and the harness
// stops it: an error exit, with QEMU gone.
func TestImageBootHangup(t *testing.T) {
	if _, err := os.Stat(image.DefaultVarsTemplate); err != nil {
		t.Fatalf("%s: %v (install Debian package ovmf: make deps)", image.DefaultVarsTemplate, err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	pidFile := filepath.Join(dir, "qemu.pid")
	fake := "#!/bin/sh\necho $$ > " + pidFile + "\nwhile :; do echo RAYOS_BOOT:start:entry=normal; sleep 0.05; done\n"
	os.WriteFile(filepath.Join(bin, "qemu-system-x86_64"), []byte(fake), 0o755)
	img := filepath.Join(dir, "disk.img")
	disk := make([]byte, 1<<20)
	copy(disk[512:], "EFI PART")
	os.WriteFile(img, disk, 0o644)
	cmd := exec.Command(rayosBin, "image", "boot", img, "--timeout", "1m")
	cmd.Env = append(withoutRayosData(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if b, _ := os.ReadFile(img + ".log"); len(b) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	cmd.Wait()
	if ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() {
		t.Fatalf("the harness died of %v on SIGHUP; stderr %q", ws.Signal(), stderr.String())
	}
	b, _ := os.ReadFile(pidFile)
	var pid int
	fmt.Sscan(string(b), &pid)
	if pid == 0 || syscall.Kill(pid, 0) == nil && !strings.Contains(procState(pid), "Z") {
		t.Errorf("QEMU (pid %d) still running after the harness ended; stderr %q", pid, stderr.String())
	}
}

// procState is the state letter of a process, "" when it is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2 : i+3]
	}
	return ""
}

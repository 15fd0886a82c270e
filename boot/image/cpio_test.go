package image

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCPIORoundTrip(t *testing.T) {
	in := []Entry{
		{Name: "dev", Mode: ModeDir | 0o755},
		{Name: "init", Mode: ModeRegular | 0o755, Data: []byte("#!/bin/sh\necho hi\n")},
		{Name: "lib/a", Mode: ModeRegular | 0o644, Data: []byte("abc")}, // odd size: padding
		{Name: "empty", Mode: ModeRegular | 0o644},
		{Name: "lib64/ld", Mode: ModeSymlink | 0o777, Data: []byte("/lib/ld.so")},
	}
	var buf bytes.Buffer
	w := NewCPIOWriter(&buf)
	for _, e := range in {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive is %d bytes, not 4-aligned", buf.Len())
	}
	out, err := ReadCPIO(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d entries, wrote %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Name != in[i].Name || out[i].Mode != in[i].Mode || !bytes.Equal(out[i].Data, in[i].Data) {
			t.Errorf("entry %d: read %q %#o %q, wrote %q %#o %q", i, out[i].Name, out[i].Mode, out[i].Data, in[i].Name, in[i].Mode, in[i].Data)
		}
	}
	// A second reader, GNU cpio, agrees when it is installed.
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-t", "--quiet")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		list, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -t: %v", err)
		}
		got := strings.Fields(string(list))
		want := []string{"dev", "init", "lib/a", "empty", "lib64/ld"}
		if !slices.Equal(got, want) {
			t.Errorf("cpio -t lists %q, want %q", got, want)
		}
	}
}

func TestCPIOHostile(t *testing.T) {
	w := NewCPIOWriter(&bytes.Buffer{})
	for _, e := range []Entry{
		{Name: "", Mode: ModeRegular},
		{Name: "/", Mode: ModeRegular},
		{Name: "TRAILER!!!", Mode: ModeRegular},
		{Name: "dev/x", Mode: 0o060000},                       // a block device: unsupported
		{Name: "dev/c", Mode: ModeCharDev, Data: []byte("x")}, // a device has no data
		{Name: "f", Mode: ModeRegular, Major: 5},              // only devices have numbers
		{Name: "d", Mode: ModeDir, Data: []byte("x")},
	} {
		if err := w.Write(e); err == nil {
			t.Errorf("Write(%q, %#o) accepted", e.Name, e.Mode)
		}
	}
	var buf bytes.Buffer
	w = NewCPIOWriter(&buf)
	if err := w.Write(Entry{Name: "init", Mode: ModeRegular | 0o755, Data: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := w.Write(Entry{Name: "late", Mode: ModeRegular}); err == nil {
		t.Error("write after Close accepted")
	}
	good := buf.Bytes()
	for name, b := range map[string][]byte{
		"empty":      nil,
		"truncated":  good[:len(good)/2],
		"bad magic":  append([]byte("070707"), good[6:]...),
		"bad hex":    append(append([]byte{}, good[:14]...), append([]byte("zz"), good[16:]...)...),
		"no trailer": good[:len(good)-124],
	} {
		if _, err := ReadCPIO(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "cpio: offset") {
			t.Errorf("%s: ReadCPIO err = %v, want an error naming the offset", name, err)
		}
	}
}

func TestParseLDD(t *testing.T) {
	out := `	linux-vdso.so.1 (0x00007ffc)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f49)
	/lib64/ld-linux-x86-64.so.2 (0x00007f49)
`
	got, err := ParseLDD(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if !slices.Equal(got, want) {
		t.Errorf("ParseLDD = %q, want %q", got, want)
	}
	if _, err := ParseLDD("\tlibfoo.so.1 => not found\n"); err == nil || !strings.Contains(err.Error(), "libfoo.so.1") {
		t.Errorf("missing library: err = %v, want one naming libfoo.so.1", err)
	}
}

func TestNewestKernel(t *testing.T) {
	dir := t.TempDir()
	if _, err := newestKernel(dir); err == nil || !strings.Contains(err.Error(), "linux-image-amd64") {
		t.Errorf("no kernel: err = %v, want one naming linux-image-amd64", err)
	}
	for _, v := range []string{"6.1.0-9-amd64", "6.1.0-10-amd64", "5.10.0-30-amd64"} {
		os.WriteFile(filepath.Join(dir, "vmlinuz-"+v), nil, 0o644)
	}
	got, err := newestKernel(dir)
	if err != nil || filepath.Base(got) != "vmlinuz-6.1.0-10-amd64" {
		t.Errorf("newestKernel = %q, %v; want vmlinuz-6.1.0-10-amd64", got, err)
	}
}

// TestInitramfs builds the initramfs of a real dynamic binary (the test
// binary itself) and reads it back: /init is the binary, the loader is in.
func TestInitramfs(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Fatalf("ldd is needed (Debian libc-bin, always installed): %v", err)
	}
	tmp := t.TempDir()
	modDir := filepath.Join(tmp, "modules")
	os.MkdirAll(filepath.Join(modDir, "kernel", "fs"), 0o755)
	os.WriteFile(filepath.Join(modDir, "kernel", "fs", "a.ko"), []byte("module a"), 0o644)
	os.WriteFile(filepath.Join(modDir, "kernel", "fs", "b.ko"), []byte("module b"), 0o644)
	dst := filepath.Join(tmp, "initrd.gz")
	if err := WriteInitramfs(dst, exe, modDir, []string{"kernel/fs/b.ko", "kernel/fs/a.ko"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ReadCPIO(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(exe)
	byName := map[string]Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if e, ok := byName["init"]; !ok || !bytes.Equal(e.Data, want) || e.Mode != ModeRegular|0o755 {
		t.Errorf("init missing or not the binary (mode %#o)", e.Mode)
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "var", "var/rayos", "lib/modules"} {
		if e, ok := byName[d]; !ok || e.Mode&modeType != ModeDir {
			t.Errorf("directory %s missing", d)
		}
	}
	if e := byName["dev/console"]; e.Mode != ModeCharDev|0o600 || e.Major != 5 || e.Minor != 1 {
		t.Errorf("dev/console = mode %#o %d:%d, want a character device 5:1", e.Mode, e.Major, e.Minor)
	}
	if e := byName["lib/modules/b.ko"]; string(e.Data) != "module b" {
		t.Errorf("lib/modules/b.ko = %q", e.Data)
	}
	if got := string(byName[ModuleLoadList].Data); got != "/lib/modules/b.ko\n/lib/modules/a.ko\n" {
		t.Errorf("%s = %q, want b then a", ModuleLoadList, got)
	}
	if err := WriteInitramfs(dst, exe, modDir, []string{"kernel/fs/c.ko.xz"}); err == nil || !strings.Contains(err.Error(), "compressed") {
		t.Errorf("a compressed module: %v, want refused", err)
	}
	libs, err := SharedLibs(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if e, ok := byName[strings.TrimPrefix(l, "/")]; !ok || len(e.Data) == 0 {
			t.Errorf("library %s missing or empty", l)
		}
	}
}

// TestResolveModules orders modules after their dependencies (from
// modules.dep), skips built-in ones, leaves out missing optional ones and
// refuses a missing required one.
func TestResolveModules(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(
		"kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko\n"+
			"kernel/fs/jbd2/jbd2.ko:\n"+
			"kernel/lib/crc16.ko:\n"+
			"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko\n"+
			"kernel/drivers/virtio/virtio.ko:\n"+
			"kernel/drivers/input/mouse-x.ko:\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/input/evdev.ko\n"), 0o644)
	order, missing, err := ResolveModules(dir, []Module{
		{Name: "virtio_blk", Required: true},
		{Name: "ext4", Required: true},
		{Name: "evdev", Required: true},
		{Name: "mouse_x"},
		{Name: "button"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko", "kernel/lib/crc16.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko", "kernel/drivers/input/mouse-x.ko"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("order = %v\nwant    %v", order, want)
	}
	if len(missing) != 1 || missing[0].Name != "button" {
		t.Errorf("missing = %v, want button", missing)
	}
	if _, _, err := ResolveModules(dir, []Module{{Name: "nvme", Why: "disks", Required: true}}); err == nil || !strings.Contains(err.Error(), "nvme") {
		t.Errorf("required module missing: %v", err)
	}
	if _, _, err := ResolveModules(t.TempDir(), BootModules); err == nil || !strings.Contains(err.Error(), "modules.dep") {
		t.Errorf("no modules.dep: %v", err)
	}
}

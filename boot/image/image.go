package image

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Defaults for Options left zero.
const (
	DefaultBootloader  = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	DefaultDataSizeMiB = 256
	// DataLabel is the ext4 label of the data partition; the entries name
	// the partition by it (rayos.data=LABEL=RAYOS_DATA).
	DataLabel = "RAYOS_DATA"
	// DataPartName is the GPT name of the data partition.
	DataPartName = "RayOS Data"
	// ESPPartName is the GPT name of the EFI system partition.
	ESPPartName = "EFI System"
	// ESPOffset is where the ESP starts (LBA 2048, the usual 1 MiB).
	ESPOffset = 1 << 20
)

// Entries are the boot entries, in menu order: file stem, title.
var Entries = []struct{ Name, Title string }{
	{"normal", "RayOS"},
	{"recovery", "RayOS (recovery)"},
	{"previous", "RayOS (previous)"},
}

// Options say what to build. Only Out is required.
type Options struct {
	Out         string // the disk image to write (replaced atomically)
	Binary      string // becomes /init; default: the running executable
	Kernel      string // default: the newest /boot/vmlinuz-* (Debian linux-image-amd64)
	Bootloader  string // default: DefaultBootloader (Debian systemd-boot-efi)
	DataSizeMiB int    // size of the RayOS Data partition; default DefaultDataSizeMiB
	// Modules is the kernel's module tree; default /lib/modules/<release>
	// for a kernel named vmlinuz-<release>.
	Modules string
	// Warn, when set, is told what the build leaves out (optional kernel
	// modules the kernel does not have).
	Warn func(msg string)
	// Step, when set, is told each step as it starts (done of total).
	Step func(name string, done, total int)
}

const mib = 1 << 20

// tools are the programs Build runs, with the Debian package of each.
var tools = []struct{ name, pkg string }{
	{"ldd", "libc-bin"},
	{"mkfs.fat", "dosfstools"},
	{"mmd", "mtools"},
	{"mcopy", "mtools"},
	{"mke2fs", "e2fsprogs"},
	{"sgdisk", "gdisk"},
}

// Build writes the disk image described by o. On any error nothing is left
// at o.Out (a previous image there is kept).
func Build(o Options) (err error) {
	if err := o.fill(); err != nil {
		return err
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t.name); err != nil {
			return fmt.Errorf("image: %s not found on PATH (Debian package %s)", t.name, t.pkg)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(o.Out), ".rayos-image-")
	if err != nil {
		return fmt.Errorf("image: --out %s: %w", o.Out, err)
	}
	defer os.RemoveAll(tmp)

	const total = 5
	step := func(n int, name string) {
		if o.Step != nil {
			o.Step(name, n, total)
		}
	}

	step(0, "initramfs")
	mods, missing, err := ResolveModules(o.Modules, BootModules)
	if err != nil {
		return err
	}
	for _, m := range missing {
		if o.Warn != nil {
			o.Warn(fmt.Sprintf("kernel module %s (%s) not in %s: left out", m.Name, m.Why, o.Modules))
		}
	}
	initrd := filepath.Join(tmp, "initrd.gz")
	if err := WriteInitramfs(initrd, o.Binary, o.Modules, mods); err != nil {
		return err
	}

	step(1, "EFI system partition")
	esp := filepath.Join(tmp, "esp.img")
	espMiB, err := buildESP(esp, tmp, o, initrd)
	if err != nil {
		return err
	}

	step(2, "data partition")
	data := filepath.Join(tmp, "data.img")
	if err := run("mke2fs", "-q", "-F", "-t", "ext4", "-L", DataLabel, data, strconv.Itoa(o.DataSizeMiB)+"M"); err != nil {
		return err
	}

	step(3, "partition table")
	disk := filepath.Join(tmp, "disk.img")
	dataStart := int64(ESPOffset + espMiB*mib)
	// 1 MiB at the end leaves room for the backup GPT (33 sectors).
	size := dataStart + int64(o.DataSizeMiB)*mib + mib
	f, err := os.Create(disk)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	f.Close()
	if err := os.Truncate(disk, size); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	if err := run("sgdisk", "-o",
		"-n", fmt.Sprintf("1:%d:+%dM", ESPOffset/512, espMiB), "-t", "1:ef00", "-c", "1:"+ESPPartName,
		"-n", fmt.Sprintf("2:%d:+%dM", dataStart/512, o.DataSizeMiB), "-t", "2:8300", "-c", "2:"+DataPartName,
		disk); err != nil {
		return err
	}

	step(4, "copying partitions")
	if err := copyAt(disk, esp, ESPOffset); err != nil {
		return err
	}
	if err := copyAt(disk, data, dataStart); err != nil {
		return err
	}
	if err := os.Rename(disk, o.Out); err != nil {
		return fmt.Errorf("image: --out %s: %w", o.Out, err)
	}
	step(5, "done")
	return nil
}

func (o *Options) fill() error {
	if o.Out == "" {
		return errors.New("image: --out is required")
	}
	if st, err := os.Stat(o.Out); err == nil && st.IsDir() {
		return fmt.Errorf("image: --out %s is a directory", o.Out)
	}
	if st, err := os.Stat(filepath.Dir(o.Out)); err != nil || !st.IsDir() {
		return fmt.Errorf("image: --out %s: folder %s does not exist", o.Out, filepath.Dir(o.Out))
	}
	if o.DataSizeMiB == 0 {
		o.DataSizeMiB = DefaultDataSizeMiB
	}
	if o.DataSizeMiB < 16 || o.DataSizeMiB > 1<<20 {
		return fmt.Errorf("image: --data-size %d MiB: want 16 to %d", o.DataSizeMiB, 1<<20)
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("image: the running executable: %w", err)
		}
		o.Binary = exe
	}
	if o.Bootloader == "" {
		o.Bootloader = DefaultBootloader
	}
	if o.Kernel == "" {
		k, err := newestKernel("/boot")
		if err != nil {
			return err
		}
		o.Kernel = k
	}
	for _, f := range []struct{ flag, path, pkg string }{
		{"--binary", o.Binary, ""},
		{"--kernel", o.Kernel, "linux-image-amd64"},
		{"--bootloader", o.Bootloader, "systemd-boot-efi"},
	} {
		st, err := os.Stat(f.path)
		if err == nil && !st.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
		if err != nil {
			hint := ""
			if f.pkg != "" {
				hint = " (Debian package " + f.pkg + ")"
			}
			return fmt.Errorf("image: %s %s: %v%s", f.flag, f.path, unwrapPath(err), hint)
		}
	}
	if o.Modules == "" {
		rel := KernelRelease(o.Kernel)
		if rel == "" {
			return fmt.Errorf("image: --kernel %s: not named vmlinuz-<release>; say where its modules are with --modules DIR", o.Kernel)
		}
		o.Modules = filepath.Join("/lib/modules", rel)
	}
	if st, err := os.Stat(o.Modules); err != nil || !st.IsDir() {
		return fmt.Errorf("image: --modules %s: not a folder of kernel modules (Debian package linux-image-amd64 brings /lib/modules/<release>)", o.Modules)
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// newestKernel is the last /boot/vmlinuz-* in version order.
func newestKernel(dir string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if len(m) == 0 {
		return "", fmt.Errorf("image: no kernel %s/vmlinuz-* (Debian package linux-image-amd64)", dir)
	}
	sort.Slice(m, func(i, j int) bool { return versionLess(m[i], m[j]) })
	return m[len(m)-1], nil
}

// versionLess compares digit runs as numbers, so 6.1.0-10 sorts after 6.1.0-9.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// LoaderConf is loader/loader.conf: the normal entry, no menu, no editing
// of the command line at the boot menu.
const LoaderConf = "default normal.conf\ntimeout 0\neditor no\n"

// EntryConf is loader/entries/<name>.conf. The command line carries the
// data partition (by its ext4 label) and, for recovery and previous, the
// entry. The default entry names none: the runtime then chooses normal, or
// previous once normal failed to reach ready 3 times in a row (boot
// counting on the data partition, docs/image.md). panic=10 reboots ten
// seconds after a kernel panic (PID 1 dying), so a broken boot is counted
// and retried rather than left hanging.
func EntryConf(name, title string) string {
	entry := ""
	if name != "normal" {
		entry = " rayos.entry=" + name
	}
	return fmt.Sprintf("title %s\nlinux /vmlinuz\ninitrd /initrd.gz\noptions console=ttyS0 loglevel=4 panic=10%s rayos.data=LABEL=%s\n", title, entry, DataLabel)
}

// buildESP makes the FAT file system on esp and fills it; it returns the
// partition's size in MiB (the contents plus room to replace the kernel
// and initramfs once, at least 64 MiB).
func buildESP(esp, tmp string, o Options, initrd string) (int64, error) {
	var payload int64
	for _, p := range []string{o.Kernel, o.Bootloader, initrd} {
		st, err := os.Stat(p)
		if err != nil {
			return 0, fmt.Errorf("image: %w", err)
		}
		payload += st.Size()
	}
	sizeMiB := max(64, (2*payload+mib-1)/mib+8)
	if err := run("mkfs.fat", "-C", "-n", "ESP", esp, strconv.FormatInt(sizeMiB*1024, 10)); err != nil {
		return 0, err
	}
	conf := filepath.Join(tmp, "conf")
	if err := os.MkdirAll(filepath.Join(conf, "entries"), 0o755); err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	files := map[string]string{filepath.Join(conf, "loader.conf"): LoaderConf}
	for _, e := range Entries {
		files[filepath.Join(conf, "entries", e.Name+".conf")] = EntryConf(e.Name, e.Title)
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			return 0, fmt.Errorf("image: %w", err)
		}
	}
	if err := run("mmd", "-i", esp, "::EFI", "::EFI/BOOT", "::loader", "::loader/entries"); err != nil {
		return 0, err
	}
	copies := [][2]string{
		{o.Bootloader, "::EFI/BOOT/BOOTX64.EFI"},
		{filepath.Join(conf, "loader.conf"), "::loader/loader.conf"},
		{o.Kernel, "::vmlinuz"},
		{initrd, "::initrd.gz"},
	}
	for _, e := range Entries {
		copies = append(copies, [2]string{filepath.Join(conf, "entries", e.Name+".conf"), "::loader/entries/" + e.Name + ".conf"})
	}
	for _, c := range copies {
		if err := run("mcopy", "-i", esp, c[0], c[1]); err != nil {
			return 0, err
		}
	}
	return sizeMiB, nil
}

// run runs a tool; its error carries the tool's own words.
func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	// mtools refuses images whose geometry it cannot check otherwise.
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("image: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// copyAt copies src into dst at offset, skipping all-zero blocks so the
// disk image stays sparse (it was truncated, so holes read as zeros).
func copyAt(dst, src string, offset int64) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	pos := offset
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, err := out.WriteAt(buf[:n], pos); err != nil {
				out.Close()
				return fmt.Errorf("image: %w", err)
			}
		}
		pos += int64(n)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			out.Close()
			return fmt.Errorf("image: %w", rerr)
		}
	}
	return out.Close()
}

// WriteInitramfs writes a gzip'd newc cpio to dst: the binary as /init,
// the shared libraries ldd reports for it (and the dynamic loader) at
// their paths, the kernel modules (paths relative to moduleDir, in load
// order) under lib/modules with the list /init loads them from
// (ModuleLoadList), /dev/console (the kernel opens it for init's standard
// streams before /dev is mounted), and the empty mount points /proc,
// /sys, /dev, /run, /tmp, /var/rayos.
func WriteInitramfs(dst, binary, moduleDir string, modules []string) error {
	exe, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("image: --binary: %w", err)
	}
	libs, err := SharedLibs(binary)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	cw := NewCPIOWriter(zw)
	dirs := map[string]bool{}
	mkdir := func(d string) error {
		var chain []string
		for ; d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			chain = append(chain, d)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			dirs[chain[i]] = true
			if err := cw.Write(Entry{Name: chain[i], Mode: ModeDir | 0o755}); err != nil {
				return err
			}
		}
		return nil
	}
	werr := func() error {
		for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "var/rayos", "lib/modules"} {
			if err := mkdir(d); err != nil {
				return err
			}
		}
		if err := cw.Write(Entry{Name: "dev/console", Mode: ModeCharDev | 0o600, Major: 5, Minor: 1}); err != nil {
			return err
		}
		var list strings.Builder
		for _, m := range modules {
			if !strings.HasSuffix(m, ".ko") {
				return fmt.Errorf("kernel module %s: compressed modules are not supported (the kernel must load them as plain .ko files)", m)
			}
			b, err := os.ReadFile(filepath.Join(moduleDir, m))
			if err != nil {
				return fmt.Errorf("kernel module: %w", err)
			}
			name := path.Join("lib/modules", path.Base(m))
			if err := cw.Write(Entry{Name: name, Mode: ModeRegular | 0o644, Data: b}); err != nil {
				return err
			}
			fmt.Fprintf(&list, "/%s\n", name)
		}
		if err := cw.Write(Entry{Name: ModuleLoadList, Mode: ModeRegular | 0o644, Data: []byte(list.String())}); err != nil {
			return err
		}
		if err := cw.Write(Entry{Name: "init", Mode: ModeRegular | 0o755, Data: exe}); err != nil {
			return err
		}
		for _, l := range libs {
			// Read through symlinks: the loader's /lib64 path is a link
			// on Debian, and the archive holds plain files.
			b, err := os.ReadFile(l)
			if err != nil {
				return fmt.Errorf("image: shared library: %w", err)
			}
			name := strings.TrimPrefix(l, "/")
			if err := mkdir(path.Dir(name)); err != nil {
				return err
			}
			if err := cw.Write(Entry{Name: name, Mode: ModeRegular | 0o755, Data: b}); err != nil {
				return err
			}
		}
		if err := cw.Close(); err != nil {
			return err
		}
		return zw.Close()
	}()
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("image: initramfs: %w", werr)
	}
	return nil
}

// SharedLibs is what ldd reports for binary: absolute paths of its shared
// libraries and loader, sorted. A static binary has none.
func SharedLibs(binary string) ([]string, error) {
	out, err := exec.Command("ldd", binary).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("image: ldd %s: %v: %s", binary, err, strings.TrimSpace(string(out)))
	}
	return ParseLDD(string(out))
}

// ParseLDD reads ldd's output: "libc.so.6 => /lib/…/libc.so.6 (0x…)" and
// "/lib64/ld-linux-x86-64.so.2 (0x…)"; the vDSO has no file and is skipped.
// A library ldd could not find is an error naming it.
func ParseLDD(out string) ([]string, error) {
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "statically linked" {
			continue
		}
		p := line
		if i := strings.Index(line, "=>"); i >= 0 {
			p = strings.TrimSpace(line[i+2:])
			if strings.HasPrefix(p, "not found") {
				return nil, fmt.Errorf("image: shared library %s not found", strings.TrimSpace(line[:i]))
			}
		}
		if i := strings.Index(p, " ("); i >= 0 {
			p = p[:i]
		}
		if !strings.HasPrefix(p, "/") {
			continue // linux-vdso.so.1 and the like
		}
		seen[p] = true
	}
	libs := make([]string, 0, len(seen))
	for p := range seen {
		libs = append(libs, p)
	}
	sort.Strings(libs)
	return libs, nil
}

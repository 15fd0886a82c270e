package image

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Module is a kernel module the initramfs carries.
type Module struct {
	Name string // as the kernel calls it: virtio_blk
	// Why it is there; Required modules missing from the kernel's module
	// tree (and not built in) fail the build, others are left out.
	Why      string
	Required bool
}

// BootModules are the modules /init loads before anything else: the
// Debian kernel builds these drivers as modules, and an initramfs without
// udev or modprobe must carry and load them itself. Their dependencies
// come from modules.dep.
var BootModules = []Module{
	{"virtio_pci", "the virtio disk's PCI transport (QEMU)", true},
	{"virtio_blk", "the virtio disk (QEMU)", true},
	{"ahci", "SATA disks (most PCs, QEMU q35's own controller)", false},
	{"sd_mod", "SCSI/SATA disks", false},
	{"nvme", "NVMe disks", false},
	{"crc32c_generic", "ext4's and jbd2's metadata checksums (the kernel asks for crc32c by name at mount time)", true},
	{"ext4", "the RayOS Data partition's file system", true},
	{"evdev", "/dev/input/event*: RayOS reads keys and pointer motion", true},
	{"psmouse", "a PS/2 mouse (QEMU's default pointer)", false},
	{"button", "the ACPI power button, read as KEY_POWER", false},
	{"efivarfs", "EFI variables (the next boot's entry)", false},
}

// KernelRelease is the release a Debian kernel file is named after:
// /boot/vmlinuz-6.1.0-56-amd64 → 6.1.0-56-amd64.
func KernelRelease(kernel string) string {
	base := filepath.Base(kernel)
	if r, ok := strings.CutPrefix(base, "vmlinuz-"); ok {
		return r
	}
	return ""
}

// ResolveModules returns the .ko files (paths relative to moduleDir) to
// load, in an order where each comes after what it depends on, read from
// moduleDir's modules.dep; modules.builtin names those the kernel has
// built in (they need no file). A required module neither present nor
// built in is an error naming it and the folder.
func ResolveModules(moduleDir string, wanted []Module) (order []string, missing []Module, err error) {
	deps, err := readModulesDep(filepath.Join(moduleDir, "modules.dep"))
	if err != nil {
		return nil, nil, fmt.Errorf("image: kernel modules: %w (Debian package linux-image-amd64; or --modules DIR)", err)
	}
	builtin := map[string]bool{}
	if f, err := os.Open(filepath.Join(moduleDir, "modules.builtin")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			builtin[moduleName(sc.Text())] = true
		}
		f.Close()
	}
	byName := map[string]string{}
	for file := range deps {
		byName[moduleName(file)] = file
	}
	seen := map[string]bool{}
	var visit func(file string, stack []string) error
	visit = func(file string, stack []string) error {
		if seen[file] {
			return nil
		}
		for _, s := range stack {
			if s == file {
				return fmt.Errorf("image: kernel modules: dependency loop through %s", file)
			}
		}
		for _, d := range deps[file] {
			if err := visit(d, append(stack, file)); err != nil {
				return err
			}
		}
		seen[file] = true
		order = append(order, file)
		return nil
	}
	for _, m := range wanted {
		file, ok := byName[m.Name]
		switch {
		case ok:
			if err := visit(file, nil); err != nil {
				return nil, nil, err
			}
		case builtin[m.Name]:
		case m.Required:
			return nil, nil, fmt.Errorf("image: kernel module %s (%s) is neither in %s nor built in", m.Name, m.Why, moduleDir)
		default:
			missing = append(missing, m)
		}
	}
	return order, missing, nil
}

// readModulesDep reads "kernel/a.ko: kernel/b.ko kernel/c.ko" lines.
func readModulesDep(p string) (map[string][]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	deps := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			return nil, fmt.Errorf("%s:%d: no colon", p, line)
		}
		deps[strings.TrimSpace(mod)] = strings.Fields(rest)
	}
	return deps, sc.Err()
}

// moduleName is a module file's name as the kernel knows it:
// kernel/crypto/crc32c_generic.ko → crc32c_generic; dashes and
// underscores are the same to the kernel.
func moduleName(file string) string {
	base := path.Base(strings.TrimSpace(file))
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if b, ok := strings.CutSuffix(base, ext); ok {
			base = b
			break
		}
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ModuleLoadList is the initramfs file listing the modules /init loads,
// one path per line, in order.
const ModuleLoadList = "lib/modules/load"

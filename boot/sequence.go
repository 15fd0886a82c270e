package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world/atomicfile"
	"github.com/rayos/engine/world/marker"
)

// boot runs the stages before the world exists, each with its marker:
// bootinfo → data-mounted → entry → policy-loaded → registry-loaded.
//
// The instance lock comes first: until RayOS holds RAYOS_DATA nothing in
// it is written or announced, so a second instance changes nothing. From
// then on every failure of a RayOS-owned layout counts as a failed boot
// of its entry (fail), so boot counting can fall back to previous and
// then to recovery without anyone at the keyboard.
func (rt *runtime) boot() error {
	bi := rt.handOff()
	rt.layout = Layout{Root: bi.Data}
	if err := rt.lockLayout(); err != nil {
		return rt.fail("data-mounted", err)
	}
	mounted, mountErr := rt.layout.Mount(policy.Default(), guests.DefaultRegistry)
	var layoutErr *LayoutError
	if mountErr != nil && !errors.As(mountErr, &layoutErr) {
		return rt.fail("data-mounted", mountErr)
	}
	if mounted.Owned {
		rt.removeStaleTemp()
		rt.openMarkerLog()
		rt.readState()
	}
	havePrevious := fileExists(filepath.Join(rt.layout.LastGoodDir(), "rayos-policy.toml"))
	entry, why := ChooseEntry(bi.Entry, rt.state, havePrevious)
	rt.entry = entry
	fallback := func() {
		if why != "" {
			rt.bus.Emit(marker.Boot("fallback", fmt.Sprintf("entry=%s because %s", entry, why)))
		}
	}
	if mountErr != nil && entry != EntryRecovery {
		fallback() // say which entry this failure counts against
		return rt.fail("data-mounted", mountErr)
	}
	rt.log.Info("RAYOS_DATA mounted", "path", bi.Data, "created", mounted.Created, "completed", mounted.Completed)
	rt.bus.Emit(marker.Boot("data-mounted", mountDetail(mounted, mountErr)))
	fallback()
	rt.beginAttempt(mounted.Owned)
	rt.bus.Emit(marker.Boot("entry", fmt.Sprintf("%s failures=%d", rt.entry, rt.state.Failures[rt.entry])))
	if rt.entry == EntryRecovery {
		rt.controlOffData(mounted.Owned)
	}

	policyPath, registryPath := bi.Policy, bi.Registry
	if rt.entry == EntryPrevious {
		policyPath = filepath.Join(rt.layout.LastGoodDir(), "rayos-policy.toml")
		registryPath = filepath.Join(rt.layout.LastGoodDir(), "registry.toml")
	}
	rt.loadPolicy(policyPath)
	if err := rt.loadRegistry(registryPath); err != nil {
		return err
	}
	rt.stageVolume(volumeDir(bi)) // boot/volume.go
	return nil
}

// loadRegistry reads the VM registry. Recovery starts no guests, so it
// boots without one; any other entry fails the stage.
func (rt *runtime) loadRegistry(path string) error {
	reg, err := guests.LoadRegistry(path)
	switch {
	case err != nil && rt.entry != EntryRecovery:
		return rt.fail("registry-loaded", err)
	case err != nil:
		rt.bus.Emit(marker.Boot("registry-loaded", "error, recovery starts no guests anyway: "+err.Error()))
	default:
		rt.registry, rt.registryData = path, reg
		rt.bus.Emit(marker.Boot("registry-loaded", "vms="+strings.Join(reg.IDs(), ",")))
	}
	return nil
}

// handOff resolves the BootInfo and emits its marker. A hand-off the
// runtime cannot read still boots — into recovery, where the system can
// be repaired — and says why on stderr as well as in the marker.
func (rt *runtime) handOff() BootInfo {
	bi, err := rt.bootInfo()
	if err != nil {
		rt.log.Error("bootinfo unreadable; booting the recovery entry", "err", err)
		rt.bus.Emit(marker.Boot("bootinfo", "error: "+err.Error()+"; booting recovery"))
		bi = BootInfo{Data: rt.o.DataDir, Entry: EntryRecovery, Source: "harness"}
	} else {
		requested := bi.Entry
		if requested == "" {
			requested = "auto"
		}
		rt.bus.Emit(marker.Boot("bootinfo", fmt.Sprintf("version=%d source=%s entry=%s", BootInfoVersion, bi.Source, requested)))
	}
	return bi.WithDefaults()
}

// lockLayout creates RAYOS_DATA itself if it is missing (the lock needs
// the folder) and takes the instance lock, released when the run ends.
func (rt *runtime) lockLayout() error {
	if err := CheckDataDir(rt.layout.Root); err != nil {
		return err
	}
	if err := os.MkdirAll(rt.layout.Root, 0o750); err != nil {
		return fmt.Errorf("data dir %s: %w", rt.layout.Root, err)
	}
	lock, err := lockData(rt.layout.Root)
	if err != nil {
		return err
	}
	rt.closers = append(rt.closers, lock.release)
	return nil
}

// mountDetail is the data-mounted marker's detail.
func mountDetail(m Mounted, mountErr error) string {
	switch {
	case mountErr != nil:
		return "layout invalid, recovery continues: " + mountErr.Error()
	case m.Completed:
		return fmt.Sprintf("layout=%d created=true completed=interrupted-first-boot", LayoutVersion)
	}
	return fmt.Sprintf("layout=%d created=%t", LayoutVersion, m.Created)
}

// removeStaleTemp removes the temporary files writers killed mid-write
// left in RAYOS_DATA. Under the instance lock no other runtime writes
// here; vm/ is also written by `rayos guest`, so it is cleaned under the
// registry lock, and skipped if an edit holds that lock right now.
// volume/ is left to the Volume's own Save, which cleans it under its
// lock: `rayos volume add` may be saving while RayOS boots.
func (rt *runtime) removeStaleTemp() {
	l := rt.layout
	dirs := []string{l.Root, l.path("policy"), l.path("logs"), l.CrashDir(), l.path("boot"), l.LastGoodDir()}
	if entries, err := os.ReadDir(l.path("vm")); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, l.path("vm", e.Name()))
			}
		}
	}
	for _, dir := range dirs {
		rt.removeStaleIn(dir)
	}
	if unlock, err := guests.TryLockRegistry(l.RegistryFile()); err == nil {
		rt.removeStaleIn(l.path("vm"))
		unlock()
	}
}

func (rt *runtime) removeStaleIn(dir string) {
	removed, err := atomicfile.RemoveStale(dir)
	if len(removed) > 0 {
		rt.log.Info("removed temporary files left by a killed writer", "dir", dir, "files", strings.Join(removed, ","))
	}
	if err != nil {
		rt.log.Warn("temporary files not removed", "dir", dir, "err", err)
	}
}

// readState reads boot/state.toml. An unreadable or invalid file does not
// stop the boot: boot counting starts from zero, and stderr names the
// file and the key.
func (rt *runtime) readState() {
	st, err := ReadState(rt.layout.StateFile())
	if err != nil {
		rt.log.Warn("boot state invalid; counting from zero", "err", err)
	}
	rt.state = st
}

// beginAttempt records this boot's attempt in boot/state.toml before the
// world starts. A normal or previous boot that cannot record it (a full
// or read-only data partition) would fail the same way at every boot
// without ever being counted, so it falls back to recovery in this run and
// says why; recovery boots with the failure as a warning. Nothing is
// written into a folder RayOS does not own.
func (rt *runtime) beginAttempt(owned bool) {
	if rt.state.Failures == nil {
		rt.state.Failures = map[string]int{}
	}
	if !owned {
		return
	}
	rt.state.Begin(rt.entry, time.Now())
	path := rt.layout.StateFile()
	err := rt.state.Write(path)
	switch {
	case err == nil:
	case rt.entry == EntryRecovery:
		rt.log.Warn("boot state not saved; recovery boots anyway", "path", path, "err", err)
	default:
		rt.bus.Emit(marker.Boot("fallback", fmt.Sprintf("entry=%s because boot state %s cannot be written: %v", EntryRecovery, path, rootCause(err))))
		rt.log.Warn("boot attempt not recorded; falling back to recovery", "path", path, "err", err)
		rt.entry, rt.state.Attempt.Entry = EntryRecovery, EntryRecovery
	}
}

// recordFailedAttempt makes a boot that fails before the world starts
// count as a failure of its entry: if its attempt is not recorded yet
// (data-mounted failed on a RayOS-owned layout), it is now, best effort,
// and the next boot counts it like any boot that never reached ready.
func (rt *runtime) recordFailedAttempt() {
	if rt.state.attempted || rt.entry == "" || !rt.layout.owned() {
		return
	}
	if rt.state.Failures == nil {
		rt.state.Failures = map[string]int{}
	}
	rt.state.Begin(rt.entry, time.Now())
	if err := rt.state.Write(rt.layout.StateFile()); err != nil {
		rt.log.Warn("failed boot not recorded", "path", rt.layout.StateFile(), "err", err)
	}
}

// controlOffData moves recovery's control socket out of a read-only
// RAYOS_DATA, where it cannot be created, or out of a folder that is not
// RayOS's, which is never written, into a private folder under the
// temporary directory. --control overrides this.
func (rt *runtime) controlOffData(owned bool) {
	if rt.o.ControlPath != "" || owned && syscall.Access(rt.layout.Root, 2 /* W_OK */) != syscall.EROFS {
		return
	}
	dir, err := os.MkdirTemp("", "rayos-control-")
	if err != nil {
		rt.log.Warn("no folder for the control socket", "err", err)
		return
	}
	rt.o.ControlPath = filepath.Join(dir, "control.sock")
	rt.closers = append(rt.closers, func() { os.RemoveAll(dir) })
	rt.log.Warn("RAYOS_DATA is read-only or not RayOS's; control socket moved (rayos ctl --control PATH)", "path", rt.o.ControlPath)
}

// loadPolicy reads the policy in force. A missing, unreadable, oversized,
// special or invalid file does not stop the boot: fail closed, keep
// booting, because a broken policy must not stop the system that can fix it.
func (rt *runtime) loadPolicy(path string) {
	rt.policyFile, rt.policySeen = path, identify(path)
	text, err := atomicfile.ReadRegular(path, atomicfile.MaxConfigSize)
	if err == nil {
		err = rt.setPolicy(path, string(text))
	} else {
		rt.setPolicy("", "")
	}
	if err != nil {
		rt.bus.Emit(marker.PolicyViolation("policy-invalid", err.Error()))
		rt.bus.Emit(marker.Boot("policy-loaded", "restricted (deny all)"))
		return
	}
	rt.bus.Emit(marker.Boot("policy-loaded", rt.policy.Summary()))
}

// bootInfo resolves the hand-off: --bootinfo, else the kernel command
// line's rayos.bootinfo= (and rayos.entry=), else a record synthesised
// from the flags. --entry overrides the record's entry.
func (rt *runtime) bootInfo() (BootInfo, error) {
	o := rt.o
	path, cmdEntry := FromCmdline(o.Cmdline)
	var bi BootInfo
	var err error
	switch {
	case o.BootInfoPath != "":
		bi, err = ReadBootInfoFile(o.BootInfoPath)
	case path != "":
		bi, err = ReadBootInfoFile(path)
		bi.Source = "cmdline:" + path
	case strings.Contains(o.Cmdline, "rayos."):
		// An installed system (the disk image's entries) hands over on
		// the command line alone: the entry, and the data partition
		// that PID 1 mounted at --data.
		bi = BootInfo{Version: BootInfoVersion, Data: o.DataDir, Source: "cmdline"}
	default:
		bi = BootInfo{Version: BootInfoVersion, Data: o.DataDir, Source: "harness"}
	}
	if err != nil {
		return BootInfo{}, err
	}
	if cmdEntry != "" {
		bi.Entry = cmdEntry
	}
	if o.Entry != "" {
		bi.Entry = o.Entry
	}
	if bi.Data == "" {
		bi.Data = o.DataDir
	}
	return bi, nil
}

// ready records a boot that reached ready: the entry's failures reset, it
// becomes the last good one, and a normal boot with a valid policy
// snapshots its policy and registry as what "previous" boots. Failing to
// write is a warning: the system is up, and a full or read-only data
// partition is what recovery is for.
func (rt *runtime) ready() {
	if !rt.state.attempted {
		return // not RayOS's folder: nothing is written there
	}
	rt.state.Ready()
	if err := rt.state.Write(rt.layout.StateFile()); err != nil {
		rt.log.Warn("boot state not saved", "path", rt.layout.StateFile(), "err", err)
	}
	if rt.entry != EntryNormal || rt.policy.Restricted || rt.registry == "" {
		return
	}
	dir := rt.layout.LastGoodDir()
	reg, err := atomicfile.ReadRegular(rt.registry, atomicfile.MaxConfigSize)
	if err == nil {
		err = errors.Join(os.MkdirAll(dir, 0o750),
			writeBytes(filepath.Join(dir, "rayos-policy.toml"), []byte(rt.source)),
			writeBytes(filepath.Join(dir, "registry.toml"), reg))
	}
	if err != nil {
		rt.log.Error("last-good snapshot not saved", "err", err)
	}
}

// rootCause is the operating system's reason inside a file error ("no
// space left on device"), without the temporary file's name.
func rootCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world/marker"
)

// boot runs the stages before the world exists, each with its marker:
// bootinfo → data-mounted → entry → policy-loaded → registry-loaded.
func (rt *runtime) boot() error {
	bi, err := rt.bootInfo()
	if err != nil {
		// A hand-off the runtime cannot read still boots — into recovery,
		// where the system can be repaired.
		rt.bus.Emit(marker.Boot("bootinfo", "error: "+err.Error()+"; booting recovery"))
		bi = BootInfo{Data: rt.o.DataDir, Entry: EntryRecovery, Source: "harness"}
	} else {
		requested := bi.Entry
		if requested == "" {
			requested = "auto"
		}
		rt.bus.Emit(marker.Boot("bootinfo", fmt.Sprintf("version=%d source=%s entry=%s", BootInfoVersion, bi.Source, requested)))
	}
	bi = bi.WithDefaults()
	rt.layout = Layout{Root: bi.Data}
	recovery := bi.Entry == EntryRecovery

	created, mountErr := rt.layout.Mount(policy.Default(), guests.DefaultRegistry)
	if mountErr != nil && (!recovery || !isLayoutProblem(mountErr)) {
		return rt.fail("data-mounted", mountErr)
	}
	// Recovery comes up on a broken layout: it is there to repair it.
	logFile, err := os.OpenFile(rt.layout.MarkerLog(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return rt.fail("data-mounted", fmt.Errorf("marker log: %w", err))
	}
	rt.closers = append(rt.closers, func() { logFile.Close() })
	if err := rt.bus.AddSinkWithHistory(logFile); err != nil {
		return rt.fail("data-mounted", fmt.Errorf("marker log: %w", err))
	}
	rt.log.Info("RAYOS_DATA mounted", "path", bi.Data, "created", created)
	switch {
	case mountErr != nil:
		rt.bus.Emit(marker.Boot("data-mounted", "layout invalid, recovery continues: "+mountErr.Error()))
	default:
		rt.bus.Emit(marker.Boot("data-mounted", fmt.Sprintf("layout=%d created=%t", LayoutVersion, created)))
	}

	if rt.state, err = ReadState(rt.layout.StateFile()); err != nil {
		rt.log.Warn("boot state unreadable; counting from zero", "err", err)
	}
	havePrevious := fileExists(filepath.Join(rt.layout.LastGoodDir(), "rayos-policy.toml"))
	entry, why := ChooseEntry(bi.Entry, rt.state, havePrevious)
	if why != "" {
		rt.bus.Emit(marker.Boot("fallback", fmt.Sprintf("entry=%s because %s", entry, why)))
	}
	rt.entry = entry
	rt.state.Begin(entry, time.Now())
	if err := rt.state.Write(rt.layout.StateFile()); err != nil {
		return rt.fail("data-mounted", fmt.Errorf("boot state: %w", err))
	}
	rt.bus.Emit(marker.Boot("entry", fmt.Sprintf("%s failures=%d", entry, rt.state.Failures[entry])))

	policyPath, registryPath := bi.Policy, bi.Registry
	if entry == EntryPrevious {
		policyPath = filepath.Join(rt.layout.LastGoodDir(), "rayos-policy.toml")
		registryPath = filepath.Join(rt.layout.LastGoodDir(), "registry.toml")
	}
	rt.policyFile, rt.policySeen = policyPath, identify(policyPath)
	text, err := os.ReadFile(policyPath)
	if err == nil {
		err = rt.setPolicy(policyPath, string(text))
	} else {
		rt.setPolicy("", "")
	}
	if err != nil {
		// Fail closed, keep booting: a broken policy must not stop the
		// system that can fix it.
		rt.bus.Emit(marker.PolicyViolation("policy-invalid", err.Error()))
		rt.bus.Emit(marker.Boot("policy-loaded", "restricted (deny all)"))
	} else {
		rt.bus.Emit(marker.Boot("policy-loaded", rt.policy.Summary()))
	}

	reg, err := guests.LoadRegistry(registryPath)
	switch {
	case err != nil && entry != EntryRecovery:
		return rt.fail("registry-loaded", err)
	case err != nil:
		rt.bus.Emit(marker.Boot("registry-loaded", "error, recovery starts no guests anyway: "+err.Error()))
	default:
		rt.registry, rt.registryData = registryPath, reg
		rt.bus.Emit(marker.Boot("registry-loaded", "vms="+strings.Join(reg.IDs(), ",")))
	}
	return nil
}

func isLayoutProblem(err error) bool {
	return strings.Contains(err.Error(), "is not a valid layout")
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
// snapshots its policy and registry as what "previous" boots.
func (rt *runtime) ready() {
	rt.state.Ready()
	if err := rt.state.Write(rt.layout.StateFile()); err != nil {
		rt.log.Error("boot state not saved", "err", err)
	}
	if rt.entry != EntryNormal || rt.policy.Restricted || rt.registry == "" {
		return
	}
	dir := rt.layout.LastGoodDir()
	reg, err := os.ReadFile(rt.registry)
	if err == nil {
		err = errors.Join(os.MkdirAll(dir, 0o750),
			writeBytes(filepath.Join(dir, "rayos-policy.toml"), []byte(rt.source)),
			writeBytes(filepath.Join(dir, "registry.toml"), reg))
	}
	if err != nil {
		rt.log.Error("last-good snapshot not saved", "err", err)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

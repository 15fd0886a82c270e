package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/viewer"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// viewerFlags are the debug viewer's flags, the same for rayos boot and
// rayos view.
type viewerFlags struct {
	addr, tokenFile string
	remote, debug   bool
}

// add registers the flags; defaultAddr is --viewer's default ("" in boot:
// no viewer unless asked for); forBoot says the flags are rayos boot's
// (a token file in RAYOS_DATA by default, --debug for tick control).
func (v *viewerFlags) add(f *pflag.FlagSet, defaultAddr string, forBoot bool) {
	f.StringVar(&v.addr, "viewer", defaultAddr, "serve the debug viewer (a web page) on this IP:PORT or localhost:PORT; loopback only unless --viewer-allow-remote (docs/viewer.md)")
	f.BoolVar(&v.remote, "viewer-allow-remote", false, "allow --viewer on a non-loopback address; every request then needs the token")
	where := "(default: none; the token is printed on stderr)"
	if forBoot {
		where = "(default: RAYOS_DATA/viewer.token, removed at exit)"
	}
	f.StringVar(&v.tokenFile, "viewer-token-file", "", "write the viewer's token to this file, readable by its owner only "+where)
	debug := "with --viewer: pause, step and resume the tick from the page, and serve /debug/pprof"
	if !forBoot {
		debug = "serve /debug/pprof (a replayed journal's page pauses, steps and seeks without it)"
	}
	f.BoolVar(&v.debug, "debug", false, debug)
}

// config checks the flags and returns the viewer's configuration, nil
// when no viewer was asked for. A non-loopback address without
// --viewer-allow-remote is refused here, before anything is written.
func (v *viewerFlags) config(cmd *cobra.Command) (*viewer.Config, error) {
	if v.addr == "" {
		for _, name := range []string{"viewer-allow-remote", "viewer-token-file", "debug"} {
			if cmd.Flags().Changed(name) {
				return nil, fmt.Errorf("--%s needs --viewer ADDR", name)
			}
		}
		return nil, nil
	}
	cfg := &viewer.Config{Addr: v.addr, AllowRemote: v.remote, Debug: v.debug, Version: boot.Version}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if v.tokenFile != "" {
		if err := checkParentDir(viewer.FlagTokenFile, v.tokenFile); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// checkParentDir refuses a file whose folder does not exist.
func checkParentDir(flag, path string) error {
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%s %s: folder %s does not exist", flag, path, dir)
	}
	return nil
}

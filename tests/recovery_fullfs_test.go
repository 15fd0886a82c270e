package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fullFSScript runs in a private mount namespace (nothing machine-wide is
// mounted): a small tmpfs as RAYOS_DATA, a first boot, the filesystem
// filled to the last byte, boots on it, then the same filesystem remounted
// read-only and boots again. Each boot's stdout, stderr and exit status go
// to files beside the mount point for the test to read.
const fullFSScript = `set -u
cd "$D"
mount -t tmpfs -o size=4m tmpfs data || exit 90
run() { name=$1; shift; "$RAYOS" boot --data data --hz 1000 --ticks 3 --gpu cpu "$@" >"$name.out" 2>"$name.err"; echo $? >"$name.code"; }
run first
# End markers.log on a page boundary, so its next line needs a new page.
size=$(stat -c %s data/logs/markers.log)
pad=$(( (4096 - size % 4096) % 4096 )); [ "$pad" -lt 32 ] && pad=$((pad + 4096))
{ printf 'RAYOS_AUDIT:padding:'; head -c $((pad - 21)) /dev/zero | tr '\0' x; echo; } >>data/logs/markers.log
dd if=/dev/zero of=data/volume/fill bs=64k >/dev/null 2>&1
dd if=/dev/zero of=data/volume/fill2 bs=1 >/dev/null 2>&1
df -k data | tail -1 >df.txt
run full-normal
run full-normal-again
run full-recovery --entry recovery
ls -a data/boot data/vm data >full-ls.txt
mount -o remount,ro data || exit 91
run ro-normal
run ro-recovery --entry recovery
`

// fsRun is one boot of the script.
type fsRun struct {
	stdout, stderr string
	code           int
}

func readRun(t *testing.T, dir, name string) fsRun {
	t.Helper()
	code, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, name+".code"))))
	if err != nil {
		t.Fatalf("%s: no exit status", name)
	}
	return fsRun{readFile(t, filepath.Join(dir, name+".out")), readFile(t, filepath.Join(dir, name+".err")), code}
}

func TestFullAndReadOnlyDataPartitionsStillBoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", fullFSScript)
	cmd.Env = append(os.Environ(), "D="+dir, "RAYOS="+rayosBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the private mount namespace script failed (needs root and util-linux's unshare): %v\n%s", err, out)
	}
	if r := readRun(t, dir, "first"); r.code != 0 {
		t.Fatalf("first boot on the tmpfs: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if df := readFile(t, filepath.Join(dir, "df.txt")); !strings.Contains(df, " 0 100%") {
		t.Fatalf("the tmpfs is not full: %s", df)
	}
	expect := func(name string, wants ...string) fsRun {
		t.Helper()
		r := readRun(t, dir, name)
		if r.code != 0 {
			t.Errorf("%s: exit %d, want 0\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		mustContain(t, name, r.stdout, append(wants, "RAYOS_BOOT:entry:recovery", "RAYOS_BOOT:services-started:entry=recovery", "RAYOS_BOOT:ready:tick=0", "RAYOS_BOOT:shutdown:reason=tick-limit")...)
		return r
	}
	// Full: a normal boot cannot record its attempt, so it falls back to
	// recovery by itself, and does so again at the next boot.
	r := expect("full-normal", "RAYOS_BOOT:fallback:entry=recovery because boot state "+filepath.Join("data", "boot", "state.toml")+" cannot be written"+escape(": no space left on device"))
	mustContain(t, "full-normal stderr", r.stderr, "boot attempt not recorded; falling back to recovery", "marker log write failed")
	expect("full-normal-again", "RAYOS_BOOT:fallback:entry=recovery because boot state")
	r = expect("full-recovery")
	mustContain(t, "full-recovery stderr", r.stderr, "marker log write failed", "boot state not saved")
	if ls := readFile(t, filepath.Join(dir, "full-ls.txt")); strings.Contains(ls, ".rayos-tmp-") {
		t.Errorf("failed writes left temporary files:\n%s", ls)
	}
	// Read-only: the same, and the control socket moves off the data
	// partition.
	r = expect("ro-normal", "RAYOS_BOOT:fallback:entry=recovery because boot state "+filepath.Join("data", "boot", "state.toml")+" cannot be written"+escape(": read-only file system"))
	mustContain(t, "ro-normal stderr", r.stderr, "control socket moved", "marker log not opened")
	expect("ro-recovery")
	t.Logf("full tmpfs: 3 boots (2 normal that fell back to recovery, 1 recovery), read-only: 2 boots (1 fallback, 1 recovery); all reached ready and exited 0")
}

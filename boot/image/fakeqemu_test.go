package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The harness's tests run BootImage over a fake qemu-system-x86_64: this
// test binary, linked under that name in a folder put first on PATH. The
// fake does what the harness relies on from QEMU — prints the serial
// console on stdout, answers QMP on each -qmp socket (system_powerdown is
// an orderly shutdown: the halt marker, then exit 0), unlinks a path
// before listening there, and terminates with status 0 on SIGINT/SIGTERM
// ("terminating on signal") — and follows a script of console lines.
//
// Script lines (RAYOS_FAKE_QEMU names the script file):
//
//	print TEXT   a console line
//	long N       a console line of N bytes
//	sleep D      a pause (time.ParseDuration)
//	wait         wait for the power button on QMP
//	drop         wait for the power button and ignore it (pressed too early)
//	exit N       exit with status N
//
// The fake writes its pid to SCRIPT.pid and its arguments, one a line,
// to SCRIPT.args.

// TestMain turns this binary into the fake QEMU or into a harness (a
// separate process running BootImage, for tests that kill it or signal
// its process group) when the environment asks.
func TestMain(m *testing.M) {
	if img := os.Getenv("RAYOS_TEST_HARNESS"); img != "" {
		os.Unsetenv("RAYOS_TEST_HARNESS") // its QEMU is the fake
		os.Exit(testHarness(img))
	}
	if script := os.Getenv("RAYOS_FAKE_QEMU"); script != "" {
		os.Exit(fakeQEMU(script, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeQEMU(script string, args []string) int {
	os.WriteFile(script+".pid", []byte(strconv.Itoa(os.Getpid())), 0o644)
	os.WriteFile(script+".args", []byte(strings.Join(args, "\n")), 0o644)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "qemu-system-x86_64: terminating on signal %d\n", s)
		os.Exit(0)
	}()
	power := make(chan struct{}, 1)
	for i, a := range args {
		if a != "-qmp" || i+1 == len(args) {
			continue
		}
		path, _ := strings.CutPrefix(qemuOptValue(args[i+1]), "unix:")
		os.Remove(path) // as QEMU does, whatever is there
		l, err := net.Listen("unix", path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "qemu-system-x86_64: -qmp %s: %v\n", args[i+1], err)
			return 1
		}
		go serveFakeQMP(l, power)
	}
	data, err := os.ReadFile(script)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for _, line := range strings.Split(string(data), "\n") {
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "print":
			fmt.Fprintln(out, arg)
		case "long":
			n, _ := strconv.Atoi(arg)
			out.WriteString(strings.Repeat("x", n) + "\n")
		case "sleep":
			out.Flush()
			d, _ := time.ParseDuration(arg)
			time.Sleep(d)
		case "wait":
			out.Flush()
			<-power
			fmt.Fprintln(out, "RAYOS_BOOT:shutdown:reason=signal-power-button tick=1")
			fmt.Fprintln(out, "RAYOS_BOOT:halt:status=0 action=poweroff")
			out.Flush()
			return 0
		case "drop":
			out.Flush()
			<-power
		case "exit":
			out.Flush()
			n, _ := strconv.Atoi(arg)
			return n
		}
		out.Flush()
	}
	return 0
}

// qemuOptValue undoes QEMU's option escaping (",," is a comma) and drops
// the options after the value.
func qemuOptValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			if i+1 < len(s) && s[i+1] == ',' {
				b.WriteByte(',')
				i++
				continue
			}
			break
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func serveFakeQMP(l net.Listener, power chan<- struct{}) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			fmt.Fprintln(c, `{"QMP": {"version": {}, "capabilities": []}}`)
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				var req struct {
					Execute string `json:"execute"`
				}
				json.Unmarshal(sc.Bytes(), &req)
				if req.Execute == "system_powerdown" {
					select {
					case power <- struct{}{}:
					default:
					}
				}
				fmt.Fprintln(c, `{"return": {}}`)
			}
		}()
	}
}

// testHarness is `rayos image boot IMG` in miniature: interrupts are the
// power button, the exit status the runtime's.
func testHarness(img string) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	res, err := BootImage(BootOptions{Image: img, Firmware: os.Getenv("RAYOS_TEST_FIRMWARE"), Stdout: os.Stdout, Interrupt: sigs, Timeout: time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return res.Status
}

// fakeMachine puts the fake QEMU first on PATH with script, and returns
// a disk image (a GPT signature and zeros) and a firmware file for it.
func fakeMachine(t *testing.T, script ...string) (img, firmware, scriptPath string) {
	t.Helper()
	if _, err := os.Stat(DefaultVarsTemplate); err != nil {
		t.Fatalf("%s: %v (install Debian package ovmf: make deps)", DefaultVarsTemplate, err)
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	if err := os.Symlink(self, filepath.Join(bin, "qemu-system-x86_64")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	scriptPath = filepath.Join(dir, "script")
	os.WriteFile(scriptPath, []byte(strings.Join(script, "\n")), 0o644)
	t.Setenv("RAYOS_FAKE_QEMU", scriptPath)
	img = filepath.Join(dir, "disk.img")
	disk := make([]byte, 1<<20)
	copy(disk[512:], "EFI PART")
	os.WriteFile(img, disk, 0o644)
	firmware = filepath.Join(dir, "code.fd")
	os.WriteFile(firmware, make([]byte, 4096), 0o644)
	t.Setenv("RAYOS_TEST_FIRMWARE", firmware)
	return img, firmware, scriptPath
}

// fakePid waits for the fake QEMU of scriptPath to start and returns its pid.
func fakePid(t *testing.T, scriptPath string) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(scriptPath + ".pid"); err == nil && len(b) > 0 {
			pid, _ := strconv.Atoi(string(b))
			return pid
		}
	}
	t.Fatal("the fake QEMU never started")
	return 0
}

// alive says whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z' && s[i+2] != 'X'
}

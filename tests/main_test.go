package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// rayosBin is the binary under test, built once by TestMain.
var rayosBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rayos-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rayosBin = filepath.Join(dir, "rayos")
	build := exec.Command("go", "build", "-o", rayosBin, "../cmd/rayos")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build rayos:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// rayos runs the binary to completion (at most a minute) in dir, with
// RAYOS_DATA taken out of the inherited environment.
func rayos(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return rayosEnv(t, dir, nil, args...)
}

// rayosEnv runs the binary like rayos does, with RAYOS_DATA taken out of
// the inherited environment and env added, so that the caller's shell
// cannot change what a test sees.
func rayosEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(rayosBin, args...)
	cmd.Dir = dir
	cmd.Env = append(withoutRayosData(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute): // a ceiling for a hung run
		cmd.Process.Kill()
		t.Fatalf("rayos %s did not finish within a minute", strings.Join(args, " "))
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func withoutRayosData() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "RAYOS_DATA=") })
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// listDir names everything under dir, for "nothing on disk changed" checks.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, fmt.Sprintf("%s %d %v", rel, info.Size(), info.Mode()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

package volume

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "RAYOS_VOLUME_CRASH_CHILD"

// crashBatch items are added before every save.
const crashBatch = 40

// TestMain runs the writer the crash test kills when the test binary is
// started with RAYOS_VOLUME_CRASH_CHILD=dir, and the tests otherwise.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
	}
	os.Exit(m.Run())
}

// crashChild opens the Volume in dir and adds and saves forever,
// printing "saved N" after each Save returns.
func crashChild(dir string) {
	v, err := Open(dir, Options{Embedder: HashEmbedder(32), ExactBelow: 100})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	for {
		n := v.Stats().NextID - 1
		items := make([]Item, crashBatch)
		for i := range items {
			items[i] = Item{Text: fmt.Sprintf("item %d of the crash test", n+uint64(i)+1)}
		}
		if _, err := v.Add(items); err != nil {
			fmt.Println("add:", err)
			os.Exit(3)
		}
		if err := v.Save(); err != nil {
			fmt.Println("save:", err)
			os.Exit(3)
		}
		fmt.Printf("saved %d\n", v.Stats().Items)
	}
}

// A writer killed with SIGKILL at random moments, N rounds, never loses
// what it acknowledged: after every kill the folder opens without error
// (no recovery needed) and holds at least the last "saved N" — N or the
// next batch, whose save may have finished before the line was printed.
func TestKilledWriterNeverLosesAcknowledgedSaves(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	rounds := 30
	acked := 0
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledged saves, at a random
		// delay after the last one: somewhere inside the next save.
		killAfter := 1 + rng.IntN(4)
		sc := bufio.NewScanner(out)
		seen := 0
		for seen < killAfter && sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "saved ") {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(line, "saved "))
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			acked = n
			seen++
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		// Lines printed before the kill still count as acknowledged.
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "saved ")); err == nil {
				acked = n
			}
		}
		cmd.Wait()
		if seen < killAfter {
			t.Fatalf("round %d: the child stopped after %d saves", round, seen)
		}
		v, err := Open(dir, Options{Embedder: HashEmbedder(32), ExactBelow: 100})
		if err != nil {
			t.Fatalf("round %d: after kill -9: %v", round, err)
		}
		st := v.Stats()
		if st.Items != acked && st.Items != acked+crashBatch {
			t.Fatalf("round %d: %d items on disk, last acknowledged %d", round, st.Items, acked)
		}
		hits, err := v.Query(fmt.Sprintf("item %d of the crash test", acked), 1, true)
		if err != nil || len(hits) == 0 || hits[0].Text != fmt.Sprintf("item %d of the crash test", acked) {
			t.Fatalf("round %d: the last acknowledged item is not there: %+v %v", round, hits, err)
		}
		v.Close()
	}
	t.Logf("%d rounds, %d items acknowledged", rounds, acked)
}

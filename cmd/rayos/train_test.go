package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
)

// TestDefaultWeightsAreReproducible runs the command docs/attention.md
// gives for the default weights and checks it writes the embedded file
// byte for byte.
func TestDefaultWeightsAreReproducible(t *testing.T) {
	doc, err := os.ReadFile("../../docs/attention.md")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^rayos (train attention --synthetic .*) --out default-weights\.json$`).FindSubmatch(doc)
	if line == nil {
		t.Fatal("docs/attention.md has no line 'rayos train attention --synthetic … --out default-weights.json'")
	}
	out := filepath.Join(t.TempDir(), "default-weights.json")
	args := append(strings.Fields(string(line[1])), "--out", out)
	cmd := newTrainCmd()
	var report bytes.Buffer
	cmd.SetOut(&report)
	cmd.SetArgs(args[1:])
	if err := cmd.Execute(); err != nil {
		t.Fatalf("rayos %s: %v", strings.Join(args, " "), err)
	}
	t.Log(report.String())
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, model.DefaultWeights()) {
		t.Fatalf("rayos %s wrote\n%s\nbut the embedded default-weights.json is\n%s", strings.Join(args, " "), got, model.DefaultWeights())
	}
}

func TestTrainAttentionRefusesBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"attention", "--out", filepath.Join(dir, "w.json")}, "exactly one of"},
		{[]string{"attention", "--synthetic", "5", "--journal", "x.jsonl", "--out", "w.json"}, "exactly one of"},
		{[]string{"attention", "--synthetic", "5"}, "--out"},
		{[]string{"attention", "--synthetic", "5", "--out", dir}, "is a folder"},
		{[]string{"attention", "--synthetic", "5", "--epochs", "0", "--out", "w.json"}, "--epochs"},
		{[]string{"attention", "--journal", filepath.Join(dir, "missing.jsonl"), "--out", filepath.Join(dir, "w.json")}, "missing.jsonl"},
	} {
		cmd := newTrainCmd()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(c.args)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
		if _, serr := os.Stat(filepath.Join(dir, "w.json")); serr == nil {
			t.Fatalf("%v: a refused run wrote weights", c.args)
		}
	}
}

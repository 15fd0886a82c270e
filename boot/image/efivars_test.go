package image

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// varsCopy is a fresh copy of Debian's OVMF variable store.
func varsCopy(t *testing.T) string {
	t.Helper()
	tmpl, err := os.ReadFile(DefaultVarsTemplate)
	if err != nil {
		t.Fatalf("%s: %v (install Debian package ovmf: make deps)", DefaultVarsTemplate, err)
	}
	p := filepath.Join(t.TempDir(), "vars.fd")
	if err := os.WriteFile(p, tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSetVariable writes systemd-boot's one-shot variable into a real
// OVMF store, replaces it, and reads it back the way the firmware walks
// the store: the old record is marked deleted, the others untouched.
func TestSetVariable(t *testing.T) {
	p := varsCopy(t)
	before, _ := os.ReadFile(p)
	if _, set, err := GetVariable(p, OneShotVariable, LoaderGUID); err != nil || set {
		t.Fatalf("fresh store: set=%v err=%v", set, err)
	}
	countLive := func() int {
		s, err := readVarStore(p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		s.each(func(v efiVar) {
			if v.live() {
				n++
			}
		})
		return n
	}
	live := countLive()
	for _, entry := range []string{"recovery.conf", "previous.conf"} {
		if err := SetVariable(p, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z(entry)); err != nil {
			t.Fatal(err)
		}
		got, set, err := GetVariable(p, OneShotVariable, LoaderGUID)
		if err != nil || !set || !bytes.Equal(got, UTF16Z(entry)) {
			t.Fatalf("after setting %s: %q set=%v err=%v", entry, got, set, err)
		}
	}
	if n := countLive(); n != live+1 {
		t.Errorf("%d live variables after setting one twice, want %d (the first record deleted)", n, live+1)
	}
	// Another vendor's variable of the same name is a different variable.
	other := LoaderGUID
	other[0] ^= 0xFF
	if _, set, _ := GetVariable(p, OneShotVariable, other); set {
		t.Error("the variable is found under another vendor GUID")
	}
	after, _ := os.ReadFile(p)
	if len(after) != len(before) {
		t.Fatalf("the store changed size: %d → %d", len(before), len(after))
	}
	// Everything outside the variable store is byte for byte the template.
	s, _ := readVarStore(p)
	if !bytes.Equal(after[:s.start], before[:s.start]) || !bytes.Equal(after[s.end:], before[s.end:]) {
		t.Error("SetVariable wrote outside the variable store")
	}
	if got := UTF16Z("ab"); !bytes.Equal(got, []byte{'a', 0, 'b', 0, 0, 0}) {
		t.Errorf("UTF16Z = %v", got)
	}
}

// TestSetVariableRefusals: a file that is not a variable store, a
// truncated one, and a full one are refused, each left as it was.
func TestSetVariableRefusals(t *testing.T) {
	dir := t.TempDir()
	notVars := filepath.Join(dir, "not.fd")
	os.WriteFile(notVars, bytes.Repeat([]byte{0xFF}, 4096), 0o644)
	if err := SetVariable(notVars, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z("x")); err == nil || !strings.Contains(err.Error(), "not an OVMF variable file") {
		t.Errorf("not a store: %v", err)
	}
	if err := SetVariable(filepath.Join(dir, "missing.fd"), OneShotVariable, LoaderGUID, VarNVBSRT, nil); err == nil {
		t.Error("a missing file accepted")
	}

	p := varsCopy(t)
	whole, _ := os.ReadFile(p)
	trunc := filepath.Join(dir, "trunc.fd")
	os.WriteFile(trunc, whole[:0x60], 0o644)
	if err := SetVariable(trunc, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z("x")); err == nil {
		t.Error("a truncated store accepted")
	}

	big := bytes.Repeat([]byte{1}, 200<<10) // more than the whole store
	if err := SetVariable(p, "Huge", LoaderGUID, VarNVBSRT, big); err == nil || !strings.Contains(err.Error(), "no room") {
		t.Errorf("a variable larger than the free space: %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, whole) {
		t.Error("a refused SetVariable changed the file")
	}

	// A record whose sizes run past the store is an error, not a panic.
	if err := SetVariable(p, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z("x")); err != nil {
		t.Fatal(err)
	}
	whole, _ = os.ReadFile(p)
	s, _ := readVarStore(p)
	bad := append([]byte(nil), whole...)
	off := s.start
	bad[off+36], bad[off+37], bad[off+38], bad[off+39] = 0xFF, 0xFF, 0xFF, 0x7F
	corrupt := filepath.Join(dir, "corrupt.fd")
	os.WriteFile(corrupt, bad, 0o644)
	if _, _, err := GetVariable(corrupt, OneShotVariable, LoaderGUID); err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Errorf("a record overrunning the store: %v", err)
	}
}

// FuzzVarStore: any bytes as a variable file give an answer or an error,
// never a panic, and SetVariable never writes past the store.
func FuzzVarStore(f *testing.F) {
	if tmpl, err := os.ReadFile(DefaultVarsTemplate); err == nil {
		f.Add(tmpl)
	}
	f.Add([]byte("_FVH"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "v.fd")
		os.WriteFile(p, data, 0o644)
		GetVariable(p, OneShotVariable, LoaderGUID)
		if err := SetVariable(p, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z("recovery.conf")); err == nil {
			after, _ := os.ReadFile(p)
			if len(after) != len(data) {
				t.Fatalf("size %d → %d", len(data), len(after))
			}
		}
	})
}

// TestSetVariableReclaims: a store whose free space is used up by deleted
// records is compacted the way the firmware does it (live records kept in
// order, the rest erased) instead of refusing --entry until a boot makes
// room — a boot the store may never get, since the firmware reclaims only
// when it needs room itself.
func TestSetVariableReclaims(t *testing.T) {
	p := varsCopy(t)
	other := LoaderGUID
	other[0] ^= 0xFF
	keep := bytes.Repeat([]byte("keep"), 100)
	if err := SetVariable(p, "Keep", other, VarNVBSRT, keep); err != nil {
		t.Fatal(err)
	}
	filler := bytes.Repeat([]byte{7}, 30000) // two of these overflow the store
	for i := range 2 {
		filler[0] = byte(i)
		if err := SetVariable(p, "Filler", other, VarNVBSRT, filler); err != nil {
			t.Fatalf("setting a variable whose old record fills half the store: %v", err)
		}
	}
	if err := SetVariable(p, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z("recovery.conf")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		guid [16]byte
		want []byte
	}{{"Keep", other, keep}, {"Filler", other, filler}, {OneShotVariable, LoaderGUID, UTF16Z("recovery.conf")}} {
		if got, set, err := GetVariable(p, c.name, c.guid); err != nil || !set || !bytes.Equal(got, c.want) {
			t.Errorf("%s after the reclaim: %d bytes, set=%v err=%v", c.name, len(got), set, err)
		}
	}
	s, _ := readVarStore(p)
	records := 0
	free, _ := s.each(func(efiVar) { records++ })
	if records != 3 {
		t.Errorf("%d records after the reclaim, want the 3 live ones", records)
	}
	for i := free; i < s.end; i++ {
		if s.data[i] != 0xFF {
			t.Fatalf("byte %#x after the records is %#x, want erased (0xFF)", i, s.data[i])
		}
	}
}

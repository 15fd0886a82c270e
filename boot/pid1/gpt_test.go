package pid1

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// needTools fails the test when the tools that make real GPTs and ext4
// file systems on files are missing.
func needTools(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("sgdisk"); err != nil {
		t.Fatalf("sgdisk missing: install Debian package gdisk (make deps)")
	}
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Fatalf("mke2fs missing: install Debian package e2fsprogs (make deps)")
	}
}

// gptImage writes a 4 MiB disk image with a real GPT (sgdisk): partition
// 1 an EFI system partition, 2 a Linux file system. It returns partition
// 1's unique GUID as sgdisk says it.
func gptImage(t testing.TB, path string) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 4<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sgdisk", "-o", "-n", "1:0:+1M", "-t", "1:ef00", "-n", "2:0:0", "-t", "2:8300", path).CombinedOutput(); err != nil {
		t.Fatalf("sgdisk %s: %v: %s", path, err, out)
	}
	out, err := exec.Command("sgdisk", "-i", "1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("sgdisk -i 1 %s: %v: %s", path, err, out)
	}
	m := regexp.MustCompile(`Partition unique GUID: ([0-9A-Fa-f-]{36})`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("sgdisk -i 1 %s: no \"Partition unique GUID\" in:\n%s", path, out)
	}
	return strings.ToUpper(string(m[1]))
}

// fakeDisks lays out, the way /sys/class/block and /dev show them, two
// disks vda and vdb with real GPTs, each with an ext4 RAYOS_DATA file
// system as its partition 2 (partition 1, the ESP, is zeros). Regular
// files stand in for the device nodes. It points sysBlock, devDir and
// loaderPartUUIDPath at the fake tree (the variable file itself is not
// written) and returns each disk's ESP GUID and the dev directory.
func fakeDisks(t *testing.T) (esp map[string]string, dev string) {
	t.Helper()
	needTools(t)
	dir, sys, dev := fakeBlockTree(t)
	esp = map[string]string{}
	for _, disk := range []string{"vda", "vdb"} {
		esp[disk] = gptImage(t, filepath.Join(dev, disk))
		os.WriteFile(filepath.Join(dev, disk+"1"), make([]byte, 4096), 0o644)
		mkext4(t, filepath.Join(dev, disk+"2"), "RAYOS_DATA")
		os.MkdirAll(filepath.Join(sys, disk, "queue"), 0o755)
		os.WriteFile(filepath.Join(sys, disk, "queue", "logical_block_size"), []byte("512\n"), 0o644)
		for _, p := range []string{"1", "2"} {
			os.Mkdir(filepath.Join(sys, disk, disk+p), 0o755) // the disk's own list
			os.Mkdir(filepath.Join(sys, disk+p), 0o755)
			os.WriteFile(filepath.Join(sys, disk+p, "partition"), []byte(p+"\n"), 0o644)
		}
	}
	if esp["vda"] == esp["vdb"] {
		t.Fatalf("both disks' ESPs are %s", esp["vda"])
	}
	oldVar, oldWait := loaderPartUUIDPath, bootWait
	loaderPartUUIDPath = filepath.Join(dir, "LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f")
	bootWait = 200 * time.Millisecond
	t.Cleanup(func() { loaderPartUUIDPath, bootWait = oldVar, oldWait })
	return esp, dev
}

// efiVar is an efivarfs file: attributes (boot service, runtime access)
// then value.
func efiVar(value []byte) []byte {
	return append([]byte{6, 0, 0, 0}, value...)
}

// utf16z is s as UTF-16LE with a terminating NUL, as systemd-boot sets
// LoaderDevicePartUUID.
func utf16z(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return append(b, 0, 0)
}

func setLoaderVar(t *testing.T, content []byte) {
	t.Helper()
	if err := os.WriteFile(loaderPartUUIDPath, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBootDiskChosen: with RAYOS_DATA on two disks, the one on the disk
// whose ESP systemd-boot names is taken — the second by name here.
func TestBootDiskChosen(t *testing.T) {
	esp, dev := fakeDisks(t)
	f, err := os.Open(filepath.Join(dev, "vdb"))
	if err != nil {
		t.Fatal(err)
	}
	parts, err := readGPT(f, 512)
	f.Close()
	if err != nil || len(parts) != 2 || parts[0].Index != 1 || parts[0].GUID != esp["vdb"] {
		t.Fatalf("readGPT(vdb) = %+v, %v; want 2 partitions, 1 being %s (sgdisk's)", parts, err, esp["vdb"])
	}
	// Upper-case with a NUL, as systemd-boot writes it; lower-case
	// without one is the same GUID.
	for _, v := range []string{esp["vdb"], strings.ToLower(esp["vdb"])} {
		val := utf16z(v)
		if v != esp["vdb"] {
			val = val[:len(val)-2]
		}
		setLoaderVar(t, efiVar(val))
		c, err := chooseDevice("LABEL=RAYOS_DATA", time.Second)
		if err != nil || c.dev != filepath.Join(dev, "vdb2") || len(c.others) != 1 || c.others[0] != filepath.Join(dev, "vda2") {
			t.Errorf("variable %q: %+v, %v; want vdb2, vda2 named", v, c, err)
		}
		if !strings.Contains(c.rule, "systemd-boot started from") || !strings.Contains(c.rule, "also on "+filepath.Join(dev, "vda2")) {
			t.Errorf("the console line does not say the boot disk chose and name the other: %q", c.rule)
		}
	}
	// The first disk named: the first disk's.
	setLoaderVar(t, efiVar(utf16z(esp["vda"])))
	if c, err := chooseDevice("LABEL=RAYOS_DATA", time.Second); err != nil || c.dev != filepath.Join(dev, "vda2") || !strings.Contains(c.rule, "systemd-boot") {
		t.Errorf("variable naming vda: %+v, %v; want vda2", c, err)
	}
}

// TestBootDiskFallback: no variable, a malformed one, one naming no disk,
// or a boot disk without the label — the first by name, and the console
// says why.
func TestBootDiskFallback(t *testing.T) {
	esp, dev := fakeDisks(t)
	first := filepath.Join(dev, "vda2")
	check := func(what, why string) {
		t.Helper()
		c, err := chooseDevice("LABEL=RAYOS_DATA", 2*time.Second)
		if err != nil || c.dev != first || len(c.others) != 1 || c.others[0] != filepath.Join(dev, "vdb2") {
			t.Errorf("%s: %+v, %v; want vda2, vdb2 named", what, c, err)
		}
		if !strings.Contains(c.rule, "the first by name") || !strings.Contains(c.rule, why) {
			t.Errorf("%s: console line %q, want the first-by-name rule and %q", what, c.rule, why)
		}
	}
	check("no variable", "not started by systemd-boot")

	good := utf16z(esp["vdb"])
	for _, m := range []struct{ what, content, why string }{
		{"empty file", "", "shorter than the 4-byte attributes"},
		{"truncated attributes", "\x06\x00", "shorter than the 4-byte attributes"},
		{"truncated GUID", string(efiVar(good[:20])), "not a GUID"},
		{"odd length", string(efiVar(good[:len(good)-1])), "odd"},
		{"not a GUID", string(efiVar(utf16z("ZZB9F2C4-0000-0000-0000-000000000000"))), "not a GUID"},
		{"no dashes", string(efiVar(utf16z(strings.ReplaceAll(esp["vdb"], "-", "")))), "not a GUID"},
		{"ASCII, not UTF-16", string(efiVar([]byte(esp["vdb"]))), "not a GUID"},
		{"oversized", string(efiVar(bytes.Repeat(good, 10))), "want at most"},
	} {
		setLoaderVar(t, []byte(m.content))
		check(m.what, m.why)
	}

	// A well-formed GUID no disk has (a boot from a disk whose driver is
	// not loaded): waited for a while, then the first.
	setLoaderVar(t, efiVar(utf16z("D5B9F2C4-1111-2222-3333-444455556666")))
	check("a GUID on no disk", "no disk has partition D5B9F2C4-1111-2222-3333-444455556666")

	// Two copies of one image (dd keeps the GUIDs): the variable names
	// both disks, so it cannot choose.
	img, err := os.ReadFile(filepath.Join(dev, "vdb"))
	if err != nil {
		t.Fatal(err)
	}
	vda, err := os.ReadFile(filepath.Join(dev, "vda"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dev, "vda"), img, 0o644)
	setLoaderVar(t, efiVar(utf16z(esp["vdb"])))
	check("two copies of one image", "disks vda vdb all have partition "+esp["vdb"])
	os.WriteFile(filepath.Join(dev, "vda"), vda, 0o644)

	// The boot disk without the label: the first, at once.
	os.WriteFile(filepath.Join(dev, "vdb2"), make([]byte, 4096), 0o644)
	setLoaderVar(t, efiVar(utf16z(esp["vdb"])))
	c, err := chooseDevice("LABEL=RAYOS_DATA", time.Second)
	if err != nil || c.dev != first || len(c.others) != 0 || !strings.Contains(c.rule, "none on vdb") {
		t.Errorf("boot disk without RAYOS_DATA: %+v, %v; want vda2, saying none is on vdb", c, err)
	}
}

// patchGPT rewrites a field of the primary GPT header of the image at
// path (a uint32 at off in the header) and fixes the header's CRC, so
// that only the field itself is wrong.
func patchGPT(t testing.TB, img []byte, off int, v uint32) []byte {
	t.Helper()
	img = bytes.Clone(img)
	hdr := img[512 : 512+92]
	binary.LittleEndian.PutUint32(hdr[off:], v)
	clear(hdr[16:20])
	binary.LittleEndian.PutUint32(hdr[16:], crc32.ChecksumIEEE(hdr))
	return img
}

// TestGPTHostile: a GPT asking for absurd sizes is refused without
// allocating them, and its disk is not taken as the boot disk.
func TestGPTHostile(t *testing.T) {
	esp, dev := fakeDisks(t)
	img, err := os.ReadFile(filepath.Join(dev, "vdb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		img  []byte
		want string
	}{
		{"entry count 2³²-1", patchGPT(t, img, 80, 0xFFFFFFFF), "NumberOfPartitionEntries"},
		{"entry count 2²⁰ (a 128 MiB array)", patchGPT(t, img, 80, 1<<20), "NumberOfPartitionEntries"},
		{"entry count just over the bound", patchGPT(t, img, 80, maxGPTArray/128+1), "NumberOfPartitionEntries"},
		{"entry size 0", patchGPT(t, img, 84, 0), "SizeOfPartitionEntry"},
		{"entry size 2³²-1", patchGPT(t, img, 84, 0xFFFFFFFF), "SizeOfPartitionEntry"},
		{"header size 2³²-1", patchGPT(t, img, 12, 0xFFFFFFFF), "HeaderSize"},
		{"entry LBA 2³²-1", patchGPT(t, img, 72, 0xFFFFFFFF), "partition entries"},
		{"entry LBA 0", patchGPT(t, img, 72, 0), "PartitionEntryLBA"},
		{"entry count 1 (array CRC now wrong)", patchGPT(t, img, 80, 1), "PartitionEntryArrayCRC32"},
		{"header CRC wrong", func() []byte { b := bytes.Clone(img); b[512+16] ^= 1; return b }(), "HeaderCRC32"},
		{"no signature", make([]byte, 64<<10), "EFI PART"},
		{"short", img[:700], "LBA 1"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		parts, err := readGPT(bytes.NewReader(c.img), 512)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, %v; want an error naming %s", c.what, parts, err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
			t.Errorf("%s: %d bytes allocated reading a refused GPT", c.what, n)
		}
	}
	for _, size := range []int{0, 256, 513, 1 << 20} {
		if _, err := readGPT(bytes.NewReader(img), size); err == nil || !strings.Contains(err.Error(), "sector size") {
			t.Errorf("sector size %d: %v; want it refused", size, err)
		}
	}

	// The boot disk's GPT has an absurd entry count: not the boot disk,
	// the first by name is used.
	if err := os.WriteFile(filepath.Join(dev, "vdb"), patchGPT(t, img, 80, 0xFFFFFFFF), 0o644); err != nil {
		t.Fatal(err)
	}
	setLoaderVar(t, efiVar(utf16z(esp["vdb"])))
	ch, err := chooseDevice("LABEL=RAYOS_DATA", 2*time.Second)
	if err != nil || ch.dev != filepath.Join(dev, "vda2") || !strings.Contains(ch.rule, "the first by name") {
		t.Errorf("boot disk with an absurd GPT: %+v, %v; want vda2 by name", ch, err)
	}
	// A logical sector size the kernel would not give: that disk unread.
	os.WriteFile(filepath.Join(dev, "vdb"), img, 0o644)
	os.WriteFile(filepath.Join(sysBlock, "vdb", "queue", "logical_block_size"), []byte("12345\n"), 0o644)
	if d := disksWithPartUUID(esp["vdb"]); len(d) != 0 {
		t.Errorf("a disk with logical_block_size 12345 read as the boot disk %s", d)
	}
	os.WriteFile(filepath.Join(sysBlock, "vdb", "queue", "logical_block_size"), []byte("512\n"), 0o644)
	if d := disksWithPartUUID(esp["vdb"]); len(d) != 1 || d[0] != "vdb" {
		t.Errorf("disksWithPartUUID(vdb's ESP) = %q, want vdb", d)
	}
}

// FuzzReadGPT: whatever a disk holds, reading its GPT does not panic,
// and what it returns is well-formed.
func FuzzReadGPT(f *testing.F) {
	needTools(f)
	path := filepath.Join(f.TempDir(), "disk")
	gptImage(f, path)
	img, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(img[:34*512])
	f.Add(patchGPT(f, img[:34*512], 80, 0xFFFFFFFF))
	f.Add([]byte("not a disk"))
	f.Fuzz(func(t *testing.T, disk []byte) {
		for _, size := range []int{512, 4096} {
			parts, err := readGPT(bytes.NewReader(disk), size)
			if err != nil {
				continue
			}
			for _, p := range parts {
				if !isGUID(p.GUID) || p.Index < 1 {
					t.Fatalf("readGPT gave %+v", p)
				}
			}
		}
	})
}

// FuzzParseEFIGUIDVar: any variable content is a GUID or an error.
func FuzzParseEFIGUIDVar(f *testing.F) {
	f.Add(efiVar(utf16z("D5B9F2C4-1111-2222-3333-444455556666")))
	f.Add([]byte{6, 0, 0, 0, 0x44})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parseEFIGUIDVar(b)
		if err == nil && (!isGUID(g) || g != strings.ToUpper(g)) {
			t.Fatalf("parseEFIGUIDVar(%q) = %q", b, g)
		}
	})
}

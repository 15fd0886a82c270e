package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"

	"github.com/rayos/engine/world/atomicfile"
)

// The UEFI variable store in an OVMF_VARS.fd file: a firmware volume
// (header "_FVH") holding an authenticated variable store, variables one
// after another, each a 60-byte header, its UTF-16 name and its data,
// aligned to 4 bytes. Free space reads 0xFF. (EDK II's
// MdeModulePkg/Include/Guid/VariableFormat.h.)
const (
	varStartID     = 0x55AA
	varAdded       = 0x3F
	varDeleted     = 0x3C // VAR_ADDED & VAR_DELETED & VAR_IN_DELETED_TRANSITION, as the firmware leaves it
	varHeaderSize  = 60
	authStoreGUID  = "78 2c f3 aa 7b 94 9a 43 a1 80 2e 14 4e c3 77 92"
	nvDataFVGUID   = "8d 2b f1 ff 96 76 8b 4c a9 85 27 47 07 5b 4f 50"
	storeHeaderLen = 28
)

// LoaderGUID is systemd-boot's vendor GUID (4a67b082-0a4c-41cf-b6c7-440b29bb8c4f)
// in the byte order UEFI stores it.
var LoaderGUID = [16]byte{0x82, 0xb0, 0x67, 0x4a, 0x4c, 0x0a, 0xcf, 0x41, 0xb6, 0xc7, 0x44, 0x0b, 0x29, 0xbb, 0x8c, 0x4f}

// Variable attributes: non-volatile, boot service and runtime access.
const VarNVBSRT = 0x7

// OneShotVariable is the systemd-boot variable naming the next boot's
// entry, once: systemd-boot deletes it when it reads it.
const OneShotVariable = "LoaderEntryOneShot"

// varStore is a parsed OVMF variable file.
type varStore struct {
	data       []byte
	start, end int // the variables' region
}

func parseGUID(s string) []byte {
	var b []byte
	for _, f := range bytes.Fields([]byte(s)) {
		var v byte
		fmt.Sscanf(string(f), "%x", &v)
		b = append(b, v)
	}
	return b
}

// maxVarStore bounds a variable file: OVMF's are 128 KiB or 528 KiB. A
// device or a disk image given as --vars is refused, not read whole.
const maxVarStore = 16 << 20

func readVarStore(path string) (*varStore, error) {
	data, err := atomicfile.ReadRegular(path, maxVarStore)
	if err != nil {
		return nil, fmt.Errorf("EFI variables: %w", err)
	}
	if len(data) < 0x48+storeHeaderLen || string(data[40:44]) != "_FVH" || !bytes.Equal(data[16:32], parseGUID(nvDataFVGUID)) {
		return nil, fmt.Errorf("EFI variables %s: not an OVMF variable file (no NV data firmware volume)", path)
	}
	h := int(binary.LittleEndian.Uint16(data[0x30:]))
	if h+storeHeaderLen > len(data) || !bytes.Equal(data[h:h+16], parseGUID(authStoreGUID)) {
		return nil, fmt.Errorf("EFI variables %s: no authenticated variable store at %#x", path, h)
	}
	size := int(binary.LittleEndian.Uint32(data[h+16:]))
	if data[h+20] != 0x5A || data[h+21] != 0xFE || size < storeHeaderLen || h+size > len(data) {
		return nil, fmt.Errorf("EFI variables %s: variable store header invalid (format %#x state %#x size %d)", path, data[h+20], data[h+21], size)
	}
	return &varStore{data: data, start: h + storeHeaderLen, end: h + size}, nil
}

// efiVar is one variable record in the store.
type efiVar struct {
	off        int
	state      byte
	attrs      uint32
	name       string
	guid       [16]byte
	value      []byte
	recordSize int
}

// each calls fn for every record and returns the offset of free space.
func (s *varStore) each(fn func(v efiVar)) (int, error) {
	off := s.start
	for off+varHeaderSize <= s.end && binary.LittleEndian.Uint16(s.data[off:]) == varStartID {
		d := s.data[off:]
		nameSize := int(binary.LittleEndian.Uint32(d[36:]))
		dataSize := int(binary.LittleEndian.Uint32(d[40:]))
		if nameSize < 0 || dataSize < 0 || off+varHeaderSize+nameSize+dataSize > s.end || nameSize%2 != 0 {
			return 0, fmt.Errorf("EFI variables: record at %#x overruns the store", off)
		}
		v := efiVar{off: off, state: d[2], attrs: binary.LittleEndian.Uint32(d[4:]), recordSize: varHeaderSize + nameSize + dataSize}
		copy(v.guid[:], d[44:60])
		u := make([]uint16, nameSize/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(d[varHeaderSize+2*i:])
		}
		for len(u) > 0 && u[len(u)-1] == 0 {
			u = u[:len(u)-1]
		}
		v.name = string(utf16.Decode(u))
		v.value = d[varHeaderSize+nameSize : varHeaderSize+nameSize+dataSize]
		fn(v)
		off = (off + v.recordSize + 3) &^ 3
	}
	return off, nil
}

// live says a record is a variable's current value.
func (v efiVar) live() bool { return v.state == varAdded || v.state == varAdded&0xFE }

// GetVariable returns a variable's current value from an OVMF variable
// file, and whether it is set.
func GetVariable(path, name string, guid [16]byte) ([]byte, bool, error) {
	s, err := readVarStore(path)
	if err != nil {
		return nil, false, err
	}
	var val []byte
	found := false
	if _, err := s.each(func(v efiVar) {
		if v.live() && v.name == name && v.guid == guid {
			val, found = append([]byte(nil), v.value...), true
		}
	}); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return val, found, nil
}

// SetVariable sets a variable in an OVMF variable file the way the
// firmware would: the old record is marked deleted and a new one appended
// in the free space. The file is replaced atomically. A store too full
// for the record is an error (the firmware reclaims space when it runs;
// booting once makes room).
func SetVariable(path, name string, guid [16]byte, attrs uint32, value []byte) error {
	s, err := readVarStore(path)
	if err != nil {
		return err
	}
	var old []int
	free, err := s.each(func(v efiVar) {
		if v.live() && v.name == name && v.guid == guid {
			old = append(old, v.off)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	nameUTF16 := append(utf16.Encode([]rune(name)), 0)
	rec := make([]byte, varHeaderSize+2*len(nameUTF16)+len(value))
	binary.LittleEndian.PutUint16(rec[0:], varStartID)
	rec[2] = varAdded
	binary.LittleEndian.PutUint32(rec[4:], attrs)
	binary.LittleEndian.PutUint32(rec[36:], uint32(2*len(nameUTF16)))
	binary.LittleEndian.PutUint32(rec[40:], uint32(len(value)))
	copy(rec[44:60], guid[:])
	for i, u := range nameUTF16 {
		binary.LittleEndian.PutUint16(rec[varHeaderSize+2*i:], u)
	}
	copy(rec[varHeaderSize+2*len(nameUTF16):], value)
	if free+len(rec) > s.end {
		// Deleted records hold the space: compact the store as the
		// firmware would (it reclaims only when it needs room itself).
		if free, err = s.reclaim(old); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		old = nil
	}
	if free+len(rec) > s.end {
		return fmt.Errorf("EFI variables %s: no room for %s (%d bytes free)", path, name, s.end-free)
	}
	for i := free; i < free+len(rec); i++ {
		if s.data[i] != 0xFF {
			return errors.New("EFI variables " + path + ": free space is not erased")
		}
	}
	for _, off := range old {
		s.data[off+2] = varDeleted
	}
	copy(s.data[free:], rec)
	return atomicfile.WriteBytes(path, s.data, 0o644)
}

// reclaim compacts the store the way EDK II's Reclaim does: the live
// records, in their order and 4-byte aligned, less the records at drop
// (about to be replaced); a record caught mid-update (added, in deleted
// transition) is kept as added unless the variable has a newer added
// record; the rest of the store erased. It returns the new free offset.
func (s *varStore) reclaim(drop []int) (int, error) {
	type key struct {
		name string
		guid [16]byte
	}
	added := map[key]bool{}
	var recs []efiVar
	if _, err := s.each(func(v efiVar) {
		if v.state == varAdded {
			added[key{v.name, v.guid}] = true
		}
		recs = append(recs, v)
	}); err != nil {
		return 0, err
	}
	var keep [][]byte
	for _, v := range recs {
		if !v.live() || slices.Contains(drop, v.off) || (v.state != varAdded && added[key{v.name, v.guid}]) {
			continue
		}
		r := bytes.Clone(s.data[v.off : v.off+v.recordSize])
		r[2] = varAdded
		keep = append(keep, r)
	}
	for i := s.start; i < s.end; i++ {
		s.data[i] = 0xFF
	}
	off := s.start
	for _, r := range keep {
		copy(s.data[off:], r)
		off = (off + len(r) + 3) &^ 3
	}
	return off, nil
}

// UTF16Z is s as UTF-16LE with a terminating NUL, the form systemd-boot's
// string variables take.
func UTF16Z(s string) []byte {
	u := append(utf16.Encode([]rune(s)), 0)
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

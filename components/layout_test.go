package components

import (
	"reflect"
	"testing"
)

// The shaders and the GPU mirror read these structs byte for byte, so every
// offset documented in the type comments is checked here.
func TestGPUMirroredLayouts(t *testing.T) {
	type field struct {
		name   string
		offset uintptr
	}
	cases := []struct {
		value  any
		size   uintptr
		fields []field
	}{
		{Surface{}, 96, []field{{"Center", 0}, {"Z", 12}, {"Right", 16}, {"HalfWidth", 28}, {"Up", 32}, {"HalfHeight", 44}, {"Rect", 48}, {"Damage", 64}, {"Owner", 80}, {"Flags", 84}, {"Layer", 88}, {"Pad", 92}}},
		{AttentionRay{}, 48, []field{{"Origin", 0}, {"Weight", 12}, {"Direction", 16}, {"Source", 28}, {"Hit", 32}, {"HitT", 36}, {"Device", 40}, {"Since", 44}}},
		{ComputeTask{}, 32, []field{{"Affinity", 0}, {"Demand", 12}, {"Priority", 16}, {"Class", 20}, {"AllowLo", 24}, {"AllowHi", 28}}},
		{Device{}, 48, []field{{"Position", 0}, {"Capacity", 12}, {"Load", 16}, {"Temperature", 20}, {"EnergyCost", 24}, {"Kind", 28}, {"Slot", 32}, {"Pad", 36}}},
		{Placement{}, 32, []field{{"Device", 0}, {"Cost", 4}, {"Locality", 8}, {"Load", 12}, {"Thermal", 16}, {"Energy", 20}, {"Priority", 24}, {"Tick", 28}}},
	}
	for _, c := range cases {
		typ := reflect.TypeOf(c.value)
		t.Run(typ.Name(), func(t *testing.T) {
			if typ.Size() != c.size {
				t.Errorf("size %d, documented %d", typ.Size(), c.size)
			}
			if typ.Size()%16 != 0 {
				t.Errorf("size %d is not a multiple of 16 (std430 array stride)", typ.Size())
			}
			if typ.NumField() != len(c.fields) {
				t.Errorf("%d fields, %d documented", typ.NumField(), len(c.fields))
			}
			for _, f := range c.fields {
				sf, ok := typ.FieldByName(f.name)
				if !ok {
					t.Errorf("no field %s", f.name)
					continue
				}
				if sf.Offset != f.offset {
					t.Errorf("%s at offset %d, documented %d", f.name, sf.Offset, f.offset)
				}
				if sf.Type == reflect.TypeOf(Vec3{}) && sf.Offset%16 != 0 {
					t.Errorf("vec3 %s at offset %d is not 16-byte aligned", f.name, sf.Offset)
				}
				assertPlain(t, f.name, sf.Type)
			}
		})
	}
}

// assertPlain fails for any field kind that cannot be copied to the GPU.
func assertPlain(t *testing.T, name string, typ reflect.Type) {
	t.Helper()
	switch typ.Kind() {
	case reflect.Float32, reflect.Int32, reflect.Uint32:
	case reflect.Array:
		assertPlain(t, name, typ.Elem())
	case reflect.Struct:
		for i := 0; i < typ.NumField(); i++ {
			assertPlain(t, name+"."+typ.Field(i).Name, typ.Field(i).Type)
		}
	default:
		t.Errorf("%s has kind %s: GPU-mirrored fields are 32-bit scalars only", name, typ.Kind())
	}
}

func TestNameTablesCoverEveryValue(t *testing.T) {
	for i := ActionStart; i <= ActionResume; i++ {
		if IntentActionNames[i] == "" {
			t.Errorf("action %d has no name", i)
		}
	}
	for i := GuestDefined; i <= GuestCrashed; i++ {
		if GuestStateNames[i] == "" {
			t.Errorf("guest state %d has no name", i)
		}
	}
	for i := InputKey; i <= InputGuestEvent; i++ {
		if InputKindNames[i] == "" {
			t.Errorf("input kind %d has no name", i)
		}
	}
	for i := IntentPending; i <= IntentRunning; i++ {
		if IntentStatusNames[i] == "" {
			t.Errorf("intent status %d has no name", i)
		}
	}
}

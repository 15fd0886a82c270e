package gpu_test

import (
	"strings"
	"testing"

	"github.com/rayos/engine/gpu"
)

// Buffers keep to their roles on every backend, as a discrete GPU needs:
// the CPU writes only upload buffers and reads only readback buffers,
// which programs fill with copy steps; kernels never bind a readback
// buffer.
func TestBufferRolesAreEnforced(t *testing.T) {
	for _, b := range backends(t) {
		name := b.Info().Backend
		up, _ := b.NewBuffer(64, gpu.RoleUpload)
		dev, _ := b.NewBuffer(64, gpu.RoleDevice)
		back, err := b.NewBuffer(64, gpu.RoleReadback)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Write(dev, 0, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "upload") {
			t.Errorf("%s: Write to a device buffer: %v", name, err)
		}
		if err := b.Read(up, 0, make([]byte, 8)); err == nil || !strings.Contains(err.Error(), "readback") {
			t.Errorf("%s: Read of an upload buffer: %v", name, err)
		}
		if m, ok := b.(gpu.Mapper); ok && (m.Mapped(dev) != nil || m.Mapped(back) != nil || m.Mapped(up) == nil) {
			t.Errorf("%s: only upload buffers are mapped for the CPU", name)
		}
		if _, err := b.Record([]gpu.Dispatch{{CopyFrom: up, CopyTo: dev, CopyBytes: 8}}); err == nil {
			t.Errorf("%s: a copy into a device buffer was recorded", name)
		}
		if _, err := b.Record([]gpu.Dispatch{{Kernel: "hit", Buffers: []gpu.Buffer{up, up, up, back}, Groups: 1}}); err == nil {
			t.Errorf("%s: a kernel bound a readback buffer", name)
		}
		// Upload → device (a kernel would write it) → readback, and back
		// to the CPU: the path every result takes.
		want := []byte("RayOS buffer roles: upload, copy, readback, read...")
		if err := b.Write(up, 0, want); err != nil {
			t.Fatal(err)
		}
		p, err := b.Record([]gpu.Dispatch{{CopyFrom: up, CopyTo: back, CopyBytes: len(want)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Submit(p); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if err := b.Wait(); err != nil {
			t.Fatal(err)
		}
		if err := b.Read(back, 0, got); err != nil || string(got) != string(want) {
			t.Errorf("%s: read back %q, %v", name, got, err)
		}
		zero := make([]byte, 64)
		if err := gpu.Fetch(b, dev, 0, zero); err != nil || strings.Trim(string(zero), "\x00") != "" {
			t.Errorf("%s: a new device buffer is not zeroed: %q %v", name, zero, err)
		}
		b.Free(up)
		if err := b.Write(up, 0, want); err == nil {
			t.Errorf("%s: Write to a freed buffer", name)
		}
		b.Release(p)
	}
}

// The Vulkan backend names the memory type each role got.
func TestVulkanNamesItsMemoryTypes(t *testing.T) {
	vk := backends(t)[1]
	mem := vk.Info().Memory
	for _, role := range []string{"upload=", "device=", "readback="} {
		if !strings.Contains(mem, role) {
			t.Errorf("Info().Memory = %q lacks %s", mem, role)
		}
	}
	if !strings.Contains(mem, "readback=") || !strings.Contains(strings.SplitN(strings.SplitAfter(mem, "readback=")[1], " ", 2)[0], "host-visible") {
		t.Errorf("readback memory is not host-visible: %q", mem)
	}
	t.Logf("lavapipe: %s", mem)
}

// The Vulkan backend times each step of a program on the device, so that
// kernel time can be reported apart from upload and readback.
func TestVulkanTimesTheStepsOfAProgram(t *testing.T) {
	vk := backends(t)[1]
	timer, ok := vk.(gpu.Timer)
	if !ok {
		t.Fatal("the Vulkan backend does not implement gpu.Timer")
	}
	// lavapipe does not time programs unless asked: timestamps serialise it.
	if !timer.SetTiming(true) {
		t.Fatal("lavapipe's compute queue cannot write timestamps")
	}
	defer timer.SetTiming(false)
	width, height := 512, 512
	c := fullCompose(width, height, gpu.RGBA(1, 2, 3, 255))
	var bufs []gpu.Buffer
	for _, in := range c.inputs() {
		buf, _ := vk.NewBuffer(max(16, len(in)), gpu.RoleUpload)
		vk.Write(buf, 0, in)
		bufs = append(bufs, buf)
	}
	frame, _ := vk.NewBuffer(width*height*4, gpu.RoleDevice)
	tap, _ := vk.NewBuffer(16, gpu.RoleDevice)
	back, _ := vk.NewBuffer(width*height*4, gpu.RoleReadback)
	p, err := vk.Record([]gpu.Dispatch{
		{Kernel: "compose", Buffers: append(bufs, frame, tap), Groups: gpu.GroupsFor(width * height)},
		{CopyFrom: frame, CopyTo: back, CopyBytes: width * height * 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer vk.Release(p)
	if times := timer.StepTimes(p); times != nil {
		t.Errorf("times before any run: %v", times)
	}
	if err := vk.Submit(p); err != nil {
		t.Fatal(err)
	}
	if err := vk.Wait(); err != nil {
		t.Fatal(err)
	}
	times := timer.StepTimes(p)
	if len(times) != 2 || times[0] <= 0 {
		t.Errorf("step times %v: want two, the kernel's above zero", times)
	}
	t.Logf("lavapipe: compose %dx%d %v, copy out %v", width, height, times[0], times[1])
}

// A program that binds a buffer beyond the device's storage-buffer range is
// refused when it is built, naming the limit — not submitted to lose the
// device.
func TestVulkanRefusesAProgramBeyondTheDeviceLimits(t *testing.T) {
	vk := backends(t)[1]
	limit := vk.(interface{ MaxStorageRange() int }).MaxStorageRange()
	if limit <= 0 || limit > 1<<31 {
		t.Fatalf("maxStorageBufferRange %d", limit)
	}
	small, _ := vk.NewBuffer(64, gpu.RoleUpload)
	big, err := vk.NewBuffer(limit+64, gpu.RoleDevice)
	if err != nil {
		t.Fatalf("a buffer of %d bytes: %v", limit+64, err)
	}
	defer vk.Free(big)
	bufs := []gpu.Buffer{small, small, small, small, small, small, small, small, big, small} // big: the frame
	_, err = vk.Record([]gpu.Dispatch{{Kernel: "compose", Buffers: bufs, Groups: 1}})
	if err == nil || !strings.Contains(err.Error(), "maxStorageBufferRange") {
		t.Errorf("binding %d bytes: %v", limit+64, err)
	}
}

// An indirect dispatch of zero workgroups does not run on any backend: a
// program recorded once skips a kernel with nothing to do by its indirect
// arguments alone (the CPU backend used to run it anyway).
func TestZeroIndirectGroupsSkipTheKernel(t *testing.T) {
	for _, b := range backends(t) {
		c := fullCompose(4, 4, gpu.RGBA(9, 9, 9, 255))
		var bufs []gpu.Buffer
		for _, in := range c.inputs() {
			buf, _ := b.NewBuffer(max(16, len(in)), gpu.RoleUpload)
			b.Write(buf, 0, in)
			bufs = append(bufs, buf)
		}
		frame, _ := b.NewBuffer(64, gpu.RoleDevice)
		tap, _ := b.NewBuffer(16, gpu.RoleDevice)
		indirect, _ := b.NewBuffer(16, gpu.RoleUpload)
		p, err := b.Record([]gpu.Dispatch{{Kernel: "compose", Buffers: append(bufs, frame, tap), Indirect: indirect}})
		if err != nil {
			t.Fatal(err)
		}
		run := func(groups uint32) uint32 {
			b.Write(indirect, 0, gpu.Bytes([]uint32{groups, 1, 1}))
			if err := b.Submit(p); err != nil {
				t.Fatal(err)
			}
			got := make([]uint32, 16)
			if err := gpu.Fetch(b, frame, 0, gpu.Bytes(got)); err != nil {
				t.Fatal(err)
			}
			return got[15]
		}
		if got := run(0); got != 0 {
			t.Errorf("%s: zero workgroups composed the frame (%08x)", b.Info().Backend, got)
		}
		if got := run(1); got != gpu.RGBA(9, 9, 9, 255) {
			t.Errorf("%s: one workgroup did not compose (%08x)", b.Info().Backend, got)
		}
		b.Release(p)
	}
}

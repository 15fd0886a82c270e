package gpu

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/rayos/engine/shaders"
	vk "github.com/vulkan-go/vulkan"
)

// vulkanBackend runs the SPIR-V kernels through Vulkan. Each buffer lives
// in the memory its role asks for (memoryFor): upload buffers host-visible
// and coherent (device-local too where the device has such a heap) and
// mapped for their whole life, so a Write is a memcpy into the buffer the
// kernels read; device buffers device-local; readback buffers host-visible
// and host-cached, filled by the program's copy steps. Programs are
// recorded into a command buffer once and re-submitted; one fence tracks
// the last submit.
type vulkanBackend struct {
	instance vk.Instance
	phys     vk.PhysicalDevice
	device   vk.Device
	queue    vk.Queue
	family   uint32
	memory   vk.PhysicalDeviceMemoryProperties
	info     Info
	// direct calls the entry points whose vulkan-go wrappers free their
	// arguments under the driver (vkcall.go).
	direct vkDirect

	kernels  map[string]*vkKernel
	buffers  []vkBuffer
	descPool vk.DescriptorPool
	cmdPool  vk.CommandPool
	programs []vkProgram
	fence    vk.Fence
	pending  bool
	// pendingProgram is the program of the submit in flight, whose step
	// times are read when it finishes.
	pendingProgram int
	stats          Stats
	// timestampPeriod is nanoseconds per timestamp tick; 0 when the
	// compute queue cannot write timestamps. timing says whether programs
	// recorded from now on write them (SetTiming).
	timestampPeriod float64
	timing          bool
	// limits are the device limits a program is checked against when it
	// is built, so that an oversized buffer or dispatch is an error that
	// names the limit, never a lost device.
	maxStorageRange uint32
	maxGroups       uint32

	// fences is the one fence as the slice the fence calls take, made
	// once so that Submit and Wait allocate nothing.
	fences []vk.Fence
}

type vkKernel struct {
	module    vk.ShaderModule
	setLayout vk.DescriptorSetLayout
	layout    vk.PipelineLayout
	pipeline  vk.Pipeline
	bindings  int
}

type vkBuffer struct {
	buffer   vk.Buffer
	memory   vk.DeviceMemory
	mapped   []byte // nil when the memory is not host-visible
	size     int    // 0 once freed
	role     Role
	coherent bool // host-coherent: no invalidate needed before a read
}

type vkProgram struct {
	cmd  vk.CommandBuffer
	sets []vk.DescriptorSet
	live bool
	// queries holds a timestamp before the first step and after each
	// one; times are the step durations of the last finished run.
	queries vk.QueryPool
	steps   int
	stamps  []uint64
	times   []time.Duration
}

var vkLoad struct {
	once sync.Once
	err  error
}

// loadVulkan finds libvulkan.so and its global entry points, once per
// process.
func loadVulkan() error {
	vkLoad.once.Do(func() {
		if err := vk.SetDefaultGetInstanceProcAddr(); err != nil {
			vkLoad.err = fmt.Errorf("vulkan loader (libvulkan.so) not found: %w", err)
			return
		}
		vkLoad.err = vk.Init()
	})
	return vkLoad.err
}

// deviceTypeRank orders device types by preference, best first.
var deviceTypeRank = map[vk.PhysicalDeviceType]int{
	vk.PhysicalDeviceTypeDiscreteGpu:   0,
	vk.PhysicalDeviceTypeIntegratedGpu: 1,
	vk.PhysicalDeviceTypeVirtualGpu:    2,
	vk.PhysicalDeviceTypeCpu:           3,
	vk.PhysicalDeviceTypeOther:         4,
}

var deviceTypeNames = map[vk.PhysicalDeviceType]string{
	vk.PhysicalDeviceTypeDiscreteGpu:   "discrete",
	vk.PhysicalDeviceTypeIntegratedGpu: "integrated",
	vk.PhysicalDeviceTypeVirtualGpu:    "virtual",
	vk.PhysicalDeviceTypeCpu:           "cpu",
	vk.PhysicalDeviceTypeOther:         "other",
}

func vkErr(what string, r vk.Result) error {
	if r == vk.Success {
		return nil
	}
	return fmt.Errorf("vulkan: %s: %w", what, vk.Error(r))
}

// NewVulkan opens the best Vulkan device (discrete, then integrated,
// virtual, CPU) and builds the kernels' pipelines.
func NewVulkan() (Backend, error) {
	if err := loadVulkan(); err != nil {
		return nil, err
	}
	v := &vulkanBackend{kernels: map[string]*vkKernel{}}
	if err := v.open(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

func (v *vulkanBackend) open() error {
	app := &vk.ApplicationInfo{
		SType: vk.StructureTypeApplicationInfo, PApplicationName: "rayos\x00", PEngineName: "rayos\x00",
		ApiVersion: vk.MakeVersion(1, 0, 0),
	}
	// Handles are created into locals: cgo refuses a pointer into v, which
	// holds Go pointers.
	var instance vk.Instance
	if err := vkErr("create instance", vk.CreateInstance(&vk.InstanceCreateInfo{SType: vk.StructureTypeInstanceCreateInfo, PApplicationInfo: app}, nil, &instance)); err != nil {
		return err
	}
	v.instance = instance
	// Without this, instance-level calls go through null pointers.
	if err := vk.InitInstance(v.instance); err != nil {
		return fmt.Errorf("vulkan: init instance: %w", err)
	}
	direct, err := newVKDirect(v.instance)
	if err != nil {
		return err
	}
	v.direct = direct
	var count uint32
	if err := vkErr("enumerate devices", vk.EnumeratePhysicalDevices(v.instance, &count, nil)); err != nil {
		return err
	}
	if count == 0 {
		return errors.New("vulkan: no physical device")
	}
	devices := make([]vk.PhysicalDevice, count)
	if err := vkErr("enumerate devices", vk.EnumeratePhysicalDevices(v.instance, &count, devices)); err != nil {
		return err
	}
	best, bestRank := -1, 99
	var bestProps vk.PhysicalDeviceProperties
	var families []queueFamily // the best device's
	for i, d := range devices {
		var props vk.PhysicalDeviceProperties
		vk.GetPhysicalDeviceProperties(d, &props)
		props.Deref()
		rank, ok := deviceTypeRank[props.DeviceType]
		if !ok || rank >= bestRank {
			continue
		}
		if f := v.direct.queueFamilies(d); computeFamily(f) >= 0 {
			best, bestRank, bestProps, families = i, rank, props, f
		}
	}
	if best < 0 {
		return errors.New("vulkan: no device with a compute queue")
	}
	v.phys = devices[best]
	family := uint32(computeFamily(families))
	v.family = family
	bestProps.Limits.Deref()
	v.maxStorageRange, v.maxGroups = bestProps.Limits.MaxStorageBufferRange, bestProps.Limits.MaxComputeWorkGroupCount[0]
	if families[family].timestampBits > 0 {
		v.timestampPeriod = float64(bestProps.Limits.TimestampPeriod)
	}
	// On a GPU a timestamp costs next to nothing. lavapipe finishes all
	// work before each one: 8 of them made an empty submit 4.4× slower
	// (260 µs instead of 59 µs on 2 cores), so a CPU device times
	// programs only when asked (SetTiming).
	v.timing = v.timestampPeriod > 0 && bestProps.DeviceType != vk.PhysicalDeviceTypeCpu
	v.info = Info{Backend: "vulkan", Device: vk.ToString(bestProps.DeviceName[:]), Type: deviceTypeNames[bestProps.DeviceType]}

	device, r := v.direct.createDevice(v.phys, family)
	if err := vkErr("create device", r); err != nil {
		return err
	}
	v.device = device
	if err := v.direct.loadDevice(v.device); err != nil {
		return err
	}
	var queue vk.Queue
	vk.GetDeviceQueue(v.device, family, 0, &queue)
	v.queue = queue
	if err := v.pickMemory(); err != nil {
		return err
	}
	var cmdPool vk.CommandPool
	if err := vkErr("create command pool", vk.CreateCommandPool(v.device, &vk.CommandPoolCreateInfo{
		SType: vk.StructureTypeCommandPoolCreateInfo, QueueFamilyIndex: family,
		Flags: vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
	}, nil, &cmdPool)); err != nil {
		return err
	}
	v.cmdPool = cmdPool
	const maxSets = 256
	descPool, r := v.direct.createStoragePool(v.device, vk.DescriptorPoolCreateFlags(vk.DescriptorPoolCreateFreeDescriptorSetBit), maxSets, maxSets*8)
	if err := vkErr("create descriptor pool", r); err != nil {
		return err
	}
	v.descPool = descPool
	var fence vk.Fence
	if err := vkErr("create fence", vk.CreateFence(v.device, &vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo}, nil, &fence)); err != nil {
		return err
	}
	v.fence = fence
	for _, k := range kernelTable {
		if err := v.buildKernel(k); err != nil {
			return err
		}
	}
	v.fences = []vk.Fence{v.fence}
	return nil
}

// computeFamily returns the first queue family with compute, or -1.
func computeFamily(families []queueFamily) int {
	for i, f := range families {
		if f.flags&vk.QueueComputeBit != 0 {
			return i
		}
	}
	return -1
}

// Memory property flags, shorter.
const (
	memLocal    = vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit)
	memVisible  = vk.MemoryPropertyFlags(vk.MemoryPropertyHostVisibleBit)
	memCoherent = vk.MemoryPropertyFlags(vk.MemoryPropertyHostCoherentBit)
	memCached   = vk.MemoryPropertyFlags(vk.MemoryPropertyHostCachedBit)
)

// memoryPreference lists, per role, the property sets a memory type must
// have, best first (docs/gpu.md). Upload: device-local where the CPU can
// write it (a BAR heap: the kernels read it at VRAM speed; CPU writes are
// write-combined, which sequential writes do not mind), else system
// memory; always coherent, so writes need no flush. Device: device-local
// (and, first, not host-visible, leaving the small BAR heap to uploads).
// Readback: host-cached, so that the CPU reads at memory speed — an
// uncached or write-combined mapping reads at ~58 MB/s on an H200.
var memoryPreference = [...][]struct{ want, avoid vk.MemoryPropertyFlags }{
	RoleUpload:   {{memLocal | memVisible | memCoherent, 0}, {memVisible | memCoherent, 0}},
	RoleDevice:   {{memLocal, memVisible}, {memLocal, 0}, {0, 0}},
	RoleReadback: {{memVisible | memCached | memCoherent, 0}, {memVisible | memCached, 0}, {memVisible | memCoherent, 0}},
}

// pickMemory reads the device's memory types and names, in Info, the type
// each role gets for a storage buffer.
func (v *vulkanBackend) pickMemory() error {
	vk.GetPhysicalDeviceMemoryProperties(v.phys, &v.memory)
	v.memory.Deref()
	for i := 0; i < int(v.memory.MemoryTypeCount); i++ {
		v.memory.MemoryTypes[i].Deref()
	}
	var names []string
	for role := range memoryPreference {
		types := v.memoryFor(Role(role), ^uint32(0))
		if len(types) == 0 {
			return fmt.Errorf("vulkan: no memory type for %s buffers", RoleNames[role])
		}
		names = append(names, fmt.Sprintf("%s=%s", RoleNames[role], memoryFlagNames(v.memory.MemoryTypes[types[0]].PropertyFlags)))
	}
	v.info.Memory = strings.Join(names, " ")
	return nil
}

// memoryFor lists the memory types (among those in allowed, a bit per
// type) that can hold a buffer of role, in the order of preference.
func (v *vulkanBackend) memoryFor(role Role, allowed uint32) []uint32 {
	var out []uint32
	for _, pref := range memoryPreference[role] {
		for i := uint32(0); i < v.memory.MemoryTypeCount; i++ {
			flags := v.memory.MemoryTypes[i].PropertyFlags
			if allowed&(1<<i) != 0 && flags&pref.want == pref.want && flags&pref.avoid == 0 && !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

// memoryFlagNames spells a memory type's properties: "device-local+host-visible+coherent".
func memoryFlagNames(f vk.MemoryPropertyFlags) string {
	var parts []string
	for _, p := range []struct {
		bit  vk.MemoryPropertyFlags
		name string
	}{{memLocal, "device-local"}, {memVisible, "host-visible"}, {memCoherent, "coherent"}, {memCached, "cached"}} {
		if f&p.bit != 0 {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "plain"
	}
	return strings.Join(parts, "+")
}

func (v *vulkanBackend) buildKernel(k kernel) error {
	code, err := shaders.SPIRV(k.name)
	if err != nil {
		return err
	}
	words := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(code))), len(code)/4)
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&words[0])
	kk := &vkKernel{bindings: k.bindings}
	v.kernels[k.name] = kk
	if err := vkErr("shader "+k.name, vk.CreateShaderModule(v.device, &vk.ShaderModuleCreateInfo{
		SType: vk.StructureTypeShaderModuleCreateInfo, CodeSize: uint(len(code)), PCode: words,
	}, nil, &kk.module)); err != nil {
		return err
	}
	setLayout, r := v.direct.createStorageSetLayout(v.device, k.bindings)
	if err := vkErr("set layout "+k.name, r); err != nil {
		return err
	}
	kk.setLayout = setLayout
	setLayouts := []vk.DescriptorSetLayout{kk.setLayout}
	pin.Pin(&setLayouts[0])
	if err := vkErr("pipeline layout "+k.name, vk.CreatePipelineLayout(v.device, &vk.PipelineLayoutCreateInfo{
		SType: vk.StructureTypePipelineLayoutCreateInfo, SetLayoutCount: 1, PSetLayouts: setLayouts,
	}, nil, &kk.layout)); err != nil {
		return err
	}
	pipeline, r := v.direct.createComputePipeline(v.device, kk.module, kk.layout)
	if err := vkErr("pipeline "+k.name, r); err != nil {
		return err
	}
	kk.pipeline = pipeline
	return nil
}

func (v *vulkanBackend) Info() Info { return v.info }

// MaxStorageRange is the largest buffer a kernel may bind on this device.
func (v *vulkanBackend) MaxStorageRange() int { return int(v.maxStorageRange) }

func (v *vulkanBackend) NewBuffer(size int, role Role) (Buffer, error) {
	if size <= 0 {
		return Buffer{}, fmt.Errorf("gpu: buffer size %d", size)
	}
	if int(role) >= len(RoleNames) {
		return Buffer{}, fmt.Errorf("gpu: unknown buffer role %d", role)
	}
	b := vkBuffer{size: size, role: role}
	if err := vkErr("create buffer", vk.CreateBuffer(v.device, &vk.BufferCreateInfo{
		SType: vk.StructureTypeBufferCreateInfo, Size: vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit | vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit | vk.BufferUsageIndirectBufferBit),
		SharingMode: vk.SharingModeExclusive,
	}, nil, &b.buffer)); err != nil {
		return Buffer{}, err
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(v.device, b.buffer, &req)
	req.Deref()
	// The preferred type may be full (a 256 MiB BAR heap): take the next.
	var allocErr error = fmt.Errorf("vulkan: no memory type can hold a %s buffer", RoleNames[role])
	for _, t := range v.memoryFor(role, req.MemoryTypeBits) {
		var mem vk.DeviceMemory
		allocErr = vkErr("allocate memory", vk.AllocateMemory(v.device, &vk.MemoryAllocateInfo{
			SType: vk.StructureTypeMemoryAllocateInfo, AllocationSize: req.Size, MemoryTypeIndex: t,
		}, nil, &mem))
		if allocErr == nil {
			b.memory = mem
			flags := v.memory.MemoryTypes[t].PropertyFlags
			b.coherent = flags&memCoherent != 0
			if flags&memVisible != 0 {
				b.mapped = []byte{} // mapped below
			}
			break
		}
	}
	if allocErr != nil {
		vk.DestroyBuffer(v.device, b.buffer, nil)
		return Buffer{}, allocErr
	}
	if err := vkErr("bind memory", vk.BindBufferMemory(v.device, b.buffer, b.memory, 0)); err != nil {
		v.destroy(&b)
		return Buffer{}, err
	}
	if b.mapped != nil {
		var ptr unsafe.Pointer
		if err := vkErr("map memory", vk.MapMemory(v.device, b.memory, 0, vk.DeviceSize(size), 0, &ptr)); err != nil {
			b.mapped = nil
			v.destroy(&b)
			return Buffer{}, err
		}
		b.mapped = unsafe.Slice((*byte)(ptr), size)
		clear(b.mapped)
	} else if err := v.zero(b.buffer, size); err != nil {
		v.destroy(&b)
		return Buffer{}, err
	}
	v.buffers = append(v.buffers, b)
	return Buffer{id: len(v.buffers) - 1, size: size, role: role}, nil
}

// zero clears a buffer the host cannot map, with a one-off fill on the
// device: NewBuffer promises zeroed buffers on every backend.
func (v *vulkanBackend) zero(buf vk.Buffer, size int) error {
	if err := v.Wait(); err != nil {
		return err
	}
	cmds := make([]vk.CommandBuffer, 1)
	if err := vkErr("allocate command buffer", vk.AllocateCommandBuffers(v.device, &vk.CommandBufferAllocateInfo{
		SType: vk.StructureTypeCommandBufferAllocateInfo, CommandPool: v.cmdPool, Level: vk.CommandBufferLevelPrimary, CommandBufferCount: 1,
	}, cmds)); err != nil {
		return err
	}
	defer vk.FreeCommandBuffers(v.device, v.cmdPool, 1, cmds)
	err := vkErr("begin command buffer", vk.BeginCommandBuffer(cmds[0], &vk.CommandBufferBeginInfo{
		SType: vk.StructureTypeCommandBufferBeginInfo, Flags: vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit),
	}))
	if err != nil {
		return err
	}
	vk.CmdFillBuffer(cmds[0], buf, 0, vk.DeviceSize(vk.WholeSize), 0)
	if err := vkErr("end command buffer", vk.EndCommandBuffer(cmds[0])); err != nil {
		return err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&cmds[0])
	if err := vkErr("reset fence", vk.ResetFences(v.device, 1, v.fences)); err != nil {
		return err
	}
	if err := vkErr("submit fill", v.direct.submit(v.queue, cmds[0], v.fence)); err != nil {
		return err
	}
	v.pending, v.pendingProgram = true, -1
	return v.Wait()
}

// destroy frees a buffer's Vulkan objects.
func (v *vulkanBackend) destroy(b *vkBuffer) {
	if b.mapped != nil {
		vk.UnmapMemory(v.device, b.memory)
	}
	vk.DestroyBuffer(v.device, b.buffer, nil)
	if b.memory != vk.NullDeviceMemory {
		vk.FreeMemory(v.device, b.memory, nil)
	}
	*b = vkBuffer{}
}

// Free implements Backend.
func (v *vulkanBackend) Free(b Buffer) {
	if v.valid(b) {
		v.destroy(&v.buffers[b.id])
	}
}

func (v *vulkanBackend) valid(b Buffer) bool {
	return b.id >= 0 && b.id < len(v.buffers) && v.buffers[b.id].size == b.size && b.size > 0 && v.buffers[b.id].role == b.role
}

func (v *vulkanBackend) Write(b Buffer, offset int, data []byte) error {
	if err := checkRange(b, offset, len(data)); err != nil {
		return err
	}
	if !v.valid(b) {
		return errors.New("gpu: buffer does not belong to this backend")
	}
	if err := checkRole(b, RoleUpload, "Write"); err != nil {
		return err
	}
	copy(v.buffers[b.id].mapped[offset:], data)
	v.stats.BytesUploaded += uint64(len(data))
	v.stats.Writes++
	return nil
}

// Mapped implements Mapper: upload buffers are host-coherent and stay
// mapped.
func (v *vulkanBackend) Mapped(b Buffer) []byte {
	if !v.valid(b) || b.role != RoleUpload {
		return nil
	}
	return v.buffers[b.id].mapped
}

// CountUpload implements Mapper.
func (v *vulkanBackend) CountUpload(bytes, writes int) {
	v.stats.BytesUploaded += uint64(bytes)
	v.stats.Writes += uint64(writes)
}

func (v *vulkanBackend) Read(b Buffer, offset int, dst []byte) error {
	if err := checkRange(b, offset, len(dst)); err != nil {
		return err
	}
	if !v.valid(b) {
		return errors.New("gpu: buffer does not belong to this backend")
	}
	if err := checkRole(b, RoleReadback, "Read"); err != nil {
		return err
	}
	buf := &v.buffers[b.id]
	if !buf.coherent {
		// Cached but not coherent: the device's writes must be made
		// visible to the host's caches first.
		if err := vkErr("invalidate", v.direct.invalidateWhole(v.device, buf.memory)); err != nil {
			return err
		}
	}
	copy(dst, buf.mapped[offset:])
	v.stats.BytesRead += uint64(len(dst))
	return nil
}

func (v *vulkanBackend) Record(steps []Dispatch) (Program, error) {
	if err := checkSteps(steps, v.valid); err != nil {
		return Program{}, err
	}
	if err := v.checkLimits(steps); err != nil {
		return Program{}, err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	p := vkProgram{live: true}
	cmds := make([]vk.CommandBuffer, 1)
	if err := vkErr("allocate command buffer", vk.AllocateCommandBuffers(v.device, &vk.CommandBufferAllocateInfo{
		SType: vk.StructureTypeCommandBufferAllocateInfo, CommandPool: v.cmdPool, Level: vk.CommandBufferLevelPrimary, CommandBufferCount: 1,
	}, cmds)); err != nil {
		return Program{}, err
	}
	p.cmd = cmds[0]
	fail := func(err error) (Program, error) {
		v.releaseProgram(&p)
		return Program{}, err
	}
	for _, s := range steps {
		if s.Kernel == "" {
			p.sets = append(p.sets, vk.NullDescriptorSet) // copies bind nothing
			continue
		}
		k := v.kernels[s.Kernel]
		layouts := []vk.DescriptorSetLayout{k.setLayout}
		pin.Pin(&layouts[0])
		var set vk.DescriptorSet
		if err := vkErr("allocate descriptor set", vk.AllocateDescriptorSets(v.device, &vk.DescriptorSetAllocateInfo{
			SType: vk.StructureTypeDescriptorSetAllocateInfo, DescriptorPool: v.descPool, DescriptorSetCount: 1, PSetLayouts: layouts,
		}, &set)); err != nil {
			return fail(err)
		}
		p.sets = append(p.sets, set)
		buffers := make([]vk.Buffer, len(s.Buffers))
		for i, b := range s.Buffers {
			buffers[i] = v.buffers[b.id].buffer
		}
		if err := v.direct.writeStorageSet(v.device, set, buffers); err != nil {
			return fail(err)
		}
	}
	if v.timing {
		p.steps = len(steps)
		var pool vk.QueryPool
		if err := vkErr("create query pool", vk.CreateQueryPool(v.device, &vk.QueryPoolCreateInfo{
			SType: vk.StructureTypeQueryPoolCreateInfo, QueryType: vk.QueryTypeTimestamp, QueryCount: uint32(len(steps) + 1),
		}, nil, &pool)); err != nil {
			return fail(err)
		}
		p.queries, p.stamps = pool, make([]uint64, len(steps)+1)
	}
	if err := vkErr("begin command buffer", vk.BeginCommandBuffer(p.cmd, &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo})); err != nil {
		return fail(err)
	}
	stamp := func(i int, stage vk.PipelineStageFlagBits) {
		if p.queries != vk.NullQueryPool {
			vk.CmdWriteTimestamp(p.cmd, stage, p.queries, uint32(i))
		}
	}
	if p.queries != vk.NullQueryPool {
		vk.CmdResetQueryPool(p.cmd, p.queries, 0, uint32(len(steps)+1))
	}
	// A run may read what the run before it wrote (the hit kernel keeps
	// its results on the device): it starts after the previous one's
	// writes, whatever the queue would otherwise overlap.
	v.direct.barrier(p.cmd, vk.PipelineStageComputeShaderBit|vk.PipelineStageTransferBit, vk.AccessShaderWriteBit|vk.AccessTransferWriteBit,
		vk.PipelineStageComputeShaderBit|vk.PipelineStageTransferBit, vk.AccessShaderReadBit|vk.AccessShaderWriteBit|vk.AccessTransferReadBit)
	stamp(0, vk.PipelineStageTopOfPipeBit)
	// Kernel steps are independent (Program's contract): no barrier
	// between them, so the device may overlap them. Before the first copy
	// after kernels, their writes must be done and visible to transfers.
	copying := false
	for i, s := range steps {
		if s.Kernel == "" {
			if !copying {
				v.direct.barrier(p.cmd, vk.PipelineStageComputeShaderBit, vk.AccessShaderWriteBit, vk.PipelineStageTransferBit, vk.AccessTransferReadBit)
				copying = true
			}
			v.direct.copyBuffer(p.cmd, v.buffers[s.CopyFrom.id].buffer, v.buffers[s.CopyTo.id].buffer, s.CopyBytes)
			stamp(i+1, vk.PipelineStageBottomOfPipeBit)
			continue
		}
		if copying {
			// A kernel after copies must not overwrite what they read.
			v.direct.barrier(p.cmd, vk.PipelineStageTransferBit, vk.AccessTransferReadBit, vk.PipelineStageComputeShaderBit, vk.AccessShaderWriteBit)
			copying = false
		}
		k := v.kernels[s.Kernel]
		vk.CmdBindPipeline(p.cmd, vk.PipelineBindPointCompute, k.pipeline)
		vk.CmdBindDescriptorSets(p.cmd, vk.PipelineBindPointCompute, k.layout, 0, 1, []vk.DescriptorSet{p.sets[i]}, 0, nil)
		if s.Indirect.Valid() {
			vk.CmdDispatchIndirect(p.cmd, v.buffers[s.Indirect.id].buffer, vk.DeviceSize(s.IndirectOffset))
		} else {
			vk.CmdDispatch(p.cmd, s.Groups, 1, 1)
		}
		stamp(i+1, vk.PipelineStageBottomOfPipeBit)
	}
	// What the copies (and kernels) wrote must be visible to the host once
	// the fence signals.
	v.direct.barrier(p.cmd, vk.PipelineStageComputeShaderBit|vk.PipelineStageTransferBit, vk.AccessShaderWriteBit|vk.AccessTransferWriteBit, vk.PipelineStageHostBit, vk.AccessHostReadBit)
	if err := vkErr("end command buffer", vk.EndCommandBuffer(p.cmd)); err != nil {
		return fail(err)
	}
	v.programs = append(v.programs, p)
	return Program{id: len(v.programs) - 1}, nil
}

// checkLimits refuses a program the device would reject or lose itself
// over: a storage buffer bound beyond maxStorageBufferRange, or more
// workgroups than maxComputeWorkGroupCount.
func (v *vulkanBackend) checkLimits(steps []Dispatch) error {
	for i, s := range steps {
		for j, b := range s.Buffers {
			if v.maxStorageRange > 0 && uint64(b.size) > uint64(v.maxStorageRange) {
				return fmt.Errorf("gpu: step %d (%s): binding %d is a %d-byte buffer; the device's maxStorageBufferRange is %d bytes",
					i, s.Kernel, j, b.size, v.maxStorageRange)
			}
		}
		if !s.Indirect.Valid() && s.Kernel != "" && v.maxGroups > 0 && s.Groups > v.maxGroups {
			return fmt.Errorf("gpu: step %d (%s): %d workgroups; the device's maxComputeWorkGroupCount[0] is %d", i, s.Kernel, s.Groups, v.maxGroups)
		}
	}
	return nil
}

func (v *vulkanBackend) releaseProgram(p *vkProgram) {
	if p.queries != vk.NullQueryPool {
		vk.DestroyQueryPool(v.device, p.queries, nil)
	}
	for i := range p.sets {
		if p.sets[i] != vk.NullDescriptorSet {
			vk.FreeDescriptorSets(v.device, v.descPool, 1, &p.sets[i])
		}
	}
	if p.cmd != nil {
		vk.FreeCommandBuffers(v.device, v.cmdPool, 1, []vk.CommandBuffer{p.cmd})
	}
	*p = vkProgram{}
}

func (v *vulkanBackend) Release(p Program) {
	if p.id < 0 || p.id >= len(v.programs) || !v.programs[p.id].live {
		return
	}
	v.Wait()
	v.releaseProgram(&v.programs[p.id])
}

func (v *vulkanBackend) Submit(p Program) error {
	if p.id < 0 || p.id >= len(v.programs) || !v.programs[p.id].live {
		return errors.New("gpu: submit of an unknown or released program")
	}
	if err := v.Wait(); err != nil {
		return err
	}
	if err := vkErr("reset fence", vk.ResetFences(v.device, 1, v.fences)); err != nil {
		return err
	}
	if err := vkErr("submit", v.direct.submit(v.queue, v.programs[p.id].cmd, v.fence)); err != nil {
		return err
	}
	v.pending, v.pendingProgram = true, p.id
	v.stats.Submits++
	return nil
}

// submitTimeout bounds a wait: a kernel that runs this long is hung.
const submitTimeout = 30 * time.Second

func (v *vulkanBackend) Wait() error {
	if !v.pending {
		return nil
	}
	v.pending = false
	if err := vkErr("wait for fence", vk.WaitForFences(v.device, 1, v.fences, vk.True, uint64(submitTimeout))); err != nil {
		return err
	}
	if id := v.pendingProgram; id >= 0 && id < len(v.programs) && v.programs[id].live {
		v.readTimes(&v.programs[id])
	}
	return nil
}

// readTimes turns a finished program's timestamps into step durations.
func (v *vulkanBackend) readTimes(p *vkProgram) {
	if p.queries == vk.NullQueryPool {
		return
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&p.stamps[0])
	r := vk.GetQueryPoolResults(v.device, p.queries, 0, uint32(len(p.stamps)), uint(8*len(p.stamps)), unsafe.Pointer(&p.stamps[0]), 8,
		vk.QueryResultFlags(vk.QueryResult64Bit|vk.QueryResultWaitBit))
	if r != vk.Success {
		return
	}
	p.times = resize(p.times, p.steps)
	for i := range p.times {
		p.times[i] = time.Duration(float64(p.stamps[i+1]-p.stamps[i]) * v.timestampPeriod)
	}
}

// SetTiming implements Timer: on is honoured where the queue can write
// timestamps.
func (v *vulkanBackend) SetTiming(on bool) bool {
	v.timing = on && v.timestampPeriod > 0
	return v.timing
}

// StepTimes implements Timer.
func (v *vulkanBackend) StepTimes(p Program) []time.Duration {
	if p.id < 0 || p.id >= len(v.programs) || !v.programs[p.id].live {
		return nil
	}
	return v.programs[p.id].times
}

func (v *vulkanBackend) Stats() Stats { return v.stats }

func (v *vulkanBackend) Close() error {
	if v.device != nil {
		vk.DeviceWaitIdle(v.device)
		for i := range v.programs {
			if v.programs[i].live {
				v.releaseProgram(&v.programs[i])
			}
		}
		for _, k := range v.kernels {
			vk.DestroyPipeline(v.device, k.pipeline, nil)
			vk.DestroyPipelineLayout(v.device, k.layout, nil)
			vk.DestroyDescriptorSetLayout(v.device, k.setLayout, nil)
			vk.DestroyShaderModule(v.device, k.module, nil)
		}
		for i := range v.buffers {
			if v.buffers[i].size > 0 {
				v.destroy(&v.buffers[i])
			}
		}
		vk.DestroyFence(v.device, v.fence, nil)
		vk.DestroyDescriptorPool(v.device, v.descPool, nil)
		vk.DestroyCommandPool(v.device, v.cmdPool, nil)
		vk.DestroyDevice(v.device, nil)
		v.device = nil
	}
	if v.instance != nil {
		vk.DestroyInstance(v.instance, nil)
		v.instance = nil
	}
	v.direct.free()
	v.buffers, v.programs = nil, nil
	return nil
}

package gpu

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/rayos/engine/shaders"
	vk "github.com/vulkan-go/vulkan"
)

// vulkanBackend runs the SPIR-V kernels through Vulkan. Buffers live in
// host-visible, host-coherent memory (device-local too where the device
// offers such a type, as integrated GPUs, lavapipe and resizable-BAR
// discrete GPUs do) and stay mapped for their whole life, so a Write is a
// memcpy into the buffer the kernels read. Programs are recorded into a
// command buffer once and re-submitted; one fence tracks the last submit.
type vulkanBackend struct {
	instance vk.Instance
	phys     vk.PhysicalDevice
	device   vk.Device
	queue    vk.Queue
	memType  uint32
	info     Info

	kernels  map[string]*vkKernel
	buffers  []vkBuffer
	descPool vk.DescriptorPool
	cmdPool  vk.CommandPool
	programs []vkProgram
	fence    vk.Fence
	pending  bool
	stats    Stats

	// submit is reused so that Submit does not build its arguments anew.
	submit []vk.SubmitInfo
	cmds   []vk.CommandBuffer
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
	buffer vk.Buffer
	memory vk.DeviceMemory
	mapped []byte
}

type vkProgram struct {
	cmd  vk.CommandBuffer
	sets []vk.DescriptorSet
	live bool
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
	for i, d := range devices {
		var props vk.PhysicalDeviceProperties
		vk.GetPhysicalDeviceProperties(d, &props)
		props.Deref()
		if rank, ok := deviceTypeRank[props.DeviceType]; ok && rank < bestRank && computeFamily(d) >= 0 {
			best, bestRank, bestProps = i, rank, props
		}
	}
	if best < 0 {
		return errors.New("vulkan: no device with a compute queue")
	}
	v.phys = devices[best]
	family := uint32(computeFamily(v.phys))
	v.info = Info{Backend: "vulkan", Device: vk.ToString(bestProps.DeviceName[:]), Type: deviceTypeNames[bestProps.DeviceType]}

	var pin runtime.Pinner
	defer pin.Unpin()
	priorities := []float32{1}
	pin.Pin(&priorities[0])
	queueInfo := []vk.DeviceQueueCreateInfo{{
		SType: vk.StructureTypeDeviceQueueCreateInfo, QueueFamilyIndex: family, QueueCount: 1, PQueuePriorities: priorities,
	}}
	var device vk.Device
	if err := vkErr("create device", vk.CreateDevice(v.phys, &vk.DeviceCreateInfo{
		SType: vk.StructureTypeDeviceCreateInfo, QueueCreateInfoCount: 1, PQueueCreateInfos: queueInfo,
	}, nil, &device)); err != nil {
		return err
	}
	v.device = device
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
	var descPool vk.DescriptorPool
	poolSizes := []vk.DescriptorPoolSize{{Type: vk.DescriptorTypeStorageBuffer, DescriptorCount: maxSets * 8}}
	if err := vkErr("create descriptor pool", vk.CreateDescriptorPool(v.device, &vk.DescriptorPoolCreateInfo{
		SType: vk.StructureTypeDescriptorPoolCreateInfo, Flags: vk.DescriptorPoolCreateFlags(vk.DescriptorPoolCreateFreeDescriptorSetBit),
		MaxSets: maxSets, PoolSizeCount: 1, PPoolSizes: poolSizes,
	}, nil, &descPool)); err != nil {
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
	v.submit = []vk.SubmitInfo{{SType: vk.StructureTypeSubmitInfo, CommandBufferCount: 1}}
	v.cmds = make([]vk.CommandBuffer, 1)
	v.fences = []vk.Fence{v.fence}
	return nil
}

// computeFamily returns the first queue family with compute, or -1.
func computeFamily(d vk.PhysicalDevice) int {
	var n uint32
	vk.GetPhysicalDeviceQueueFamilyProperties(d, &n, nil)
	families := make([]vk.QueueFamilyProperties, n)
	vk.GetPhysicalDeviceQueueFamilyProperties(d, &n, families)
	for i := range families {
		families[i].Deref()
		if vk.QueueFlagBits(families[i].QueueFlags)&vk.QueueComputeBit != 0 {
			return i
		}
	}
	return -1
}

// pickMemory chooses the memory type for every buffer: host-visible and
// coherent, device-local too where one exists.
func (v *vulkanBackend) pickMemory() error {
	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(v.phys, &mp)
	mp.Deref()
	want := vk.MemoryPropertyFlags(vk.MemoryPropertyHostVisibleBit | vk.MemoryPropertyHostCoherentBit)
	local := vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit)
	found := -1
	for i := 0; i < int(mp.MemoryTypeCount); i++ {
		mt := mp.MemoryTypes[i]
		mt.Deref()
		if mt.PropertyFlags&want != want {
			continue
		}
		if found < 0 || mt.PropertyFlags&local != 0 {
			found = i
			v.info.Memory = "host-visible"
			if mt.PropertyFlags&local != 0 {
				v.info.Memory = "host-visible device-local"
				break
			}
		}
	}
	if found < 0 {
		return errors.New("vulkan: no host-visible coherent memory type")
	}
	v.memType = uint32(found)
	return nil
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
	bindings := make([]vk.DescriptorSetLayoutBinding, k.bindings)
	for i := range bindings {
		bindings[i] = vk.DescriptorSetLayoutBinding{
			Binding: uint32(i), DescriptorType: vk.DescriptorTypeStorageBuffer, DescriptorCount: 1,
			StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit),
		}
	}
	if err := vkErr("set layout "+k.name, vk.CreateDescriptorSetLayout(v.device, &vk.DescriptorSetLayoutCreateInfo{
		SType: vk.StructureTypeDescriptorSetLayoutCreateInfo, BindingCount: uint32(len(bindings)), PBindings: bindings,
	}, nil, &kk.setLayout)); err != nil {
		return err
	}
	setLayouts := []vk.DescriptorSetLayout{kk.setLayout}
	pin.Pin(&setLayouts[0])
	if err := vkErr("pipeline layout "+k.name, vk.CreatePipelineLayout(v.device, &vk.PipelineLayoutCreateInfo{
		SType: vk.StructureTypePipelineLayoutCreateInfo, SetLayoutCount: 1, PSetLayouts: setLayouts,
	}, nil, &kk.layout)); err != nil {
		return err
	}
	pipelines := make([]vk.Pipeline, 1)
	if err := vkErr("pipeline "+k.name, vk.CreateComputePipelines(v.device, vk.NullPipelineCache, 1, []vk.ComputePipelineCreateInfo{{
		SType: vk.StructureTypeComputePipelineCreateInfo,
		Stage: vk.PipelineShaderStageCreateInfo{
			SType: vk.StructureTypePipelineShaderStageCreateInfo, Stage: vk.ShaderStageComputeBit,
			Module: kk.module, PName: "main\x00",
		},
		Layout: kk.layout,
	}}, nil, pipelines)); err != nil {
		return err
	}
	kk.pipeline = pipelines[0]
	return nil
}

func (v *vulkanBackend) Info() Info { return v.info }

func (v *vulkanBackend) NewBuffer(size int) (Buffer, error) {
	if size <= 0 {
		return Buffer{}, fmt.Errorf("gpu: buffer size %d", size)
	}
	var b vkBuffer
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
	if req.MemoryTypeBits&(1<<v.memType) == 0 {
		vk.DestroyBuffer(v.device, b.buffer, nil)
		return Buffer{}, errors.New("vulkan: the chosen memory type cannot hold storage buffers")
	}
	if err := vkErr("allocate memory", vk.AllocateMemory(v.device, &vk.MemoryAllocateInfo{
		SType: vk.StructureTypeMemoryAllocateInfo, AllocationSize: req.Size, MemoryTypeIndex: v.memType,
	}, nil, &b.memory)); err != nil {
		vk.DestroyBuffer(v.device, b.buffer, nil)
		return Buffer{}, err
	}
	var ptr unsafe.Pointer
	err := errors.Join(
		vkErr("bind memory", vk.BindBufferMemory(v.device, b.buffer, b.memory, 0)),
		vkErr("map memory", vk.MapMemory(v.device, b.memory, 0, vk.DeviceSize(size), 0, &ptr)))
	if err != nil {
		vk.DestroyBuffer(v.device, b.buffer, nil)
		vk.FreeMemory(v.device, b.memory, nil)
		return Buffer{}, err
	}
	b.mapped = unsafe.Slice((*byte)(ptr), size)
	clear(b.mapped)
	v.buffers = append(v.buffers, b)
	return Buffer{id: len(v.buffers) - 1, size: size}, nil
}

func (v *vulkanBackend) valid(b Buffer) bool {
	return b.id >= 0 && b.id < len(v.buffers) && len(v.buffers[b.id].mapped) == b.size
}

func (v *vulkanBackend) Write(b Buffer, offset int, data []byte) error {
	if err := checkRange(b, offset, len(data)); err != nil {
		return err
	}
	if !v.valid(b) {
		return errors.New("gpu: buffer does not belong to this backend")
	}
	copy(v.buffers[b.id].mapped[offset:], data)
	v.stats.BytesUploaded += uint64(len(data))
	v.stats.Writes++
	return nil
}

// Mapped implements Mapper: buffers are host-coherent and stay mapped.
func (v *vulkanBackend) Mapped(b Buffer) []byte {
	if !v.valid(b) {
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
	copy(dst, v.buffers[b.id].mapped[offset:])
	v.stats.BytesRead += uint64(len(dst))
	return nil
}

func (v *vulkanBackend) Record(steps []Dispatch) (Program, error) {
	if err := checkSteps(steps, v.valid); err != nil {
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
		writes := make([]vk.WriteDescriptorSet, len(s.Buffers))
		for i, b := range s.Buffers {
			info := []vk.DescriptorBufferInfo{{Buffer: v.buffers[b.id].buffer, Offset: 0, Range: vk.DeviceSize(vk.WholeSize)}}
			pin.Pin(&info[0])
			writes[i] = vk.WriteDescriptorSet{
				SType: vk.StructureTypeWriteDescriptorSet, DstSet: set, DstBinding: uint32(i), DescriptorCount: 1,
				DescriptorType: vk.DescriptorTypeStorageBuffer, PBufferInfo: info,
			}
		}
		vk.UpdateDescriptorSets(v.device, uint32(len(writes)), writes, 0, nil)
	}
	if err := vkErr("begin command buffer", vk.BeginCommandBuffer(p.cmd, &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo})); err != nil {
		return fail(err)
	}
	for i, s := range steps {
		k := v.kernels[s.Kernel]
		if i > 0 {
			// Each kernel may read what the previous one wrote.
			barrier(p.cmd, vk.AccessShaderWriteBit, vk.AccessShaderReadBit|vk.AccessShaderWriteBit, vk.PipelineStageComputeShaderBit)
		}
		vk.CmdBindPipeline(p.cmd, vk.PipelineBindPointCompute, k.pipeline)
		vk.CmdBindDescriptorSets(p.cmd, vk.PipelineBindPointCompute, k.layout, 0, 1, []vk.DescriptorSet{p.sets[i]}, 0, nil)
		if s.Indirect.Valid() {
			vk.CmdDispatchIndirect(p.cmd, v.buffers[s.Indirect.id].buffer, vk.DeviceSize(s.IndirectOffset))
		} else {
			vk.CmdDispatch(p.cmd, s.Groups, 1, 1)
		}
	}
	// Results must be visible to the host once the fence signals.
	barrier(p.cmd, vk.AccessShaderWriteBit, vk.AccessHostReadBit, vk.PipelineStageHostBit)
	if err := vkErr("end command buffer", vk.EndCommandBuffer(p.cmd)); err != nil {
		return fail(err)
	}
	v.programs = append(v.programs, p)
	return Program{id: len(v.programs) - 1}, nil
}

func barrier(cmd vk.CommandBuffer, src, dst vk.AccessFlagBits, dstStage vk.PipelineStageFlagBits) {
	vk.CmdPipelineBarrier(cmd, vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit), vk.PipelineStageFlags(dstStage), 0,
		1, []vk.MemoryBarrier{{SType: vk.StructureTypeMemoryBarrier, SrcAccessMask: vk.AccessFlags(src), DstAccessMask: vk.AccessFlags(dst)}},
		0, nil, 0, nil)
}

func (v *vulkanBackend) releaseProgram(p *vkProgram) {
	if len(p.sets) > 0 {
		vk.FreeDescriptorSets(v.device, v.descPool, uint32(len(p.sets)), &p.sets[0])
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
	v.cmds[0] = v.programs[p.id].cmd
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&v.cmds[0])
	v.submit[0].PCommandBuffers = v.cmds
	if err := vkErr("submit", vk.QueueSubmit(v.queue, 1, v.submit, v.fence)); err != nil {
		return err
	}
	v.pending = true
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
	return vkErr("wait for fence", vk.WaitForFences(v.device, 1, v.fences, vk.True, uint64(submitTimeout)))
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
		for _, b := range v.buffers {
			vk.UnmapMemory(v.device, b.memory)
			vk.DestroyBuffer(v.device, b.buffer, nil)
			vk.FreeMemory(v.device, b.memory, nil)
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
	v.buffers, v.programs = nil, nil
	return nil
}

package gpu

// This file calls the Vulkan entry points whose arguments include arrays
// of structs, without vulkan-go.
//
// Why: vulkan-go converts such an array (a []vk.SubmitInfo, the buffer
// infos inside a vk.WriteDescriptorSet, …) into C memory in a helper that
// frees it from a finalizer set on a heap cell that nothing references
// once the helper returns. A garbage collection while the driver is
// still inside the call therefore frees the array under it. With lavapipe,
// whose vkCreateComputePipelines compiles the shader for milliseconds,
// that crashed `go test ./gpu` about one run in fifteen (SIGSEGV in
// vkCreateComputePipelines); a submit, a descriptor write or a
// queue-family query could read, or write, freed memory the same way.
// Here the structs live on the C stack for exactly the call, and nothing
// is allocated per call.
//
// The declarations below are the Vulkan 1.0 ABI of the few structs these
// calls take, written out because vulkan-go builds without the system's
// Vulkan headers and so must RayOS (`make run` needs no -dev package).
// TestDirectCallLayout compiles a program against the real
// <vulkan/vulkan.h> and compares every size, offset and constant.
// Function pointers come from vkGetInstanceProcAddr / vkGetDeviceProcAddr
// of the loader vulkan-go opened (dlopen returns the same library).

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(sizeof(void*) == 8, "non-dispatchable Vulkan handles are pointers only on 64-bit targets");

// Handles: dispatchable ones are pointers everywhere, non-dispatchable
// ones on 64-bit targets (asserted above); both are void* here.
typedef void* rv_handle;
typedef int32_t rv_result;

#define RV_STYPE_SHADER_STAGE      18
#define RV_STYPE_COMPUTE_PIPELINE  29
#define RV_STYPE_SUBMIT             4
#define RV_STYPE_WRITE_SET         35
#define RV_STYPE_MEMORY_BARRIER    46
#define RV_STYPE_MAPPED_RANGE       6
#define RV_STYPE_DEVICE_QUEUE       2
#define RV_STYPE_DEVICE             3
#define RV_STYPE_SET_LAYOUT        32
#define RV_STYPE_DESCRIPTOR_POOL   33
#define RV_DESCRIPTOR_STORAGE_BUFFER 7
#define RV_STAGE_COMPUTE         0x20
#define RV_WHOLE_SIZE (~0ULL)
#define RV_ERROR_INITIALIZATION_FAILED (-3)
#define RV_MAX_BINDINGS 32

typedef struct { int32_t sType; const void* pNext; uint32_t flags; uint32_t stage; rv_handle module; const char* pName; const void* pSpecializationInfo; } rv_shader_stage_info;
typedef struct { int32_t sType; const void* pNext; uint32_t flags; rv_shader_stage_info stage; rv_handle layout; rv_handle basePipelineHandle; int32_t basePipelineIndex; } rv_compute_pipeline_info;
typedef struct { int32_t sType; const void* pNext; uint32_t waitSemaphoreCount; const rv_handle* pWaitSemaphores; const uint32_t* pWaitDstStageMask; uint32_t commandBufferCount; const rv_handle* pCommandBuffers; uint32_t signalSemaphoreCount; const rv_handle* pSignalSemaphores; } rv_submit_info;
typedef struct { rv_handle buffer; uint64_t offset; uint64_t range; } rv_buffer_info;
typedef struct { int32_t sType; const void* pNext; rv_handle dstSet; uint32_t dstBinding; uint32_t dstArrayElement; uint32_t descriptorCount; int32_t descriptorType; const void* pImageInfo; const rv_buffer_info* pBufferInfo; const void* pTexelBufferView; } rv_write_set;
typedef struct { int32_t sType; const void* pNext; uint32_t srcAccessMask; uint32_t dstAccessMask; } rv_memory_barrier;
typedef struct { uint64_t srcOffset; uint64_t dstOffset; uint64_t size; } rv_buffer_copy;
typedef struct { int32_t sType; const void* pNext; rv_handle memory; uint64_t offset; uint64_t size; } rv_mapped_range;
typedef struct { uint32_t queueFlags; uint32_t queueCount; uint32_t timestampValidBits; uint32_t granularity[3]; } rv_queue_family;
typedef struct { int32_t sType; const void* pNext; uint32_t flags; uint32_t queueFamilyIndex; uint32_t queueCount; const float* pQueuePriorities; } rv_queue_info;
typedef struct { int32_t sType; const void* pNext; uint32_t flags; uint32_t queueCreateInfoCount; const rv_queue_info* pQueueCreateInfos; uint32_t enabledLayerCount; const char* const* ppEnabledLayerNames; uint32_t enabledExtensionCount; const char* const* ppEnabledExtensionNames; const void* pEnabledFeatures; } rv_device_info;
typedef struct { uint32_t binding; int32_t descriptorType; uint32_t descriptorCount; uint32_t stageFlags; const void* pImmutableSamplers; } rv_set_binding;
typedef struct { int32_t sType; const void* pNext; uint32_t flags; uint32_t bindingCount; const rv_set_binding* pBindings; } rv_set_layout_info;
typedef struct { int32_t type; uint32_t descriptorCount; } rv_pool_size;
typedef struct { int32_t sType; const void* pNext; uint32_t flags; uint32_t maxSets; uint32_t poolSizeCount; const rv_pool_size* pPoolSizes; } rv_pool_info;

typedef void* (*rv_get_instance_proc)(rv_handle instance, const char* name);
typedef void* (*rv_get_device_proc)(rv_handle device, const char* name);

// rv_fns holds the entry points, one table per backend.
typedef struct {
	void (*queueFamilies)(rv_handle phys, uint32_t* count, rv_queue_family* out);
	rv_result (*createDevice)(rv_handle phys, const rv_device_info* info, const void* alloc, rv_handle* out);
	rv_get_device_proc getDeviceProc;
	rv_result (*createPipelines)(rv_handle dev, rv_handle cache, uint32_t n, const rv_compute_pipeline_info* infos, const void* alloc, rv_handle* out);
	rv_result (*createSetLayout)(rv_handle dev, const rv_set_layout_info* info, const void* alloc, rv_handle* out);
	rv_result (*createPool)(rv_handle dev, const rv_pool_info* info, const void* alloc, rv_handle* out);
	rv_result (*queueSubmit)(rv_handle queue, uint32_t n, const rv_submit_info* infos, rv_handle fence);
	void (*updateSets)(rv_handle dev, uint32_t nw, const rv_write_set* writes, uint32_t nc, const void* copies);
	void (*pipelineBarrier)(rv_handle cmd, uint32_t srcStage, uint32_t dstStage, uint32_t deps, uint32_t nm, const rv_memory_barrier* m, uint32_t nb, const void* b, uint32_t ni, const void* i);
	void (*copyBuffer)(rv_handle cmd, rv_handle src, rv_handle dst, uint32_t n, const rv_buffer_copy* regions);
	rv_result (*invalidate)(rv_handle dev, uint32_t n, const rv_mapped_range* ranges);
} rv_fns;

// rv_instance_fns fills the instance-level entries; 0 when one is missing.
static int rv_instance_fns(rv_fns* f, rv_handle instance) {
	void* lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (lib == NULL) lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) return 0;
	rv_get_instance_proc gip = (rv_get_instance_proc)dlsym(lib, "vkGetInstanceProcAddr");
	if (gip == NULL) return 0;
	f->queueFamilies = gip(instance, "vkGetPhysicalDeviceQueueFamilyProperties");
	f->createDevice = gip(instance, "vkCreateDevice");
	f->getDeviceProc = (rv_get_device_proc)gip(instance, "vkGetDeviceProcAddr");
	return f->queueFamilies && f->createDevice && f->getDeviceProc;
}

// rv_device_fns fills the device-level entries; 0 when one is missing.
static int rv_device_fns(rv_fns* f, rv_handle dev) {
	f->createPipelines = f->getDeviceProc(dev, "vkCreateComputePipelines");
	f->createSetLayout = f->getDeviceProc(dev, "vkCreateDescriptorSetLayout");
	f->createPool = f->getDeviceProc(dev, "vkCreateDescriptorPool");
	f->queueSubmit = f->getDeviceProc(dev, "vkQueueSubmit");
	f->updateSets = f->getDeviceProc(dev, "vkUpdateDescriptorSets");
	f->pipelineBarrier = f->getDeviceProc(dev, "vkCmdPipelineBarrier");
	f->copyBuffer = f->getDeviceProc(dev, "vkCmdCopyBuffer");
	f->invalidate = f->getDeviceProc(dev, "vkInvalidateMappedMemoryRanges");
	return f->createPipelines && f->createSetLayout && f->createPool && f->queueSubmit &&
		f->updateSets && f->pipelineBarrier && f->copyBuffer && f->invalidate;
}

// rv_queue_families writes up to max families' flags and timestamp bits
// and returns how many the device has.
static uint32_t rv_queue_families(const rv_fns* f, rv_handle phys, uint32_t* flags, uint32_t* timestampBits, uint32_t max) {
	uint32_t n = 0;
	f->queueFamilies(phys, &n, NULL);
	if (n == 0) return 0;
	rv_queue_family* fam = calloc(n, sizeof *fam);
	if (fam == NULL) return 0;
	f->queueFamilies(phys, &n, fam);
	for (uint32_t i = 0; i < n && i < max; i++) {
		flags[i] = fam[i].queueFlags;
		timestampBits[i] = fam[i].timestampValidBits;
	}
	free(fam);
	return n;
}

static rv_result rv_create_device(const rv_fns* f, rv_handle phys, uint32_t family, rv_handle* out) {
	float priority = 1.0f;
	rv_queue_info q = { RV_STYPE_DEVICE_QUEUE, NULL, 0, family, 1, &priority };
	rv_device_info d = { RV_STYPE_DEVICE, NULL, 0, 1, &q, 0, NULL, 0, NULL, NULL };
	return f->createDevice(phys, &d, NULL, out);
}

static rv_result rv_create_compute_pipeline(const rv_fns* f, rv_handle dev, rv_handle module, rv_handle layout, rv_handle* out) {
	rv_compute_pipeline_info info = {
		RV_STYPE_COMPUTE_PIPELINE, NULL, 0,
		{ RV_STYPE_SHADER_STAGE, NULL, 0, RV_STAGE_COMPUTE, module, "main", NULL },
		layout, NULL, -1,
	};
	return f->createPipelines(dev, NULL, 1, &info, NULL, out);
}

// rv_create_storage_set_layout: n storage buffers at bindings 0..n-1.
static rv_result rv_create_storage_set_layout(const rv_fns* f, rv_handle dev, uint32_t n, rv_handle* out) {
	if (n > RV_MAX_BINDINGS) return RV_ERROR_INITIALIZATION_FAILED;
	rv_set_binding b[RV_MAX_BINDINGS];
	for (uint32_t i = 0; i < n; i++) {
		rv_set_binding one = { i, RV_DESCRIPTOR_STORAGE_BUFFER, 1, RV_STAGE_COMPUTE, NULL };
		b[i] = one;
	}
	rv_set_layout_info info = { RV_STYPE_SET_LAYOUT, NULL, 0, n, b };
	return f->createSetLayout(dev, &info, NULL, out);
}

static rv_result rv_create_storage_pool(const rv_fns* f, rv_handle dev, uint32_t flags, uint32_t maxSets, uint32_t descriptors, rv_handle* out) {
	rv_pool_size size = { RV_DESCRIPTOR_STORAGE_BUFFER, descriptors };
	rv_pool_info info = { RV_STYPE_DESCRIPTOR_POOL, NULL, flags, maxSets, 1, &size };
	return f->createPool(dev, &info, NULL, out);
}

static rv_result rv_submit(const rv_fns* f, rv_handle queue, rv_handle cmd, rv_handle fence) {
	rv_submit_info s = { RV_STYPE_SUBMIT, NULL, 0, NULL, NULL, 1, &cmd, 0, NULL };
	return f->queueSubmit(queue, 1, &s, fence);
}

// rv_write_storage_set binds whole buffers 0..n-1 of set; 0 when n is too
// large.
static int rv_write_storage_set(const rv_fns* f, rv_handle dev, rv_handle set, const rv_handle* buffers, uint32_t n) {
	if (n > RV_MAX_BINDINGS) return 0;
	rv_buffer_info info[RV_MAX_BINDINGS];
	rv_write_set w[RV_MAX_BINDINGS];
	for (uint32_t i = 0; i < n; i++) {
		rv_buffer_info bi = { buffers[i], 0, RV_WHOLE_SIZE };
		info[i] = bi;
		rv_write_set wi = { RV_STYPE_WRITE_SET, NULL, set, i, 0, 1, RV_DESCRIPTOR_STORAGE_BUFFER, NULL, &info[i], NULL };
		w[i] = wi;
	}
	f->updateSets(dev, n, w, 0, NULL);
	return 1;
}

static void rv_barrier(const rv_fns* f, rv_handle cmd, uint32_t srcStage, uint32_t srcAccess, uint32_t dstStage, uint32_t dstAccess) {
	rv_memory_barrier m = { RV_STYPE_MEMORY_BARRIER, NULL, srcAccess, dstAccess };
	f->pipelineBarrier(cmd, srcStage, dstStage, 0, 1, &m, 0, NULL, 0, NULL);
}

static void rv_copy(const rv_fns* f, rv_handle cmd, rv_handle src, rv_handle dst, uint64_t size) {
	rv_buffer_copy c = { 0, 0, size };
	f->copyBuffer(cmd, src, dst, 1, &c);
}

static rv_result rv_invalidate_whole(const rv_fns* f, rv_handle dev, rv_handle memory) {
	rv_mapped_range r = { RV_STYPE_MAPPED_RANGE, NULL, memory, 0, RV_WHOLE_SIZE };
	return f->invalidate(dev, 1, &r);
}

#define rv_shader_stage_info_name "VkPipelineShaderStageCreateInfo"
#define rv_compute_pipeline_info_name "VkComputePipelineCreateInfo"
#define rv_submit_info_name "VkSubmitInfo"
#define rv_buffer_info_name "VkDescriptorBufferInfo"
#define rv_write_set_name "VkWriteDescriptorSet"
#define rv_memory_barrier_name "VkMemoryBarrier"
#define rv_buffer_copy_name "VkBufferCopy"
#define rv_mapped_range_name "VkMappedMemoryRange"
#define rv_queue_family_name "VkQueueFamilyProperties"
#define rv_queue_info_name "VkDeviceQueueCreateInfo"
#define rv_device_info_name "VkDeviceCreateInfo"
#define rv_set_binding_name "VkDescriptorSetLayoutBinding"
#define rv_set_layout_info_name "VkDescriptorSetLayoutCreateInfo"
#define rv_pool_size_name "VkDescriptorPoolSize"
#define rv_pool_info_name "VkDescriptorPoolCreateInfo"

// rv_layout lists the declarations' sizes, offsets and constants for
// TestDirectCallLayout, as "name=value" lines.
static const char* rv_layout(void) {
	static char buf[4096];
	if (buf[0]) return buf;
	char* p = buf;
	size_t left = sizeof buf;
#define RV_ADD(name, value) do { int k = snprintf(p, left, "%s=%llu\n", name, (unsigned long long)(value)); p += k; left -= k; } while (0)
#define RV_OFF(t, m) RV_ADD(t##_name "." #m, offsetof(t, m))
	RV_ADD(rv_shader_stage_info_name, sizeof(rv_shader_stage_info));
	RV_OFF(rv_shader_stage_info, stage); RV_OFF(rv_shader_stage_info, module); RV_OFF(rv_shader_stage_info, pName); RV_OFF(rv_shader_stage_info, pSpecializationInfo);
	RV_ADD(rv_compute_pipeline_info_name, sizeof(rv_compute_pipeline_info));
	RV_OFF(rv_compute_pipeline_info, stage); RV_OFF(rv_compute_pipeline_info, layout); RV_OFF(rv_compute_pipeline_info, basePipelineHandle); RV_OFF(rv_compute_pipeline_info, basePipelineIndex);
	RV_ADD(rv_submit_info_name, sizeof(rv_submit_info));
	RV_OFF(rv_submit_info, pWaitDstStageMask); RV_OFF(rv_submit_info, commandBufferCount); RV_OFF(rv_submit_info, pCommandBuffers); RV_OFF(rv_submit_info, pSignalSemaphores);
	RV_ADD(rv_buffer_info_name, sizeof(rv_buffer_info));
	RV_OFF(rv_buffer_info, offset); RV_OFF(rv_buffer_info, range);
	RV_ADD(rv_write_set_name, sizeof(rv_write_set));
	RV_OFF(rv_write_set, dstSet); RV_OFF(rv_write_set, dstBinding); RV_OFF(rv_write_set, descriptorCount); RV_OFF(rv_write_set, descriptorType); RV_OFF(rv_write_set, pBufferInfo); RV_OFF(rv_write_set, pTexelBufferView);
	RV_ADD(rv_memory_barrier_name, sizeof(rv_memory_barrier));
	RV_OFF(rv_memory_barrier, srcAccessMask); RV_OFF(rv_memory_barrier, dstAccessMask);
	RV_ADD(rv_buffer_copy_name, sizeof(rv_buffer_copy));
	RV_OFF(rv_buffer_copy, dstOffset); RV_OFF(rv_buffer_copy, size);
	RV_ADD(rv_mapped_range_name, sizeof(rv_mapped_range));
	RV_OFF(rv_mapped_range, memory); RV_OFF(rv_mapped_range, offset); RV_OFF(rv_mapped_range, size);
	RV_ADD(rv_queue_family_name, sizeof(rv_queue_family));
	RV_OFF(rv_queue_family, queueCount); RV_OFF(rv_queue_family, timestampValidBits);
	RV_ADD(rv_queue_info_name, sizeof(rv_queue_info));
	RV_OFF(rv_queue_info, queueFamilyIndex); RV_OFF(rv_queue_info, queueCount); RV_OFF(rv_queue_info, pQueuePriorities);
	RV_ADD(rv_device_info_name, sizeof(rv_device_info));
	RV_OFF(rv_device_info, queueCreateInfoCount); RV_OFF(rv_device_info, pQueueCreateInfos); RV_OFF(rv_device_info, enabledLayerCount); RV_OFF(rv_device_info, ppEnabledLayerNames); RV_OFF(rv_device_info, enabledExtensionCount); RV_OFF(rv_device_info, ppEnabledExtensionNames); RV_OFF(rv_device_info, pEnabledFeatures);
	RV_ADD(rv_set_binding_name, sizeof(rv_set_binding));
	RV_OFF(rv_set_binding, descriptorType); RV_OFF(rv_set_binding, descriptorCount); RV_OFF(rv_set_binding, stageFlags); RV_OFF(rv_set_binding, pImmutableSamplers);
	RV_ADD(rv_set_layout_info_name, sizeof(rv_set_layout_info));
	RV_OFF(rv_set_layout_info, bindingCount); RV_OFF(rv_set_layout_info, pBindings);
	RV_ADD(rv_pool_size_name, sizeof(rv_pool_size));
	RV_OFF(rv_pool_size, descriptorCount);
	RV_ADD(rv_pool_info_name, sizeof(rv_pool_info));
	RV_OFF(rv_pool_info, maxSets); RV_OFF(rv_pool_info, poolSizeCount); RV_OFF(rv_pool_info, pPoolSizes);
	RV_ADD("VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO", RV_STYPE_SHADER_STAGE);
	RV_ADD("VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO", RV_STYPE_COMPUTE_PIPELINE);
	RV_ADD("VK_STRUCTURE_TYPE_SUBMIT_INFO", RV_STYPE_SUBMIT);
	RV_ADD("VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET", RV_STYPE_WRITE_SET);
	RV_ADD("VK_STRUCTURE_TYPE_MEMORY_BARRIER", RV_STYPE_MEMORY_BARRIER);
	RV_ADD("VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE", RV_STYPE_MAPPED_RANGE);
	RV_ADD("VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO", RV_STYPE_DEVICE_QUEUE);
	RV_ADD("VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO", RV_STYPE_DEVICE);
	RV_ADD("VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO", RV_STYPE_SET_LAYOUT);
	RV_ADD("VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO", RV_STYPE_DESCRIPTOR_POOL);
	RV_ADD("VK_DESCRIPTOR_TYPE_STORAGE_BUFFER", RV_DESCRIPTOR_STORAGE_BUFFER);
	RV_ADD("VK_SHADER_STAGE_COMPUTE_BIT", RV_STAGE_COMPUTE);
	RV_ADD("VK_WHOLE_SIZE", RV_WHOLE_SIZE);
	RV_ADD("VK_ERROR_INITIALIZATION_FAILED", (long long)RV_ERROR_INITIALIZATION_FAILED);
#undef RV_OFF
#undef RV_ADD
	return buf;
}
*/
import "C"

import (
	"errors"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// maxDirectBindings is the most storage buffers one kernel may bind through the
// direct calls (their arrays live on the C stack).
const maxDirectBindings = C.RV_MAX_BINDINGS

// vkDirect is one backend's table of the entry points called directly.
// The table lives in C memory: it holds C function pointers only.
type vkDirect struct {
	fns *C.rv_fns
}

func newVKDirect(instance vk.Instance) (vkDirect, error) {
	fns := (*C.rv_fns)(C.calloc(1, C.sizeof_rv_fns))
	if fns == nil {
		return vkDirect{}, errors.New("vulkan: out of memory for the entry-point table")
	}
	if C.rv_instance_fns(fns, C.rv_handle(unsafe.Pointer(instance))) == 0 {
		C.free(unsafe.Pointer(fns))
		return vkDirect{}, errors.New("vulkan: the loader lacks vkGetPhysicalDeviceQueueFamilyProperties, vkCreateDevice or vkGetDeviceProcAddr")
	}
	return vkDirect{fns: fns}, nil
}

// loadDevice fills the device-level entry points.
func (d vkDirect) loadDevice(device vk.Device) error {
	if C.rv_device_fns(d.fns, C.rv_handle(unsafe.Pointer(device))) == 0 {
		return errors.New("vulkan: the device lacks a core 1.0 entry point")
	}
	return nil
}

func (d *vkDirect) free() {
	if d.fns != nil {
		C.free(unsafe.Pointer(d.fns))
		d.fns = nil
	}
}

// queueFamily is what RayOS reads of a queue family.
type queueFamily struct {
	flags         vk.QueueFlagBits
	timestampBits uint32
}

func (d vkDirect) queueFamilies(phys vk.PhysicalDevice) []queueFamily {
	const max = 64
	var flags, bits [max]C.uint32_t
	n := int(C.rv_queue_families(d.fns, C.rv_handle(unsafe.Pointer(phys)), &flags[0], &bits[0], max))
	out := make([]queueFamily, min(n, max))
	for i := range out {
		out[i] = queueFamily{flags: vk.QueueFlagBits(flags[i]), timestampBits: uint32(bits[i])}
	}
	return out
}

func (d vkDirect) createDevice(phys vk.PhysicalDevice, family uint32) (vk.Device, vk.Result) {
	var out C.rv_handle
	r := C.rv_create_device(d.fns, C.rv_handle(unsafe.Pointer(phys)), C.uint32_t(family), &out)
	return vk.Device(unsafe.Pointer(out)), vk.Result(r)
}

func (d vkDirect) createComputePipeline(device vk.Device, module vk.ShaderModule, layout vk.PipelineLayout) (vk.Pipeline, vk.Result) {
	var out C.rv_handle
	r := C.rv_create_compute_pipeline(d.fns, C.rv_handle(unsafe.Pointer(device)), C.rv_handle(unsafe.Pointer(module)), C.rv_handle(unsafe.Pointer(layout)), &out)
	return vk.Pipeline(unsafe.Pointer(out)), vk.Result(r)
}

// createStorageSetLayout makes a set layout of n storage buffers, bound
// at 0..n-1, for compute.
func (d vkDirect) createStorageSetLayout(device vk.Device, n int) (vk.DescriptorSetLayout, vk.Result) {
	if n < 0 || n > maxDirectBindings {
		return nil, vk.ErrorInitializationFailed
	}
	var out C.rv_handle
	r := C.rv_create_storage_set_layout(d.fns, C.rv_handle(unsafe.Pointer(device)), C.uint32_t(n), &out)
	return vk.DescriptorSetLayout(unsafe.Pointer(out)), vk.Result(r)
}

func (d vkDirect) createStoragePool(device vk.Device, flags vk.DescriptorPoolCreateFlags, maxSets, descriptors uint32) (vk.DescriptorPool, vk.Result) {
	var out C.rv_handle
	r := C.rv_create_storage_pool(d.fns, C.rv_handle(unsafe.Pointer(device)), C.uint32_t(flags), C.uint32_t(maxSets), C.uint32_t(descriptors), &out)
	return vk.DescriptorPool(unsafe.Pointer(out)), vk.Result(r)
}

// submit submits one command buffer, signalling fence when it is done.
func (d vkDirect) submit(queue vk.Queue, cmd vk.CommandBuffer, fence vk.Fence) vk.Result {
	return vk.Result(C.rv_submit(d.fns, C.rv_handle(unsafe.Pointer(queue)), C.rv_handle(unsafe.Pointer(cmd)), C.rv_handle(unsafe.Pointer(fence))))
}

// writeStorageSet binds the whole of each buffer, in order, to bindings
// 0..len(buffers)-1 of set.
func (d vkDirect) writeStorageSet(device vk.Device, set vk.DescriptorSet, buffers []vk.Buffer) error {
	if len(buffers) > maxDirectBindings {
		return errors.New("gpu: more storage buffers than one descriptor set may bind here")
	}
	var handles [maxDirectBindings]C.rv_handle
	for i, b := range buffers {
		handles[i] = C.rv_handle(unsafe.Pointer(b))
	}
	C.rv_write_storage_set(d.fns, C.rv_handle(unsafe.Pointer(device)), C.rv_handle(unsafe.Pointer(set)), &handles[0], C.uint32_t(len(buffers)))
	return nil
}

// barrier records one global memory barrier.
func (d vkDirect) barrier(cmd vk.CommandBuffer, srcStage vk.PipelineStageFlagBits, src vk.AccessFlagBits, dstStage vk.PipelineStageFlagBits, dst vk.AccessFlagBits) {
	C.rv_barrier(d.fns, C.rv_handle(unsafe.Pointer(cmd)), C.uint32_t(srcStage), C.uint32_t(src), C.uint32_t(dstStage), C.uint32_t(dst))
}

// copyBuffer records a copy of the first size bytes of src to dst.
func (d vkDirect) copyBuffer(cmd vk.CommandBuffer, src, dst vk.Buffer, size int) {
	C.rv_copy(d.fns, C.rv_handle(unsafe.Pointer(cmd)), C.rv_handle(unsafe.Pointer(src)), C.rv_handle(unsafe.Pointer(dst)), C.uint64_t(size))
}

// invalidateWhole makes the device's writes to memory visible to the
// host's caches.
func (d vkDirect) invalidateWhole(device vk.Device, memory vk.DeviceMemory) vk.Result {
	return vk.Result(C.rv_invalidate_whole(d.fns, C.rv_handle(unsafe.Pointer(device)), C.rv_handle(unsafe.Pointer(memory))))
}

// directCallLayout is the declarations' "name=value" lines, for the test
// against the real Vulkan headers.
func directCallLayout() string { return C.GoString(C.rv_layout()) }

// Package vcpu makes guests' virtual CPUs compute tasks: while a guest
// runs (starting, hidden or presented), each of its vCPUs and its emulator
// thread is one ComputeTask the schedule system places like any other, named
// "<guest>/vcpu<N>" and "<guest>/emulator" so that migrations are reported
// and explained. The effects system applies each placement to the
// hypervisor as a pinning; this package only keeps the tasks true to the
// guests and the policy's CPU caps.
//
// A vCPU demands 1 (a CPU thread's capacity), the emulator thread 0.1 (it
// mostly waits for I/O); both have priority VCPUPriority, above every
// synthetic task, and may run only on CPU devices. Their data affinity is
// where the guest's memory lives: the centroid of the CPU devices of its
// NUMA node (node 0 unless known).
package vcpu

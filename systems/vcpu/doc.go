// Package vcpu makes guests' virtual CPUs compute tasks: while a guest
// runs (starting, hidden or presented), each of its vCPUs and its emulator
// thread is one ComputeTask the schedule system places like any other, named
// "<guest>/vcpu<N>" and "<guest>/emulator" so that migrations are reported
// and explained. The effects system applies each placement to the
// hypervisor as a pinning; this package only keeps the tasks true to the
// guests and the policy's CPU caps.
//
// A vCPU demands 0.5 (half a CPU thread of capacity 1: a busy guest's
// vCPU is rarely busy all the time, and pinning two vCPUs to one host
// thread is the common 2:1 overcommit), the emulator thread 0.05 (it
// mostly waits for I/O); both have priority VCPUPriority, above every
// synthetic task, and may run only on CPU devices. Their data affinity is
// where the guest's memory lives: the centroid of the CPU devices of its
// NUMA node (node 0 unless known).
package vcpu

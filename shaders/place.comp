#version 450
// Placement: for every task that has something to decide, the device with
// the lowest sum of named cost terms, given the device loads at the start
// of the tick less the task's own demand — and only the decisions the
// scheduler will act on come back, appended to a compact list. CPU twin:
// gpu.PlaceTasks.
//
// What is evaluated: unplaced tasks always (but not those whose demand is
// above the largest free capacity of every device kind they may use: they
// fit nowhere, exactly as the per-device test would find; and those turned
// away before only in this run's wait window); placed tasks
// only in this run's rebalance window — the slots t with t % stride ==
// phase — so that every placed task is reconsidered once per stride runs
// at a constant cost per run. What is appended: an unplaced task that fits
// somewhere, and a placed task whose best device is another one that
// costs less than its current one × gain (or whose current device no
// longer takes it).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

const uint KINDS = 8u;

layout(std430, binding = 0) readonly buffer Params {
    uint taskCount; uint deviceCount;
    float wLocality; float wLoad; float wThermal; float wEnergy; float wPriority;
    // The rebalance window: placed tasks whose slot % rebalanceStride ==
    // rebalancePhase are evaluated; a stride of 0 evaluates none.
    uint rebalanceStride; uint rebalancePhase; float gain;
    // fitLimit[k]: a task needing more than this fits on no device of kind
    // k (the largest free capacity of that kind plus rounding slack).
    float fitLimit[KINDS];
    // clusterCount: device clusters to prune with; 0 evaluates every
    // device. The wait window: waiting tasks whose slot % waitStride ==
    // waitPhase are evaluated; a stride of 0 evaluates none.
    uint clusterCount; uint waitStride; uint waitPhase; uint pad0;
} params;
layout(std430, binding = 1) readonly buffer Tasks { ComputeTask tasks[]; };
layout(std430, binding = 2) readonly buffer Devices { Device devices[]; };
// current[t] is 1 + the device slot task t is placed on, 0 if unplaced,
// WAITING if unplaced and its last decision was turned away (its device
// filled up first): such a task is evaluated only in the wait window.
layout(std430, binding = 3) readonly buffer Current { uint current[]; };
// Clusters of nearby devices: no device of one costs a task less than the
// locality weight × the distance to its sphere (every term is ≥ 0), so a
// cluster whose bound exceeds the best cost so far is skipped whole. A
// device the task's Allow mask excludes is no candidate at all, which only
// raises the least cost of its cluster: the bound stays a lower bound.
struct Cluster { vec3 center; float radius; uint first; uint count; uint pad0; uint pad1; };
layout(std430, binding = 4) readonly buffer Clusters { Cluster clusters[]; };
// order lists the device slots cluster by cluster.
layout(std430, binding = 5) readonly buffer Order { uint order[]; };
// An action: the task's slot, the cost of staying (-1: unplaced, or its
// device no longer takes it) and the chosen placement (device = 1 + slot).
struct Action { uint task; float stay; uint pad0; uint pad1; Placement choice; };
layout(std430, binding = 6) writeonly buffer Actions { Action actions[]; };
// count is zeroed before the run; the run appends at atomicAdd(count, 1).
layout(std430, binding = 7) buffer Count { uint count; };

const uint WAITING = 0xFFFFFFFFu;
const float THERMAL_KNEE = 55.0;
const float THERMAL_RANGE = 30.0;

bool fitsSomewhere(ComputeTask task) {
    for (uint k = 0u; k < KINDS; k++) {
        if (task.taskClass != 0u && (task.taskClass & (1u << k)) == 0u) continue;
        if (task.demand <= params.fitLimit[k]) return true;
    }
    return false;
}


// The search state of one task: its best placement so far and the cost
// of staying on its current device.
ComputeTask gTask;
uint gCur;
Placement gBest;
float gStay;

// allows: the twin of ComputeTask.Allows — a mask of 0 allows every
// device; otherwise only the devices whose fabric slot (< 64) has its bit.
bool allows(ComputeTask t, uint slot) {
    if (t.allowLo == 0u && t.allowHi == 0u) return true;
    if (slot >= 64u) return false;
    if (slot < 32u) return (t.allowLo & (1u << slot)) != 0u;
    return (t.allowHi & (1u << (slot - 32u))) != 0u;
}

// try evaluates device slot d; equal costs go to the lower slot, whatever
// order the devices are evaluated in.
void try(uint d) {
    Device dev = devices[d];
    if (gTask.taskClass != 0u && (gTask.taskClass & (1u << dev.kind)) == 0u) return;
    if (!allows(gTask, dev.slot)) return;
    precise float load = dev.load;
    if (gCur == d + 1u) load = load - gTask.demand;
    precise float after = (load + gTask.demand) / dev.capacity;
    if (after > 1.0) return;
    precise float prio = max(gTask.priority, 1.0);
    precise float dx = gTask.affinity.x - dev.position.x;
    precise float dy = gTask.affinity.y - dev.position.y;
    precise float dz = gTask.affinity.z - dev.position.z;
    Placement p;
    p.device = d + 1u;
    p.tick = 0u;
    precise float locality = params.wLocality * sqrt(dx * dx + dy * dy + dz * dz);
    precise float loadTerm = params.wLoad * after;
    precise float thermal = params.wThermal * max(0.0, dev.temperature - THERMAL_KNEE) / THERMAL_RANGE;
    precise float energy = params.wEnergy * dev.energyCost * gTask.demand / 8.0;
    precise float priority = params.wPriority * (prio - 1.0) * load / dev.capacity;
    precise float cost = locality + loadTerm + thermal + energy + priority;
    p.locality = locality; p.load = loadTerm; p.thermal = thermal;
    p.energy = energy; p.priority = priority; p.cost = cost;
    if (gCur == d + 1u) gStay = cost;
    if (gBest.device == 0u || cost < gBest.cost || (cost == gBest.cost && d + 1u < gBest.device)) gBest = p;
}

// bound: the least a device of cluster c can cost the task, less a shave
// of 1e-5 × (distance + radius) and 1e-3, so that rounding — a few ulps
// of those magnitudes, in the distance, the subtraction and the device's
// own cost — never lifts it above a device's computed cost.
float bound(uint c) {
    precise float dx = gTask.affinity.x - clusters[c].center.x;
    precise float dy = gTask.affinity.y - clusters[c].center.y;
    precise float dz = gTask.affinity.z - clusters[c].center.z;
    precise float dist = sqrt(dx * dx + dy * dy + dz * dz);
    precise float gap = dist - clusters[c].radius;
    if (gap <= 0.0) return 0.0;
    precise float b = params.wLocality * (gap - (dist + clusters[c].radius) * 1e-5) - 1e-3;
    return b;
}

// prunable: the bound holds only for a demand ≥ 0 (every other term ≥ 0)
// and means something only for a finite affinity and priority; other
// tasks evaluate every device.
bool prunable(ComputeTask t) {
    return t.demand >= 0.0 && !any(isnan(t.affinity)) && !any(isinf(t.affinity))
        && !isnan(t.priority) && !isinf(t.priority);
}

void searchCluster(uint c) {
    uint end = clusters[c].first + clusters[c].count;
    for (uint i = clusters[c].first; i < end; i++) {
        uint d = order[i];
        if (d + 1u != gCur) try(d);
    }
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint t = gl_GlobalInvocationID.x; t < params.taskCount; t += stride) {
        uint cur = current[t];
        if (cur == WAITING) {
            if (params.waitStride == 0u || t % params.waitStride != params.waitPhase) continue;
            cur = 0u;
        }
        if (cur != 0u && (params.rebalanceStride == 0u || t % params.rebalanceStride != params.rebalancePhase)) continue;
        ComputeTask task = tasks[t];
        if (cur == 0u && !fitsSomewhere(task)) continue;
        gTask = task;
        gCur = cur;
        gBest.device = 0u; gBest.cost = 0.0; gBest.locality = 0.0; gBest.load = 0.0;
        gBest.thermal = 0.0; gBest.energy = 0.0; gBest.priority = 0.0; gBest.tick = 0u;
        gStay = -1.0;
        if (params.clusterCount == 0u || !prunable(task)) {
            for (uint d = 0u; d < params.deviceCount; d++) try(d);
        } else {
            if (cur != 0u) try(cur - 1u);
            uint nearest = 0u;
            float nearestBound = 0.0;
            for (uint c = 0u; c < params.clusterCount; c++) {
                float b = bound(c);
                if (c == 0u || b < nearestBound) { nearest = c; nearestBound = b; }
            }
            searchCluster(nearest);
            for (uint c = 0u; c < params.clusterCount; c++) {
                if (c != nearest && (gBest.device == 0u || bound(c) <= gBest.cost)) searchCluster(c);
            }
        }
        Placement best = gBest;
        float stayCost = gStay;
        if (best.device == 0u || best.device == cur) continue;
        precise float worth = stayCost * params.gain;
        if (cur != 0u && stayCost >= 0.0 && best.cost >= worth) continue;
        uint i = atomicAdd(count, 1u);
        actions[i].task = t;
        actions[i].stay = stayCost;
        actions[i].pad0 = 0u;
        actions[i].pad1 = 0u;
        actions[i].choice = best;
    }
}

#version 450
// Placement: for every task that has something to decide, the device with
// the lowest sum of named cost terms, given the device loads at the start
// of the tick less the task's own demand — and only the decisions the
// scheduler will act on come back, appended to a compact list. CPU twin:
// gpu.PlaceTasks.
//
// What is evaluated: unplaced tasks always (but not those whose demand is
// above the largest free capacity of every device kind they may use: they
// fit nowhere, exactly as the per-device test would find); placed tasks
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
} params;
layout(std430, binding = 1) readonly buffer Tasks { ComputeTask tasks[]; };
layout(std430, binding = 2) readonly buffer Devices { Device devices[]; };
// current[t] is 1 + the device slot task t is placed on, 0 if unplaced.
layout(std430, binding = 3) readonly buffer Current { uint current[]; };
// An action: the task's slot, the cost of staying (-1: unplaced, or its
// device no longer takes it) and the chosen placement (device = 1 + slot).
struct Action { uint task; float stay; uint pad0; uint pad1; Placement choice; };
layout(std430, binding = 4) writeonly buffer Actions { Action actions[]; };
// count is zeroed before the run; the run appends at atomicAdd(count, 1).
layout(std430, binding = 5) buffer Count { uint count; };

const float THERMAL_KNEE = 55.0;
const float THERMAL_RANGE = 30.0;

bool fitsSomewhere(ComputeTask task) {
    for (uint k = 0u; k < KINDS; k++) {
        if (task.taskClass != 0u && (task.taskClass & (1u << k)) == 0u) continue;
        if (task.demand <= params.fitLimit[k]) return true;
    }
    return false;
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint t = gl_GlobalInvocationID.x; t < params.taskCount; t += stride) {
        uint cur = current[t];
        if (cur != 0u && (params.rebalanceStride == 0u || t % params.rebalanceStride != params.rebalancePhase)) continue;
        ComputeTask task = tasks[t];
        if (cur == 0u && !fitsSomewhere(task)) continue;
        Placement best;
        best.device = 0u; best.cost = 0.0; best.locality = 0.0; best.load = 0.0;
        best.thermal = 0.0; best.energy = 0.0; best.priority = 0.0; best.tick = 0u;
        precise float prio = max(task.priority, 1.0);
        float stayCost = -1.0;
        for (uint d = 0u; d < params.deviceCount; d++) {
            Device dev = devices[d];
            if (task.taskClass != 0u && (task.taskClass & (1u << dev.kind)) == 0u) continue;
            precise float load = dev.load;
            if (cur == d + 1u) load = load - task.demand;
            precise float after = (load + task.demand) / dev.capacity;
            if (after > 1.0) continue;
            precise float dx = task.affinity.x - dev.position.x;
            precise float dy = task.affinity.y - dev.position.y;
            precise float dz = task.affinity.z - dev.position.z;
            Placement p;
            p.device = d + 1u;
            p.tick = 0u;
            precise float locality = params.wLocality * sqrt(dx * dx + dy * dy + dz * dz);
            precise float loadTerm = params.wLoad * after;
            precise float thermal = params.wThermal * max(0.0, dev.temperature - THERMAL_KNEE) / THERMAL_RANGE;
            precise float energy = params.wEnergy * dev.energyCost * task.demand / 8.0;
            precise float priority = params.wPriority * (prio - 1.0) * load / dev.capacity;
            precise float cost = locality + loadTerm + thermal + energy + priority;
            p.locality = locality; p.load = loadTerm; p.thermal = thermal;
            p.energy = energy; p.priority = priority; p.cost = cost;
            if (cur == d + 1u) stayCost = cost;
            if (best.device == 0u || cost < best.cost) best = p;
        }
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

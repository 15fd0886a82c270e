#version 450
// Placement cost evaluation and arg-min: for every task, the device with
// the lowest sum of named cost terms, given the device loads at the start
// of the tick less the task's own demand. CPU twin: gpu.PlaceTask.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Params {
    uint taskCount; uint deviceCount;
    float wLocality; float wLoad; float wThermal; float wEnergy; float wPriority;
    uint pad;
} params;
layout(std430, binding = 1) readonly buffer Tasks { ComputeTask tasks[]; };
layout(std430, binding = 2) readonly buffer Devices { Device devices[]; };
// current[t] is 1 + the device slot task t is placed on, 0 if unplaced.
layout(std430, binding = 3) readonly buffer Current { uint current[]; };
// choice[t].device is 1 + the chosen device slot, 0 if the task fits nowhere.
layout(std430, binding = 4) writeonly buffer Choices { Placement choice[]; };
// stay[t] is the cost of keeping task t where it is, -1 if it is unplaced or
// no longer fits there; the scheduler moves a task only for a real gain.
layout(std430, binding = 5) writeonly buffer Stay { float stay[]; };

const float THERMAL_KNEE = 55.0;
const float THERMAL_RANGE = 30.0;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint t = gl_GlobalInvocationID.x; t < params.taskCount; t += stride) {
        ComputeTask task = tasks[t];
        Placement best;
        best.device = 0u; best.cost = 0.0; best.locality = 0.0; best.load = 0.0;
        best.thermal = 0.0; best.energy = 0.0; best.priority = 0.0; best.tick = 0u;
        precise float prio = max(task.priority, 1.0);
        float stayCost = -1.0;
        for (uint d = 0u; d < params.deviceCount; d++) {
            Device dev = devices[d];
            if (task.taskClass != 0u && (task.taskClass & (1u << dev.kind)) == 0u) continue;
            precise float load = dev.load;
            if (current[t] == d + 1u) load = load - task.demand;
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
            if (current[t] == d + 1u) stayCost = cost;
            if (best.device == 0u || cost < best.cost) best = p;
        }
        choice[t] = best;
        stay[t] = stayCost;
    }
}

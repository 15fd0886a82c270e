#version 450
// Attention hit test: for every ray, the nearest visible surface quad it
// hits (ties: higher layer, then higher z). The results stay on the device
// (hits[], one per ray slot, kept from run to run); only the rays whose
// result changed since the last run are appended to a compact list, so a
// steady world reads back nothing — and when no surface changed, only the
// rays that did are evaluated at all. CPU twin: gpu.HitTest.
// Every arithmetic step is `precise` and spelled out in the twin's order,
// so no fused multiply-add changes a rounding and results match the twin.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

// dirtyOnly: evaluate only the rays whose bit is set in dirty[] (their
// ray changed since the last run, and no surface did); 0: every ray.
layout(std430, binding = 0) readonly buffer Params { uint rayCount; uint surfaceCount; uint dirtyOnly; uint pad; } params;
layout(std430, binding = 1) readonly buffer Rays { AttentionRay rays[]; };
layout(std430, binding = 2) readonly buffer Surfaces { Surface surfaces[]; };
struct Hit { int index; float t; };
layout(std430, binding = 3) buffer Hits { Hit hits[]; };
// A change: the ray's slot and its new result.
// dirty: a bit per ray slot, set for the rays that changed.
layout(std430, binding = 4) readonly buffer Dirty { uint dirty[]; };
struct Change { uint ray; int index; float t; uint pad; };
layout(std430, binding = 5) writeonly buffer Changes { Change changes[]; };
// count is zeroed before the run; the run appends at atomicAdd(count, 1).
layout(std430, binding = 6) buffer Count { uint count; };

bool hitQuad(AttentionRay ray, Surface s, out float tOut) {
    precise vec3 n = vec3(s.right.y * s.up.z - s.right.z * s.up.y,
                          s.right.z * s.up.x - s.right.x * s.up.z,
                          s.right.x * s.up.y - s.right.y * s.up.x);
    precise float denom = ray.direction.x * n.x + ray.direction.y * n.y + ray.direction.z * n.z;
    if (denom > -1e-6 && denom < 1e-6) return false;
    precise vec3 co = vec3(s.center.x - ray.origin.x, s.center.y - ray.origin.y, s.center.z - ray.origin.z);
    precise float t = (co.x * n.x + co.y * n.y + co.z * n.z) / denom;
    if (t <= 0.0) return false;
    precise vec3 d = vec3(ray.origin.x + t * ray.direction.x - s.center.x,
                          ray.origin.y + t * ray.direction.y - s.center.y,
                          ray.origin.z + t * ray.direction.z - s.center.z);
    precise float u = d.x * s.right.x + d.y * s.right.y + d.z * s.right.z;
    precise float v = d.x * s.up.x + d.y * s.up.y + d.z * s.up.z;
    if (u < -s.halfWidth || u > s.halfWidth || v < -s.halfHeight || v > s.halfHeight) return false;
    tOut = t;
    return true;
}

bool onTop(Surface a, Surface b) {
    if (a.layer != b.layer) return a.layer > b.layer;
    return a.z > b.z;
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint r = gl_GlobalInvocationID.x; r < params.rayCount; r += stride) {
        // A ray that did not change, among surfaces that did not, hits what
        // it hit: its result on the device stands.
        if (params.dirtyOnly != 0u && (dirty[r >> 5] & (1u << (r & 31u))) == 0u) continue;
        AttentionRay ray = rays[r];
        int best = -1;
        float bestT = 0.0;
        if (ray.weight != 0.0) {
            for (uint i = 0u; i < params.surfaceCount; i++) {
                Surface s = surfaces[i];
                if ((s.flags & SURFACE_VISIBLE) == 0u) continue;
                float t;
                if (!hitQuad(ray, s, t)) continue;
                if (best < 0 || t < bestT || (t == bestT && onTop(s, surfaces[best]))) {
                    best = int(i);
                    bestT = t;
                }
            }
        }
        if (hits[r].index == best && hits[r].t == bestT) continue;
        hits[r].index = best;
        hits[r].t = bestT;
        uint i = atomicAdd(count, 1u);
        changes[i].ray = r;
        changes[i].index = best;
        changes[i].t = bestT;
        changes[i].pad = 0u;
    }
}

#version 450
// Composition: every framebuffer pixel is the background with the visible
// surfaces blended over it bottom to top (order[] is sorted by layer, then
// z). Surfaces sample their texels nearest-neighbour from the atlas.
// Integer-only, so the CPU twin (gpu.ComposePixel) matches bit for bit.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer Params {
    uint width; uint height; uint count; uint background;
} params;
layout(std430, binding = 1) readonly buffer Surfaces { Surface surfaces[]; };
layout(std430, binding = 2) readonly buffer Order { uint order[]; };
// textures[slot] = (atlas offset, width, height, unused) of a surface's texels.
layout(std430, binding = 3) readonly buffer Textures { uvec4 textures[]; };
layout(std430, binding = 4) readonly buffer Atlas { uint texels[]; };
layout(std430, binding = 5) writeonly buffer Frame { uint frame[]; };

uint blend(uint src, uint dst) {
    uint a = src >> 24;
    uint outc = 0xff000000u;
    for (uint shift = 0u; shift < 24u; shift += 8u) {
        uint s = (src >> shift) & 0xffu;
        uint d = (dst >> shift) & 0xffu;
        outc |= ((s * a + d * (255u - a) + 127u) / 255u) << shift;
    }
    return outc;
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint total = params.width * params.height;
    for (uint p = gl_GlobalInvocationID.x; p < total; p += stride) {
        int x = int(p % params.width);
        int y = int(p / params.width);
        uint c = params.background;
        for (uint i = 0u; i < params.count; i++) {
            uint slot = order[i];
            ivec4 r = surfaces[slot].rect;
            if (x < r.x || y < r.y || x >= r.x + r.z || y >= r.y + r.w) continue;
            uvec4 tex = textures[slot];
            if (tex.y == 0u || tex.z == 0u) continue;
            uint tx = uint(x - r.x) * tex.y / uint(r.z);
            uint ty = uint(y - r.y) * tex.z / uint(r.w);
            c = blend(texels[tex.x + ty * tex.y + tx], c);
        }
        frame[p] = c;
    }
}

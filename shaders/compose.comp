#version 450
// Composition by tiles: each damaged TILE × TILE tile is the background
// with the surfaces binned over it (by the CPU, bottom to top, none below
// the topmost that covers the tile opaquely) blended over it, pixel by
// pixel. Surfaces sample their texels nearest-neighbour from the atlas;
// decorated ones get a border and a title bar in their frame colour,
// drawn here around their content, which is clipped to the inside.
// Integer-only, so the CPU twin (gpu.ComposeTiles) matches bit for bit.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 64) in;

const int TILE = 16;
const uint OPAQUE_CONTENT = 1u;

layout(std430, binding = 0) readonly buffer Params {
    uint width; uint height; uint tilesX; uint tileCount;
    uint background; uint tap; uint pad0; uint pad1;
} params;
layout(std430, binding = 1) readonly buffer Surfaces { Surface surfaces[]; };
// textures[slot] = (atlas offset, width, height, flags) of a surface's texels.
layout(std430, binding = 2) readonly buffer Textures { uvec4 textures[]; };
struct Decor {
    uint frame; uint highlight; uint titleOffset; uint titleWidth;
    uint titleHeight; uint border; uint flags; uint titleRows;
};
layout(std430, binding = 3) readonly buffer Decors { Decor decor[]; };
layout(std430, binding = 4) readonly buffer Atlas { uint texels[]; };
// tiles[k]: the k-th damaged tile; its surfaces are slots[start[k] ..
// start[k+1]), bottom to top.
layout(std430, binding = 5) readonly buffer Tiles { uint tiles[]; };
layout(std430, binding = 6) readonly buffer Start { uint start[]; };
layout(std430, binding = 7) readonly buffer Slots { uint slots[]; };
layout(std430, binding = 8) writeonly buffer Frame { uint frame[]; };
// tapOut[k * TILE * TILE + i]: tile k's pixels, for consumers that read
// back only what changed (written when params.tap != 0).
layout(std430, binding = 9) writeonly buffer Tap { uint tapOut[]; };

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

const uint NO_SIGNAL = 0xff0a0808u;

// texel: what surface slot puts at (x, y); covered is false where it puts
// nothing. Twin: gpu.SurfaceTexel.
uint texel(uint slot, int x, int y, out bool covered) {
    covered = false;
    ivec4 r = surfaces[slot].rect;
    if (x < r.x || y < r.y || x >= r.x + r.z || y >= r.y + r.w) return 0u;
    uvec4 tex = textures[slot];
    Decor d = decor[slot];
    int cx = r.x, cy = r.y, cw = r.z, ch = r.w;
    if (d.border > 0u) {
        int b = int(d.border);
        int lx = x - r.x, ly = y - r.y;
        covered = true;
        if (d.highlight != 0u && (lx == 0 || ly == 0 || lx == r.z - 1 || ly == r.w - 1)) return d.highlight | 0xff000000u;
        if (lx < b || ly < b || lx >= r.z - b || ly >= r.w - b) return d.frame | 0xff000000u;
        int th = int(d.titleHeight);
        if (ly < b + th) {
            int tx = lx - b, ty = ly - b;
            if (tx < int(d.titleWidth) && ty < int(d.titleRows)) return texels[int(d.titleOffset) + ty * int(d.titleWidth) + tx] | 0xff000000u;
            return d.frame | 0xff000000u;
        }
        cx = r.x + b; cy = r.y + b + th; cw = r.z - 2 * b; ch = r.w - 2 * b - th;
        if (tex.y == 0u || tex.z == 0u) return NO_SIGNAL;
    } else if (tex.y == 0u || tex.z == 0u) {
        return 0u;
    }
    covered = true;
    uint tx = uint(x - cx) * tex.y / uint(cw);
    uint ty = uint(y - cy) * tex.z / uint(ch);
    uint c = texels[tex.x + ty * tex.y + tx];
    if ((d.flags & OPAQUE_CONTENT) != 0u) c |= 0xff000000u;
    return c;
}

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint total = params.tileCount * uint(TILE * TILE);
    for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
        uint k = i / uint(TILE * TILE);
        int p = int(i % uint(TILE * TILE));
        uint t = tiles[k];
        int x = int(t % params.tilesX) * TILE + p % TILE;
        int y = int(t / params.tilesX) * TILE + p / TILE;
        if (x >= int(params.width) || y >= int(params.height)) {
            if (params.tap != 0u) tapOut[i] = 0u;
            continue;
        }
        uint c = params.background;
        for (uint j = start[k]; j < start[k + 1u]; j++) {
            bool covered;
            uint src = texel(slots[j], x, y, covered);
            if (covered) c = blend(src, c);
        }
        frame[y * int(params.width) + x] = c;
        if (params.tap != 0u) tapOut[i] = c;
    }
}

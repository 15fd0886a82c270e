#version 450
// Exact vector search: for each query, the k vectors (k <= 64) with the
// highest dot product (the cosine, on unit vectors), best first; equal
// scores go to the lower index, so the answer is one list whatever the
// order of the work. CPU twin: the "search" entry of gpu's kernel table
// (gpu.SearchRange).
//
// Two passes, one per program (a program's kernel steps run without
// barriers between them; consecutive programs see each other's writes):
//
//   pass 0: a workgroup per (query, block of vectors) scores the block and
//           writes its top k, best first, padded with empty entries
//           (index 0xffffffff, score -inf), into partial[].
//   pass 1: a workgroup per query streams the query's blocks' lists and
//           writes its top k into result[].
//
// Both keep a running top k in shared memory: slots [0, 64) hold it sorted;
// of each tile of 448 candidates, those that beat the k-th best are packed
// into slots [64, 512); a few are inserted by one invocation, more make
// the whole 512 bitonic-sorted, which brings the new top 64 to the front. The top k of a set under a strict
// total order is unique, so however the twin finds it, the lists match
// bit for bit as long as the scores do.
//
// The dot product is summed as package volume's dot: 16 lanes over the
// first dim & ~15 elements, folded (l0+l4)+(l8+l12) per lane of four, then
// (t0+t2)+(t1+t3), then the rest one by one; every step `precise`, so no
// fused multiply-add changes a rounding.

layout(local_size_x = 64) in;

const uint TILE = 448u;
const uint SORT = 512u;
const uint KMAX = 64u;
const uint NONE = 0xffffffffu;
// FEW: up to this many entering candidates are inserted, more sorted.
const uint FEW = 8u;

struct Match { uint index; float score; };

// pass: 0 or 1. count vectors of dim floats each; queries queries; the
// top k. block: vectors per block (a multiple of TILE); blocks: per query.
layout(std430, binding = 0) readonly buffer Params {
    uint pass; uint count; uint dim; uint queries;
    uint k; uint block; uint blocks; uint pad;
} p;
layout(std430, binding = 1) readonly buffer Vectors { float vecs[]; };
// dead: a bit per vector; a set bit leaves it out of every answer.
layout(std430, binding = 2) readonly buffer Dead { uint dead[]; };
layout(std430, binding = 3) readonly buffer Queries { float qs[]; };
layout(std430, binding = 4) buffer Partial { Match partial[]; };
layout(std430, binding = 5) writeonly buffer Result { Match result[]; };

shared float ss[SORT];
shared uint si[SORT];
shared uint entered;

bool better(float as, uint ai, float bs, uint bi) {
    return as > bs || (as == bs && ai < bi);
}

float score(uint q, uint v) {
    uint dim = p.dim;
    uint qo = q * dim, vo = v * dim;
    uint n = dim & ~15u;
    precise vec4 l0 = vec4(0.0), l1 = vec4(0.0), l2 = vec4(0.0), l3 = vec4(0.0);
    for (uint i = 0u; i < n; i += 16u) {
        precise vec4 a0 = vec4(qs[qo + i], qs[qo + i + 1u], qs[qo + i + 2u], qs[qo + i + 3u]);
        precise vec4 a1 = vec4(qs[qo + i + 4u], qs[qo + i + 5u], qs[qo + i + 6u], qs[qo + i + 7u]);
        precise vec4 a2 = vec4(qs[qo + i + 8u], qs[qo + i + 9u], qs[qo + i + 10u], qs[qo + i + 11u]);
        precise vec4 a3 = vec4(qs[qo + i + 12u], qs[qo + i + 13u], qs[qo + i + 14u], qs[qo + i + 15u]);
        precise vec4 b0 = vec4(vecs[vo + i], vecs[vo + i + 1u], vecs[vo + i + 2u], vecs[vo + i + 3u]);
        precise vec4 b1 = vec4(vecs[vo + i + 4u], vecs[vo + i + 5u], vecs[vo + i + 6u], vecs[vo + i + 7u]);
        precise vec4 b2 = vec4(vecs[vo + i + 8u], vecs[vo + i + 9u], vecs[vo + i + 10u], vecs[vo + i + 11u]);
        precise vec4 b3 = vec4(vecs[vo + i + 12u], vecs[vo + i + 13u], vecs[vo + i + 14u], vecs[vo + i + 15u]);
        l0 = l0 + a0 * b0;
        l1 = l1 + a1 * b1;
        l2 = l2 + a2 * b2;
        l3 = l3 + a3 * b3;
    }
    precise vec4 t = (l0 + l1) + (l2 + l3);
    precise float s = 0.0;
    if (n > 0u) s = (t.x + t.z) + (t.y + t.w);
    for (uint i = n; i < dim; i++) {
        s = s + qs[qo + i] * vecs[vo + i];
    }
    return s;
}

// sortAll sorts the 512 slots best first (bitonic; each thread swaps four
// pairs per stage). Called by the whole workgroup.
void sortAll(uint lid) {
    for (uint size = 2u; size <= SORT; size <<= 1u) {
        for (uint stride = size >> 1u; stride > 0u; stride >>= 1u) {
            for (uint t = lid; t < SORT / 2u; t += gl_WorkGroupSize.x) {
                uint i = 2u * stride * (t / stride) + t % stride;
                uint l = i + stride;
                float a = ss[i], b = ss[l];
                uint ai = si[i], bi = si[l];
                bool swap = (i & size) == 0u ? better(b, bi, a, ai) : better(a, ai, b, bi);
                if (swap) {
                    ss[i] = b; si[i] = bi;
                    ss[l] = a; si[l] = ai;
                }
            }
            barrier();
        }
    }
}

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint k = min(p.k, KMAX);
    uint items = p.pass == 0u ? p.queries * p.blocks : p.queries;
    for (uint item = gl_WorkGroupID.x; item < items; item += gl_NumWorkGroups.x) {
        for (uint i = lid; i < SORT; i += gl_WorkGroupSize.x) {
            ss[i] = uintBitsToFloat(0xff800000u);
            si[i] = NONE;
        }
        // entered counts the tile's candidates that beat the k-th best.
        if (lid == 0u) entered = 0u;
        barrier();
        uint q, lo, hi;
        if (p.pass == 0u) {
            q = item / p.blocks;
            lo = (item % p.blocks) * p.block;
            hi = min(p.count, lo + p.block);
        } else {
            q = item;
            lo = q * p.blocks * k;
            hi = lo + p.blocks * k;
        }
        for (uint base = lo; base < hi; base += TILE) {
            float ks = ss[k - 1u];
            uint ki = si[k - 1u];
            for (uint j = lid; j < TILE; j += gl_WorkGroupSize.x) {
                ss[KMAX + j] = uintBitsToFloat(0xff800000u);
                si[KMAX + j] = NONE;
            }
            barrier();
            // Only the candidates that beat the k-th best are kept, packed
            // from slot KMAX on (in any order: the top k does not depend
            // on it).
            for (uint j = lid; j < TILE; j += gl_WorkGroupSize.x) {
                uint c = base + j;
                if (c >= hi) break;
                float s;
                uint idx;
                if (p.pass == 0u) {
                    if ((dead[c >> 5u] & (1u << (c & 31u))) != 0u) continue;
                    s = score(q, c);
                    idx = c;
                } else {
                    s = partial[c].score;
                    idx = partial[c].index;
                }
                if (better(s, idx, ks, ki)) {
                    uint slot = KMAX + atomicAdd(entered, 1u);
                    ss[slot] = s;
                    si[slot] = idx;
                }
            }
            barrier();
            uint m = entered;
            barrier();
            if (m == 0u) continue;
            if (m > FEW) {
                sortAll(lid);
            } else if (lid == 0u) {
                // A few: one invocation inserts them into the sorted 64,
                // which costs no stage barriers.
                for (uint c = KMAX; c < KMAX + m; c++) {
                    float s = ss[c];
                    uint idx = si[c];
                    uint i = KMAX - 1u;
                    if (!better(s, idx, ss[i], si[i])) continue;
                    while (i > 0u && better(s, idx, ss[i - 1u], si[i - 1u])) {
                        ss[i] = ss[i - 1u];
                        si[i] = si[i - 1u];
                        i--;
                    }
                    ss[i] = s;
                    si[i] = idx;
                }
            }
            if (lid == 0u) entered = 0u;
            barrier();
        }
        for (uint i = lid; i < k; i += gl_WorkGroupSize.x) {
            Match m;
            m.index = si[i];
            m.score = ss[i];
            if (p.pass == 0u) {
                partial[item * k + i] = m;
            } else {
                result[item * k + i] = m;
            }
        }
        barrier();
    }
}

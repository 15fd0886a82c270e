// Shared std430 declarations of the GPU-mirrored components. The layouts
// are those documented in components/*.go and checked by
// components/layout_test.go.

struct Surface {
    vec3 center; float z;
    vec3 right; float halfWidth;
    vec3 up; float halfHeight;
    ivec4 rect;
    ivec4 damage;
    uint owner; uint flags; uint layer; uint pad;
};

struct AttentionRay {
    vec3 origin; float weight;
    vec3 direction; uint source;
    uint hit; float hitT; uint device; uint since;
};

struct ComputeTask {
    vec3 affinity; float demand;
    float priority; uint taskClass; uint allowLo; uint allowHi;
};

struct Device {
    vec3 position; float capacity;
    float load; float temperature; float energyCost; uint kind;
    uint slot; uint pad0; uint pad1; uint pad2;
};

struct Placement {
    uint device; float cost;
    float locality; float load; float thermal; float energy; float priority;
    uint tick;
};

const uint SURFACE_VISIBLE = 1u;

package components

// Vec3 is a point or direction in scene space, in metres. In std430 a vec3
// is 16-byte aligned but only 12 bytes long; GPU-mirrored structs always
// place a 4-byte scalar right after a Vec3 so that no padding is implied.
type Vec3 [3]float32

// Rect is a pixel rectangle on the framebuffer: X, Y of the top-left corner
// and W, H in pixels. Laid out as an std430 ivec4.
type Rect struct {
	X, Y, W, H int32
}

// EntityRef names another entity by the ECS entity's ID and generation. It is
// plain data so that it can sit in GPU-mirrored and serialised components;
// the world turns it back into a live entity and rejects it when the entity
// has died since (the generation no longer matches).
type EntityRef struct {
	ID  uint32 `json:"id"`
	Gen uint32 `json:"gen"`
}

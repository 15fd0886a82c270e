// Package attention turns gaze into focus. Two systems run back to back:
//
//   - [Decay] ages every AttentionRay's weight (half-life DecayHalfLife),
//     so a gaze the user has moved away from fades out.
//   - [System] points the rays at this tick's gaze inputs, reads each
//     ray's hit from the GPU's hit kernel (two ticks old) and publishes the
//     strongest hit as the world's Focus.
package attention

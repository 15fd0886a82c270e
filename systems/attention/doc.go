// Package attention turns gaze into focus. Two systems run back to back:
//
//   - [Decay] retires rays whose weight has faded out. Weights decay
//     implicitly (half-life DecayHalfLife, [Fade]) from the tick of their
//     gaze, so a gaze the user has moved away from fades without the ray
//     changing tick by tick.
//   - [System] points the rays at this tick's gaze inputs, reads each
//     ray's hit from the GPU's hit kernel (two ticks old) and publishes the
//     strongest hit as the world's Focus.
package attention

// Package bridge is the world's side of the host bridge, the v0 control
// plane of RayOS (start, present, hide, type, press, mouse, click,
// shutdown, status): [Requests] turns each control-socket request into a
// RAYOS_HOST_EVENT_V0 marker and an IntentEnvelope that goes through the
// policy gate and the effects like any other intent; [Acks] answers each
// request with exactly one RAYOS_HOST_ACK once its effect completed or
// failed, and queues the answer in the [Outbox] for the socket.
package bridge

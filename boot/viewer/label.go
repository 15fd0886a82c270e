package viewer

import (
	"fmt"

	"github.com/rayos/engine/components"
)

// label summarises an entity in one line for the browser, from the first
// component kind it has that says what the entity is. get returns the
// component of a kind as a pointer (nil when the entity has none).
func label(kinds []string, get func(kind string) any) string {
	has := func(k string) bool {
		for _, x := range kinds {
			if x == k {
				return true
			}
		}
		return false
	}
	switch {
	case has("Guest"):
		if g, ok := get("Guest").(*components.Guest); ok {
			return fmt.Sprintf("guest %s (%s, %s%s)", g.ID, osName(g.OS), stateName(g.State), flag(g.Presented, ", presented"))
		}
	case has("Surface"):
		if s, ok := get("Surface").(*components.Surface); ok {
			return fmt.Sprintf("surface %d×%d at (%d,%d) owner %d layer %d", s.Rect.W, s.Rect.H, s.Rect.X, s.Rect.Y, s.Owner, s.Layer)
		}
	case has("Device"):
		if d, ok := get("Device").(*components.Device); ok {
			return fmt.Sprintf("device kind %d load %.1f/%.1f %.1f°C", d.Kind, d.Load, d.Capacity, d.Temperature)
		}
	case has("ComputeTask"):
		if t, ok := get("ComputeTask").(*components.ComputeTask); ok {
			on := "unplaced"
			if p, ok := get("Placement").(*components.Placement); ok && p.Device != 0 {
				on = fmt.Sprintf("on device #%d cost %.2f", p.Device, p.Cost)
			}
			return fmt.Sprintf("task demand %.2f class %d %s", t.Demand, t.Class, on)
		}
	case has("AttentionRay"):
		if r, ok := get("AttentionRay").(*components.AttentionRay); ok {
			return fmt.Sprintf("ray from source %d weight %.2f hit #%d", r.Source, r.Weight, r.Hit)
		}
	case has("IntentEnvelope"):
		if e, ok := get("IntentEnvelope").(*components.IntentEnvelope); ok {
			return fmt.Sprintf("intent %s source %d: %s %s", actionName(e.Action), e.Source, statusName(e.Status), e.Detail)
		}
	case has("PendingConfirmation"):
		if p, ok := get("PendingConfirmation").(*components.PendingConfirmation); ok {
			return fmt.Sprintf("pending confirmation rule %s expires %d", p.Rule, p.Expires)
		}
	case has("Input"):
		if in, ok := get("Input").(*components.Input); ok {
			return fmt.Sprintf("input %s %q", inputName(in.Kind), in.Text)
		}
	}
	return ""
}

func flag(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

func osName(k components.OSKind) string {
	if int(k) < len(components.OSKindNames) {
		return components.OSKindNames[k]
	}
	return "unknown"
}

func stateName(s components.GuestState) string {
	if int(s) < len(components.GuestStateNames) {
		return components.GuestStateNames[s]
	}
	return fmt.Sprintf("state %d", s)
}

func actionName(a components.IntentAction) string {
	if int(a) < len(components.IntentActionNames) && components.IntentActionNames[a] != "" {
		return components.IntentActionNames[a]
	}
	return fmt.Sprintf("action %d", a)
}

func statusName(s components.IntentStatus) string {
	if int(s) < len(components.IntentStatusNames) && components.IntentStatusNames[s] != "" {
		return components.IntentStatusNames[s]
	}
	return fmt.Sprintf("status %d", s)
}

func inputName(k components.InputKind) string {
	if int(k) < len(components.InputKindNames) && components.InputKindNames[k] != "" {
		return components.InputKindNames[k]
	}
	return fmt.Sprintf("kind %d", k)
}

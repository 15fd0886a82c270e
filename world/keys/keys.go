package keys

import (
	"maps"
	"slices"
	"strings"
)

// codes are Linux input key codes by their canonical name (the KEY_ name
// in lower case without the prefix).
var codes = map[string]uint32{
	"esc": 1, "1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8, "8": 9, "9": 10, "0": 11,
	"minus": 12, "equal": 13, "backspace": 14, "tab": 15,
	"q": 16, "w": 17, "e": 18, "r": 19, "t": 20, "y": 21, "u": 22, "i": 23, "o": 24, "p": 25,
	"leftbrace": 26, "rightbrace": 27, "enter": 28, "leftctrl": 29,
	"a": 30, "s": 31, "d": 32, "f": 33, "g": 34, "h": 35, "j": 36, "k": 37, "l": 38,
	"semicolon": 39, "apostrophe": 40, "grave": 41, "leftshift": 42, "backslash": 43,
	"z": 44, "x": 45, "c": 46, "v": 47, "b": 48, "n": 49, "m": 50,
	"comma": 51, "dot": 52, "slash": 53, "rightshift": 54, "kpasterisk": 55, "leftalt": 56, "space": 57, "capslock": 58,
	"f1": 59, "f2": 60, "f3": 61, "f4": 62, "f5": 63, "f6": 64, "f7": 65, "f8": 66, "f9": 67, "f10": 68,
	"numlock": 69, "scrolllock": 70,
	"kp7": 71, "kp8": 72, "kp9": 73, "kpminus": 74, "kp4": 75, "kp5": 76, "kp6": 77, "kpplus": 78,
	"kp1": 79, "kp2": 80, "kp3": 81, "kp0": 82, "kpdot": 83,
	"f11": 87, "f12": 88, "kpenter": 96, "rightctrl": 97, "kpslash": 98, "sysrq": 99, "rightalt": 100,
	"home": 102, "up": 103, "pageup": 104, "left": 105, "right": 106, "end": 107, "down": 108, "pagedown": 109,
	"insert": 110, "delete": 111, "mute": 113, "volumedown": 114, "volumeup": 115, "power": 116,
	"kpequal": 117, "pause": 119, "leftmeta": 125, "rightmeta": 126, "compose": 127,
	"f13": 183, "f14": 184, "f15": 185, "f16": 186, "f17": 187, "f18": 188,
	"f19": 189, "f20": 190, "f21": 191, "f22": 192, "f23": 193, "f24": 194,
}

// aliases are the other words people use for a key, each mapped to its
// canonical name. A modifier word alone ("ctrl") means the left one.
var aliases = map[string]string{
	"ctrl": "leftctrl", "control": "leftctrl", "lctrl": "leftctrl", "rctrl": "rightctrl",
	"alt": "leftalt", "lalt": "leftalt", "ralt": "rightalt", "altgr": "rightalt",
	"shift": "leftshift", "lshift": "leftshift", "rshift": "rightshift",
	"super": "leftmeta", "meta": "leftmeta", "win": "leftmeta", "windows": "leftmeta", "cmd": "leftmeta",
	"rsuper": "rightmeta", "rwin": "rightmeta",
	"del": "delete", "ins": "insert", "escape": "esc", "return": "enter", "bksp": "backspace",
	"pgup": "pageup", "pgdn": "pagedown", "pgdown": "pagedown",
	"printscreen": "sysrq", "print": "sysrq", "prtsc": "sysrq", "prtscr": "sysrq",
	"caps": "capslock", "menu": "compose", "period": "dot", "spacebar": "space",
	"break": "pause", "backtick": "grave", "quote": "apostrophe",
}

// names is every accepted name, sorted; built once.
var names = func() []string {
	all := slices.Collect(maps.Keys(codes))
	all = append(all, slices.Collect(maps.Keys(aliases))...)
	slices.Sort(all)
	return all
}()

// normalize lower-cases a name and drops the optional "KEY_" prefix.
func normalize(name string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "key_")
}

// Code returns the Linux key code of a key name or alias
// (case-insensitive, "KEY_" prefix optional).
func Code(name string) (uint32, bool) {
	n := normalize(name)
	if canon, ok := aliases[n]; ok {
		n = canon
	}
	c, ok := codes[n]
	return c, ok
}

// Names returns every accepted key name, canonical names and aliases
// alike, sorted. The slice is a copy the caller may keep.
func Names() []string { return slices.Clone(names) }

// Canonical returns the canonical name of a key name or alias ("del" →
// "delete"), or false if it names no key.
func Canonical(name string) (string, bool) {
	n := normalize(name)
	if canon, ok := aliases[n]; ok {
		return canon, true
	}
	_, ok := codes[n]
	return n, ok
}

package bridge

import "strings"

// keyCodes are Linux input key codes (linux/input-event-codes.h) by name,
// the codeset libvirt's send-key takes.
var keyCodes = map[string]uint32{
	"esc": 1, "1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8, "8": 9, "9": 10, "0": 11,
	"minus": 12, "equal": 13, "backspace": 14, "tab": 15,
	"q": 16, "w": 17, "e": 18, "r": 19, "t": 20, "y": 21, "u": 22, "i": 23, "o": 24, "p": 25,
	"leftbrace": 26, "rightbrace": 27, "enter": 28, "leftctrl": 29,
	"a": 30, "s": 31, "d": 32, "f": 33, "g": 34, "h": 35, "j": 36, "k": 37, "l": 38,
	"semicolon": 39, "apostrophe": 40, "grave": 41, "leftshift": 42, "backslash": 43,
	"z": 44, "x": 45, "c": 46, "v": 47, "b": 48, "n": 49, "m": 50,
	"comma": 51, "dot": 52, "slash": 53, "rightshift": 54, "leftalt": 56, "space": 57,
	"f1": 59, "f2": 60, "f3": 61, "f4": 62, "f5": 63, "f6": 64, "f7": 65, "f8": 66, "f9": 67, "f10": 68,
	"up": 103, "left": 105, "right": 106, "down": 108, "home": 102, "end": 107, "pageup": 104, "pagedown": 109,
	"delete": 111, "f11": 87, "f12": 88,
}

// KeyCode returns the Linux key code of a key name (case-insensitive,
// "KEY_" prefix optional).
func KeyCode(name string) (uint32, bool) {
	n := strings.TrimPrefix(strings.ToLower(name), "key_")
	c, ok := keyCodes[n]
	return c, ok
}

// shifted maps the characters typed with shift to their unshifted key.
var shifted = map[rune]string{
	'!': "1", '@': "2", '#': "3", '$': "4", '%': "5", '^': "6", '&': "7", '*': "8", '(': "9", ')': "0",
	'_': "minus", '+': "equal", '{': "leftbrace", '}': "rightbrace", ':': "semicolon", '"': "apostrophe",
	'~': "grave", '|': "backslash", '<': "comma", '>': "dot", '?': "slash",
}

var plain = map[rune]string{
	' ': "space", '-': "minus", '=': "equal", '[': "leftbrace", ']': "rightbrace", ';': "semicolon",
	'\'': "apostrophe", '`': "grave", '\\': "backslash", ',': "comma", '.': "dot", '/': "slash", '\n': "enter", '\t': "tab",
}

// Keystrokes turns text into key-code chords (one chord per character:
// shift + key for capitals and shifted symbols). ok is false if a
// character has no key on a US keyboard.
func Keystrokes(text string) (chords [][]uint32, ok bool) {
	shift := keyCodes["leftshift"]
	for _, r := range text {
		var name string
		var withShift bool
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			name = string(r)
		case r >= 'A' && r <= 'Z':
			name, withShift = strings.ToLower(string(r)), true
		default:
			if n, found := plain[r]; found {
				name = n
			} else if n, found := shifted[r]; found {
				name, withShift = n, true
			} else {
				return nil, false
			}
		}
		code := keyCodes[name]
		if withShift {
			chords = append(chords, []uint32{shift, code})
		} else {
			chords = append(chords, []uint32{code})
		}
	}
	return chords, true
}

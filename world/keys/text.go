package keys

import "strings"

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

// Text turns text into key-code chords, one chord per character (shift +
// key for capitals and shifted symbols), as typed on a US keyboard. ok is
// false if a character has no key there.
func Text(text string) (chords [][]uint32, ok bool) {
	shift := codes["leftshift"]
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
		code := codes[name]
		if withShift {
			chords = append(chords, []uint32{shift, code})
		} else {
			chords = append(chords, []uint32{code})
		}
	}
	return chords, true
}

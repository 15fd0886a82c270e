package prompt

// usKeys maps the Linux key codes of the printable keys to the characters
// they type on a US keyboard: unshifted, then with Shift. Letters are
// listed lower case; Caps Lock swaps their case (and only theirs).
// The keypad types its digits and signs as if Num Lock were on: RayOS does
// not track Num Lock, and a keypad that moves a caret the prompt does not
// have would type nothing at all.
var usKeys = map[uint16][2]byte{
	2: {'1', '!'}, 3: {'2', '@'}, 4: {'3', '#'}, 5: {'4', '$'}, 6: {'5', '%'},
	7: {'6', '^'}, 8: {'7', '&'}, 9: {'8', '*'}, 10: {'9', '('}, 11: {'0', ')'},
	12: {'-', '_'}, 13: {'=', '+'},
	16: {'q', 'Q'}, 17: {'w', 'W'}, 18: {'e', 'E'}, 19: {'r', 'R'}, 20: {'t', 'T'},
	21: {'y', 'Y'}, 22: {'u', 'U'}, 23: {'i', 'I'}, 24: {'o', 'O'}, 25: {'p', 'P'},
	26: {'[', '{'}, 27: {']', '}'},
	30: {'a', 'A'}, 31: {'s', 'S'}, 32: {'d', 'D'}, 33: {'f', 'F'}, 34: {'g', 'G'},
	35: {'h', 'H'}, 36: {'j', 'J'}, 37: {'k', 'K'}, 38: {'l', 'L'},
	39: {';', ':'}, 40: {'\'', '"'}, 41: {'`', '~'}, 43: {'\\', '|'},
	44: {'z', 'Z'}, 45: {'x', 'X'}, 46: {'c', 'C'}, 47: {'v', 'V'}, 48: {'b', 'B'},
	49: {'n', 'N'}, 50: {'m', 'M'},
	51: {',', '<'}, 52: {'.', '>'}, 53: {'/', '?'},
	57: {' ', ' '},
	// Keypad (Num Lock assumed on).
	55: {'*', '*'}, 74: {'-', '-'}, 78: {'+', '+'}, 83: {'.', '.'}, 98: {'/', '/'}, 117: {'=', '='},
	71: {'7', '7'}, 72: {'8', '8'}, 73: {'9', '9'}, 75: {'4', '4'}, 76: {'5', '5'},
	77: {'6', '6'}, 79: {'1', '1'}, 80: {'2', '2'}, 81: {'3', '3'}, 82: {'0', '0'},
}

// Editing keys (Linux key codes).
const (
	keyEsc       = 1
	keyBackspace = 14
	keyEnter     = 28
	keyCapsLock  = 58
	keyKPEnter   = 96
)

// char is the character key types with shift held and caps lock on or
// off, and whether it types one.
func char(key uint16, shift, caps bool) (byte, bool) {
	k, ok := usKeys[key]
	if !ok {
		return 0, false
	}
	c := k[0]
	if shift {
		c = k[1]
	}
	if caps && k[0] >= 'a' && k[0] <= 'z' {
		c ^= 'a' - 'A' // swap the letter's case; shift+caps types lower case
	}
	return c, true
}

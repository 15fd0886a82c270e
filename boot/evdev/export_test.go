package evdev

// The ioctl numbers, for the test that checks them against the kernel's.
var (
	EVIOCGNAME = eviocgname
	EVIOCGKEY  = eviocgkey
	EVIOCGABS  = eviocgabs
)

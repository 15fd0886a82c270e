#!/usr/bin/env bash
# Builds the tiny real Linux guest of the end-to-end tests, once, into a
# cache: Debian's kernel (vmlinuz, extracted from the linux-image package)
# and an initramfs of busybox-static whose init
#   - prints RAYOS_TESTGUEST_READY on the serial console (ttyS0),
#   - reads lines typed on the guest's keyboard (tty1) and echoes each to
#     the serial console as "typed: <line>".
# Nothing built here is committed. Usage: build.sh [CACHE_DIR]; prints the
# cache folder holding vmlinuz and initrd.gz.
set -euo pipefail
cache=${1:-${RAYOS_TESTGUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rayos-testguest}}
mkdir -p "$cache"
if [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.gz" ] && [ "$(cat "$cache/version" 2>/dev/null)" = 2 ]; then
	echo "$cache"
	exit 0
fi
work=$(mktemp -d)
chmod 755 "$work" # apt-get download drops privileges to _apt
trap 'rm -rf "$work"' EXIT

# The newest 6.1 kernel package the mirror offers.
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
fi
(cd "$work" && apt-get download -qq "$pkg" >/dev/null)
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/kernel"
cp "$work"/kernel/boot/vmlinuz-* "$cache/vmlinuz"

root="$work/initramfs"
mkdir -p "$root"/{bin,dev,proc,sys}
cp /bin/busybox "$root/bin/busybox"
for tool in sh mount cat echo sleep stty; do ln -s busybox "$root/bin/$tool"; done
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "RAYOS_TESTGUEST_READY" >/dev/ttyS0
# Keyboard input arrives on the VGA console; echo each line to the serial log.
while true; do
	if read -r line </dev/tty1; then
		echo "typed: $line" >/dev/ttyS0
	else
		sleep 1
	fi
done
INIT
chmod +x "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9) >"$cache/initrd.gz"
echo 2 >"$cache/version"
echo "$cache"

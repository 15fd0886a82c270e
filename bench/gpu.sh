#!/usr/bin/env bash
# bench/gpu.sh — the GPU checks in one run: which device, the kernel parity
# tests, the GPU benchmarks with their CPU baselines, a short table, and
# whole-world ticks on both backends (rayos bench --json).
#
# It runs unchanged here (Vulkan on Mesa's lavapipe) and on a machine with
# an NVIDIA GPU (H100/H200 class) that has neither Go nor a Vulkan loader:
#
#   bench/gpu.sh               build (when Go is here) and run
#   bench/gpu.sh --build-only  build the test and bench binaries into bin/gpu/
#                              and download the Debian packages of the Vulkan
#                              loader and libglvnd into bin/gpu/debs/; carry
#                              bin/gpu to the GPU machine and run
#                              bench/gpu.sh there, as root.
#
# A bare NVIDIA driver has its Vulkan ICD (libGLX_nvidia.so.0) but not the
# loader nor libglvnd, which the ICD links against: a loader copied alone
# fails with "Could not get 'vkCreateInstance' via
# 'vk_icdGetInstanceProcAddr'". When Vulkan does not open and one of those
# libraries is missing, the run unpacks the carried .debs into / (dpkg -x,
# then ldconfig; root only) and tries again. Asking for Vulkan and getting
# no device, or only a CPU device next to an NVIDIA GPU, stops the script
# with exit status 1 and the reason, rather than benchmarking the CPU twice.
#
# Environment: OUT (results folder, default bin/gpu-results), COUNT (bench
# repetitions, default 3), BENCHTIME (per benchmark, default 1s), SCENES
# (worlds for rayos bench, default "desktop stress datacenter"), TICKS (measured ticks
# per world, default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/gpu
OUT=${OUT:-bin/gpu-results}
COUNT=${COUNT:-3}
BENCHTIME=${BENCHTIME:-1s}
SCENES=${SCENES:-desktop stress datacenter}
TICKS=${TICKS:-100}
# What a bare NVIDIA machine lacks, from the Debian release this is built
# on (the binaries link against its glibc anyway), and the sonames that
# show whether they are installed.
DEBS=(libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2)
SONAMES=(libvulkan.so.1 libGLdispatch.so.0 libEGL.so.1 libGL.so.1 libGLX.so.0 libOpenGL.so.0 libGLESv2.so.2)
# Where the NVIDIA container toolkit puts the driver's ICD manifest.
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json

die() {
	echo "bench/gpu.sh: $*" >&2
	exit 1
}

# has_lib SONAME: the dynamic linker's cache knows it.
has_lib() { ldconfig -p 2>/dev/null | grep -q "[[:space:]]$1 "; }

gather_debs() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get is needed to download ${DEBS[*]} into $BIN/debs"
	rm -rf "$BIN/debs"
	mkdir -p "$BIN/debs"
	local opts=()
	# As root, apt hands the download to the _apt user, who may not reach
	# this tree; it then warns and downloads as root anyway.
	if [ "$(id -u)" = 0 ]; then opts=(-o APT::Sandbox::User=root); fi
	if ! (cd "$BIN/debs" && apt-get "${opts[@]}" download "${DEBS[@]}"); then
		die "apt-get download ${DEBS[*]} failed (try apt-get update first); a bare NVIDIA machine needs them"
	fi
}

build() {
	mkdir -p "$BIN/lib"
	go test -c -o "$BIN/gpu.test" ./gpu
	go test -c -o "$BIN/bench.test" ./bench
	go build -o "$BIN/rayos" ./cmd/rayos
	go build -o "$BIN/report" ./bench/report
	# A loader copied alone is what failed on the bare machine; the .debs
	# in $BIN/debs replace it.
	rm -f "$BIN/lib/libvulkan.so.1"
}

if [ "${1:-}" = --build-only ]; then
	build
	gather_debs
	debs=("$BIN"/debs/*.deb)
	echo "built $BIN (${#debs[@]} .debs in $BIN/debs): carry it to the GPU machine and run bench/gpu.sh there as root"
	exit 0
fi
if [ $# -gt 0 ]; then
	die "unknown argument $1 (want nothing or --build-only)"
fi
if command -v go >/dev/null 2>&1; then build; fi
if [ ! -x "$BIN/gpu.test" ] || [ ! -x "$BIN/rayos" ]; then
	die "no Go here and no prebuilt $BIN: run 'bench/gpu.sh --build-only' on a machine with Go and carry $BIN"
fi
mkdir -p "$OUT" "$BIN/lib"
OUT=$(cd "$OUT" && pwd)

# vulkan-go opens "libvulkan.so", which only the loader's -dev package
# provides: point a link in $BIN/lib at the loader (the system's, or the
# one unpacked from the .debs).
link_loader() {
	local loader
	if has_lib libvulkan.so; then return 0; fi
	loader=$(ldconfig -p 2>/dev/null | awk '$1 == "libvulkan.so.1" {print $NF; exit}')
	if [ -n "$loader" ]; then ln -sf "$loader" "$BIN/lib/libvulkan.so"; fi
	case ":${LD_LIBRARY_PATH:-}:" in
	*":$PWD/$BIN/lib:"*) ;;
	*) export LD_LIBRARY_PATH="$PWD/$BIN/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
	esac
}

# The NVIDIA driver's Vulkan ICD is libGLX_nvidia.so.0. Use its manifest
# (the toolkit's, else a system one) or write one when the driver is
# mounted without it, and show the loader only that driver, so that a Mesa
# device on the same machine cannot stand in for the GPU.
NVIDIA=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >"$OUT/nvidia-smi.txt" 2>&1 && grep -q '^GPU ' "$OUT/nvidia-smi.txt"; then
	NVIDIA=1
	cat "$OUT/nvidia-smi.txt"
	icd=
	for f in "$NVIDIA_ICD" /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json; do
		if [ -f "$f" ]; then
			icd=$f
			break
		fi
	done
	if [ -z "$icd" ]; then
		lib=libGLX_nvidia.so.0
		if ! has_lib "$lib"; then
			# Not in the linker's cache: name the file itself.
			lib=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib -maxdepth 2 -name libGLX_nvidia.so.0 2>/dev/null | head -n 1)
			[ -n "$lib" ] || die "an NVIDIA GPU is here but not its Vulkan driver (libGLX_nvidia.so.0, nor an nvidia_icd.json): mount the driver's graphics libraries"
		fi
		icd=$OUT/nvidia_icd.json
		printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" >"$icd"
		echo "wrote $icd (library $lib)"
	fi
	export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
	echo "Vulkan driver: $icd"
fi

# probe boots one tick on Vulkan and keeps the device marker; rayos exits
# non-zero, saying why, when no device opens.
probe() {
	local data
	data=$(mktemp -d "$OUT/probe.XXXXXX")
	if "$BIN/rayos" boot --gpu vulkan --ticks 1 --hz 1000 --data "$data" --log-level warn >"$OUT/probe.out" 2>"$OUT/probe.err"; then
		rm -rf "$data"
		grep '^RAYOS_BOOT:gpu:' "$OUT/probe.out" >"$OUT/device.txt"
		return 0
	fi
	rm -rf "$data"
	return 1
}

link_loader
echo "== device"
if ! probe; then
	missing=()
	for so in "${SONAMES[@]}"; do has_lib "$so" || missing+=("$so"); done
	[ ${#missing[@]} -gt 0 ] || die "Vulkan did not open, and the loader and libglvnd are installed: $(cat "$OUT/probe.err")"
	ls "$BIN"/debs/*.deb >/dev/null 2>&1 || die "Vulkan did not open and ${missing[*]} are missing; $BIN/debs has no .debs: run 'bench/gpu.sh --build-only' on the machine with Go and carry $BIN"
	if [ "$(id -u)" != 0 ]; then
		die "Vulkan did not open and ${missing[*]} are missing. Install the carried packages as root and run this again:
  sudo sh -c 'for d in $PWD/$BIN/debs/*.deb; do dpkg -x \"\$d\" /; done; ldconfig'
(or run bench/gpu.sh as root, which does that). rayos said: $(cat "$OUT/probe.err")"
	fi
	command -v dpkg >/dev/null 2>&1 || die "Vulkan did not open and ${missing[*]} are missing; dpkg is needed to unpack $BIN/debs"
	echo "Vulkan did not open (${missing[*]} missing): unpacking $BIN/debs into /"
	for d in "$BIN"/debs/*.deb; do
		echo "  $(basename "$d")"
		dpkg -x "$d" /
	done
	ldconfig
	link_loader
	probe || die "Vulkan still does not open after unpacking $BIN/debs: $(cat "$OUT/probe.err")"
fi
cat "$OUT/device.txt"
if [ "$NVIDIA" = 1 ] && grep -q ' type=cpu ' "$OUT/device.txt"; then
	die "an NVIDIA GPU is here but Vulkan opened a CPU device, not the driver of $VK_DRIVER_FILES: is that the NVIDIA ICD?"
fi

echo "== parity (every kernel on the CPU twin and on Vulkan, random inputs)"
(cd gpu && "../$BIN/gpu.test" -test.count=1 -test.run 'Matches|GridStride|Column|Mirror|Example' -test.v 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok)' | grep -v '=== RUN') | tee "$OUT/parity.txt"

echo "== benchmarks (count $COUNT, $BENCHTIME each)"
"$BIN/bench.test" -test.run '^$' -test.bench 'Kernel|Compositor|Submit|Upload|MirrorSync' -test.benchmem \
	-test.count "$COUNT" -test.benchtime "$BENCHTIME" | tee "$OUT/bench.txt"

echo "== table (median; × baseline: the CPU twin for kernels, copy for uploads)"
"$BIN/report" <"$OUT/bench.txt" | tee "$OUT/table.md"

# summary prints a world's tick and traffic from its JSON report (one
# line, fields in a fixed order: README.md, "rayos bench"), without jq.
summary() {
	sed -E 's/.*"backend":"([^"]*)".*"tick_ns":\{"p50":([0-9]+),"p99":([0-9]+),"max":([0-9]+)\}.*"bytes_per_tick":\{"uploaded":([0-9.e+]+),.*"read_back":([0-9.e+]+),.*/\1: tick p50 \2 ns, p99 \3 ns, max \4 ns; \5 bytes uploaded, \6 read back per tick/' "$1"
}

echo "== worlds ($TICKS ticks each; reports in $OUT/world-SCENE-BACKEND.json)"
for scene in $SCENES; do
	for backend in cpu vulkan; do
		"$BIN/rayos" bench --scene "$scene" --gpu "$backend" --ticks "$TICKS" --json >"$OUT/world-$scene-$backend.json"
		echo "$scene $(summary "$OUT/world-$scene-$backend.json")"
	done
done | tee "$OUT/worlds.txt"

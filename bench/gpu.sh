#!/usr/bin/env bash
# bench/gpu.sh — the GPU checks in one run: which device, the kernel parity
# tests, the GPU benchmarks with their CPU baselines, and a short table.
#
# It runs unchanged here (Vulkan on Mesa's lavapipe) and on a machine with
# an NVIDIA GPU (H100/H200 class):
#
#   bench/gpu.sh               build (needs Go) and run
#   bench/gpu.sh --build-only  build the test and bench binaries into bin/gpu/
#                              (with a copy of this machine's Vulkan loader),
#                              for a GPU machine that has no Go: carry bin/gpu
#                              there and run bench/gpu.sh without Go.
#
# Environment: OUT (results folder, default bin/gpu-results), COUNT (bench
# repetitions, default 3), BENCHTIME (per benchmark, default 1s).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/gpu
OUT=${OUT:-bin/gpu-results}
COUNT=${COUNT:-3}
BENCHTIME=${BENCHTIME:-1s}

build() {
	mkdir -p "$BIN/lib"
	go test -c -o "$BIN/gpu.test" ./gpu
	go test -c -o "$BIN/bench.test" ./bench
	go build -o "$BIN/rayos" ./cmd/rayos
	go build -o "$BIN/report" ./bench/report
	# A bare GPU machine may have the NVIDIA driver but no Vulkan loader.
	loader=$(ldconfig -p 2>/dev/null | awk '/libvulkan\.so\.1 /{print $NF; exit}')
	if [ -n "$loader" ]; then cp -L "$loader" "$BIN/lib/libvulkan.so.1"; fi
}

if [ "${1:-}" = --build-only ]; then
	build
	echo "built $BIN: carry it to the GPU machine and run bench/gpu.sh there"
	exit 0
fi
if command -v go >/dev/null 2>&1; then build; fi
if [ ! -x "$BIN/gpu.test" ]; then
	echo "bench/gpu.sh: no Go here and no prebuilt $BIN: run 'bench/gpu.sh --build-only' on a machine with Go and carry $BIN" >&2
	exit 1
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# vulkan-go opens "libvulkan.so". Use the system's loader if it has one,
# else the loader carried in $BIN/lib.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so '; then
	sys=$(ldconfig -p 2>/dev/null | awk '/libvulkan\.so\.1 /{print $NF; exit}')
	if [ -n "$sys" ]; then ln -sf "$sys" "$BIN/lib/libvulkan.so"; else ln -sf libvulkan.so.1 "$BIN/lib/libvulkan.so"; fi
	export LD_LIBRARY_PATH="$(pwd)/$BIN/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The NVIDIA driver's Vulkan ICD is libGLX_nvidia.so.0; containers that
# mount the driver without its ICD manifest need one written.
if command -v nvidia-smi >/dev/null 2>&1; then
	nvidia-smi -L || true
	if ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
		if ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0; then
			printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}\n' >"$OUT/nvidia_icd.json"
			export VK_ICD_FILENAMES="$OUT/nvidia_icd.json"
			echo "wrote $OUT/nvidia_icd.json"
		fi
	fi
fi

echo "== device"
"$BIN/rayos" boot --gpu vulkan --ticks 1 --data "$OUT/data" --log-level warn | grep '^RAYOS_BOOT:gpu:' | tee "$OUT/device.txt"

echo "== parity (every kernel on the CPU twin and on Vulkan, random inputs)"
(cd gpu && "../$BIN/gpu.test" -test.count=1 -test.run 'Matches|GridStride|Column|Mirror|Example' -test.v 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok)' | grep -v '=== RUN') | tee "$OUT/parity.txt"

echo "== benchmarks (count $COUNT, $BENCHTIME each)"
"$BIN/bench.test" -test.run '^$' -test.bench 'Kernel|Submit|Upload|MirrorSync' -test.benchmem \
	-test.count "$COUNT" -test.benchtime "$BENCHTIME" | tee "$OUT/bench.txt"

echo "== table (median; × baseline: the CPU twin for kernels, copy for uploads)"
"$BIN/report" <"$OUT/bench.txt" | tee "$OUT/table.md"

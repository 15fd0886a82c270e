# RayOS engine. `make run` boots the demo world; `make test` installs what the
# tests need and runs vet, the format check and every test.

# Every recipe line runs under bash with -e and pipefail: a step that fails
# fails the target, also when its output is piped (into tee, for bench).
# /bin/sh would report only the last command of a pipeline, so a failing
# benchmark piped into tee used to pass.
SHELL       := bash
.SHELLFLAGS := -eo pipefail -c

GO      ?= go
BIN     := bin/rayos
PKGS    := ./...

.PHONY: all build run demo test vet fmt-check deps bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/rayos

# The main job on the embedded default: the demo world, ticking at 60 Hz
# until Ctrl-C.
run: build
	./$(BIN) boot

# A real Linux guest on screen in the debug viewer, in one command: builds
# the tiny test guest if it is missing, starts a private libvirtd, boots
# RayOS attached to it with the viewer on 127.0.0.1:7777 and prints the
# URL. Needs root and what `make deps` installs.
demo: deps build
	$(GO) run ./tests/demo -rayos $(BIN)

# Debian packages the tests need: the Vulkan loader and headers, Mesa's
# lavapipe (Vulkan on the CPU) and glslc (the SPIR-V freshness check);
# libvirt's daemon with its QEMU driver, QEMU and busybox (private libvirtd
# and the tiny test guest); Chromium (the viewer's tests in a real headless
# browser, tests/viewer_browser_test.go); mtools, dosfstools, gdisk,
# e2fsprogs, systemd-boot and a kernel (rayos image build, tests/image_test.go);
# OVMF, the UEFI firmware rayos image boot runs the image on (tests/imageboot_test.go).
APT_PACKAGES := libvulkan-dev mesa-vulkan-drivers glslc \
	libvirt-daemon libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 busybox-static \
	chromium \
	mtools dosfstools gdisk e2fsprogs systemd-boot-efi linux-image-amd64 ovmf

# deps installs what the tests need that Go modules do not bring, only
# when it is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# libvirt's QEMU driver will not initialise without this user (a normal
	@# install's postinst creates it).
	@id libvirt-qemu >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; $$sudo useradd -r -U -s /usr/sbin/nologin libvirt-qemu; }

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# -count=1: tests/ builds the binary itself, which Go's test cache cannot
# see. -timeout 20m: tests/ boots real machines (libvirt guests, the disk
# image in QEMU under software emulation) and takes about 4 minutes here;
# Go's default of 10 minutes per package leaves too little room on a
# slower CI machine. The gpu tests run once more with cgocheck2, which
# catches Go pointers left in C memory by the Vulkan binding.
test: deps vet fmt-check
	$(GO) test -count=1 -timeout 20m $(PKGS)
	GOEXPERIMENT=cgocheck2 $(GO) test -count=1 ./gpu/
	$(MAKE) fuzz

# Each fuzz target for a bounded time on top of its committed corpus
# (testdata/fuzz, replayed by every plain `go test` too).
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoadPolicy$$' -fuzztime $(FUZZTIME) ./systems/policy/
	$(GO) test -run '^$$' -fuzz '^FuzzParseBootInfo$$' -fuzztime $(FUZZTIME) ./boot/
	$(GO) test -run '^$$' -fuzz '^FuzzReadJournal$$' -fuzztime $(FUZZTIME) ./world/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./world/marker/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./boot/evdev/
	$(GO) test -run '^$$' -fuzz '^FuzzVarStore$$' -fuzztime $(FUZZTIME) ./boot/image/
	$(GO) test -run '^$$' -fuzz '^FuzzReadGPT$$' -fuzztime $(FUZZTIME) ./boot/pid1/
	$(GO) test -run '^$$' -fuzz '^FuzzParseEFIGUIDVar$$' -fuzztime $(FUZZTIME) ./boot/pid1/

# Benchmarks with their hand-written baselines, run side by side; the
# report prints medians and ratios to the baseline (bench/RESULTS.md).
# The GPU figures come from bench/gpu.sh; the control-plane benchmarks run
# once each (they measure 1,000 requests, and a 30 s load, per run).
# A failing benchmark fails the target; the report also refuses to print a
# table when one of BENCH_REQUIRE (the rows RESULTS.md and the README
# quote) has no result.
BENCH_COUNT ?= 5
BENCH_REQUIRE := AttentionDecay/ecs,AttentionDecay/ecs-entity-by-entity,AttentionDecay/slice,AttentionDecay/slice-per-field,EmptyTick,DemoTick,Decide/compiled,Decide/interpreted,ControlLatency/present,ControlLatency/start,ControlLoad
bench: deps
	@mkdir -p bin
	$(GO) test -run '^$$' -bench '^Benchmark(AttentionDecay|EmptyTick|DemoTick|Decide)$$' -benchmem -count $(BENCH_COUNT) ./bench/ ./systems/policy/ | tee bin/bench.txt
	$(GO) test -run '^$$' -bench '^BenchmarkControl' -benchtime 1x ./bench/ | tee -a bin/bench.txt
	$(GO) run ./bench/report -require '$(BENCH_REQUIRE)' < bin/bench.txt

clean:
	rm -rf bin rayos-data

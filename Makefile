# RayOS engine. `make run` boots the demo world; `make test` installs what the
# tests need and runs vet, the format check and every test.
GO      ?= go
BIN     := bin/rayos
PKGS    := ./...

.PHONY: all build run test vet fmt-check deps bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/rayos

# The main job on the embedded default: the demo world, ticking at 60 Hz
# until Ctrl-C.
run: build
	./$(BIN) boot

# deps installs what the tests need that Go modules do not bring.
deps:
	@true

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: deps vet fmt-check
	$(GO) test -count=1 $(PKGS)

# Benchmarks with their hand-written baselines, run side by side; the
# report prints medians and ratios to the baseline (bench/RESULTS.md).
BENCH_COUNT ?= 5
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) ./bench/ | tee bin/bench.txt
	$(GO) run ./bench/report < bin/bench.txt

clean:
	rm -rf bin rayos-data

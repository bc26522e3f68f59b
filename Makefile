# The two commands a new user needs are `make run` and `make test`; the rest serve them.
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
RELEASE_BUILD_DIR ?= build-release
FUZZ_BUILD_DIR ?= build-fuzz
CONFIG ?= config/greendot.dev.toml
FUZZ_SECONDS ?= 30

.PHONY: run build build-release deps-build deps-test test unit-test integration-test browser-test \
  test-release \
  test-sanitize fuzz format clean

# Installs what is missing, builds, and starts greendot with the development app.
run: deps-build build
	./$(BUILD_DIR)/greendot --config $(CONFIG)

deps-build:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD_DIR)

# Installs what is missing, builds, and runs every test: unit tests, then the integration
# tests that drive the real binary with the real npm clients, then the browser tests that drive
# Chromium against it (greendot.js, the demo, the dashboard; one of them takes about 7 minutes).
test: deps-test build
	$(MAKE) --no-print-directory unit-test integration-test browser-test

unit-test:
	ctest --test-dir $(BUILD_DIR) --output-on-failure

integration-test:
	cd tests/integration && GREENDOT_BIN=$(abspath $(BUILD_DIR))/greendot npm test

# Screenshots of the demo and the dashboard land in tests/browser/screenshots/.
browser-test:
	cd tests/browser && GREENDOT_BIN=$(abspath $(BUILD_DIR))/greendot npm test

# A Release build (-O3), where GCC's optimiser reports warnings that the other builds do not
# (errors under -Werror), and the unit tests on it.
build-release:
	cmake -S . -B $(RELEASE_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(RELEASE_BUILD_DIR)

test-release: deps-test build-release
	$(MAKE) --no-print-directory unit-test BUILD_DIR=$(RELEASE_BUILD_DIR)

# The same tests against a build with AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps-test
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGREENDOT_SANITIZE=ON
	cmake --build $(ASAN_BUILD_DIR)
	$(MAKE) --no-print-directory unit-test integration-test BUILD_DIR=$(ASAN_BUILD_DIR)

# Builds the libFuzzer targets with clang, checks that each one's committed seeds
# (fuzz/corpus/<target>/) reach its parsers, and fuzzes each for FUZZ_SECONDS on a copy of
# them in $(FUZZ_BUILD_DIR)/corpus/ (scripts/run-fuzz.sh).
fuzz: deps-test
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGREENDOT_FUZZ=ON -DGREENDOT_TESTS=OFF -DGREENDOT_BENCH=OFF -DGREENDOT_SANITIZE=ON
	cmake --build $(FUZZ_BUILD_DIR) --target $(notdir $(basename $(wildcard fuzz/*_fuzz.cpp)))
	scripts/run-fuzz.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(RELEASE_BUILD_DIR) $(FUZZ_BUILD_DIR)

# Benchmarks (bench/README.md): every scenario of issue #3, figures as JSON lines and a summary.
BENCH_BUILD_DIR ?= build-bench
.PHONY: bench bench-quick bench-build
bench-build:
	cmake -S . -B $(BENCH_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGREENDOT_TESTS=OFF
	cmake --build $(BENCH_BUILD_DIR) --target greendot greendot-loadgen greendot-send-floor

bench: bench-build
	BUILD_DIR=$(abspath $(BENCH_BUILD_DIR)) bench/run.sh full

bench-quick: bench-build
	BUILD_DIR=$(abspath $(BENCH_BUILD_DIR)) bench/run.sh quick

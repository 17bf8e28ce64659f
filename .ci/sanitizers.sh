#!/usr/bin/env bash
# The checks CI runs on top of the README's test command (.ci/run calls each
# phase inside its clean root; run it by hand from the checkout the same way):
#
#   .ci/sanitizers.sh asan   ASan + UBSan build (build-asan), the whole suite
#   .ci/sanitizers.sh tsan   TSan build (build-tsan), the scheduler, store and
#                            concurrent-CLI tests (the code that shares state
#                            between threads and processes)
#   .ci/sanitizers.sh fuzz [SECONDS]
#                            clang + libFuzzer build (build-fuzz) of the grid
#                            loader's fuzz target, run for SECONDS (default 120)
#                            from the committed grids; any crash, hang,
#                            sanitizer report or unlocated error fails
#
# Needs what scripts/setup.sh installs, plus clang, libclang-rt-14-dev and
# libomp-dev for `fuzz` (.ci/run installs them; users never need them). The GPU
# backend is left out of these builds: CI has no GPU, and its module is built
# and checked apart.
set -euo pipefail
cd "$(dirname "$0")/.."
phase="${1:-}"
jobs="$(nproc)"
export SWEEP_DATA_DIR="$PWD/data"

# configure DIR CMAKE_ARGS...: a build folder with -O1 -g1. Sanitizer reports
# want frames with file:line, which -g1 (line tables) gives at a fifth less
# compile time than -g. CMAKE_UNITY_BUILD compiles sweep_core's sources in
# batches of 8, each batch one translation unit: the json/fmt/CLI11 templates
# are instantiated, instrumented and optimised once per batch instead of once
# per file. Measured on 2 cores: the ASan build's summed compile time fell
# from 1,967 s to 613 s (-g1 and unity together), the TSan phase from 390 s to
# 206 s, the fuzz build from 352 s to about 105 s (CI must stay under 30 min).
# It also means two file-local helpers of one name in one batch collide: give
# them one shared definition. The README's own build (scripts/setup.sh) stays
# file by file, so a missing #include that a batch would hide still fails there.
configure() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -g1" -DCMAKE_CXX_FLAGS="-O1 -g1" \
        -DCMAKE_UNITY_BUILD=ON -DSWEEP_GPU=OFF -DSWEEP_WERROR=ON "$@" >/dev/null
}

case "$phase" in
  asan)
    configure build-asan -DSWEEP_SANITIZE=ON
    ninja -C build-asan -j "$jobs"
    # halt_on_error: the first report fails the test that caused it.
    (cd build-asan && ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       ctest --output-on-failure -j 2 --timeout 900)
    ;;
  tsan)
    configure build-tsan -DSWEEP_TSAN=ON
    tests=(test_schedule_sweep test_schedule_binary test_schedule_plan test_store_db test_store_owner test_cli_concurrent)
    ninja -C build-tsan -j "$jobs" sweep "${tests[@]}"
    # The system oneTBB is not built with TSan: tests/tsan.supp says why.
    (cd build-tsan && TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../tests/tsan.supp" \
       ctest --output-on-failure -j 2 --timeout 900 -R "^($(IFS='|'; echo "${tests[*]}"))\$")
    ;;
  fuzz)
    seconds="${2:-120}"
    CC=clang CXX=clang++ configure build-fuzz -DSWEEP_SANITIZE=ON -DSWEEP_FUZZ=ON
    ninja -C build-fuzz -j "$jobs" fuzz_grid
    corpus=build-fuzz/fuzz-corpus
    rm -rf "$corpus" && mkdir -p "$corpus"
    find sweeps -name '*.yaml' -exec cp {} "$corpus/" \;
    cp tests/fuzz/regressions/* "$corpus/" 2>/dev/null || true
    # One process, a fixed time; -timeout: one input taking over 10 s is a hang.
    # A crashing input is left as build-fuzz/crash-*: copy it into
    # tests/fuzz/regressions/ so test_grid_fuzz_corpus replays it for good.
    (cd build-fuzz && tests/fuzz_grid -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
       -print_final_stats=1 "fuzz-corpus")
    ;;
  *)
    echo "usage: .ci/sanitizers.sh asan | tsan | fuzz [SECONDS]" >&2
    exit 2
    ;;
esac

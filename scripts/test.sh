#!/usr/bin/env bash
# Run sweep's test suite (builds first if needed). Tests that need a GPU skip
# themselves, and say so, on machines without one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C build -j "$(nproc)"
cd build && ctest --output-on-failure -j 2

#!/usr/bin/env bash
# Set up sweep on Debian 12: install the packages, build build/sweep, and (unless
# --no-demo) run a real sweep on the bundled MNIST into results.db.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=0 ;;
    *) echo "usage: scripts/setup.sh [--no-demo]" >&2; exit 2 ;;
  esac
done

# ocl-icd-opencl-dev: libdnnl-dev only *recommends* it, but oneDNN's CMake config
# (dnnl-config.cmake) calls find_package(OpenCL) and fails without it, and we
# install with --no-install-recommends.
packages=(build-essential cmake ninja-build pkg-config libdnnl-dev ocl-icd-opencl-dev libtbb-dev
          libsqlite3-dev libyaml-cpp-dev doctest-dev libcli11-dev libfmt-dev nlohmann-json3-dev
          zlib1g-dev sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo to install: ${missing[*]}" >&2; exit 2; }
    sudo="sudo"
  fi
  # apt's and dpkg's own output goes to a log, shown only when they fail.
  log=$(mktemp /tmp/sweep-setup-apt.XXXXXX.log)
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]} (log: $log)"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
           --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -30 "$log" >&2
    echo "setup: apt-get failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C build -j "$(nproc)"

if ((demo)); then
  # A real study on the bundled MNIST (sweeps/examples/quick.yaml): learning rate
  # x activation, 6 runs of 2 epochs on the full training set, into results.db.
  # Run again, it finds them done and only prints the table and the report.
  ./build/sweep run sweeps/examples/quick.yaml --db results.db
  echo
  ./build/sweep query results.db "SELECT learning_rate, activation, ROUND(test_accuracy, 4) AS test_accuracy,
      ROUND(test_loss, 4) AS test_loss, ROUND(wall_seconds, 1) AS seconds
    FROM results WHERE sweep = 'quick' ORDER BY test_accuracy DESC"
  ./build/sweep report results.db --sweep quick -o report.md
  echo
  echo "setup: done. The report is $(pwd)/report.md (figures in report_files/);"
  echo "       every epoch of every run is in results.db: build/sweep query results.db \"SELECT * FROM epochs\""
fi

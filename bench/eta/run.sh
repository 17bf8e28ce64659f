#!/usr/bin/env bash
# bench/eta/run.sh [GRID...]: the cost model's estimates against the truth
# (issue #13). For each grid, in a fresh folder:
#   sweep plan GRID        measures each distinct network's steps (cached in the
#                          database) and prints every run's estimate and the ETA
#   sweep run GRID --plain trains it; the log has the ETA on every epoch and
#                          every finished run, each line timed as it arrives
#                          (timed_run.py)
# then bench/eta/compare.py prints, per grid: each run's estimate (runs.
# cost_estimate, the scheduler's, from the same cached measurements) against
# its wall time, the plan's ETA against the sweep's wall time, and the live
# ETA's error against the time that was really left, once 10% of the sweep's
# time had passed.
# Targets: per run within +-20%, the plan's ETA within +-15%, the live ETA
# within +-10% once 10% is done. Run it on an otherwise idle machine: other
# load changes the truth, not the estimates.
#
# Default grids: the five write-up grids and the examples (about 1.5 hours on
# 2 cores). SWEEP=path/to/sweep (default build/sweep), WORK=output folder
# (default a new one under /tmp, kept: its path is printed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
SWEEP=${SWEEP:-$repo/build/sweep}
WORK=${WORK:-$(mktemp -d /tmp/sweep_eta.XXXXXX)}
export SWEEP_DATA_DIR=${SWEEP_DATA_DIR:-$repo/data}
if [ $# -eq 0 ]; then
  set -- "$repo"/sweeps/0*.yaml "$repo"/sweeps/examples/*.yaml
fi
echo "bench/eta: $# grid(s), output in $WORK ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
dirs=()
for grid in "$@"; do
  grid=$(cd "$(dirname "$grid")" && pwd)/$(basename "$grid")
  dir="$WORK/$(basename "$grid" .yaml)"
  rm -rf "$dir" && mkdir -p "$dir"
  dirs+=("$dir")
  (
    cd "$dir"
    plan_start=$(date +%s.%N)
    "$SWEEP" plan "$grid" > plan.txt 2> plan.err
    plan_end=$(date +%s.%N)
    wall=$(python3 "$here/timed_run.py" run.log "$SWEEP" run "$grid" --plain)
    echo "$plan_start $plan_end $wall" > times.txt
  )
  echo "  $(basename "$grid"): done"
done
python3 "$here/compare.py" "${dirs[@]}"

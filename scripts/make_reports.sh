#!/usr/bin/env bash
# Run the five write-up sweeps (sweeps/0*.yaml) and write their reports:
#   reports/<name>.db   the results database (gitignored)
#   reports/<name>.md   the report, with its figures in reports/<name>_files/
# Usage: scripts/make_reports.sh [GRID_NAME_OR_FILE ...]   (default: all five)
# Environment: SWEEP (the sweep binary; default build/sweep), SWEEP_DATA_DIR
# (default: the bundled data/, which holds mnist/ and fashion-mnist/),
# SWEEP_BACKEND (default auto), SWEEP_JOBS (default 0 = automatic).
# A sweep that is interrupted can be resumed by running this again: finished
# runs are kept in the database and skipped. Runs that fail are listed in the
# report; only bad input (exit code 2) stops the script.
set -uo pipefail
cd "$(dirname "$0")/.."

sweep_bin="${SWEEP:-build/sweep}"
if [ ! -x "$sweep_bin" ]; then
  echo "make_reports: $sweep_bin not found; build it first (cmake -S . -B build -G Ninja && ninja -C build sweep)" >&2
  exit 2
fi
backend="${SWEEP_BACKEND:-auto}"
jobs="${SWEEP_JOBS:-0}"

grids=()
if [ "$#" -eq 0 ]; then
  grids=(sweeps/0*.yaml)
else
  for g in "$@"; do
    if [ -f "$g" ]; then grids+=("$g"); else grids+=("sweeps/${g%.yaml}.yaml"); fi
  done
fi

mkdir -p reports
status=0
for grid in "${grids[@]}"; do
  if [ ! -f "$grid" ]; then
    echo "make_reports: no grid $grid" >&2
    status=2
    continue
  fi
  name="$(basename "$grid" .yaml)"
  echo "== $name: sweep run $grid --db reports/$name.db (data: ${SWEEP_DATA_DIR:-bundled data/})"
  start=$(date +%s)
  "$sweep_bin" run "$grid" --db "reports/$name.db" --backend "$backend" --jobs "$jobs" --plain
  rc=$?
  if [ "$rc" -eq 2 ]; then
    echo "make_reports: $grid was refused (bad input); no report for it" >&2
    status=2
    continue
  fi
  [ "$rc" -ne 0 ] && echo "make_reports: some runs of $name did not finish (exit $rc); the report lists them" >&2
  # Write-ups 002 and 003 show a confusion matrix for every model they compare.
  confusion=best
  case "$name" in 002_*|003_*) confusion=all ;; esac
  if "$sweep_bin" report "reports/$name.db" --sweep "$name" -o "reports/$name.md" --confusion "$confusion"; then
    echo "== $name: reports/$name.md written in $(( $(date +%s) - start )) s"
  else
    status=1
  fi
done
exit "$status"

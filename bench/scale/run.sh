#!/usr/bin/env bash
# bench/scale/run.sh [N] [RUN_N]: how sweep holds up on a big grid.
#
# Builds a grid of N tiny cells (bench/scale/make_grid.py: 64 training and 64
# test images, one epoch of one batch, an MLP with a few hidden units, so a
# run trains in about a millisecond and what is measured is sweep's own cost
# per run) and prints the wall time and peak RSS (/usr/bin/time -v) of:
#   sweep plan      of the N-cell grid
#   sweep run       of a RUN_N-cell grid (default N) into a fresh database
#   sweep run       again on the finished grid ("nothing to train")
#   sweep report    of that database (and its line count), also --confusion all
#   sweep query     of 10^6 rows as csv, json and table (the epochs table
#                   cross-joined with a counter: no 10^6-run training needed)
# Targets (issue 18): plan and run of 100,000 cells under 300 MB, the rerun of
# a finished 100,000-run grid under 2 s, the report under ~2,000 lines, the
# query in bounded memory.
#
# SWEEP=path/to/sweep (default build/sweep), WORK=folder for the grids,
# database and outputs (default a new one under /tmp, kept: its path is
# printed). Nothing here is part of ctest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${1:-100000}
RUN_N=${2:-$N}
SWEEP=${SWEEP:-$repo/build/sweep}
WORK=${WORK:-$(mktemp -d /tmp/sweep_scale.XXXXXX)}
export SWEEP_DATA_DIR=${SWEEP_DATA_DIR:-$repo/data}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
ROWS=1000000

if [[ ! -x /usr/bin/time ]]; then
  echo "bench/scale/run.sh needs GNU time (/usr/bin/time): apt-get install time" >&2
  exit 2
fi
if [[ ! -x $SWEEP ]]; then
  echo "no sweep binary at $SWEEP (build it, or set SWEEP=...)" >&2
  exit 2
fi
mkdir -p "$WORK"
cd "$WORK"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cores=$(getconf _NPROCESSORS_ONLN)  # not nproc: it answers OMP_NUM_THREADS
echo "sweep scale benchmark: $("$SWEEP" --version), $cores cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GB"
echo "plan at N = $N cells; run, rerun, report and query at $RUN_N cells; work folder $WORK"
if [[ $RUN_N != "$N" ]]; then
  echo "note: sweep run is measured at $RUN_N cells, not $N (the second argument), to keep the benchmark short"
fi
echo

results=()
# measure LABEL CELLS COMMAND...: runs it under /usr/bin/time -v, stdout to LABEL.out.
measure() {
  local label=$1 cells=$2
  shift 2
  local rc=0
  /usr/bin/time -v -o "$label.time" "$@" > "$label.out" 2> "$label.err" || rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.2f", s}' "$label.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$label.time")
  results+=("$(printf '%-28s %8s %10s %12s' "$label" "$cells" "$wall" "$rss")")
  printf '%-28s %8s  %8s s  %9s MB peak RSS  (exit %d)\n' "$label" "$cells" "$wall" "$rss" "$rc"
  if [[ $rc -ne 0 ]]; then
    echo "  $label failed (exit $rc): $(tail -3 "$label.err")" >&2
    return 1
  fi
}

python3 "$here/make_grid.py" "$N" "scale_$N" > "grid_$N.yaml"
python3 "$here/make_grid.py" "$RUN_N" "scale_$RUN_N" > "grid_$RUN_N.yaml"

measure plan "$N" "$SWEEP" plan "grid_$N.yaml"
echo "  $(tail -1 plan.out)"

rm -rf results.db results.db-wal results.db-shm results.db.d
# --checkpoints none: this measures the orchestration; at 100,000 runs the
# kept models (and their Adam moments) would take tens of GB (sweep plan says
# how much), which is not what a grid this size is for.
measure run "$RUN_N" "$SWEEP" run "grid_$RUN_N.yaml" --db results.db --quiet --checkpoints none
echo "  $(tail -1 run.out)"
measure rerun "$RUN_N" "$SWEEP" run "grid_$RUN_N.yaml" --db results.db --quiet --checkpoints none
echo "  $(tail -1 rerun.out)"

measure report "$RUN_N" "$SWEEP" report results.db -o report.md
echo "  report.md: $(wc -l < report.md) lines, $(wc -c < report.md) bytes, $(ls report_files | wc -l) figures"
measure report_confusion_all "$RUN_N" "$SWEEP" report results.db -o report_all.md --confusion all
echo "  report_all.md: $(wc -l < report_all.md) lines, $(ls report_all_files | wc -l) figures"

epochs=$("$SWEEP" query results.db "SELECT COUNT(*) FROM epochs" --format csv | tail -1 | tr -d '\r')
copies=$(( (ROWS + epochs - 1) / epochs ))
sql="WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $copies)
SELECT k.i AS copy, e.run_id, e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy, e.seconds, e.images_per_sec
FROM k CROSS JOIN epochs e LIMIT $ROWS"
echo "query: $ROWS rows = the $epochs epoch rows x $copies copies"
for format in csv json table; do
  measure "query_${format}" "$ROWS" "$SWEEP" query results.db "$sql" --format "$format"
  echo "  $(wc -c < "query_${format}.out") bytes, $(wc -l < "query_${format}.out") lines"
  rm "query_${format}.out"  # up to 250 MB each
done

echo
echo "summary ($cores cores, $cpu)"
printf '%-28s %8s %10s %12s\n' "step" "cells/rows" "wall s" "peak RSS MB"
printf '%s\n' "${results[@]}"

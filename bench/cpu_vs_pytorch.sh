#!/usr/bin/env bash
# One epoch of write-up 000's network on full MNIST (54,000 fit images, batch
# 64, Adam, 2 threads) with sweep's CPU backend (fp32 and bf16) and with
# PyTorch (Debian's python3-torch on the OpenMP OpenBLAS, its faster memory
# format) in the same run; prints images/s for each and the ratios.
# Usage: bench/cpu_vs_pytorch.sh [build-dir] [--limit N] [--rounds N] [--profile]
# Run it on a quiet machine (uptime load < 0.5): the figures are wall-clock.
# --rounds (default 3) repeats the whole comparison and reports medians.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
build="${1:-$repo/build}"
shift || true
limit=0
rounds=3
profile=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --limit) limit="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --profile) profile="--profile"; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
threads=2
data="${SWEEP_DATA_DIR:-$repo/data}"
bench="$build/bench/bench_train"
[[ -x "$bench" ]] || { echo "build bench_train first: ninja -C $build bench_train" >&2; exit 2; }

blas="$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   system BLAS: ${blas:-unknown}"
[[ "$blas" == *openblas-openmp* ]] || echo "warning: the system BLAS is not the OpenMP OpenBLAS (see update-alternatives)" >&2

unset OMP_NUM_THREADS
run_sweep() { "$bench" --data-dir "$data" --threads "$threads" --limit "$limit" --precision "$1" $profile; }
ips() { sed -n 's/.*images_per_sec=\([0-9.]*\).*/\1/p' | head -1; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Rounds alternate sweep and PyTorch, so a neighbour's load on a shared VM
# falls on both sides of each round's ratio; the summary takes medians.
f32s=() b16s=() torches=() ratios=() ratios16=()
for ((round = 1; round <= rounds; ++round)); do
  echo "--- round $round of $rounds"
  sweep_fp32="$(run_sweep fp32)"; echo "$sweep_fp32"
  sweep_bf16="$(run_sweep bf16 || true)"; echo "$sweep_bf16"
  torch_out="$(/usr/bin/python3 "$here/pytorch_bench.py" --data-dir "$data" --threads "$threads" --limit "$limit")"
  echo "$torch_out"
  f32="$(echo "$sweep_fp32" | ips)"
  b16="$(echo "$sweep_bf16" | ips)"
  best_line="$(echo "$torch_out" | awk -F'images_per_sec=' '{split($2,a," "); if (a[1] > best) {best=a[1]; line=$0}} END {print line}')"
  torch="$(echo "$best_line" | ips)"
  format="$(echo "$best_line" | sed -n 's/.*format=\([a-z_]*\).*/\1/p')"
  ratio="$(awk -v a="$f32" -v b="$torch" 'BEGIN {printf "%.2f", a / b}')"
  printf 'round %d: sweep fp32 %.1f, pytorch %.1f (%s): %sx\n' "$round" "$f32" "$torch" "$format" "$ratio"
  f32s+=("$f32") torches+=("$torch") ratios+=("$ratio")
  if [[ -n "$b16" ]]; then
    b16s+=("$b16")
    ratios16+=("$(awk -v a="$b16" -v b="$torch" 'BEGIN {printf "%.2f", a / b}')")
  fi
done

list() { local IFS=/; echo "$*"; }
echo "=== median of $rounds rounds (each round's figures in order)"
printf 'sweep fp32: %8.1f images/s   (%s)\n' "$(printf '%s\n' "${f32s[@]}" | median)" "$(list "${f32s[@]}")"
[[ ${#b16s[@]} -gt 0 ]] && printf 'sweep bf16: %8.1f images/s   (%s)\n' "$(printf '%s\n' "${b16s[@]}" | median)" "$(list "${b16s[@]}")"
printf 'pytorch   : %8.1f images/s   (%s)\n' "$(printf '%s\n' "${torches[@]}" | median)" "$(list "${torches[@]}")"
printf 'ratio sweep fp32 / pytorch: %.2fx   (%s)\n' "$(printf '%s\n' "${ratios[@]}" | median)" "$(list "${ratios[@]}")"
[[ ${#ratios16[@]} -gt 0 ]] && printf 'ratio sweep bf16 / pytorch fp32: %.2fx   (%s)\n' "$(printf '%s\n' "${ratios16[@]}" | median)" "$(list "${ratios16[@]}")"
exit 0

#!/usr/bin/env bash
# One epoch of write-up 000's network on full MNIST (54,000 fit images, batch
# 64, Adam, 2 threads) with sweep's CPU backend (fp32 and bf16) and with
# PyTorch (Debian's python3-torch on the OpenMP OpenBLAS, its faster memory
# format) in the same run; prints images/s for each and the ratios.
# Usage: bench/cpu_vs_pytorch.sh [build-dir] [--limit N] [--profile]
# Run it on a quiet machine (uptime load < 0.5): the figures are wall-clock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
build="${1:-$repo/build}"
shift || true
limit=0
profile=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --limit) limit="$2"; shift 2 ;;
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
sweep_fp32="$(run_sweep fp32)"; echo "$sweep_fp32"
sweep_bf16="$(run_sweep bf16 || true)"; echo "$sweep_bf16"
torch_out="$(/usr/bin/python3 "$here/pytorch_bench.py" --data-dir "$data" --threads "$threads" --limit "$limit")"
echo "$torch_out"

ips() { sed -n 's/.*images_per_sec=\([0-9.]*\).*/\1/p' | head -1; }
f32="$(echo "$sweep_fp32" | ips)"
b16="$(echo "$sweep_bf16" | ips)"
best_line="$(echo "$torch_out" | sort -t= -k7 -g | awk -F'images_per_sec=' '{split($2,a," "); if (a[1] > best) {best=a[1]; line=$0}} END {print line}')"
torch="$(echo "$best_line" | ips)"
format="$(echo "$best_line" | sed -n 's/.*format=\([a-z_]*\).*/\1/p')"
echo "---"
printf 'sweep fp32: %8.1f images/s\n' "$f32"
[[ -n "$b16" ]] && printf 'sweep bf16: %8.1f images/s\n' "$b16"
printf 'pytorch   : %8.1f images/s (fastest format: %s)\n' "$torch" "$format"
awk -v a="$f32" -v b="$torch" 'BEGIN {printf "ratio sweep fp32 / pytorch: %.2fx\n", a / b}'
[[ -n "$b16" ]] && awk -v a="$b16" -v b="$torch" 'BEGIN {printf "ratio sweep bf16 / pytorch fp32: %.2fx\n", a / b}'

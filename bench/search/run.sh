#!/usr/bin/env bash
# sweep's TPE + asha search, sweep's random search and Optuna 3.1 (TPE +
# Hyperband) driving PyTorch, on the same space and the same wall-clock
# budget, one after another on this machine, for several seeds. Prints each
# method's best test accuracy against wall time and how soon sweep's TPE
# reaches the accuracy Optuna ends with (bench/search/analyse.py).
#
# The space is write-up 000/003's: learning rate, batch size, filters, conv
# depth and activation of a builder CNN (3x3 'same' convs, max pooling,
# Dense 64), Adam, up to MAX_EPOCHS epochs on the first TRAIN_LIMIT MNIST
# training images (10% for validation), scored on TEST_LIMIT test images.
# "Best" is what a user would pick: the finished run with the best
# validation accuracy so far, and its test accuracy.
#
# Usage: bench/search/run.sh [build-dir] [--seeds "1 2 3"] [--budget SECONDS]
# Needs python3-optuna and python3-torch (Debian), run on a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$(dirname "$here")")"
build="${1:-$repo/build}"
shift || true
seeds="1 2 3"
budget=150
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
TRAIN_LIMIT=12000 TEST_LIMIT=5000 MAX_EPOCHS=9
data="${SWEEP_DATA_DIR:-$repo/data}"
sweep="$build/sweep"
[[ -x "$sweep" ]] || { echo "build sweep first: ninja -C $build sweep" >&2; exit 2; }
/usr/bin/python3 -c "import optuna, torch" || { echo "needs python3-optuna and python3-torch" >&2; exit 2; }
work="$(mktemp -d /tmp/bench_search.XXXXXX)"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "budget ${budget}s per method and seed; seeds: $seeds; work in $work"

space='    train.learning_rate: {log_uniform: [1.0e-4, 1.0e-1]}
    train.batch_size: {choice: [32, 64, 128, 256]}
    model.builder.filters: {choice: [8, 16, 32, 64]}
    model.builder.conv_depth: {int_uniform: [1, 3]}
    model.builder.activation: {choice: [relu, tanh, sigmoid, elu]}'
base="dataset: {name: mnist, train_limit: $TRAIN_LIMIT, test_limit: $TEST_LIMIT}
model:
  builder: {padding: same, dense: [64]}"

# A sweep run stopped by SIGINT at the budget: finished runs stay, the runs in
# flight are marked interrupted. Its launch time (epoch seconds) goes first.
run_sweep() {
  local grid=$1 db=$2 log=$3
  date +%s.%N > "$log.start"
  timeout -s INT "$budget" "$sweep" run "$grid" --db "$db" --jobs 2 --threads-per-run 1 --plain --checkpoints none \
    > "$log" 2>&1 || true
}

for seed in $seeds; do
  echo "--- seed $seed"
  cat > "$work/tpe_$seed.yaml" <<YAML
name: tpe
$base
search:
  strategy: tpe
  pruner: asha
  metric: val_accuracy
  min_epochs: 1
  max_epochs: $MAX_EPOCHS
  reduction_factor: 3
  trials: 1000
  startup_trials: 10
  seed: $seed
  space:
$space
YAML
  cat > "$work/random_$seed.yaml" <<YAML
name: random
$base
train: {epochs: $MAX_EPOCHS}
search:
  samples: 40
  seed: $seed
  space:
$space
YAML
  /usr/bin/python3 "$here/optuna_torch.py" --data-dir "$data" --train-limit $TRAIN_LIMIT --test-limit $TEST_LIMIT \
    --max-epochs $MAX_EPOCHS --seed "$seed" --timeout "$budget" --threads 2 > "$work/optuna_$seed.log" 2>&1
  run_sweep "$work/tpe_$seed.yaml" "$work/tpe_$seed.db" "$work/tpe_$seed.log"
  run_sweep "$work/random_$seed.yaml" "$work/random_$seed.db" "$work/random_$seed.log"
  /usr/bin/python3 "$here/analyse.py" --work "$work" --seeds "$seed" --budget "$budget"
done
echo "=== all seeds"
/usr/bin/python3 "$here/analyse.py" --work "$work" --seeds "$seeds" --budget "$budget" --summary

#!/usr/bin/env bash
# \file Runs every libFuzzer target of a fuzz build for a while, from the seed corpora in
# tests/fuzz/corpus (copied: what a run finds stays out of the repository), and prints each
# target's executions. A crash stops with its input saved as crash-* in the working folder.
#
#   tests/fuzz/run.sh build-fuzz 30            # 30 s each (CI)
#   tests/fuzz/run.sh build-fuzz runs=10000000 # 10^7 executions each
set -euo pipefail
build=$1 budget=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in workload:workload schedule_json:schedule database_line:database worker_job:job onnx_model:onnx; do
  target=${t%%:*} corpus=${t##*:}
  mkdir -p "$work/$corpus"
  cp "$here/corpus/$corpus/"* "$work/$corpus/"
  if [[ $budget == runs=* ]]; then limit=(-runs="${budget#runs=}"); else limit=(-max_total_time="$budget"); fi
  "$build/fuzz_$target" "${limit[@]}" -print_final_stats=1 -max_len=4096 "$work/$corpus" 2> "$work/$target.log" || {
    tail -40 "$work/$target.log"; echo "fuzz_$target: FAILED" >&2; exit 1; }
  echo "fuzz_$target: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$target.log" | grep -o '[0-9]*$') executions, no crash"
done

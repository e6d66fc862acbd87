#!/usr/bin/env bash
# Cross-validation and final training in one go on one GPU: every fold of every candidate and
# the final all-data model of each candidate run side by side; the candidate to ship is then
# chosen by its cross-validated scores alone (score_cv.py), never by a look at held-out data.
# Usage: cv_gpu.sh CACHE OUTDIR BUDGET_S "BASE..." [EPOCHS]
set -u
cache=$1; out=$2; budget=$3; bases=$4; epochs=${5:-160}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
pids=()
for base in $bases; do
  for fold in 0 1 2 3 4 -1; do
    dir="$out/b$base/f$fold"; mkdir -p "$dir"
    python3 "$here/train.py" --cache "$cache" --val-fold "$fold" --base "$base" --epochs "$epochs" \
      --budget-s "$budget" --out "$dir" > "$dir/log.txt" 2>&1 &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p"; done

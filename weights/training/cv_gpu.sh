#!/usr/bin/env bash
# Cross-validation and final training in one go on one GPU: every fold of every candidate and
# the final all-data model of each candidate run side by side; the candidate to ship is then
# chosen by its cross-validated scores alone (score_cv.py), never by a look at held-out data.
# Usage: cv_gpu.sh CACHE OUTDIR BUDGET_S "NAME: TRAIN.PY ARGS" ...
#   e.g. cv_gpu.sh busi256.npz runs 290 "b16: --base 16 --epochs 400" "b16ema: --base 16 --ema 0.999"
# --epochs is the schedule's upper bound; the budget only ever shortens it (train.py).
set -u
cache=$1; out=$2; budget=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

# Many small runs leave the GPU idle between their kernels; under MPS their kernels run
# concurrently instead of taking turns. Used only when a trial client gets through.
if [ "${WECARE_MPS:-1}" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  # A daemon left by an earlier call on the same machine is reused, never stopped. (A first
  # version tried to start a second one, which fails, then quit the running one; that call's
  # runs overran their budget.)
  started=0
  if ! echo get_server_list | nvidia-cuda-mps-control >/dev/null 2>&1; then
    nvidia-cuda-mps-control -d && started=1
  fi
  if timeout 60 python3 -c 'import torch; assert torch.ones(8, device="cuda").sum() == 8'; then
    echo "MPS on"
  else
    [ "$started" = 1 ] && echo quit | nvidia-cuda-mps-control
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS off"
  fi
fi

pids=()
for spec in "$@"; do
  name=${spec%%:*}; read -r -a extra <<< "${spec#*:}"
  for fold in 0 1 2 3 4 -1; do
    dir="$out/$name/f$fold"; mkdir -p "$dir"
    python3 "$here/train.py" --cache "$cache" --val-fold "$fold" --budget-s "$budget" --out "$dir" \
      "${extra[@]}" > "$dir/log.txt" 2>&1 &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p"; done

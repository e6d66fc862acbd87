#!/usr/bin/env bash
# 5-fold cross-validation of the EfficientNet-Lite0 UNet on CPUs, resumable at any point.
# Runs folds 0..4 in order; a fold whose weights/training/cv_$NAME/fold$K.json exists is skipped,
# an unfinished one resumes from its last epoch (.data-cv/$NAME/f$K/ckpt.pt). After each fold the
# summary (score_lite_cv.py) is rewritten, and with LITE_CV_COMMIT=1 the fold's JSON and the
# summary are committed (only those two paths; nothing else staged is touched).
# Usage (from anywhere): weights/training/lite_cv.sh [EPOCHS [SIZE [lite_train.py args...]]]
#   background: nohup weights/training/lite_cv.sh >> .data-cv/cv.log 2>&1 &
# Env: NAME (default lite0, or lite0_$SIZE when SIZE != 224), BUSI (default ../shared/data/busi).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
epochs=${1:-20}
size=${2:-224}
shift $(( $# < 2 ? $# : 2 ))
if [ "$size" = 224 ]; then name=${NAME:-lite0}; else name=${NAME:-lite0_$size}; fi
busi=${BUSI:-../shared/data/busi}
data=.data-cv
cache=$data/busi$size.npz
out=weights/training/cv_$name
mkdir -p "$data" "$out"
export OMP_WAIT_POLICY=PASSIVE

exec 9> "$data/lite_cv_$name.lock"
if ! flock -n 9; then echo "$(date -Is) another lite_cv.sh for $name is running"; exit 1; fi

echo "$(date -Is) lite_cv.sh name=$name epochs=$epochs size=$size extra=[$*] pid=$$"
if [ ! -f "$cache" ]; then
  nice -n 19 python3 "$here/busi.py" "$busi" "$cache.tmp.npz" "$size" && mv "$cache.tmp.npz" "$cache" || exit 1
fi

commit() {  # commit only the given paths, retrying while another git process holds the index
  [ "${LITE_CV_COMMIT:-0}" = 1 ] || return 0
  local gd; gd=$(git rev-parse --git-dir)
  if [ -d "$gd/rebase-merge" ] || [ -d "$gd/rebase-apply" ] || [ -f "$gd/MERGE_HEAD" ] || ! git symbolic-ref -q HEAD >/dev/null; then
    echo "$(date -Is) not committing: repository mid-rebase/merge or detached"; return 0
  fi
  local msg=$1; shift
  for try in 1 2 3 4 5 6 7 8 9 10; do
    if git add -- "$@" && git commit -q -m "$msg" -- "$@"; then echo "$(date -Is) committed: $msg"; return 0; fi
    sleep 6
  done
  echo "$(date -Is) commit failed: $msg"
}

for k in 0 1 2 3 4; do
  json=$out/fold$k.json
  if [ -f "$json" ]; then echo "$(date -Is) fold $k: done already"; continue; fi
  echo "$(date -Is) fold $k: start/resume"
  nice -n 19 python3 "$here/lite_train.py" --cache "$cache" --busi "$busi" --val-fold "$k" --size "$size" \
    --epochs "$epochs" --ckpt-dir "$data/$name/f$k" --json-out "$json" "$@"
  rc=$?
  if [ $rc != 0 ] || [ ! -f "$json" ]; then echo "$(date -Is) fold $k: failed (rc $rc)"; exit 1; fi
  nice -n 19 python3 "$here/score_lite_cv.py" "$out" ${busi:+--busi "$busi"} || echo "$(date -Is) scoring failed"
  commit "CV $name fold $k: out-of-fold predictions and scores (lite_train.py, $epochs epochs at $size px)" "$json" "$out/summary.json"
done
echo "$(date -Is) all folds done"

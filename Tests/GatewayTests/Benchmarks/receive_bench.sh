#!/usr/bin/env bash
# Receive benchmark (not a test): N US instances over P parallel storescu associations into
# WeCare (durable spool + ledger, analysis off) and into DCMTK's storescp (plain files, no
# fsync), alternating rounds on the same files. Prints instances/s for each, the ratio
# WeCare/storescp, and WeCare's peak RSS (VmHWM). storescp runs with --fork (one process per
# association, its fastest mode for parallel senders); STORESCP_FORK=0 compares with the
# plain one-association-at-a-time storescp. WeCare turns Nagle's algorithm off on its DICOM
# sockets; DCMTK's tools leave it on unless TCP_NODELAY=1 is in their environment:
# STORESCP_NODELAY=1 gives storescp the same socket option (both figures are worth reporting).
#
#   Tests/GatewayTests/Benchmarks/receive_bench.sh [WECARE_BINARY] [N=500] [P=4] [ROUNDS=2]
# Needs: dcmtk (img2dcm, dcmodify, storescu, storescp, echoscu), python3 + pillow.
set -euo pipefail
WECARE=${1:-.build/release/wecare}
N=${2:-500}
P=${3:-4}
ROUNDS=${4:-2}
[ -x "$WECARE" ] || { echo "build first: swift build -c release --product wecare (or pass the binary)"; exit 2; }
WORK=$(mktemp -d /tmp/wecare-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# DCMTK's programs, not pip's pynetdicom apps of the same names that may come first on PATH.
dcmtk() { local d; IFS=: read -ra dirs <<< "$PATH"; for d in "${dirs[@]}"; do
  [ -x "$d/$1" ] && [ "$(head -c 2 "$d/$1")" != "#!" ] && { echo "$d/$1"; return; }; done
  echo "$1 not found: apt-get install dcmtk" >&2; exit 2; }
STORESCU=$(dcmtk storescu) && STORESCP=$(dcmtk storescp) && ECHOSCU=$(dcmtk echoscu) || exit 2
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Inputs: one RGB US image of IMAGE_SIZE (default 640x480, a BUSI scan when present), N copies
# with their own UIDs. Small images (IMAGE_SIZE=64x48) show per-message latency rather than bytes.
BUSI=${WECARE_BUSI_DIR:-/work/shared/data/busi}/images
python3 - "$WORK/us.bmp" "$BUSI" "${IMAGE_SIZE:-640x480}" <<'PY'
import sys, os
from PIL import Image
out, busi = sys.argv[1], sys.argv[2]
w, h = (int(v) for v in sys.argv[3].split("x"))
pngs = sorted(p for p in os.listdir(busi) if p.endswith(".png")) if os.path.isdir(busi) else []
im = Image.open(os.path.join(busi, pngs[0])).convert("RGB").resize((w, h)) if pngs else Image.new("RGB", (w, h), (90, 90, 90))
im.save(out, "BMP")
PY
img2dcm -i BMP "$WORK/us.bmp" "$WORK/us.dcm" -k SOPClassUID=1.2.840.10008.5.1.4.1.1.6.1 -k Modality=US
for g in $(seq 0 $((P - 1))); do mkdir -p "$WORK/in/$g"; done
for i in $(seq 0 $((N - 1))); do cp "$WORK/us.dcm" "$WORK/in/$((i % P))/$i.dcm"; done
find "$WORK/in" -name '*.dcm' -print0 | xargs -0 -n 100 dcmodify -nb -gin >/dev/null
echo "inputs: $N x $(stat -c %s "$WORK/us.dcm") bytes, $P associations, $ROUNDS rounds each"

wait_listening() { for _ in $(seq 1 200); do "$ECHOSCU" -aet US_ROOM1 -aec "$2" 127.0.0.1 "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

# Sends everything over P parallel associations; prints elapsed seconds.
burst() {
  local port=$1 start end
  start=$(date +%s.%N)
  for g in $(seq 0 $((P - 1))); do
    "$STORESCU" -aet US_ROOM1 -aec "$2" 127.0.0.1 "$port" "$WORK/in/$g"/*.dcm >"$WORK/storescu-$g.log" 2>&1 &
  done
  wait
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

run_storescp() {
  local port out; port=$(free_port); out="$WORK/storescp-out"; rm -rf "$out"; mkdir -p "$out"
  local fork=(); [ "${STORESCP_FORK:-1}" = 1 ] && fork=(--fork)
  local nodelay=(); [ "${STORESCP_NODELAY:-0}" = 1 ] && nodelay=(env TCP_NODELAY=1)
  "${nodelay[@]}" "$STORESCP" "${fork[@]}" -aet WECARE -od "$out" "$port" >/dev/null 2>&1 &
  local pid=$!
  wait_listening "$port" WECARE
  local t; t=$(burst "$port" WECARE)
  local got; got=$(find "$out" -type f | wc -l)
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  [ "$got" -eq "$N" ] || echo "storescp stored $got of $N" >&2
  echo "$t"
}

run_wecare() {
  local port dir; port=$(free_port); dir="$WORK/wecare"; rm -rf "$dir"; mkdir -p "$dir"
  cat >"$dir/gateway.toml" <<TOML
[gateway]
ae_title = "WECARE"
port = $port
max_associations = $((P + 2))
data_dir = "data"
min_free_disk_mb = 100
[[modality]]
ae_title = "US_ROOM1"
[http]
enabled = false
[analysis]
enabled = false
TOML
  "$WECARE" serve --config "$dir/gateway.toml" --log-level error >"$dir/serve.log" 2>&1 &
  local pid=$!
  wait_listening "$port" WECARE
  local t; t=$(burst "$port" WECARE)
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  local got; got=$(find "$dir/data/spool" -name '*.dcm' | wc -l)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  [ "$got" -eq "$N" ] || echo "wecare stored $got of $N" >&2
  echo "$t $hwm"
}

W_TOTAL=0; S_TOTAL=0; HWM_MAX=0
for r in $(seq 1 "$ROUNDS"); do
  s=$(run_storescp)
  read -r w hwm <<<"$(run_wecare)"
  echo "round $r: storescp ${s}s, wecare ${w}s, wecare VmHWM ${hwm} kB"
  S_TOTAL=$(python3 -c "print($S_TOTAL + $s)"); W_TOTAL=$(python3 -c "print($W_TOTAL + $w)")
  [ "$hwm" -gt "$HWM_MAX" ] && HWM_MAX=$hwm
done
python3 - "$N" "$ROUNDS" "$S_TOTAL" "$W_TOTAL" "$HWM_MAX" <<'PY'
import sys
n, rounds, s, w, hwm = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s_rate, w_rate = n * rounds / s, n * rounds / w
print(f"storescp: {s_rate:.1f} instances/s   wecare: {w_rate:.1f} instances/s   ratio wecare/storescp: {w_rate / s_rate:.2f} (target >= 0.8)")
print(f"wecare peak RSS (VmHWM): {hwm / 1024:.1f} MB (target < 200 MB)")
PY

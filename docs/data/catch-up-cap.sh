#!/bin/bash
# The rate cap and catch-up from history, on loopback (root: an nftables counter measures egress).
#   sh docs/data/catch-up-cap.sh [PORT] [SRC]      SRC: another tree's src/ to run instead (a baseline)
# A 60 MB file at --rate 40mbit to two receivers; the second is killed at 2 s and started again
# 4 s later, so it resumes below the send buffer and is caught up from the file. Prints the
# source's egress per quarter second (IP and UDP headers included) and whether both copies match.
set -eu
PORT=${1:-7400}
SRC=${2:-}
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'nft delete table inet smocast_cu 2>/dev/null || true; rm -rf "$WORK"' EXIT
S() { PYTHONPATH=$SRC "$PY" -m smocast.cli.main "$@"; }
head -c 60000000 /dev/urandom > "$WORK/big.bin"
mkdir -p "$WORK/o1" "$WORK/o2"
nft add table inet smocast_cu
nft add chain inet smocast_cu out '{ type filter hook output priority 0; }'
nft add rule inet smocast_cu out udp sport "$PORT" counter
G=232.9.8.7:$PORT
S send "$WORK/big.bin" --group $G --bind 127.0.0.1:$PORT --min-receivers 2 --rate 40mbit \
  --progress-timeout 1s --insecure --json > "$WORK/send.json" 2> /dev/null &
SENDER=$!
sleep 0.5
S recv --server 127.0.0.1:$PORT --group $G -o "$WORK/o1" --insecure --json > /dev/null 2>&1 &
PYTHONPATH=$SRC "$PY" -m smocast.cli.main recv --server 127.0.0.1:$PORT --group $G -o "$WORK/o2" \
  --insecure --json > /dev/null 2>&1 &
KILLED=$!  # the receiver's own process (a function run in the background would be a subshell)
( while kill -0 $SENDER 2> /dev/null; do
    echo "$(date +%s.%N) $(nft list chain inet smocast_cu out | grep -o 'bytes [0-9]*' | cut -d' ' -f2)"
    sleep 0.25
  done ) > "$WORK/samples.txt" &
sleep 2
kill -9 $KILLED
wait $KILLED 2> /dev/null || true
sleep 4
S recv --server 127.0.0.1:$PORT --group $G -o "$WORK/o2" --insecure --json > "$WORK/r2.json" 2> /dev/null || true
wait
"$PY" - "$WORK" <<'PY'
import glob, hashlib, json, sys
work = sys.argv[1]
want = hashlib.sha256(open(f"{work}/big.bin", "rb").read()).hexdigest()
rows = [line.split() for line in open(f"{work}/samples.txt") if len(line.split()) == 2]
rates = [(int(b2) - int(b1)) * 8 / (float(t2) - float(t1)) / 1e6 for (t1, b1), (t2, b2) in zip(rows, rows[1:])]
resumed = json.load(open(f"{work}/r2.json"))
print(json.dumps({
    "egress_mbit_s_per_quarter_second": [round(r, 1) for r in rates],
    "busiest_quarter_second_mbit_s": round(max(rates), 1),
    "resumed_from": resumed.get("resumed_from"),
    "copies_identical": [hashlib.sha256(open(f, "rb").read()).hexdigest() == want
                         for o in ("o1", "o2") for f in glob.glob(f"{work}/{o}/*")],
}))
PY

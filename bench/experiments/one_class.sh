#!/usr/bin/env bash
# One endpoint class against a fresh copy of a generated SQLite county (a kept bench/run.sh work
# directory, copied so that every run starts from the same data): req/s, p50, p99, errors, and the
# server's resident size at the end. For before/after figures of one change.
#   BENCH_KEEP=1 bash bench/run.sh sqlite
#   bash bench/experiments/one_class.sh /tmp/mch-bench.XXXXXX checkup [seconds] [VAR=value …]
# The extra VAR=value pairs go to the server's environment (e.g. MALLOC_ARENA_MAX=2).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$1/sqlite CLASS=$2 DUR=${3:-8}
shift 2; [ $# -gt 0 ] && shift
BIN=${MCH_BIN:-$HERE/../../target/release/mch-handbook}
D=$(mktemp -d /tmp/mch-one-class.XXXXXX)
trap 'rm -rf "$D"' EXIT
cp -r "$SRC"/. "$D"/
export BENCH_DIR=$HERE/.. BENCH_DATA=$D/data.lua BENCH_THREADS=2 BENCH_MIX=${BENCH_MIX:-handbook:70,worklist:10,checkup:15,distribution:5}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env DATABASE_URL="sqlite://$D/mch-handbook.db" MCH_DATA_DIR="$D" MCH_BIND="127.0.0.1:$PORT" MCH_DEMO_MODE=true \
    MCH_DB_POOL_SIZE=16 MCH_ACCESS_TOKEN_TTL_SECS=7200 "$@" "$BIN" serve >"$D/server.log" 2>&1 &
SP=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.1; done
wrk -t2 -c64 -d"${DUR}s" --timeout 10s --latency -s "$BENCH_DIR/lua/$CLASS.lua" "http://127.0.0.1:$PORT" | grep '^BENCH ' |
    python3 -c "import json,sys; r=json.loads(sys.stdin.read()[6:]); print(f\"$CLASS: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms errors {r['errors']} {r['status']}\")"
echo "RSS $(awk '/^VmRSS/{print int($2/1024)}' "/proc/$SP/status") MB, $(ls "/proc/$SP/task" | wc -l) threads"
kill "$SP"; wait "$SP" 2>/dev/null || true

#!/usr/bin/env bash
# Server resident size and throughput after 10 s of GET /api/v1/me/handbook at 64 connections, by
# MCH_DB_POOL_SIZE, on a generated SQLite county (a kept bench/run.sh work directory).
#   BENCH_KEEP=1 bash bench/run.sh sqlite; bash bench/experiments/sqlite_pool_rss.sh /tmp/mch-bench.XXXXXX
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=$1/sqlite BIN=${MCH_BIN:-$HERE/../../target/release/mch-handbook}
export BENCH_DIR=$HERE/.. BENCH_DATA=$D/data.lua BENCH_THREADS=2
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for pool in 8 16 32 64; do
    DATABASE_URL=sqlite://$D/mch-handbook.db MCH_DATA_DIR=$D MCH_BIND=127.0.0.1:$PORT MCH_DB_POOL_SIZE=$pool MCH_DEMO_MODE=true "$BIN" serve >/dev/null 2>&1 &
    SP=$!
    sleep 1.5
    out=$(wrk -t2 -c64 -d10s --timeout 10s -s "$BENCH_DIR/lua/handbook.lua" "http://127.0.0.1:$PORT" | grep '^BENCH ' |
        python3 -c "import json,sys; r=json.loads(sys.stdin.read()[6:]); print(f\"{r['rps']:.0f} req/s p50 {r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms errors {r['errors']}\")")
    echo "pool $pool: $out; RSS $(awk '/^VmRSS/{print int($2/1024)}' "/proc/$SP/status") MB, $(ls "/proc/$SP/task" | wc -l) threads"
    kill "$SP"; wait "$SP" 2>/dev/null || true
done

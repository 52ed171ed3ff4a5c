#!/usr/bin/env bash
# Server resident size (and how much of it is anonymous memory) after 6 s each of the handbook,
# worklist and checkup classes in a row, on a copy of a generated SQLite county, with the server
# environment given (e.g. MALLOC_ARENA_MAX=2 to cap glibc's malloc arenas).
#   bash bench/experiments/rss_by_allocator.sh /tmp/mch-bench.XXXXXX [VAR=value …]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$1/sqlite
shift
BIN=${MCH_BIN:-$HERE/../../target/release/mch-handbook}
D=$(mktemp -d /tmp/mch-rss.XXXXXX)
trap 'rm -rf "$D"' EXIT
cp -r "$SRC"/. "$D"/
export BENCH_DIR=$HERE/.. BENCH_DATA=$D/data.lua BENCH_THREADS=2
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env DATABASE_URL="sqlite://$D/mch-handbook.db" MCH_DATA_DIR="$D" MCH_BIND="127.0.0.1:$PORT" MCH_DEMO_MODE=true \
    MCH_DB_POOL_SIZE=16 MCH_ACCESS_TOKEN_TTL_SECS=7200 "$@" "$BIN" serve >"$D/server.log" 2>&1 &
SP=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.1; done
for class in handbook worklist checkup; do
    wrk -t2 -c64 -d6s --timeout 10s -s "$BENCH_DIR/lua/$class.lua" "http://127.0.0.1:$PORT" >/dev/null
    echo "after $class: $(grep -E '^(Rss|Anonymous):' "/proc/$SP/smaps_rollup" | awk '{printf "%s %d MB  ", $1, $2/1024}')$(ls "/proc/$SP/task" | wc -l) threads"
done
kill "$SP"; wait "$SP" 2>/dev/null || true

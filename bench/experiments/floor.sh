#!/usr/bin/env bash
# Where the home page's time goes, in one run on a copy of a kept SQLite county (a kept
# bench/run.sh work directory): the bare actix-web "hello", the server's cheapest answer
# (GET /healthz: every middleware and the request log, no token, no database), the mother's home
# page with kept pages (the default) and with the cache turned off (MCH_HOME_CACHE_MB=0).
#   BENCH_KEEP=1 bash bench/run.sh sqlite
#   bash bench/experiments/floor.sh /tmp/mch-bench.XXXXXX [seconds]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$1/sqlite DUR=${2:-8}
BIN=${MCH_BIN:-$HERE/../../target/release/mch-handbook}
HELLO_BIN=${HELLO_BIN:-$HERE/../../target/release/examples/hello}
export BENCH_DIR=$HERE/.. BENCH_THREADS=2
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
measure() { # label url [lua]
    local out
    out=$(wrk -t2 -c64 -d"${DUR}s" --timeout 10s --latency ${3:+-s "$BENCH_DIR/lua/$3.lua"} "$2")
    printf '%-28s %10s req/s  p99 %s\n' "$1" "$(awk '/^Requests\/sec/{printf "%d", $2}' <<<"$out")" \
        "$(awk '$1=="99%"{print $2}' <<<"$out")"
}
serve() { # extra env…; prints the port, leaves the pid in SP
    local port d
    port=$(free_port); d=$(mktemp -d /tmp/mch-floor.XXXXXX); cp -r "$SRC"/. "$d"/
    env DATABASE_URL="sqlite://$d/mch-handbook.db" MCH_DATA_DIR="$d" MCH_BIND="127.0.0.1:$port" \
        MCH_DEMO_MODE=true MCH_DB_POOL_SIZE=16 MCH_ACCESS_TOKEN_TTL_SECS=7200 MALLOC_ARENA_MAX=4 "$@" \
        "$BIN" serve >"$d/server.log" 2>&1 &
    SP=$!; DIRS+=("$d")
    for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
    PORT=$port
}
DIRS=()
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "${DIRS[@]}"' EXIT
HP=$(free_port); "$HELLO_BIN" "127.0.0.1:$HP" >/dev/null 2>&1 & HPID=$!; sleep 0.5
measure "hello (bare actix-web)" "http://127.0.0.1:$HP/"
kill $HPID
serve; export BENCH_DATA=$(dirname "$(ls "${DIRS[0]}"/data.lua)")/data.lua
measure "GET /healthz" "http://127.0.0.1:$PORT/healthz"
measure "home page, kept pages" "http://127.0.0.1:$PORT" handbook
kill $SP
serve MCH_HOME_CACHE_MB=0
measure "home page, no cache" "http://127.0.0.1:$PORT" handbook
kill $SP

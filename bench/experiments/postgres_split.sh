#!/usr/bin/env bash
# PostgreSQL: CPU per request split between the server and the PostgreSQL processes, for
# GET /api/v1/me/handbook as is, then after adding (by hand) indexes on handbook_id, then for
# checkup writes. Uses its own database `mch_exp` (dropped at the end) and a generated county.
#   bash bench/experiments/postgres_split.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${MCH_BIN:-$HERE/../../target/release/mch-handbook}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
W=$(mktemp -d /tmp/mch-pg-exp.XXXXXX)
psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS mch_exp WITH (FORCE)" 2>/dev/null
psql "$PG/postgres" -qAtc "CREATE DATABASE mch_exp"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL=$PG/mch_exp MCH_DATA_DIR=$W MCH_BIND=127.0.0.1:$PORT MCH_DEMO_MODE=true MCH_DB_POOL_SIZE=64 MCH_ACCESS_TOKEN_TTL_SECS=7200
"$BIN" demo >"$W/demo.txt"
"$BIN" serve >"$W/server.log" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null; psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS mch_exp WITH (FORCE)"; rm -rf "$W"' EXIT
sleep 1.5
python3 "$HERE/../generate.py" --base "http://127.0.0.1:$PORT" --demo "$W/demo.txt" --out "$W" --children 600 | tail -1
export BENCH_DIR=$HERE/.. BENCH_DATA=$W/data.lua
pgcpu() { local t=0; for p in $(pgrep -u postgres); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
run() { # script
    local p0 p1 n
    p0=$(pgcpu)
    bash "$HERE/cpu_per_request.sh" "$SP" 64 10 "$BENCH_DIR/lua/$1.lua" "http://127.0.0.1:$PORT" | tee "$W/last.txt"
    p1=$(pgcpu)
    n=$(awk '{print $2}' "$W/last.txt")
    python3 -c "import os; t=($p1-$p0)/os.sysconf('SC_CLK_TCK'); print(f'   postgres processes cpu {t:.2f}s -> {1000*t/$n:.3f} ms/request')"
}
psql "$PG/mch_exp" -Atc "EXPLAIN SELECT id, updated_at FROM checkups WHERE handbook_id = 'x' AND mother_seen_at IS NULL" | head -1
echo "handbook as is:"; run handbook
psql "$PG/mch_exp" -qc "CREATE INDEX x_checkups_handbook ON checkups (handbook_id); CREATE INDEX x_lab_results_handbook ON lab_results (handbook_id); CREATE INDEX x_ultrasounds_handbook ON ultrasounds (handbook_id); ANALYZE"
echo "handbook with indexes on handbook_id:"; run handbook
echo "checkup writes:"; run checkup

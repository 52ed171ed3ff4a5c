#!/usr/bin/env bash
# GET /api/v1/me/handbook on a generated SQLite county, as is and after adding (by hand, to a copy
# of the database) indexes on handbook_id for checkups, lab_results and ultrasounds.
#   BENCH_KEEP=1 bash bench/run.sh sqlite; bash bench/experiments/sqlite_indexes.sh /tmp/mch-bench.XXXXXX
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=$1/sqlite BIN=${MCH_BIN:-$HERE/../../target/release/mch-handbook}
export BENCH_DIR=$HERE/.. BENCH_DATA=$D/data.lua
COPY=$(mktemp -d)/copy.db
python3 -c "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d)" "$D/mch-handbook.db" "$COPY"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() { DATABASE_URL=sqlite://$COPY MCH_DATA_DIR=$D MCH_BIND=127.0.0.1:$PORT MCH_DEMO_MODE=true MCH_DB_POOL_SIZE=64 "$BIN" serve >/dev/null 2>&1 & SP=$!; sleep 1.5; }
stop() { kill "$SP"; wait "$SP" 2>/dev/null || true; }
start; echo "as is:"; bash "$HERE/cpu_per_request.sh" "$SP" 64 10 "$BENCH_DIR/lua/handbook.lua" "http://127.0.0.1:$PORT"; stop
python3 - "$COPY" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for t in ("checkups", "lab_results", "ultrasounds"):
    print(t, c.execute(f"EXPLAIN QUERY PLAN SELECT id FROM {t} WHERE handbook_id = ? AND mother_seen_at IS NULL", ("x",)).fetchall()[0][3], end="; ")
    c.execute(f"CREATE INDEX x_{t}_handbook ON {t} (handbook_id)")
c.commit(); print()
PY
start; echo "with indexes on handbook_id:"; bash "$HERE/cpu_per_request.sh" "$SP" 64 10 "$BENCH_DIR/lua/handbook.lua" "http://127.0.0.1:$PORT"; stop
rm -rf "$(dirname "$COPY")"

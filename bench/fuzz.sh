#!/usr/bin/env bash
# Fuzz the HTTP API with Schemathesis, driven by the server's own OpenAPI document.
#
#   bash bench/fuzz.sh [path-to-binary]      (default: target/release/mch-handbook)
#
# Loads the demo county into a fresh temporary database, starts the server on a free
# local port in demo mode, and runs Schemathesis twice: as the clinician dr.wang and as
# the demo mother (WeChat code demo-mother-1). Exits non-zero if Schemathesis reports
# failures. Logs and reports are kept in the printed directory when something fails.
#
# Knobs (environment): FUZZ_MAX_EXAMPLES (20), FUZZ_SEED (20240601),
# FUZZ_RUN_TIMEOUT (120 seconds per run, a hard cap), FUZZ_WORKERS (2).
set -euo pipefail

ROOT=$(realpath "$(dirname "$0")/..")
BIN=$(realpath -m "${1:-$ROOT/target/release/mch-handbook}")
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-20}
SEED=${FUZZ_SEED:-20240601}
RUN_TIMEOUT=${FUZZ_RUN_TIMEOUT:-120}
WORKERS=${FUZZ_WORKERS:-2}

[ -x "$BIN" ] || { echo "no server binary at $BIN (cargo build --release first)" >&2; exit 2; }
for tool in curl jq python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

# Schemathesis: use one on PATH, otherwise a venv under ~/.cache (created once).
if command -v schemathesis >/dev/null; then
    ST=schemathesis
else
    VENV=$HOME/.cache/mch-handbook/venv
    if [ ! -x "$VENV/bin/schemathesis" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet -r "$ROOT/bench/fuzz-requirements.txt"
    fi
    ST=$VENV/bin/schemathesis
fi
echo "== $("$ST" --version)"

WORK=$(mktemp -d /tmp/mch-fuzz.XXXXXX)
cd "$WORK"   # Schemathesis keeps a .schemathesis/ cache in the current directory
SERVER_PID=
cleanup() {
    status=$?
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; fi
    if [ "$status" -eq 0 ]; then rm -rf "$WORK"; else echo "== logs and reports kept in $WORK" >&2; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/demo_server.sh
source "$ROOT/bench/demo_server.sh"
start_demo_server "$BIN" "$WORK"

DR_PW=$(awk '/^  dr.wang /{print $NF}' "$WORK/demo.txt")
STAFF_TOKEN=$(curl -fs "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"dr.wang\",\"password\":\"$DR_PW\"}" | jq -er .access_token)
MOTHER_TOKEN=$(curl -fs "$BASE/api/v1/auth/wechat" -H 'Content-Type: application/json' \
    -d '{"code":"demo-mother-1"}' | jq -er .access_token)

# One Schemathesis run with the given token; $1 names the run (and its report directory).
fuzz() {
    local name=$1 token=$2
    echo "== schemathesis as $name"
    timeout --signal=INT "$RUN_TIMEOUT" \
        "$ST" run "$BASE/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers "$WORKERS" \
        --generation-database none \
        --report junit,ndjson --report-dir "$WORK/report-$name" \
        --no-color
}

failed=0
start=$SECONDS
fuzz staff "$STAFF_TOKEN" || failed=1
fuzz mother "$MOTHER_TOKEN" || failed=1
echo "== done in $((SECONDS - start)) s; server errors logged: $(grep -c ' ERROR ' "$WORK/server.log" || true)"
exit "$failed"

#!/usr/bin/env bash
# The client check (CI): lint the OpenAPI document (redocly, recommended rules, 0 errors),
# generate TypeScript types (openapi-typescript), compile the typed client flow with
# `tsc --strict` (library checks on), run the wx.request adapter's test over a fake `wx`
# (no server), and run the flow against a server in demo mode.
#
#   bash clients/typescript/check.sh [path-to-binary]   (default: target/debug/mch-handbook)
#
# npm packages are pinned by package-lock.json; `npm ci` reuses ~/.cache/mch-handbook/npm.
set -euo pipefail

HERE=$(realpath "$(dirname "$0")")
ROOT=$(realpath "$HERE/../..")
BIN=$(realpath -m "${1:-$ROOT/target/debug/mch-handbook}")
[ -x "$BIN" ] || { echo "no server binary at $BIN" >&2; exit 2; }
command -v npm >/dev/null || { echo "npm (Node.js 20 or later) is required" >&2; exit 2; }

cd "$HERE"
echo "== npm ci ($(node --version))"
npm ci --no-audit --no-fund --cache "$HOME/.cache/mch-handbook/npm" --prefer-offline >/dev/null

echo "== redocly lint (recommended rules)"
npx --no-install redocly lint ../../openapi/openapi.json --format=summary 2>&1 \
    | grep -v '[║╔╚]' | sed '/^\s*$/d'

echo "== openapi-typescript"
npx --no-install openapi-typescript ../../openapi/openapi.json -o src/api.d.ts
echo "== tsc --strict"
rm -rf dist
npx --no-install tsc -p tsconfig.json
echo "== the wx.request adapter over a fake wx"
node dist/wx_test.js

WORK=$(mktemp -d /tmp/mch-client.XXXXXX)
SERVER_PID=
cleanup() {
    status=$?
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; fi
    if [ "$status" -eq 0 ]; then rm -rf "$WORK"; else echo "== logs kept in $WORK" >&2; fi
    exit "$status"
}
trap cleanup EXIT
# shellcheck source=../../bench/demo_server.sh
source "$ROOT/bench/demo_server.sh"
start_demo_server "$BIN" "$WORK"

echo "== the README's main flow through the typed client"
MCH_BASE="$BASE" DR_PW=$(awk '/^  dr.wang /{print $NF}' "$WORK/demo.txt") \
    node dist/flow.js

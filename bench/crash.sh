#!/usr/bin/env bash
# Crash test on both backends (CI runs it):
#
#   bash bench/crash.sh [path-to-binary]
#
# SQLite: SIGKILL the server under concurrent writes, check the file (integrity_check), restart
# it and read back every acknowledged write. PostgreSQL (a private throw-away cluster, never the
# shared server): crash the database under the running app, check /readyz and the writes answer
# 503 (never 500), that the app recovers by itself, and read back every acknowledged write.
# Details and knobs: bench/crash.py --help. Extra arguments after the binary go to crash.py
# (e.g. --backend sqlite, --keep). Exits non-zero on any failure; one summary line per backend.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$BIN" ]; then
    TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
    case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
    BIN=$TARGET/debug/mch-handbook
    [ -x "$BIN" ] || BIN=$TARGET/release/mch-handbook
fi
[ -x "$BIN" ] || { echo "no mch-handbook binary at $BIN (build it with cargo build, or pass its path)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }
exec python3 "$ROOT/bench/crash.py" --bin "$BIN" "$@"

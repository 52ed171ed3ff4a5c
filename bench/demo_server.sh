# Sourced by scripts that need a running server with the demo county (bench/fuzz.sh,
# clients/typescript/check.sh). `start_demo_server BIN WORK` loads the demo county into a fresh
# SQLite database under WORK, starts BIN in demo mode on a free local port and waits until it is
# ready. It sets PORT, BASE and SERVER_PID (the caller's EXIT trap stops the server) and leaves
# the demo's printed passwords in WORK/demo.txt and the server's log in WORK/server.log.
start_demo_server() {
    local bin=$1 work=$2
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    BASE=http://127.0.0.1:$PORT
    export DATABASE_URL=sqlite://$work/mch.db MCH_DATA_DIR=$work MCH_BIND=127.0.0.1:$PORT MCH_DEMO_MODE=true
    echo "== loading the demo county into $work"
    "$bin" demo >"$work/demo.txt"
    echo "== starting the server on $BASE"
    "$bin" serve >"$work/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 50); do
        curl -fs "$BASE/readyz" >/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$work/server.log" >&2; return 1; }
        sleep 0.2
    done
    echo "server did not become ready" >&2
    return 1
}

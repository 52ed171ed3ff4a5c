#!/usr/bin/env bash
# Load test: a generated county on the release server, measured from a second process on loopback.
#
#   bash bench/run.sh [sqlite|postgres|both]          (default: both)
#
# For each backend: loads the demo county into a fresh database (SQLite: a temporary directory;
# PostgreSQL: a new database `mch_bench` on $BENCH_PG, dropped at the end), starts the release
# server (demo mode, $BENCH_POOL database connections) and the bare actix-web "hello" server
# (examples/hello.rs, the ceiling of this machine) on free loopback ports, generates the county
# with bench/generate.py, then measures each endpoint class with wrk for $BENCH_DURATION seconds,
# $BENCH_CONNECTIONS connections, $BENCH_THREADS threads:
#
#   hello         GET / on the bare actix-web server (same actix-web, same worker count)
#   handbook      GET /api/v1/me/handbook, rotating over the bound mothers' tokens
#   worklist      GET /api/v1/worklist/antenatal?region=…, the clinicians' work lists
#   checkup       POST /api/v1/pregnancies/{id}/checkups, today's visit, rotating pregnancies
#   distribution  POST /api/v1/children/{id}/nutrition/distributions, each child once
#                 ($BENCH_DIST_DURATION seconds; one pack per child per month, so a 409 means the
#                 children ran out and is reported apart from errors)
#   mixed         70 % handbook, 10 % worklist, 15 % checkup, 5 % distribution ($BENCH_MIX)
#
# and samples the server's resident size (VmRSS) every 0.2 s. Prints one table per backend:
# class, req/s, p50, p99, errors, ratio to hello. Non-2xx answers and socket errors are errors.
#
# Load tool: wrk (Debian package `wrk`, installed with apt-get when missing), with the Lua
# scripts in bench/lua/. Python 3 (standard library only) for the generator and the tables.
#
# Knobs (environment), defaults in brackets:
#   MCH_BIN [target/release/mch-handbook, built when missing]  HELLO_BIN [target/release/examples/hello]
#   BENCH_DURATION [15]  BENCH_DIST_DURATION [5]  BENCH_CONNECTIONS [64]  BENCH_THREADS [2]
#   BENCH_POOL [16, the server's default: 64 adds ~2 MB of SQLite page cache per connection and no throughput]  BENCH_WORKERS [server default: number of cores]
#   BENCH_PREGNANT [1500]  BENCH_MOTHERS [300]  BENCH_CHILDREN [6000]
#   BENCH_PG [postgres://postgres@127.0.0.1:5432]  BENCH_QUIET_WAIT [900 s in all to wait for an idle CPU]
#   BENCH_MIX [handbook:70,worklist:10,checkup:15,distribution:5]  BENCH_KEEP [0: 1 keeps logs]
#   BENCH_MALLOC_ARENA_MAX [4, as README's deployment advice; empty: glibc's default of 8 per core,
#   which keeps ~60 MB more after the work list's load; 2 costs a third of the write throughput:
#   bench/RESULTS.md]
set -euo pipefail

MODE=${1:-both}
case "$MODE" in sqlite | postgres | both) ;; *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$ROOT/bench
DURATION=${BENCH_DURATION:-15}
DIST_DURATION=${BENCH_DIST_DURATION:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
POOL=${BENCH_POOL:-16}
PREGNANT=${BENCH_PREGNANT:-1500}
MOTHERS=${BENCH_MOTHERS:-300}
CHILDREN=${BENCH_CHILDREN:-6000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
QUIET_WAIT=${BENCH_QUIET_WAIT:-900}
MIX=${BENCH_MIX:-handbook:70,worklist:10,checkup:15,distribution:5}
export BENCH_DIR BENCH_THREADS=$THREADS BENCH_MIX=$MIX

say() { printf '== %s\n' "$*" >&2; }

# --- tools and binaries ------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    say "installing wrk (apt-get install wrk)"
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y wrk >/dev/null; }
fi
for tool in wrk python3 curl; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done
if [ -z "${MCH_BIN:-}" ]; then
    MCH_BIN=$ROOT/target/release/mch-handbook
    [ -x "$MCH_BIN" ] || (say "building the release server"; cd "$ROOT" && cargo build --release)
fi
if [ -z "${HELLO_BIN:-}" ]; then
    HELLO_BIN=$ROOT/target/release/examples/hello
    [ -x "$HELLO_BIN" ] || (say "building examples/hello.rs"; cd "$ROOT" && cargo build --release --example hello)
fi
[ -x "$MCH_BIN" ] && [ -x "$HELLO_BIN" ] || { echo "missing binaries: $MCH_BIN $HELLO_BIN" >&2; exit 2; }
if [ "$MODE" != sqlite ]; then
    if ! command -v psql >/dev/null || ! psql "$PG/postgres" -qAtc 'SELECT 1' >/dev/null 2>&1; then
        if [ "$MODE" = both ]; then
            say "PostgreSQL not reachable at $PG (or no psql): measuring SQLite only"
            MODE=sqlite
        else
            echo "PostgreSQL not reachable at $PG (or no psql)" >&2; exit 2
        fi
    fi
fi

WORK=$(mktemp -d /tmp/mch-bench.XXXXXX)
PIDS=()
PG_DB_CREATED=
cleanup() {
    status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$PG_DB_CREATED" ]; then
        psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS mch_bench WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [ "$status" -eq 0 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else say "logs kept in $WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # url
    for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "no answer from $1" >&2; return 1
}

# Waits (up to QUIET_WAIT seconds over the whole run) until the CPUs are >= 90 % idle over 3 s, so
# that another process on the machine does not take cores from the measurement. Leaves the idle
# percentage seen last in $IDLE.
QUIET_LEFT=$QUIET_WAIT
IDLE=
cpu_idle() {
    python3 - <<'EOF'
import time
def snap():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return f[3] + f[4], sum(f)
i0, t0 = snap(); time.sleep(3); i1, t1 = snap()
print(int(100 * (i1 - i0) / max(1, t1 - t0)))
EOF
}
wait_quiet() {
    while :; do
        IDLE=$(cpu_idle)
        if [ "$IDLE" -ge 90 ]; then return 0; fi
        if [ "$QUIET_LEFT" -le 0 ]; then say "machine still busy (${IDLE}% idle); measuring anyway"; return 0; fi
        say "machine busy (${IDLE}% idle, load $(cut -d' ' -f1-3 /proc/loadavg)); waiting"
        sleep 7
        QUIET_LEFT=$((QUIET_LEFT - 10))
    done
}

# Samples VmRSS (kB) of a pid into a file every 0.2 s, with a phase label from $WORK/phase.
sample_rss() { # pid file
    while kill -0 "$1" 2>/dev/null; do
        rss=$(awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || true)
        [ -n "$rss" ] && echo "$(cat "$WORK/phase" 2>/dev/null || echo -) $rss" >>"$2"
        sleep 0.2
    done
}

measure() { # backend class url script duration [extra env...]
    local backend=$1 class=$2 url=$3 script=$4 duration=$5
    shift 5
    wait_quiet
    echo "$class" >"$WORK/phase"
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    local cmd=(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${duration}s" --timeout 10s --latency -s "$BENCH_DIR/lua/$script.lua" "$url")
    say "$backend/$class: ${cmd[*]}"
    env "$@" "${cmd[@]}" >"$WORK/$backend-$class.wrk" 2>&1
    echo idle >"$WORK/phase"
    local line
    line=$(grep '^BENCH ' "$WORK/$backend-$class.wrk" | sed 's/^BENCH //')
    [ -n "$line" ] || { cat "$WORK/$backend-$class.wrk" >&2; echo "wrk gave no result" >&2; exit 1; }
    python3 - "$WORK/results.jsonl" "$backend" "$class" "$load" "${cmd[*]}" "$line" "$IDLE" <<'EOF'
import json, sys
path, backend, cls, load, cmd, line, idle = sys.argv[1:]
r = json.loads(line)
r.update(backend=backend, cls=cls, load=load, cmd=cmd, idle=int(idle))
open(path, "a").write(json.dumps(r) + "\n")
print(f"   {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['errors']}, "
      f"statuses {r['status']}", file=sys.stderr)
for k, v in r.get("samples", {}).items():
    print(f"   first {k} answer: {v}", file=sys.stderr)
EOF
    sleep 2
}

run_backend() { # sqlite|postgres
    local backend=$1 url
    local dir=$WORK/$backend
    mkdir -p "$dir"
    if [ "$backend" = sqlite ]; then
        url="sqlite://$dir/mch-handbook.db"
    else
        psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS mch_bench WITH (FORCE)" >/dev/null
        psql "$PG/postgres" -qAtc "CREATE DATABASE mch_bench" >/dev/null
        PG_DB_CREATED=1
        url="$PG/mch_bench"
    fi
    local port hello_port
    port=$(free_port)
    hello_port=$(free_port)
    local -a server_env=(DATABASE_URL="$url" MCH_DATA_DIR="$dir" MCH_BIND="127.0.0.1:$port" MCH_DEMO_MODE=true
        MCH_DB_POOL_SIZE="$POOL" MCH_ACCESS_TOKEN_TTL_SECS=7200 RUST_LOG="${RUST_LOG:-info}")
    ARENAS=${BENCH_MALLOC_ARENA_MAX-4}
    [ -n "$ARENAS" ] && server_env+=(MALLOC_ARENA_MAX="$ARENAS")
    [ -n "${BENCH_WORKERS:-}" ] && server_env+=(MCH_WORKERS="$BENCH_WORKERS")
    say "$backend: demo county into $url"
    env "${server_env[@]}" "$MCH_BIN" demo >"$dir/demo.txt"
    env "${server_env[@]}" "$MCH_BIN" serve >"$dir/server.log" 2>&1 &
    local server_pid=$!
    PIDS+=("$server_pid")
    env ${BENCH_WORKERS:+MCH_WORKERS=$BENCH_WORKERS} "$HELLO_BIN" "127.0.0.1:$hello_port" >"$dir/hello.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/readyz"
    wait_http "http://127.0.0.1:$hello_port/"
    sample_rss "$server_pid" "$dir/rss.txt" &
    PIDS+=($!)
    echo generate >"$WORK/phase"
    say "$backend: generating the county (server pid $server_pid, port $port; hello on $hello_port)"
    python3 "$BENCH_DIR/generate.py" --base "http://127.0.0.1:$port" --demo "$dir/demo.txt" --out "$dir" \
        --pregnant "$PREGNANT" --mothers "$MOTHERS" --children "$CHILDREN" | tee "$dir/generate.txt" >&2
    echo idle >"$WORK/phase"
    export BENCH_DATA=$dir/data.lua
    local n_children dist_to
    n_children=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["children"]))' "$dir/data.json")
    dist_to=$((n_children * 3 / 4))

    local api=http://127.0.0.1:$port
    measure "$backend" hello "http://127.0.0.1:$hello_port/" hello "$DURATION"
    measure "$backend" handbook "$api" handbook "$DURATION"
    measure "$backend" worklist "$api" worklist "$DURATION"
    measure "$backend" checkup "$api" checkup "$DURATION"
    measure "$backend" distribution "$api" distribution "$DIST_DURATION" \
        BENCH_DIST_FROM=1 BENCH_DIST_TO="$dist_to" BENCH_EXPECTED=409
    measure "$backend" mixed "$api" mixed "$DURATION" \
        BENCH_DIST_FROM=$((dist_to + 1)) BENCH_DIST_TO="$n_children" BENCH_EXPECTED=409

    # One request of each read class, timed alone (no load), for the record.
    local mother clinician region
    mother=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mothers"][0])' "$dir/data.json")
    {
        echo "single requests on an idle server (curl -w time_total):"
        for i in 1 2 3; do
            curl -s -o /dev/null -w "  GET /api/v1/me/handbook  %{http_code} %{size_download} B %{time_total}s\n" \
                -H "Authorization: Bearer $mother" "$api/api/v1/me/handbook"
        done
    } >"$dir/single.txt"
    cat "$dir/single.txt" >&2

    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    python3 - "$WORK/results.jsonl" "$backend" "$dir/rss.txt" "$dir/generate.txt" <<'EOF'
import json, sys
path, backend, rss_path, gen_path = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if json.loads(l)["backend"] == backend]
hello = next(r for r in rows if r["cls"] == "hello")
rss = {}
for line in open(rss_path):
    phase, kb = line.split()
    rss[phase] = max(rss.get(phase, 0), int(kb))
measured = max((v for k, v in rss.items() if k not in ("generate", "-")), default=0)
print(f"\n### {backend}\n")
print(open(gen_path).read().strip().splitlines()[-1].strip())
print()
print(f"wrk: {hello['cmd'].split(' -s ')[0].replace('wrk ', '')}; before each run, 1-minute load average "
      "and CPU idle over 3 s: " + ", ".join(f"{r['cls']} {r['load'].split()[0]} / {r['idle']} %" for r in rows))
print()
print("| class | req/s | p50 ms | p99 ms | errors | 409 (children used up) | ratio to hello | statuses |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    ratio = r["rps"] / hello["rps"] if hello["rps"] else 0
    print(f"| {r['cls']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['expected']} "
          f"| {ratio * 100:.1f} % | {' '.join(f'{k}×{v}' for k, v in sorted(r['status'].items()))} |")
mixed = next((r for r in rows if r["cls"] == "mixed"), None)
if mixed:
    print("\nmixed run by class: " + ", ".join(f"{k}×{v}" for k, v in sorted(mixed["classes"].items())))
samples = [f"{r['cls']} run, {k}: `{v}`" for r in rows for k, v in r.get("samples", {}).items()]
if samples:
    print("\nfirst answer of each non-2xx kind:\n\n" + "\n".join(f"- {s}" for s in samples))
print(f"\nserver resident size (VmRSS, max): {rss.get('generate', 0) / 1024:.0f} MB while generating, "
      f"{measured / 1024:.0f} MB while measured ("
      + ", ".join(f"{k} {v / 1024:.0f}" for k, v in rss.items() if k not in ("generate", "-", "idle")) + " MB)")
EOF
    if [ "$backend" = postgres ]; then
        psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS mch_bench WITH (FORCE)" >/dev/null
        PG_DB_CREATED=
    fi
}

say "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "server $MCH_BIN, hello $HELLO_BIN, wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
case "$MODE" in
    both) run_backend sqlite; run_backend postgres ;;
    *) run_backend "$MODE" ;;
esac

#!/usr/bin/env bash
# Server CPU time per request: runs wrk against URL with a bench/lua script and divides the
# server's CPU time (utime+stime of PID, all threads) by the number of requests.
#   T=threads bash cpu_per_request.sh PID CONNECTIONS SECONDS SCRIPT.lua URL
# Needs BENCH_DIR and BENCH_DATA (see bench/lua/common.lua) in the environment.
set -euo pipefail
PID=$1 C=$2 D=$3 S=$4 U=$5
t0=$(awk '{print $14+$15}' "/proc/$PID/stat")
out=$(BENCH_THREADS=${T:-2} wrk -t"${T:-2}" -c"$C" -d"${D}s" --timeout 10s -s "$S" "$U" | grep '^BENCH ')
t1=$(awk '{print $14+$15}' "/proc/$PID/stat")
python3 - "$out" "$t0" "$t1" <<'PY'
import json, os, sys
r = json.loads(sys.argv[1][6:]); t = (int(sys.argv[3]) - int(sys.argv[2])) / os.sysconf("SC_CLK_TCK")
print(f"requests {r['requests']} rps {r['rps']:.0f} p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} "
      f"server cpu {t:.2f}s -> {1000 * t / r['requests']:.3f} ms cpu/request; statuses {r['status']}")
PY

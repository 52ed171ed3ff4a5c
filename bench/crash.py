#!/usr/bin/env python3
"""Crash test: acknowledged writes survive a killed server (SQLite) and a crashed database (PostgreSQL).

    python3 bench/crash.py --bin target/debug/mch-handbook [--backend sqlite|postgres|both]

(`bash bench/crash.sh [binary]` runs both backends; CI runs that.) Python 3 standard library only.

SQLite: a temporary data directory, `mch-handbook demo`, `mch-handbook serve` (demo mode) on a free
loopback port. Through the API: pregnant women (handbook + pregnancy) for checkups, and children
7-20 months old in 东湖村 (four per handbook, each with consent) with stock received by village.zhang for
distributions (one per child per month, so each distribution uses up a child). --writers threads
post checkups (dr.wang) and distributions (village.zhang); every 2xx is an acknowledgement, kept
with the fields sent. After --load seconds the server gets SIGKILL with requests in flight. Then:
`PRAGMA integrity_check` and `foreign_key_check` on a copy of the file and WAL as the kill left
them, the stock ledger and the audit rows checked in SQL, the server restarted on the original
file (its own WAL recovery), and every acknowledged write read back:
GET /api/v1/checkups/{id} (same visit date, pressures, weight, heart rate, note) and
GET /api/v1/children/{id}/nutrition (refused with already_issued_this_month); the stock balance
must equal the balance before the load minus the sachets of every committed distribution. After
a clean stop, integrity_check again on the original file.

PostgreSQL: a private cluster (initdb into a temporary directory, trust authentication, a free
port on 127.0.0.1, run as the `postgres` OS user when started as root) — never the shared server.
Same set-up and writers; after --load seconds `pg_ctl stop -m immediate` (a crash) while the app
keeps running: /readyz must answer 503 and writes 503 (a 500 is a failure), then PostgreSQL is
started again and /readyz must return to 200 within --recover-timeout seconds with the same app
process; writes after that must succeed. Then the same verification, `pg_amcheck` when the
amcheck extension is available, and the ledger/audit checks with psql. The cluster is stopped at
the end (also on failure or Ctrl-C) and its directory goes with the work directory.

Figures: acknowledged, verified, missing (must be 0), mismatched (must be 0), extra (committed
but never acknowledged: the requests in flight at the crash; allowed, reported). One summary line
per backend, starting with `CRASH <backend>: PASS` or `FAIL`. Exit status 0 only if every
backend passed. Work directories are removed on success and kept (path printed) on failure or
with --keep.

Knobs: --writers 8, --load 3 (seconds of load before the crash), --outage 4 (seconds PostgreSQL
stays down), --after 2 (seconds of load after recovery), --pregnancies 24, --children 800 (per
backend; distributions stop when they are used up and the writer posts checkups instead),
--distribution-share 0.3, --recover-timeout 30, --pool-timeout 2 (MCH_DB_POOL_TIMEOUT_SECS of the
PostgreSQL run, so writes during the outage answer within 2 s), --pg-bindir (default: the newest /usr/lib/postgresql/*/bin, or PATH).
"""

import argparse
import collections
import concurrent.futures as cf
import datetime as dt
import glob
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

T_START = time.monotonic()
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
VILLAGE = "990101001001"  # 东湖村: the demo's village clinic (village.zhang) sees its families


def china_today():
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()


def say(msg):
    print(f"== [{time.monotonic() - T_START:6.1f}s] {msg}", flush=True)


def resident_id(i):
    """A valid GB 11643 number for a woman, distinct for each i (< 500 * 5000)."""
    birth = dt.date(1985, 1, 1) + dt.timedelta(days=i // 500)
    first17 = "990101" + birth.strftime("%Y%m%d") + f"{(i % 500) * 2:03d}"
    s = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return first17 + CHECK[s % 11]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- HTTP ----------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection; no retries (a retry could turn one request into two writes)."""

    def __init__(self, port, timeout=30):
        self.port, self.timeout, self.conn = port, timeout, None
        self.last_used = 0.0

    def reset(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def call(self, method, path, body=None, token=None, headers=None):
        """(status, parsed JSON or None, raw bytes, response headers); raises OSError/HTTPException."""
        h = {"Accept": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        if self.conn is not None and time.monotonic() - self.last_used > 2:
            self.reset()  # the server closes idle keep-alive connections (5 s): never reuse a stale one
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
            raw = r.read()
        except Exception:
            self.reset()
            raise
        self.last_used = time.monotonic()
        if r.getheader("Connection", "").lower() == "close":
            self.reset()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, parsed, raw, dict(r.getheaders())

    def ok(self, method, path, body=None, token=None, expect=(200, 201)):
        status, parsed, raw, _ = self.call(method, path, body, token)
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:300]!r}")
        return parsed


_local = threading.local()


def thread_client(port):
    c = getattr(_local, "client", None)
    if c is None or c.port != port:
        c = _local.client = Client(port)
    return c


def parallel(fn, items, workers=8):
    with cf.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


# --- the server ----------------------------------------------------------------------------------

class Server:
    def __init__(self, binary, env, workdir):
        self.binary, self.env, self.workdir = binary, env, workdir
        self.port = int(env["MCH_BIND"].rsplit(":", 1)[1])
        self.proc = None
        self.starts = 0
        self.log_path = os.path.join(workdir, "server.log")

    def demo(self):
        out = subprocess.run([self.binary, "demo"], env=self.env, capture_output=True, text=True, timeout=120)
        with open(os.path.join(self.workdir, "demo.txt"), "w") as f:
            f.write(out.stdout + out.stderr)
        if out.returncode != 0:
            raise RuntimeError(f"`mch-handbook demo` failed ({out.returncode}): {out.stderr[-800:]}")
        pw = dict(re.findall(r"^  (\S+)\s+.*password: (\S+)\s*$", out.stdout, re.M))
        for user in ("dr.wang", "village.zhang"):
            if user not in pw:
                raise RuntimeError(f"no password for {user} in the demo output")
        return pw

    def start(self, timeout=60):
        self.starts += 1
        log = open(self.log_path, "a")
        log.write(f"\n----- crash.py: start #{self.starts} -----\n")
        log.flush()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        c = Client(self.port, timeout=5)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + self.tail())
            try:
                if c.call("GET", "/readyz")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                c.reset()
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready within {timeout}s:\n" + self.tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, n=20):
        try:
            return "".join(open(self.log_path, errors="replace").readlines()[-n:])
        except OSError:
            return ""

    def grep(self, needle, n=3):
        try:
            return [l.rstrip() for l in open(self.log_path, errors="replace") if needle in l][:n]
        except OSError:
            return []


# --- set-up through the API ----------------------------------------------------------------------

class County:
    """What the writers need: tokens, pregnancies, children with consent, stock."""

    def __init__(self, port, passwords, n_pregnancies, n_children, seed, id_base):
        self.port = port
        self.passwords = passwords
        c = Client(port)
        self.login(c)
        today = china_today()
        rng = random.Random(seed)

        def pregnant(i):
            api = thread_client(port)
            hb = api.ok("POST", "/api/v1/handbooks", {
                "id_type": "resident_id", "id_number": resident_id(id_base + i), "full_name": f"崩溃测试孕妇{i}",
                "residence_region_code": VILLAGE, "height_cm": 160, "pre_pregnancy_weight_kg": 52}, self.dr)["id"]
            lmp = today - dt.timedelta(days=120 + (i * 7) % 100)
            p = api.ok("POST", f"/api/v1/handbooks/{hb}/pregnancies",
                       {"lmp": lmp.isoformat(), "gravidity": 1, "parity": 0, "fetal_count": 1}, self.dr)["id"]
            return {"id": p, "lmp": lmp}

        def family(i):
            # Quadruplets (one handbook, four children born together): fewer set-up requests per child.
            api = thread_client(port)
            hb = api.ok("POST", "/api/v1/handbooks", {
                "id_type": "resident_id", "id_number": resident_id(id_base + 100000 + i), "full_name": f"崩溃测试母亲{i}",
                "residence_region_code": VILLAGE}, self.dr)["id"]
            born = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=200 + (i * 37) % 400)
            kids = []
            for k in range(4):
                ch = api.ok("POST", f"/api/v1/handbooks/{hb}/children", {
                    "name": f"测试宝宝{i}-{k}", "sex": "female" if k % 2 else "male",
                    "born_at": born.strftime("%Y-%m-%dT%H:%M:%SZ"), "birth_weight_g": 2200}, self.dr)["id"]
                api.ok("POST", f"/api/v1/children/{ch}/nutrition/events", {
                    "kind": "consent", "date": today.isoformat(), "signed_by": f"崩溃测试母亲{i}（母亲）",
                    "consent_form": "paper"}, self.vz)
                kids.append(ch)
            return kids

        t0 = time.monotonic()
        self.pregnancies = parallel(pregnant, range(n_pregnancies))
        self.children = [ch for kids in parallel(family, range((n_children + 3) // 4)) for ch in kids]
        n_children = len(self.children)
        rng.shuffle(self.children)
        c.ok("POST", "/api/v1/stock/receipts", {
            "lot": f"CRASH-{seed}", "expiry": (today + dt.timedelta(days=365)).isoformat(),
            "quantity": n_children * 30 + 600, "supplier": "crash test"}, self.vz)
        self.stock_before = self.stock(c)
        say(f"set-up: {n_pregnancies} pregnancies, {n_children} children with consent, "
            f"stock {self.stock_before} sachets ({time.monotonic() - t0:.1f}s)")

    def login(self, c):
        self.dr = c.ok("POST", "/api/v1/auth/login", {"username": "dr.wang", "password": self.passwords["dr.wang"]})["access_token"]
        self.vz = c.ok("POST", "/api/v1/auth/login",
                       {"username": "village.zhang", "password": self.passwords["village.zhang"]})["access_token"]

    def stock(self, c):
        return sum(lot["balance"] for lot in c.ok("GET", "/api/v1/stock", token=self.vz)["items"])


# --- the writers ---------------------------------------------------------------------------------

class Load:
    """Writer threads; every attempt is kept with its phase, status or connection error."""

    def __init__(self, port, county, writers, seed, share):
        self.port, self.county, self.seed, self.share = port, county, seed, share
        self.lock = threading.Lock()
        self.children = collections.deque(county.children)
        self.attempts = []
        self.stop = threading.Event()
        self.phase = "load"
        self.threads = [threading.Thread(target=self.writer, args=(n,), daemon=True) for n in range(writers)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def next_child(self):
        with self.lock:
            return self.children.popleft() if self.children else None

    def writer(self, n):
        rng = random.Random(self.seed * 100 + n)
        api = Client(self.port)
        i = 0
        while not self.stop.is_set():
            i += 1
            child = self.next_child() if rng.random() < self.share else None
            if child is None:
                p = rng.choice(self.county.pregnancies)
                visit = china_today() - dt.timedelta(days=rng.randint(1, 60))
                systolic = rng.randint(95, 150)
                body = {"visit_date": visit.isoformat(), "weight_kg": round(rng.uniform(48, 85), 1),
                        "bp_systolic": systolic, "bp_diastolic": rng.randint(55, min(100, systolic - 10)),
                        "fetal_heart_rates": [rng.randint(120, 160)], "complaints": f"crash w{n} #{i}"}
                a = {"kind": "checkup", "target": p["id"], "body": body}
                path, token = f"/api/v1/pregnancies/{p['id']}/checkups", self.county.dr
            else:
                body = {"remaining_at_home": rng.randint(0, 5)}
                a = {"kind": "distribution", "target": child, "body": body}
                path, token = f"/api/v1/children/{child}/nutrition/distributions", self.county.vz
            a["phase"] = self.phase
            a["t0"] = time.monotonic()
            try:
                status, data, raw, headers = api.call("POST", path, body, token)
                a["status"] = status
                if 200 <= status < 300 and isinstance(data, dict) and "id" in data:
                    a["id"] = data["id"]
                    a["sachets"] = data.get("sachets")
                else:
                    a["answer"] = raw[:300].decode(errors="replace")
                    a["request_id"] = headers.get("X-Request-Id") or headers.get("x-request-id")
            except (OSError, http.client.HTTPException) as e:
                a["error"] = f"{type(e).__name__}: {e}"
            a["t1"] = time.monotonic()
            a["phase_end"] = self.phase
            with self.lock:
                self.attempts.append(a)
            if "error" in a:
                time.sleep(0.05)

    def acked(self, kind=None):
        return [a for a in self.attempts if "id" in a and (kind is None or a["kind"] == kind)]


# --- verification --------------------------------------------------------------------------------

class Result:
    def __init__(self, backend):
        self.backend = backend
        self.failures = []
        self.figures = collections.OrderedDict()
        self.notes = []

    def fail(self, msg):
        self.failures.append(msg)
        say(f"FAILURE: {msg}")

    def line(self):
        verdict = "PASS" if not self.failures else "FAIL"
        order = ["acknowledged", "verified", "missing", "mismatched", "extra", "in_flight_at_kill", "in_flight_at_crash", "refused", "integrity",
                 "ledger", "stock", "readyz_down", "writes_down", "http500", "recovered", "app_restarts",
                 "writes_after", "seconds"]
        keys = sorted(self.figures, key=lambda k: order.index(k) if k in order else len(order))
        figs = " ".join(f"{k}={self.figures[k]}" for k in keys)
        return f"CRASH {self.backend}: {verdict} {figs}" + (f" failures={len(self.failures)}" if self.failures else "")


def verify(port, county, load, result):
    """Reads back every acknowledged write; counts extra commits of unacknowledged attempts."""
    county.login(Client(port))
    ack_c = load.acked("checkup")
    ack_d = load.acked("distribution")

    def read_checkup(a):
        api = thread_client(port)
        status, data, raw, _ = api.call("GET", f"/api/v1/checkups/{a['id']}", token=county.dr)
        if status == 404:
            return "missing", a, None
        if status != 200:
            return "error", a, f"{status} {raw[:200]!r}"
        b = a["body"]
        got = {k: data.get(k) for k in b}
        if (got["visit_date"] != b["visit_date"] or got["bp_systolic"] != b["bp_systolic"]
                or got["bp_diastolic"] != b["bp_diastolic"] or abs((got["weight_kg"] or 0) - b["weight_kg"]) > 1e-6
                or got["fetal_heart_rates"] != b["fetal_heart_rates"] or got["complaints"] != b["complaints"]
                or data.get("pregnancy_id") != a["target"]):
            return "mismatch", a, f"sent {b}, read {got}"
        return "ok", a, None

    def child_issued(child):
        api = thread_client(port)
        status, data, raw, _ = api.call("GET", f"/api/v1/children/{child}/nutrition", token=county.dr)
        if status != 200:
            return child, None, f"{status} {raw[:200]!r}"
        return child, data.get("refusal") == "already_issued_this_month", None

    counts = collections.Counter()
    for outcome, a, detail in parallel(read_checkup, ack_c):
        counts["checkup_" + outcome] += 1
        if outcome != "ok":
            result.fail(f"acknowledged checkup {a['id']} (sent {a['body']}): {outcome} {detail or ''}")
    # Extra checkups: everything on our pregnancies that was never acknowledged.
    acked_ids = {a["id"] for a in ack_c}
    present = set()

    def list_checkups(p):
        return thread_client(port).ok("GET", f"/api/v1/pregnancies/{p['id']}/checkups", token=county.dr)

    for rows in parallel(list_checkups, county.pregnancies):
        present.update(r["id"] for r in rows["items"])
    extra_c = len(present - acked_ids)
    if acked_ids - present:
        result.fail(f"{len(acked_ids - present)} acknowledged checkups missing from the pregnancies' lists")

    # Distributions: every child a distribution was attempted for.
    attempted = {}
    for a in load.attempts:
        if a["kind"] == "distribution":
            attempted.setdefault(a["target"], []).append(a)
    acked_children = {a["target"] for a in ack_d}
    extra_d, missing_d = 0, 0
    for child, issued, err in parallel(child_issued, sorted(attempted)):
        if err:
            result.fail(f"GET nutrition of child {child}: {err}")
            continue
        if child in acked_children and not issued:
            missing_d += 1
            result.fail(f"acknowledged distribution to child {child} is not recorded (GET nutrition: not issued)")
        elif child not in acked_children and issued:
            extra_d += 1
    c = Client(port)
    balance = county.stock(c)
    sachets = [a["sachets"] or 30 for a in ack_d]
    per = sachets[0] if sachets else 30
    expected_acked = county.stock_before - sum(sachets)
    expected_all = expected_acked - extra_d * per
    stock_note = (f"stock before {county.stock_before}, after {balance}, "
                  f"before − acknowledged {expected_acked}, − extra commits {expected_all}")
    if balance != expected_all:
        result.fail(f"stock balance off: {stock_note}")
    missing = counts["checkup_missing"] + missing_d + counts["checkup_error"]
    result.figures["acknowledged"] = f"{len(ack_c) + len(ack_d)}({len(ack_c)}c+{len(ack_d)}d)"
    result.figures["verified"] = counts["checkup_ok"] + len(ack_d) - missing_d
    result.figures["missing"] = missing
    result.figures["mismatched"] = counts["checkup_mismatch"]
    result.figures["extra"] = f"{extra_c + extra_d}({extra_c}c+{extra_d}d)"
    result.figures["stock"] = f"{balance}={'ok' if balance == expected_all else 'OFF'}"
    say(f"verified: {counts['checkup_ok']}/{len(ack_c)} checkups read back intact, "
        f"{len(ack_d) - missing_d}/{len(ack_d)} distributions recorded; extra commits (unacknowledged): "
        f"{extra_c} checkups, {extra_d} distributions; {stock_note}")


LEDGER_SQL = {
    # balance of every lot = its receipts − its issues/transfers in the movement ledger
    "lots whose balance differs from their movements": """
        SELECT COUNT(*) FROM stock_lots l WHERE l.balance <> COALESCE((SELECT SUM(CASE WHEN m.direction = 'in'
          THEN m.quantity ELSE -m.quantity END) FROM stock_movements m
          WHERE m.institution_id = l.institution_id AND m.lot = l.lot), 0)""",
    "issue events whose stock movements do not add up": """
        SELECT COUNT(*) FROM nutrition_events e WHERE e.kind = 'issue' AND e.sachets <> COALESCE((SELECT
          SUM(m.quantity) FROM stock_movements m WHERE m.ref_id = e.id AND m.direction = 'out'), 0)""",
    "issue movements without their event": """
        SELECT COUNT(*) FROM stock_movements m WHERE m.reason = 'issue'
          AND NOT EXISTS (SELECT 1 FROM nutrition_events e WHERE e.id = m.ref_id)""",
    "checkups without their audit row": """
        SELECT COUNT(*) FROM checkups c WHERE NOT EXISTS (SELECT 1 FROM audit_events a
          WHERE a.action = 'checkup.create' AND a.resource_id = c.id)""",
}
COUNT_SQL = {
    "checkups": "SELECT COUNT(*) FROM checkups",
    "issues": "SELECT COUNT(*) FROM nutrition_events WHERE kind = 'issue'",
}


def check_ledger(run_sql, result):
    bad = {}
    for label, sql in LEDGER_SQL.items():
        n = int(run_sql(sql))
        if n:
            bad[label] = n
            result.fail(f"{label}: {n}")
    counts = {k: int(run_sql(sql)) for k, sql in COUNT_SQL.items()}
    say(f"ledger/audit checks: {'ok' if not bad else bad}; rows: {counts}")
    result.figures["ledger"] = "ok" if not bad else "BAD"
    return counts


def json_code(text):
    try:
        return json.loads(text).get("code")
    except (TypeError, ValueError, AttributeError):
        return None


def summarise_attempts(load, result, kill_t=None, crash_t=None):
    by = collections.Counter()
    for a in load.attempts:
        by[(a["phase"], a["kind"], a.get("status", "conn-error"))] += 1
    parts = [f"{ph}/{k}/{s}×{n}" for (ph, k, s), n in sorted(by.items(), key=lambda x: str(x[0]))]
    say("attempts by phase/kind/status: " + ", ".join(parts))
    if not load.children:
        say(f"note: all {len(load.county.children)} children got their distribution before the end; the writers "
            f"posted only checkups after that (raise --children)")
    seen = set()
    for a in load.attempts:
        key = (a["kind"], a.get("status"))
        if "answer" in a and key not in seen:
            seen.add(key)
            say(f"  first {a['kind']} {a['status']} ({a['phase']}, request {a.get('request_id')}): {a['answer'][:240]}")
    # Valid writes refused while the database was up (not counting answers to requests in flight
    # at the database crash).
    refused = [a for a in load.attempts if a.get("status") is not None and not 200 <= a["status"] < 300
               and a["phase"] in ("load", "after") and not (crash_t is not None and a["t1"] >= crash_t
                                                         and a["phase"] == "load")]
    if crash_t is not None:
        hit = collections.Counter(a.get("status", "conn-error") for a in load.attempts
                                  if (a["phase"] == "load" and a["t1"] >= crash_t) or a["phase"] == "crashing")
        result.figures["in_flight_at_crash"] = "/".join(f"{k}×{v}" for k, v in sorted(hit.items(), key=str)) or "0"
    codes = collections.Counter(f"{a['status']}:{(json_code(a.get('answer')))}" for a in refused)
    result.figures["refused"] = len(refused) if not refused else f"{len(refused)}({','.join(f'{k}×{v}' for k, v in codes.items())})"
    if kill_t is not None:
        inflight = [a for a in load.attempts if "error" in a and a["t0"] <= kill_t]
        result.figures["in_flight_at_kill"] = len(inflight)
        errors = collections.Counter(a["error"].split(":")[0] for a in inflight)
        say(f"in flight at the kill: {len(inflight)} ({dict(errors)})")


def sqlite_checks(path, result):
    """integrity_check and foreign_key_check (and the ledger/audit checks when result is given)."""
    con = sqlite3.connect(path)
    try:
        integrity = [r[0] for r in con.execute("PRAGMA integrity_check")]
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if result is not None:
            check_ledger(lambda sql: con.execute(sql).fetchone()[0], result)
    finally:
        con.close()
    return integrity, fk


# --- SQLite ----------------------------------------------------------------------------------------

def run_sqlite(a, result, work):
    db = os.path.join(work, "mch-handbook.db")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite://{db}", MCH_DATA_DIR=work, MCH_BIND=f"127.0.0.1:{port}",
               MCH_DEMO_MODE="true", MCH_LOG_FORMAT="text", RUST_LOG=os.environ.get("RUST_LOG", "info"))
    server = Server(a.bin, env, work)
    try:
        pw = server.demo()
        server.start()
        say(f"sqlite: server pid {server.proc.pid} on port {port}, database {db}")
        county = County(port, pw, a.pregnancies, a.children, seed=1, id_base=0)
        load = Load(port, county, a.writers, seed=1, share=a.distribution_share)
        load.start()
        time.sleep(a.load)
        kill_t = time.monotonic()
        server.kill9()
        load.stop.set()
        say(f"sqlite: SIGKILL sent to pid {server.proc.pid} after {a.load}s of load "
            f"({len(load.attempts)} attempts so far)")
        load.join()
        summarise_attempts(load, result, kill_t)

        # Checked on a copy of the file and its WAL exactly as the kill left them, so that the
        # restarted server does its own WAL recovery on the original.
        wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
        copy_dir = os.path.join(work, "after-kill")
        os.makedirs(copy_dir)
        for suffix in ("", "-wal"):
            if os.path.exists(db + suffix):
                shutil.copy2(db + suffix, os.path.join(copy_dir, "copy.db" + suffix))
        integrity, fk = sqlite_checks(os.path.join(copy_dir, "copy.db"), result)
        say(f"sqlite: after the kill: PRAGMA integrity_check -> {integrity[:5]}; foreign_key_check -> {len(fk)} rows "
            f"(WAL left by the killed server: {wal} bytes)")
        result.figures["integrity"] = "ok" if integrity == ["ok"] else "FAILED"
        if integrity != ["ok"]:
            result.fail(f"integrity_check after the kill: {integrity[:10]}")
        if fk:
            result.fail(f"foreign_key_check after the kill: {fk[:10]}")

        server.start()
        say(f"sqlite: restarted (pid {server.proc.pid}) on the same file")
        verify(port, county, load, result)
        c = Client(port)
        p = county.pregnancies[0]
        status = c.call("POST", f"/api/v1/pregnancies/{p['id']}/checkups",
                        {"visit_date": china_today().isoformat(), "bp_systolic": 120, "bp_diastolic": 80},
                        county.dr)[0]
        if status != 201:
            result.fail(f"a new checkup after the restart answered {status}")
        server.stop()
        integrity2, fk2 = sqlite_checks(db, None)
        say(f"sqlite: after the restart and a clean stop: integrity_check -> {integrity2[:5]}, "
            f"foreign_key_check -> {len(fk2)} rows")
        if integrity2 != ["ok"] or fk2:
            result.figures["integrity"] = "FAILED"
            result.fail(f"the database after the restart: integrity_check {integrity2[:10]}, foreign_key_check {fk2[:10]}")
        for line in server.grep(" ERROR ") + server.grep("panicked"):
            result.notes.append(line)
    finally:
        server.stop()


# --- PostgreSQL ------------------------------------------------------------------------------------

class Cluster:
    """A private PostgreSQL cluster in a temporary directory (trust auth, 127.0.0.1, free port)."""

    def __init__(self, bindir, work):
        self.bindir = bindir
        self.dir = os.path.join(work, "pg")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.as_postgres = []
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: the cluster belongs to the postgres OS user.
            shutil.chown(self.dir, "postgres", "postgres")
            os.chmod(work, 0o755)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.started = False

    def pg(self, tool, *args, check=True, timeout=60):
        cmd = self.as_postgres + [os.path.join(self.bindir, tool), *args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-800:]}")
        return out

    def init(self):
        self.pg("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-sync", "--no-instructions", timeout=120)

    def start(self):
        opts = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                f"-c max_connections=100 -c log_min_messages=warning")
        self.pg("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", opts, "start", timeout=90)
        self.started = True

    def crash(self):
        self.pg("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def stop(self):
        if self.started:
            self.pg("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop", check=False)
            self.started = False

    def psql(self, db, sql):
        out = self.pg("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-qAtX",
                      "-v", "ON_ERROR_STOP=1", "-c", sql)
        return out.stdout.strip()

    def url(self, db):
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"


def find_pg_bindir(given):
    if given:
        return given
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    for d in reversed(candidates):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def run_postgres(a, result, work):
    bindir = find_pg_bindir(a.pg_bindir)
    if not bindir:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found; give --pg-bindir")
    cluster = Cluster(bindir, work)
    server = None
    try:
        t0 = time.monotonic()
        cluster.init()
        cluster.start()
        cluster.pg("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "mch")
        say(f"postgres: private cluster {cluster.data} on 127.0.0.1:{cluster.port} ({bindir}), "
            f"ready in {time.monotonic() - t0:.1f}s")
        port = free_port()
        data_dir = os.path.join(work, "data")
        env = dict(os.environ, DATABASE_URL=cluster.url("mch"), MCH_DATA_DIR=data_dir, MCH_BIND=f"127.0.0.1:{port}",
                   MCH_DEMO_MODE="true", MCH_LOG_FORMAT="text", RUST_LOG=os.environ.get("RUST_LOG", "info"),
                   MCH_DB_POOL_TIMEOUT_SECS=str(a.pool_timeout))
        server = Server(a.bin, env, work)
        pw = server.demo()
        server.start()
        pid = server.proc.pid
        say(f"postgres: server pid {pid} on port {port}")
        county = County(port, pw, a.pregnancies, a.children, seed=2, id_base=200000)
        load = Load(port, county, a.writers, seed=2, share=a.distribution_share)
        load.start()
        time.sleep(a.load)

        load.phase = "crashing"
        crash_t = time.monotonic()
        cluster.crash()
        load.phase = "outage"
        say(f"postgres: `pg_ctl stop -m immediate` done in {time.monotonic() - crash_t:.1f}s after {a.load}s of load; "
            f"the app keeps running")
        probe = Client(port, timeout=10)
        ready_codes = collections.Counter()
        first_503 = None
        end = time.monotonic() + a.outage
        while time.monotonic() < end:
            try:
                status, data, raw, _ = probe.call("GET", "/readyz")
            except (OSError, http.client.HTTPException) as e:
                status, raw = type(e).__name__, b""
            ready_codes[status] += 1
            if status == 503 and first_503 is None:
                first_503 = raw[:200].decode(errors="replace")
            time.sleep(0.25)
        say(f"postgres: /readyz while down: {dict(ready_codes)}; e.g. {first_503}")
        if set(ready_codes) != {503}:
            result.fail(f"/readyz while PostgreSQL was down answered {dict(ready_codes)} (expected only 503)")
        result.figures["readyz_down"] = "/".join(f"{k}×{v}" for k, v in sorted(ready_codes.items(), key=str))

        load.phase = "recovering"
        restart_t = time.monotonic()
        cluster.start()
        say(f"postgres: PostgreSQL started again ({time.monotonic() - restart_t:.1f}s, crash recovery included)")
        recovered = None
        not_ready = collections.Counter()
        while time.monotonic() < restart_t + a.recover_timeout:
            try:
                status = probe.call("GET", "/readyz")[0]
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
            if status == 200:
                recovered = time.monotonic() - restart_t
                break
            not_ready[status] += 1
            time.sleep(0.2)
        if recovered is None:
            result.fail(f"/readyz did not return to 200 within {a.recover_timeout}s of PostgreSQL's restart "
                        f"(answers: {dict(not_ready)})")
            result.figures["recovered"] = "NO"
        else:
            say(f"postgres: /readyz 200 again {recovered:.1f}s after PostgreSQL started (before: {dict(not_ready)})")
            result.figures["recovered"] = f"{recovered:.1f}s"
        if not server.alive() or server.proc.pid != pid:
            result.fail("the app process did not survive the database crash")
        result.figures["app_restarts"] = server.starts - 1

        load.phase = "after"
        time.sleep(a.after)
        load.join()
        summarise_attempts(load, result, crash_t=crash_t)
        by_phase = collections.defaultdict(collections.Counter)
        for at in load.attempts:
            by_phase[at["phase"]][at.get("status", "conn-error")] += 1
        fives = [at for at in load.attempts if at.get("status") == 500]
        errs = [at for at in load.attempts if "error" in at]
        # Writes sent after the crash completed and answered before PostgreSQL was started again
        # (writes sent in the outage that waited for a pooled connection past the restart may succeed).
        out = collections.Counter(at.get("status", "conn-error") for at in load.attempts
                                  if at["phase"] == "outage" and at["t1"] < restart_t)
        late = collections.Counter(at.get("status", "conn-error") for at in load.attempts
                                   if at["phase"] == "outage" and at["t1"] >= restart_t)
        if late:
            say(f"postgres: writes sent during the outage, answered after PostgreSQL was started again: {dict(late)}")
        ok_down = sum(n for s_, n in out.items() if isinstance(s_, int) and 200 <= s_ < 300)
        if ok_down:
            result.fail(f"{ok_down} writes sent and answered while PostgreSQL was down got a 2xx (impossible)")
        result.figures["writes_down"] = "/".join(f"{k}×{v}" for k, v in sorted(out.items(), key=str)) or "none"
        result.figures["http500"] = len(fives)
        if fives:
            by_code = collections.Counter((f["phase"], f["kind"]) for f in fives)
            result.fail(f"{len(fives)} writes answered 500 around the outage ({dict(by_code)}), first: "
                        f"{fives[0]['answer']} (request {fives[0].get('request_id')})")
            for f in fives[:3]:
                for line in server.grep(f.get("request_id") or "\0", 4):
                    say(f"  server log: {line}")
        if errs:
            result.fail(f"{len(errs)} writes got no HTTP answer (connection error), first: {errs[0]['error']}")
        after = by_phase["after"]
        ok_after = sum(n for s, n in after.items() if isinstance(s, int) and 200 <= s < 300)
        bad_after = {s: n for s, n in after.items() if not (isinstance(s, int) and 200 <= s < 300)}
        result.figures["writes_after"] = f"{ok_after}ok" + (f"+{sum(bad_after.values())}bad" if bad_after else "")
        if not ok_after:
            result.fail("no write succeeded after /readyz returned to 200")
        if bad_after:
            result.fail(f"writes after /readyz returned to 200 that did not succeed: {bad_after}")
        other_outage = {s: n for s, n in out.items() if s not in (503,) and not (isinstance(s, int) and 200 <= s < 300)}
        if other_outage:
            say(f"postgres: note: writes during the outage answered {other_outage}")

        verify(port, county, load, result)
        check_ledger(lambda sql: cluster.psql("mch", sql), result)
        amcheck = cluster.pg("pg_amcheck", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                             "--install-missing", "--heapallindexed", "-d", "mch", check=False, timeout=120)
        if amcheck.returncode == 0:
            result.figures["integrity"] = "ok(pg_amcheck)"
            say("postgres: pg_amcheck --heapallindexed: no corruption")
        elif "amcheck" in amcheck.stderr and ("not available" in amcheck.stderr or "could not open" in amcheck.stderr):
            result.figures["integrity"] = "n/a"
            say(f"postgres: pg_amcheck unavailable: {amcheck.stderr.strip()[:200]}")
        else:
            result.figures["integrity"] = "FAILED"
            result.fail(f"pg_amcheck: {(amcheck.stdout + amcheck.stderr).strip()[:800]}")
        c = Client(port)
        p = county.pregnancies[0]
        status = c.call("POST", f"/api/v1/pregnancies/{p['id']}/checkups",
                        {"visit_date": china_today().isoformat(), "bp_systolic": 120, "bp_diastolic": 80},
                        county.dr)[0]
        if status != 201:
            result.fail(f"a new checkup after recovery answered {status}")
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


# --- main ------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the mch-handbook binary")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--load", type=float, default=3.0, help="seconds of load before the crash")
    ap.add_argument("--outage", type=float, default=4.0, help="seconds PostgreSQL stays down")
    ap.add_argument("--after", type=float, default=2.0, help="seconds of load after recovery (PostgreSQL)")
    ap.add_argument("--pregnancies", type=int, default=24)
    ap.add_argument("--children", type=int, default=800)
    ap.add_argument("--distribution-share", type=float, default=0.3,
                    help="fraction of the writes that are distributions (while children last)")
    ap.add_argument("--recover-timeout", type=float, default=30.0)
    ap.add_argument("--pool-timeout", type=int, default=2, help="MCH_DB_POOL_TIMEOUT_SECS for the PostgreSQL run")
    ap.add_argument("--pg-bindir", default=os.environ.get("PG_BINDIR"))
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"not an executable: {a.bin}")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    results = []
    for backend in (["sqlite", "postgres"] if a.backend == "both" else [a.backend]):
        result = Result(backend)
        results.append(result)
        work = tempfile.mkdtemp(prefix=f"mch-crash-{backend}-")
        t0 = time.monotonic()
        say(f"{backend}: binary {a.bin}, work directory {work}")
        try:
            (run_sqlite if backend == "sqlite" else run_postgres)(a, result, work)
        except KeyboardInterrupt:
            result.fail("interrupted")
            raise
        except Exception as e:  # a broken run is a failed run, with the reason
            result.fail(f"{type(e).__name__}: {e}")
            traceback.print_exc()
        finally:
            result.figures["seconds"] = f"{time.monotonic() - t0:.0f}"
            for n in result.notes[:5]:
                say(f"{backend}: server log: {n}")
            if result.failures or a.keep:
                say(f"{backend}: logs kept in {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
            say(result.line())
    print()
    for r in results:
        print(r.line(), flush=True)
        for f in r.failures[:10]:
            print(f"  - {f}", flush=True)
    sys.exit(0 if all(not r.failures for r in results) else 1)


if __name__ == "__main__":
    main()

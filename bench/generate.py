#!/usr/bin/env python3
"""Generate a realistic county for the load test, through the public API.

    python3 bench/generate.py --base http://127.0.0.1:PORT --demo demo.txt --out DIR

The server must run with the demo county loaded (`mch-handbook demo`) and MCH_DEMO_MODE=true
(mothers sign in with the WeChat codes `demo-<anything>`). Python 3 standard library only.

What it creates (the defaults are the size of a small county, ~300,000 people, ~3,000 births a
year; every number is an option):

* two more village clinics (西山村, 河口村) and a township centre for 河西乡, with a village
  doctor / clinician account each, so the county has 3 villages, 2 townships;
* --pregnant handbooks of pregnant women spread over the 3 villages, registered by their
  township centre, each with an ongoing pregnancy (LMP 8 to 38 weeks ago, EDD from the LMP) and
  the checkups of the visit plan so far (1 to 6, with labs at the booking visit, ~1 in 5 with
  an ultrasound);
* --mothers of them bound to a WeChat account (demo code `demo-bench-mother-N`), through a
  binding code, so GET /api/v1/me/handbook answers with real data;
* --children families with a child aged 6 to 20 months, each enrolled in the nutrition-pack
  programme of her village (consent recorded), and enough stock in each village clinic.

It writes into --out:
  data.json  every token and id (for people and for other tools)
  data.lua   the same, as a Lua table the wrk scripts load

Access tokens last MCH_ACCESS_TOKEN_TTL_SECS (15 minutes by default): run.sh raises it for the
length of the run; run the generator right before measuring otherwise.
"""

import argparse
import concurrent.futures as cf
import datetime as dt
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse

TODAY = dt.date.today()
VILLAGES = {
    # code: (village, township code)
    "990101001001": "东湖村",
    "990101001002": "西山村",
    "990101002001": "河口村",
}
TOWNSHIP_OF = {
    "990101001001": "990101001000",
    "990101001002": "990101001000",
    "990101002001": "990101002000",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "秀英桂兰芳娟敏静丽艳霞燕玲红梅琳雪婷慧倩颖洁萍凤华月春兰玉珍"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"

_local = threading.local()


class ApiError(Exception):
    pass


class Api:
    """A keep-alive HTTP/1.1 client per thread over http.client."""

    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port or 80
        self.calls = 0
        self.lock = threading.Lock()

    def _conn(self):
        c = getattr(_local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=60)
            _local.conn = c
        return c

    def call(self, method, path, body=None, token=None, expect=(200, 201), headers=None):
        h = {"Accept": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        for attempt in range(3):
            c = self._conn()
            try:
                c.request(method, path, body=data, headers=h)
                r = c.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                c.close()
                _local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)
        with self.lock:
            self.calls += 1
        if r.status not in expect:
            raise ApiError(f"{method} {path} -> {r.status}: {raw[:400]!r}")
        return json.loads(raw) if raw else None


def resident_id(birth: dt.date, seq: int) -> str:
    """A valid GB 11643 number for a woman (even sequence digit)."""
    first17 = "990101" + birth.strftime("%Y%m%d") + f"{seq:03d}"
    assert len(first17) == 17 and seq % 2 == 0
    s = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return first17 + CHECK[s % 11]


def name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


def parse_demo(path):
    passwords = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^  (\S+)\s+.*password: (\S+)\s*$", line)
        if m:
            passwords[m.group(1)] = m.group(2)
    if "admin" not in passwords:
        sys.exit(f"no admin password in {path} (the output of `mch-handbook demo`)")
    return passwords


def login(api, username, password):
    return api.call("POST", "/api/v1/auth/login", {"username": username, "password": password})["access_token"]


def run_parallel(fn, items, workers, label):
    t0 = time.time()
    out = [None] * len(items)
    with cf.ThreadPoolExecutor(workers) as ex:
        futures = {ex.submit(fn, i, item): i for i, item in enumerate(items)}
        for f in cf.as_completed(futures):
            out[futures[f]] = f.result()
    print(f"  {label}: {len(items)} in {time.time() - t0:.1f}s", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--demo", required=True, help="file with the output of `mch-handbook demo`")
    ap.add_argument("--out", required=True, help="directory for data.json and data.lua")
    ap.add_argument("--pregnant", type=int, default=1500, help="pregnant women (handbooks with an ongoing pregnancy)")
    ap.add_argument("--mothers", type=int, default=300, help="of them, bound to a WeChat account")
    ap.add_argument("--children", type=int, default=6000, help="children 6-20 months in the nutrition-pack programme")
    ap.add_argument("--workers", type=int, default=8, help="concurrent requests while generating")
    ap.add_argument("--seed", type=int, default=20261126)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    api = Api(a.base)
    t_start = time.time()
    pw = parse_demo(a.demo)
    admin = login(api, "admin", pw["admin"])

    # --- institutions and staff --------------------------------------------------------------
    insts = api.call("GET", "/api/v1/institutions?limit=100", token=admin)["items"]
    by_name = {i["name"]: i["id"] for i in insts}

    def institution(name_, level, region):
        if name_ in by_name:
            return by_name[name_]
        r = api.call("POST", "/api/v1/institutions", {"name": name_, "level": level, "region_code": region}, token=admin)
        by_name[name_] = r["id"]
        return r["id"]

    institution("西山村卫生室", "village_clinic", "990101001002")
    institution("河口村卫生室", "village_clinic", "990101002001")
    institution("河西乡卫生院", "township_centre", "990101002000")
    bench_pw = "bench-" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(16))
    staff_list = api.call("GET", "/api/v1/staff?limit=100", token=admin)["items"]
    existing = {s["username"] for s in staff_list}
    for username, full, inst, role in [
        ("village.liu", "刘村医", "西山村卫生室", "village_doctor"),
        ("village.he", "何村医", "河口村卫生室", "village_doctor"),
        ("dr.chen", "陈医生", "河西乡卫生院", "clinician"),
    ]:
        if username not in existing:
            api.call("POST", "/api/v1/staff", {"username": username, "password": bench_pw, "full_name": full,
                                                "institution_id": by_name[inst], "roles": [role]}, token=admin)
        pw[username] = bench_pw
    clinician_of = {"990101001000": "dr.wang", "990101002000": "dr.chen"}
    doctor_of = {"990101001001": "village.zhang", "990101001002": "village.liu", "990101002001": "village.he"}
    tokens = {u: login(api, u, pw[u]) for u in ["dr.wang", "dr.chen", "village.zhang", "village.liu", "village.he"]}
    print(f"  institutions and staff ready ({time.time() - t_start:.1f}s)", flush=True)

    # --- pregnant women ----------------------------------------------------------------------
    used = set()

    def new_person(min_age, max_age):
        while True:
            birth = TODAY - dt.timedelta(days=rng.randint(min_age * 365, max_age * 365))
            seq = rng.randrange(0, 1000, 2)
            idn = resident_id(birth, seq)
            if idn not in used:
                used.add(idn)
                return idn

    village_codes = list(VILLAGES)
    women = []
    for n in range(a.pregnant):
        v = rng.choices(village_codes, weights=[5, 3, 4])[0]
        women.append({
            "id_number": new_person(19, 42), "name": name(rng), "village": v,
            "lmp_days": rng.randint(8 * 7, 38 * 7), "height": round(min(180, max(145, rng.gauss(158, 5))), 1),
            "weight": round(min(90, max(40, rng.gauss(54, 7))), 1), "gravidity": rng.choice([1, 1, 2, 2, 3]),
            "phone": "13" + "".join(str(rng.randint(0, 9)) for _ in range(9)),
        })

    def make_pregnant(i, w):
        r = random.Random(a.seed * 7 + i)
        township = TOWNSHIP_OF[w["village"]]
        tok = tokens[clinician_of[township]]
        hb = api.call("POST", "/api/v1/handbooks", {
            "id_type": "resident_id", "id_number": w["id_number"], "full_name": w["name"],
            "residence_region_code": w["village"], "phone": w["phone"], "household_registered": r.random() < 0.85,
            "address": f"{VILLAGES[w['village']]}{r.randint(1, 9)}组{r.randint(1, 60)}号",
            "height_cm": w["height"], "pre_pregnancy_weight_kg": w["weight"],
        }, token=tok)["id"]
        lmp = TODAY - dt.timedelta(days=w["lmp_days"])
        preg = api.call("POST", f"/api/v1/handbooks/{hb}/pregnancies", {
            "lmp": lmp.isoformat(), "gravidity": w["gravidity"], "parity": max(0, w["gravidity"] - 1 - r.choice([0, 0, 1])),
            "fetal_count": 1}, token=tok)["id"]
        # Visits at 8-12 weeks, then about every 4 weeks, then every 2 (the national schedule).
        visits, d = [], lmp + dt.timedelta(days=r.randint(56, 84))
        while d <= TODAY - dt.timedelta(days=1):
            visits.append(d)
            ga_w = (d - lmp).days // 7
            d += dt.timedelta(days=r.randint(26, 32) if ga_w < 28 else r.randint(12, 16))
        checkups = []
        for k, vd in enumerate(visits):
            ga_w = (vd - lmp).days / 7
            body = {
                "visit_date": vd.isoformat(), "weight_kg": round(w["weight"] + 0.4 * max(0, ga_w - 12) + r.uniform(-1, 1), 1),
                "bp_systolic": r.randint(100, 138), "bp_diastolic": r.randint(60, 88),
                "oedema": "none", "urine_protein": "negative", "urine_glucose": "negative",
                "complaints": r.choice([None, "偶有腰酸", "睡眠欠佳", "无不适"]), "advice": "注意休息，均衡饮食",
            }
            if ga_w >= 20:
                body["fundal_height_cm"] = round(min(40, ga_w - r.uniform(0, 2)), 1)
                body["abdominal_circumference_cm"] = round(min(110, 70 + ga_w), 1)
            if ga_w >= 12:
                body["fetal_heart_rates"] = [r.randint(125, 160)]
            if ga_w >= 32:
                body["fetal_presentation"] = r.choice(["cephalic"] * 9 + ["breech"])
            c = api.call("POST", f"/api/v1/pregnancies/{preg}/checkups", body, token=tok)["id"]
            checkups.append(c)
            if k == 0:
                api.call("POST", f"/api/v1/checkups/{c}/labs", {"results": [
                    {"test": "hb", "value": r.randint(95, 135)}, {"test": "hbsag", "result": "negative"},
                    {"test": "hiv", "result": "negative"}, {"test": "syphilis", "result": "negative"}]}, token=tok)
            if ga_w >= 20 and r.random() < 0.2:
                api.call("POST", f"/api/v1/checkups/{c}/ultrasounds", {"fetal_count": 1, "afi_cm": round(r.uniform(8, 18), 1),
                                                                        "placenta_position": "posterior"}, token=tok)
        return {"handbook": hb, "pregnancy": preg, "clinician": clinician_of[township], "village": w["village"],
                "township": township, "checkups": len(checkups)}

    pregnancies = run_parallel(make_pregnant, women, a.workers, "pregnant women (handbook, pregnancy, checkups, labs)")

    # --- mothers bound to their handbook -----------------------------------------------------
    def bind(i, p):
        code = api.call("POST", f"/api/v1/handbooks/{p['handbook']}/binding-codes", token=tokens[p["clinician"]])["code"]
        mother = api.call("POST", "/api/v1/auth/wechat", {"code": f"demo-bench-mother-{i + 1}"})["access_token"]
        api.call("POST", "/api/v1/me/handbook/bind", {"code": code}, token=mother)
        return mother

    mothers = run_parallel(bind, pregnancies[: a.mothers], a.workers, "mothers bound (binding code, WeChat login, bind)")
    # Check one: her home page answers with her pregnancy.
    home = api.call("GET", "/api/v1/me/handbook", token=mothers[0])
    home_bytes = len(json.dumps(home, ensure_ascii=False).encode())

    # --- children in the nutrition-pack programme --------------------------------------------
    families = []
    for n in range(a.children):
        v = rng.choices(village_codes, weights=[5, 3, 4])[0]
        families.append({"id_number": new_person(20, 40), "name": name(rng), "village": v,
                         "age_days": rng.randint(200, 600), "sex": rng.choice(["male", "female"])})

    def make_child(i, f):
        r = random.Random(a.seed * 13 + i)
        township = TOWNSHIP_OF[f["village"]]
        tok = tokens[clinician_of[township]]
        hb = api.call("POST", "/api/v1/handbooks", {
            "id_type": "resident_id", "id_number": f["id_number"], "full_name": f["name"],
            "residence_region_code": f["village"], "household_registered": r.random() < 0.85}, token=tok)["id"]
        born = dt.datetime.combine(TODAY - dt.timedelta(days=f["age_days"]), dt.time(r.randint(0, 23), r.randint(0, 59)))
        child = api.call("POST", f"/api/v1/handbooks/{hb}/children", {
            "name": f["name"][0] + r.choice(["小宝", "小贝", "乐乐", "安安", "欣欣"]), "sex": f["sex"],
            "born_at": born.strftime("%Y-%m-%dT%H:%M:%SZ"), "birth_weight_g": r.randint(2600, 4000),
            "birth_length_cm": round(r.uniform(47, 53), 1), "ga_at_birth": f"{r.randint(37, 41)}+{r.randint(0, 6)}"}, token=tok)["id"]
        api.call("POST", f"/api/v1/children/{child}/nutrition/events", {
            "kind": "consent", "date": TODAY.isoformat(), "signed_by": f["name"] + "（母亲）", "consent_form": "paper"},
            token=tokens[doctor_of[f["village"]]])
        return {"child": child, "village": f["village"], "doctor": doctor_of[f["village"]]}

    children = run_parallel(make_child, families, a.workers, "children (handbook, child, consent)")

    # Stock: two lots per village clinic, enough for two months of every child.
    for v, doctor in doctor_of.items():
        n = sum(1 for c in children if c["village"] == v)
        for k, months in enumerate([8, 14]):
            api.call("POST", "/api/v1/stock/receipts", {
                "lot": f"YYB-BENCH-{v[-3:]}-{k}", "expiry": (TODAY + dt.timedelta(days=30 * months)).isoformat(),
                "quantity": max(600, n * 30 + 600), "supplier": "县妇幼保健院"}, token=tokens[doctor])

    # --- output ------------------------------------------------------------------------------
    staff_names = ["dr.wang", "dr.chen", "village.zhang", "village.liu", "village.he"]
    data = {
        "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
        "today": TODAY.isoformat(),
        "tokens": tokens,
        "staff_passwords": {u: pw[u] for u in staff_names},
        "mothers": mothers,
        "pregnancies": [{"id": p["pregnancy"], "clinician": p["clinician"], "handbook": p["handbook"]} for p in pregnancies],
        "worklists": [{"clinician": c, "region": v} for v, t in TOWNSHIP_OF.items() for c in [clinician_of[t]]]
                     + [{"clinician": c, "region": t} for t, c in clinician_of.items()],
        "children": [{"id": c["child"], "doctor": c["doctor"]} for c in children],
        "counts": {"pregnant": len(pregnancies), "checkups": sum(p["checkups"] for p in pregnancies),
                   "mothers": len(mothers), "children": len(children), "api_calls": api.calls},
        "home_bytes": home_bytes,
    }
    # Children are shuffled so that every village clinic (and its stock row) takes part in each run.
    rng.shuffle(data["children"])
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "data.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    with open(os.path.join(a.out, "data.lua"), "w", encoding="utf-8") as f:
        f.write("-- generated by bench/generate.py\nreturn {\n")
        f.write("  today = %s,\n" % lua_str(data["today"]))
        f.write("  tokens = {%s},\n" % ", ".join(f"[{lua_str(k)}] = {lua_str(v)}" for k, v in tokens.items()))
        f.write("  mothers = {\n%s\n  },\n" % ",\n".join("    " + lua_str(m) for m in mothers))
        f.write("  pregnancies = {\n%s\n  },\n" % ",\n".join(
            f"    {{id = {lua_str(p['id'])}, clinician = {lua_str(p['clinician'])}}}" for p in data["pregnancies"]))
        f.write("  worklists = {\n%s\n  },\n" % ",\n".join(
            f"    {{clinician = {lua_str(w['clinician'])}, region = {lua_str(w['region'])}}}" for w in data["worklists"]))
        f.write("  children = {\n%s\n  },\n" % ",\n".join(
            f"    {{id = {lua_str(c['id'])}, doctor = {lua_str(c['doctor'])}}}" for c in data["children"]))
        f.write("}\n")
    c = data["counts"]
    print(f"  county: {c['pregnant']} pregnant women ({c['checkups']} checkups), {c['mothers']} bound mothers, "
          f"{c['children']} children in the programme; {c['api_calls']} API calls in {time.time() - t_start:.1f}s; "
          f"a mother's home page is {home_bytes} bytes", flush=True)


def lua_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    main()

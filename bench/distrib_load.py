#!/usr/bin/env python3
"""Load benchmark of the update server's policy side, with wrk on loopback.

  bench/distrib_load.py [--bin build/bin] [--duration 10] [--repeat 3]
                        [--connections 64] [--licenses 2000] [--no-postgres]

Starts `vigil-server serve` with examples/policy/us-2024.toml, a published
repository, a trusted proxy (127.0.0.1) and a store, activates LICENSES
licenses (half US, half DE) with the clock before the sales cut-off, then
restarts the server after the update cut-off and measures with wrk:

  manifest   GET /channels/stable/manifest, each request with a random
             license (Vigil-License) and a random client address
             (X-Forwarded-For) from US and DE addresses: every request is
             geolocated, screened by the policy (a US license or address
             gets 451: about 70% of requests), and
             its decision appended to the audit log (group commit, fsync).
  checkin    POST /v1/checkin of 100,000 distinct endpoints' states: a
             license lookup and an upsert in the store (group commit).

for the SQLite store, and for PostgreSQL (a throwaway server from Debian's
package, scripts/pg-test-server.sh). Reports requests/s and p99 latency,
medians of --repeat runs, as a Markdown table. wrk runs on the same machine
as the server and takes a share of its cores.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

US_IPS = ["8.8.8.8", "4.2.2.2"]
DE_IPS = ["85.214.132.117", "194.25.2.129", "217.160.0.1"]

MANIFEST_LUA = r"""
local licenses = {%(licenses)s}
local ips = {%(ips)s}
request = function()
  local h = {}
  h["Vigil-License"] = licenses[math.random(#licenses)]
  h["X-Forwarded-For"] = ips[math.random(#ips)]
  return wrk.format("GET", "/channels/stable/manifest", h)
end
"""

CHECKIN_LUA = r"""
local licenses = {%(licenses)s}
local n = 0
request = function()
  n = n + 1
  local lic = licenses[math.random(#licenses)]
  local ep = "ep-" .. math.random(100000)
  local body = '{"endpoint_id":"' .. ep .. '","license_key":"' .. lic ..
    '","engine_version":"0.1.0","db_version":"stable 1","db_age_seconds":' .. math.random(1, 2000000) ..
    ',"last_scan":1727740800,"detections":' .. (n %% 7) .. ',"quarantined":' .. (n %% 3) ..
    ',"last_update_outcome":"installed"}'
  local h = {}
  h["Content-Type"] = "application/json"
  h["X-Forwarded-For"] = "85.214.132.117"
  return wrk.format("POST", "/v1/checkin", h, body)
end
"""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def lua_list(xs):
    return ", ".join(json.dumps(x) for x in xs)


class Server:
    def __init__(self, args, now, store, audit):
        cmd = [str(args.bin / "vigil-server"), "serve", "--repo", str(args.work / "repo"), "--listen",
               "127.0.0.1:0", "--policy", str(REPO / "examples/policy/us-2024.toml"), "--store", store,
               "--audit", str(audit), "--trusted-proxy", "127.0.0.1", "--now", now, "--threads",
               str(args.threads)]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if "serving" not in line:
            raise RuntimeError(f"server did not start: {line}{self.p.stderr.read()}")
        self.url = line.strip().rsplit(" ", 1)[1]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def post(url, body, ip):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "X-Forwarded-For": ip})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wrk(args, url, script, duration):
    out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{duration}s", "--latency", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p99_ms": p99, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "requests": int(total.group(1)) if total else 0, "socket_errors": errors.group(1) if errors else ""}


def run_store(args, name, store):
    audit = args.work / f"audit-{name}.jsonl"
    for f in (audit,):
        if f.exists():
            f.unlink()
    n = args.licenses
    us = [f"US-BENCH-{i:06d}" for i in range(n // 2)]
    de = [f"DE-BENCH-{i:06d}" for i in range(n - n // 2)]
    s = Server(args, "2024-07-01T00:00:00-04:00", store, audit)
    try:
        log(f"{name}: activating {n} licenses")
        for key in us:
            assert post(s.url + "/v1/activate", {"license_key": key, "customer": f"Customer {key}", "country": "US"},
                        US_IPS[0]) in (200, 409)
        for key in de:
            assert post(s.url + "/v1/activate", {"license_key": key, "customer": f"Kunde {key}", "country": "DE"},
                        DE_IPS[0]) in (200, 409)
    finally:
        s.stop()
    manifest = args.work / "manifest.lua"
    manifest.write_text(MANIFEST_LUA % {"licenses": lua_list(us + de), "ips": lua_list(US_IPS + DE_IPS)})
    checkin = args.work / "checkin.lua"
    checkin.write_text(CHECKIN_LUA % {"licenses": lua_list(us + de)})
    results = {"manifest": [], "checkin": []}
    s = Server(args, "2024-10-01T00:00:00-04:00", store, audit)
    try:
        for rep in range(args.repeat):
            for kind, script in (("manifest", manifest), ("checkin", checkin)):
                r = wrk(args, s.url, script, args.duration)
                log(f"{name} {kind} run {rep + 1}: {r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms, "
                    f"non-2xx {r['non2xx']}/{r['requests']} {r['socket_errors']}")
                results[kind].append(r)
    finally:
        s.stop()
    lines = sum(1 for _ in open(audit, "rb"))
    log(f"{name}: audit log holds {lines} records")
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "build" / "bin"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=64, help="server request threads")
    ap.add_argument("--licenses", type=int, default=2000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    args.bin = Path(args.bin)
    if not shutil.which("wrk"):
        sys.exit("wrk not found (scripts/setup.sh installs it)")
    args.work = Path(tempfile.mkdtemp(prefix="vigil-distrib-bench-"))
    os.chmod(args.work, 0o755)
    pg = args.work / "pg"
    try:
        keys = args.work / "keys"
        db = args.work / "db"
        db.mkdir()
        (db / "bench.hdb").write_text("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n")
        subprocess.run([str(args.bin / "vigil-server"), "keygen", "--out", str(keys)], check=True,
                       capture_output=True)
        subprocess.run([str(args.bin / "vigil-server"), "publish", "--repo", str(args.work / "repo"), "--key",
                        str(keys / "release.key"), "--log-key", str(keys / "log.key"), "--db", str(db), "--now",
                        "2024-07-01T00:00:00Z", "--expires-in", "3650d"], check=True, capture_output=True)
        all_results = {"sqlite": run_store(args, "sqlite", str(args.work / "fleet.sqlite"))}
        if not args.no_postgres:
            url = subprocess.run([str(REPO / "scripts/pg-test-server.sh"), "start", str(pg)], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            all_results["postgresql"] = run_store(args, "postgresql", url)
    finally:
        if pg.exists():
            subprocess.run([str(REPO / "scripts/pg-test-server.sh"), "stop", str(pg)], capture_output=True)
        shutil.rmtree(args.work, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"wrk -t2 -c{args.connections} -d{args.duration}s on loopback, {args.repeat} runs each, medians; "
          f"{os.cpu_count()} CPUs shared by server and wrk; load average after: {load:.1f}\n")
    print("| store | endpoint | requests/s | p99 latency (ms) | refused (451) share | runs (req/s) |")
    print("|---|---|---|---|---|---|")
    for store, res in all_results.items():
        for kind in ("manifest", "checkin"):
            rs = res[kind]
            rps = statistics.median(r["rps"] for r in rs)
            p99 = statistics.median(r["p99_ms"] for r in rs)
            share = statistics.median(r["non2xx"] / r["requests"] for r in rs if r["requests"])
            what = "policy-checked manifest" if kind == "manifest" else "check-in"
            print(f"| {store} | {what} | {rps:,.0f} | {p99:.1f} | {share:.0%} | "
                  f"{', '.join(format(r['rps'], ',.0f') for r in rs)} |")


if __name__ == "__main__":
    main()

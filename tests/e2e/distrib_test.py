#!/usr/bin/env python3
"""Jurisdiction-aware distribution end to end.

Usage: distrib_test.py VIGIL VIGIL_SERVER SOURCE_DIR

A real `vigil-server serve` with examples/policy/us-2024.toml, denied-party
lists in both supported CSV formats (written here), a SQLite store and then
a PostgreSQL store (a throwaway server from Debian's package, started by
scripts/pg-test-server.sh), and real `vigil update`, `vigil status`,
`vigil scan` and `vigil checkin` endpoints. The server's clock is fixed with
--now at instants around each boundary of the 2024 US rules; client countries
come from GeoIP through a trusted proxy's X-Forwarded-For, and the addresses
used for each country are chosen by asking Debian's `geoiplookup`, not
hard-coded.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SKIP = 77
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

BEFORE_SALES = "2024-07-19T23:59:59-04:00"
AT_SALES = "2024-07-20T00:00:00-04:00"
BEFORE_UPDATES = "2024-09-28T23:59:59-04:00"
AT_UPDATES = "2024-09-29T00:00:00-04:00"
AFTER_UPDATES = "2024-09-29T00:00:01-04:00"


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def true(self, name, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {name} {detail}".rstrip(), flush=True)
        return cond

    def eq(self, name, got, want):
        return self.true(name, got == want, f"got {got!r}, want {want!r}")


def geo_country(ip):
    tool = "geoiplookup6" if ":" in ip else "geoiplookup"
    out = subprocess.run([tool, ip], capture_output=True, text=True).stdout
    # "GeoIP Country Edition: US, United States"
    part = out.split(":", 1)[1].strip() if ":" in out else ""
    return part.split(",")[0] if "," in part else ""


def pick_addresses():
    candidates = ["8.8.8.8", "4.2.2.2", "12.0.0.1", "85.214.132.117", "194.25.2.129", "217.160.0.1",
                  "77.88.8.8", "5.255.255.5", "70.45.0.1", "196.12.160.1", "24.139.0.1", "2001:4860:4860::8888",
                  "2a02:6b8::feed:0ff"]
    found = {}
    for ip in candidates:
        c = geo_country(ip)
        if c and (c, ":" in ip) not in found:
            found[(c, ":" in ip)] = ip
    return found


class Server:
    def __init__(self, w, now, store, extra=(), trusted=True):
        self.w = w
        args = [w.server, "serve", "--repo", str(w.repo), "--listen", "127.0.0.1:0",
                "--policy", str(w.policy), "--denied-parties", str(w.csl), "--denied-parties", str(w.osl),
                "--store", store, "--audit", str(w.audit), "--now", now, *extra]
        if trusted:
            args += ["--trusted-proxy", "127.0.0.1/32"]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if "serving" not in line:
            raise RuntimeError(f"server did not start: {line} {self.p.stderr.read()}")
        self.url = line.strip().rsplit(" ", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.describe = self.p.stdout.readline()

    def request(self, method, path, body=None, headers=None, ip=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if ip:
            h["X-Forwarded-For"] = ip
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return r.status, parsed, data

    def activate(self, key, customer, country, ip=None):
        return self.request("POST", "/v1/activate", {"license_key": key, "customer": customer, "country": country},
                            ip=ip)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class World:
    def __init__(self, vigil, server, source):
        self.vigil = vigil
        self.server = server
        self.source = Path(source)
        self.root = Path(tempfile.mkdtemp(prefix="vigil-distrib-"))
        os.chmod(self.root, 0o755)
        self.repo = self.root / "repo"
        self.keys = self.root / "keys"
        self.audit = self.root / "audit.jsonl"
        self.policy = self.root / "policy.toml"
        shutil.copy(self.source / "examples/policy/us-2024.toml", self.policy)
        self.csl = self.root / "csl.csv"
        self.osl = self.root / "opensanctions.csv"
        self.write_lists()

    def run(self, args, timeout=60):
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def write_lists(self):
        # The US Consolidated Screening List's CSV columns (trade.gov).
        cols = ["_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
                "federal_register_notice", "start_date", "end_date", "standard_order", "license_requirement",
                "license_policy", "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage",
                "vessel_flag", "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships",
                "dates_of_birth", "nationalities", "places_of_birth", "source_information_url", "ids"]
        rows = [
            {"_id": "el-1", "source": "Entity List (EL) - Bureau of Industry and Security", "type": "Entity",
             "name": "AO Kaspersky Lab", "addresses": "39A/2 Leningradskoe Shosse, Moscow, RU",
             "alt_names": "Kaspersky Lab; Kaspersky Laboratory"},
            {"_id": "el-2", "source": "Entity List (EL) - Bureau of Industry and Security", "type": "Entity",
             "name": "Kaspersky Labs Limited", "addresses": "London, GB", "alt_names": ""},
        ]
        import csv
        with open(self.csl, "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=cols)
            wr.writeheader()
            for r in rows:
                wr.writerow({c: r.get(c, "") for c in cols})
        ocols = ["id", "schema", "name", "aliases", "birth_date", "countries", "addresses", "identifiers",
                 "sanctions", "phones", "emails", "dataset", "first_seen", "last_seen", "last_change"]
        orows = [
            {"id": "ofac-1", "schema": "Person", "name": "Ivan Petrovich Sidorov",
             "aliases": "Иван Петрович Сидоров;Sidorov Ivan", "countries": "ru",
             "dataset": "US OFAC Specially Designated Nationals (SDN) List"},
        ]
        with open(self.osl, "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=ocols)
            wr.writeheader()
            for r in orows:
                wr.writerow({c: r.get(c, "") for c in ocols})

    def publish(self):
        db = self.root / "sigdb"
        db.mkdir(exist_ok=True)
        data = b"vigil distrib test file\n"
        (db / "test.hdb").write_text(f"{hashlib.md5(data).hexdigest()}:{len(data)}:Vigil.Distrib.Test\n")
        r = self.run([self.server, "keygen", "--out", str(self.keys)])
        assert r.returncode == 0, r.stderr
        r = self.run([self.server, "publish", "--repo", str(self.repo), "--key", str(self.keys / "release.key"),
                      "--log-key", str(self.keys / "log.key"), "--db", str(db), "--now", "2024-07-01T00:00:00Z",
                      "--expires-in", "3650d"])
        assert r.returncode == 0, r.stderr

    def client(self, name, license_key):
        d = self.root / name
        d.mkdir()
        return d, ["--release-pubkey", str(self.keys / "release.pub"), "--log-pubkey", str(self.keys / "log.pub"),
                   "--db-dir", str(d / "db"), "--license", license_key, "--endpoint-id", name, "-q"]


def audit_records(w, *filters):
    r = w.run([w.server, "audit", "--log", str(w.audit), "--json", *filters])
    if r.returncode != 0:
        return None, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()], r.stderr


def run_policy_scenario(w, ck, ips, store, label):
    us, de = ips[("US", False)], ips[("DE", False)]
    ru = ips.get(("RU", False))
    pr = ips.get(("PR", False))
    tag = label

    # --- before the sales cut-off: US and DE customers buy.
    s = Server(w, BEFORE_SALES, store)
    try:
        st, body, _ = s.activate(f"US-{tag}-0001", "Acme Hardware Inc", "US", ip=us)
        ck.eq(f"{label}: US purchase one second before the sales cut-off", st, 200)
        ck.eq(f"{label}: the license record names its country", (body or {}).get("country"), "US")
        st, _, _ = s.activate(f"DE-{tag}-0001", "Muster GmbH", "DE", ip=de)
        ck.eq(f"{label}: DE purchase", st, 200)
        st, body, _ = s.activate(f"DE-{tag}-0001", "Muster GmbH", "DE", ip=de)
        ck.eq(f"{label}: a second activation of one key is a conflict", st, 409)
        # Denied parties: both list formats, variants that must and must not match.
        for cust, want in [("Kaspersky Lab", 451), ("KASPERSKY LABORATORY", 451), ("Lab, Kaspersky", 451),
                           ("Sidorov, Ivan Petrovich", 451), ("Иван Петрович Сидоров", 451),
                           ("Kasprzak Lamps Ltd", 200), ("Ivan Petrov Trading", 200)]:
            key = f"DP-{tag}-" + hashlib.sha1(cust.encode()).hexdigest()[:10]
            st, body, _ = s.activate(key, cust, "DE", ip=de)
            ck.eq(f"{label}: screening of {cust!r}", st, want)
            if want == 451:
                ck.eq(f"{label}: denied party refusal names the screening", (body or {}).get("rule"), "denied-party")
        # Updates are still allowed for everyone.
        st, _, _ = s.request("GET", "/channels/stable/manifest", headers={"Vigil-License": f"US-{tag}-0001"}, ip=us)
        ck.eq(f"{label}: US manifest before any cut-off", st, 200)
    finally:
        s.stop()

    # --- at the sales cut-off: no US purchase, a mixed request is US.
    s = Server(w, AT_SALES, store)
    try:
        st, body, _ = s.activate(f"US-{tag}-0002", "Acme Hardware Inc", "US", ip=us)
        ck.eq(f"{label}: US purchase at the sales cut-off", st, 451)
        body = body or {}
        ck.eq(f"{label}: 451 body rule", body.get("rule"), "us-2024-sales")
        ck.eq(f"{label}: 451 body effective", body.get("effective"), "2024-07-20T00:00:00-04:00")
        ck.true(f"{label}: 451 body message", "cannot be purchased" in body.get("message", ""), body)
        ck.true(f"{label}: 451 body reference", bool(body.get("reference")), body)
        st, body, _ = s.activate(f"DE-{tag}-0002", "Muster GmbH", "DE", ip=us)
        ck.eq(f"{label}: DE license bought from a US address is refused (stricter country)", st, 451)
        ck.eq(f"{label}: ... and the refusal names US", (body or {}).get("jurisdiction"), "US")
        if pr:
            st, _, _ = s.activate(f"PR-{tag}-0001", "Isla Software", "PR", ip=pr)
            ck.eq(f"{label}: a US territory follows the US rule", st, 451)
        st, _, _ = s.activate(f"DE-{tag}-0003", "Beispiel AG", "DE", ip=de)
        ck.eq(f"{label}: DE purchase after the sales cut-off", st, 200)
        st, _, _ = s.request("GET", "/channels/stable/manifest", headers={"Vigil-License": f"US-{tag}-0001"}, ip=us)
        ck.eq(f"{label}: US updates go on after the sales cut-off", st, 200)
    finally:
        s.stop()

    # --- one second before, at and after the update cut-off.
    for now, want in [(BEFORE_UPDATES, 200), (AT_UPDATES, 451), (AFTER_UPDATES, 451)]:
        s = Server(w, now, store)
        try:
            st, body, _ = s.request("GET", "/channels/stable/manifest",
                                    headers={"Vigil-License": f"US-{tag}-0001"}, ip=us)
            ck.eq(f"{label}: US manifest at {now}", st, want)
            if want == 451:
                ck.eq(f"{label}: update refusal rule", (body or {}).get("rule"), "us-2024-updates")
            st, _, _ = s.request("GET", "/channels/stable/manifest",
                                 headers={"Vigil-License": f"DE-{tag}-0001"}, ip=de)
            ck.eq(f"{label}: DE manifest at {now}", st, 200)
            # A DE license used from a US address is withheld too.
            st, _, _ = s.request("GET", "/channels/stable/manifest",
                                 headers={"Vigil-License": f"DE-{tag}-0001"}, ip=us)
            ck.eq(f"{label}: DE license from a US address at {now}", st, want)
            # The transparency log stays readable from everywhere.
            st, _, _ = s.request("GET", "/log/checkpoint", ip=us)
            ck.eq(f"{label}: the log checkpoint is never withheld", st, 200)
        finally:
            s.stop()

    # --- malformed requests: 4xx, and nothing changes.
    s = Server(w, AFTER_UPDATES, store)
    try:
        before_audit = w.audit.read_bytes()
        cases = [
            ("bad JSON", "/v1/activate", b"{not json", {}, 400),
            ("not an object", "/v1/activate", b"[1,2]", {}, 400),
            ("unknown field", "/v1/activate",
             json.dumps({"license_key": "XX-0000-0001", "customer": "A", "country": "DE", "admin": True}), {}, 400),
            ("missing field", "/v1/activate", json.dumps({"license_key": "XX-0000-0002", "country": "DE"}), {}, 400),
            ("bad license key", "/v1/activate",
             json.dumps({"license_key": "../../etc", "customer": "A", "country": "DE"}), {}, 400),
            ("bad country", "/v1/activate",
             json.dumps({"license_key": "XX-0000-0003", "customer": "A", "country": "XX"}), {}, 400),
            ("huge body", "/v1/activate", b"{\"customer\": \"" + b"A" * (2 << 20) + b"\"}", {}, 413),
            ("check-in, unknown license", "/v1/checkin",
             json.dumps({"endpoint_id": "e1", "license_key": "NOPE-0000-0000"}), {}, 403),
            ("check-in, bad type", "/v1/checkin",
             json.dumps({"endpoint_id": "e1", "license_key": f"DE-{tag}-0001", "detections": "many"}), {}, 400),
            ("check-in, negative count", "/v1/checkin",
             json.dumps({"endpoint_id": "e1", "license_key": f"DE-{tag}-0001", "quarantined": -1}), {}, 400),
            ("check-in, bad endpoint id", "/v1/checkin",
             json.dumps({"endpoint_id": "a b/c", "license_key": f"DE-{tag}-0001"}), {}, 400),
            ("malformed license header", "/channels/stable/manifest", None, {"Vigil-License": "bad key!"}, 400),
            ("unknown license header", "/channels/stable/manifest", None, {"Vigil-License": "UNKNOWN-0000"}, 403),
            ("malformed forwarded-for", "/channels/stable/manifest", None, {"X-Forwarded-For": "not-an-ip"}, 400),
        ]
        for name, path, body, headers, want in cases:
            method = "GET" if body is None else "POST"
            try:
                st, _, _ = s.request(method, path, body=body, headers=headers)
            except (ConnectionError, http.client.HTTPException):
                st = 413 if want == 413 else -1  # a server may close on an oversized body after answering
            ck.eq(f"{label}: malformed: {name}", st, want)
        ck.eq(f"{label}: malformed requests leave no audit record", w.audit.read_bytes(), before_audit)
        st, _, _ = s.activate("XX-0000-0001", "A", "DE", ip=de)
        ck.eq(f"{label}: the refused bodies activated nothing (the key is still free)", st, 200)
    finally:
        s.stop()

    # Spoofed forwarded-for from a peer that is not a trusted proxy.
    s = Server(w, AFTER_UPDATES, store, trusted=False)
    try:
        st, _, _ = s.request("GET", "/channels/stable/manifest", headers={"Vigil-License": f"DE-{tag}-0001"}, ip=de)
        ck.eq(f"{label}: forwarded-for from an untrusted peer", st, 400)
        st, _, _ = s.activate("SPOOF-0000-0001", "Spoof GmbH", "DE", ip=de)
        ck.eq(f"{label}: spoofed activation refused", st, 400)
    finally:
        s.stop()
    s = Server(w, AFTER_UPDATES, store)
    try:
        st, _, _ = s.activate("SPOOF-0000-0001", "Spoof GmbH", "DE", ip=de)
        ck.eq(f"{label}: ... and it activated nothing", st, 200)
    finally:
        s.stop()
    if ru:
        s = Server(w, AFTER_UPDATES, store)
        try:
            st, _, _ = s.activate(f"RU-{tag}-0001", "Rossiya Soft", "RU", ip=ru)
            ck.eq(f"{label}: the US rules say nothing of RU purchases", st, 200)
        finally:
            s.stop()


def endpoint_scenario(w, ck, ips, store):
    """Real endpoints: vigil update / status / scan / checkin against the rules."""
    us, de = ips[("US", False)], ips[("DE", False)]
    s = Server(w, BEFORE_SALES, store)
    try:
        ck.eq("endpoint: activation of US-ENDPOINT-1", s.activate("US-ENDPOINT-1", "Main Street Dental", "US", ip=us)[0],
              200)
        ck.eq("endpoint: activation of DE-ENDPOINT-1", s.activate("DE-ENDPOINT-1", "Zahnarzt Praxis", "DE", ip=de)[0],
              200)
        us_dir, us_args = w.client("us-endpoint", "US-ENDPOINT-1")
        de_dir, de_args = w.client("de-endpoint", "DE-ENDPOINT-1")
        for name, args in [("US", us_args), ("DE", de_args)]:
            r = w.run([w.vigil, "update", "--server", s.url, "--now", BEFORE_SALES, *args])
            ck.eq(f"endpoint: {name} installs its first release", r.returncode, 0)
    finally:
        s.stop()

    # At the update cut-off the US endpoint is refused and told why.
    s = Server(w, AT_UPDATES, store)
    try:
        r = w.run([w.vigil, "update", "--server", s.url, "--now", AT_UPDATES, *us_args])
        ck.eq("endpoint: US update at the cut-off exits 4", r.returncode, 4)
        ck.true("endpoint: the refusal is explained", "us-2024-updates" in r.stderr, r.stderr)
        ck.true("endpoint: the old database stays", (us_dir / "db").exists())
        r = w.run([w.vigil, "update", "--server", s.url, "--now", AT_UPDATES, *de_args])
        ck.eq("endpoint: DE update at the cut-off", r.returncode, 0)
        # Check-ins are accepted from withheld endpoints: the vendor must see them rot.
        r = w.run([w.vigil, "checkin", "--server", s.url, "--db-dir", str(us_dir / "db"), "--license", "US-ENDPOINT-1",
                   "--endpoint-id", "us-endpoint", "--vault", str(w.root / "no-vault"), "--now", AT_UPDATES])
        ck.eq("endpoint: US check-in", r.returncode, 0)
        ck.true("endpoint: check-in said OK", "OK" in r.stdout, r.stdout + r.stderr)
        r = w.run([w.vigil, "checkin", "--server", s.url, "--db-dir", str(de_dir / "db"), "--license", "DE-ENDPOINT-1",
                   "--endpoint-id", "de-endpoint", "--vault", str(w.root / "no-vault"), "--now", AT_UPDATES])
        ck.eq("endpoint: DE check-in", r.returncode, 0)
    finally:
        s.stop()

    # vigil status, two weeks later (the release was built on 2024-07-01).
    later = "2024-10-15T12:00:00Z"
    r = w.run([w.vigil, "status", "--db-dir", str(us_dir / "db"), "--now", later])
    ck.eq("status: refused exits 2", r.returncode, 2)
    want = ("Signature updates are not available in your jurisdiction since 2024-09-29 (rule us-2024-updates). "
            "Your signatures are 106 days old and protection is degrading.")
    ck.true("status: the plain explanation", want in r.stdout, r.stdout)
    ck.true("status: names the database version", "stable 1" in r.stdout, r.stdout)
    r = w.run([w.vigil, "status", "--db-dir", str(de_dir / "db"), "--now", "2024-07-02T12:00:00Z"])
    ck.eq("status: a current database exits 0", r.returncode, 0)
    r = w.run([w.vigil, "status", "--db-dir", str(de_dir / "db"), "--now", "2024-07-06T00:00:00Z"])
    ck.eq("status: 4 days old is stale (exit 1)", r.returncode, 1)
    r = w.run([w.vigil, "status", "--db-dir", str(de_dir / "db"), "--now", "2024-07-06T00:00:00Z",
               "--stale-days", "7"])
    ck.eq("status: --stale-days 7 makes it current", r.returncode, 0)
    r = w.run([w.vigil, "status", "--db-dir", str(de_dir / "db"), "--now", "2024-07-20T00:00:00Z"])
    ck.eq("status: 19 days old is critical (exit 2)", r.returncode, 2)

    # vigil scan keeps working with the last good database, and warns.
    target = w.root / "scanme"
    target.mkdir()
    (target / "t.txt").write_bytes(b"vigil distrib test file\n")
    r = w.run([w.vigil, "scan", "--no-summary", "-d", str(us_dir / "db"), str(target)])
    ck.eq("scan: a refused endpoint still detects", r.returncode, 1)
    ck.true("scan: FOUND with the old database", "Vigil.Distrib.Test.UNOFFICIAL FOUND" in r.stdout, r.stdout)
    warn = [l for l in r.stderr.splitlines() if "warning" in l]
    ck.eq("scan: one warning line", len(warn), 1)
    ck.true("scan: the warning names the refusal", warn and "us-2024-updates" in warn[0], r.stderr)
    r = w.run([w.vigil, "scan", "--no-summary", "--fail-if-db-older-than", "30", "-d", str(de_dir / "db"), str(target)])
    ck.eq("scan: --fail-if-db-older-than fails on an old database", r.returncode, 2)

    # The fleet report shows the withheld endpoint.
    r = w.run([w.server, "fleet", "--store", store, "--policy", str(w.policy), "--now", later, "--json"])
    ck.eq("fleet: runs", r.returncode, 0)
    try:
        fleet = json.loads(r.stdout)
    except ValueError:
        fleet = {}
    withheld = {x["endpoint_id"]: x for x in fleet.get("withheld", [])}
    ck.true("fleet: the US endpoint is withheld by us-2024-updates",
            withheld.get("us-endpoint", {}).get("rule") == "us-2024-updates", r.stdout)
    ck.true("fleet: the DE endpoint is not withheld", "de-endpoint" not in withheld, r.stdout)
    ck.true("fleet: counts endpoints", fleet.get("endpoints", 0) >= 2, r.stdout)
    r = w.run([w.server, "fleet", "--store", store, "--now", later])
    ck.true("fleet: text report", "By database age" in r.stdout and "Withheld by a rule" in r.stdout, r.stdout)


def reload_scenario(w, ck, ips, store):
    """SIGHUP reloads the policy while requests flow; a bad file changes nothing."""
    de = ips[("DE", False)]
    s = Server(w, AFTER_UPDATES, store)
    errors, statuses = [], []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                st, _, _ = s.request("GET", "/channels/stable/manifest", headers={"Vigil-License": "DE-ENDPOINT-1"},
                                     ip=de)
                statuses.append((t0, time.monotonic(), st))
            except Exception as e:  # noqa: BLE001 - any failure is a dropped request
                errors.append(repr(e))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)
        text = w.policy.read_text()
        w.policy.write_text(text + """
[[rule]]
id = "test-de-updates"
jurisdiction = "DE"
action = ["update", "download"]
effective = 2024-09-01T00:00:00+02:00
message = "Test rule: no updates in Germany."
reference = "test"
""")
        s.p.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and (not statuses or statuses[-1][2] != 451):
            time.sleep(0.05)
        time.sleep(0.3)
        # A broken file: the old (new) rules stay.
        w.policy.write_text(w.policy.read_text() + "\n[[rule]]\nid = \"broken\"\nbogus_key = 1\n")
        s.p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    try:
        ck.eq("reload: no request dropped during SIGHUP", errors[:3], [])
        codes = [x[2] for x in statuses]
        ck.true("reload: requests before and after", 200 in codes and 451 in codes, set(codes))
        # Every request that started after some request was refused by the
        # new rule is refused too: the new rules, once in, stay in.
        first_refusal_end = min((end for _, end, st in statuses if st == 451), default=None)
        later = [st for start, _, st in statuses if first_refusal_end is not None and start > first_refusal_end]
        ck.true("reload: once the new rule is in, it stays", later and all(x == 451 for x in later),
                later[:20])
        st, body, _ = s.request("GET", "/channels/stable/manifest", headers={"Vigil-License": "DE-ENDPOINT-1"}, ip=de)
        ck.eq("reload: a broken policy leaves the last good one in force", (st, (body or {}).get("rule")),
              (451, "test-de-updates"))
        ck.true("reload: the server is alive", s.p.poll() is None)
    finally:
        s.stop()
        err = s.p.stderr.read()
        ck.true("reload: the failed reload is reported with its line", "reload failed" in err and ":" in err, err)
    shutil.copy(w.source / "examples/policy/us-2024.toml", w.policy)


def audit_scenario(w, ck):
    recs, err = audit_records(w)
    ck.true("audit: the log verifies", recs is not None, err)
    recs = recs or []
    ck.true("audit: every decision is there", len(recs) > 30, len(recs))
    denies, _ = audit_records(w, "--outcome", "deny", "--rule", "us-2024-updates")
    ck.true("audit: query by rule and outcome", denies and all(r["rule"] == "us-2024-updates" and r["outcome"] == "deny"
                                                              for r in denies), denies and denies[:2])
    sales, _ = audit_records(w, "--rule", "us-2024-sales")
    ck.true("audit: a mixed-country refusal records both countries",
            any(r["inputs"].get("license_country") == "DE" and r["inputs"].get("ip_country") == "US"
                for r in (sales or [])), sales and sales[:3])
    dp, _ = audit_records(w, "--rule", "denied-party")
    ck.true("audit: screening refusals carry score and entry",
            dp and all("score" in r["inputs"].get("screening", {}) for r in dp), dp and dp[:1])
    allowed, _ = audit_records(w, "--outcome", "allow", "--endpoint", "activate")
    ck.true("audit: allowed decisions are recorded too", bool(allowed))
    # Tampering is detected.
    lines = w.audit.read_bytes().splitlines(keepends=True)
    tampered = lines[:]
    tampered[2] = tampered[2].replace(b'"deny"', b'"allow"').replace(b'"allow"', b'"deny"', 1)
    if tampered[2] == lines[2]:
        tampered[2] = tampered[2].replace(b'"', b"'", 1)
    w.audit.write_bytes(b"".join(tampered))
    r = w.run([w.server, "audit", "--log", str(w.audit)])
    ck.true("audit: an edited record breaks the chain", r.returncode != 0, r.stdout[-300:] + r.stderr)
    w.audit.write_bytes(b"".join(lines[:1] + lines[2:]))
    r = w.run([w.server, "audit", "--log", str(w.audit)])
    ck.true("audit: a removed record breaks the chain", r.returncode != 0, r.stderr)
    w.audit.write_bytes(b"".join(lines))


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    vigil, server, source = sys.argv[1:4]
    for tool in ("geoiplookup", "geoiplookup6"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (scripts/setup.sh installs geoip-bin)")
            return SKIP
    ips = pick_addresses()
    if ("US", False) not in ips or ("DE", False) not in ips:
        print(f"SKIP: the GeoIP database places none of the candidate addresses in US and DE: {ips}")
        return SKIP
    ck = Checks()
    w = World(vigil, server, source)
    pg_dir = None
    try:
        w.publish()
        sqlite_store = str(w.root / "fleet.sqlite")
        run_policy_scenario(w, ck, ips, sqlite_store, "sqlite")
        endpoint_scenario(w, ck, ips, sqlite_store)
        reload_scenario(w, ck, ips, sqlite_store)
        audit_scenario(w, ck)
        # The same on PostgreSQL, a real server from Debian's package.
        pg_dir = w.root / "pg"
        r = subprocess.run([str(w.source / "scripts/pg-test-server.sh"), "start", str(pg_dir)], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            ck.true("postgresql: the test server starts", False, r.stderr[-2000:])
        else:
            url = r.stdout.strip().splitlines()[-1]
            run_policy_scenario(w, ck, ips, url, "postgresql")
            r = w.run([w.server, "fleet", "--store", url, "--json"])
            ck.eq("postgresql: fleet report runs", r.returncode, 0)
    finally:
        if pg_dir is not None:
            subprocess.run([str(w.source / "scripts/pg-test-server.sh"), "stop", str(pg_dir)], capture_output=True,
                           timeout=60)
        shutil.rmtree(w.root, ignore_errors=True)
    print(f"distrib: {ck.passed} checks passed, {ck.failed} failed")
    return 1 if ck.failed else 0


if __name__ == "__main__":
    sys.exit(main())

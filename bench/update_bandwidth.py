#!/usr/bin/env python3
"""Update bandwidth: bytes a client downloads per day with deltas vs full bundles.

Usage: update_bandwidth.py BUILD_BIN_DIR [--lines N] [--days D] [--adds A] [--removes R] [--zstd-level L]

Simulates a signature set that changes like ClamAV's daily database: N hash
signature lines (ClamAV .hdb form, random MD5s), of which each day A new
lines are added and R old lines removed. Publishes one release per day with
`vigil-server publish`, serves it with `vigil-server serve` on loopback, and
updates one client every day with `vigil update`, reading the bytes it
actually downloaded. Prints a Markdown table. Python 3 stdlib only.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def line(rng, i):
    return "%032x:%d:Sim.Malware.%d-%d\n" % (rng.getrandbits(128), rng.randint(1000, 9_000_000), i, rng.randint(0, 99))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--adds", type=int, default=4000)
    ap.add_argument("--removes", type=int, default=1000)
    ap.add_argument("--zstd-level", type=int, default=19)
    a = ap.parse_args()
    vigil = os.path.join(a.bin, "vigil")
    server = os.path.join(a.bin, "vigil-server")
    root = Path(tempfile.mkdtemp(prefix="vigil-bw-"))
    rng = random.Random(2024)
    try:
        subprocess.run([server, "keygen", "--out", str(root / "keys")], check=True, capture_output=True)
        sig = root / "sig"
        sig.mkdir()
        # A large stable part (main) and a changing part (daily), as ClamAV ships them.
        n_daily = a.lines // 5
        main_lines = [line(rng, i) for i in range(a.lines - n_daily)]
        (sig / "main.hdb").write_text("".join(main_lines))
        daily = [line(rng, i) for i in range(n_daily)]
        next_id = a.lines
        rows = []
        serve = None
        url = None
        for day in range(a.days + 1):
            if day:
                for _ in range(a.removes):
                    daily.pop(rng.randrange(len(daily)))
                for _ in range(a.adds):
                    daily.append(line(rng, next_id))
                    next_id += 1
            (sig / "daily.hdb").write_text("".join(daily))
            t = time.time()
            r = subprocess.run([server, "publish", "--repo", str(root / "repo"), "--key", str(root / "keys/release.key"),
                                "--log-key", str(root / "keys/log.key"), "--db", str(sig),
                                "--zstd-level", str(a.zstd_level)], check=True, capture_output=True, text=True)
            publish_s = time.time() - t
            bundle = int(re.search(r"bundle (\d+) bytes", r.stdout).group(1))
            m = re.search(r"delta from %d (\d+) bytes" % day, r.stdout)
            delta = int(m.group(1)) if m else None
            if serve is None:
                serve = subprocess.Popen([server, "serve", "--repo", str(root / "repo"), "--listen", "127.0.0.1:0"],
                                         stdout=subprocess.PIPE, text=True)
                url = serve.stdout.readline().strip().rsplit(" ", 1)[1]
            u = subprocess.run([vigil, "update", "-q", "--server", url, "--release-pubkey", str(root / "keys/release.pub"),
                                "--log-pubkey", str(root / "keys/log.pub"), "--db-dir", str(root / "client/db")],
                               capture_output=True, text=True)
            if u.returncode != 0:
                print(u.stdout, u.stderr, file=sys.stderr)
                return 1
            got = int(re.search(r", (\d+) bytes;", u.stdout).group(1))
            kind = "delta" if "(delta" in u.stdout else "full bundle"
            raw = sum(f.stat().st_size for f in sig.iterdir())
            rows.append((day + 1, raw, bundle, delta, got, kind, publish_s))
        serve.terminate()
        print(f"{a.lines} signature lines, +{a.adds}/-{a.removes} lines a day, zstd level {a.zstd_level}\n")
        print("| release | database bytes | full bundle bytes | delta from previous bytes | client downloaded | as | publish s |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for v, raw, bundle, delta, got, kind, s in rows:
            print(f"| {v} | {raw:,} | {bundle:,} | {delta:,} | {got:,} | {kind} | {s:.1f} |" if delta else
                  f"| {v} | {raw:,} | {bundle:,} | - | {got:,} | {kind} | {s:.1f} |")
        deltas = [d for (_, _, _, d, _, _, _) in rows if d]
        bundles = [b for (_, _, b, _, _, _, _) in rows[1:]]
        if deltas:
            avg_d = sum(deltas) / len(deltas)
            avg_b = sum(bundles) / len(bundles)
            print(f"\nper day: {avg_d:,.0f} bytes with deltas vs {avg_b:,.0f} bytes with full bundles "
                  f"({avg_b / avg_d:,.0f}x less)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

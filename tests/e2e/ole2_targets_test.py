#!/usr/bin/env python3
"""Target type 2 (OLE2) and the order of reports in OLE2 files, against clamscan.

  ole2_targets_test.py VIGIL

For each OLE2 file (clamav-testfiles' clam.ole.doc and clam.ppt when the
package is installed, and files that only carry the OLE2 magic, written
here), picks byte strings found once in the file at spread offsets and, for
every ordered pair of them, loads a type-2 signature on the first and a
type-0 one on the second. Compares what vigil and clamscan report: the name
without -z, the set of names with -z. clamscan looks inside an OLE2 file
before scanning its own bytes, and type-2 signatures apply to those bytes.

Skips (exit 77) when clamscan is not installed.
"""

import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle_util import found_names as names, need_clamscan  # noqa: E402
MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
TESTFILES = Path("/usr/share/clamav-testfiles")


def chunks(data, count, rng):
    """Byte strings of 16 bytes found once in `data`, at spread offsets."""
    out = []
    step = max(16, len(data) // (count + 1))
    for start in range(16, len(data) - 16, step):
        for i in range(start, min(start + step, len(data) - 16)):
            c = data[i:i + 16]
            if len(set(c)) >= 8 and data.count(c) == 1:
                out.append(c)
                break
        if len(out) == count:
            break
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    vigil = sys.argv[1]
    need_clamscan()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="vigil-ole2-") as tmp:
        d = Path(tmp)
        files = []
        for name in ("clam.ole.doc", "clam.ppt"):
            if (TESTFILES / name).exists():
                files.append(d / name)
                files[-1].write_bytes((TESTFILES / name).read_bytes())
        if not files:
            print(f"note: {TESTFILES} missing (Debian package clamav-testfiles): magic-only files alone")
        blob = bytes(rng.randrange(256) for _ in range(4096))
        (d / "magic-only.bin").write_bytes(MAGIC + blob)
        (d / "magic-short.bin").write_bytes(MAGIC[:7] + b"\0" + blob)
        files += [d / "magic-only.bin", d / "magic-short.bin"]
        bad = runs = typed_first = 0
        for f in files:
            data = f.read_bytes()
            cs = chunks(data, 7, rng)
            if len(cs) < 3:
                print(f"FAIL: {f.name}: too few distinct byte strings")
                return 1
            for i, a in enumerate(cs):
                for j, b in enumerate(cs):
                    if i == j:
                        continue
                    db = d / f"p{i}{j}.ndb"
                    db.write_text(f"Ole2:2:*:{a.hex()}\nAny0:0:*:{b.hex()}\n")
                    for z in ([], ["-z"]):
                        c = names(["clamscan", "--no-summary", *z, "-d", str(db), str(f)])
                        v = names([vigil, "scan", "--no-cache", "--no-summary", *z, "-d", str(db), str(f)])
                        runs += 1
                        if not z and c[:1] == ["Ole2.UNOFFICIAL"]:
                            typed_first += 1
                        if (sorted(set(c)) != sorted(set(v))) if z else (c != v):
                            bad += 1
                            print(f"MISMATCH {f.name} {' '.join(z)} Ole2@{data.find(a)} Any0@{data.find(b)}: "
                                  f"clamscan {c}, vigil {v}")
        print(f"{len(files)} files, {runs} comparisons, {typed_first} where clamscan reports the type-2 name, "
              f"{bad} mismatches")
        if typed_first == 0:
            print("FAIL: clamscan never reported the type-2 signature: the probe is broken")
            return 1
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""EP and section offsets (EP+n, EP-n, Sx+n, SL+n, SEx, with shifts) on PE
files, against clamscan.

  pe_offsets_test.py VIGIL

Writes PE32 files with random section layouts (entry point in a section, in
the headers, or nowhere) and random contents, and for each a database of
type-1 signatures: 8 bytes taken from the file at a position, with an
offset that should match there and one that should not (one byte off, a
section past the last, a shift that falls short). Compares the names each
scanner reports with -z (as sets) and without (the first), file by file.

Skips (exit 77) when clamscan is not installed.
"""

import random
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle_util import found_names as names, need_clamscan  # noqa: E402


def make_pe(rng):
    """A PE32 file and its layout: sections (va, vsize, raw, rsize), entry point RVA."""
    n = rng.randint(1, 5)
    secs, va, raw = [], 0x1000, 0x400
    for i in range(n):
        rsize = rng.choice([0x200, 0x400, 0x600])
        vsize = rng.choice([rsize, rsize - 0x80, rsize + 0x300])
        secs.append((f".s{i}".encode(), va, vsize, raw, rsize))
        va += 0x1000 * (1 + max(vsize, rsize) // 0x1000)
        raw += rsize
    kind = rng.choice(["section", "section", "section", "headers", "nowhere"])
    if kind == "section":
        s = rng.choice(secs)
        ep = s[1] + rng.randrange(0, s[4])
    elif kind == "headers":
        ep = rng.randrange(0x200, 0x3F0)
    else:
        ep = va + 0x5000
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x14C, n, 0, 0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into("<HBBIIIIII", opt, 0, 0x10B, 1, 0, 0x1000, 0x1000, 0, ep, 0x1000, 0x2000)
    struct.pack_into("<IIIHHHHHHIIIIHHIIIIII", opt, 28, 0x400000, 0x1000, 0x200, 4, 0, 0, 0, 4, 0, 0,
                     va + 0x1000, 0x400, 0, 2, 0, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    table = b"".join(struct.pack("<8sIIIIIIHHI", nm, vs, v, rs, r, 0, 0, 0, 0, 0x60000020)
                     for nm, v, vs, r, rs in secs)
    header = bytes(dos) + coff + bytes(opt) + table
    data = bytearray(rng.randrange(256) for _ in range(raw + rng.choice([0, 0x100])))
    data[:len(header)] = header
    ep_file = None
    if kind == "section":
        for nm, v, vs, r, rs in secs:
            if v <= ep < v + max(vs, rs):
                ep_file = r + ep - v
                break
    elif kind == "headers":
        ep_file = ep
    return bytes(data), secs, ep_file


def cases(rng, data, secs, ep_file):
    """(offset, position) pairs: the offset puts a signature at the position."""
    out = []
    last = secs[-1]
    for _ in range(12):
        kind = rng.choice(["ep", "ep-", "s", "sl", "se", "shift"])
        if kind in ("ep", "ep-", "shift") and ep_file is None:
            at = rng.randrange(0x400, len(data) - 8)
            out.append(("EP+0", at))  # no entry point in the file: never matches
            continue
        if kind == "ep":
            n = rng.randrange(0, 0x200)
            out.append((f"EP+{n}", ep_file + n))
        elif kind == "ep-":
            n = rng.randrange(0, min(ep_file, 0x200) + 1)
            out.append((f"EP-{n}", ep_file - n))
        elif kind == "shift":
            n, m = rng.randrange(0, 0x80), rng.randrange(0, 0x80)
            out.append((f"EP+{n},{m}", ep_file + n + rng.randrange(0, m + 2)))  # past the shift at m + 1
        elif kind == "s":
            x = rng.randrange(0, len(secs) + 1)  # one past the last: never matches
            n = rng.randrange(0, 0x300)
            base = secs[x][3] if x < len(secs) else secs[-1][3]
            out.append((f"S{x}+{n}", base + n))
        elif kind == "sl":
            n = rng.randrange(0, 0x300)
            out.append((f"SL+{n}", last[3] + n))
        else:
            x = rng.randrange(0, len(secs))
            r, rs = secs[x][3], secs[x][4]
            out.append((f"SE{x}", rng.randrange(r - 8, r + rs + 8)))  # around both edges
    return [(o, at) for o, at in out if 0 <= at <= len(data) - 8]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    vigil = sys.argv[1]
    need_clamscan()
    rng = random.Random(1207)
    bad = total = matched = 0
    with tempfile.TemporaryDirectory(prefix="vigil-peoff-") as tmp:
        d = Path(tmp)
        for i in range(80):
            data, secs, ep_file = make_pe(rng)
            f = d / f"pe{i:02d}.exe"
            f.write_bytes(data)
            lines = []
            for k, (off, at) in enumerate(cases(rng, data, secs, ep_file)):
                lines.append(f"Off{k}_{off.replace('+', 'p').replace('-', 'm').replace(',', 's')}:1:{off}:"
                             f"{data[at:at + 8].hex()}")
            db = d / f"pe{i:02d}.ndb"
            db.write_text("\n".join(lines) + "\n")
            for z in ([], ["-z"]):
                c = names(["clamscan", "--no-summary", *z, "-d", str(db), str(f)])
                v = names([vigil, "scan", "--no-cache", "--no-summary", *z, "-d", str(db), str(f)])
                total += 1
                matched += len(set(c))
                if (sorted(set(c)) != sorted(set(v))) if z else (c != v):
                    bad += 1
                    print(f"MISMATCH {f.name} {' '.join(z)} sections={[(hex(s[3]), hex(s[4])) for s in secs]} "
                          f"ep_file={ep_file}: clamscan {sorted(set(c))}, vigil {sorted(set(v))}")
    print(f"{total} comparisons, {matched} names reported by clamscan, {bad} mismatches")
    if matched == 0:
        print("FAIL: clamscan matched nothing: the probe is broken")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""vigil against clamscan on the real public signature sets in ../shared/corpora.

Usage: corpora_test.py --vigil PATH [--clamscan PATH] [--seed N] [--sample N] [--keep]

For clamav-official-db and rfxn-maldet it copies the database files of the
formats vigil supports (.hdb .hsb .ndb .fp .sfp .ign2) into a temporary
directory and requires:
  - the same "Known viruses" count from `vigil scan -d DIR` and `clamscan -d DIR`;
  - the same FOUND lines (-r -z) on files planted with matches of real body
    signatures: target-0 ones rendered into binary files (wildcards filled
    with bytes that satisfy them), file-type ones (PE, ELF, Mach-O, PDF,
    graphics, Flash, Java) into files with that type's leading bytes and
    into untyped ones, target-7 ones into text files (with
    upper case and whitespace runs that normalise away), plus a near miss
    (one literal byte changed) for some of them.
Hash signatures cannot be planted (no file with a given MD5 can be made);
they are covered by the counts, and by the differential test.

Exit status: 0 pass, 1 disagreement, 77 when clamscan or the corpora are missing.
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

SKIP = 77
SUPPORTED = {".hdb", ".hsb", ".ndb", ".fp", ".sfp", ".ign2"}
SOURCES = ["clamav-official-db", "rfxn-maldet"]
BINARY_PREFIX = b"\x00\x00\x00\x00zz"
# Leading bytes that give a file a ClamAV target type (lib/match/target.h).
MAGIC = {1: b"MZ" + b"\x00" * 62, 5: b"GIF89a", 6: b"\x7fELF\x02\x01\x01" + b"\x00" * 9,
         9: b"\xcf\xfa\xed\xfe", 10: b"%PDF-1.4\n", 11: b"FWS\x08", 12: b"\xca\xfe\xba\xbe\x00\x00\x00\x34"}
# Byte strings that make clamscan treat a file as HTML, mail or an archive
# (which vigil does not normalise or unpack yet): such renderings are not used.
FOREIGN = re.compile(rb"(?i)<(html|head|script|iframe|img|object|table|a\s)|<%@|PK\x03\x04")


def corpora_dir():
    return Path(__file__).resolve().parents[3] / "shared" / "corpora" / "signatures"


# ---------------------------------------------------------------------------
# Rendering a body signature into bytes that match it.

class Renderer:
    """Turns a ClamAV hex signature into one byte string it matches, and
    tells which bytes come from literal signature bytes."""

    def __init__(self, rng):
        self.rng = rng

    def render(self, hexsig):
        out, static = bytearray(), []
        self._seq(hexsig, out, static)
        return bytes(out), static

    def _byte(self, tok):
        hi, lo = tok[0], tok[1]
        if hi == "?" and lo == "?":
            return ord("x"), False
        if hi == "?":
            return 0x40 | int(lo, 16), False
        if lo == "?":
            return int(hi, 16) << 4 | 0x1, False
        return int(tok, 16), True

    def _seq(self, s, out, static):
        i = 0
        while i < len(s):
            c = s[i]
            if c == "*":
                i += 1
            elif c == "{":
                j = s.index("}", i)
                body = s[i + 1:j]
                n = 0 if not body or body.startswith("-") else int(body.split("-")[0])
                out += b"x" * n
                static += [False] * n
                i = j + 1
            elif c == "[":
                j = s.index("]", i)
                n = int(s[i + 1:j].split("-")[0])
                out += b"x" * n
                static += [False] * n
                i = j + 1
            elif c == "!" or c == "(":
                neg = c == "!"
                if neg:
                    i += 1
                j = self._close(s, i)
                body = s[i + 1:j]
                i = j + 1
                if body in ("B", "L", "W"):
                    out += b"\n" if body == "L" else b" "
                    static.append(False)
                    continue
                alts = self._split(body)
                if neg:
                    width = len(alts[0]) // 2
                    forbidden = {bytes.fromhex(a) for a in alts}
                    cand = b"x" * width
                    while cand in forbidden:
                        cand = bytes([(cand[0] + 1) % 256]) + cand[1:]
                    out += cand
                    static += [False] * width
                else:
                    sub, sub_static = bytearray(), []
                    self._seq(alts[0], sub, sub_static)
                    out += sub
                    static += [False] * len(sub)
            else:
                b, st = self._byte(s[i:i + 2])
                out.append(b)
                static.append(st)
                i += 2

    @staticmethod
    def _close(s, i):
        depth = 0
        for j in range(i, len(s)):
            if s[j] == "(":
                depth += 1
            elif s[j] == ")":
                depth -= 1
                if depth == 0:
                    return j
        raise ValueError("unbalanced parentheses")

    @staticmethod
    def _split(body):
        alts, depth, cur = [], 0, ""
        for ch in body:
            if ch == "|" and depth == 0:
                alts.append(cur)
                cur = ""
                continue
            depth += ch == "("
            depth -= ch == ")"
            cur += ch
        alts.append(cur)
        return alts


def shout(rng, text):
    """Raw text that clamscan normalises back to `text`."""
    out = bytearray()
    for c in text:
        if 97 <= c <= 122 and rng.random() < 0.5:
            out.append(c - 32)
        elif c == 32 and rng.random() < 0.5:
            out += b" \t\n "
        else:
            out.append(c)
    return bytes(out)


# ---------------------------------------------------------------------------

def body_sigs(path):
    """(name, target, offset, hex) of each .ndb line vigil evaluates: targets 0, 7
    and the file types of MAGIC, offsets * and n."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 4:
            continue
        name, target, offset, hexsig = f[:4]
        if not target.isdigit() or int(target) not in (0, 7, *MAGIC) or not (offset == "*" or offset.isdigit()):
            continue
        out.append((name, int(target), offset, hexsig))
    return out


def plant(rng, renderer, sigs, files):
    """Writes files with matches (and near misses) of the given signatures."""
    made = 0
    for name, target, offset, hexsig in sigs:
        try:
            match, static = renderer.render(hexsig)
        except (ValueError, IndexError):
            continue
        if FOREIGN.search(match):
            continue
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80]
        pos = int(offset) if offset.isdigit() else None
        variants = [("hit", match)]
        if target in MAGIC and pos is None:
            variants.append(("untyped", match))  # the same bytes in a file of no type
        lits = [k for k, st in enumerate(static) if st]
        if lits and rng.random() < 0.5:
            miss = bytearray(match)
            k = rng.choice(lits)
            miss[k] = (miss[k] + 1) % 256 if target == 0 else (ord("q") if miss[k] != ord("q") else ord("r"))
            variants.append(("miss", bytes(miss)))
        for tag, m in variants:
            if target == 7:
                raw = shout(rng, m)
                if pos is not None:
                    data = raw + b"\nplain trailing text\n"
                else:
                    data = b"some leading text " * rng.randint(1, 40) + raw + b"\nthe end\n"
            else:
                filler = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
                prefix = MAGIC[target] if target in MAGIC and tag != "untyped" else BINARY_PREFIX
                if pos is not None:
                    head = (prefix + filler)[:pos] if pos else b""
                    head = head.ljust(pos, b"\x00")
                    data = head + m + BINARY_PREFIX + filler
                else:
                    data = prefix + filler + m + filler[::-1]
            (files / f"{safe}.{tag}").write_bytes(data)
            made += 1
    return made


def run(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    return r, time.monotonic() - t0


def known(stdout):
    m = re.search(r"^Known viruses: (\d+)", stdout, re.M)
    return int(m.group(1)) if m else None


def found(stdout, root):
    prefix = str(root) + "/"
    return {l.replace(prefix, "") for l in stdout.splitlines() if l.endswith(" FOUND")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--clamscan", default=shutil.which("clamscan"))
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--sample", type=int, default=4000, help="most body signatures planted per set")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not args.clamscan or not os.access(args.clamscan, os.X_OK):
        print("SKIP: clamscan not found (install the clamav package)")
        return SKIP
    root = corpora_dir()
    missing = [s for s in SOURCES if not (root / s).is_dir()]
    if missing:
        print(f"SKIP: signature corpora not found: {', '.join(str(root / s) for s in missing)}")
        return SKIP
    rng = random.Random(args.seed)
    renderer = Renderer(rng)
    work = Path(tempfile.mkdtemp(prefix="vigil-corpora-"))
    ok = True
    try:
        for source in SOURCES:
            db = work / f"db-{source}"
            files = work / f"files-{source}"
            db.mkdir()
            files.mkdir()
            copied = []
            for f in sorted((root / source).iterdir()):
                if f.suffix in SUPPORTED:
                    shutil.copyfile(f, db / f.name)
                    copied.append(f.name)
            sigs = []
            for f in sorted(db.glob("*.ndb")):
                sigs += body_sigs(f)
            if len(sigs) > args.sample:
                sigs = rng.sample(sigs, args.sample)
            n = plant(rng, renderer, sigs, files)
            c, tc = run([args.clamscan, "-r", "-z", "-d", str(db), str(files)])
            v, tv = run([args.vigil, "scan", "-r", "-z", "-d", str(db), str(files)])
            kc, kv = known(c.stdout), known(v.stdout)
            fc, fv = found(c.stdout, files), found(v.stdout, files)
            print(f"{source}: {', '.join(copied)}; Known viruses clamscan {kc}, vigil {kv}; "
                  f"{n} planted files, {len(fc)} FOUND lines from clamscan, {len(fv)} from vigil; "
                  f"clamscan {tc:.1f}s, vigil {tv:.1f}s")
            if kc is None or kv is None:
                ok = False
                print(f"  no summary: clamscan exit {c.returncode} {c.stderr.strip()[-500:]}\n"
                      f"               vigil exit {v.returncode} {v.stderr.strip()[-500:]}")
            elif kc != kv:
                ok = False
                print(f"  Known viruses differ: clamscan {kc}, vigil {kv}")
            for tag, lines in (("only clamscan", sorted(fc - fv)), ("only vigil", sorted(fv - fc))):
                for line in lines:
                    ok = False
                    print(f"  {tag}: {line}")
    finally:
        if args.keep or not ok:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

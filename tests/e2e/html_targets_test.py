#!/usr/bin/env python3
"""HTML normalisation and target type 3 against clamscan, the oracle.

  html_targets_test.py VIGIL HTML_NORMALIZE

1. The normaliser: clamscan --leave-temps keeps the normalised document it
   scans (nocomment.html). For generated documents (tests/e2e/html_gen.py,
   fixed seed) vigil's normalised form (HTML_NORMALIZE, a tool over
   lib/match/html.cc) must be byte for byte the same; for the HTML files
   under /usr/share/doc, when there are some, at least 90% must be (the rest
   differ in clamscan's handling of bytes from 0x80 up inside attributes).
2. The scan: signatures cut from clamscan's normalised documents (type 3
   and type 0), and from raw bytes that normalisation changes (type 0:
   clamscan does not scan an HTML file's raw bytes), planted in one
   database; vigil scan and clamscan, with and without -z, must report the
   same names in the same order for every file (names once each: clamscan
   repeats a name once per pass). Windows inside scripts are left out:
   clamscan also scans scripts through a JavaScript normaliser (identifiers
   renamed), which vigil does not have yet.

Skips (exit 77) when clamscan is not installed.
"""

import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import html_gen  # noqa: E402
from oracle_util import found, need_clamscan  # noqa: E402


def clamscan_nocomment(files, tmp):
    """The nocomment.html clamscan writes for each file (None: not HTML to it)."""
    leave = tmp / "leave"
    leave.mkdir()
    db = tmp / "dummy.ndb"
    db.write_text("Dummy:0:*:00010203fffefd7f\n")
    subprocess.run(["clamscan", "--leave-temps", f"--tempdir={leave}", "-d", str(db), *map(str, files)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    out = {}
    for f in files:
        hits = list(leave.glob(f"*-{f.name}.*/**/nocomment.html"))
        out[f] = hits[0].read_bytes() if hits else None
    return out


def vigil_nocomment(tool, f):
    return subprocess.run([tool, "nocomment", str(f)], stdout=subprocess.PIPE, check=True, timeout=60).stdout


def unique(names):
    out = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


def by_file(cmd):
    out = {}
    for f, name in found(cmd):
        out.setdefault(f, []).append(name)
    return {f: unique(v) for f, v in out.items()}


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    vigil, tool = sys.argv[1], sys.argv[2]
    need_clamscan()
    failures = []
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        gen_dir = tmp / "gen"
        gen_dir.mkdir()
        docs = html_gen.documents(20261207, 160)
        gen_files = []
        for i, d in enumerate(docs):
            p = gen_dir / f"g{i:03d}.html"
            p.write_bytes(d)
            gen_files.append(p)
        real_dir = tmp / "real"
        real_dir.mkdir()
        real_files = []
        for i, src in enumerate(sorted(Path("/usr/share/doc").rglob("*.html"))[:200]):
            try:
                data = src.read_bytes()
            except OSError:
                continue
            if len(data) > 300_000:
                continue
            p = real_dir / f"r{i:03d}.html"
            p.write_bytes(data)
            real_files.append(p)

        # 1. The normaliser.
        ref = clamscan_nocomment(gen_files + real_files, tmp)
        same_gen = 0
        for f in gen_files:
            if ref[f] is None:
                failures.append(f"{f.name}: clamscan did not take the generated document for HTML")
                continue
            mine = vigil_nocomment(tool, f)
            if mine == ref[f]:
                same_gen += 1
            else:
                i = next((k for k in range(min(len(mine), len(ref[f]))) if mine[k] != ref[f][k]),
                         min(len(mine), len(ref[f])))
                failures.append(f"{f.name}: normalised forms differ at byte {i}: clamscan "
                                f"{ref[f][max(0, i - 40):i + 40]!r}, vigil {mine[max(0, i - 40):i + 40]!r}")
        print(f"generated documents: {same_gen}/{len(gen_files)} normalised exactly as clamscan does")
        real_html = [f for f in real_files if ref[f] is not None]
        same_real = sum(1 for f in real_html if vigil_nocomment(tool, f) == ref[f])
        if real_html:
            print(f"/usr/share/doc HTML: {same_real}/{len(real_html)} normalised exactly as clamscan does")
            if same_real < 0.9 * len(real_html):
                failures.append(f"/usr/share/doc HTML: only {same_real}/{len(real_html)} normalised as clamscan does")
        else:
            print("/usr/share/doc has no HTML files: that part of the comparison is skipped")

        # 2. The scan, on the generated documents.
        r = random.Random(7)
        lines = []

        def window(norm):
            # Not inside a script: clamscan also scans its scripts through a
            # JavaScript normaliser, which vigil does not have yet.
            for _ in range(50):
                a = r.randrange(0, len(norm) - 16)
                before = norm[:a + 16]
                if before.rfind(b"<script") <= before.rfind(b"</script>"):
                    return norm[a:a + 16]
            return None

        for k, f in enumerate(gen_files[:80]):
            norm, raw = ref[f], f.read_bytes()
            if norm is None or len(norm) < 40:
                continue
            for j in range(2):
                w = window(norm)
                if w:
                    lines.append(f"H{k}n{j}:3:*:{w.hex()}")
            w = window(norm)
            if w:
                lines.append(f"Z{k}n:0:*:{w.hex()}")
            # Raw bytes the normalisation changed: never found by either.
            for _ in range(20):
                a = r.randrange(0, len(raw) - 12)
                w = raw[a:a + 12]
                if w not in norm and w.lower() not in norm:
                    lines.append(f"R{k}:0:*:{w.hex()}")
                    break
        db = tmp / "html.ndb"
        db.write_text("\n".join(lines) + "\n")
        for z in ([], ["-z"]):
            clam = by_file(["clamscan", "--no-summary", "-d", str(db), *z, str(gen_dir)])
            mine = by_file([vigil, "scan", "--no-summary", "-d", str(db), *z, str(gen_dir)])
            for f in sorted(set(clam) | set(mine)):
                if clam.get(f) != mine.get(f):
                    failures.append(f"{f} {' '.join(z)}: clamscan {clam.get(f)}, vigil {mine.get(f)}")
            print(f"scan {' '.join(z) or 'without -z'}: {len(clam)} files with detections by clamscan, "
                  f"{len(mine)} by vigil, {len(lines)} signatures")
            if not clam:
                failures.append("clamscan found nothing: the comparison would be empty")
    for msg in failures[:30]:
        print("FAIL:", msg)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

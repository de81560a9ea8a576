#!/usr/bin/env python3
"""What `vigil` loads at start, and that lazily bound libraries still load
when a file needs them (cmake/lazy_libs.py).

  startup_test.py VIGIL LAZY_REPORT

LAZY_REPORT is build/lazy/lazy_libs.txt; without it (VIGIL_LAZY_LIBS off)
the test is skipped.

Checks:
  1. The executable's own dependencies are only the C and C++ runtimes.
  2. Scanning a text file from a cached engine loads none of the lazily
     bound libraries (LD_DEBUG=files lists every library the loader opens).
  3. Scanning a zip opens libarchive and still finds the planted signature;
     compiling a database (no cache) opens Hyperscan's compiler library.
"""
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile

SKIP = 77
ALLOWED = re.compile(r"^(libc\.so|libm\.so|libgcc_s\.so|libstdc\+\+\.so|ld-linux)")


def loaded(vigil, args, env_extra=None):
    env = dict(os.environ, LD_DEBUG="files")
    env.update(env_extra or {})
    p = subprocess.run([vigil, *args], capture_output=True, text=True, env=env)
    libs = set(re.findall(r"file=(\S+) \[0\];\s+(?:dynamically loaded|needed)", p.stderr))
    return p, {os.path.basename(x) for x in libs}


def main():
    vigil, report = sys.argv[1], sys.argv[2]
    if not os.path.exists(report):
        print(f"SKIP: {report} not built (VIGIL_LAZY_LIBS is off)")
        return SKIP
    lazy = re.findall(r"^  (\S+)$", open(report).read(), re.M)
    failures = []
    if not lazy:
        failures.append(f"{report} lists no lazily bound library")

    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", "-W", vigil], capture_output=True, text=True).stdout)
    extra = [n for n in needed if not ALLOWED.match(n)]
    if extra:
        failures.append(f"vigil depends at start on {extra}")

    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "t.ndb")
        with open(db, "w") as f:
            f.write("Startup.Test:0:*:766967696c2d737461727475702d74657374\n")  # "vigil-startup-test"
        text = os.path.join(d, "plain.txt")
        with open(text, "w") as f:
            f.write("nothing to see here, only text\n")
        cache = os.path.join(d, "cache")
        base = ["scan", "--cache-dir", cache, "-d", db]

        # Cold: compiles, so Hyperscan's compiler is loaded (when it is lazy).
        p, libs = loaded(vigil, base + [text])
        if p.returncode != 0:
            failures.append(f"cold scan exit {p.returncode}: {p.stderr[-500:]}")
        if "libhs.so.5" in lazy and "libhs.so.5" not in libs:
            failures.append(f"a compile did not open libhs.so.5 (opened: {sorted(libs)})")

        # The database's key is remembered once its files are two seconds
        # old (docs/formats/engine-cache.md, "Stat memo"); before that each
        # start hashes them.
        time.sleep(2.5)
        subprocess.run([vigil, *base, text], capture_output=True)
        # Cached: a text file needs none of the lazy libraries.
        p, libs = loaded(vigil, base + [text])
        if p.returncode != 0 or "plain.txt: OK" not in p.stdout:
            failures.append(f"cached scan: exit {p.returncode}, {p.stdout!r}")
        opened = sorted(set(lazy) & libs)
        if opened:
            failures.append(f"a cached scan of a text file opened {opened}")
        print(f"cached text scan opened: {sorted(libs)}")

        # A zip needs libarchive, bound on first call.
        z = os.path.join(d, "in.zip")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("inner.txt", "padding " * 100 + "vigil-startup-test" + " padding" * 100)
        with open(z, "wb") as f:
            f.write(buf.getvalue())
        p, libs = loaded(vigil, base + [z])
        if p.returncode != 1 or "Startup.Test.UNOFFICIAL FOUND" not in p.stdout:
            failures.append(f"zip scan: exit {p.returncode}, {p.stdout!r} {p.stderr[-300:]!r}")
        if "libarchive.so.13" in lazy and "libarchive.so.13" not in libs:
            failures.append(f"the zip scan did not open libarchive (opened: {sorted(libs)})")

    for f in failures:
        print("FAIL:", f)
    print(f"{'FAILED' if failures else 'ok'}: {len(lazy)} lazily bound libraries")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

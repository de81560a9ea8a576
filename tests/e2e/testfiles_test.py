#!/usr/bin/env python3
"""The clamav-testfiles count: how many of Debian's clamav-testfiles vigil finds
with ClamAV's one-line test hash signature, next to clamscan on the same files.

Every file in the package carries clam.exe (544 bytes) somewhere inside: in an
archive, a mail, a document, an installer or a packed executable. clamscan
1.4.6 reports ClamAV-Test-File in all of them. This test prints vigil's count,
clamscan's (when clamscan is installed) and the files vigil misses, and fails
when vigil finds fewer than REACHED: the count reached so far (docs/FORMATS.md).
Raise REACHED whenever a new format lands.

Usage: testfiles_test.py VIGIL [TESTFILES_DIR]
Skips (exit 77) when the clamav-testfiles package is not installed.
Python 3 stdlib only.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SKIP = 77
# The number of files vigil detects today; the test fails below it.
REACHED = 44
SIG = "71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495:544:ClamAV-Test-File\n"
NAME = "ClamAV-Test-File.UNOFFICIAL"


def detected(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    hits = set()
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if line.endswith(f": {NAME} FOUND"):
            hits.add(os.path.basename(line[: -len(f": {NAME} FOUND")]))
    return r.returncode, hits


def main():
    if len(sys.argv) < 2:
        print("usage: testfiles_test.py VIGIL [TESTFILES_DIR]")
        return 2
    vigil = os.path.abspath(sys.argv[1])
    tdir = Path(sys.argv[2] if len(sys.argv) > 2 else "/usr/share/clamav-testfiles")
    if not tdir.is_dir():
        print(f"SKIP: {tdir} missing (install the Debian package clamav-testfiles)")
        return SKIP
    files = sorted(p.name for p in tdir.iterdir() if p.is_file())
    with tempfile.TemporaryDirectory(prefix="vigil-testfiles-") as tmp:
        db = Path(tmp) / "test.hdb"
        db.write_text(SIG)
        rc, vigil_hits = detected([vigil, "scan", "--no-cache", "--no-summary", "-d", str(db), str(tdir)])
        if rc not in (0, 1):
            print(f"FAIL: vigil exited {rc}")
            return 1
        clam_hits = None
        if shutil.which("clamscan"):
            _, clam_hits = detected(["clamscan", "--no-summary", "-d", str(db), str(tdir)])
    print(f"clamav-testfiles: {len(files)} files")
    print(f"vigil:    {len(vigil_hits)} / {len(files)}")
    if clam_hits is not None:
        print(f"clamscan: {len(clam_hits)} / {len(files)}")
    else:
        print("clamscan: not installed")
    misses = [f for f in files if f not in vigil_hits]
    print("vigil misses:", " ".join(misses) if misses else "none")
    if clam_hits is not None:
        extra = sorted(vigil_hits - clam_hits)
        if extra:
            print("found by vigil only:", " ".join(extra))
    ok = len(vigil_hits) >= REACHED
    if not ok:
        print(f"FAIL: vigil detects {len(vigil_hits)}, fewer than the {REACHED} reached before")
    # The AutoIt samples are UPX-packed with NRV2E, their compiled script and
    # FileInstall payloads (clam.exe, found above) in the overlay: the UPX
    # streams must unpack exactly (the reader warns on a short, long or
    # unterminated stream) and the AutoIt entries decrypt with matching
    # checksums (autoit.cc warns otherwise).
    for name in ("clam.ea05.exe", "clam.ea06.exe"):
        r = subprocess.run([vigil, "scan", "--no-cache", "--json", str(tdir / name)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        first = json.loads(r.stdout.decode().splitlines()[0])
        warnings = [w for w in first.get("warnings", []) if "upx" in w or "autoit" in w]
        if warnings or first.get("members", 0) < 3:
            print(f"FAIL: {name}: UPX stream or AutoIt entries not read cleanly: {warnings}")
            ok = False
        else:
            print(f"{name}: UPX NRV2E stream unpacked, AutoIt entries extracted")
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

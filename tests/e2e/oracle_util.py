"""Shared by the tests that compare vigil scan with clamscan on the same files."""

import shutil
import subprocess
import sys
from pathlib import Path

SKIP = 77


def need_clamscan():
    """Exits with SKIP (77) when clamscan, the oracle, is not installed."""
    if not shutil.which("clamscan"):
        print("SKIP: clamscan not installed (the oracle); run scripts/setup.sh")
        sys.exit(SKIP)


def found(cmd):
    """Runs a scanner; its FOUND lines as (file name, signature name), in order."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=300)
    if r.returncode not in (0, 1):
        raise SystemExit(f"FAIL: {' '.join(cmd[:2])} exited {r.returncode}")
    out = []
    for line in r.stdout.decode().splitlines():
        if line.endswith(" FOUND"):
            path, name = line[: -len(" FOUND")].rsplit(": ", 1)
            out.append((Path(path).name, name))
    return out


def found_names(cmd):
    """The signature names of a scanner's FOUND lines, in order."""
    return [name for _, name in found(cmd)]

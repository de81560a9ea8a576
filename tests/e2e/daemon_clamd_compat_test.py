#!/usr/bin/env python3
"""vigild against Debian's clamd and clamdscan, on the same generated database.

Usage: daemon_clamd_compat_test.py VIGILD
1. Debian's clamdscan, pointed at vigild by a generated clamd.conf, in plain,
   --stream, --fdpass and --multiscan modes: verdict lines and exit codes
   (0 clean, 1 found, 2 error) must equal those clamdscan gets from clamd.
2. Raw protocol requests sent to both daemons: replies must be byte-for-byte
   equal (descriptor numbers, version strings and directory order aside).
Exits 77 (SKIP) when clamd or clamdscan is not installed.
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_util import EICAR, Checks, Fixture, chunks, skip, start_clamd, start_vigild, talk  # noqa: E402


def clamdscan(conf, mode, paths):
    p = subprocess.run(["clamdscan", f"--config-file={conf}", "--no-summary", *mode, *map(str, paths)],
                       capture_output=True, text=True, timeout=120)
    # Directory scans report in the daemon's walking order: compare sorted.
    return p.returncode, sorted(p.stdout.splitlines()), sorted(p.stderr.splitlines())


def raw_requests(fx):
    f = str(fx.files)
    return [
        b"zPING\0", b"nPING\n", b"PING\n", b"PING",
        f"zSCAN {f}/eicar.com\0".encode(), f"nSCAN {f}/clean.txt\n".encode(), f"SCAN {f}/hashbad.txt\n".encode(),
        f"nSCAN {f}/nope\n".encode(), b"nSCAN relative/path\n", b"nSCAN \n", b"nSCAN\n",
        f"zCONTSCAN {fx.clean_dir}\0".encode(), f"nMULTISCAN {fx.clean_dir}\n".encode(),
        f"zALLMATCHSCAN {f}/eicar.com\0".encode(), f"ALLMATCHSCAN {f}/eicar.com\n".encode(),
        b"zINSTREAM\0" + chunks(EICAR), b"nINSTREAM\n" + chunks(EICAR, 5), b"zINSTREAM\0" + chunks(b"clean"),
        b"zINSTREAM\0" + struct.pack(">I", 0), b"INSTREAM\n" + chunks(EICAR),
        b"zINSTREAM\0" + chunks(b"A" * ((1 << 20) + 1), 65536), b"zINSTREAM\0" + struct.pack(">I", 2 << 20),
        b"zINSTREAM\0" + struct.pack(">I", 100) + b"abc",
        b"nFOO\n", b"FOO\n", b"zFOO\0", b"xPING\n", b"nping\n", b"nPING extra\n", b"\n", b"n\n", b"nEND\n",
        b"STATS\n", b"IDSESSION\n", b"zPING\n\0", b"nPING\0", b"zPING\0zPING\0", b"",
        b"nIDSESSION\nnPING\n" + f"nSCAN {f}/eicar.com\n".encode() + b"nEND\n",
        b"zIDSESSION\0zPING\0zINSTREAM\0" + chunks(EICAR) + b"zEND\0",
        b"nIDSESSION\nnCONTSCAN /tmp\nnEND\n", b"nIDSESSION\nnIDSESSION\nnEND\n", b"nIDSESSION\nnFOO\nnEND\n",
        b"nFILDES\nx",
    ]


def fildes(sock, path, prefix=b"z", term=b"\0"):
    fd = os.open(path, os.O_RDONLY)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.settimeout(10)
        s.sendall(prefix + b"FILDES" + term)
        socket.send_fds(s, [b"\0"], [fd])
        out = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
        s.close()
        return re.sub(rb"fd\[\d+\]", b"fd[N]", out)
    finally:
        os.close(fd)


def main():
    if len(sys.argv) < 2:
        print("usage: daemon_clamd_compat_test.py VIGILD")
        return 2
    if not shutil.which("clamdscan"):
        skip("clamdscan is not installed (Debian package clamdscan; scripts/setup.sh installs it)")
    fx = Fixture()
    c = Checks()
    vd = cd = None
    try:
        vd = start_vigild(Path(sys.argv[1]), fx)
        try:
            cd = start_clamd(fx)
        except RuntimeError as e:
            print(f"note: clamd did not start ({e}); comparing with clamd's known answers only")
        vconf = fx.root / "clamdscan-vigild.conf"
        vconf.write_text(f"LocalSocket {vd.sock_path}\n")
        cconf = fx.root / "clamdscan-clamd.conf"
        if cd:
            cconf.write_text(f"LocalSocket {cd.sock_path}\n")

        # 1. clamdscan against both daemons.
        f = fx.files
        targets = [[f / "eicar.com"], [f / "clean.txt"], [f / "hashbad.txt"], [f / "many"], [fx.clean_dir],
                   [Path("/nonexistent/file")], [f / "clean.txt", Path("/nonexistent/file")], [f]]
        want_rc = [1, 0, 1, 1, 0, 2, 2, 1]
        for mode in ([], ["--stream"], ["--fdpass"], ["--multiscan"], ["--multiscan", "--fdpass"]):
            for paths, rc in zip(targets, want_rc):
                what = f"clamdscan {' '.join(mode)} {' '.join(p.name for p in paths)}"
                got = clamdscan(vconf, mode, paths)
                c.eq(what + " exit code", got[0], rc)
                if cd:
                    c.eq(what + " same as clamd", got, clamdscan(cconf, mode, paths))
        ok, _, _ = clamdscan(vconf, [], [f / "eicar.com"])
        c.eq("clamdscan finds EICAR via vigild", ok, 1)

        # 2. Raw replies, byte for byte.
        if not cd:
            skip("clamd is not installed or did not start (Debian package clamav-daemon)")
        for req in raw_requests(fx):
            c.eq(f"raw {req[:50]!r}", talk(vd.sock_path, req), talk(cd.sock_path, req))
        for name in ("eicar.com", "clean.txt", "hashbad.txt"):
            c.eq(f"FILDES {name}", fildes(vd.sock_path, f / name), fildes(cd.sock_path, f / name))
        # Versions differ by design; their form does not.
        vv = talk(vd.sock_path, b"nVERSIONCOMMANDS\n")
        cv = talk(cd.sock_path, b"nVERSIONCOMMANDS\n")
        c.true("VERSIONCOMMANDS form", b"| COMMANDS: " in vv and vv.endswith(b"\n") and b"| COMMANDS: " in cv)
        for cmd in cv.split(b"COMMANDS: ")[1].split():
            if cmd not in (b"DETSTATS", b"DETSTATSCLEAR"):  # clamd's detection statistics: not in Vigil
                c.true(f"VERSIONCOMMANDS has {cmd!r}", cmd in vv.split(b"COMMANDS: ")[1].split())
        vs = talk(vd.sock_path, b"zSTATS\0")
        cs = talk(cd.sock_path, b"zSTATS\0")
        shape = lambda s: re.sub(rb"[0-9.]+", b"#", s.split(b"\nQUEUE")[0])  # noqa: E731
        c.eq("STATS header shape", shape(vs), shape(cs))
    finally:
        for d in (vd, cd):
            if d:
                d.stop()
        fx.cleanup()
    return c.finish("daemon_clamd_compat")


if __name__ == "__main__":
    sys.exit(main())

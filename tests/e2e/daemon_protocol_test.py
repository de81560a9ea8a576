#!/usr/bin/env python3
"""vigild end to end: the clamd protocol spoken raw, bad clients, reloads, signals.

Usage: daemon_protocol_test.py VIGILD [VIGIL]
Starts vigild on a temporary socket with a generated database (EICAR .ndb and
one .hdb), then talks to it. VIGIL, when given, is used for `vigil scan --daemon`.
"""

import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_util import (EICAR, EICAR_NAME, HASH_NAME, HASHBAD, Checks, Fixture, chunks,  # noqa: E402
                         connect, free_tcp_port, hdb_line, read_all, start_vigild, talk)


def test_commands(c, sock, fx):
    f = str(fx.files)
    for form, term in ((b"z", b"\0"), (b"n", b"\n")):
        c.eq(f"{form}PING", talk(sock, form + b"PING" + term), b"PONG" + term)
        v = talk(sock, form + b"VERSION" + term)
        c.true(f"{form}VERSION", v.startswith(b"Vigil ") and v.endswith(term), repr(v))
        vc = talk(sock, form + b"VERSIONCOMMANDS" + term)
        c.true(f"{form}VERSIONCOMMANDS", b"| COMMANDS: " in vc and b" IDSESSION " in vc
               and b" INSTREAM" in vc and vc.endswith(term), repr(vc))
        c.eq(f"{form}SCAN eicar", talk(sock, form + f"SCAN {f}/eicar.com".encode() + term),
             f"{f}/eicar.com: {EICAR_NAME} FOUND".encode() + term)
        c.eq(f"{form}SCAN clean", talk(sock, form + f"SCAN {f}/clean.txt".encode() + term),
             f"{f}/clean.txt: OK".encode() + term)
        c.eq(f"{form}SCAN hash", talk(sock, form + f"SCAN {f}/hashbad.txt".encode() + term),
             f"{f}/hashbad.txt: {HASH_NAME} FOUND".encode() + term)
        c.eq(f"{form}SCAN missing", talk(sock, form + b"SCAN /nonexistent/x" + term),
             b"/nonexistent/x: File path check failure: No such file or directory. ERROR" + term)
        c.eq(f"{form}ALLMATCHSCAN", talk(sock, form + f"ALLMATCHSCAN {f}/eicar.com".encode() + term),
             f"{f}/eicar.com: {EICAR_NAME} FOUND".encode() + term)
        c.eq(f"{form}INSTREAM eicar", talk(sock, form + b"INSTREAM" + term + chunks(EICAR)),
             f"stream: {EICAR_NAME} FOUND".encode() + term)
        c.eq(f"{form}INSTREAM clean", talk(sock, form + b"INSTREAM" + term + chunks(b"hello")),
             b"stream: OK" + term)
        c.eq(f"{form}UNKNOWN", talk(sock, form + b"FOO" + term), b"UNKNOWN COMMAND" + term)
        stats = talk(sock, form + b"STATS" + term)
        c.true(f"{form}STATS", stats.startswith(b"POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live ")
               and stats.endswith(b"\nEND" + term), repr(stats))
    # The plain form, where clamd accepts it.
    c.eq("plain PING", talk(sock, b"PING\n"), b"PONG\n")
    c.eq("plain PING without newline", talk(sock, b"PING"), b"PONG\n")
    c.eq("plain SCAN", talk(sock, f"SCAN {f}/eicar.com\n".encode()),
         f"{f}/eicar.com: {EICAR_NAME} FOUND\n".encode())
    c.eq("plain INSTREAM refused", talk(sock, b"INSTREAM\n" + chunks(EICAR)), b"UNKNOWN COMMAND\n")
    c.eq("plain STATS refused", talk(sock, b"STATS\n"), b"UNKNOWN COMMAND\n")
    c.eq("lower case", talk(sock, b"nping\n"), b"UNKNOWN COMMAND\n")
    c.eq("argument to PING", talk(sock, b"nPING extra\n"), b"UNKNOWN COMMAND\n")
    c.eq("END outside session", talk(sock, b"nEND\n"), b"UNKNOWN COMMAND\n")
    c.eq("one command per connection", talk(sock, b"zPING\0zPING\0"), b"PONG\0")


def lines(reply, term=b"\n"):
    return sorted(x for x in reply.split(term) if x)


def test_directories(c, sock, fx):
    many = str(fx.files / "many")
    infected = sorted(f"{many}/f{i:02d}.bin: {EICAR_NAME} FOUND".encode() for i in (3, 13, 23, 33))
    c.eq("CONTSCAN dir", lines(talk(sock, f"nCONTSCAN {many}\n".encode())), infected)
    c.eq("MULTISCAN dir", lines(talk(sock, f"zMULTISCAN {many}\0".encode()), b"\0"), infected)
    c.eq("SCAN dir stops at first", lines(talk(sock, f"nSCAN {many}\n".encode())), infected[:1])
    c.eq("SCAN clean dir", talk(sock, f"nSCAN {fx.clean_dir}\n".encode()), f"{fx.clean_dir}: OK\n".encode())
    c.eq("MULTISCAN clean dir", talk(sock, f"nMULTISCAN {fx.clean_dir}\n".encode()),
         f"{fx.clean_dir}: OK\n".encode())
    c.eq("MULTISCAN file", talk(sock, f"nMULTISCAN {fx.files}/eicar.com\n".encode()),
         f"{fx.files}/eicar.com: {EICAR_NAME} FOUND\n".encode())


def test_instream(c, sock):
    # EICAR split over many chunks, across chunk boundaries.
    c.eq("INSTREAM 7-byte chunks", talk(sock, b"zINSTREAM\0" + chunks(EICAR, 7)),
         f"stream: {EICAR_NAME} FOUND\0".encode())
    c.eq("INSTREAM empty", talk(sock, b"zINSTREAM\0" + struct.pack(">I", 0)), b"stream: OK\0")
    # Exactly at StreamMaxLength (1M) is fine; one byte more is not.
    c.eq("INSTREAM at limit", talk(sock, b"zINSTREAM\0" + chunks(b"A" * (1 << 20), 65536)), b"stream: OK\0")
    c.eq("INSTREAM over limit", talk(sock, b"zINSTREAM\0" + chunks(b"A" * ((1 << 20) + 1), 65536)),
         b"INSTREAM size limit exceeded. ERROR\0")
    # A chunk header claiming more than the limit is refused before any data.
    c.eq("INSTREAM huge chunk length", talk(sock, b"zINSTREAM\0" + struct.pack(">I", 0xFFFFFFFF)),
         b"INSTREAM size limit exceeded. ERROR\0")
    # A chunk length that lies (more announced than sent): ReadTimeout (2 s).
    t0 = time.time()
    r = talk(sock, b"zINSTREAM\0" + struct.pack(">I", 100) + b"abc", timeout=10)
    c.eq("INSTREAM short chunk times out", r, b"COMMAND READ TIMED OUT\n")
    c.true("INSTREAM timeout bounded", time.time() - t0 < 6, f"{time.time() - t0:.1f}s")
    # The client closing mid-stream gets nothing and harms nothing.
    s = connect(sock)
    s.sendall(b"zINSTREAM\0" + struct.pack(">I", 1000) + b"x" * 10)
    s.close()
    c.eq("alive after abandoned stream", talk(sock, b"zPING\0"), b"PONG\0")


def test_bad_clients(c, sock, fx):
    t0 = time.time()
    c.eq("idle client gets a timeout", talk(sock, b"", timeout=10), b"COMMAND READ TIMED OUT\n")
    c.true("idle timeout is CommandReadTimeout", 1.5 < time.time() - t0 < 6, f"{time.time() - t0:.1f}s")
    c.eq("partial command times out", talk(sock, b"nPIN", timeout=10), b"COMMAND READ TIMED OUT\n")
    c.eq("too long command", talk(sock, b"nSCAN /" + b"a" * 10000 + b"\n"), b"Command too long. ERROR\n")
    c.eq("too long without delimiter", talk(sock, b"zSCAN /" + b"a" * 10000), b"Command too long. ERROR\0")
    c.eq("binary garbage", talk(sock, bytes(range(256)) * 4), b"UNKNOWN COMMAND\n")
    # Slow drip: one byte at a time, within the timeout, still works.
    s = connect(sock)
    for b in b"zPING\0":
        s.sendall(bytes([b]))
        time.sleep(0.05)
    c.eq("slow drip", read_all(s), b"PONG\0")
    s.close()
    # Many idle connections do not starve the others.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    n = min(1000, want - 100)
    idle = []
    for _ in range(n):
        idle.append(connect(sock))
    c.eq(f"PING with {n} idle connections", talk(sock, b"zPING\0"), b"PONG\0")
    c.eq("INSTREAM with idle connections", talk(sock, b"zINSTREAM\0" + chunks(EICAR)),
         f"stream: {EICAR_NAME} FOUND\0".encode())
    for s in idle:
        s.close()


def test_slow_drip(c, sock):
    """Slow-drip streams on every worker (MaxThreads 4) give way to waiting commands."""
    stop = threading.Event()
    replies = []

    def drip():
        s = connect(sock, timeout=30)
        try:
            s.sendall(b"zINSTREAM\0" + struct.pack(">I", 100000))
            while not stop.is_set():
                s.sendall(b"x")
                time.sleep(0.3)
        except OSError:
            pass
        replies.append(read_all(s, timeout=5))
        s.close()

    drippers = [threading.Thread(target=drip) for _ in range(4)]
    for t in drippers:
        t.start()
    time.sleep(0.5)
    t0 = time.time()
    r = talk(sock, b"zINSTREAM\0" + chunks(EICAR), timeout=30)
    took = time.time() - t0
    stop.set()
    for t in drippers:
        t.join()
    c.eq("INSTREAM served despite slow drippers", r, f"stream: {EICAR_NAME} FOUND\0".encode())
    c.true("slow drippers yield within ReadTimeout", took < 8, f"{took:.1f}s")
    c.true("slow drippers are told", any(x.startswith(b"COMMAND READ TIMED OUT") for x in replies), repr(replies))


def test_fildes(c, sock, fx):
    def fildes(prefix, term, path, same_packet=False):
        fd = os.open(path, os.O_RDONLY)
        try:
            s = connect(sock)
            if same_packet:
                socket.send_fds(s, [prefix + b"FILDES" + term + b"x"], [fd])
            else:
                s.sendall(prefix + b"FILDES" + term)
                socket.send_fds(s, [b"\0"], [fd])
            r = read_all(s)
            s.close()
            return re.sub(rb"fd\[\d+\]", b"fd[N]", r)
        finally:
            os.close(fd)

    c.eq("zFILDES eicar", fildes(b"z", b"\0", fx.files / "eicar.com"), f"fd[N]: {EICAR_NAME} FOUND\0".encode())
    c.eq("nFILDES clean", fildes(b"n", b"\n", fx.files / "clean.txt"), b"fd[N]: OK\n")
    c.eq("FILDES same packet", fildes(b"n", b"\n", fx.files / "hashbad.txt", True),
         f"fd[N]: {HASH_NAME} FOUND\n".encode())
    c.eq("plain FILDES", fildes(b"", b"\n", fx.files / "eicar.com", True), f"fd[N]: {EICAR_NAME} FOUND\n".encode())
    c.eq("FILDES without descriptor", talk(sock, b"nFILDES\nx"), b"No file descriptor received. ERROR\n")
    # A descriptor whose offset is at the end is still scanned whole.
    fd = os.open(fx.files / "eicar.com", os.O_RDONLY)
    os.read(fd, 1000)
    s = connect(sock)
    s.sendall(b"zFILDES\0")
    socket.send_fds(s, [b"\0"], [fd])
    c.eq("FILDES rewinds", re.sub(rb"fd\[\d+\]", b"fd[N]", read_all(s)), f"fd[N]: {EICAR_NAME} FOUND\0".encode())
    s.close()
    os.close(fd)
    # A pipe is refused (it could stall a worker).
    r, w = os.pipe()
    s = connect(sock)
    s.sendall(b"zFILDES\0")
    socket.send_fds(s, [b"\0"], [r])
    c.eq("FILDES pipe", re.sub(rb"fd\[\d+\]", b"fd[N]", read_all(s)), b"fd[N]: Not supported file type ERROR\0")
    s.close()
    os.close(r)
    os.close(w)


def test_session(c, sock, fx):
    f = str(fx.files)
    r = talk(sock, b"zIDSESSION\0zPING\0zINSTREAM\0" + chunks(EICAR) + f"zSCAN {f}/clean.txt\0".encode()
             + b"zVERSION\0zEND\0")
    parts = r.split(b"\0")
    c.eq("session replies", parts[:3] + [parts[3][:9]] + parts[4:],
         [b"1: PONG", f"2: stream: {EICAR_NAME} FOUND".encode(), f"3: {f}/clean.txt: OK".encode(),
          b"4: Vigil ", b""])
    c.eq("CONTSCAN refused in session", talk(sock, b"nIDSESSION\nnCONTSCAN /tmp\nnEND\n"),
         b"1: Command invalid inside IDSESSION. ERROR\n")
    c.eq("unknown in session", talk(sock, b"nIDSESSION\nnPING\nnFOO\n"),
         b"1: PONG\n2: Command invalid inside IDSESSION. ERROR\n")
    c.eq("size limit in session",
         talk(sock, b"zIDSESSION\0zINSTREAM\0" + chunks(b"abcde") + b"zINSTREAM\0" + struct.pack(">I", 2 << 20)),
         b"1: stream: OK\x002: INSTREAM size limit exceeded. ERROR\0")
    # FILDES inside a session, several times on one connection (clamdscan --multiscan --fdpass).
    s = connect(sock)
    s.sendall(b"zIDSESSION\0")
    got = []
    for name in ("eicar.com", "clean.txt", "hashbad.txt"):
        fd = os.open(fx.files / name, os.O_RDONLY)
        s.sendall(b"zFILDES\0")
        socket.send_fds(s, [b"\0"], [fd])
        os.close(fd)
    s.sendall(b"zEND\0")
    got = re.sub(rb"fd\[\d+\]", b"fd[N]", read_all(s)).split(b"\0")
    s.close()
    c.eq("FILDES in session", got, [f"1: fd[N]: {EICAR_NAME} FOUND".encode(), b"2: fd[N]: OK",
                                    f"3: fd[N]: {HASH_NAME} FOUND".encode(), b""])
    # An idle session times out like an idle client.
    c.eq("idle session", talk(sock, b"nIDSESSION\nnPING\n", timeout=10), b"1: PONG\nCOMMAND READ TIMED OUT\n")


def test_concurrency(c, sock, fx):
    errors = []

    def client(i):
        try:
            data = EICAR if i % 3 == 0 else os.urandom(1000 + i * 997)
            want = f"stream: {EICAR_NAME} FOUND\0".encode() if i % 3 == 0 else b"stream: OK\0"
            got = talk(sock, b"zINSTREAM\0" + chunks(data, 4096))
            if got != want:
                errors.append((i, got))
        except OSError as e:
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.eq("200 concurrent INSTREAM", errors, [])


def test_tcp(c, port):
    addr = ("127.0.0.1", port)
    c.eq("TCP PING", talk(addr, b"zPING\0"), b"PONG\0")
    c.eq("TCP INSTREAM", talk(addr, b"zINSTREAM\0" + chunks(EICAR)), f"stream: {EICAR_NAME} FOUND\0".encode())
    c.eq("TCP FILDES has no descriptor", talk(addr, b"zFILDES\0x"), b"No file descriptor received. ERROR\0")


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_reload(c, d, fx):
    sock = d.sock_path
    clean = f"{fx.files}/clean.txt"
    scan_clean = lambda: talk(sock, f"nSCAN {clean}\n".encode())  # noqa: E731
    c.eq("clean before reload", scan_clean(), f"{clean}: OK\n".encode())
    (fx.db / "more.hdb").write_text(hdb_line(b"nothing to see here\n", "Vigil.Test.Added"))
    c.eq("RELOAD reply", talk(sock, b"zRELOAD\0"), b"RELOADING\0")
    c.true("RELOAD loads the new signature",
           wait_for(lambda: scan_clean() == f"{clean}: Vigil.Test.Added.UNOFFICIAL FOUND\n".encode()))
    # A broken database: the old engine stays live, and the log says why.
    (fx.db / "broken.ndb").write_text("this is not a signature\n")
    c.eq("RELOAD broken reply", talk(sock, b"nRELOAD\n"), b"RELOADING\n")
    c.true("broken reload is logged", wait_for(lambda: "reload failed" in d.log()), d.log()[-500:])
    c.eq("old engine still live", scan_clean(), f"{clean}: Vigil.Test.Added.UNOFFICIAL FOUND\n".encode())
    c.eq("EICAR still found", talk(sock, b"zINSTREAM\0" + chunks(EICAR)), f"stream: {EICAR_NAME} FOUND\0".encode())
    # A change in the database directory reloads by itself (no command).
    (fx.db / "broken.ndb").unlink()
    (fx.db / "more.hdb").unlink()
    c.true("directory change reloads", wait_for(lambda: scan_clean() == f"{clean}: OK\n".encode()), d.log()[-500:])
    # SIGUSR2 reloads too.
    (fx.db / "more.hdb").write_text(hdb_line(b"nothing to see here\n", "Vigil.Test.Usr2"))
    d.proc.send_signal(signal.SIGUSR2)
    c.true("SIGUSR2 reloads",
           wait_for(lambda: scan_clean() == f"{clean}: Vigil.Test.Usr2.UNOFFICIAL FOUND\n".encode()))
    c.true("peak RSS of a reload is logged", "peak RSS" in d.log())
    (fx.db / "more.hdb").unlink()
    wait_for(lambda: scan_clean() == f"{clean}: OK\n".encode())


def test_scan_during_reload(c, d, fx):
    # Streams in flight while reloads swap the engine all finish right.
    stop = time.time() + 3
    errors = []

    def client():
        while time.time() < stop:
            r = talk(d.sock_path, b"zINSTREAM\0" + chunks(EICAR))
            if r != f"stream: {EICAR_NAME} FOUND\0".encode():
                errors.append(r)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    while time.time() < stop:
        talk(d.sock_path, b"zRELOAD\0")
        time.sleep(0.3)
    for t in threads:
        t.join()
    c.eq("no error while reloading", errors, [])


def test_sighup(c, d):
    rotated = Path(str(d.log_path) + ".1")
    d.log_path.rename(rotated)
    d.proc.send_signal(signal.SIGHUP)
    c.true("SIGHUP reopens the log", wait_for(lambda: d.log_path.exists() and "reopened" in d.log()))


def test_vigil_client(c, vigil, sock, fx):
    def run(*args):
        p = subprocess.run([str(vigil), "scan", f"--daemon={sock}", "--no-summary", *args],
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout

    rc, out = run(str(fx.files / "eicar.com"))
    c.eq("vigil --daemon infected", (rc, out), (1, f"{fx.files}/eicar.com: {EICAR_NAME} FOUND\n"))
    rc, out = run(str(fx.files / "clean.txt"))
    c.eq("vigil --daemon clean", (rc, out), (0, f"{fx.files}/clean.txt: OK\n"))
    rc, out = run(str(fx.files / "many"))
    c.eq("vigil --daemon dir", (rc, len(out.splitlines())), (1, 4))
    rc, out = run("/nonexistent/x")
    c.eq("vigil --daemon missing", rc, 2)


def test_config_errors(c, vigild, fx):
    bad = fx.root / "bad.conf"
    bad.write_text("LocalSocket /tmp/x.sock\nMaxThreads lots\n")
    p = subprocess.run([str(vigild), "--foreground", "--config", str(bad)], capture_output=True, text=True, timeout=30)
    c.true("bad config stops start-up", p.returncode != 0 and f"{bad}:2: MaxThreads" in p.stderr, p.stderr)
    bad.write_text("LocalSocket /tmp/x.sock\nNoSuchKey 1\n")
    p = subprocess.run([str(vigild), "--foreground", "--config", str(bad)], capture_output=True, text=True, timeout=30)
    c.true("unknown key stops start-up", p.returncode != 0 and f"{bad}:2: unknown option 'NoSuchKey'" in p.stderr,
           p.stderr)


def test_socket_access(c, vigild, fx):
    d = start_vigild(vigild, fx, name="mode", extra="LocalSocketMode 600\nEnableShutdownCommand no\n"
                     "EnableReloadCommand no\nEnableStatsCommand no\nEnableVersionCommand no\n")
    try:
        c.eq("socket mode", os.stat(d.sock_path).st_mode & 0o777, 0o600)
        for cmd in (b"SHUTDOWN", b"RELOAD", b"STATS", b"VERSION"):
            c.eq(f"{cmd} disabled", talk(d.sock_path, b"z" + cmd + b"\0"), b"COMMAND UNAVAILABLE\0")
    finally:
        d.stop()


def nested_zip(depth, payload):
    """A zip holding a zip ... (depth levels) holding payload."""
    import io
    import zipfile
    data, name = payload, "eicar.com"
    for i in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
        data, name = buf.getvalue(), f"level{i}.zip"
    return data


def test_container_limits(c, vigild, fx):
    """MaxRecursion, MaxFiles and AlertExceedsMax from the configuration reach the scan."""
    three = nested_zip(3, EICAR)
    d = start_vigild(vigild, fx, name="limits-default")
    try:
        c.eq("default limits: EICAR three zips deep", talk(d.sock_path, b"zINSTREAM\0" + chunks(three)),
             f"stream: {EICAR_NAME} FOUND\0".encode())
    finally:
        d.stop()
    d = start_vigild(vigild, fx, name="limits-shallow", extra="MaxRecursion 2\n")
    try:
        c.eq("MaxRecursion 2: too deep to look", talk(d.sock_path, b"zINSTREAM\0" + chunks(three)),
             b"stream: OK\0")
    finally:
        d.stop()
    d = start_vigild(vigild, fx, name="limits-alert", extra="MaxRecursion 2\nAlertExceedsMax yes\n")
    try:
        c.eq("AlertExceedsMax: the limit is reported", talk(d.sock_path, b"zINSTREAM\0" + chunks(three)),
             b"stream: Heuristics.Limits.Exceeded.MaxRecursion FOUND\0")
    finally:
        d.stop()
    d = start_vigild(vigild, fx, name="limits-noarchive", extra="ScanArchive no\n")
    try:
        c.eq("ScanArchive no: archives are not opened", talk(d.sock_path, b"zINSTREAM\0" + chunks(three)),
             b"stream: OK\0")
    finally:
        d.stop()


def stats_threads(sock):
    """(live, idle) from STATS' THREADS line."""
    m = re.search(rb"THREADS: live (\d+)  idle (\d+) max (\d+) idle-timeout (\d+)", talk(sock, b"zSTATS\0"))
    return (int(m.group(1)), int(m.group(2))) if m else None


def test_idle_timeout(c, vigild, fx):
    """Workers start on demand and exit after IdleTimeout seconds idle, as clamd's do."""
    d = start_vigild(vigild, fx, name="idle", extra="IdleTimeout 2\n")
    try:
        c.eq("IdleTimeout: no worker before any job", stats_threads(d.sock_path), (1, 0))
        c.eq("IdleTimeout: a scan starts a worker", talk(d.sock_path, b"zINSTREAM\0" + chunks(EICAR)),
             f"stream: {EICAR_NAME} FOUND\0".encode())
        waits = wait_for(lambda: stats_threads(d.sock_path) == (1, 1), timeout=1.5)
        c.true("IdleTimeout: the worker waits for more", waits, str(stats_threads(d.sock_path)))
        gone = wait_for(lambda: stats_threads(d.sock_path) == (1, 0), timeout=10)
        c.true("IdleTimeout: the idle worker exits", gone, str(stats_threads(d.sock_path)))
        replies = []

        def one():
            replies.append(talk(d.sock_path, b"zINSTREAM\0" + chunks(EICAR)))
        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        c.eq("IdleTimeout: workers start again for concurrent scans",
             replies, [f"stream: {EICAR_NAME} FOUND\0".encode()] * 8)
        live_idle = stats_threads(d.sock_path)
        c.true("IdleTimeout: at most MaxThreads workers", live_idle is not None and live_idle[1] <= 4, str(live_idle))
    finally:
        d.stop()


def test_socket_activation(c, vigild, fx):
    """systemd's way: a listening socket as fd 3 (LISTEN_FDS/LISTEN_PID), READY=1 on NOTIFY_SOCKET."""
    path = fx.root / "act.sock"
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(str(path))
    ls.listen(16)
    notify = fx.root / "notify.sock"
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(str(notify))
    ns.settimeout(30)
    conf = fx.root / "act.conf"
    conf.write_text(f"DatabaseDirectory {fx.db}\nLogFile {fx.root / 'act.log'}\n")
    env = dict(os.environ, NOTIFY_SOCKET=str(notify), LISTEN_FDS="1", LISTEN_FD=str(ls.fileno()))
    # The shell puts the socket at fd 3 and keeps its pid for vigild (exec).
    p = subprocess.Popen(["sh", "-c", 'exec 3<&"$LISTEN_FD"; LISTEN_PID=$$ exec "$0" "$@"', str(vigild),
                          "--foreground", "--config", str(conf)], env=env, pass_fds=[ls.fileno()])
    try:
        try:
            msg = ns.recv(4096)
        except socket.timeout:
            msg = b"<no notification>"
        c.true("sd_notify READY=1", b"READY=1" in msg.split(b"\n"), repr(msg))
        c.eq("activated socket serves", talk(str(path), b"zPING\0"), b"PONG\0")
        c.eq("activated socket scans", talk(str(path), b"zINSTREAM\0" + chunks(EICAR)),
             f"stream: {EICAR_NAME} FOUND\0".encode())
        p.send_signal(signal.SIGTERM)
        c.eq("activated vigild stops", p.wait(20), 0)
        try:
            msg = ns.recv(4096)
        except socket.timeout:
            msg = b""
        c.true("sd_notify STOPPING=1", b"STOPPING=1" in msg, repr(msg))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        ls.close()
        ns.close()


def main():
    if len(sys.argv) < 2:
        print("usage: daemon_protocol_test.py VIGILD [VIGIL]")
        return 2
    vigild = Path(sys.argv[1])
    vigil = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    fx = Fixture()
    c = Checks()
    port = free_tcp_port()
    d = start_vigild(vigild, fx, tcp_port=port)
    try:
        test_commands(c, d.sock_path, fx)
        test_directories(c, d.sock_path, fx)
        test_instream(c, d.sock_path)
        test_fildes(c, d.sock_path, fx)
        test_session(c, d.sock_path, fx)
        test_bad_clients(c, d.sock_path, fx)
        test_slow_drip(c, d.sock_path)
        test_concurrency(c, d.sock_path, fx)
        test_tcp(c, port)
        if vigil and vigil.exists():
            test_vigil_client(c, vigil, d.sock_path, fx)
        test_reload(c, d, fx)
        test_scan_during_reload(c, d, fx)
        test_sighup(c, d)
        c.eq("still alive", talk(d.sock_path, b"zPING\0"), b"PONG\0")
        # SHUTDOWN: no reply, a clean exit, the socket removed.
        c.eq("SHUTDOWN", talk(d.sock_path, b"zSHUTDOWN\0"), b"")
        t0 = time.time()
        try:
            rc = d.proc.wait(10)
        except Exception:  # noqa: BLE001
            rc = None
        c.eq("SHUTDOWN exit code", rc, 0)
        c.true("SHUTDOWN bounded", time.time() - t0 < 8)
        c.true("socket removed", not os.path.exists(d.sock_path))
        test_config_errors(c, vigild, fx)
        test_container_limits(c, vigild, fx)
        test_idle_timeout(c, vigild, fx)
        test_socket_access(c, vigild, fx)
        test_socket_activation(c, vigild, fx)
        # SIGTERM while a client holds a stream open: a bounded, clean stop.
        d2 = start_vigild(vigild, fx, name="term")
        s = connect(d2.sock_path)
        s.sendall(b"zINSTREAM\0" + struct.pack(">I", 100) + b"x")
        time.sleep(0.3)
        t0 = time.time()
        rc = d2.stop(signal.SIGTERM, timeout=20)
        c.eq("SIGTERM exit code", rc, 0)
        c.true("SIGTERM bounded", time.time() - t0 < 10, f"{time.time() - t0:.1f}s")
        s.close()
    finally:
        d.stop()
        if c.failed:
            print("--- vigild log ---\n" + d.log()[-3000:])
        fx.cleanup()
    return c.finish("daemon_protocol")


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for the vigild end-to-end tests: a generated database, a daemon
started on a temporary socket, raw protocol conversations. Python 3 stdlib only."""

import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
EICAR_NDB = ("Eicar-Test-Signature:0:0:" + EICAR.hex() + "\n")
HASHBAD = b"vigil daemon test: a file known by its hash only\n"
EICAR_NAME = "Eicar-Test-Signature.UNOFFICIAL"
HASH_NAME = "Vigil.Test.Hash.UNOFFICIAL"
SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def hdb_line(data, name):
    return f"{hashlib.md5(data).hexdigest()}:{len(data)}:{name}\n"


class Fixture:
    """A temporary tree: db/ (EICAR .ndb + one .hdb), files/ to scan."""

    def __init__(self):
        # Unix socket paths are short (108 bytes): keep the tree near /tmp.
        self.root = Path(tempfile.mkdtemp(prefix="vgd-"))
        self.db = self.root / "db"
        self.files = self.root / "files"
        self.db.mkdir()
        self.files.mkdir()
        (self.db / "test.ndb").write_text(EICAR_NDB)
        (self.db / "test.hdb").write_text(hdb_line(HASHBAD, "Vigil.Test.Hash"))
        (self.files / "eicar.com").write_bytes(EICAR)
        (self.files / "clean.txt").write_bytes(b"nothing to see here\n")
        (self.files / "hashbad.txt").write_bytes(HASHBAD)
        many = self.files / "many"
        many.mkdir()
        for i in range(40):
            data = EICAR if i % 10 == 3 else b"clean file %d\n" % i * (i + 1)
            (many / f"f{i:02d}.bin").write_bytes(data)
        clean_dir = self.root / "cleandir"
        clean_dir.mkdir()
        (clean_dir / "a.txt").write_bytes(b"a\n")
        self.clean_dir = clean_dir

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """A vigild (or clamd) process on a temporary socket."""

    def __init__(self, argv, sock_path, log_path, tcp_port=None):
        self.sock_path = str(sock_path)
        self.log_path = Path(log_path)
        self.tcp_port = tcp_port
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError(f"{argv[0]} exited with {self.proc.returncode}: {out}")
            if os.path.exists(self.sock_path):
                try:
                    if talk(self.sock_path, b"zPING\0", timeout=5) == b"PONG\0":
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{argv[0]} did not start")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_vigild(vigild, fx, name="vigild", extra="", tcp_port=None):
    sock = fx.root / f"{name}.sock"
    log = fx.root / f"{name}.log"
    conf = fx.root / f"{name}.conf"
    text = (f"LocalSocket {sock}\nDatabaseDirectory {fx.db}\nLogFile {log}\nLogTime yes\n"
            "ReadTimeout 2\nCommandReadTimeout 2\nStreamMaxLength 1M\nMaxThreads 4\nMaxQueue 16\n")
    if tcp_port:
        text += f"TCPSocket {tcp_port}\nTCPAddr 127.0.0.1\n"
    conf.write_text(text + extra)
    return Daemon([str(vigild), "--foreground", "--config", str(conf)], sock, log, tcp_port)


def start_clamd(fx, name="clamd"):
    clamd = shutil.which("clamd") or ("/usr/sbin/clamd" if os.path.exists("/usr/sbin/clamd") else None)
    if not clamd:
        return None
    sock = fx.root / f"{name}.sock"
    log = fx.root / f"{name}.log"
    conf = fx.root / f"{name}.conf"
    conf.write_text(f"LocalSocket {sock}\nDatabaseDirectory {fx.db}\nLogFile {log}\nForeground yes\n"
                    f"PidFile {fx.root / (name + '.pid')}\nReadTimeout 2\nCommandReadTimeout 2\n"
                    "StreamMaxLength 1M\nMaxThreads 4\nMaxQueue 16\n")
    return Daemon([clamd, "--config-file=" + str(conf)], sock, log)


def connect(addr, timeout=10):
    if isinstance(addr, tuple):
        s = socket.create_connection(addr, timeout=timeout)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)  # blocking: a full backlog waits rather than fails
        s.settimeout(timeout)
    return s


def read_all(s, timeout=10):
    """Reads until the server closes; b'<TIMEOUT>' is appended if it does not."""
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out += b"<TIMEOUT>"
    except ConnectionResetError:
        pass
    return out


def talk(addr, data, timeout=10):
    """Sends `data`, returns everything the server sends until it closes."""
    s = connect(addr, timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_all(s, timeout)
    finally:
        s.close()


def chunks(data, size=None):
    """INSTREAM body: big-endian uint32 length + bytes, then a zero length."""
    size = size or max(1, len(data))
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += struct.pack(">I", len(part)) + part
    return out + struct.pack(">I", 0)


class Checks:
    """Counts checks; prints a closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def eq(self, what, got, want):
        if got == want:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}:\n  got  {got!r}\n  want {want!r}")

    def true(self, what, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what} {detail}")

    def finish(self, name):
        print(f"{name}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0

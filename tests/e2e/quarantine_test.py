#!/usr/bin/env python3
"""Quarantine vault end to end: `vigil scan --quarantine/--move/--copy/--remove`
and `vigil quarantine list/show/restore/delete/purge/export`.

Usage: quarantine_test.py VIGIL            everything but the small-file-system part
       quarantine_test.py VIGIL --diskfull ENOSPC and EROFS on tmpfs mounts made by
                                           the test (SKIP, exit 77, when mounting is
                                           not permitted)

Checks exact round trips (bytes, mode, owner, mtime, xattrs), refusal to
overwrite without --force, hostile paths (newlines, non-UTF-8 bytes, long
paths, symlinked directories), the allow-list written by `restore --allow`,
two scans quarantining into one vault at once, and crash safety: the scan is
SIGKILLed at every step of the quarantine sequence (VIGIL_FAULT_STEP=N makes
vigil kill itself at its N-th step) and at random times, and after each kill
every file must be at its original place or in the vault and listed, never
neither. Python 3 stdlib only.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SKIP = 77
MARKER = b"VIGIL-QUARANTINE-E2E-MARKER-7f3a"
SIG_NAME = "Vigil.Test.QuarantineMarker"


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def true(self, name, cond, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {name} {detail}".rstrip(), flush=True)
        return cond

    def eq(self, name, got, want):
        return self.true(name, got == want, f"got {got!r}, want {want!r}")


C = Checks()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def infected(i, size=0):
    """Distinct infected contents: marker plus padding up to `size` bytes."""
    head = b"infected file %d\n" % i + MARKER + b"\n"
    if size > len(head):
        rnd = random.Random(i)
        head += bytes(rnd.getrandbits(8) for _ in range(min(4096, size - len(head))))
        head += b"\0" * (size - len(head))
    return head


class Vigil:
    def __init__(self, binary, work):
        self.binary = binary
        self.db = work / "db" / "test.ndb"
        self.db.parent.mkdir(parents=True)
        self.db.write_text(f"{SIG_NAME}:0:*:{MARKER.hex()}\n")
        self.env = dict(os.environ)
        for k in ("VIGIL_FAULT_STEP", "VIGIL_FAULT_TRACE", "VIGIL_DB", "VIGIL_HOME"):
            self.env.pop(k, None)

    def run(self, *args, env=None, timeout=60):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([self.binary, *args], capture_output=True, env=e, timeout=timeout)

    def scan(self, vault, *paths, extra=(), env=None):
        return self.run("scan", "--no-cache", "--no-summary", "-d", str(self.db), "--quarantine",
                        "--vault", str(vault), *extra, *paths, env=env)

    def q(self, vault, *args, env=None):
        return self.run("quarantine", "--vault", str(vault), *args, env=env)

    def entries(self, vault):
        r = self.q(vault, "list", "--json")
        C.eq("list --json exit code", r.returncode, 0)
        if r.returncode != 0:
            print(r.stderr.decode(errors="replace"))
            return []
        return json.loads(r.stdout)


def b64path(e):
    import base64
    return base64.b64decode(e["path_base64"])


def canon(p):
    p = os.fsencode(p)
    return os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))


def vault_files_consistent(name, vault, entries):
    data = Path(vault) / "data"
    names = sorted(os.listdir(data)) if data.exists() else []
    C.true(f"{name}: no half-written vault file", not [n for n in names if n.endswith(".part")], str(names))
    ids = sorted(e["id"] for e in entries)
    C.eq(f"{name}: one content file per entry", sorted(n[:-4] for n in names if n.endswith(".vlt")), ids)


# --------------------------------------------------------------------------
def test_round_trip(v, work):
    root = work / "rt"
    files = root / "files"
    files.mkdir(parents=True)
    vault = root / "vault"
    specs = [  # name, mode, uid, gid, mtime_ns
        ("plain.bin", 0o644, 0, 0, 1_500_000_000_123_456_789),
        ("script.sh", 0o755, 1234, 5678, 1_000_000_000_000_000_001),
        ("setuid", 0o4750, 4321, 100, 1_700_000_000_999_999_999),
        ("private", 0o600, 65534, 65534, 1_234_567_890_000_000_000),
        ("empty-but-infected", 0o640, 0, 0, 1_600_000_000_000_000_000),
    ]
    root_user = os.geteuid() == 0
    contents = {}
    for i, (name, mode, uid, gid, mtime) in enumerate(specs):
        p = files / name
        data = infected(i, 300_000 if i == 0 else 0)
        p.write_bytes(data)
        contents[name] = data
        if root_user:
            os.chown(p, uid, gid)
        os.chmod(p, mode)
        os.utime(p, ns=(mtime - 10**9, mtime))
    (files / "clean.txt").write_bytes(b"nothing to see\n")
    xattr_ok = True
    try:
        os.setxattr(files / "plain.bin", b"user.vigil-test", b"\x00\x01value")
    except OSError:
        xattr_ok = False
    before = {n: os.stat(files / n) for n, *_ in specs}

    r = v.scan(vault, str(files), extra=("-j", "2"))
    out = r.stdout.decode(errors="replace")
    C.eq("scan --quarantine exit code (found)", r.returncode, 1)
    for name, *_ in specs:
        C.true(f"{name}: FOUND line", f"{files / name}: {SIG_NAME}.UNOFFICIAL FOUND" in out, out)
        C.true(f"{name}: quarantined line", f"{files / name}: quarantined as " in out, out)
        C.true(f"{name}: original removed", not (files / name).exists())
    C.true("clean file untouched", (files / "clean.txt").read_bytes() == b"nothing to see\n")
    st = os.stat(vault)
    C.eq("vault directory mode", st.st_mode & 0o7777, 0o700)
    for f in (vault / "data").iterdir():
        C.eq(f"vault file {f.name} not executable", f.stat().st_mode & 0o777, 0o600)
        C.true(f"vault file {f.name} holds no plain content", MARKER not in f.read_bytes())

    entries = v.entries(vault)
    C.eq("entries listed", len(entries), len(specs))
    vault_files_consistent("round trip", vault, entries)
    by_name = {os.path.basename(b64path(e)).decode(): e for e in entries}
    for name, mode, uid, gid, mtime in specs:
        e = by_name.get(name)
        if not C.true(f"{name}: listed", e is not None):
            continue
        C.eq(f"{name}: sha256 recorded", e["sha256"], sha256(contents[name]))
        C.eq(f"{name}: size recorded", e["size"], len(contents[name]))
        C.eq(f"{name}: detections", e["detections"], [f"{SIG_NAME}.UNOFFICIAL"])
        C.eq(f"{name}: mode recorded", e["mode"], "%04o" % mode)
        C.eq(f"{name}: path recorded", b64path(e), canon(files / name))
        C.true(f"{name}: host and database recorded", e["host"] != "" and "signatures" in e["db_version"])
        if root_user:
            C.eq(f"{name}: owner recorded", (e["uid"], e["gid"]), (uid, gid))
    if xattr_ok:
        C.eq("xattr recorded", [x["name"] for x in by_name["plain.bin"]["xattrs"]], ["user.vigil-test"])

    # show and the text list print; an unknown id fails.
    e0 = by_name["plain.bin"]
    r = v.q(vault, "show", e0["id"][:5])
    C.true("show by prefix", r.returncode == 0 and e0["sha256"].encode() in r.stdout, r.stderr)
    r = v.q(vault, "list")
    C.true("text list", r.returncode == 0 and e0["id"].encode() in r.stdout)
    C.eq("show unknown id", v.q(vault, "show", "ffffffffffff").returncode, 2)

    # export: a zip a researcher opens with the conventional password.
    zpath = root / "export.zip"
    r = v.q(vault, "export", e0["id"], "--to", str(zpath))
    C.eq("export exit code", r.returncode, 0)
    if zpath.exists():
        raw = zpath.read_bytes()
        C.true("export is neutralised (no plain marker)", MARKER not in raw)
        with zipfile.ZipFile(zpath) as z:
            z.setpassword(b"infected")
            meta = json.loads(z.read("metadata.json"))
            C.eq("export metadata", meta["sha256"], e0["sha256"])
            C.eq("export content", z.read(e0["sha256"]), contents["plain.bin"])
    C.eq("export never overwrites", v.q(vault, "export", e0["id"], "--to", str(zpath)).returncode, 2)

    # restore: exact bytes, mode, owner, times; refusal to overwrite.
    (files / "script.sh").write_bytes(b"a new file took the name\n")
    r = v.q(vault, "restore", by_name["script.sh"]["id"])
    C.eq("restore over an existing file fails", r.returncode, 2)
    C.true("restore says --force", b"--force" in r.stderr, r.stderr)
    C.eq("existing file untouched", (files / "script.sh").read_bytes(), b"a new file took the name\n")
    r = v.q(vault, "restore", by_name["script.sh"]["id"], "--force")
    C.eq("restore --force", r.returncode, 0)
    ids = [by_name[n]["id"] for n, *_ in specs if n != "script.sh"]
    r = v.q(vault, "restore", *ids)
    C.eq("restore several", r.returncode, 0)
    for name, mode, uid, gid, mtime in specs:
        p = files / name
        if not C.true(f"{name}: restored", p.exists()):
            continue
        st = os.stat(p)  # before reading, which may touch atime
        C.eq(f"{name}: bytes", p.read_bytes(), contents[name])
        C.eq(f"{name}: mode", st.st_mode, before[name].st_mode)
        C.eq(f"{name}: mtime", st.st_mtime_ns, before[name].st_mtime_ns)
        C.eq(f"{name}: atime", st.st_atime_ns, before[name].st_atime_ns)
        C.eq(f"{name}: owner", (st.st_uid, st.st_gid), (before[name].st_uid, before[name].st_gid))
    if xattr_ok:
        C.eq("xattr restored", os.getxattr(files / "plain.bin", b"user.vigil-test"), b"\x00\x01value")
    C.eq("restored entries leave the vault", v.entries(vault), [])
    C.eq("no temporary files left", sorted(os.listdir(files)), sorted([n for n, *_ in specs] + ["clean.txt"]))

    # restore --to, --keep, delete, purge.
    r = v.scan(vault, str(files / "plain.bin"), str(files / "private"))
    C.eq("quarantine again", r.returncode, 1)
    es = {os.path.basename(b64path(e)).decode(): e for e in v.entries(vault)}
    other = root / "elsewhere"
    other.mkdir()
    r = v.q(vault, "restore", es["plain.bin"]["id"], "--to", str(other), "--keep")
    C.eq("restore --to DIR --keep", r.returncode, 0)
    C.eq("restored elsewhere", (other / "plain.bin").read_bytes(), contents["plain.bin"])
    C.eq("--keep keeps the entry", len(v.entries(vault)), 2)
    r = v.q(vault, "delete", es["plain.bin"]["id"])
    C.eq("delete", r.returncode, 0)
    C.eq("delete removes", len(v.entries(vault)), 1)
    C.eq("delete unknown", v.q(vault, "delete", es["plain.bin"]["id"]).returncode, 2)
    C.eq("purge keeps recent entries", (v.q(vault, "purge", "--older-than", "30d").returncode, len(v.entries(vault))), (0, 1))
    C.eq("purge --older-than 0", (v.q(vault, "purge", "--older-than", "0").returncode, len(v.entries(vault))), (0, 0))
    vault_files_consistent("after delete and purge", vault, [])
    C.eq("bad age", v.q(vault, "purge", "--older-than", "soon").returncode, 2)

    # restore --allow: the next scan loading the allow-list does not detect it.
    allow = files / "allowed.bin"
    allow.write_bytes(infected(99))
    C.eq("quarantine for allow", v.scan(vault, str(allow)).returncode, 1)
    e = v.entries(vault)[0]
    r = v.q(vault, "restore", e["id"], "--allow")
    C.eq("restore --allow", r.returncode, 0)
    sfp = vault / "allow.sfp"
    C.true("allow-list written", sfp.exists() and sha256(infected(99)).encode() in sfp.read_bytes())
    r = v.run("scan", "--no-cache", "--no-summary", "-d", str(v.db), "-d", str(sfp), str(allow))
    C.eq("allow-listed file is clean", r.returncode, 0)
    r = v.run("scan", "--no-cache", "--no-summary", "-d", str(v.db), str(allow))
    C.eq("still detected without the allow-list", r.returncode, 1)
    # A quarantining scan loads the vault's allow-list by itself.
    r = v.scan(vault, str(allow))
    C.eq("a --quarantine scan leaves the allow-listed file alone", r.returncode, 0)
    C.true("... which stays in place", allow.exists() and allow.read_bytes() == infected(99))

    # The default vault: $VIGIL_HOME/quarantine.
    home = root / "home"
    f = files / "default-vault.bin"
    f.write_bytes(infected(7))
    r = v.run("scan", "--no-cache", "--no-summary", "-d", str(v.db), "--quarantine", str(f),
              env={"VIGIL_HOME": str(home)})
    C.eq("scan into $VIGIL_HOME/quarantine", r.returncode, 1)
    C.eq("$VIGIL_HOME vault lists it", len(v.entries(home / "quarantine")), 1)


# --------------------------------------------------------------------------
def test_clamscan_actions(v, work):
    root = work / "actions"
    src, moved, copied = root / "src", root / "moved", root / "copied"
    for d in (src, moved, copied):
        d.mkdir(parents=True)
    (src / "a").write_bytes(infected(1))
    (src / "b").write_bytes(infected(2))
    (src / "ok").write_bytes(b"fine\n")
    (copied / "a").write_bytes(b"already here\n")
    base = ("scan", "--no-cache", "--no-summary", "-j", "1", "-d", str(v.db))

    r = v.run(*base, f"--copy={copied}", str(src))
    out = r.stdout.decode()
    C.eq("--copy exit code", r.returncode, 1)
    C.true("--copy line", f"{src / 'b'}: copied to '{copied / 'b'}'" in out, out)
    C.true("--copy picks a free name", f"{src / 'a'}: copied to '{copied / 'a.001'}'" in out, out)
    C.eq("--copy keeps the original", (src / "a").read_bytes(), infected(1))
    C.eq("--copy keeps the taken name", (copied / "a").read_bytes(), b"already here\n")

    r = v.run(*base, "--move", str(moved), str(src))
    out = r.stdout.decode()
    C.eq("--move exit code", r.returncode, 1)
    C.true("--move line", f"{src / 'a'}: moved to '{moved / 'a'}'" in out, out)
    C.true("--move moved", not (src / "a").exists() and (moved / "a").read_bytes() == infected(1))
    C.eq("--move leaves clean files", (src / "ok").read_bytes(), b"fine\n")

    r = v.run(*base, "--remove", str(moved))
    out = r.stdout.decode()
    C.eq("--remove exit code", r.returncode, 1)
    C.true("--remove line", f"{moved / 'a'}: Removed." in out, out)
    C.eq("--remove removed", sorted(os.listdir(moved)), [])

    r = v.run(*base, "--move", str(root / "missing-dir"), str(copied))
    C.eq("--move to a missing directory: exit 2", r.returncode, 2)
    C.true("--move failure is explained", b"left in place" in r.stderr, r.stderr)
    C.eq("--move failure leaves files", sorted(os.listdir(copied)), ["a", "a.001", "b"])

    C.eq("two actions are refused", v.run(*base, "--remove", "--quarantine", str(src)).returncode, 2)

    # A symlink named on the command line is reported but never acted through.
    link = root / "link-to-b"
    os.symlink(copied / "b", link)
    r = v.scan(root / "vault", str(link))
    C.eq("symlink argument: exit 2", r.returncode, 2)
    C.true("symlink argument: still detected", b"FOUND" in r.stdout, r.stdout)
    C.true("symlink argument: target untouched", (copied / "b").read_bytes() == infected(2) and link.is_symlink())


# --------------------------------------------------------------------------
def test_hostile_paths(v, work):
    root = work / "hostile"
    files = root / "files"
    files.mkdir(parents=True)
    vault = root / "vault"
    names = [
        b"new\nline.bin",
        b"caf\xe9-latin1-\xff\xfe.bin",
        b"-dash and spaces 'quotes' \"double\" \\backslash",
        "ünïcødé-名前.bin".encode(),
        b"\x01\x1b[31mcontrol",
    ]
    # A long path: deep directories of 200-byte names, just under PATH_MAX.
    deep = os.fsencode(files)
    while len(deep) + 210 < 3900:
        deep = os.path.join(deep, b"d" * 200)
    os.makedirs(deep)
    paths = [os.path.join(os.fsencode(files), n) for n in names] + [os.path.join(deep, b"deep.bin")]
    # A directory reached through a symlinked directory.
    real = root / "real"
    real.mkdir()
    os.symlink(real, root / "via-link")
    linked = os.fsencode(root / "via-link" / "linked.bin")
    expected = {}
    for i, p in enumerate(paths + [linked]):
        with open(p, "wb") as f:
            f.write(infected(100 + i))
        expected[p] = infected(100 + i)

    r1 = v.scan(vault, os.fsencode(files))
    r2 = v.scan(vault, os.fsencode(root / "via-link"))
    C.eq("hostile names: exit code", r1.returncode, 1)
    C.eq("symlinked directory: exit code", r2.returncode, 1)
    entries = v.entries(vault)
    C.eq("hostile: all listed", len(entries), len(expected))
    by_path = {b64path(e): e for e in entries}
    for p, data in expected.items():
        label = repr(p[-40:])
        C.true(f"{label}: removed", not os.path.lexists(p))
        e = by_path.get(canon(p))
        if C.true(f"{label}: listed under its real path", e is not None, repr(list(by_path)[:3])):
            C.eq(f"{label}: hash", e["sha256"], sha256(data))
    e = by_path.get(canon(linked))
    if e:
        C.eq("symlinked dir: scanned path kept", os.fsencode(e["given_path"]) if "\\u" not in e["given_path"] else None,
             linked)
    r = v.q(vault, "list")
    C.true("text list escapes newlines", b"new\\nline.bin" in r.stdout, r.stdout[:400])
    C.eq("text list has one line per entry", len(r.stdout.splitlines()), len(entries) + 1)
    r = v.q(vault, "restore", *[e["id"] for e in entries])
    C.eq("hostile: restore all", r.returncode, 0)
    for p, data in expected.items():
        ok = os.path.exists(p) and open(p, "rb").read() == data
        C.true(f"{p[-40:]!r}: restored byte for byte", ok, r.stderr.decode(errors="replace")[-300:])


# --------------------------------------------------------------------------
def make_deep_file(top, data, depth=25):
    """Writes data in a file nested deeper than PATH_MAX (4096) below top,
    one directory at a time (the kernel refuses the whole path); returns its
    path as bytes."""
    path = os.fsencode(top)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            name = b"n" * 200
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
            path = os.path.join(path, name)
        ffd = os.open(b"deep.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, dir_fd=fd)
        os.write(ffd, data)
        os.close(ffd)
    finally:
        os.close(fd)
    return os.path.join(path, b"deep.bin")


def read_deep(path):
    """The bytes of a file at any path length, or None if it is not there."""
    d, base = os.path.split(path)
    fd = os.open(b"/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for comp in d.split(b"/"):
            if not comp:
                continue
            nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        try:
            ffd = os.open(base, os.O_RDONLY, dir_fd=fd)
        except FileNotFoundError:
            return None
        with os.fdopen(ffd, "rb") as f:
            return f.read()
    finally:
        os.close(fd)


def test_beyond_path_max(v, work):
    root = work / "beyond"
    root.mkdir()
    vault = root / "vault"
    top = root / "files"
    top.mkdir()
    data = infected(4242)
    deep = make_deep_file(top, data)
    C.true("deep path is longer than PATH_MAX", len(deep) > 4096, str(len(deep)))
    r = v.scan(vault, os.fsencode(top))
    C.eq("beyond PATH_MAX: exit code (found)", r.returncode, 1)
    C.true("beyond PATH_MAX: reported FOUND", deep + b": " in r.stdout and b"FOUND" in r.stdout,
           r.stdout[-300:] + r.stderr[-300:])
    C.true("beyond PATH_MAX: original removed", read_deep(deep) is None)
    entries = v.entries(vault)
    C.eq("beyond PATH_MAX: one entry", len(entries), 1)
    if entries:
        C.eq("beyond PATH_MAX: listed under its path", b64path(entries[0]), deep)
        C.eq("beyond PATH_MAX: hash", entries[0]["sha256"], sha256(data))
        r = v.q(vault, "restore", entries[0]["id"])
        C.true("beyond PATH_MAX: restore", r.returncode == 0, r.stderr[-300:])
        C.eq("beyond PATH_MAX: restored byte for byte", read_deep(deep), data)


# --------------------------------------------------------------------------
def test_concurrent_scans(v, work):
    root = work / "concurrent"
    vault = root / "vault"
    dirs = [root / "a", root / "b"]
    for k, d in enumerate(dirs):
        d.mkdir(parents=True)
        for i in range(25):
            (d / f"f{i}").write_bytes(infected(1000 * (k + 1) + i, 20_000))
    procs = [subprocess.Popen([v.binary, "scan", "--no-cache", "--no-summary", "-j", "2", "-d", str(v.db),
                               "--quarantine", "--vault", str(vault), str(d)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=v.env) for d in dirs]
    for p in procs:
        _, err = p.communicate(timeout=120)
        C.eq("concurrent scan exit code", p.returncode, 1)
        if p.returncode != 1:
            print(err.decode(errors="replace"))
    entries = v.entries(vault)
    C.eq("concurrent: every file listed once", len(entries), 50)
    C.eq("concurrent: distinct ids", len({e["id"] for e in entries}), 50)
    C.true("concurrent: all content present", all(e["content_present"] for e in entries))
    C.true("concurrent: originals gone", all(not any(d.iterdir()) for d in dirs))
    vault_files_consistent("concurrent", vault, entries)


# --------------------------------------------------------------------------
def check_invariant(v, name, vault, files_dir, expected):
    """Every file is at its original place (intact) or in the vault and listed."""
    entries = v.entries(vault)  # also the restart: opening the vault cleans up
    vault_files_consistent(name, vault, entries)
    listed = {}
    for e in entries:
        listed.setdefault(b64path(e), []).append(e)
    lost = 0
    for p, data in expected.items():
        here = os.path.exists(p) and open(p, "rb").read() == data
        if os.path.exists(p) and not here:
            C.true(f"{name}: {p!r} intact at its place", False)
        in_vault = any(e["sha256"] == sha256(data) and e["content_present"] for e in listed.get(canon(p), []))
        if not (here or in_vault):
            lost += 1
    C.eq(f"{name}: files lost", lost, 0)
    left = set(os.listdir(os.fsencode(files_dir))) - {os.path.basename(p) for p in expected}
    C.eq(f"{name}: no stray files beside the originals", sorted(left), [])
    return entries


def make_trial(root, n, size=0, clean=True):
    d = root / "files"
    d.mkdir(parents=True)
    expected = {}
    for i in range(n):
        p = os.fsencode(d / f"f{i:03d}")
        data = infected(5000 + i, size)
        Path(os.fsdecode(p)).write_bytes(data)
        expected[p] = data
    if clean:
        (d / "zz-clean").write_bytes(b"clean\n")
        expected[os.fsencode(d / "zz-clean")] = b"clean\n"
    return d, expected


def verify_decrypts(v, vault, entries, out):
    out.mkdir(parents=True, exist_ok=True)
    for e in entries:
        dest = out / e["id"]
        r = v.q(vault, "restore", e["id"], "--to", str(dest), "--keep")
        C.true(f"entry {e['id']} decrypts and verifies", r.returncode == 0 and dest.exists(), r.stderr)


def test_fault_injection(v, work):
    root = work / "fault"
    # Count the steps of one run.
    d, expected = make_trial(root / "count", 3)
    r = v.scan(root / "count" / "vault", str(d), extra=("-j", "1"), env={"VIGIL_FAULT_TRACE": "1"})
    steps = [l for l in r.stderr.decode().splitlines() if l.startswith("vigil-fault-step ")]
    C.eq("uninjected run exit code", r.returncode, 1)
    C.true("fault steps counted", len(steps) >= 30, f"{len(steps)} steps")
    kinds = sorted({l.split(" ", 2)[2] for l in steps})
    print(f"fault injection: {len(steps)} steps per run, {len(kinds)} distinct", flush=True)

    # Kill at every step, then check, restart the scan, check again.
    for step in range(1, len(steps) + 1):
        t = root / f"step{step}"
        d, expected = make_trial(t, 3)
        vault = t / "vault"
        r = v.scan(vault, str(d), extra=("-j", "1"), env={"VIGIL_FAULT_STEP": str(step)})
        C.eq(f"step {step}: killed by SIGKILL", r.returncode, -signal.SIGKILL)
        entries = check_invariant(v, f"step {step}", vault, d, expected)
        if step % 3 == 0 or step == len(steps):  # decrypting is the slow part; sample it
            verify_decrypts(v, vault, entries, t / "decrypted")
        r = v.scan(vault, str(d), extra=("-j", "1"))
        C.true(f"step {step}: restarted scan", r.returncode in (0, 1), r.stderr)
        entries = check_invariant(v, f"step {step} after restart", vault, d, expected)
        left = [p for p in expected if os.path.exists(p) and MARKER in open(p, "rb").read()]
        C.eq(f"step {step}: restart quarantined the rest", left, [])
        shutil.rmtree(t)

    # Kill at random times during a bigger parallel run, spread over the time
    # an uninterrupted run takes on this machine.
    rnd = random.Random(4)
    tally = {"place": 0, "vault": 0, "both": 0}
    t = root / "calibrate"
    d, expected = make_trial(t, 30, size=70_000)
    t0 = time.monotonic()
    v.scan(t / "vault", str(d), extra=("-j", "2"))
    run_time = time.monotonic() - t0
    shutil.rmtree(t)
    for trial in range(10):
        t = root / f"random{trial}"
        d, expected = make_trial(t, 30, size=rnd.choice([4096, 70_000, 300_000]))
        vault = t / "vault"
        p = subprocess.Popen([v.binary, "scan", "--no-cache", "--no-summary", "-j", "2", "-d", str(v.db),
                              "--quarantine", "--vault", str(vault), str(d)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=v.env)
        time.sleep(rnd.uniform(0.0, run_time))
        p.send_signal(signal.SIGKILL)
        p.wait()
        entries = check_invariant(v, f"random kill {trial}", vault, d, expected)
        listed = {b64path(e) for e in entries}
        for path in expected:
            here = os.path.exists(path)
            tally["both" if here and canon(path) in listed else "place" if here else "vault"] += 1
        shutil.rmtree(t)
    print(f"random kills: files afterwards at their place only {tally['place']}, in the vault only "
          f"{tally['vault']}, in both {tally['both']}", flush=True)

    # Kill `quarantine restore` at each of its steps.
    t = root / "restore"
    d, expected = make_trial(t, 1, clean=False)
    vault = t / "vault"
    C.eq("restore trial: quarantined", v.scan(vault, str(d)).returncode, 1)
    (p, data), = expected.items()
    step = 1
    while step < 20:
        e = v.entries(vault)
        if not e:
            break
        r = v.q(vault, "restore", e[0]["id"], env={"VIGIL_FAULT_STEP": str(step)})
        if r.returncode != -signal.SIGKILL:
            C.eq("restore completes past its last step", r.returncode, 0)
            break
        here = os.path.exists(p) and open(p, "rb").read() == data
        C.true(f"restore killed at step {step}: no partial file at the original path",
               not os.path.exists(p) or here)
        still = check_invariant(v, f"restore step {step}", vault, d, expected)
        if here and still:
            # Both: restored, the entry not yet removed. Quarantine again for the next step.
            v.q(vault, "delete", still[0]["id"])
        if here:
            C.eq(f"restore step {step}: re-quarantine", v.scan(vault, str(d)).returncode, 1)
        step += 1
    C.true("restore steps exercised", step >= 4, f"{step}")


# --------------------------------------------------------------------------
def test_permission_denied(v, work):
    """As an unprivileged user, a file in a directory it cannot write stays put."""
    if os.geteuid() != 0:
        return
    root = work / "perm"
    d = root / "readonly-dir"
    d.mkdir(parents=True)
    f = d / "f.bin"
    f.write_bytes(infected(77))
    os.chmod(f, 0o644)
    os.chmod(d, 0o755)
    home = root / "nobody-home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    for p in (work, root):
        os.chmod(p, 0o755)
    try:
        r = subprocess.run([v.binary, "scan", "--no-cache", "--no-summary", "-d", str(v.db), "--quarantine",
                            "--vault", str(home / "vault"), str(f)],
                           capture_output=True, env=v.env, user=65534, group=65534, timeout=60)
    except (PermissionError, OSError) as ex:
        print(f"note: cannot run as nobody ({ex}); permission test skipped")
        return
    if r.returncode == 2 and b"Permission denied" in r.stderr:
        C.true("EACCES: explained", b"left in place" in r.stderr, r.stderr)
    else:
        C.eq("EACCES: exit code", r.returncode, 2)
        print(r.stderr.decode(errors="replace"))
    C.eq("EACCES: original intact", f.read_bytes(), infected(77))


# --------------------------------------------------------------------------
def mount_tmpfs(path, size):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                       capture_output=True)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()


def umount(path):
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_diskfull(v, work):
    small = work / "small"
    ok, why = mount_tmpfs(small, "1m")
    if not ok:
        print(f"SKIP: cannot mount a tmpfs ({why or 'not permitted'})")
        return SKIP
    mounts = [small]
    try:
        src = work / "src"
        src.mkdir()
        big = src / "big.bin"
        big.write_bytes(infected(1, 3 * 1024 * 1024))
        vault = small / "vault"
        r = v.scan(vault, str(big))
        err = r.stderr.decode(errors="replace")
        C.eq("ENOSPC: exit code", r.returncode, 2)
        C.true("ENOSPC: message names the cause", "No space left on device" in err, err)
        C.true("ENOSPC: message says the file stayed", "left in place" in err, err)
        C.eq("ENOSPC: original intact", big.read_bytes(), infected(1, 3 * 1024 * 1024))
        entries = v.entries(vault)
        C.eq("ENOSPC: nothing listed", entries, [])
        vault_files_consistent("ENOSPC", vault, entries)
        # The vault still works for a file that fits.
        small_file = src / "small.bin"
        small_file.write_bytes(infected(2))
        C.eq("after ENOSPC: a small file is quarantined", v.scan(vault, str(small_file)).returncode, 1)
        C.eq("after ENOSPC: listed", len(v.entries(vault)), 1)

        # --move onto a full file system (a copy across file systems).
        r = v.run("scan", "--no-cache", "--no-summary", "-d", str(v.db), "--move", str(small), str(big))
        C.eq("--move ENOSPC: exit code", r.returncode, 2)
        C.true("--move ENOSPC: message", b"No space left on device" in r.stderr, r.stderr)
        C.eq("--move ENOSPC: original intact", big.read_bytes(), infected(1, 3 * 1024 * 1024))
        C.eq("--move ENOSPC: no partial copy", sorted(n for n in os.listdir(small) if n != "vault"), [])

        # A read-only file system: nothing can be removed, so nothing is copied.
        ro = work / "ro"
        ok, why = mount_tmpfs(ro, "1m")
        if C.true("second tmpfs mounted", ok, why):
            mounts.append(ro)
            f = ro / "infected.bin"
            f.write_bytes(infected(3))
            rr = subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True)
            if C.true("remount read-only", rr.returncode == 0, rr.stderr):
                vault2 = work / "vault-rw"
                r = v.scan(vault2, str(f))
                C.eq("EROFS: exit code", r.returncode, 2)
                C.true("EROFS: message", b"Read-only file system" in r.stderr and b"left in place" in r.stderr,
                       r.stderr)
                C.eq("EROFS: original intact", f.read_bytes(), infected(3))
                C.eq("EROFS: nothing listed", v.entries(vault2), [])
                vault_files_consistent("EROFS", vault2, [])
    finally:
        for m in mounts:
            umount(m)
    return 0


# --------------------------------------------------------------------------
def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    diskfull = "--diskfull" in sys.argv[2:]
    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="vigil-quarantine-e2e-"))
    rc = 0
    try:
        v = Vigil(binary, work)
        if diskfull:
            rc = test_diskfull(v, work)
        else:
            for test in (test_round_trip, test_clamscan_actions, test_hostile_paths, test_beyond_path_max,
                         test_concurrent_scans,
                         test_permission_denied, test_fault_injection):
                t0 = time.monotonic()
                test(v, work)
                print(f"{test.__name__}: {time.monotonic() - t0:.1f}s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{C.passed} checks passed, {C.failed} failed ({time.monotonic() - start:.1f}s)")
    if C.failed:
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())

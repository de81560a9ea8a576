#!/usr/bin/env python3
"""Differential test: `vigil scan` against `clamscan` (the oracle) on generated data.

Usage: differential_test.py --vigil PATH [--clamscan PATH] [--seed N] [--rounds N] [--keep]

Each round samples byte strings from system files, turns them into .ndb body
signatures that use every element of the syntax (??, a?, ?a, *, {n}, {-n},
{n-}, {n-m}, (aa|bb) of one or more bytes and of different lengths, !(..),
[x-y], (B), (L), (W)), every offset form (*, n, n,shift, EOF-n, EOF-n,shift)
and target types 0 and 7, plus .hdb/.hsb hash signatures (MD5, SHA1, SHA256,
"*" sizes) and .fp allow-list entries. It plants matches, near misses (one
byte off, wrong offset) and crowds of partial matches in copies of other
system files, then runs

    vigil scan -r -z --no-summary -d DB DIR
    clamscan   -r -z --no-summary -d DB DIR

and requires the same set of FOUND lines (vigil prints them in any order,
clamscan repeats some). It also loads a list of tricky signature lines one
at a time and requires both programs to accept or refuse each alike.

Exit status: 0 pass, 1 disagreement, 77 when clamscan is not installed.
"""

import argparse
import hashlib
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
DEFAULT_SEED = 20261123

# Where to sample files from: present on any Debian system.
SOURCE_DIRS = ["/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/lib",
               "/usr/share/doc", "/usr/share/common-licenses", "/usr/share/perl5", "/etc"]

# clamscan's (B) byte sets (docs/CLAMAV-COMPAT.md §1).
B_MID = b"\n\r \"'-./<=>@_"
B_LEFT = b" -./<@_"
B_RIGHT = b"\n\r \"'-/=>_"

# Strings that make clamscan see another file type inside a file (HTML, mail,
# embedded archives and executables), which vigil does not unpack or
# normalise yet: hosts containing them are not used.
FOREIGN = re.compile(
    rb"(?is)<(html|head|script|iframe|img|object|table|a\s)|<%@|\nfrom:|mime-version:|content-type:"
    rb"|PK\x03\x04|Rar!\x1a\x07\x00|7z\xbc\xaf\x27\x1c|MSCF\x00\x00\x00\x00|%pdf-|\x01CD001"
    rb"|InstallShield\x00|<xdp:xdp|\xef\xbe\xad\xdeNullsoftInst|\xa3\x48\x4b\xbe\x98\x6c\x4a\xa9"
    rb"|\x60\xea.{7}[\x00-\x02]\x02|MZ.{60,300}PE\x00\x00|\x19\x04\x00\x10")
# File-type magic at fixed offsets (clamscan's built-in table; see lib/match/text.cc).
MAGIC_PREFIXES = [
    b"\x1f\x8b", b"BZh", b"BM", b"MM", b"GIF", b"ID3", b"ITSF", b"MZ", b"OggS", b"RIFF", b"RIFX",
    b"SZDD", b"\x89PNG", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0", b"%!PS-Adobe-", b"#@~^", b".RMF",
    b"{\\rt", b"[aliases]", b"070701", b"070702", b"070707", b"\x71\xc7", b"\xc7\x71", b"ZWS",
    b"CWS", b"FWS", b"xar!", b"\xfd7zXZ\x00", b"II*\x00", b"EGGA", b"SIP-HIT", b"begin ",
    b">From ", b"From", b"To: ", b"Date: ", b"Subject: ", b"Received", b"Return-", b"Message-I",
    b"Deliver", b"Envelope-to: ", b"For: ", b"X-", b"v:\n", b"v:\r\n", b"Hi. This", b"SQLite",
    b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa", b"\xca\xfe\xba\xbe", b"\xb6\xb9\xac\xae",
    b"\x00\x00\x01\xb3", b"\x00\x00\x01\xba", b"\x00\x00\x00\x0cjP", b"\x78\x9f\x3e\x22",
    b"(This file", b"L\x00\x00\x00\x01\x14\x02", b"HWP Document", b"{ \"Magic\"",
    b"\x37\x7f\x06", b"\xd9\xd5\x05\xf9", b"SYMC", b"ustar",
]


def fail_usage(msg):
    print(f"usage error: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------
# Files to sample from and to plant into.

def walk_files(root, depth, out, limit):
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        if len(out) >= limit:
            return
        try:
            if e.is_symlink():
                continue
            if e.is_file():
                size = e.stat().st_size
                if 2048 <= size <= 4 * 1024 * 1024:
                    out.append(e.path)
            elif e.is_dir() and depth > 0:
                walk_files(e.path, depth - 1, out, limit)
        except OSError:
            continue


def elf_body(data):
    """(start, end) of an ELF file's bytes that no header describes, or None."""
    if len(data) < 64 or data[4] not in (1, 2) or data[5] != 1:
        return None
    if data[4] == 2:
        shoff = int.from_bytes(data[0x28:0x30], "little")
    else:
        shoff = int.from_bytes(data[0x20:0x24], "little")
    if not 8192 < shoff <= len(data):
        return None
    return 4096, shoff


def is_text(data):
    head = data[:1024]
    return all(b in (7, 8, 9, 10, 12, 13, 27) or 0x20 <= b < 0x7f for b in head)


def plain_host(data):
    """True when clamscan would see only raw bytes (and normalised text)."""
    if any(data.startswith(m) for m in MAGIC_PREFIXES):
        return False
    if data[257:262] == b"ustar" or data[510:512] == b"\x55\xaa" or data[512:520] == b"EFI PART":
        return False
    if FOREIGN.search(data):
        return False
    return True


class Corpus:
    """System files, split into text and ELF binaries, read on demand."""

    def __init__(self, rng):
        paths = []
        for d in SOURCE_DIRS:
            walk_files(d, 3, paths, len(paths) + 1500)
        rng.shuffle(paths)
        self.text, self.binary = [], []
        for p in paths:
            if len(self.text) >= 120 and len(self.binary) >= 120:
                break
            try:
                with open(p, "rb") as f:
                    head = f.read(256 * 1024 + 1)
            except OSError:
                continue
            if head.startswith(b"\x7fELF"):
                # Whole executables only: clamscan ignores "EOF-n" offsets in
                # one whose headers it cannot read (vigil does not parse ELF).
                if len(self.binary) < 120 and len(head) <= 256 * 1024 and elf_body(head) and \
                        plain_host(head[4:]):
                    self.binary.append((p, head))
            elif is_text(head) and len(head) >= 2048:
                if len(self.text) < 120 and plain_host(head):
                    self.text.append((p, head))
        if len(self.text) < 10 or len(self.binary) < 10:
            print(f"SKIP: too few sample files on this system "
                  f"({len(self.text)} text, {len(self.binary)} ELF)")
            sys.exit(SKIP)


# ---------------------------------------------------------------------------
# Signature construction. A Builder collects the hex signature and, in
# parallel, a byte string that matches it; "static" marks rendered bytes
# that come from literal signature bytes (candidates for near misses).

def hx(b):
    return b.hex()


class Builder:
    def __init__(self):
        self.hex = []
        self.out = bytearray()
        self.static = []
        self.lead = 0        # context bytes before the match proper
        self.after = None    # a byte the next rendered byte must be (zero-width special)
        self.gap_filler = 0  # length of the filler just rendered for a gap
        # After a brace that splits, clamscan splits at every later "{n}" too.
        self.braces_split = False

    def lit(self, b):
        self.hex.append(hx(b))
        self.out += b
        self.static += [True] * len(b)
        self.gap_filler = 0

    def raw(self, hex_text, rendered, static=False):
        self.hex.append(hex_text)
        self.out += rendered
        self.static += [static] * len(rendered)
        self.gap_filler = 0

    def text(self):
        return "".join(self.hex)


def normalise(data):
    """clamscan's text normalisation (see lib/match/text.h)."""
    out = bytearray()
    space = False
    for c in data:
        if 9 <= c <= 13 or c == 32:
            if not space:
                out.append(32)
            space = True
        elif c < 32 or c >= 128:
            continue
        else:
            out.append(c + 32 if 65 <= c <= 90 else c)
            space = False
    return bytes(out)


def denormalise(rng, b):
    """Raw text that normalises to b: random case and whitespace runs."""
    out = bytearray()
    for c in b:
        if 97 <= c <= 122 and rng.random() < 0.4:
            out.append(c - 32)
        elif c == 32 and rng.random() < 0.5:
            out += rng.choice([b"  ", b"\t", b" \n ", b"\r\n", b" \x01 "])
        else:
            out.append(c)
    return bytes(out)


class SigGen:
    """Generates one signature at a time from sampled byte strings."""

    def __init__(self, rng, corpus):
        self.rng = rng
        self.corpus = corpus

    def sample(self, text, n):
        rng = self.rng
        pool = self.corpus.text if text else self.corpus.binary
        for _ in range(200):
            _, data = rng.choice(pool)
            if text:
                data = normalise(data)
            if len(data) < n + 16:
                continue
            i = rng.randrange(8, len(data) - n - 8)
            s = data[i:i + n]
            # Literal anchors must not be trivial (clamscan avoids zero runs,
            # which only changes its speed) and must be unique in practice.
            if s[:2] == b"\x00\x00" or len(set(s)) < 3:
                continue
            if text and (s[:2].count(b" ") or b"  " in s):
                continue
            return s
        return bytes(rng.randrange(33, 127) for _ in range(n))

    def filler(self, n, text):
        rng = self.rng
        if text:
            return bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))
        return bytes(rng.randrange(256) for _ in range(n))

    def part(self, b, s, text, at_start, at_end):
        """Appends a piece made from literal bytes s (len >= 4) to builder b.

        at_start / at_end: whether the piece starts / ends one of clamscan's
        parts (zero-width specials and [x-y] anchors only go there).
        """
        rng = self.rng
        edge_before = at_start and rng.random() < 0.12
        edge_after = at_end and rng.random() < 0.12
        # A zero-width special before the part: the byte before must pass it.
        if edge_before:
            kind = rng.choice("BLW")
            b.hex.append(f"({kind})")
            ctx = rng.choice({"B": B_LEFT, "L": b"\n", "W": b" -.;"}[kind])
            if b.gap_filler > 0:
                b.out[-1] = ctx  # the gap's last filler byte
            else:
                b.out.append(ctx)
                b.static.append(False)
                if not b.hex[:-1]:
                    b.lead = 1
        # A single byte anchored to the rest of the part by [x-y].
        # (clamscan wants the single byte to be the whole text on its side,
        # so not next to a zero-width special).
        left_range = at_start and not edge_before and rng.random() < 0.08 and len(s) >= 5
        right_range = (at_end and not left_range and not edge_after and rng.random() < 0.08
                       and len(s) >= 5)
        body = s
        if left_range:
            lo = rng.randrange(0, 4)
            hi = lo + rng.randrange(0, 5)
            b.lit(body[:1])
            b.raw(f"[{lo}-{hi}]", self.filler(rng.randint(lo, hi), text))
            body = body[1:]
        tail = b""
        if right_range:
            tail = body[-1:]
            body = body[:-1]
        # The core: two literal bytes first (clamscan needs them), then
        # literal bytes with wildcard elements in between.
        b.lit(body[:2])
        i = 2
        while i < len(body):
            r = rng.random()
            c = body[i]
            if r < 0.55 or i >= len(body) - 1:
                b.lit(body[i:i + 1])
                i += 1
            elif r < 0.60:
                b.raw("??", bytes([c]))
                i += 1
            elif r < 0.64:
                b.raw(f"{c >> 4:x}?", bytes([c]))
                i += 1
            elif r < 0.68:
                b.raw(f"?{c & 15:x}", bytes([c]))
                i += 1
            elif r < 0.71:
                n = min(rng.randint(1, 4), len(body) - i - 1)
                b.raw("??" * n if b.braces_split else f"{{{n}}}", body[i:i + n])
                i += n
            elif r < 0.76:
                # One byte of several; or of one ("(aa)" is a special to clamscan).
                alts = {bytes([c])} | {self.filler(1, text) for _ in range(rng.randint(0, 3))}
                alts = sorted(alts, key=lambda _: rng.random())
                b.raw("(" + "|".join(hx(a) for a in alts) + ")", bytes([c]))
                i += 1
            elif r < 0.80 and i + 2 < len(body):
                k = rng.randint(1, 3)
                real = body[i:i + k]
                alts = {real}
                for _ in range(rng.randint(1, 2)):
                    alts.add(self.filler(rng.choice([len(real), rng.randint(1, 3)]), text))
                alts = sorted(alts, key=lambda _: rng.random())
                # An empty last alternative makes the group optional (forwards).
                empty = "|" if rng.random() < 0.15 else ""
                b.raw("(" + "|".join(hx(a) for a in alts) + empty + ")", real)
                i += k
            elif r < 0.84:
                k = 1 if rng.random() < 0.6 or i + 2 >= len(body) else 2
                real = body[i:i + k]
                others = set()
                want = rng.randint(1, 3)
                while len(others) < want:
                    o = self.filler(k, text)
                    if o != real:
                        others.add(o)
                b.raw("!(" + "|".join(hx(o) for o in sorted(others)) + ")", real)
                i += k
            elif r < 0.88:
                n = rng.randint(1, 3)
                alts = [hx(body[i:i + 1]) + "??" * n, hx(self.filler(1, text))]
                rng.shuffle(alts)
                b.raw("(" + "|".join(alts) + ")", body[i:i + 1] + self.filler(n, text))
                i += 1
            else:
                kind = rng.choice("BLW")
                byte = {"B": rng.choice(B_MID), "W": rng.choice(b" -.;:,!"), "L": 10}[kind]
                rendered = bytes([byte]) if kind != "L" or rng.random() < 0.7 else b"\r\n"
                b.raw(f"({kind})", rendered)
        if right_range:
            lo = rng.randrange(0, 4)
            hi = lo + rng.randrange(0, 5)
            b.raw(f"[{lo}-{hi}]", self.filler(rng.randint(lo, hi), text))
            b.lit(tail)
        # A zero-width special after the part: the byte after must pass it.
        b.after = None
        if edge_after:
            kind = rng.choice("BLW")
            b.hex.append(f"({kind})")
            b.after = rng.choice({"B": B_RIGHT, "L": b"\n", "W": b" -.;"}[kind])

    def pick_gap(self, b):
        """A gap between pieces: (hex, filler length, whether it splits)."""
        rng = self.rng
        r = rng.random()
        split = True
        if r < 0.3:
            hex_text, n = "*", rng.choice([0, 1, 5, 40, 300])
        elif r < 0.45:
            lo, hi = rng.randint(0, 6), rng.randint(6, 40)
            hex_text, n = f"{{{lo}-{hi}}}", rng.randint(lo, hi)
        elif r < 0.55:
            hi = rng.randint(1, 20)
            hex_text, n = f"{{-{hi}}}", rng.randint(0, hi)
        elif r < 0.65:
            lo = rng.randint(1, 20)
            hex_text, n = f"{{{lo}-}}", lo + rng.choice([0, 3, 100])
        elif r < 0.75:
            n = rng.randint(128, 200)
            hex_text = f"{{{n}}}"
        elif r < 0.8:
            hex_text, n = rng.choice(["{0}", "{-0}", "{0-0}", "{}"]), rng.choice([0, 9, 200])
        else:
            n = rng.randint(1, 12)
            hex_text = f"{{{n}}}"  # inside one part, unless a splitting brace came first
            split = b.braces_split
        if hex_text != "*":
            b.braces_split = b.braces_split or split
        return hex_text, n, split

    def gap(self, b, text, hex_text, n):
        """Appends a gap and a filler that satisfies it."""
        fill = bytearray(self.filler(n, text))
        if b.after is not None:
            # The byte after the previous part is the gap's first byte.
            if fill:
                fill[0] = b.after
            else:
                fill = bytearray([b.after])
            b.after = None
        b.raw(hex_text, bytes(fill))
        b.gap_filler = len(fill)

    def make(self, target):
        """A Builder holding one signature and a rendered match, and its piece count."""
        rng = self.rng
        text = target == 7 or rng.random() < 0.35
        pieces = rng.choices([1, 2, 3], [0.55, 0.33, 0.12])[0]
        b = Builder()
        gaps = [self.pick_gap(b) for _ in range(pieces - 1)]
        for k in range(pieces):
            at_start = k == 0 or gaps[k - 1][2]
            at_end = k == pieces - 1 or gaps[k][2]
            self.part(b, self.sample(text, rng.randint(4, 14)), text, at_start, at_end)
            if k < pieces - 1:
                self.gap(b, text, gaps[k][0], gaps[k][1])
        if b.after is not None:
            b.out.append(b.after)
            b.static.append(False)
        return b, pieces


# ---------------------------------------------------------------------------
# A round: signatures, host files, plants.

class Host:
    def __init__(self, name, data, text):
        self.name = name
        self.data = bytearray(data)
        self.text = text
        self.used = []  # (start, end) ranges already planted
        # Where plants may go: not over an executable's headers.
        self.lo, self.hi = (256, len(data)) if text else elf_body(data)

    def free_spot(self, rng, length):
        lo = self.lo
        hi = self.hi - length - 2
        for _ in range(50):
            if hi < lo:
                return None
            p = rng.randint(lo, hi)
            if all(p + length + 2 <= a or p >= b_ + 2 for a, b_ in self.used):
                return p
        return None

    def put(self, p, blob):
        self.data[p:p + len(blob)] = blob
        self.used.append((p, p + len(blob)))


class Round:
    def __init__(self, rng, corpus, index, workdir):
        self.rng = rng
        self.corpus = corpus
        self.index = index
        self.dir = workdir / f"round{index}"
        self.files = self.dir / "files"
        self.db = self.dir / "db"
        self.files.mkdir(parents=True)
        self.db.mkdir()
        self.ndb = []
        self.hdb, self.hsb, self.fp = [], [], []
        self.notes = {}  # signature name -> how it was planted
        self.gen = SigGen(rng, corpus)

    def hosts(self, count):
        rng = self.rng
        out = []
        for i in range(count):
            text = i % 2 == 0
            pool = self.corpus.text if text else self.corpus.binary
            path, data = rng.choice(pool)
            if text:
                data = data[:rng.randint(4096, 24 * 1024)]
                data = self.text_variant(data)
            if len(data) < 3000:
                continue
            out.append(Host(f"h{i:03d}{'t' if text else 'b'}", data, text))
        return out

    def text_variant(self, data):
        """Some text hosts are made into the other kinds clamscan tells apart:
        a lone NUL (UTF-16 to clamscan), UTF-16LE with a byte-order mark,
        UTF-8, or binary (two NULs at an even offset)."""
        rng = self.rng
        r = rng.random()
        if r < 0.1:
            k = rng.randrange(20, 1000)
            return data[:k] + b"\x00" + data[k + 1:]
        if r < 0.15:
            return b"\xff\xfe" + bytes(b for c in data[:6000] for b in (c, 0))
        if r < 0.25:
            k = rng.randrange(20, 900)
            return data[:k] + "\u00e9t\u00e9 \u20ac".encode() + data[k:]
        if r < 0.3:
            k = rng.randrange(10, 500) * 2
            return data[:k] + b"\x00\x00" + data[k + 2:]
        return data

    def add_sig(self, name, target, offset, hex_text, note):
        self.ndb.append(f"{name}:{target}:{offset}:{hex_text}")
        self.notes[name + ".UNOFFICIAL"] = f"{target}:{offset}:{hex_text}  [{note}]"

    def build(self, nsigs=110, nhosts=48):
        rng = self.rng
        hosts = self.hosts(nhosts)
        texts = [h for h in hosts if h.text]
        bins = [h for h in hosts if not h.text]
        pending = []
        for i in range(nsigs):
            target = 7 if rng.random() < 0.25 else 0
            if target == 0 and rng.random() < 0.08:
                self.ring_case(i, texts if rng.random() < 0.3 else bins)
                continue
            b, nparts = self.gen.make(target)
            hex_text = b.text()
            blob = bytes(b.out)
            if target == 7:
                # Matches are planted raw: the normalised text must hold them.
                lead = denormalise(rng, blob[:b.lead])
                body = denormalise(rng, blob[b.lead:])
                host_pool = texts
            else:
                lead, body = blob[:b.lead], blob[b.lead:]
                host_pool = texts if rng.random() < 0.4 else bins
            plant = lead + body
            name = f"Vd.R{self.index}.S{i:03d}"
            offset_kind = rng.choices(["*", "n", "n,s", "eof", "eof,s"], [0.6, 0.12, 0.1, 0.1, 0.08])[0]
            if target == 7 and self.index % 2 == 1 and offset_kind.startswith("eof"):
                # No target-7 offset from the end in odd rounds: clamscan then
                # matches the normalised text in memory, where target-0
                # "EOF-n" signatures never match.
                offset_kind = "n"
            if offset_kind != "*" and rng.random() < 0.5:
                # Wrong offset: the same match one byte later in another file.
                other = rng.choice(host_pool)
                p3 = other.free_spot(rng, len(plant) + 1)
                if p3 is not None:
                    other.put(p3 + 1, plant)
            host = rng.choice(host_pool)
            pos = host.free_spot(rng, len(plant))
            if pos is None:
                continue
            host.put(pos, plant)
            start = pos + len(lead)
            # Offsets are computed once every plant is in place (type-7
            # offsets count in the normalised text, which later plants shift).
            pending.append((name, target, offset_kind, host, start, body, hex_text))
            # Near misses: one literal byte changed, and the whole match one byte later.
            if rng.random() < 0.5:
                other = rng.choice(host_pool)
                statics = [k for k, st in enumerate(b.static) if st]
                miss = bytearray(blob)
                k = rng.choice(statics)
                miss[k] = (miss[k] + rng.randint(1, 254)) % 256 if target == 0 else rng.choice(
                    [c for c in b"abcdefghijklmnopqrstuvwxyz" if c != miss[k]])
                miss = denormalise(rng, bytes(miss)) if target == 7 else bytes(miss)
                p2 = other.free_spot(rng, len(miss) + 2)
                if p2 is not None:
                    other.put(p2, b" " + miss + b" ")
            # Crowds: many copies of the first part before the match, which
            # fill clamscan's memory of partial matches.
            if nparts > 1 and rng.random() < 0.3 and target == 0:
                first_part = blob[b.lead:b.lead + 2]
                crowd = (first_part + self.gen.filler(rng.randint(0, 3), host.text)) * rng.randint(4, 14)
                p4 = host.free_spot(rng, len(crowd) + len(plant) + 4)
                if p4 is not None:
                    host.put(p4, crowd + plant if rng.random() < 0.5 else plant + crowd)
        for name, target, kind, host, start, body, hex_text in pending:
            offset = self.offset_for(kind, host, start, target, body)
            self.add_sig(name, target, offset, hex_text, f"planted in {host.name} at {start}")
        self.hash_sigs(hosts)
        for h in hosts:
            (self.files / h.name).write_bytes(bytes(h.data))
        self.extra_files()
        (self.db / "gen.ndb").write_text("\n".join(self.ndb) + "\n")
        (self.db / "gen.hdb").write_text("\n".join(self.hdb) + "\n")
        (self.db / "gen.hsb").write_text("\n".join(self.hsb) + "\n")
        (self.db / "gen.fp").write_text("\n".join(self.fp) + "\n")

    def ring_case(self, i, pool):
        """A two-part signature whose valid first part is followed by a
        crowd of first-part copies too close to the second part: clamscan
        only remembers the first occurrence and the last eight."""
        rng = self.rng
        text = pool and pool[0].text
        p1 = self.gen.sample(text, rng.randint(4, 7))
        p2 = self.gen.sample(text, rng.randint(4, 7))
        copies = rng.randint(5, 12)
        lo = copies * (len(p1) + 1) + rng.randint(1, 20)
        hi = lo + rng.randint(0, 60)
        gap = rng.randint(lo, hi)
        crowd = (p1 + b"-") * copies
        blob = p1 + self.gen.filler(gap - len(crowd), text) + crowd + p2
        far = (p1 + self.gen.filler(hi + 40, text)) if rng.random() < 0.5 else b""
        host = rng.choice(pool)
        pos = host.free_spot(rng, len(far) + len(blob))
        if pos is None:
            return
        host.put(pos, far + blob)
        name = f"Vd.R{self.index}.S{i:03d}"
        self.add_sig(name, 0, "*", f"{hx(p1)}{{{lo}-{hi}}}{hx(p2)}",
                     f"ring case in {host.name} at {pos}: {copies} copies, {'after a far one' if far else 'first'}")

    def offset_for(self, kind, host, start, target, raw):
        rng = self.rng
        if kind == "*":
            return "*"
        data = bytes(host.data)
        if target == 7:
            # Offsets of type-7 signatures count in the normalised text.
            before = normalise(data[:start])
            whole = normalise(data)
            # The match's first byte may merge with a preceding space run.
            pos = len(before)
            if before.endswith(b" ") and raw[:1] in (b" ", b"\t", b"\n", b"\r"):
                pos -= 1
            size = len(whole)
        else:
            pos, size = start, len(data)
        if kind == "n":
            return str(pos)
        if kind == "n,s":
            s = rng.randint(0, 20)
            return f"{max(0, pos - rng.randint(0, s))},{s}"
        if kind == "eof":
            return f"EOF-{size - pos}"
        s = rng.randint(0, 20)
        back = rng.randint(0, s)
        return f"EOF-{size - pos + back},{s}"

    def hash_sigs(self, hosts):
        rng = self.rng
        chosen = rng.sample(hosts, min(14, len(hosts)))
        for i, h in enumerate(chosen):
            data = bytes(h.data)
            md5 = hashlib.md5(data).hexdigest()
            sha1 = hashlib.sha1(data).hexdigest()
            sha256 = hashlib.sha256(data).hexdigest()
            name = f"Vd.R{self.index}.H{i:02d}"
            r = rng.random()
            if r < 0.25:
                self.hdb.append(f"{md5}:{len(data)}:{name}")
            elif r < 0.4:
                self.hdb.append(f"{md5}:*:{name}:73")
            elif r < 0.6:
                self.hsb.append(f"{sha1}:{len(data)}:{name}")
            elif r < 0.8:
                self.hsb.append(f"{sha256}:{len(data)}:{name}")
            else:
                self.hsb.append(f"{sha256}:*:{name}:73")
            self.notes[name + ".UNOFFICIAL"] = f"hash of {h.name}"
            # Near misses: right hash, wrong size; a hash of other content.
            if rng.random() < 0.3:
                self.hdb.append(f"{md5}:{len(data) + 1}:{name}.WrongSize")
            if rng.random() < 0.3:
                other = hashlib.sha256(data + b"x").hexdigest()
                self.hsb.append(f"{other}:{len(data) + 1}:{name}.Other")
            # Some of them, and some planted files, are allow-listed.
            if rng.random() < 0.25:
                self.fp.append(f"{md5}:{len(data)}:fp.{h.name}")
        # The normalised text of a text host: clamscan checks it against hash
        # signatures when it writes that text out (a target-7 "EOF-n"
        # signature is loaded), not otherwise.
        texts = [h for h in hosts if h.text]
        for h in rng.sample(texts, min(2, len(texts))):
            norm = normalise(bytes(h.data))
            name = f"Vd.R{self.index}.N{h.name}"
            self.hdb.append(f"{hashlib.md5(norm).hexdigest()}:{len(norm)}:{name}")
            self.notes[name + ".UNOFFICIAL"] = f"hash of the normalised text of {h.name}"
        for h in rng.sample(hosts, min(4, len(hosts))):
            data = bytes(h.data)
            if rng.random() < 0.5:
                self.fp.append(f"{hashlib.sha256(data).hexdigest()}:*:fp.{h.name}:73")
            else:
                self.fp.append(f"{hashlib.sha1(data).hexdigest()}:{len(data)}:fp.{h.name}")
        # Flevel gates: these must load and match, or be skipped.
        self.hdb.append(f"{hashlib.md5(b'never').hexdigest()}:5:Vd.R{self.index}.Flevel:1:216")
        self.hdb.append(f"{hashlib.md5(bytes(chosen[0].data)).hexdigest()}:{len(chosen[0].data)}:"
                        f"Vd.R{self.index}.FutureOnly:217")

    def extra_files(self):
        # Tiny files are ignored by clamscan, empty ones reported as such.
        tiny = b"\x00\x01abc"
        (self.files / "tiny").write_bytes(tiny)
        self.hdb.append(f"{hashlib.md5(tiny).hexdigest()}:{len(tiny)}:Vd.R{self.index}.Tiny")
        (self.files / "empty").write_bytes(b"")


# ---------------------------------------------------------------------------
# Running both scanners.

def run_scanner(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    return r, time.monotonic() - t0


def found_lines(stdout, root):
    out = set()
    prefix = str(root) + "/"
    for line in stdout.splitlines():
        if line.endswith(" FOUND"):
            out.add(line.replace(prefix, ""))
    return out


def scan_both(vigil, clamscan, db, files):
    v, tv = run_scanner([vigil, "scan", "-r", "-z", "--no-summary", "-d", str(db), str(files)])
    c, tc = run_scanner([clamscan, "-r", "-z", "--no-summary", "-d", str(db), str(files)])
    return v, c, tv, tc


def locate_bad_line(clamscan, db_file, workdir):
    """The first line of a database clamscan refuses (bisection)."""
    lines = db_file.read_text().splitlines()
    probe = workdir / ("probe" + db_file.suffix)
    empty = workdir / "probe-target"
    empty.write_bytes(b"\x00" * 16)
    lo, hi = 0, len(lines)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        probe.write_text("\n".join(lines[lo:mid]) + "\n")
        r = subprocess.run([clamscan, "--no-summary", "-d", str(probe), str(empty)],
                           capture_output=True, text=True)
        if r.returncode == 2:
            hi = mid
        else:
            lo = mid
    return lines[lo] if lines else "(empty)"


def report_round(rnd, v, c, args, workdir):
    ok = True
    if c.returncode == 2 and "FOUND" not in c.stdout:
        print(f"round {rnd.index}: clamscan refused the generated database:")
        print(c.stderr.strip()[-2000:])
        for f in sorted(rnd.db.iterdir()):
            if f.stat().st_size > 1:
                r = subprocess.run([args.clamscan, "--no-summary", "-d", str(f), str(rnd.dir / "files" / "tiny")],
                                   capture_output=True, text=True)
                if r.returncode == 2:
                    line = locate_bad_line(args.clamscan, f, workdir)
                    probe = workdir / ("single" + f.suffix)
                    probe.write_text(line + "\n")
                    rv = subprocess.run([args.vigil, "scan", "--no-summary", "-d", str(probe),
                                         str(rnd.dir / "files" / "tiny")], capture_output=True, text=True)
                    verdict = "vigil refuses it too (generator bug)" if rv.returncode == 2 else "vigil accepts it"
                    print(f"  first line clamscan refuses in {f.name}: {line}\n  {verdict}")
        return False
    if v.returncode == 2 and "FOUND" not in v.stdout:
        print(f"round {rnd.index}: vigil failed: {v.stderr.strip()[-2000:]}")
        return False
    fv = found_lines(v.stdout, rnd.files)
    fc = found_lines(c.stdout, rnd.files)
    if fv == fc:
        return True
    ok = False
    print(f"round {rnd.index}: FOUND lines differ ({len(fc)} from clamscan, {len(fv)} from vigil)")
    for tag, lines in (("only clamscan", sorted(fc - fv)), ("only vigil", sorted(fv - fc))):
        for line in lines:
            name = line.rsplit(": ", 1)[1][:-len(" FOUND")]
            print(f"  {tag}: {line}\n      signature {name}: {rnd.notes.get(name, '?')}")
    return ok


# ---------------------------------------------------------------------------
# Load acceptance: lines that clamscan refuses must be refused by vigil.

ACCEPTANCE = [
    # (body, target, offset) — loaded one at a time; both must agree.
    "616263", "6162", "61", "6162??", "??6162", "61??62", "616?", "(61|62)6364", "(61|62)(63|64)",
    "(6162|6364)", "(6162|6364)65", "6162*6364", "6162*63", "61*6263", "6162{1-2}6364", "6162{1-2}63",
    "6162{2}63", "61{2}6263", "6162{127}63", "6162{128}63", "6162{0}6364", "6162{0}63", "6162{-0}6364",
    "6162{}6364", "6162{3}", "{3}616263", "*616263", "616263*", "6162**6364", "6162{2}*6364",
    "6162*{2}6364", "6162{2-}*6364", "6162{3-1}6364", "6162[1-2]63", "61[1-2]626364",
    "6162[1-2]6364", "61[1-2]62", "6162[0-32]63", "6162[0-33]63", "6162[2-1]63", "[1-2]616263",
    "616263[1-2]", "61[1-2]626364[1-2]65", "6162[1-2]63[1-2]6465", "6162??[1-2]63", "6162[1-2]??",
    "6162(61|62)[1-2]63", "6162[1-2](61|62)", "6162*61[1-2]62", "61(B)62", "61(B)6263", "(B)616263",
    "616263(B)", "6162(B)63", "(B)(B)5758", "57(B)58595a", "5758(B)595a", "??(B)58595a", "6?6?(B)5758",
    "(B)??(B)5758", "(6162|6364)5758595a", "??(6162|6364)5758", "(6162|6364)57(B)5859",
    "5758595a(6162|6364)(B)", "6162!(63|64)", "6162!(6364|6566)", "6162!(6364|65)", "6162!(6?|64)",
    "6162(63|)6465", "6162(|63)6465", "6162(63*64|65)6566", "6162(B|L)6364", "6162(X)6364",
    "6162(63{1}|64)6566", "61626", "6162zz", "6162 63",
]
ACCEPTANCE_LINES = [
    "X:7:*:6162", "X:7:*:61", "X:1:*:6162", "X:1:0:6162", "X:6:*:61??", "X:4:*:57(B)58595a",
    "X:6:*:57(B)58595a", "X:0:10,:616263", "X:0:,5:616263", "X:0:,:616263", "X:0:EOF-:616263",
    "X:0:*,5:616263", "X:0:EP+0:616263", "X:6:EP+0:616263", "X:7:S0+0:616263", "X:0:-1:616263",
    "X:0:EOF+5:616263", "X:0:5,x:616263", "X:0:1x:616263", "X:15:*:616263", "X:14:*:616263",
    "X:0:*:616263:999", "X:0:*:616263:1:215", "X:0:*:616263:abc", ":0:*:616263", "X:0:*",
]
HASH_LINES = [
    ("hdb", "%s:*:H"), ("hdb", "%s:*:H:73"), ("hdb", "%s:x:H"), ("hdb", "%s:16"),
    ("hdb", "%s:16:H:abc"), ("hdb", "%s:16:"), ("hsb", "%s:*:H:72"),
]


def acceptance(vigil, clamscan, workdir):
    d = workdir / "accept"
    d.mkdir()
    target = d / "target"
    target.write_bytes(b"\x00\x00\x00\x00" + b"zz" * 8)
    cases = [("ndb", f"X:0:*:{body}") for body in ACCEPTANCE] + [("ndb", line) for line in ACCEPTANCE_LINES]
    md5 = hashlib.md5(b"x").hexdigest()
    cases += [(ext, fmt % md5) for ext, fmt in HASH_LINES]
    bad = []
    for i, (ext, line) in enumerate(cases):
        db = d / f"a{i}.{ext}"
        db.write_text(line + "\n")
        c = subprocess.run([clamscan, "--no-summary", "-d", str(db), str(target)],
                           capture_output=True, text=True)
        v = subprocess.run([vigil, "scan", "--no-summary", "-d", str(db), str(target)],
                           capture_output=True, text=True)
        if c.returncode < 0 or v.returncode < 0:
            bad.append((line, f"crash: clamscan {c.returncode}, vigil {v.returncode}"))
            continue
        if (c.returncode == 2) != (v.returncode == 2):
            why = (v.stderr.strip() or "accepted").splitlines()[-1] if v.returncode == 2 else "vigil accepts"
            cl = "refuses" if c.returncode == 2 else "accepts"
            bad.append((line, f"clamscan {cl}; vigil: {why}"))
    if bad:
        print(f"load acceptance: {len(bad)} of {len(cases)} lines handled differently:")
        for line, why in bad:
            print(f"  {line!r}: {why}")
    return not bad, len(cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--clamscan", default=shutil.which("clamscan"))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if not args.clamscan or not os.access(args.clamscan, os.X_OK):
        print("SKIP: clamscan not found (install the clamav package)")
        return SKIP
    if not os.access(args.vigil, os.X_OK):
        fail_usage(f"vigil binary not found: {args.vigil}")
    t0 = time.monotonic()
    rng = random.Random(args.seed)
    corpus = Corpus(rng)
    workdir = Path(tempfile.mkdtemp(prefix="vigil-diff-"))
    ok = True
    try:
        acc_ok, ncases = acceptance(args.vigil, args.clamscan, workdir)
        ok &= acc_ok
        totals = [0, 0, 0.0, 0.0]
        for i in range(args.rounds):
            rnd = Round(random.Random(rng.random()), corpus, i, workdir)
            rnd.build()
            v, c, tv, tc = scan_both(args.vigil, args.clamscan, rnd.db, rnd.files)
            ok &= report_round(rnd, v, c, args, workdir)
            totals[0] += len(rnd.ndb) + len(rnd.hdb) + len(rnd.hsb)
            totals[1] += len(found_lines(c.stdout, rnd.files))
            totals[2] += tv
            totals[3] += tc
        print(f"seed {args.seed}: {ncases} load cases, {args.rounds} rounds, {totals[0]} signatures, "
              f"{totals[1]} distinct FOUND lines; vigil {totals[2]:.1f}s, clamscan {totals[3]:.1f}s, "
              f"total {time.monotonic() - t0:.1f}s")
    finally:
        if args.keep or not ok:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

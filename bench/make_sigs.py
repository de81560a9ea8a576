#!/usr/bin/env python3
"""Generates the benchmark's signature sets, deterministically (fixed seed).

  bench/make_sigs.py --corpus CORPUS --out OUTDIR [--seed 1]
                     [--body 1000,10000,100000] [--hash 40000,100000]

CORPUS is a directory made by bench/make_corpus.sh (system files mirrored under
it, e.g. CORPUS/usr/lib/...). Writes to OUTDIR:

  body-<N>.ndb    N body signatures (target type 0), a few planted to match
                  corpus files, the rest sampled from byte strings of system
                  files that are NOT in the corpus (so few corpus files match).
                  Syntax mix modelled on ClamAV's daily.ndb and rfxn.ndb: mostly
                  plain hex of 8-40 bytes, some `??`, nibble wildcards, `{n}` /
                  `{n-m}` / `{-n}` / `{n-}` gaps, `*`, single- and multi-byte
                  alternatives; offsets mostly `*`, a few `n`, `n,maxshift`,
                  `EOF-n`. Smaller sets are prefixes of larger ones.
                  Sampled signatures whose longest literal occurs anywhere in
                  the corpus are dropped (checked with grep -F), so the corpus
                  files that match are the planted ones.
  body-<N>.lit    the longest literal run of each signature (its longest
                  newline-free piece: patterns are lines), raw bytes, one per
                  line, for `LC_ALL=C grep -F -f`.
  body-<N>.rglit  the same literals for `rg -F -E windows-1252 -f`: ripgrep
                  needs UTF-8 patterns, so each byte is written as the
                  character windows-1252 decodes it to (a bijection in
                  ripgrep's decoder), and the haystack is decoded the same way.
  hash-<M>.hdb    M MD5:size:name signatures: random digests whose sizes follow
                  the size distribution of ClamAV's main.hdb (when found under
                  ../shared/corpora/signatures), plus a few real digests of
                  corpus files.
  planted.txt     corpus files each planted signature was taken from.

Python 3 standard library only.
"""
import argparse
import bisect
import hashlib
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_ROOTS = ("/usr/lib", "/usr/bin", "/usr/share")
SKIP_DIRS = ("/usr/share/clamav-testfiles", "/usr/lib/debug")
REPO = Path(__file__).resolve().parent.parent
SHARED_SIGS = REPO.parent / "shared" / "corpora" / "signatures"


def human(n):
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def list_files(roots, min_size, max_size, exclude=None):
    out = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if dirpath.startswith(SKIP_DIRS):
                dirnames[:] = []
                continue
            for name in sorted(filenames):
                p = os.path.join(dirpath, name)
                if exclude and exclude(p):
                    continue
                try:
                    if os.path.islink(p) or not os.path.isfile(p):
                        continue
                    size = os.path.getsize(p)
                except OSError:
                    continue
                if min_size <= size <= max_size:
                    out.append(p)
    return out


def is_binary(data):
    return b"\0" in data[:4096]


def good_window(w, binary):
    """Rejects byte strings that would match almost anywhere (runs of one byte,
    padding, symbol-table text common to every ELF file)."""
    distinct = len(set(w))
    if distinct < max(5, len(w) * 2 // 5):
        return False
    if binary:
        printable = sum(1 for b in w if 32 <= b < 127)
        if printable > len(w) // 2 or w.count(0) > len(w) // 4:
            return False
    return True


class Sig:
    """A signature as a list of tokens: ("lit", bytes), ("any", n) for n `??`,
    ("nib", byte, hi) nibble wildcard, ("alt", [bytes...]), ("gap", text) for
    `{..}` or `*`."""

    def __init__(self, tokens, start, end, size):
        self.tokens, self.start, self.end, self.size = tokens, start, end, size

    def hex(self):
        parts = []
        for t in self.tokens:
            if t[0] == "lit":
                parts.append(t[1].hex())
            elif t[0] == "any":
                parts.append("??" * t[1])
            elif t[0] == "nib":
                h = f"{t[1]:02x}"
                parts.append(h[0] + "?" if t[2] else "?" + h[1])
            elif t[0] == "alt":
                parts.append("(" + "|".join(a.hex() for a in t[1]) + ")")
            else:
                parts.append(t[1])
        return "".join(parts)

    def longest_literal(self):
        best, cur = b"", b""
        for t in self.tokens:
            if t[0] == "lit":
                cur += t[1]
                best = max(best, cur, key=len)
            else:
                cur = b""
        return best


class Generator:
    KINDS = [("plain", 65), ("wild", 10), ("star", 10), ("gap", 9), ("alt", 4), ("nib", 2)]

    def __init__(self, rng):
        self.rng = rng
        self.kinds = [k for k, w in self.KINDS for _ in range(w)]

    def window(self, data, binary, length, lo=0, hi=None):
        """A random acceptable window of `length` bytes starting in [lo, hi)."""
        hi = len(data) - length if hi is None else min(hi, len(data) - length)
        for _ in range(24):
            if hi <= lo:
                return None
            p = self.rng.randrange(lo, hi)
            if good_window(data[p:p + length], binary):
                return p
        return None

    def make(self, data, kind):
        rng, binary = self.rng, is_binary(data)
        minlen = 8 if binary else 20  # text needs longer strings to stay rare
        if kind == "plain":
            n = rng.randint(minlen, 40)
            p = self.window(data, binary, n)
            if p is None:
                return None
            return Sig([("lit", data[p:p + n])], p, p + n, len(data))
        if kind in ("wild", "alt", "nib"):
            n = rng.randint(max(minlen, 12), 40)
            p = self.window(data, binary, n)
            if p is None:
                return None
            w = data[p:p + n]
            if kind == "wild":
                k = rng.randint(1, 3)
                i = rng.randint(4, n - 4 - k)
                toks = [("lit", w[:i]), ("any", k), ("lit", w[i + k:])]
            elif kind == "nib":
                i = rng.randint(4, n - 5)
                toks = [("lit", w[:i]), ("nib", w[i], rng.random() < 0.5), ("lit", w[i + 1:])]
            else:
                width = rng.choice([1, 1, 2, 3])
                i = rng.randint(4, n - 4 - width)
                real = w[i:i + width]
                alts = {real}
                while len(alts) < rng.choice([2, 2, 3]):
                    alts.add(bytes(rng.randrange(256) for _ in range(width)))
                alts = sorted(alts)
                toks = [("lit", w[:i]), ("alt", alts), ("lit", w[i + width:])]
            return Sig(toks, p, p + n, len(data))
        if kind == "gap":
            a, b = rng.randint(6, 20), rng.randint(6, 20)
            d = rng.randint(1, 64)
            p = self.window(data, binary, a + d + b)
            if p is None or not good_window(data[p:p + a], binary) or \
                    not good_window(data[p + a + d:p + a + d + b], binary):
                return None
            form = rng.random()
            if form < 0.3:
                gap = f"{{{d}}}"
            elif form < 0.85:
                lo = d - rng.randint(0, d)
                gap = f"{{{lo}-{d + rng.randint(0, 16)}}}"
            elif form < 0.95:
                gap = f"{{-{d + rng.randint(0, 16)}}}"
            else:
                gap = f"{{{d - rng.randint(0, d)}-}}"
            toks = [("lit", data[p:p + a]), ("gap", gap), ("lit", data[p + a + d:p + a + d + b])]
            return Sig(toks, p, p + a + d + b, len(data))
        # star: 2 or 3 fragments in file order, anywhere after each other
        frags = rng.choice([2, 2, 3])
        toks, lo, start = [], 0, None
        for j in range(frags):
            n = rng.randint(max(minlen, 8), 20)
            span = (len(data) - lo) // (frags - j)
            p = self.window(data, binary, n, lo, lo + max(span, 1))
            if p is None:
                return None
            if start is None:
                start = p
            if toks:
                toks.append(("gap", "*"))
            toks.append(("lit", data[p:p + n]))
            lo = p + n
        return Sig(toks, start, lo, len(data))

    def offset(self, sig):
        r = self.rng.random()
        if r < 0.94:
            return "*"
        if r < 0.97:
            return str(sig.start)
        if r < 0.99:
            shift = self.rng.randint(0, 256)
            base = max(0, sig.start - shift)
            return f"{base},{shift + self.rng.randint(0, 64)}"
        return f"EOF-{sig.size - sig.start}"


# Byte -> character as ripgrep's `-E windows-1252` (WHATWG) decodes it: a
# bijection, so `rg -F -E windows-1252` finds exactly these bytes.
WIN1252 = []
for _b in range(256):
    try:
        WIN1252.append(bytes([_b]).decode("cp1252"))
    except UnicodeDecodeError:
        WIN1252.append(chr(_b))


def grep_piece(literal):
    """The longest newline-free piece of a literal (grep patterns are lines);
    if it does not occur in the corpus, neither does the literal."""
    return max(literal.split(b"\n"), key=len)


def grep_matches(pieces, args, env, stdin=None):
    """Runs `grep -a -o -F -f PIECES ARGS...`, yielding output lines."""
    with tempfile.NamedTemporaryFile("wb", suffix=".pat") as pat:
        pat.write(b"".join(p + b"\n" for p in sorted(pieces)))
        pat.flush()
        cmd = ["grep", "-a", "-o", "-F", "-f", pat.name] + args
        if stdin is not None:
            cmd = ["xargs", "-0", "-r"] + cmd + ["--"]
        with subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else None,
                              stdout=subprocess.PIPE, env=env) as p:
            if stdin is not None:
                p.stdin.write(stdin)
                p.stdin.close()
            for line in p.stdout:
                yield line.rstrip(b"\n")
        if p.returncode not in (0, 1, 123):
            sys.exit(f"make_sigs: grep failed ({p.returncode})")


def write_regions(regions, out):
    """Writes the merged byte ranges of each file, each followed by a newline
    (no piece contains one, so no match spans two ranges)."""
    for path, spans in regions.items():
        spans.sort()
        with open(path, "rb") as f:
            lo, hi = spans[0]
            for a, b in spans[1:] + [(1 << 62, 1 << 62)]:
                if a <= hi:
                    hi = max(hi, b)
                    continue
                f.seek(lo)
                out.write(f.read(hi - lo) + b"\n")
                lo, hi = a, b


def files_per_literal(literals, corpus):
    """How many corpus files contain each literal's grep piece."""
    env = dict(os.environ, LC_ALL="C")
    files = {}
    for line in grep_matches({grep_piece(l) for l in literals if grep_piece(l)}, ["-H", "-Z", "-r", str(corpus)], env):
        path, _, match = line.partition(b"\0")
        files.setdefault(match, set()).add(path)
    return {k: len(v) for k, v in files.items()}


def occurring(literals, corpus):
    """The grep pieces of `literals` that occur somewhere in the corpus.

    One `grep -F -o -b` pass over the corpus (a fast multi-literal search)
    finds most. -o reports non-overlapping matches only, so a piece can hide
    under another match; such a piece overlaps a reported match, so it lies in
    the bytes around one. Those neighbourhoods (joined by newlines, which no
    piece contains) are searched again without the pieces found so far, until
    nothing new turns up: exact, and the later passes read little data."""
    todo = {grep_piece(l) for l in literals}
    found = {p for p in todo if len(p) < 4}  # too short to be trusted rare
    todo -= found
    if not todo:
        return found
    env = dict(os.environ, LC_ALL="C")
    reach = max(len(p) for p in todo)
    # Pass 1 over the corpus; later passes over the neighbourhoods of the
    # previous pass's matches only (a hidden piece overlaps one of them).
    regions = {}
    for line in grep_matches(todo, ["-b", "-H", "-Z", "-r", str(corpus)], env):
        path, _, rest = line.partition(b"\0")
        off, _, match = rest.partition(b":")
        if match in todo:
            found.add(match)
            o = int(off)
            regions.setdefault(path, []).append((max(0, o - reach), o + len(match) + reach))
    todo -= found
    print(f"make_sigs: grep over the corpus: {len(found)} literals occur", file=sys.stderr, flush=True)
    src = None  # the file the current regions are cut from, when not the corpus
    while todo and regions:
        with tempfile.NamedTemporaryFile("wb", suffix=".near", delete=False) as near:
            write_regions(regions, near)
        if src:
            os.unlink(src)
        src = near.name
        regions, new = {}, set()
        for line in grep_matches(todo, ["-b", "-H", "-Z", src], env):
            _, _, rest = line.partition(b"\0")
            off, _, match = rest.partition(b":")
            if match in todo:
                new.add(match)
                o = int(off)
                regions.setdefault(src.encode(), []).append((max(0, o - reach), o + len(match) + reach))
        print(f"make_sigs: grep near earlier matches: {len(new)} more occur", file=sys.stderr, flush=True)
        found |= new
        todo -= new
    if src:
        os.unlink(src)
    return found


def read(path, limit=4 << 20):
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return b""


def hdb_sizes():
    """Sizes from ClamAV's main.hdb (the real distribution), or a log-uniform
    stand-in when the shared corpus is absent."""
    path = SHARED_SIGS / "clamav-official-db" / "main.hdb"
    sizes = []
    if path.exists():
        with open(path, "rb") as f:
            for line in f:
                parts = line.split(b":")
                if len(parts) >= 3 and parts[1].isdigit():
                    sizes.append(int(parts[1]))
    return sizes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--body", default="1000,10000,100000")
    ap.add_argument("--hash", default="40000,100000")
    ap.add_argument("--planted", type=int, default=12, help="body signatures planted to match corpus files")
    ap.add_argument("--planted-hashes", type=int, default=6)
    args = ap.parse_args()

    corpus = Path(args.corpus).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    gen = Generator(rng)
    body_sizes = sorted(int(x) for x in args.body.split(",") if x)
    hash_sizes = sorted(int(x) for x in args.hash.split(",") if x)

    in_corpus = lambda p: (corpus / p.lstrip("/")).exists()  # noqa: E731
    corpus_files = sorted(str(p) for p in corpus.rglob("*") if p.is_file() and not p.is_symlink())
    if not corpus_files:
        sys.exit(f"make_sigs: no files under {corpus}")

    # --- planted body signatures: one of each kind first, then the mix ---
    # Own random stream, so the sampled set does not depend on this choice.
    prng = random.Random(args.seed + 1000003)
    pgen = Generator(prng)
    kinds = [k for k, _ in Generator.KINDS]
    cands = []
    for path in prng.sample(corpus_files, min(len(corpus_files), args.planted * 12)):
        data = read(path)
        if len(data) < 256 or len(data) < os.path.getsize(path):
            continue  # only whole-file reads, so offsets from the end are right
        kind = kinds[len(cands) % len(kinds)]
        sig = pgen.make(data, kind)
        if sig is not None:
            off = pgen.offset(sig) if kind == "plain" else "*"
            cands.append((kind, off, sig, os.path.relpath(path, corpus)))
    # Keep those whose longest literal is in at most 3 corpus files (licence
    # headers and bytecode idioms would otherwise "infect" hundreds).
    spread = files_per_literal([c[2].longest_literal() for c in cands], corpus)
    cands = [c for c in cands if 1 <= spread.get(grep_piece(c[2].longest_literal()), 0) <= 3]
    chosen = []
    for k in kinds:
        chosen += [c for c in cands if c[0] == k][:1]
    chosen += [c for c in cands if c not in chosen]
    chosen = chosen[:args.planted]
    planted = [(f"Bench.Planted-{i}", off, sig) for i, (_, off, sig, _) in enumerate(chosen)]
    planted_from = [f"{src} ({kind})" for kind, _, _, src in chosen]

    # --- random body signatures from system files outside the corpus ---
    total = max(body_sizes) - len(planted)
    sources = list_files(SOURCE_ROOTS, 4096, 64 << 20, exclude=in_corpus)
    sources.sort()
    rng.shuffle(sources)
    randoms, i, dropped = [], 0, 0
    per_file = max(8, total // 3000 + 1)
    # Also skip sources that are the same file or a byte-identical copy of a
    # corpus file under another path.
    corpus_inodes, corpus_md5 = set(), {}
    for path in corpus_files:
        st = os.stat(path)
        corpus_inodes.add((st.st_dev, st.st_ino))
        corpus_md5.setdefault(st.st_size, []).append(path)

    def duplicate(path, data):
        st = os.stat(path)
        if (st.st_dev, st.st_ino) in corpus_inodes:
            return True
        same = corpus_md5.get(st.st_size)
        if not same:
            return False
        if isinstance(same[0], str):
            same[:] = [hashlib.md5(Path(p).read_bytes()).digest() for p in same]
        return hashlib.md5(Path(path).read_bytes()).digest() in same

    want = total
    while len(randoms) < total:
        batch = []
        while len(batch) < want + want // 3 + 16:
            if i >= len(sources):
                i = 0
                per_file *= 2
            data = read(sources[i])
            i += 1
            if duplicate(sources[i - 1], data):
                continue
            for _ in range(per_file):
                if len(data) < 256:
                    break
                sig = gen.make(data, rng.choice(gen.kinds))
                if sig is not None:
                    batch.append((gen.offset(sig), sig))
        # Byte strings common to many files (licence text, bytecode idioms,
        # compiler output) would make most of the corpus "infected": drop every
        # signature whose longest literal occurs anywhere in the corpus.
        seen = occurring([s.longest_literal() for _, s in batch], corpus)
        kept = [(o, s) for o, s in batch if grep_piece(s.longest_literal()) not in seen]
        dropped += len(batch) - len(kept)
        randoms += kept[:total - len(randoms)]
        want = total - len(randoms)

    for n in body_sizes:
        sigs = list(planted) + [(f"Bench.Body-{j}", off, s) for j, (off, s) in enumerate(randoms[:n - len(planted)])]
        with open(out / f"body-{human(n)}.ndb", "w") as f, \
                open(out / f"body-{human(n)}.lit", "wb") as lf, \
                open(out / f"body-{human(n)}.rglit", "w", encoding="utf-8") as rf:
            for name, off, sig in sigs:
                f.write(f"{name}:0:{off}:{sig.hex()}\n")
                piece = grep_piece(sig.longest_literal())
                if piece:  # an empty pattern line would match everywhere
                    lf.write(piece + b"\n")
                    rf.write("".join(WIN1252[b] for b in piece) + "\n")

    # --- hash signatures ---
    sizes = hdb_sizes()
    if sizes:
        sizes.sort()
        draw = lambda: sizes[rng.randrange(len(sizes))]  # noqa: E731
    else:
        draw = lambda: int(10 ** rng.uniform(3, 6.7))  # noqa: E731
    real = []
    for path in prng.sample(corpus_files, min(len(corpus_files), args.planted_hashes)):
        real.append((hashlib.md5(Path(path).read_bytes()).hexdigest(), os.path.getsize(path)))
        planted_from.append(os.path.relpath(path, corpus) + " (hash)")
    rows = [f"{h}:{s}:Bench.HashPlanted-{j}" for j, (h, s) in enumerate(real)]
    for j in range(max(hash_sizes) - len(real)):
        rows.append(f"{rng.getrandbits(128):032x}:{draw()}:Bench.Hash-{j}")
    for m in hash_sizes:
        (out / f"hash-{human(m)}.hdb").write_text("\n".join(rows[:m]) + "\n")

    (out / "planted.txt").write_text("\n".join(planted_from) + "\n")
    print(f"make_sigs: {len(planted)} planted + {len(randoms)} sampled body signatures "
          f"({dropped} dropped as occurring in the corpus), {max(hash_sizes)} hash signatures -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

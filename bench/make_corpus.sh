#!/usr/bin/env bash
# Builds the benchmark corpus: about MB megabytes (default 300) of real system
# files from /usr/lib, /usr/bin and /usr/share, hard-linked where possible and
# copied otherwise, mirrored under OUTDIR (OUTDIR/usr/lib/..., ...), so that
# bench/make_sigs.py can tell which system files are in the corpus.
#
#   bench/make_corpus.sh OUTDIR [MB]
#
# Selection is deterministic for a given set of installed files: every regular,
# non-empty, readable file up to a fixed size cap (CAP_KB, default 4096) that is
# not a compressed file or archive (by name and by magic bytes: vigil does not
# unpack containers yet while clamscan does, and the benchmark compares
# matching, not unpacking), ordered by the SHA-1 of its path (a stable, evenly
# spread order), taken until each source directory reaches its share of the
# budget: /usr/lib 45%, /usr/bin 20%, /usr/share 35% (binaries and text).
# Re-running with the same arguments leaves an existing, complete corpus alone.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUTDIR [MB]" >&2
  exit 2
fi
OUT=$1
MB=${2:-300}
CAP_KB=${CAP_KB:-4096}
case "$MB" in ''|*[!0-9]*) echo "$0: MB must be a positive integer" >&2; exit 2 ;; esac

STAMP="${OUT%/}.complete"   # beside OUTDIR, so it is not part of the corpus
WANT="mb=$MB cap_kb=$CAP_KB v=1"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "make_corpus: $OUT is complete ($WANT)"
  exit 0
fi
rm -rf "$OUT" "$STAMP"
mkdir -p "$OUT"

python3 - "$OUT" "$MB" "$CAP_KB" <<'PY'
import hashlib, os, shutil, stat, sys

out, mb, cap_kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
budget = mb * 1000 * 1000
cap = cap_kb * 1024
shares = [("/usr/lib", 0.45), ("/usr/bin", 0.20), ("/usr/share", 0.35)]
skip_dirs = ("/usr/share/clamav-testfiles", "/usr/lib/debug")
skip_ext = (".gz", ".tgz", ".xz", ".txz", ".bz2", ".tbz2", ".zst", ".lz4", ".lzma", ".lz",
            ".z", ".zip", ".jar", ".war", ".whl", ".egg", ".7z", ".rar", ".cab", ".deb",
            ".rpm", ".cpio", ".iso", ".tar", ".apk", ".xpi", ".epub", ".odt", ".ods",
            ".docx", ".xlsx", ".pptx", ".pdf", ".chm", ".msi")
magics = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"MSCF", b"PK\x03\x04",
          b"\x28\xb5\x2f\xfd", b"%PDF", b"\xd0\xcf\x11\xe0", b"ITSF", b"\x04\x22\x4d\x18",
          b"\x5d\x00\x00", b"070701", b"070707", b"!<arch>")

def candidates(root):
    rows = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if dirpath.startswith(skip_dirs):
            dirnames[:] = []
            continue
        for name in filenames:
            p = os.path.join(dirpath, name)
            if name.lower().endswith(skip_ext):
                continue
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0 or st.st_size > cap:
                continue
            rows.append((hashlib.sha1(p.encode("utf-8", "surrogateescape")).hexdigest(), p, st.st_size))
    rows.sort()
    return rows

total_files = total_bytes = linked = 0
for root, share in shares:
    want = budget * share
    got = 0
    for _, src, size in candidates(root):
        if got >= want:
            break
        if got + size > want * 1.02:
            continue
        try:
            with open(src, "rb") as f:
                head = f.read(8)
        except OSError:
            continue
        if head.startswith(magics):
            continue
        # tar: "ustar" at offset 257
        if size > 262:
            with open(src, "rb") as f:
                f.seek(257)
                if f.read(5) == b"ustar":
                    continue
        dst = os.path.join(out, src.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            os.link(src, dst)
            linked += 1
        except OSError:
            try:
                shutil.copyfile(src, dst)
            except OSError:
                continue
        got += size
        total_files += 1
    total_bytes += got
    print(f"make_corpus: {root}: {got / 1e6:.1f} MB", file=sys.stderr)
print(f"make_corpus: {total_files} files, {total_bytes / 1e6:.1f} MB "
      f"({linked} hard-linked, {total_files - linked} copied) in {out}", file=sys.stderr)
PY
echo "$WANT" > "$STAMP"

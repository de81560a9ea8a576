#!/usr/bin/env bash
# Writes a small seed corpus for each signature-stage fuzz target:
#   fuzz/make_seeds.sh OUT_DIR [MAKE_CACHE_SEED]
# creates OUT_DIR/<target>/ for fuzz_pattern, fuzz_ndb, fuzz_hashdb, fuzz_cvd,
# fuzz_verify and (given the make_cache_seed tool built beside the fuzzers)
# fuzz_cache. Seeds are generated here rather than committed as binary blobs.
# Needs bash and python3 (standard library only, for the CVD containers).
set -euo pipefail

out=${1:?usage: fuzz/make_seeds.sh OUT_DIR [MAKE_CACHE_SEED]}
cache_tool=${2:-}
mkdir -p "$out"

# seed TARGET NAME CONTENT: one seed file, content written as given.
seed() {
  mkdir -p "$out/$1"
  printf '%s' "$3" > "$out/$1/$2"
}

# ---------------------------------------------------------------- fuzz_pattern
i=0
for p in \
  '4d5a90000300' '4d5a??0300' '4d5a?a03a?' '68656c6c6f*776f726c64' '4d5a{4}5045' \
  '4d5a{-4}5045' '4d5a{4-}5045' '4d5a{2-8}5045' '6162(6364|6566)6768' '6162(63|6465|666768)6970' \
  '6162!(63|64)6566' '6162!(6364|6566)6768' '61[1-3]636465' '636465[0-2]61' '(B)616263(B)' \
  '(L)616263' '616263(W)646566' '6162(L)6364' '4d5a9000*504500004c01{2-6}0b01(B)' \
  '6162{5-2}6364' '6162{}6364' '6162(63|)6465' '(aa|bb)cc' '6162(6?|7?)6364'; do
  seed fuzz_pattern "p$((i++))" "$p"
done

# ---------------------------------------------------------------- fuzz_ndb
seed fuzz_ndb basic 'Eicar.Body-1:0:*:58354f2150254041505b345c505a58353428505e2937434329377d
Text.Sig-2:7:*:6576616c28626173653634
Pinned-3:0:0:4d5a90000300
Eof-4:0:EOF-16,8:deadbeefcafe
Float-5:0:100,50:504500004c01
'
seed fuzz_ndb syntax '# every body element
A:0:*:4d5a??00?3a?{2}0400*ffff{-8}b8000000{4-}40(00|01|0203)!(aa|bb)[1-4]0e1fba0e
B:0:*:(B)6576616c(L)286261736536345f(W)6465636f6465
C:0:*:616263{2-6}646566*676869
D:0:*:6162(6364|6566)6768:51
E:0:*:6162636465:217
F:0:*:6162636465:1:215
'
seed fuzz_ndb executable 'Win.Pe-1:1:EP+0:e8000000005d81ed
Win.Pe-2:1:EP-8,16:5589e583ec
Win.Sect-3:1:S2+16:4d5a9000
Win.SectAll-4:1:SE1:4d5a9000
Win.Last-5:1:SL+4:4d5a9000
Elf-6:6:*:7f454c460201
Unknown-7:99:*:616263646566
'
seed fuzz_ndb bad 'Good:0:*:616263646566
Bad:0:*:61626
'

# ---------------------------------------------------------------- fuzz_hashdb
# The first byte picks the format by its value mod 6: 0 .hdb, 1 .hsb, 2 .fp,
# 3 .sfp, 4 .ign2, 5 .ign; bit 7 asks for official names. (Never 0: bash
# strings cannot hold a NUL.)
seed fuzz_hashdb hdb $'\x06''44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature
b1946ac92492d2347c6235b4d2611184:6:Hello.Txt:51
44d88612fea8a8f36de82e1278abb02f:*:Any.Size:73
44d88612fea8a8f36de82e1278abb02f:68:Old.Engine:1:100
'
seed fuzz_hashdb hsb $'\x85''3395856ce81f2b7382dee72602f798b642f14140:68:Eicar.Sha1
275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:Eicar.Sha256
275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:Eicar.Any:73
'
seed fuzz_hashdb fp $'\x02''44d88612fea8a8f36de82e1278abb02f:68:clean.txt
'
seed fuzz_hashdb sfp $'\x03''275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:clean.bin
'
seed fuzz_hashdb ign2 $'\x04''fake_dont_remove_this_line
Win.Trojan.Agent-1
Eicar-Test-Signature:44d88612fea8a8f36de82e1278abb02f
'
seed fuzz_hashdb ign $'\x05''daily.hdb:12:Win.Trojan.Agent-1
'

# ---------------------------------------------------------------- fuzz_verify
# First line: the pattern; the rest: the data it is matched against.
seed fuzz_verify literal $'68656c6c6f\nsay hello, hello world'
seed fuzz_verify parts $'616263*646566{2-4}676869\nabc...def..ghi abcdefghi'
seed fuzz_verify specials $'(B)6576616c(L)\nx eval\r\n eval\n(eval)'
seed fuzz_verify alts $'6162(6364|65)!(66|67)68\nabcdxh abexh abcdfh'
seed fuzz_verify ranges $'61[1-3]636465\na.cde a..cde a....cde'
seed fuzz_verify nibbles $'4?5a??(9?|?0)\nMZ\x90\x00MZ\x00\x90'

# ------------------------------------------------------ fuzz_html_normalize
seed fuzz_html_normalize page $'<!DOCTYPE html>\n<HTML><Body BGCOLOR = "Red" class=x>Hello   World&amp;&#65;&lt;\n<!-- note -->\n<SCRIPT>var  A = \'a  b\';</SCRIPT>\n<a href="data:text/plain;base64,SGVsbG8=">X</a><img src=I.png alt=\'x y z\'/></body></html>\n'
seed fuzz_html_normalize odd $'<html>x < y > z<b a="1"b=2 c=\'q\r\nr\' /><!-- a > b -->&#x263a;&#65536;&bogus;\xe9\xe8 t<style>a { b : \'c\' }</style><b a="x'

# ---------------------------------------------------------------- fuzz_cvd
python3 - "$out/fuzz_cvd" <<'PY'
import gzip, hashlib, io, os, sys, tarfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def tar(members, compress):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw

def cvd(members, compress=True, md5=None):
    payload = tar(members, compress)
    digest = md5 or hashlib.md5(payload).hexdigest()
    header = ("ClamAV-VDB:23 Nov 2026 10-00 +0000:27371:%d:90:%s:c2lnbmF0dXJl:vigil:1700000000"
              % (len(members), digest)).encode()
    return header.ljust(512, b" ") + payload

daily = [
    ("COPYING", b"GPLv2\n"),
    ("daily.info", b"ClamAV-VDB:23 Nov 2026\ndaily.hdb:70:abc\n"),
    ("daily.hdb", b"44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n"),
    ("daily.ndb", b"Win.Test-1:0:*:4d5a90000300\nTxt.Test-2:7:*:6576616c28\n"),
    ("daily.ign2", b"fake_dont_remove_this_line\n"),
    ("daily.ldb", b"Sig;Engine:51-255,Target:1;0;4d5a9000\n"),
]
seeds = {
    "daily_gz": cvd(daily),
    "daily_plain": cvd(daily, compress=False),
    "stale_md5": cvd(daily, compress=False, md5="0" * 32),
    "one_member": cvd([("main.hdb", b"b1946ac92492d2347c6235b4d2611184:6:Hello\n")]),
    "empty": cvd([]),
    "bad_member": cvd([("x.ndb", b"Bad:0:*:616\n")]),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY

# ---------------------------------------------------------------- fuzz_cache
if [ -n "$cache_tool" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  printf '%s\n' \
    'Body.Literal:0:*:68656c6c6f20776f726c64' \
    'Body.Wild:0:*:4d5a9000??0300(0a|0b0c)ffff' \
    'Body.Pinned:0:0:4d5a9000' \
    'Body.Text:7:*:6576616c28' \
    'Body.Zeros:0:*:0000??000000' \
    'Body.Multi:0:*:6d756c7469*7061727473{2-6}6f6b6179' > "$work/a.ndb"
  printf '%s\n' \
    '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature' \
    '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:Eicar.Sha256:73' > "$work/b.hsb"
  printf '%s\n' 'b1946ac92492d2347c6235b4d2611184:6:hello.txt' > "$work/c.fp"
  mkdir -p "$out/fuzz_cache"
  "$cache_tool" "$out/fuzz_cache/full" "$work/a.ndb" "$work/b.hsb" "$work/c.fp"
  "$cache_tool" "$out/fuzz_cache/hashes_only" "$work/b.hsb"
  "$cache_tool" "$out/fuzz_cache/empty"
fi

# ---------------------------------------------------------------- fuzz_update_*
h=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
seed fuzz_update_manifest manifest "vigil-manifest 1
channel stable
version 7
created 2024-09-29T04:00:00Z
expires 2024-10-06T04:00:00Z
engine-min 0.1.0
signatures 12
bundle bundle.vgb.zst 100 $h 400
delta 6 delta-from-6.vgd.zst 30 $h 90
file daily.hdb 300 $h 10
file main.ndb 90 $h 2
"
seed fuzz_update_manifest note $'hello\n\n\xe2\x80\x94 fuzz/release AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n'
seed fuzz_update_checkpoint checkpoint $'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'
seed fuzz_update_checkpoint note $'vigil-updates/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\xe2\x80\x94 vigil-updates/log AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n'
seed fuzz_update_proof inclusion $'vigil-inclusion-proof 1\nindex 4\ntree-size 7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'
seed fuzz_update_proof consistency $'vigil-consistency-proof 1\nold-size 3\nnew-size 7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'
seed fuzz_update_archive bundle $'vigil-bundle 1\nfile daily.hdb 6\na:1:A\n\nend\n'
seed fuzz_update_archive delta $'vigil-delta 1\nfrom 1\nto 2\ndelete main.ndb\npatch daily.hdb 2\ncopy 0 2\ninsert 6\nd:4:D\n\nput new.fp 2\nx\n\nend\n'

# lib/unpack/ targets (fuzz_unpack*): built by their own script.
python3 "$(dirname "$0")/make_unpack_seeds.py" "$out"

echo "seeds written to $out"

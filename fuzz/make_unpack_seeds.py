#!/usr/bin/env python3
"""Seed corpora for the lib/unpack/ fuzz targets (fuzz/fuzz_unpack*.cc).

Usage: make_unpack_seeds.py OUT_DIR   (writes OUT_DIR/fuzz_unpack*/...)
Every seed is built here from scratch (Python 3 stdlib), none is committed.
"""
import base64
import bz2
import gzip
import io
import lzma
import struct
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

PAYLOAD = b"MZ" + b"\x90\x00" * 30 + b"seed payload " * 8


def pe(extra=b""):
    h = bytearray(0x80)
    h[0:2] = b"MZ"
    h[0x3C:0x40] = struct.pack("<I", 0x40)
    h[0x40:0x44] = b"PE\0\0"
    h[0x46:0x48] = struct.pack("<H", 1)
    return bytes(h) + extra


def pe32(sections, ep):
    """A PE32 file with an optional header and sections (va, vsize, raw, rsize)."""
    h = bytearray(0x80)
    h[0:2] = b"MZ"
    struct.pack_into("<I", h, 0x3C, 0x80)
    h += struct.pack("<4sHHIIIHH", b"PE\0\0", 0x14C, len(sections), 0, 0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into("<HBBIIIIII", opt, 0, 0x10B, 1, 0, 0x1000, 0x1000, 0, ep, 0x1000, 0x2000)
    h += opt
    for i, (va, vs, raw, rs) in enumerate(sections):
        h += struct.pack("<8sIIIIIIHHI", b".s%d" % i, vs, va, rs, raw, 0, 0, 0, 0, 0x60000020)
    end = max(raw + rs for _, _, raw, rs in sections)
    return bytes(h) + bytes(range(256)) * ((end - len(h)) // 256 + 1)


def zip_of(files, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for n, d in files:
            z.writestr(n, d)
    return b.getvalue()


def tar_of(files, mode="w"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for n, d in files:
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    return b.getvalue()


def package(name, data):
    label = name.encode() + b"\0"
    path = b"C:\\tmp\\" + name.encode() + b"\0"
    return (struct.pack("<H", 2) + label + path + struct.pack("<HH", 0, 3) + struct.pack("<I", len(path)) + path +
            struct.pack("<I", len(data)) + data)


def ole1(cls, native):
    c = cls.encode() + b"\0"
    return (struct.pack("<II", 0x0501, 2) + struct.pack("<I", len(c)) + c + struct.pack("<I", 0) +
            struct.pack("<I", 0) + struct.pack("<I", len(native)) + native)


def rtf(obj):
    h = obj.hex()
    lines = "\n".join(h[i:i + 64] for i in range(0, len(h), 64))
    return ("{\\rtf1\\ansi{\\object\\objemb{\\*\\objclass Package}{\\*\\objdata " + lines + "}}}").encode()


def tnef(title, data):
    out = struct.pack("<IH", 0x223E9F78, 1)

    def attr(level, aid, value):
        return struct.pack("<BII", level, aid, len(value)) + value + struct.pack("<H", sum(value) & 0xFFFF)
    out += attr(1, 0x00089006, b"\x01\x00\x00\x00")
    out += attr(2, 0x00069002, b"\x01\x00" + b"\xff" * 12)
    out += attr(2, 0x00018010, title.encode() + b"\0")
    out += attr(2, 0x0006800F, data)
    return out


def sis(files, release6=True, compress=True):
    """A SIS package: header, one language, simple file records."""
    hdr_len = 0x64 if release6 else 0x44
    rec_len = 4 + 24 + 4 + 4 + (4 + 8 if release6 else 0)
    langs_ptr = hdr_len
    files_ptr = langs_ptr + 2
    data_ptr = files_ptr + rec_len * len(files)
    records, blobs = b"", b""
    for name, data in files:
        dest = name.encode("utf-16-le")
        stored = zlib.compress(data) if release6 and compress else data
        dest_ptr = data_ptr + len(blobs)
        blobs += dest
        file_ptr = data_ptr + len(blobs)
        blobs += stored
        records += struct.pack("<IIIIIII", 0, 0, 0, 0, 0, len(dest), dest_ptr)
        records += struct.pack("<II", len(stored), file_ptr)
        if release6:
            records += struct.pack("<III", len(data), 0, 0)
    uid2 = 0x10003A12 if release6 else 0x1000006D
    options = 0x0001 | (0 if compress else 0x0008)
    hdr = struct.pack("<IIII", 0x10000000, uid2, 0x10000419, 0)
    hdr += struct.pack("<HHHHHHII", 0, 1, len(files), 0, 0, 0, 0x21, 200)
    hdr += struct.pack("<HHHHI", options, 0, 1, 0, 0)
    hdr += struct.pack("<IIIII", langs_ptr, files_ptr, 0, 0, 0)
    hdr = hdr.ljust(hdr_len, b"\0")
    return hdr + b"\x01\x00" + records + blobs


def is_entry(name, data):
    return name.encode() + b"\0Disk1\\" + name.encode() + b"\0" + b"1.0.0.0\0" + str(len(data)).encode() + b"\0" + data


def is_msi_wrapper(files):
    """An InstallShield MSI wrapper's overlay: header, then obfuscated zlib files."""
    def obfuscate(name, plain):
        key = bytes(c ^ b"\x13\x35\x86\x07"[i % 4] for i, c in enumerate(name.encode()))
        out = bytearray()
        for i, p in enumerate(plain):
            v = (~p ^ key[(i % 1024) % len(key)]) & 0xFF
            out.append(((v << 4) | (v >> 4)) & 0xFF)
        return bytes(out)
    body = b""
    for name, data in files:
        stored = obfuscate(name, zlib.compress(data, 9))
        body += (name.encode().ljust(260, b"\0") + struct.pack("<III", 6, 0, len(stored))).ljust(312, b"\0") + stored
    return b"debug" + (b"InstallShield\0" + struct.pack("<H", len(files))).ljust(46, b"\0") + body


def nrv2b_literals(data):
    """An NRV2B stream (as UPX packs) of literal bytes only, then the end code."""
    out, state = bytearray(), {"at": 0, "left": 0}

    def bit(b):
        if state["left"] == 0:
            state["at"], state["left"] = len(out), 32
            out.extend(b"\0\0\0\0")
        state["left"] -= 1
        if b:
            w = struct.unpack_from("<I", out, state["at"])[0] | (1 << state["left"])
            struct.pack_into("<I", out, state["at"], w)

    for c in data:
        bit(1)
        out.append(c)
    bit(0)
    v = 0x1000002  # (v - 3) * 256 + 0xFF = 0xFFFFFFFF: the end
    top = v.bit_length() - 1
    for b in range(top - 1, -1, -1):
        bit((v >> b) & 1)
        bit(1 if b == 0 else 0)
    out.append(0xFF)
    return bytes(out)


def upx_stream(payload):
    """What a UPX win32/pe stream unpacks to: the image, then the original PE header."""
    header = (b"PE\0\0" + struct.pack("<HH12xHH", 0x14C, 1, 0xE0, 0x0102) + bytes(0xE0) +
              b".data\0\0\0" + struct.pack("<IIII16x", 0x1000, 0x1000, len(payload), 0x400))
    return nrv2b_literals(payload.ljust(0x200, b"\0") + b"imports" + header)


def mew_seeds(payload):
    """fuzz_unpack_mew's input: a flag byte, then the loader's record (helpers,
    entry, first destination), aPLib blocks of literals and the 0 after the
    last; clamav-testfiles' clam-mew.exe record too when installed."""
    def aplib_literals(data):
        out, tag, left = bytearray(data[:1]), None, 0
        def bit(b):
            nonlocal tag, left
            if left == 0:
                tag, left = len(out), 8
                out.append(0)
            left -= 1
            out[tag] |= b << left
        for c in data[1:]:
            bit(0)
            out.append(c)
        for b in (1, 1, 0):
            bit(b)
        out.append(0)
        return bytes(out)
    record = struct.pack("<III", 0x400100, 0x401000, 0x401000)
    seeds = {"one": b"\0" + record + aplib_literals(payload) + struct.pack("<I", 0x402000) +
             aplib_literals(b"PK\3\4" + payload) + struct.pack("<I", 0)}
    real = Path("/usr/share/clamav-testfiles/clam-mew.exe")
    if real.exists():
        seeds["clam-mew"] = b"\0" + real.read_bytes()[0x21C:0x618]
    return seeds


def upack_seeds(payload):
    """fuzz_unpack_upack's input: an even byte, the shift (8 - lc), a call
    count and raw LZMA (lc=3 lp=0 pb=0) without its leading zero byte; an
    odd byte and clamav-testfiles' clam-upack.exe when installed."""
    raw = lzma.compress(payload * 4 + bytes(0x3000), format=lzma.FORMAT_RAW,
                        filters=[{"id": lzma.FILTER_LZMA1, "lc": 3, "lp": 0, "pb": 0, "dict_size": 1 << 16}])
    seeds = {"data": b"\0\5\0" + raw[1:]}
    real = Path("/usr/share/clamav-testfiles/clam-upack.exe")
    if real.exists():
        seeds["clam-upack"] = b"\1" + real.read_bytes()
    return seeds


def petite_table(payload):
    """fuzz_unpack_petite's even layout: a Petite loader section from its
    table on (at 0x411000 + 0x1B8): one entry unpacking `payload` (literals
    only, each XORed with the count still to produce) to 0x1000, the end,
    and the stream at 0x411300."""
    n = len(payload)
    stream = bytearray(payload[:1])
    for i in range(1, n):
        if (i - 1) % 8 == 0:
            stream.append(0)  # eight 0 bits: eight literals
        stream.append(payload[i] ^ ((n - i) & 0xFF))
    table = struct.pack("<IIIII", 0x11300, n, 0x1000, 0, 0)
    return table.ljust(0x300 - 0x1B8, b"\0") + bytes(stream)


def aspack_seeds(payload):
    """fuzz_unpack_aspack's inputs: the unpacked size (2 bytes), the call
    filter's mark byte, then an ASPack stream (no longer than the unpacked
    size: the loader reads no further). One stream with fixed complete codes
    (pre-code 4/5 bits, main 9/10, length 4/5, aligned 3: unused) and greedy
    matches; clamav-testfiles' clam-aspack.exe blocks too when installed."""
    bits = []

    def put(v, n):
        bits.extend((v >> b) & 1 for b in range(n - 1, -1, -1))

    def canonical(lens):
        codes, code = {}, 0
        for length in range(1, 16):
            for sym, l in enumerate(lens):
                if l == length:
                    codes[sym] = (code, length)
                    code += 1
            code <<= 1
        return codes
    pre = [4] * 13 + [5] * 6
    lengths = [9] * (256 + 47) + [10] * 418 + [4] * 4 + [5] * 24 + [3] * 8
    put(0, 1)
    for l in pre:
        put(l, 4)
    pre_codes = canonical(pre)
    for l in lengths:
        put(*pre_codes[l])
    main, lens = canonical(lengths[:721]), canonical(lengths[721:749])
    extra = [0, 0] + [n // 2 for n in range(34)] + [17] * 14 + [18] * 8  # offset slot extra bits
    base = [sum(1 << e for e in extra[:i]) for i in range(58)]
    len_base = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192,
                224]
    len_extra = [0] * 8 + [n // 4 for n in range(4, 24)]
    i = 0
    while i < len(payload):
        best, dist = 0, 0
        for d in range(1, min(i, 256) + 1):
            n = 0
            while i + n < len(payload) and payload[i + n] == payload[i + n - d] and n < 264:
                n += 1
            if n > best:
                best, dist = n, d
        if best < 3:
            put(*main[payload[i]])
            i += 1
            continue
        value = dist + 2  # a new distance (dist - 1), after the three repeat codes
        slot = max(k for k in range(58) if base[k] <= value)
        low = min(best - 2, 7)
        put(*main[256 + slot * 8 + low])
        if low == 7:
            ls = max(k for k in range(28) if len_base[k] <= best - 9)
            put(*lens[ls])
            put(best - 9 - len_base[ls], len_extra[ls])
        put(value - base[slot], extra[slot])
        i += best
    bits += [0] * (-len(bits) % 8)
    stream = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
    seeds = {"stream": struct.pack("<HB", len(payload), 0) + stream}
    real = Path("/usr/share/clamav-testfiles/clam-aspack.exe")
    if real.exists():
        d = real.read_bytes()
        seeds["clam-aspack-rdata"] = struct.pack("<HB", 0x200, 0) + d[0x600:0x800]
        seeds["clam-aspack-clam"] = struct.pack("<HB", 0x1000, 0) + d[0xA00:0xC00]
    return seeds


def wwpack_literals(data):
    """A WWPack32 block of literal bytes only, then the end code: bits MSB
    first in 32-bit little-endian words, the next word reserved as soon as
    one is full, bytes after the word in use."""
    out, state = bytearray(b"\0\0\0\0"), {"at": 0, "used": 0}

    def bit(b):
        if b:
            w = struct.unpack_from("<I", out, state["at"])[0] | (1 << (31 - state["used"]))
            struct.pack_into("<I", out, state["at"], w)
        state["used"] += 1
        if state["used"] == 32:
            state["at"], state["used"] = len(out), 0
            out.extend(b"\0\0\0\0")

    for c in data:
        bit(0)
        out.append(c)
    for b in "11111" + "1" * 9:  # a two-byte copy (1, 11), offset kind 3 (11), nine 1s: the end
        bit(int(b))
    return bytes(out.ljust((len(out) + 3) // 4 * 4, b"\0"))


def yc_seeds(payload):
    """fuzz_unpack_yc's inputs: the ".text" raw size (2 bytes), its raw data
    (encrypted), then the "yC" section's raw data: a variant A loader whose
    first decryptor is "sub al, cl" and whose sections' decryptor is
    "xor al, 0x5A; rol al, cl" (nops after); clamav-testfiles' clam-yc.exe
    sections too when installed."""
    length, oep = 0xB6B, 0x1000

    def rol(v, n):
        n &= 7
        return ((v << n) | (v >> (8 - n))) & 0xFF if n else v
    text = bytearray(payload[:0x200].ljust(0x200, b"\0"))
    for i in range(len(text)):  # the inverse of the sections' decryptor
        cl = (len(text) - i) & 0xFF
        text[i] = rol(text[i], 8 - (cl & 7)) ^ 0x5A
    yc = bytearray(0xE00)
    a, c = 0x401000, 0x402000
    ep = (b"\x55\x8b\xec\x53\x56\x57\x60\xe8\0\0\0\0\x5d\x81\xed" + struct.pack("<I", a) + b"\xb9" +
          struct.pack("<I", c + length) + b"\x81\xe9" + struct.pack("<I", c) + b"\x8b\xd5\x81\xc2" +
          struct.pack("<I", a - 0x6C + 0xC6) + b"\x8d\x3a\x8b\xf7\x33\xc0\xeb\x04\x90\xeb\x01\xc2\xac" +
          b"\x2a\xc1".ljust(0x30, b"\x90") + b"\xaa\xe2\xcc")
    yc[0x60:0x60 + len(ep)] = ep
    yc[0x457:0x457 + 0x30] = b"\x34\x5a\xd2\xc0".ljust(0x30, b"\x90")
    yc[0xA0F:0xA13] = struct.pack("<I", oep)
    for i in range(length):  # the inverse of the first decryptor
        yc[0xC6 + i] = (yc[0xC6 + i] + ((length - i) & 0xFF)) & 0xFF
    seeds = {"variant-a": struct.pack("<H", len(text)) + bytes(text) + bytes(yc)}
    real = Path("/usr/share/clamav-testfiles/clam-yc.exe")
    if real.exists():
        d = real.read_bytes()
        seeds["clam-yc"] = struct.pack("<H", 0x600) + d[0x400:0xA00] + d[0xC00:]
    return seeds


def pespin_seeds(payload):
    """fuzz_unpack_pespin's inputs (first byte even): the ".text" raw size
    (2 bytes), its raw data (an aPLib stream of literals, xored and
    encrypted), then the loader section's raw data, built by running
    PESpin's loader steps backwards (lib/unpack/pespin.cc); the checksum
    covers no byte, so the fixed headers do not matter. First byte odd:
    clamav-testfiles' clam-pespin.exe when installed."""
    data = payload[:1 + (min(len(payload), 0x800) - 1) // 8 * 8]  # whole tag bytes
    packed = bytearray(data[:1])
    for i in range(1, len(data), 8):  # tag byte of 8 literal bits, then the bytes
        chunk = data[i:i + 8]
        packed += b"\0" + chunk
    packed += b"\xc0\0"  # 110, then offset 0: the end
    text = bytearray(packed)
    loader = bytearray(0x3400)
    total = 0x400 + len(text) + len(loader)  # the file the fuzzer builds

    def u32(at, v):
        loader[at:at + 4] = struct.pack("<I", v & 0xFFFFFFFF)

    def xor_stream(buf, at, n, key, poly, when_one):
        for i in range(n):
            out = key & 1
            key >>= 1
            if out == when_one:
                key ^= poly
            buf[at + i] ^= key & 0xFF
    loader[4:14] = b"\xe8\0\0\0\0\x8b\x1c\x24\x83\xc3"
    loader[0xDB:0xE5] = b"\xbb\x91\0\0\0\xb9" + struct.pack("<I", 0x11FE)
    u32(0x26EB, 0x47B3F060)
    u32(0x26F0, 0x5A0)
    u32(0x429, total)  # the checksum covers no byte: 0xFFFFFFFF
    key = 0x3523A0F5
    u32(0x3217, key + 0xFFFFFFFF)
    u32(0x3207, 1)
    u32(0x644, 0x180)
    u32(0x650, 0x43A806DB)
    u32(0x28DD, 0x1A1)
    loader[0x28EC:0x28EC + 0x25] = b"\x32\xc1".ljust(0x24, b"\x90") + b"\xaa"  # xor al, cl
    u32(0x6F1, 1)
    loader[0x755:0x755 + 0x25] = b"\x04\x11".ljust(0x24, b"\x90") + b"\xaa"  # add al, 0x11
    u32(0x3061, 1)
    for i in range(len(text)):  # backwards: step 7
        text[i] = (text[i] - 0x11) & 0xFF
    for i in range(0x1A1):  # step 6
        loader[0x6D4 + i] ^= (0x1A1 - i) & 0xFF
    xor_stream(loader, 0x28D3, 0x180, 0x43A806DB, 0xED43AF32, 1)  # step 5
    xor_stream(text, 0, len(text), key, 0xED43AF31, 0)  # step 4
    xor_stream(loader, 0x2D5, 0x5A0, 0x47B3F060, 0x8C328834, 1)  # step 2
    k = 0x91
    for i in range(0x1FE5 + 0x11FE - 1, 0x1FE5 - 1, -1):  # step 1
        loader[i] ^= k
        k = (k - 1) & 0xFF
    seeds = {"synthetic": b"\0" + struct.pack("<H", len(text)) + bytes(text) + bytes(loader)}
    real = Path("/usr/share/clamav-testfiles/clam-pespin.exe")
    if real.exists():
        seeds["clam-pespin"] = b"\1" + real.read_bytes()
    return seeds


def is_cabinet(name, data):
    """An InstallShield cabinet set (header and volume 1) holding one file."""
    common = lambda desc: b"ISc(" + struct.pack("<IIII", 0x01009500, 0, desc, 0x100)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = c.compress(data) + c.flush()
    packed = struct.pack("<H", len(chunk)) + chunk
    hdr = bytearray(common(0x200).ljust(0x400, b"\0"))
    struct.pack_into("<I", hdr, 0x200 + 0x0C, 0x100)
    struct.pack_into("<I", hdr, 0x200 + 0x28, 1)
    struct.pack_into("<I", hdr, 0x200 + 0x2C, 8)
    desc = struct.pack("<HQQQ", 4, len(data), len(packed), 0x200) + b"\0" * 32 + struct.pack("<IH", 0x80, 0)
    desc += b"\0" * 12 + struct.pack("<IIBH", 0, 0, 0, 1)
    hdr[0x308:0x308 + len(desc)] = desc
    hdr[0x380:0x380 + len(name) + 1] = name.encode() + b"\0"
    vol = common(0).ljust(0x200, b"\0") + packed
    return is_entry("data1.hdr", bytes(hdr)) + is_entry("data1.cab", vol)


def autoit_program(ea06, files):
    """A compiled AutoIt overlay: GUID, "AU3!EA0x", hash, entries (subtype,
    data, compressed), the trailing marker. Keystreams as in autoit.cc."""
    def mt_xor(seed, data):
        st = [seed & 0xFFFFFFFF]
        for i in range(1, 624):
            st.append((1812433253 * (st[-1] ^ (st[-1] >> 30)) + i) & 0xFFFFFFFF)
        out, idx = bytearray(), 624
        for c in data:
            if idx == 624:
                for i in range(624):
                    y = (st[i] & 0x80000000) | (st[(i + 1) % 624] & 0x7FFFFFFF)
                    st[i] = st[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
                idx = 0
            y = st[idx]
            idx += 1
            y ^= y >> 11
            y ^= (y << 7) & 0x9D2C5680
            y ^= (y << 15) & 0xEFC60000
            y ^= y >> 18
            out.append(c ^ ((y >> 1) & 0xFF))
        return bytes(out)

    def lame_xor(seed, data):
        w = []
        for _ in range(17):
            seed = (1 - seed * 0x53A9B4FB) & 0xFFFFFFFF
            w.append(seed)
        pos = [0, 10]
        rotl = lambda v, n: ((v << n) | (v >> (32 - n))) & 0xFFFFFFFF

        def step():
            v = (rotl(w[pos[0]], 9) + rotl(w[pos[1]], 13)) & 0xFFFFFFFF
            w[pos[0]] = v
            pos[0], pos[1] = (pos[0] - 1) % 17, (pos[1] - 1) % 17
            return v
        for _ in range(9):
            step()
        out = bytearray()
        for c in data:
            step()
            out.append(c ^ (step() >> 24))
        return bytes(out)

    def compress(data):
        """Literals, then one back reference repeating the last 8 bytes."""
        bits = []
        lit = 1 if ea06 else 0
        for c in data:
            bits += [lit] + [(c >> i) & 1 for i in range(7, -1, -1)]
        bits += [lit ^ 1] + [(8 >> i) & 1 for i in range(14, -1, -1)] + [1, 1, 0, 1, 0]  # length 3+3+2
        bits += [0] * (-len(bits) % 16)
        packed = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
        return (b"EA06" if ea06 else b"EA05") + struct.pack(">I", len(data) + 8) + packed

    crypt = lame_xor if ea06 else mt_xor
    k = (0x18EE, 0xADBC, 0xB33F, 0xF820, 0xF479, 0x87BC, 0xA685, 0x2477) if ea06 else \
        (0x16FA, 0x29BC, 0xA25E, 0x29AC, 0xF25E, 0x45AA, 0xC3D2, 0x22AF)
    pw = bytes(range(16))
    marker = bytes.fromhex("a3484bbe986c4aa9994c530a86d6487d") + (b"AU3!EA06" if ea06 else b"AU3!EA05")
    out = marker + pw
    for subtype, data, comp in files:
        text = subtype.encode("utf-16-le") if ea06 else subtype.encode()
        body = compress(data) if comp else data
        expanded = len(data) + 8 if comp else len(data)
        out += crypt(k[0], b"FILE") + struct.pack("<I", len(subtype) ^ k[1]) + crypt(k[2] + len(subtype), text)
        dest = "dest".encode("utf-16-le") if ea06 else b"dest"
        out += struct.pack("<I", 4 ^ k[3]) + crypt(k[4] + 4, dest)
        out += struct.pack("<BIII", int(comp), len(body) ^ k[5], expanded ^ k[5], zlib.adler32(body) ^ k[6]) + bytes(16)
        out += crypt(k[7] + (0 if ea06 else sum(pw)), body)
    return out + bytes(16) + marker


def arj_archives(files):
    """ARJ archives of every method from the real arj tool when installed,
    else one stored archive built here."""
    import shutil
    import subprocess
    import tempfile
    out = {}
    if shutil.which("arj"):
        with tempfile.TemporaryDirectory() as d:
            for name, data in files:
                Path(d, name).write_bytes(data)
            for m in range(5):
                subprocess.run(["arj", "a", f"-m{m}", "-y", f"m{m}.arj", *[n for n, _ in files]], cwd=d,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                p = Path(d, f"m{m}.arj")
                if p.exists():
                    out[f"m{m}"] = p.read_bytes()
    if out:
        return out

    def header(name, ftype, method=0, packed=0, size=0):
        basic = struct.pack("<BBBBBBBBIIIIHHH", 30, 11, 1, 2, 0, method, ftype, 0, 0, packed, size, 0, 0, 0, 0)
        basic += name.encode() + b"\0" + b"\0"
        crc = zlib.crc32(basic)
        return b"\x60\xea" + struct.pack("<H", len(basic)) + basic + struct.pack("<I", crc) + b"\0\0"
    arc = header("x.arj", 2)
    for name, data in files:
        arc += header(name, 0, 0, len(data), len(data)) + data
    return {"stored": arc + b"\x60\xea\0\0"}


def nsis_archives(payload):
    """The first header and data of installers built by makensis (when
    installed), one per compressor and layout."""
    import shutil
    import subprocess
    import tempfile
    out = {}
    if not shutil.which("makensis"):
        return {"none": b"\0\0\0\0\xef\xbe\xad\xdeNullsoftInst" + b"\0" * 12}
    with tempfile.TemporaryDirectory() as d:
        Path(d, "p.bin").write_bytes(payload)
        for comp in ("zlib", "lzma", "bzip2"):
            for solid in ("", "/SOLID "):
                Path(d, "t.nsi").write_text(f"SetCompressor {solid}{comp}\nOutFile \"o.exe\"\nInstallDir \"$TEMP\\x\"\n"
                                            "Section\nSetOutPath \"$INSTDIR\"\nFile \"p.bin\"\nSectionEnd\n")
                subprocess.run(["makensis", "-V1", "t.nsi"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                exe = Path(d, "o.exe")
                if exe.exists():
                    data = exe.read_bytes()
                    at = data.find(b"\xef\xbe\xad\xdeNullsoftInst")
                    if at >= 4:
                        out[comp + ("-solid" if solid else "")] = data[at - 4:]
                    exe.unlink()
    return out


BINHEX_ALPHABET = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"


def binhex(name, data):
    n = name.encode()
    raw = bytes([len(n)]) + n + b"\0" + b"TEXTttxt" + b"\0\0" + struct.pack(">II", len(data), 0) + b"\0\0"
    raw += data + b"\0\0" + b"\0\0"
    # Run-length: escape 0x90, and one run.
    rle = raw.replace(b"\x90", b"\x90\x00") + b"A\x90\x05"
    bits = "".join(f"{b:08b}" for b in rle)
    bits += "0" * (-len(bits) % 6)
    enc = bytes(BINHEX_ALPHABET[int(bits[i:i + 6], 2)] for i in range(0, len(bits), 6))
    lines = b"\n".join(enc[i:i + 64] for i in range(0, len(enc), 64))
    return b"(This file must be converted with BinHex 4.0)\n:" + lines + b":\n"


def mail(multipart=True):
    b64 = base64.encodebytes(PAYLOAD).decode()
    uu = "begin 644 x.bin\n" + "".join(
        chr(32 + len(PAYLOAD[i:i + 45])) + "".join(
            chr(32 + ((v >> s) & 63) or 96) for k in range(0, len(PAYLOAD[i:i + 45]), 3)
            for v in [int.from_bytes(PAYLOAD[i + k:i + k + 3].ljust(3, b"\0"), "big")] for s in (18, 12, 6, 0)) + "\n"
        for i in range(0, len(PAYLOAD), 45)) + "`\nend\n"
    return (f"From: a@example.com\nTo: b@example.com\nSubject: s\nMIME-Version: 1.0\n"
            f"Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\n{uu}\n--XX\n"
            f"Content-Type: application/octet-stream; name*=UTF-8''x%20y.exe\n"
            f"Content-Transfer-Encoding: base64\n\n{b64}\n--XX--\n").encode()


def main():
    out = Path(sys.argv[1])
    seeds = {
        "fuzz_unpack_pe": {"one": pe(b"x" * 64 + pe(b"tail")), "two": b"junk" + pe() + pe(b"y")},
        "fuzz_unpack_tnef": {"one": tnef("clam.exe", PAYLOAD), "cut": tnef("a", PAYLOAD)[:-20]},
        "fuzz_unpack_rtf": {"package": rtf(ole1("Package", package("x.exe", PAYLOAD))),
                            "raw": rtf(PAYLOAD)},
        "fuzz_unpack_binhex": {"one": binhex("x.exe", PAYLOAD)},
        "fuzz_unpack_nsis": nsis_archives(PAYLOAD),
        # clamav-testfiles' imploded member when installed, else bytes to start from.
        "fuzz_unpack_explode": {"impl": b"\0" + (Path("/usr/share/clamav-testfiles/clam.impl.zip").read_bytes()[0x26:0x26 + 280]
                                                  if Path("/usr/share/clamav-testfiles/clam.impl.zip").exists()
                                                  else bytes(range(256)))},
        "fuzz_unpack_arj": arj_archives([("x.exe", PAYLOAD), ("t.txt", b"hello hello hello " * 20)]),
        "fuzz_unpack_autoit": {v: autoit_program(v == "ea06", [(">AUTOIT SCRIPT<" if v == "ea05" else ">>>AUTOIT SCRIPT<<<",
                                                                b"MsgBox(0, 1, 2)", True),
                                                               ("C:\\x\\clam.exe", PAYLOAD, False),
                                                               ("C:\\x\\y.bin", PAYLOAD, True)])
                                for v in ("ea05", "ea06")},
        "fuzz_unpack_installshield": {"entries": is_entry("a.exe", PAYLOAD) + is_entry("b.txt", b"hello"),
                                      "cabinet": is_cabinet("x.exe", PAYLOAD),
                                      "msi-wrapper": is_msi_wrapper([("clam.msi", PAYLOAD * 40), ("a.ini", b"[x]")])},
        # The first byte picks the method: even NRV2B, odd NRV2E.
        "fuzz_pe_layout": {"one": pe32([(0x1000, 0x200, 0x400, 0x200), (0x2000, 0x300, 0x600, 0x200)], 0x2010),
                           "headers-ep": pe32([(0x1000, 0x200, 0x400, 0x200)], 0x300)},
        "fuzz_unpack_upx": {"one": b"\0" + upx_stream(PAYLOAD), "empty": b"\0" + nrv2b_literals(b"")},
        "fuzz_unpack_mew": mew_seeds(PAYLOAD),
        "fuzz_unpack_upack": upack_seeds(PAYLOAD),
        "fuzz_unpack_aspack": aspack_seeds(PAYLOAD * 8),
        "fuzz_unpack_yc": yc_seeds(PAYLOAD),
        "fuzz_unpack_pespin": pespin_seeds(PAYLOAD * 8),
        # The first byte picks the layout: even, a loader section from its table; odd, a whole file.
        "fuzz_unpack_petite": dict({"table": b"\0" + petite_table(PAYLOAD)},
                                   **({"file": b"\1" + Path("/usr/share/clamav-testfiles/clam-petite.exe").read_bytes()}
                                      if Path("/usr/share/clamav-testfiles/clam-petite.exe").exists() else {})),
        # The first byte picks the layout: even, one packed block; odd, a whole file.
        "fuzz_unpack_wwpack": dict({"block": b"\0" + wwpack_literals(PAYLOAD)},
                                   **({"file": b"\1" + Path("/usr/share/clamav-testfiles/clam-wwpack.exe").read_bytes()}
                                      if Path("/usr/share/clamav-testfiles/clam-wwpack.exe").exists() else {})),
        "fuzz_unpack_sis": {"r6": sis([("!:\\sys\\bin\\x.exe", PAYLOAD), ("!:\\y.txt", b"hello")]),
                            "r6-stored": sis([("!:\\x.exe", PAYLOAD)], compress=False),
                            "r5": sis([("!:\\x.exe", PAYLOAD)], release6=False)},
        "fuzz_unpack_inflate": {"fixed": zlib.compressobj(1, zlib.DEFLATED, -15).compress(PAYLOAD * 3) +
                                zlib.compressobj(1, zlib.DEFLATED, -15).flush(),
                                "dynamic": (lambda c: c.compress(PAYLOAD * 50) + c.flush())(
                                    zlib.compressobj(9, zlib.DEFLATED, -15))},
        "fuzz_unpack_html": {"b64": b'<html><a href="data:application/octet-stream;base64,' +
                             base64.b64encode(PAYLOAD) + b'">x</a><img src="data:,%4d%5a%90">'},
    }
    seeds["fuzz_unpack"] = {
        "zip": zip_of([("a/x.exe", PAYLOAD), ("b.txt", b"hello")]),
        "stored.zip": zip_of([("x", PAYLOAD)], zipfile.ZIP_STORED),
        "tgz": tar_of([("x", PAYLOAD)], "w:gz"),
        "tbz": tar_of([("x", PAYLOAD)], "w:bz2"),
        "gz": gzip.compress(PAYLOAD),
        "bz2": bz2.compress(PAYLOAD),
        "xz": lzma.compress(PAYLOAD),
        "mail": mail(),
        "pe": seeds["fuzz_unpack_pe"]["one"],
        "tnef": seeds["fuzz_unpack_tnef"]["one"],
        "rtf": seeds["fuzz_unpack_rtf"]["package"],
        "binhex": seeds["fuzz_unpack_binhex"]["one"],
        "sis": seeds["fuzz_unpack_sis"]["r6"],
        "html": seeds["fuzz_unpack_html"]["b64"],
        "pdf": (b"%PDF-1.4\n1 0 obj<</Length " + str(len(zlib.compress(PAYLOAD))).encode() +
                b"/Filter/FlateDecode>>stream\n" +
                zlib.compress(PAYLOAD) + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"),
    }
    for target, files in seeds.items():
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (d / name).write_bytes(data)


if __name__ == "__main__":
    main()

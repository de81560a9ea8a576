#!/usr/bin/env python3
"""Target type 4 (mail) against clamscan, the oracle.

  mail_targets_test.py VIGIL

Writes mail-like files that start with each header clamscan knows (and
near misses: other case, no space after the colon, the header on the
second line), with a type-4, a type-0 and a type-7 signature planted in
different orders, and compares:

  - without -z: the one name each scanner reports, file by file, exactly;
  - with -z: the type-4 names each reports, file by file (clamscan repeats
    names once per pass, so the comparison is of sets).

Skips (exit 77) when clamscan is not installed.
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oracle_util import found, need_clamscan  # noqa: E402

MAIL = b"vigilmailprobe01"     # type 4
PLAIN = b"secondprobe02xyz"    # type 0
TEXT = b"thirdprobe03abcd"     # type 7 (normalised text; lower case already)

# Headers clamscan 1.4.6 types as mail, and ones it does not.
HEADERS = [
    "Subject: x", "To: y", "Date: x", "Return-Path: x", "Return-path: x", "Delivered-To: x",
    "Message-Id: x", "Message-ID: x", "Envelope-to: x", "X-UIDL: x", ">From x", "Delivery-date: x",
    "For: x", "X-Apparently-To: x", "X-Envelope-From: x", "Received-SPF: x", "X-Real-To: x",
    "X-Sieve: x", "X-Original-To: x", "X-Symantec-Spam: x", "X-EVS x", "Hi. This is the qmail-send x",
    "From x", "From: x", "Received: x", "v:\nReceived: x", "v:\r\nReceived: x",
    # near misses
    "SUBJECT: x", "Subject:x", "to: y", "Date:", "received: x", "FROM x", "From:x", "Cc: x",
    "Content-Type: text/plain", "MIME-Version: 1.0", "X-Mailer: x", "X-Symantec: x", "begin 644 x",
]
BODIES = {
    "mail-first": MAIL + b" then " + PLAIN,
    "plain-first": PLAIN + b" then " + MAIL,
    "text-first": TEXT + b" then " + MAIL,
    "mail-only": b"just " + MAIL,
}


def names(cmd, all_match):
    out = {}
    for f, name in found(cmd + (["-z"] if all_match else [])):
        out.setdefault(f, []).append(name)
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    vigil = sys.argv[1]
    need_clamscan()
    with tempfile.TemporaryDirectory(prefix="vigil-mail-") as tmp:
        d = Path(tmp)
        db = d / "mail.ndb"
        db.write_text(f"Mail4:4:*:{MAIL.hex()}\nPlain0:0:*:{PLAIN.hex()}\nText7:7:*:{TEXT.hex()}\n")
        files = d / "files"
        files.mkdir()
        n = 0
        for h in HEADERS:
            for tag, body in BODIES.items():
                n += 1
                (files / f"f{n:03d}-{tag}").write_bytes(h.encode() + b"\n\nbody " + body + b"\n")
        # The header on the second line: not mail.
        (files / "second-line").write_bytes(b"hello\nSubject: x\n\n" + MAIL + b"\n")
        bad = 0
        for all_match in (False, True):
            c = names(["clamscan", "--no-summary", "-d", str(db), str(files)], all_match)
            v = names([vigil, "scan", "--no-cache", "--no-summary", "-d", str(db), str(files)], all_match)
            for f in sorted(p.name for p in files.iterdir()):
                if all_match:
                    want, got = sorted({x for x in c.get(f, []) if x.startswith("Mail4")}), \
                        sorted({x for x in v.get(f, []) if x.startswith("Mail4")})
                else:
                    want, got = c.get(f, []), v.get(f, [])
                if want != got:
                    bad += 1
                    print(f"MISMATCH{' -z' if all_match else ''} {f}: clamscan {want}, vigil {got}")
        typed = sum(1 for x in names(["clamscan", "--no-summary", "-d", str(db), str(files)], True).values()
                    if any(y.startswith("Mail4") for y in x))
        print(f"{n + 1} files, {typed} with a type-4 hit by clamscan, {bad} mismatches")
        if typed < 20:
            print("FAIL: too few files typed as mail by clamscan: the probe is broken")
            return 1
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end benchmark: vigil against clamscan, ripgrep and cat, in one run.

  bench/run.py [--vigil build/bin/vigil] [--repeat 5] [--quick] [--out FILE]

Builds (once, under --workdir) a corpus of real system files with
bench/make_corpus.sh and signature sets with bench/make_sigs.py, then for each
configuration (body signatures + hash signatures, and ClamAV's official
database when ../shared/corpora/signatures is present) measures, repeated R
times in an interleaved order, and reports medians of:

  scan     `vigil scan --no-summary -i -d DB CORPUS` cold (--no-cache), warm
           (engine cache present), warm with -j1, and warm with
           VIGIL_PREFILTER=regex; `clamscan --no-summary -i -d DB CORPUS`
  load     the same tools on a tiny file: vigil cold, from cache, regex cold;
           clamscan
  limits   `rg -a -c -f LITERALS CORPUS` with the longest literal of each body
           signature; `find CORPUS -type f -exec cat {} + > /dev/null`

Wall time is measured around each process; peak RSS comes from
`/usr/bin/time -f %M` (Debian package `time`). The FOUND lines of vigil and
clamscan are compared per configuration and a warning is printed when the
infected files differ. Results: a Markdown report on stdout and in --out, and
every sample in a .json beside it. Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "corpora" / "signatures"
OFFICIAL = SHARED / "clamav-official-db"
# The official database files in formats vigil loads today. The rest (.ldb,
# .cdb, .ftm, .msb) are left out for both tools, so that both do the same work.
OFFICIAL_FILES = ["main.hdb", "daily.hdb", "daily.hsb", "daily.ndb", "main.fp", "daily.fp",
                  "daily.sfp", "daily.ign2"]


TARGET = "b10k-h40k"  # the target configuration
HEAVY = ("clamscan", "rg", "grep")
TIMED_OUT = -999  # exit code recorded for a run stopped at --timeout


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def human(n):
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


class Runner:
    def __init__(self, time_bin, timeout):
        self.time_bin = time_bin
        self.timeout = timeout
        self.hyperfine = shutil.which("hyperfine")

    def run(self, cmd, env=None, shell=False):
        """Runs cmd; returns wall seconds, peak RSS in KiB, exit code, stdout, stderr."""
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            full = [self.time_bin, "-f", "%e %M", "-o", tf.name]
            full += ["sh", "-c", cmd] if shell else cmd
            e = dict(os.environ)
            e.update(env or {})
            t0 = time.perf_counter()
            p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                                 start_new_session=True)
            try:
                out, err = p.communicate(timeout=self.timeout)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                out, err = p.communicate()
                rc = TIMED_OUT
            wall = time.perf_counter() - t0
            fields = tf.read().split()
        rss = int(fields[-1]) if fields and fields[-1].isdigit() else 0
        return wall, rss, rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def run_bare(self, cmd, env=None):
        """Runs cmd without the time(1) wrapper (whose own start-up would be
        most of a few-millisecond measurement); returns wall seconds, exit
        code, stdout, stderr."""
        e = dict(os.environ)
        e.update(env or {})
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=self.timeout)
        wall = time.perf_counter() - t0
        return wall, p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


    def run_load(self, cmd, env=None):
        """Times a start of a few milliseconds: the median of LOAD_INNER runs
        with hyperfine -N (no shell; its own spawn costs little), or, without
        hyperfine, timed from here. Returns wall seconds, exit code, stdout,
        stderr (of one more run, for the Known viruses count)."""
        wall, rc, out, err = self.run_bare(cmd, env)
        if not self.hyperfine:
            walls = [wall] + [self.run_bare(cmd, env)[0] for _ in range(LOAD_INNER - 1)]
            return statistics.median(walls), rc, out, err
        e = dict(os.environ)
        e.update(env or {})
        with tempfile.NamedTemporaryFile("r", suffix=".json") as jf:
            subprocess.run([self.hyperfine, "-N", "-i", "--warmup", "1", "--runs", str(LOAD_INNER),
                            "--export-json", jf.name, " ".join(cmd)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e, timeout=self.timeout * LOAD_INNER)
            res = json.load(jf)["results"][0]
        return res["median"], rc, out, err


# Database loads are a few milliseconds: each repetition times this many
# starts and keeps their median.
LOAD_INNER = 9


def found_lines(stdout):
    """{path: name} from clamscan-style `PATH: NAME FOUND` lines."""
    out = {}
    for line in stdout.splitlines():
        if line.endswith(" FOUND"):
            path, _, name = line[: -len(" FOUND")].rpartition(": ")
            out[path] = name
    return out


def known_viruses(text):
    m = re.search(r"Known viruses:\s*(\d+)", text)
    return int(m.group(1)) if m else None


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024 // 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": mem, "kernel": platform.release()}


def version(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                              text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def link_or_copy(src, dst):
    try:
        if dst.exists():
            dst.unlink()
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigil", default=str(REPO / "build" / "bin" / "vigil"))
    ap.add_argument("--clamscan", default=shutil.which("clamscan") or "clamscan")
    ap.add_argument("--rg", default=shutil.which("rg") or "rg")
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    ap.add_argument("--workdir", default=os.path.join(cache_home, "vigil-bench"),
                    help="corpus, signatures, engine caches (reused between runs)")
    ap.add_argument("-R", "--repeat", type=int, default=None, help="repetitions (default 5, --quick 3)")
    ap.add_argument("--corpus-mb", type=int, default=None, help="corpus size (default 300, --quick 60)")
    ap.add_argument("--quick", action="store_true", help="smoke run: small corpus, R=3, fewer configurations")
    ap.add_argument("--configs", default="", help="comma-separated subset of configuration names")
    ap.add_argument("--heavy-repeat", type=int, default=1,
                    help="repetitions of the slow peers (clamscan scans, rg, grep) outside the target "
                         "configuration (default 1: a clamscan scan takes minutes)")
    ap.add_argument("--timeout", type=float, default=900,
                    help="seconds before one command is stopped; its time is then reported as '>N'")
    ap.add_argument("--no-clamscan", action="store_true", help="skip clamscan (vigil-only run)")
    ap.add_argument("--out", default=None, help="Markdown report (default WORKDIR/results-<corpus>.md)")
    args = ap.parse_args()

    repeat = args.repeat or (3 if args.quick else 5)
    mb = args.corpus_mb or (60 if args.quick else 300)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    vigil = str(Path(args.vigil).resolve())
    if not os.access(vigil, os.X_OK):
        sys.exit(f"run.py: no vigil binary at {vigil} (build first, or pass --vigil)")
    time_bin = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"
    if not os.access(time_bin, os.X_OK):
        sys.exit("run.py: /usr/bin/time missing (Debian package `time`; scripts/setup.sh installs it)")
    have_clam = not args.no_clamscan and shutil.which(args.clamscan) is not None
    have_rg = shutil.which(args.rg) is not None
    if not have_clam:
        log("clamscan not run: ratios will be missing")

    # ---- data ----
    corpus = work / f"corpus-{mb}"
    sigs = work / f"sigs-{mb}"
    bodies = [1000, 10000] if args.quick else [1000, 10000, 100000]
    hashes = [40000] if args.quick else [40000, 100000]
    log(f"corpus {corpus}")
    subprocess.run([str(HERE / "make_corpus.sh"), str(corpus), str(mb)], check=True)
    stamp = sigs / ".complete"
    want = f"corpus={mb} body={bodies} hash={hashes} v=1"
    if not stamp.exists() or stamp.read_text() != want:
        log(f"signatures {sigs} (takes a few minutes once)")
        subprocess.run([sys.executable, str(HERE / "make_sigs.py"), "--corpus", str(corpus), "--out", str(sigs),
                        "--body", ",".join(map(str, bodies)), "--hash", ",".join(map(str, hashes))], check=True)
        stamp.write_text(want)
    corpus_files = sum(1 for p in corpus.rglob("*") if p.is_file())
    corpus_bytes = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    tiny = work / "tiny.txt"
    tiny.write_text("nothing to see here\n")

    # configurations: name -> (db dir, body set or None, description)
    configs = []
    def synth(b, h, note=""):
        name = f"b{human(b)}-h{human(h)}"
        d = work / "db" / f"{name}-{mb}"
        d.mkdir(parents=True, exist_ok=True)
        link_or_copy(sigs / f"body-{human(b)}.ndb", d / "body.ndb")
        link_or_copy(sigs / f"hash-{human(h)}.hdb", d / "hash.hdb")
        configs.append({"name": name, "db": d, "lit": sigs / f"body-{human(b)}.lit",
                        "desc": f"{human(b)} body + {human(h)} hash{note}"})
    synth(10000, 40000, " (issue target)")  # == TARGET
    synth(1000, 40000)
    if not args.quick:
        synth(100000, 40000)
        synth(10000, 100000)
    if all((OFFICIAL / f).exists() for f in OFFICIAL_FILES):
        d = work / "db" / "official"
        d.mkdir(parents=True, exist_ok=True)
        for f in OFFICIAL_FILES:
            link_or_copy(OFFICIAL / f, d / f)
        configs.append({"name": "official", "db": d, "lit": None,
                        "desc": "ClamAV official db: " + ", ".join(OFFICIAL_FILES)})
    else:
        log(f"official database not found under {OFFICIAL}; skipped")
    if args.configs:
        keep = set(args.configs.split(","))
        configs = [c for c in configs if c["name"] in keep]

    R = Runner(time_bin, args.timeout)
    cache_anchor = work / "cache-anchor"
    cache_regex = work / "cache-regex"
    for d in (cache_anchor, cache_regex):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    regex_env = {"VIGIL_PREFILTER": "regex"}

    def vscan(c, *extra, target=None):
        return [vigil, "scan", "-r", "--no-summary", "-i", *extra, "-d", str(c["db"]), str(target or corpus)]

    def measures(c):
        """name -> (argv or shell string, env, is_shell)"""
        m = {
            "vigil_cold": (vscan(c, "--no-cache"), None),
            "vigil_warm": (vscan(c, "--cache-dir", str(cache_anchor)), None),
            "vigil_warm_j1": (vscan(c, "-j1", "--cache-dir", str(cache_anchor)), None),
            "vigil_regex_warm": (vscan(c, "--cache-dir", str(cache_regex)), regex_env),
            "load_vigil_cold": ([vigil, "scan", "--no-cache", "-d", str(c["db"]), str(tiny)], None),
            "load_vigil_cache": ([vigil, "scan", "--cache-dir", str(cache_anchor), "-d", str(c["db"]), str(tiny)], None),
            "load_vigil_regex_cold": ([vigil, "scan", "--no-cache", "-d", str(c["db"]), str(tiny)], regex_env),
        }
        if have_clam:
            # -r: clamscan does not descend into subdirectories without it.
            m["clamscan"] = ([args.clamscan, "-r", "--no-summary", "-i", "-d", str(c["db"]), str(corpus)], None)
            m["load_clamscan"] = ([args.clamscan, "-d", str(c["db"]), str(tiny)], None)
        if c["lit"] is not None:
            # rg -F needs UTF-8 patterns: bytes are mapped through windows-1252
            # (a bijection in rg's decoder) on both sides; see make_sigs.py.
            if have_rg:
                m["rg"] = ([args.rg, "-a", "-uu", "-c", "-F", "-E", "windows-1252", "-f",
                            str(c["lit"].with_suffix(".rglit")), str(corpus)], None)
            m["grep"] = ([ "grep", "-a", "-r", "-c", "-F", "-f", str(c["lit"]), str(corpus)], {"LC_ALL": "C"})
        return m

    samples = {c["name"]: {} for c in configs}
    samples["_io"] = {}
    found = {c["name"]: {} for c in configs}
    known = {c["name"]: {} for c in configs}
    warnings = []
    started = time.time()
    load_before = os.getloadavg()

    # Warm-up: page cache for the corpus, engine caches for every configuration.
    log("warm-up")
    subprocess.run(["sh", "-c", f"find '{corpus}' -type f -exec cat {{}} + > /dev/null"], check=False)
    for c in configs:
        for key in ("load_vigil_cache",):
            _, _, rc, out, err = R.run(measures(c)[key][0])
            if rc == 2:
                warnings.append(f"{c['name']}: vigil load failed: {err.strip()[:300]}")
        R.run(measures(c)["vigil_regex_warm"][0][:-1] + [str(tiny)], env=regex_env)

    rng = random.Random(1)
    timed_out = set()
    cat_cmd = f"find '{corpus}' -type f -exec cat {{}} + > /dev/null"
    for rep in range(repeat):
        jobs = [("_io", "cat", cat_cmd, None, True), ("_io", "load_spawn", ["/bin/true"], None, False)]
        for c in configs:
            for key, (cmd, env) in measures(c).items():
                if key in HEAVY and c["name"] != TARGET and rep >= args.heavy_repeat:
                    continue
                if (c["name"], key) in timed_out:
                    continue  # once is enough
                jobs.append((c["name"], key, cmd, env, False))
        rng.shuffle(jobs)
        for i, (cname, key, cmd, env, shell) in enumerate(jobs):
            if key.startswith("load_"):
                wall, rc, out, err = R.run_load(cmd, env=env)
                rss = 0
            else:
                wall, rss, rc, out, err = R.run(cmd, env=env, shell=shell)
            samples[cname].setdefault(key, []).append({"wall": wall, "rss_kb": rss, "rc": rc})
            if rc == TIMED_OUT:
                timed_out.add((cname, key))
                warnings.append(f"{cname}/{key}: stopped after {args.timeout:.0f} s (--timeout)")
                continue
            if cname != "_io":
                if rc not in (0, 1):
                    warnings.append(f"{cname}/{key}: exit {rc}: {err.strip()[:300]}")
                if key in ("vigil_cold", "vigil_warm", "vigil_warm_j1", "vigil_regex_warm", "clamscan"):
                    found[cname].setdefault(key, found_lines(out))
                if key.startswith("load_"):
                    known[cname].setdefault(key, known_viruses(out + err))
        log(f"repetition {rep + 1}/{repeat} done ({(time.time() - started) / 60:.1f} min, "
            f"load avg {os.getloadavg()[0]:.1f})")
    load_after = os.getloadavg()

    # ---- checks ----
    for c in configs:
        f = found[c["name"]]
        ref = f.get("vigil_warm", {})
        for key, other in f.items():
            if key == "vigil_warm":
                continue
            if set(other) != set(ref):
                only_v = sorted(set(ref) - set(other))
                only_o = sorted(set(other) - set(ref))
                warnings.append(f"{c['name']}: infected files differ between vigil_warm and {key}: "
                                f"{len(only_v)} only in vigil ({only_v[:3]}), {len(only_o)} only in {key} ({only_o[:3]})")
            else:
                names = sum(1 for p in ref if ref[p] != other.get(p))
                if names:
                    warnings.append(f"{c['name']}: same {len(ref)} infected files in vigil_warm and {key}, "
                                    f"but {names} reported under a different signature name")
        k = known[c["name"]]
        if have_clam and k.get("load_clamscan") != k.get("load_vigil_cold"):
            warnings.append(f"{c['name']}: Known viruses differ: clamscan {k.get('load_clamscan')}, "
                            f"vigil {k.get('load_vigil_cold')}")
    for w in warnings:
        log("WARNING: " + w)

    # ---- report ----
    def m(cname, key, field="wall"):
        xs = [s[field] for s in samples[cname].get(key, [])]
        return med(xs) if xs else None

    def fmt(x, unit=""):
        if x is None:
            return "–"
        if unit == "MB":
            return f"{x / 1024:.0f}"
        if x >= args.timeout:
            return f">{args.timeout:.0f}"
        return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}" if x >= 0.01 else f"{x:.4f}"

    def ratio(a, b):
        if not a or not b:
            return "–"
        if b >= args.timeout:
            return f"<{a / b:.2f}x" if a < args.timeout else "?"
        return f"{'>' if a >= args.timeout else ''}{a / b:.1f}x"

    cat_s = m("_io", "cat")
    mach = machine()
    lines = []
    P = lines.append
    P(f"Corpus: {corpus_files} files, {corpus_bytes / 1e6:.0f} MB (page cache warm). "
      f"Repetitions: {repeat}, medians. Date: {datetime.date.today()}.")
    P(f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['mem_gib']} GiB RAM, Linux {mach['kernel']}; "
      f"load average before/after: {load_before[0]:.1f}/{load_after[0]:.1f}.")
    P(f"Tools: vigil {version([vigil, '--version'])}; {version([args.clamscan, '--version']) if have_clam else 'no clamscan'}; "
      f"{version([args.rg, '--version']) if have_rg else 'no rg'}.")
    P("")
    P("### Scan wall time (seconds)")
    P("")
    P("| configuration | Known viruses (vigil / clamscan) | clamscan | vigil warm | vigil cold | vigil -j1 warm "
      "| clamscan / vigil warm | clamscan / vigil -j1 | clamscan / vigil cold | rg -F literals | grep -F literals "
      "| cat (I/O floor) |")
    P("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        n = c["name"]
        k = known[n]
        P(f"| {c['desc']} | {k.get('load_vigil_cold')} / {k.get('load_clamscan', '–')} | {fmt(m(n, 'clamscan'))} "
          f"| {fmt(m(n, 'vigil_warm'))} | {fmt(m(n, 'vigil_cold'))} | {fmt(m(n, 'vigil_warm_j1'))} "
          f"| {ratio(m(n, 'clamscan'), m(n, 'vigil_warm'))} | {ratio(m(n, 'clamscan'), m(n, 'vigil_warm_j1'))} "
          f"| {ratio(m(n, 'clamscan'), m(n, 'vigil_cold'))} | {fmt(m(n, 'rg'))} | {fmt(m(n, 'grep'))} "
          f"| {fmt(cat_s)} |")
    P("")
    P("### Database load time (seconds, scanning one tiny file)")
    P("")
    how = ("`hyperfine -N` (no shell, one warm-up run)" if R.hyperfine
           else "Python's subprocess (hyperfine not installed)")
    P(f"Each figure: per repetition the median of {LOAD_INNER} starts timed with {how}; then the median "
      f"over repetitions. Starting `/bin/true` the same way takes {fmt(m('_io', 'load_spawn'))} s, "
      f"included in every figure.")
    P("")
    P("| configuration | clamscan | vigil cold (compile) | vigil from cache | clamscan / vigil cold | clamscan / vigil cache |")
    P("|---|---|---|---|---|---|")
    for c in configs:
        n = c["name"]
        P(f"| {c['desc']} | {fmt(m(n, 'load_clamscan'))} | {fmt(m(n, 'load_vigil_cold'))} | {fmt(m(n, 'load_vigil_cache'))} "
          f"| {ratio(m(n, 'load_clamscan'), m(n, 'load_vigil_cold'))} | {ratio(m(n, 'load_clamscan'), m(n, 'load_vigil_cache'))} |")
    P("")
    P("### Peak RSS during the scan (MiB)")
    P("")
    P("| configuration | clamscan | vigil warm | vigil cold | vigil -j1 warm | vigil warm / clamscan |")
    P("|---|---|---|---|---|---|")
    for c in configs:
        n = c["name"]
        a, b = m(n, "clamscan", "rss_kb"), m(n, "vigil_warm", "rss_kb")
        P(f"| {c['desc']} | {fmt(a, 'MB')} | {fmt(b, 'MB')} | {fmt(m(n, 'vigil_cold', 'rss_kb'), 'MB')} "
          f"| {fmt(m(n, 'vigil_warm_j1', 'rss_kb'), 'MB')} | {f'{b / a:.2f}' if a and b else '–'} |")
    P("")
    P("### Prefilter strategy: rarest-literal anchors (default) vs whole patterns as Hyperscan regexes (VIGIL_PREFILTER=regex)")
    P("")
    P("| configuration | compile: anchors | compile: regex | scan warm: anchors | scan warm: regex | RSS warm: anchors | RSS warm: regex |")
    P("|---|---|---|---|---|---|---|")
    for c in configs:
        n = c["name"]
        P(f"| {c['desc']} | {fmt(m(n, 'load_vigil_cold'))} | {fmt(m(n, 'load_vigil_regex_cold'))} "
          f"| {fmt(m(n, 'vigil_warm'))} | {fmt(m(n, 'vigil_regex_warm'))} "
          f"| {fmt(m(n, 'vigil_warm', 'rss_kb'), 'MB')} | {fmt(m(n, 'vigil_regex_warm', 'rss_kb'), 'MB')} |")
    P("")
    P("### Infected files reported")
    P("")
    P("| configuration | vigil | clamscan | same files |")
    P("|---|---|---|---|")
    for c in configs:
        f = found[c["name"]]
        v, cl = f.get("vigil_warm"), f.get("clamscan")
        same = "–" if cl is None or v is None else ("yes" if set(v) == set(cl) else "**NO**")
        P(f"| {c['desc']} | {len(v) if v is not None else '–'} | {len(cl) if cl is not None else '–'} | {same} |")
    target = next((c for c in configs if c["name"] == "b10k-h40k"), None)
    if target and have_clam:
        n = target["name"]
        P("")
        P("### Issue targets (10k body + 40k hash)")
        P("")
        checks = [
            ("scan wall time >= 5x faster than clamscan (vigil warm, default threads)",
             m(n, "clamscan"), m(n, "vigil_warm"), 5),
            ("database load >= 3x faster cold", m(n, "load_clamscan"), m(n, "load_vigil_cold"), 3),
            ("database load >= 20x faster from the cache", m(n, "load_clamscan"), m(n, "load_vigil_cache"), 20),
        ]
        P("| target | measured | met |")
        P("|---|---|---|")
        for label, a, b, goal in checks:
            r = a / b if a and b else 0
            P(f"| {label} | {r:.1f}x | {'yes' if r >= goal else '**no**'} |")
        a, b = m(n, "clamscan", "rss_kb"), m(n, "vigil_warm", "rss_kb")
        bc = m(n, "vigil_cold", "rss_kb")
        P(f"| peak RSS <= clamscan's (warm; cold) | {b / 1024:.0f} MiB; {bc / 1024:.0f} MiB vs {a / 1024:.0f} MiB "
          f"| {'yes' if b <= a and bc <= a else '**no**'} |")
    if warnings:
        P("")
        P("### Warnings")
        P("")
        for w in warnings:
            P(f"- {w}")
    report = "\n".join(lines) + "\n"
    out = Path(args.out) if args.out else work / f"results-{mb}.md"
    out.write_text(report)
    (out.with_suffix(".json")).write_text(json.dumps(
        {"machine": mach, "repeat": repeat, "corpus_files": corpus_files, "corpus_bytes": corpus_bytes,
         "samples": samples, "known": known, "warnings": warnings,
         "found": {k: {kk: len(vv) for kk, vv in v.items()} for k, v in found.items()}}, indent=1))
    print(report)
    log(f"report written to {out} ({(time.time() - started) / 60:.1f} min)")


if __name__ == "__main__":
    main()

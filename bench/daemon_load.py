#!/usr/bin/env python3
"""Load test: vigild against Debian's clamd, same database, same run.

Usage: bench/daemon_load.py [--vigild build/bin/vigild] [--requests 100000]
                            [--concurrency 200] [--threads 10] [--idle 10000]

Starts both daemons on temporary Unix sockets with one generated database
(EICAR anywhere in a file, one hash signature), then sends INSTREAM requests
of mixed clean and infected payloads (1 KB to 10 MB) over `--concurrency`
simultaneous connections, one request per connection as clamd clients do.
Every verdict is checked. Reports throughput and p50/p99 latency per daemon.
With --idle N, N idle connections are held open against vigild during its
run (they must not slow it down). Not a unit test: run it by hand.
Python 3 stdlib only; traffic stays on this machine (Unix sockets).
"""

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
FOUND = b"stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0"
HASH_FOUND = b"stream: Vigil.Bench.Hash.UNOFFICIAL FOUND\0"
OK = b"stream: OK\0"
CHUNK = 256 * 1024


def make_payloads(seed=7):
    """About 60 payloads: sizes log-spread over 1 KB..10 MB, a third infected."""
    rnd = random.Random(seed)
    payloads = []
    for i in range(60):
        # Mostly small, as mail and upload traffic is: 70% <= 64 KB, 5% >= 1 MB.
        r = rnd.random()
        if r < 0.70:
            size = rnd.randint(1 << 10, 64 << 10)
        elif r < 0.95:
            size = rnd.randint(64 << 10, 1 << 20)
        else:
            size = rnd.randint(1 << 20, 10 << 20)
        data = bytearray(rnd.randbytes(size))
        want = OK
        if i % 3 == 0:
            at = rnd.randint(0, size - len(EICAR))
            data[at:at + len(EICAR)] = EICAR
            want = FOUND
        payloads.append((bytes(data), want))
    hashed = b"a file known to the bench by its hash\n"
    payloads.append((hashed, HASH_FOUND))
    return payloads, hashed


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def one_request(sock_path, data):
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_unix_connection(sock_path, limit=1 << 16)
    try:
        writer.write(b"zINSTREAM\0")
        view = memoryview(data)
        for i in range(0, len(data), CHUNK):
            part = view[i:i + CHUNK]
            writer.write(struct.pack(">I", len(part)))
            writer.write(part)
            await writer.drain()
        writer.write(b"\0\0\0\0")
        await writer.drain()
        reply = await reader.read()
    finally:
        writer.close()
    return time.perf_counter() - t0, reply


async def worker_loop(sock_path, payloads, jobs, out):
    for idx in jobs:
        data, want = payloads[idx]
        try:
            secs, reply = await one_request(sock_path, data)
        except OSError as e:
            out.append((0.0, len(data), False, repr(e)))
            continue
        out.append((secs, len(data), reply == want, reply[:80]))


def client_process(sock_path, payloads, job_lists, queue):
    async def run():
        out = []
        await asyncio.gather(*(worker_loop(sock_path, payloads, jobs, out) for jobs in job_lists))
        return out
    queue.put(asyncio.run(run()))


def run_load(sock_path, payloads, requests, concurrency, procs=2):
    rnd = random.Random(11)
    order = [rnd.randrange(len(payloads)) for _ in range(requests)]
    # `concurrency` connections at all times, spread over client processes.
    lanes = [order[i::concurrency] for i in range(concurrency)]
    q = mp.Queue()
    ps = []
    t0 = time.perf_counter()
    for p in range(procs):
        proc = mp.Process(target=client_process, args=(sock_path, payloads, lanes[p::procs], q))
        proc.start()
        ps.append(proc)
    results = []
    for _ in ps:
        results.extend(q.get())
    for proc in ps:
        proc.join()
    wall = time.perf_counter() - t0
    lat = sorted(r[0] for r in results if r[2])
    wrong = [r for r in results if not r[2]]
    mb = sum(r[1] for r in results) / 1e6
    return {"requests": len(results), "wrong": len(wrong), "wrong_examples": [w[3] for w in wrong[:3]],
            "seconds": wall, "rps": len(results) / wall, "mbps": mb / wall,
            "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000}


def start(argv, sock_path, timeout=120):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock_path)
            s.sendall(b"zPING\0")
            if s.recv(16) == b"PONG\0":
                s.close()
                return proc
            s.close()
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peak_rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def hold_idle(sock_path, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
        conns.append(s)
    return conns


def main():
    root_dir = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigild", default=str(root_dir / "build" / "bin" / "vigild"))
    ap.add_argument("--clamd", default=shutil.which("clamd") or "/usr/sbin/clamd")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--threads", type=int, default=10, help="MaxThreads of both daemons")
    ap.add_argument("--idle", type=int, default=0, help="idle connections held against vigild")
    ap.add_argument("--only", choices=["vigild", "clamd"])
    args = ap.parse_args()

    payloads, hashed = make_payloads()
    tmp = Path(tempfile.mkdtemp(prefix="vgl-"))
    db = tmp / "db"
    db.mkdir()
    (db / "bench.ndb").write_text("Eicar-Test-Signature:0:*:" + EICAR.hex() + "\n")
    (db / "bench.hdb").write_text(f"{hashlib.md5(hashed).hexdigest()}:{len(hashed)}:Vigil.Bench.Hash\n")
    common = (f"DatabaseDirectory {db}\nMaxThreads {args.threads}\nMaxQueue {2 * args.concurrency + 100}\n"
              f"MaxConnectionQueueLength {2 * args.concurrency + 100}\nStreamMaxLength 16M\n"
              "ReadTimeout 60\nCommandReadTimeout 60\n")
    daemons = []
    if args.only != "clamd":
        (tmp / "vigild.conf").write_text(f"LocalSocket {tmp}/vigild.sock\nLogFile {tmp}/vigild.log\n" + common)
        daemons.append(("vigild", [args.vigild, "--foreground", "--config", str(tmp / "vigild.conf")],
                        str(tmp / "vigild.sock")))
    if args.only != "vigild" and os.path.exists(args.clamd):
        (tmp / "clamd.conf").write_text(f"LocalSocket {tmp}/clamd.sock\nLogFile {tmp}/clamd.log\nForeground yes\n"
                                        f"PidFile {tmp}/clamd.pid\n" + common)
        daemons.append(("clamd", [args.clamd, "--config-file=" + str(tmp / "clamd.conf")], str(tmp / "clamd.sock")))
    elif args.only != "vigild":
        print("clamd not found (Debian package clamav-daemon): measuring vigild alone")

    total_mb = sum(len(p[0]) for p in payloads) / len(payloads) / 1e6
    print(f"{args.requests} INSTREAM requests, {args.concurrency} connections at a time, "
          f"{len(payloads)} payloads 1 KB..10 MB (mean {total_mb:.2f} MB, a third infected), "
          f"MaxThreads {args.threads}, {os.cpu_count()} CPUs")
    results = {}
    try:
        for name, argv, sock in daemons:
            proc = start(argv, sock)
            idle = hold_idle(sock, args.idle) if (args.idle and name == "vigild") else []
            try:
                r = run_load(sock, payloads, args.requests, args.concurrency)
                r["peak_rss_mb"] = peak_rss_mb(proc.pid)
                r["idle"] = len(idle)
                results[name] = r
            finally:
                for s in idle:
                    s.close()
                stop(proc)
            print(f"{name:7s} {r['requests']} requests in {r['seconds']:.1f} s: {r['rps']:.0f} req/s, "
                  f"{r['mbps']:.0f} MB/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                  f"wrong/errors {r['wrong']}, peak RSS {r['peak_rss_mb']:.0f} MB"
                  + (f", {r['idle']} idle connections held" if r['idle'] else ""))
            for w in r["wrong_examples"]:
                print(f"  e.g. {w!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "vigild" in results and "clamd" in results:
        v, c = results["vigild"], results["clamd"]
        print(f"vigild/clamd: throughput {v['rps'] / c['rps']:.2f}x, p99 {v['p99_ms'] / max(c['p99_ms'], 1e-9):.2f}x")
    return 1 if any(r["wrong"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

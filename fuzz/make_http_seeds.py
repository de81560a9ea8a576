#!/usr/bin/env python3
"""Seed corpus for fuzz/fuzz_http_request.cc: requests as vigil's clients,
wrk and curl send them, pipelined ones, chunked bodies, and a few that are
refused.

Usage: make_http_seeds.py OUT_DIR   (writes OUT_DIR/fuzz_http_request/*)
"""
import sys
from pathlib import Path

SEEDS = {
    "get": b"GET /channels/stable/manifest HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
           b"Vigil-License: DE-BENCH-000001\r\nX-Forwarded-For: 85.214.132.117\r\n\r\n",
    "query": b"GET /log/proof/inclusion/3/ab%63?x=1&y=a+b HTTP/1.1\r\nHost: h\r\n\r\n",
    "post": b"POST /v1/checkin HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            b"Content-Length: 27\r\n\r\n{\"endpoint_id\":\"ep-000001\"}",
    "pipelined": b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "chunked": b"POST /v1/activate HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: v\r\n\r\n",
    "expect": b"POST /v1/activate HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
    "http10": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "absolute": b"\r\nGET http://example.org/log/checkpoint HTTP/1.1\r\n\r\n",
    "smuggle": b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bare-lf": b"GET / HTTP/1.1\nHost: h\n\n",
}


def main():
    out = Path(sys.argv[1]) / "fuzz_http_request"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (out / name).write_bytes(data)


if __name__ == "__main__":
    main()

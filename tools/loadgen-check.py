#!/usr/bin/env python3
"""Checks goro-loadgen's open-loop percentiles against an independent open-loop generator.

The independent generator is written here, in plain Python, sharing no code or design
detail with goro-loadgen beyond the method both claim (wrk2's): requests go out on a fixed
schedule (request k is due at start + k / rate, on connection k mod N, one request in
flight per keep-alive connection, a request whose connection is still busy waits for it),
and each latency runs from the request's *scheduled* send time to the end of its response,
so a stall of the server delays the requests queued behind it and counts against them
(coordinated omission corrected). It waits in `select` with a timeout in microseconds
until the next send is due, with the thread's timer slack set to 1 ns (`prctl`), so that
its sends are not late by a timer's resolution (wrk2 waits with a 1 ms timer, which adds up
to 1 ms to every latency: https://github.com/giltene/wrk2/issues/78), and without spinning
(a spinning generator loses its CPU to other work on a busy machine and falls behind).

The script starts `http-hello` (default `--runtime tokio-ct`) pinned to CPU 1 and, in
alternating rounds, runs goro-loadgen and this generator pinned to CPU 0 against it at the
same rate, connections and measured time. It prints each round's p50 and p99, the medians,
and the ratio goro-loadgen / independent, with the verdict "within 25%" or not.

    cargo build --release -p goro-tools
    tools/loadgen-check.py                       # 2000 req/s, 4 connections, 3 rounds
    tools/loadgen-check.py --rate 4000 --connections 8 --rounds 5 --runtime goro

Python sustains a few thousand requests per second this way on one core; its own cost per
request (tens of microseconds) is part of what it measures, as goro-loadgen's is of its.
Loopback only.
"""

import argparse
import collections
import ctypes
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=2000.0, help="requests/s in total")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runtime", default="tokio-ct", choices=["goro", "tokio-ct", "tokio-mt"])
    p.add_argument("--path", default="/", help="request path (default /)")
    p.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", "target"))
    p.add_argument("--generate", type=int, metavar="PORT",
                   help="only run the independent generator against PORT and print JSON")
    a = p.parse_args()
    if not 1 <= a.connections <= 256:
        p.error("--connections must be 1 to 256")
    if not 0 < a.rate <= 20000:
        p.error("--rate must be above 0 and at most 20000 (Python cannot keep a faster schedule)")
    if not 0 < a.duration <= 60 or not 0 <= a.warmup <= 60:
        p.error("--duration must be in (0, 60] and --warmup in [0, 60]")
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    if not a.path.startswith("/"):
        p.error("--path must start with /")
    return a


class Conn:
    """One keep-alive connection: requests due on it, the one in flight, bytes read."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.due = collections.deque()
        self.in_flight = None
        self.buf = b""

    def take_response(self):
        """Removes one complete response from the buffer; returns whether there was one."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = self.buf[:head_end].decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip() == "content-length":
                length = int(value)
            elif name.strip() == "transfer-encoding":
                raise RuntimeError("chunked responses are not supported")
        if not head.startswith("http/1.1 2"):
            raise RuntimeError("non-2xx response: " + head.split("\r\n")[0])
        end = head_end + 4 + length
        if len(self.buf) < end:
            return False
        self.buf = self.buf[end:]
        return True


def independent_run(port, path, rate, connections, warmup, duration):
    """The independent open-loop generator; returns (latencies in us, requests sent late)."""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    conns = [Conn(port) for _ in range(connections)]
    socks = [c.sock for c in conns]
    by_sock = {c.sock: c for c in conns}
    set_timer_slack_ns(1)
    interval = 1e9 / rate
    start = time.perf_counter_ns() + 10_000_000
    measure_from = start + int(warmup * 1e9)
    end = measure_from + int(duration * 1e9)
    total = int((warmup + duration) * rate)
    latencies = []
    k = 0
    deadline = end + 5_000_000_000

    def send(c):
        c.in_flight = c.due.popleft()
        c.sock.sendall(request)

    while True:
        now = time.perf_counter_ns()
        while k < total and start + int(k * interval) <= now:
            c = conns[k % connections]
            c.due.append(start + int(k * interval))
            if c.in_flight is None:
                send(c)
            k += 1
        if k >= total and all(c.in_flight is None and not c.due for c in conns):
            break
        if now > deadline:
            raise RuntimeError("responses still missing 5 s after the last send")
        wait_ns = start + int(k * interval) - now if k < total else 10_000_000
        readable, _, _ = select.select(socks, [], [], max(wait_ns, 0) / 1e9)
        now = time.perf_counter_ns()
        for sock in readable:
            c = by_sock[sock]
            data = c.sock.recv(65536)
            if not data:
                raise RuntimeError("the server closed a connection")
            c.buf += data
            while c.in_flight is not None and c.take_response():
                if measure_from <= c.in_flight < end:
                    latencies.append((now - c.in_flight) / 1000.0)
                c.in_flight = None
                if c.due:
                    send(c)
    for c in conns:
        c.sock.close()
    return latencies


def set_timer_slack_ns(ns):
    """Sets this thread's timer slack (`PR_SET_TIMERSLACK`; Linux's default is 50 us)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(29, ctypes.c_ulong(ns), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_TIMERSLACK)")


def percentile(sorted_values, q):
    """The nearest-rank percentile q (0-100) of sorted values."""
    if not sorted_values:
        raise RuntimeError("no latencies recorded")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def loadgen_run(binary, port, path, a):
    out = subprocess.run(
        ["taskset", "-c", "0", binary, "--url", f"http://{HOST}:{port}{path}",
         "--connections", str(a.connections), "--rate", str(a.rate),
         "--warmup", str(a.warmup), "--duration", str(a.duration), "--json"],
        check=True, capture_output=True, text=True, timeout=a.warmup + a.duration + 60)
    r = json.loads(out.stdout)
    if r["errors"]:
        raise RuntimeError(f"goro-loadgen saw errors: {r['errors_by_kind']}")
    return r["p50_us"], r["p99_us"]


def independent_in_child(port, a):
    """Runs the independent generator in a child pinned to CPU 0 (`--generate`)."""
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, os.path.abspath(__file__), "--generate", str(port),
         "--path", a.path, "--rate", str(a.rate), "--connections", str(a.connections),
         "--warmup", str(a.warmup), "--duration", str(a.duration)],
        check=True, capture_output=True, text=True, timeout=a.warmup + a.duration + 60)
    p50, p99, n = json.loads(out.stdout)
    expected = a.rate * a.duration
    if n < 0.95 * expected:
        raise RuntimeError(f"the independent generator recorded {n} of {expected:.0f} requests")
    return p50, p99


def start_server(binary, runtime):
    server = subprocess.Popen(
        [binary, "--runtime", runtime, "--addr", f"{HOST}:0", "--pin", "1"],
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        server.kill()
        raise RuntimeError(f"http-hello did not start: {line!r}")
    return server, int(line.split()[2].rsplit(":", 1)[1])


def main():
    a = parse_args()
    if a.generate is not None:
        lat = sorted(independent_run(a.generate, a.path, a.rate, a.connections, a.warmup,
                                     a.duration))
        print(json.dumps([percentile(lat, 50), percentile(lat, 99), len(lat)]))
        return
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    release = os.path.join(root, a.target_dir, "release")
    hello, loadgen = (os.path.join(release, b) for b in ("http-hello", "goro-loadgen"))
    for b in (hello, loadgen):
        if not os.access(b, os.X_OK):
            sys.exit(f"{b} not found: run `cargo build --release -p goro-tools` first")
    server, port = start_server(hello, a.runtime)
    try:
        print(f"http-hello --runtime {a.runtime} on CPU 1; GET {a.path} at {a.rate:.0f} req/s over "
              f"{a.connections} connections, {a.warmup:g} s warm-up + {a.duration:g} s measured; "
              f"generators on CPU 0, alternating; load average {os.getloadavg()[0]:.2f}")
        print(f"{'round':<6} {'indep p50':>10} {'loadgen p50':>12} {'indep p99':>10} "
              f"{'loadgen p99':>12}  (us)")
        rows = []
        for r in range(a.rounds):
            if r % 2 == 0:
                ind = independent_in_child(port, a)
                lg = loadgen_run(loadgen, port, a.path, a)
            else:
                lg = loadgen_run(loadgen, port, a.path, a)
                ind = independent_in_child(port, a)
            rows.append((ind, lg))
            print(f"{r + 1:<6} {ind[0]:>10.1f} {lg[0]:>12.1f} {ind[1]:>10.1f} {lg[1]:>12.1f}")
        med = [statistics.median(x) for x in (
            [i[0] for i, _ in rows], [g[0] for _, g in rows],
            [i[1] for i, _ in rows], [g[1] for _, g in rows])]
        r50, r99 = med[1] / med[0], med[3] / med[2]
        ok = all(0.75 <= x <= 1.25 for x in (r50, r99))
        print(f"medians (us): p50 independent {med[0]:.1f}, goro-loadgen {med[1]:.1f}; "
              f"p99 independent {med[2]:.1f}, goro-loadgen {med[3]:.1f}")
        print(f"goro-loadgen / independent: p50 {r50:.2f}, p99 {r99:.2f}: "
              f"{'within 25%' if ok else 'NOT within 25%'}; load average {os.getloadavg()[0]:.2f}")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()

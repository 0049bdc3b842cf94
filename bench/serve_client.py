#!/usr/bin/env python3
"""Load client for bench/serve_vs_embed.sh: sends the texts of a file (one a line) to a running
`bertrt serve` as `POST /v1/embeddings` requests with `"encoding_format": "base64"`, from CLIENTS
threads at once, each on its own keep-alive connection, PER_REQUEST texts a request (taken in
file order from a shared counter, so every text is sent exactly once). Standard library only.

    serve_client.py --port P --input TEXTS [--clients 16] [--per-request 1] [--server-pid PID]
                    [--check-npy EMBED.npy] [--warmup K] [--tolerance 1e-5]

Waits (up to 60 s) until GET /health answers 200. Checks every answer: status 200, as many vectors as texts in the request, indices in order, each
vector hidden_size float32 (hidden_size from GET /info). With --check-npy, also that every vector
equals the same row of `bertrt embed`'s output (float32 [N, H] .npy) within --tolerance (max abs
difference). --warmup K: one untimed request of the first K texts before the timed run.

Prints one line of key=value pairs: texts, requests, wall (seconds from the first request sent
to the last answer read), server_cpu (user + system seconds of process PID over the same span,
from /proc/PID/stat; "nan" without --server-pid), client_cpu (this process's CPU seconds over the
span), passes and tokens (the server's forward passes and the tokens they ran, from GET /metrics
before and after), and max_diff with --check-npy. Exits 1 on any failed check.
"""
import argparse
import ast
import base64
import http.client
import json
import math
import os
import struct
import sys
import threading
import time
from array import array


def process_cpu(pid):
    """User + system CPU seconds of process pid, all its threads (fields 14 and 15 of /proc/pid/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_npy(path):
    """(rows, cols, array('f')) of a little-endian float32 2-D C-order .npy file (format 1.x or 2.x)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("%s is not a .npy file" % path)
    if data[6] == 1:
        (hlen,), start = struct.unpack_from("<H", data, 8), 10
    else:
        (hlen,), start = struct.unpack_from("<I", data, 8), 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin-1"))
    if header["descr"] != "<f4" or header["fortran_order"] or len(header["shape"]) != 2:
        raise ValueError("%s: want float32 [N, H] in C order, got %r" % (path, header))
    values = array("f")
    values.frombytes(data[start + hlen:])
    if sys.byteorder != "little":
        values.byteswap()
    rows, cols = header["shape"]
    if len(values) != rows * cols:
        raise ValueError("%s: %d values for shape %r" % (path, len(values), header["shape"]))
    return rows, cols, values


def batch_counters(host, port):
    """(forward passes, tokens through the encoder) so far, from GET /metrics."""
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        values[name] = value
    return int(float(values["bertrt_batches_total"])), int(float(values["bertrt_batch_tokens_total"]))


def post_embeddings(conn, texts):
    """(status, body bytes) of one /v1/embeddings request for texts on the keep-alive connection conn."""
    body = json.dumps({"input": texts[0] if len(texts) == 1 else texts, "encoding_format": "base64"}).encode()
    conn.request("POST", "/v1/embeddings", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def decode_answer(status, body, count, hidden):
    """The count vectors (raw little-endian float32 bytes) of an answer; raises on anything else."""
    if status != 200:
        raise RuntimeError("status %d: %s" % (status, body[:300].decode(errors="replace")))
    data = json.loads(body)["data"]
    if len(data) != count:
        raise RuntimeError("%d vectors for %d texts" % (len(data), count))
    out = []
    for i, item in enumerate(data):
        if item["index"] != i:
            raise RuntimeError("vector %d has index %r" % (i, item["index"]))
        raw = base64.b64decode(item["embedding"])
        if len(raw) != 4 * hidden:
            raise RuntimeError("vector %d has %d bytes, want %d (hidden %d)" % (i, len(raw), 4 * hidden, hidden))
        out.append(raw)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--input", required=True, help="texts, one a line")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--per-request", type=int, default=1)
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--check-npy")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--warmup", type=int, default=0)
    args = ap.parse_args()

    with open(args.input, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    chunks = [texts[i:i + args.per_request] for i in range(0, len(texts), args.per_request)]

    deadline = time.monotonic() + 60
    while True:  # until GET /health answers 200
        conn = http.client.HTTPConnection(args.host, args.port, timeout=600)
        try:
            conn.request("GET", "/health")
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                break
        except OSError:
            pass
        conn.close()
        if time.monotonic() > deadline:
            print("serve_client: the server did not answer GET /health with 200 in 60 s", file=sys.stderr)
            return 1
        time.sleep(0.1)
    conn.request("GET", "/info")
    r = conn.getresponse()
    hidden = json.loads(r.read())["hidden_size"]
    if args.warmup:
        decode_answer(*post_embeddings(conn, texts[:args.warmup]), min(args.warmup, len(texts)), hidden)
    conn.close()

    results = [None] * len(chunks)
    errors = []
    next_chunk = [0]
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPConnection(args.host, args.port, timeout=600)
        k = -1
        try:
            while True:
                with lock:
                    k = next_chunk[0]
                    next_chunk[0] += 1
                if k >= len(chunks) or errors:
                    return
                results[k] = decode_answer(*post_embeddings(c, chunks[k]), len(chunks[k]), hidden)
        except Exception as e:  # noqa: BLE001 - any failure fails the run, reported below
            errors.append("request %d: %s: %s" % (k, type(e).__name__, e))
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    passes0, tokens0 = batch_counters(args.host, args.port)
    server0 = process_cpu(args.server_pid) if args.server_pid else math.nan
    client0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    client_cpu = time.process_time() - client0
    server_cpu = (process_cpu(args.server_pid) - server0) if args.server_pid else math.nan
    if errors:
        print("serve_client: %s" % errors[0], file=sys.stderr)
        return 1
    passes1, tokens1 = batch_counters(args.host, args.port)

    line = "texts=%d requests=%d wall=%.3f server_cpu=%.2f client_cpu=%.2f passes=%d tokens=%d" % (
        len(texts), len(chunks), wall, server_cpu, client_cpu, passes1 - passes0, tokens1 - tokens0)
    if args.check_npy:
        rows, cols, ref = load_npy(args.check_npy)
        if rows != len(texts) or cols != hidden:
            print("serve_client: %s is [%d, %d], want [%d, %d]" % (args.check_npy, rows, cols, len(texts), hidden),
                  file=sys.stderr)
            return 1
        worst, where = 0.0, 0
        i = 0
        for chunk in results:
            for raw in chunk:
                got = array("f")
                got.frombytes(raw)
                if sys.byteorder != "little":
                    got.byteswap()
                base = i * hidden
                d = max(abs(got[j] - ref[base + j]) for j in range(hidden))
                if d > worst or math.isnan(d):
                    worst, where = d, i
                    if math.isnan(d):
                        break
                i += 1
        line += " max_diff=%.3g" % worst
        if not worst <= args.tolerance:
            print(line)
            print("serve_client: text %d differs from bertrt embed by %.3g > %g" % (where, worst, args.tolerance),
                  file=sys.stderr)
            return 1
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

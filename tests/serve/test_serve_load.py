#!/usr/bin/env python3
"""bertrt-serve under load, over loopback:

    test_serve_load.py load|queue|sigterm|slow_reader --serve BERTRT_SERVE --cli BERTRT --fixtures MODELS_DIR

load: 64 concurrent keep-alive clients mixing valid requests with hostile ones (malformed JSON,
wrong types, empty strings and lists, invalid UTF-8, ids out of range, too-long inputs, oversized
and chunked bodies, bad Content-Length, garbage), plus stalled clients; every status is checked,
every valid answer equals `bertrt embed` and the same request sent alone (max abs diff <= 1e-5),
batches of several requests did form, and the server is healthy and exits 0 afterwards.
queue: a full queue answers 429 with Retry-After; the others are answered.
sigterm: SIGTERM while requests are in flight: each completes correctly, the exit code is 0.
slow_reader: a client that does not read its answer is dropped after the write timeout."""
import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import (Server, check_close, cli_embed, convert_model, raw_exchange,  # noqa: E402
                        run_threads, status_of)


def words(n, seed):
    rng = random.Random(seed)
    return " ".join("w%05d" % rng.randrange(300) for _ in range(n))


# Texts of 3 to ~100 tokens, and one of 300 words: longer than the model's 128 positions.
TEXTS = ["Hello, my dog is cute", "the cat", "a dog is a cat"] + [words(n, n) for n in (1, 5, 12, 30, 60, 97)]
LONG = words(300, 7)

BAD_UTF8 = b'{"inputs": "caf\xc3 \xff\xfe"}'
# (method, path, body (bytes or JSON value), expected status, a word the error must contain)
HOSTILE = [
    ("POST", "/v1/embeddings", b'{"input": ', 400, "JSON"),
    ("POST", "/embed", b"[1, 2]", 400, "object"),
    ("POST", "/v1/embeddings", {"input": 5}, 400, "input"),
    ("POST", "/embed", {"inputs": {"a": 1}}, 422, "inputs"),
    ("POST", "/embed", {"inputs": "x", "normalize": "yes"}, 422, "normalize"),
    ("POST", "/v1/embeddings", {"input": ""}, 400, "empty"),
    ("POST", "/embed", {"inputs": []}, 422, "empty"),
    ("POST", "/embed", {"inputs": [[]]}, 422, "empty"),
    ("POST", "/embed", {"inputs": ["a", ""]}, 422, "empty"),
    ("POST", "/embed", {"inputs": ["a", 1]}, 422, "string"),
    ("POST", "/embed", {"inputs": [1.5, 2]}, 422, "integer"),
    ("POST", "/embed", BAD_UTF8, 400, "UTF-8"),
    ("POST", "/v1/embeddings", b'{"input": "\\ud800"}', 400, "surrogate"),
    ("POST", "/v1/embeddings", {"input": [[101, 100000, 102]]}, 400, "vocabulary"),
    ("POST", "/embed", {"inputs": [-1]}, 422, "vocabulary"),
    ("POST", "/embed", {"inputs": LONG}, 413, "truncate"),
    ("POST", "/v1/embeddings", {"input": [LONG]}, 400, "truncate"),
    ("POST", "/v1/embeddings", {"input": "x", "encoding_format": "hex"}, 400, "encoding_format"),
    ("POST", "/embed", {"inputs": "x", "truncation_direction": "left"}, 422, "truncation_direction"),
    ("POST", "/embed", {"inputs": ["x"] * 65}, 413, "65"),
    ("POST", "/embed", {"inputs": "x" * 100000}, 413, "limit"),
    ("POST", "/tokenize", {"inputs": [[1, 2]]}, 422, "string"),
    ("POST", "/embed_vectors", {"inputs_embeds": [[0.5] * 3]}, 422, "64"),
    ("POST", "/embed_vectors", {"inputs_embeds": [[1e39] * 64]}, 422, "float32"),
    ("POST", "/embed_vectors", {"inputs_embeds": [[0.5] * 64], "attention_mask": [2]}, 422, "mask"),
    ("GET", "/no/such/endpoint", None, 404, "endpoint"),
]
# Raw requests that http.client would not send: (bytes, expected status).
RAW = [
    (b"POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"in\"\r\n0\r\n\r\n", 411),
    (b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}", 400),
    (b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n{", 413),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n", 400),
]
SERVER_ARGS = ["--max-request-bytes", "65536", "--max-client-batch-size", "64", "--read-timeout", "1",
               "--write-timeout", "2", "--keep-alive-timeout", "5", "--max-batch-tokens", "2048"]


def error_message(path, body):
    err = body["error"]
    if path.startswith("/v1/"):
        assert set(err) >= {"message", "type"}, body
        return err["message"]
    assert isinstance(err, str) and "error_type" in body, body
    return err


def hostile(srv, k, conn):
    """Sends hostile request k on conn (a raw one on its own socket); returns a description."""
    if k % (len(HOSTILE) + len(RAW)) >= len(HOSTILE):
        data, want = RAW[k % (len(HOSTILE) + len(RAW)) - len(HOSTILE)]
        _, out, end = raw_exchange(srv.port, data, timeout=20)
        assert status_of(out) == want, "raw %r: got %r (%s)" % (data[:40], out[:200], end)
        return None
    method, path, body, want, word = HOSTILE[k % (len(HOSTILE) + len(RAW))]
    status, headers, data = srv.request(method, path, body, conn=conn)
    assert status == want, "%s %s: status %d, expected %d: %r" % (method, path, status, want, data[:300])
    msg = error_message(path, json.loads(data))
    assert word.lower() in msg.lower(), "%s %s: %r does not mention %r" % (method, path, msg, word)
    return headers


def valid(srv, conn, rng, expect):
    """A valid embedding request of 1-4 texts; its vectors must equal the references."""
    picks = [rng.randrange(len(TEXTS) + 1) for _ in range(rng.randint(1, 4))]
    texts = [TEXTS[i] if i < len(TEXTS) else LONG for i in picks]
    if rng.random() < 0.5:
        status, _, data = srv.request("POST", "/v1/embeddings", {"input": texts, "truncate": True}, conn=conn)
        assert status == 200, (status, data[:300])
        vectors = [d["embedding"] for d in json.loads(data)["data"]]
    else:
        status, _, data = srv.request("POST", "/embed", {"inputs": texts, "normalize": False, "truncate": True},
                                      conn=conn)
        assert status == 200, (status, data[:300])
        vectors = json.loads(data)
    for i, v in zip(picks, vectors):
        check_close(v, expect["cli"][i], "under load vs bertrt embed, text %d" % i)
        check_close(v, expect["alone"][i], "under load vs alone, text %d" % i)


def stalled(srv, partial, read_timeout):
    """A client that sends part of a request and stalls: the server must close it in time."""
    took, out, end = raw_exchange(srv.port, partial, timeout=read_timeout + 20)
    assert end == "closed", "stalled client: %s after %.1f s" % (end, took)
    assert took < read_timeout + 10, "stalled client held for %.1f s (read timeout %g s)" % (took, read_timeout)
    return took


def case_load(args):
    model = convert_model(args.cli, os.path.join(args.fixtures, "small"))
    all_texts = TEXTS + [LONG]
    expect = {"cli": cli_embed(args.cli, model, all_texts)}  # bertrt embed cuts at the model's limit
    with Server([args.serve], model, *SERVER_ARGS) as srv:
        expect["alone"] = []
        for t in all_texts:
            status, _, r = srv.post("/v1/embeddings", {"input": t, "truncate": True})
            assert status == 200, r
            expect["alone"].append(r["data"][0]["embedding"])
            check_close(expect["alone"][-1], expect["cli"][len(expect["alone"]) - 1], "alone vs bertrt embed")
        clients, rounds = 64, 8
        counts = {"valid": 0, "hostile": 0}
        kinds = set()
        lock = threading.Lock()

        def client(i):
            if i >= clients:  # the stalled clients
                partial = [b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Le",
                           b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\": "][i % 2]
                return stalled(srv, partial, 1.0)
            rng = random.Random(i)
            conn = srv.connection()
            try:
                for r in range(rounds):
                    if (i + r) % 4 == 3:
                        with lock:
                            kinds.add((i * rounds + r) % (len(HOSTILE) + len(RAW)))
                        if hostile(srv, i * rounds + r, conn) is None:
                            # A raw request took its own socket, for up to the keep-alive timeout:
                            # this connection may have been closed as idle meanwhile.
                            conn.close()
                            conn = srv.connection()
                        kind = "hostile"
                    else:
                        valid(srv, conn, rng, expect)
                        kind = "valid"
                    with lock:
                        counts[kind] += 1
            finally:
                conn.close()

        t0 = time.monotonic()
        run_threads(clients + 4, client)
        took = time.monotonic() - t0
        assert counts["valid"] >= 300 and counts["hostile"] >= 100, counts
        assert len(kinds) == len(HOSTILE) + len(RAW), "hostile requests never sent: %s" % (
            set(range(len(HOSTILE) + len(RAW))) - kinds)
        assert srv.get("/health")[0] == 200
        text = srv.get("/metrics")[1]
        rows = {}
        for line in text.splitlines():
            if line.startswith("bertrt_batch_rows_bucket"):
                rows[line.split('le="')[1].split('"')[0]] = float(line.split()[-1])
        assert rows["+Inf"] > rows["1"], "no batch held more than one input: %s" % rows
        assert srv.metric("bertrt_queue_rejected_total") == 0, "requests refused on an unsaturated queue"
        assert 'status="5' not in text, [l for l in text.splitlines() if 'status="5' in l]
        assert srv.stop() == 0, srv.lines
        print("load: %d valid and %d hostile requests from %d clients in %.1f s; batch rows %s" %
              (counts["valid"], counts["hostile"], clients, took, rows))


def case_queue(args):
    model = convert_model(args.cli, os.path.join(args.fixtures, "small"))
    heavy = {"inputs": [words(120, s) for s in range(48)], "normalize": False}
    with Server([args.serve], model, "--max-queue", "2", "--workers", "1", "--threads", "1") as srv:
        def one(i):
            return srv.post("/embed", heavy)

        results = run_threads(24, one)
        busy = [(s, h, b) for s, h, b in results if s == 429]
        done = [(s, h, b) for s, h, b in results if s == 200]
        assert len(busy) + len(done) == len(results), [s for s, _, _ in results]
        assert busy and len(done) >= 3, "429: %d, 200: %d" % (len(busy), len(done))
        for _, h, b in busy:
            assert h.get("retry-after") == "1" and b["error_type"] == "Overloaded" and "queue" in b["error"], (h, b)
        for _, _, b in done:
            assert len(b) == 48 and len(b[0]) == 64
        assert srv.metric("bertrt_queue_rejected_total") == len(busy)
        assert srv.stop() == 0, srv.lines
        print("queue: %d answered, %d refused with 429" % (len(done), len(busy)))


def case_sigterm(args):
    model = convert_model(args.cli, os.path.join(args.fixtures, "small"))
    texts = [words(110, s) for s in range(4)]
    ref = cli_embed(args.cli, model, texts)
    with Server([args.serve], model, "--keep-alive-timeout", "1", "--workers", "1", "--threads", "1") as srv:
        inflight, stop_light = 12, threading.Event()

        def request(i, copies):
            status, _, r = srv.post("/v1/embeddings", {"input": texts * copies}, timeout=600)
            assert status == 200, (status, r)
            for k, d in enumerate(r["data"]):
                check_close(d["embedding"], ref[k % 4], "in-flight request %d, input %d" % (i, k))
            return True

        def light_requests(i):
            # Keep-alive traffic on one connection: every answer it gets is right; after the stop,
            # the server closes the connection.
            n, conn = 0, srv.connection(600)
            while not stop_light.is_set():
                try:
                    status, _, r = srv.post("/embed", {"inputs": texts[i % 4], "normalize": False}, conn=conn)
                except (ConnectionError, http.client.HTTPException, socket.timeout, OSError):
                    conn.close()
                    return n
                assert status == 200, (status, r)
                check_close(r[0], ref[i % 4], "light request")
                n += 1
            conn.close()
            return n

        # The embedding requests go to /v1/embeddings, the keep-alive traffic to /embed. A large
        # request first holds the one worker, so that the others queue behind it: all of them
        # are in flight when SIGTERM comes, on a fast build or a slow (sanitized) one.
        gauge = 'bertrt_requests_in_flight{endpoint="/v1/embeddings"}'

        def wait_in_flight(n):
            deadline = time.monotonic() + 60
            while srv.metric(gauge, 0) < n and time.monotonic() < deadline:
                time.sleep(0.01)
            assert srv.metric(gauge, 0) == n, "%d requests did not reach the server" % n

        results = {}
        blocker = threading.Thread(target=lambda: results.__setitem__(0, request(0, 32)))
        blocker.start()
        wait_in_flight(1)
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, request(i, 2)))
                   for i in range(1, inflight + 1)]
        threads += [threading.Thread(target=lambda i=i: results.__setitem__(100 + i, light_requests(i)))
                    for i in range(4)]
        for t in threads:
            t.start()
        wait_in_flight(inflight + 1)
        t0 = time.monotonic()
        code = srv.stop(signal.SIGTERM, timeout=600)
        stop_light.set()
        for t in threads + [blocker]:
            t.join(600)
        assert code == 0, (code, srv.lines)
        missing = [i for i in range(inflight + 1) if not results.get(i)]
        assert not missing, "in-flight requests %s did not complete" % missing
        assert any("SIGTERM" in line for line in srv.lines), srv.lines
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=5).close()
            raise AssertionError("the port still accepts connections after exit")
        except ConnectionRefusedError:
            pass
        print("sigterm: %d in-flight requests completed, exit 0 after %.1f s; keep-alive clients got %s answers" %
              (inflight + 1, time.monotonic() - t0, [results.get(100 + i) for i in range(4)]))


def case_slow_reader(args):
    """A client that sends a request and does not read the (large) answer is dropped after the
    write timeout; meanwhile others are served."""
    model = convert_model(args.cli, os.path.join(args.fixtures, "small"))
    ids = [[101] + [200 + k % 200 for k in range(126)] + [102]] * 160
    body = json.dumps({"inputs": ids}).encode()
    with Server([args.serve], model, "--write-timeout", "1") as srv:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(b"POST /embed_all HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(1.0)
        for _ in range(5):  # the server is busy writing to the stalled client, and still serves others
            status, _, r = srv.post("/embed", {"inputs": "the cat"})
            assert status == 200, (status, r)
        time.sleep(4.0)  # past the write timeout
        s.settimeout(30)
        got = b""
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout) as e:
            assert not isinstance(e, socket.timeout), "the server kept the stalled connection open"
        s.close()
        head, _, rest = got.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        assert status_of(got) == 200 and len(rest) < length, "the whole answer (%d bytes) was delivered" % length
        assert srv.get("/health")[0] == 200
        assert srv.stop() == 0, srv.lines
        print("slow reader: dropped after %d of %d bytes" % (len(rest), length))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=["load", "queue", "sigterm", "slow_reader"])
    p.add_argument("--serve", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--fixtures", required=True)
    args = p.parse_args()
    {"load": case_load, "queue": case_queue, "sigterm": case_sigterm, "slow_reader": case_slow_reader}[args.case](args)
    print("serve %s: ok" % args.case)


if __name__ == "__main__":
    main()

"""Helpers for the bertrt-serve tests: start a server on a free port (the server binds port 0 and
prints the one it got), send requests (http.client, or raw bytes for malformed ones), and the
reference vectors of `bertrt embed`. Standard library only."""
import http.client
import json
import math
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time


class Server:
    """A bertrt-serve process on 127.0.0.1 and an OS-chosen port; stderr is collected. command is
    the server's argv before MODEL: [bertrt-serve], or [bertrt, "serve"]."""

    def __init__(self, command, model, *args):
        self.proc = subprocess.Popen([*command, model, "--host", "127.0.0.1", "--port", "0", *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        if not ready.wait(60) or self.port is None:
            self.proc.kill()
            raise AssertionError("bertrt-serve did not start: %s" % "\n".join(self.lines))

    def connection(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60, conn=None):
        """(status, headers dict with lower-case names, body bytes); a new connection unless conn."""
        own = conn is None
        conn = conn or self.connection(timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            h = {"Content-Type": "application/json"} if data is not None else {}
            h.update(headers or {})
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            if own:
                conn.close()

    def post(self, path, body, **kw):
        status, headers, data = self.request("POST", path, body, **kw)
        return status, headers, json.loads(data) if data else None

    def get(self, path):
        status, _, data = self.request("GET", path)
        return status, data.decode()

    def metric(self, sample, default=None):
        """The value of a sample in /metrics: 'name' or 'name{labels}' as the server writes it."""
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        if default is not None:
            return default
        raise AssertionError("no sample %s in /metrics" % sample)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends sig and returns the exit code (fails if the server does not exit in time)."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("bertrt-serve did not exit within %d s of %s" % (timeout, sig))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def raw_exchange(port, data, timeout=10.0, pause_after=None):
    """Sends raw bytes, then reads until the server closes; (seconds, bytes read, how it ended)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out, end = b"", "closed"
    try:
        s.sendall(data)
        if pause_after is not None:
            time.sleep(pause_after)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        end = "timeout"
    except OSError as e:
        end = "error: %s" % e
    finally:
        s.close()
    return time.monotonic() - t0, out, end


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


def convert_model(cli, hf_dir):
    out = os.path.join(tempfile.mkdtemp(prefix="bertrt-serve-test-"), os.path.basename(hf_dir) + ".bertrt")
    subprocess.run([cli, "convert", hf_dir, "-o", out], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)
    return out


def cli_embed(cli, model, texts):
    """`bertrt embed MODEL TEXT...`: the reference vectors, one per text."""
    r = subprocess.run([cli, "embed", model, *texts], check=True, capture_output=True, text=True, timeout=120)
    vectors = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(vectors) == len(texts), (len(vectors), len(texts))
    return vectors


def max_abs_diff(a, b):
    assert len(a) == len(b), "lengths %d and %d" % (len(a), len(b))
    return max(abs(x - y) for x, y in zip(a, b))


def check_close(got, want, what, tol=1e-5):
    d = max_abs_diff(got, want)
    assert d <= tol, "%s: max abs diff %g > %g" % (what, d, tol)


def f32(values):
    """Values rounded to float32."""
    return list(struct.unpack("<%df" % len(values), struct.pack("<%df" % len(values), *values)))


def norm(v):
    return math.sqrt(sum(x * x for x in v))


def run_threads(n, fn):
    """Runs fn(i) on n threads started together; returns results (exceptions re-raised)."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def body(i):
        try:
            barrier.wait(60)
            results[i] = fn(i)
        except BaseException as e:  # reported below with the thread's index
            errors.append((i, e))

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        i, e = errors[0]
        raise AssertionError("thread %d of %d failed (%d failed): %r" % (i, n, len(errors), e)) from e
    return results

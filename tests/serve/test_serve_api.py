#!/usr/bin/env python3
"""bertrt-serve's endpoints on one fixture model, over loopback:

    test_serve_api.py schema|cli --serve BERTRT_SERVE --cli BERTRT --fixtures MODELS_DIR

schema: the OpenAI response shape of /v1/embeddings (object "list", data[i].object "embedding",
index, embedding, model, usage), base64 floats, token-id inputs, /embed and /embed_all
(text-embeddings-inference), /tokenize, the staged /lookup -> /embed_vectors workflow, /health,
/info, /v1/models and /metrics; every vector is checked against `bertrt embed`.
cli: `bertrt serve` runs the server (help, bad command lines, start, SIGINT -> exit 0)."""
import argparse
import base64
import json
import os
import shutil
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server, check_close, cli_embed, convert_model, f32, norm  # noqa: E402

TEXTS = ["Hello, my dog is cute", "the cat", "a dog is a cat", "w00001 w00002 w00003 w00004 w00005 w00006"]


def mean_rows(rows):
    return [sum(col) / len(rows) for col in zip(*rows)]


def check_openai(srv, texts, ref, hidden):
    status, headers, r = srv.post("/v1/embeddings", {"input": texts, "model": "my-model"})
    assert status == 200, (status, r)
    assert headers["content-type"].startswith("application/json"), headers
    assert set(r) == {"object", "data", "model", "usage"}, sorted(r)
    assert r["object"] == "list" and r["model"] == "my-model", (r["object"], r["model"])
    assert len(r["data"]) == len(texts)
    for i, d in enumerate(r["data"]):
        assert set(d) == {"object", "index", "embedding"}, sorted(d)
        assert d["object"] == "embedding" and d["index"] == i, d
        assert len(d["embedding"]) == hidden and all(isinstance(x, float) for x in d["embedding"])
        check_close(d["embedding"], ref[i], "/v1/embeddings input[%d]" % i)
    _, _, toks = srv.post("/tokenize", {"inputs": texts})
    total = sum(len(t) for t in toks)
    assert r["usage"] == {"prompt_tokens": total, "total_tokens": total}, (r["usage"], total)

    # One string; no model given: the server's model id.
    status, _, one = srv.post("/v1/embeddings", {"input": texts[0]})
    assert status == 200 and one["model"] == "small" and len(one["data"]) == 1, one
    check_close(one["data"][0]["embedding"], ref[0], "/v1/embeddings one string")

    # base64: little-endian float32, the same values as the JSON floats.
    status, _, b = srv.post("/v1/embeddings", {"input": texts, "encoding_format": "base64"})
    assert status == 200, b
    for i, d in enumerate(b["data"]):
        raw = base64.b64decode(d["embedding"], validate=True)
        assert len(raw) == 4 * hidden
        assert list(struct.unpack("<%df" % hidden, raw)) == f32(r["data"][i]["embedding"]), "base64 row %d" % i

    # Token ids (as /tokenize gives them, special tokens included): the same vectors as the texts.
    ids = [[t["id"] for t in row] for row in toks]
    status, _, by_ids = srv.post("/v1/embeddings", {"input": ids})
    assert status == 200, by_ids
    for i, d in enumerate(by_ids["data"]):
        check_close(d["embedding"], ref[i], "/v1/embeddings ids[%d]" % i)
    status, _, single = srv.post("/v1/embeddings", {"input": ids[1]})
    assert status == 200 and len(single["data"]) == 1, single
    check_close(single["data"][0]["embedding"], ref[1], "/v1/embeddings one id list")
    return toks


def check_tei(srv, texts, ref, toks, hidden):
    status, _, e = srv.post("/embed", {"inputs": texts})
    assert status == 200 and len(e) == len(texts), (status, e)
    for i, v in enumerate(e):
        assert abs(norm(v) - 1.0) < 1e-5, "/embed normalizes by default: |v| = %g" % norm(v)
        n = norm(ref[i])
        check_close(v, [x / n for x in ref[i]], "/embed inputs[%d]" % i)
    status, _, raw = srv.post("/embed", {"inputs": texts[2], "normalize": False})
    assert status == 200 and len(raw) == 1, raw
    check_close(raw[0], ref[2], "/embed normalize false")

    status, _, alls = srv.post("/embed_all", {"inputs": texts})
    assert status == 200 and len(alls) == len(texts)
    for i, rows in enumerate(alls):
        assert len(rows) == len(toks[i]) and all(len(r) == hidden for r in rows), "/embed_all shape"
        check_close(mean_rows(rows), ref[i], "/embed_all inputs[%d] averaged (mean pooling)" % i)

    t = toks[0]
    assert t[0] == {"id": 101, "text": "[CLS]", "special": True, "start": None, "stop": None}, t[0]
    assert t[-1]["text"] == "[SEP]" and t[-1]["special"], t[-1]
    assert t[1]["special"] is False and texts[0].encode()[t[1]["start"]:t[1]["stop"]].lower() == b"hello", t[1]
    status, _, plain = srv.post("/tokenize", {"inputs": texts[0], "add_special_tokens": False})
    assert status == 200 and [x["id"] for x in plain[0]] == [x["id"] for x in t[1:-1]], plain


def check_staged(srv, texts, ref, hidden):
    status, _, lk = srv.post("/lookup", {"inputs": texts[:2]})
    assert status == 200 and lk["embedding_size"] == hidden and len(lk["data"]) == 2, lk
    _, _, toks = srv.post("/tokenize", {"inputs": texts[:2]})
    for i, d in enumerate(lk["data"]):
        assert d["input_ids"] == [t["id"] for t in toks[i]]
        assert len(d["inputs_embeds"]) == len(d["input_ids"])
    # Continue from the word vectors: the same pooled vector and token vectors as from the text.
    v0 = lk["data"][0]["inputs_embeds"]
    status, _, ev = srv.post("/embed_vectors", {"inputs_embeds": v0, "output": ["pooled", "last_hidden_state"]})
    assert status == 200 and set(ev) == {"pooled", "last_hidden_state"}, ev
    check_close(ev["pooled"][0], ref[0], "/embed_vectors pooled")
    _, _, alls = srv.post("/embed_all", {"inputs": texts[0]})
    for t, row in enumerate(ev["last_hidden_state"][0]):
        check_close(row, alls[0][t], "/embed_vectors last_hidden_state[%d]" % t)
    # A padded batch of two: the shorter row masked; each pooled row as alone.
    v1 = lk["data"][1]["inputs_embeds"]
    T = len(v0)
    padded = v1 + [[0.0] * hidden] * (T - len(v1))
    mask = [[1] * T, [1] * len(v1) + [0] * (T - len(v1))]
    status, _, pair = srv.post("/embed_vectors", {"inputs_embeds": [v0, padded], "attention_mask": mask})
    assert status == 200 and len(pair["pooled"]) == 2, pair
    check_close(pair["pooled"][0], ref[0], "/embed_vectors batch row 0")
    check_close(pair["pooled"][1], ref[1], "/embed_vectors batch row 1 (padded)")
    # Edited vectors give another result, normalized on request.
    scaled = [[1.5 * x for x in row] for row in v0]
    status, _, ed = srv.post("/embed_vectors", {"inputs_embeds": scaled, "normalize": True, "pool": "cls"})
    assert status == 200 and abs(norm(ed["pooled"][0]) - 1.0) < 1e-5, ed
    assert max(abs(a - b) for a, b in zip(ed["pooled"][0], ref[0])) > 1e-3


def check_service(srv, hidden):
    status, body = srv.get("/health")
    assert status == 200 and '"ok"' in body, body
    status, body = srv.get("/info")
    info = json.loads(body)
    assert status == 200 and info["hidden_size"] == hidden and info["model_id"] == "small", info
    for key in ("model_dtype", "isa", "max_input_length", "max_batch_tokens", "max_queue", "max_request_bytes"):
        assert key in info, key
    assert info["max_input_length"] == 128 and info["model_dtype"] == "f32", info
    status, body = srv.get("/v1/models")
    assert status == 200 and json.loads(body)["data"][0]["id"] == "small", body
    status, text = srv.get("/metrics")
    assert status == 200
    for name in ("bertrt_requests_total", "bertrt_request_duration_seconds_bucket", "bertrt_queue_requests",
                 "bertrt_batch_rows_bucket", "bertrt_batch_tokens_bucket", "bertrt_batch_tokens_total",
                 "bertrt_input_tokens_total"):
        assert name in text, "/metrics lacks " + name
    assert 'bertrt_requests_total{endpoint="/v1/embeddings",status="200"}' in text, text[:2000]
    # The listen backlog (the library's own is 5): ss shows it as the listening socket's Send-Q.
    if shutil.which("ss"):
        out = subprocess.run(["ss", "-ltnH", "sport = :%d" % srv.port], capture_output=True, text=True).stdout
        assert out.split() and int(out.split()[2]) >= 128, "listen backlog: %r" % out
    else:
        print("ss not found: the listen backlog is not checked")


def case_schema(args):
    model = convert_model(args.cli, os.path.join(args.fixtures, "small"))
    ref = cli_embed(args.cli, model, TEXTS)
    hidden = len(ref[0])
    with Server([args.serve], model) as srv:
        toks = check_openai(srv, TEXTS, ref, hidden)
        check_tei(srv, TEXTS, ref, toks, hidden)
        check_staged(srv, TEXTS, ref, hidden)
        check_service(srv, hidden)
        assert srv.stop() == 0, srv.lines


def case_cli(args):
    model = convert_model(args.cli, os.path.join(args.fixtures, "small"))
    r = subprocess.run([args.cli, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "usage: bertrt serve MODEL" in r.stdout, (r.returncode, r.stdout, r.stderr)
    r = subprocess.run([args.cli, "serve"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "MODEL" in r.stderr, (r.returncode, r.stderr)
    r = subprocess.run([args.cli, "serve", model, "--max-queue", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--max-queue" in r.stderr, (r.returncode, r.stderr)
    r = subprocess.run([args.cli, "serve", model, "--max-input-length", "999"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "limit of 128" in r.stderr, (r.returncode, r.stderr)
    r = subprocess.run([args.cli, "serve", model + ".missing"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "error" in r.stderr, (r.returncode, r.stderr)
    with Server([args.cli, "serve"], model, "--threads", "1") as srv:
        assert srv.get("/health")[0] == 200
        status, _, r = srv.post("/embed", {"inputs": "the cat", "normalize": False})
        assert status == 200
        check_close(r[0], cli_embed(args.cli, model, ["the cat"])[0], "bertrt serve /embed")
        assert srv.stop(signal.SIGINT) == 0, srv.lines
        assert any("SIGINT" in line for line in srv.lines), srv.lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=["schema", "cli"])
    p.add_argument("--serve", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--fixtures", required=True)
    args = p.parse_args()
    {"schema": case_schema, "cli": case_cli}[args.case](args)
    print("serve %s: ok" % args.case)


if __name__ == "__main__":
    main()

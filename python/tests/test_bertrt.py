"""Tests of the bertrt Python module against the golden fixtures (tests/data/fixtures).

Run: PYTHONPATH=BUILDDIR/python BERTRT_FIXTURES=tests/data/fixtures python3 test_bertrt.py
(BERTRT_CLI=BUILDDIR/tools/bertrt adds the `bertrt embed` checks.)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

import bertrt

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("BERTRT_FIXTURES",
                          os.path.join(HERE, "..", "..", "tests", "data", "fixtures"))
CLI = os.environ.get("BERTRT_CLI", "")

_tmp = None
_models = {}
_paths = {}


def setUpModule():
    global _tmp
    _tmp = tempfile.mkdtemp(prefix="bertrt-py-")


def tearDownModule():
    _models.clear()
    shutil.rmtree(_tmp, ignore_errors=True)


def manifest():
    with open(os.path.join(FIXTURES, "manifest.json")) as f:
        return json.load(f)


def model_path(name):
    if name not in _paths:
        info = manifest()["models"][name]
        out = os.path.join(_tmp, name + ".bertrt")
        bertrt.convert(os.path.join(FIXTURES, info["dir"]), out)
        _paths[name] = out
    return _paths[name]


def model(name):
    if name not in _models:
        _models[name] = bertrt.Model(model_path(name))
    return _models[name]


def load(case, name):
    return np.load(os.path.join(FIXTURES, case["dir"], name))


def max_diff(got, want, mask=None, rows_axis=None):
    """max |got - want|; mask [B, T] restricts to valid tokens (last two axes of [B, T, H])."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError("shape %s != %s" % (got.shape, want.shape))
    d = np.abs(got - want)
    if mask is not None:
        m = mask.astype(bool)
        if rows_axis == "attn":  # [B, heads, T, T]: query rows
            d = d * m[:, None, :, None]
        else:
            d = d[m]
    return float(d.max()) if d.size else 0.0


class FixtureTest(unittest.TestCase):
    def check(self, got, want, atol, what, mask=None, rows_axis=None):
        diff = max_diff(got, want, mask, rows_axis)
        self.assertLessEqual(diff, atol, "%s: max diff %g > %g" % (what, diff, atol))

    def test_every_case_every_stage(self):
        man = manifest()
        for case in man["cases"]:
            with self.subTest(model=case["model"], case=case["case"]):
                self.run_case(case)

    def run_case(self, case):
        m = model(case["model"])
        atol = case["atol"]
        ins = {k: load(case, v) for k, v in case["inputs"].items()}
        outs = case["outputs"]
        what = case["model"] + "/" + case["case"]
        ids = ins.get("input_ids")
        mask = ins.get("attention_mask")
        types = ins.get("token_type_ids")
        positions = ins.get("position_ids")
        L = m.num_layers
        if ids is not None:
            B, T = ids.shape
            embeds = m.lookup(ids)
            self.assertEqual(embeds.dtype, np.float32)
            self.check(embeds, load(case, outs["inputs_embeds"]), atol, what + " lookup")
        else:
            embeds = ins["inputs_embeds"]
            B, T = embeds.shape[:2]
        valid = mask if mask is not None else np.ones((B, T), np.int64)
        emb = m.embed(embeds, token_type_ids=types, position_ids=positions)
        self.check(emb, load(case, outs["embedding_output"]), atol, what + " embed")
        enc = m.encode(emb, attention_mask=mask, output_hidden_states=True,
                       output_attentions="attentions_0" in outs)
        self.check(enc["last_hidden_state"], load(case, outs["last_hidden_state"]), atol,
                   what + " encode", valid)
        self.assertEqual(len(enc["hidden_states"]), L + 1)
        for i in range(L + 1):
            self.check(enc["hidden_states"][i], load(case, outs["hidden_states_%d" % i]), atol,
                       what + " hidden_states_%d" % i, valid if i else None)
        if "attentions_0" in outs:
            for i in range(L):
                self.check(enc["attentions"][i], load(case, outs["attentions_%d" % i]), atol,
                           what + " attentions_%d" % i, valid, "attn")
        last = m.encode(emb, attention_mask=mask)
        self.check(last, enc["last_hidden_state"], 0.0, what + " encode plain")
        for mode, name, norm in [("mean", "pooled_mean", False), ("max", "pooled_max", False),
                                 ("cls", "pooled_cls", False), ("mean", "pooled_mean_normalized", True),
                                 ("pooler", "pooler_output", False)]:
            if name in outs:
                self.check(m.pool(last, attention_mask=mask, mode=mode, normalize=norm),
                           load(case, outs[name]), atol, what + " pool " + name)
        if ids is not None:
            fwd = m.forward(ids, attention_mask=mask, token_type_ids=types, position_ids=positions,
                            output_hidden_states=True)
        else:
            fwd = m.forward_from_embeds(embeds, attention_mask=mask, token_type_ids=types,
                                        position_ids=positions, output_hidden_states=True)
        self.check(fwd["last_hidden_state"], load(case, outs["last_hidden_state"]), atol,
                   what + " forward", valid)
        self.check(fwd["hidden_states"][0], load(case, outs["hidden_states_0"]), atol,
                   what + " forward hidden_states_0")
        if "pooler_output" in outs and "pooler_output" in fwd:
            self.check(fwd["pooler_output"], load(case, outs["pooler_output"]), atol,
                       what + " forward pooler")

    def test_lookup_edit_continue(self):
        for name in ["tiny", "small"]:
            case = [c for c in manifest()["cases"] if c["model"] == name and c["case"] == "edit_embeds"][0]
            m = model(name)
            src = load(case, "source_input_ids.npy")
            given = load(case, case["inputs"]["inputs_embeds"])
            mask = load(case, case["inputs"]["attention_mask"])
            types = load(case, case["inputs"]["token_type_ids"])
            looked = m.lookup(src)
            # the case's vectors are lookup * 1.5 + small noise
            self.assertLess(float(np.abs(looked * 1.5 - given).max()), 0.1)
            emb = m.embed(given, token_type_ids=types)
            last = m.encode(emb, attention_mask=mask)
            self.check(last, load(case, "last_hidden_state.npy"), case["atol"], "edit", mask)
            pooled = m.pool(last, attention_mask=mask, mode="mean", normalize=True)
            self.check(pooled, load(case, "pooled_mean_normalized.npy"), case["atol"], "edit pool")


class ApiTest(unittest.TestCase):
    def setUp(self):
        self.m = model("tiny")
        self.case = [c for c in manifest()["cases"]
                     if c["model"] == "tiny" and c["case"] == "padded_batch_types"][0]
        self.ids = load(self.case, "input_ids.npy")
        self.mask = load(self.case, "attention_mask.npy")

    def test_properties(self):
        m = self.m
        self.assertEqual(m.hidden_size, 32)
        self.assertEqual(m.num_layers, 2)
        self.assertEqual(m.vocab_size, 120)
        self.assertEqual(m.max_length, 64)
        self.assertEqual(m.config["num_attention_heads"], 2)
        self.assertIn(m.config["default_pool"], ["cls", "mean", "max", "pooler"])
        self.assertTrue(bertrt.__version__)

    def test_id_dtypes(self):
        want = self.m.lookup(self.ids)
        for dt in [np.int32, np.int16, np.uint16, np.uint32, np.int64, np.uint64]:
            got = self.m.lookup(self.ids.astype(dt))
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(self.m.lookup(self.ids.tolist()), want)
        np.testing.assert_array_equal(self.m.lookup(np.asfortranarray(self.ids)), want)
        one = self.m.lookup(self.ids[0])  # 1-D ids: a batch of one
        np.testing.assert_array_equal(one, want[:1])
        with self.assertRaises(TypeError):
            self.m.lookup(self.ids.astype(np.float32))

    def test_vector_dtypes(self):
        emb = self.m.lookup(self.ids)
        want = self.m.encode(emb, attention_mask=self.mask)
        got64 = self.m.encode(emb.astype(np.float64), attention_mask=self.mask.astype(np.int32))
        self.assertEqual(got64.dtype, np.float32)
        np.testing.assert_array_equal(got64, want)
        got16 = self.m.encode(emb.astype(np.float16), attention_mask=self.mask.astype(bool))
        self.assertLess(float(np.abs(got16 - want)[self.mask.astype(bool)].max()), 0.1)
        strided = np.repeat(emb, 2, axis=0)[::2]
        self.assertFalse(strided.flags["C_CONTIGUOUS"])
        np.testing.assert_array_equal(self.m.encode(strided, attention_mask=self.mask), want)
        two_d = self.m.encode(emb[0])  # [T, H]: a batch of one
        self.assertEqual(two_d.shape, (1,) + emb.shape[1:])
        with self.assertRaises(TypeError):
            self.m.encode(emb.astype(np.int32))

    def test_errors(self):
        m = self.m
        bad = self.ids.copy()
        bad[0, 0] = m.vocab_size
        with self.assertRaises(ValueError) as cm:
            m.lookup(bad)
        self.assertEqual(cm.exception.status, "BERTRT_ERROR_TOKEN_ID")
        with self.assertRaises(ValueError):
            m.forward(np.full((1, m.max_length + 1), 101))  # too long
        emb = m.lookup(self.ids)
        with self.assertRaises(ValueError):
            m.encode(emb[:, :, :5])  # wrong H
        with self.assertRaises(ValueError):
            m.encode(emb, attention_mask=self.mask[:, :3])
        with self.assertRaises(ValueError):
            m.embed(emb, token_type_ids=np.full(self.ids.shape, 7))
        with self.assertRaises(ValueError):
            m.embed(emb, position_ids=np.full(self.ids.shape, 1000))
        nan = emb.copy()
        nan[0, 0, 0] = np.nan
        with self.assertRaises(ValueError) as cm:
            m.embed(nan)
        self.assertEqual(cm.exception.status, "BERTRT_ERROR_NON_FINITE")
        with self.assertRaises(ValueError):
            m.encode(emb, attention_mask=self.mask * 2)
        with self.assertRaises(ValueError):
            m.pool(emb, mode="median")
        with self.assertRaises(ValueError):
            m.lookup(np.zeros((1, 0), np.int64))
        with self.assertRaises(bertrt.Error) as cm:
            bertrt.Model(os.path.join(_tmp, "missing.bertrt"))
        self.assertIn("missing.bertrt", str(cm.exception))
        junk = os.path.join(_tmp, "junk.bertrt")
        with open(junk, "wb") as f:
            f.write(b"not a model file at all" * 10)
        with self.assertRaises(bertrt.Error):
            bertrt.Model(junk)
        with self.assertRaises(bertrt.Error):
            bertrt.convert(os.path.join(_tmp, "no-such-dir"), os.path.join(_tmp, "x.bertrt"))
        self.assertTrue(issubclass(bertrt.Error, RuntimeError))

    def test_threads(self):
        m = bertrt.Model(model_path("small"), threads=1)
        rng = np.random.default_rng(0)
        batches = [rng.integers(0, m.vocab_size, size=(2, 16)) for _ in range(6)]
        want = [m.forward(b)["last_hidden_state"] for b in batches]
        results = {}
        errors = []

        def work(k):
            try:
                for rep in range(5):
                    for i, b in enumerate(batches):
                        results[(k, rep, i)] = m.forward(b)["last_hidden_state"]
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for (k, rep, i), got in results.items():
            np.testing.assert_array_equal(got, want[i])
        self.assertGreaterEqual(m._pooled_sessions(), 2)

    def test_tokenize(self):
        m = self.m
        case = [c for c in manifest()["cases"] if c["model"] == "tiny" and c["case"] == "single"][0]
        ids = load(case, "input_ids.npy")
        enc = m.tokenize("Hello, my dog is cute")
        np.testing.assert_array_equal(enc["input_ids"], ids)
        self.assertEqual(enc["input_ids"].dtype, np.int64)
        np.testing.assert_array_equal(enc["attention_mask"], np.ones_like(ids))
        batch = m.tokenize(["hello", "Hello, my dog is cute"])
        self.assertEqual(batch["input_ids"].shape, (2, 8))
        self.assertEqual(batch["attention_mask"][0].tolist(), [1, 1, 1, 0, 0, 0, 0, 0])
        self.assertEqual(batch["input_ids"][0, 3], 0)  # [PAD]
        pair = m.tokenize(["my dog"], pairs=["is cute"])
        self.assertEqual(pair["token_type_ids"][0].tolist(), [0, 0, 0, 0, 1, 1, 1])
        trunc = m.tokenize("Hello, my dog is cute", max_length=5)
        self.assertEqual(trunc["input_ids"].shape, (1, 5))
        padded = m.tokenize("hello", max_length=10, padding="max_length")
        self.assertEqual(padded["input_ids"].shape, (1, 10))
        lists = m.tokenize(["hello", "my dog"], padding=False)
        self.assertEqual([len(x) for x in lists["input_ids"]], [3, 4])
        with self.assertRaises(ValueError):
            m.tokenize("hello", truncation="sideways")

    def test_tokenize_offsets_non_ascii(self):
        m = self.m
        text = "héllo, my dög"
        enc = m.tokenize(text)
        offs = enc["offsets"][0]
        ids = enc["input_ids"][0]
        self.assertEqual(offs.shape, (len(ids), 2))
        self.assertEqual(offs[0].tolist(), [0, 0])  # [CLS]
        self.assertEqual(offs[-1].tolist(), [0, 0])  # [SEP]
        spans = [text[a:b] for a, b in offs[1:-1].tolist()]
        # code-point offsets: slicing the Python str gives back each token's text
        self.assertEqual(spans[0], "héllo")
        self.assertEqual(spans[1], ",")
        self.assertEqual(spans[-1], "dög")
        for a, b in offs[1:-1].tolist():
            self.assertTrue(0 <= a < b <= len(text))
        pair = m.tokenize("ü", pairs="hello wörld")
        seq = pair["offsets"][0].tolist()
        self.assertEqual(seq[1], [0, 1])
        self.assertEqual(seq[-2], [6, 11])

    def test_encode_texts(self):
        m = model("small")
        texts = ["hello", "Hello, my dog is cute", "the cat", "a dog is a dog is a dog", "cute", "my cat is cute!"]
        got = m.encode_texts(texts, batch_size=2)
        self.assertEqual(got.shape, (len(texts), m.hidden_size))
        self.assertEqual(got.dtype, np.float32)
        mode = m.config["default_pool"]
        norm = m.config["default_normalize"]
        for i, t in enumerate(texts):
            enc = m.tokenize(t)
            last = m.forward(enc["input_ids"], attention_mask=enc["attention_mask"])["last_hidden_state"]
            want = m.pool(last, attention_mask=enc["attention_mask"], mode=mode, normalize=norm)[0]
            self.assertLess(float(np.abs(got[i] - want).max()), 1e-4)
        cls = m.encode_texts(texts, pooling="cls", normalize=True, batch_size=4)
        np.testing.assert_allclose(np.linalg.norm(cls, axis=1), 1.0, atol=1e-5)
        self.assertEqual(m.encode_texts([], batch_size=3).shape, (0, m.hidden_size))
        short = m.encode_texts(texts, max_length=3)
        self.assertEqual(short.shape, got.shape)


@unittest.skipUnless(CLI and os.path.exists(CLI), "BERTRT_CLI not set")
class CliEmbedTest(unittest.TestCase):
    def test_corpus_npy_and_jsonl(self):
        path = model_path("small")
        m = model("small")
        texts = ["hello %d %s" % (i, "my dog is cute " * (i % 5)) for i in range(23)]
        corpus = os.path.join(_tmp, "corpus.txt")
        with open(corpus, "w") as f:
            f.write("\n".join(texts) + "\n")
        out = os.path.join(_tmp, "corpus.npy")
        subprocess.run([CLI, "embed", path, "--input", corpus, "--output", out, "--batch-size", "4",
                        "--chunk-size", "7"], check=True, capture_output=True)
        got = np.load(out)
        want = m.encode_texts(texts)
        self.assertEqual(got.shape, want.shape)
        self.assertLess(float(np.abs(got - want).max()), 1e-4)

        jl = os.path.join(_tmp, "corpus.jsonl")
        with open(jl, "w") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        out_jl = os.path.join(_tmp, "emb.jsonl")
        r = subprocess.run([CLI, "embed", path, "--input", jl, "--output", out_jl, "--pool", "cls", "--normalize"],
                           check=True, capture_output=True, text=True)
        self.assertIn("23", r.stderr)
        with open(out_jl) as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual([r["i"] for r in rows], list(range(len(texts))))
        want = m.encode_texts(texts, pooling="cls", normalize=True)
        self.assertLess(float(np.abs(np.array([r["embedding"] for r in rows]) - want).max()), 1e-4)

    def test_texts_on_command_line(self):
        path = model_path("small")
        m = model("small")
        r = subprocess.run([CLI, "embed", path, "hello", "my dog is cute"], check=True, capture_output=True,
                           text=True)
        vecs = json.loads(r.stdout) if r.stdout.lstrip().startswith("[") and r.stdout.count("\n") <= 1 else \
            [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        got = np.array([v["embedding"] if isinstance(v, dict) else v for v in vecs])
        want = m.encode_texts(["hello", "my dog is cute"])
        self.assertLess(float(np.abs(got - want).max()), 1e-4)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Tests of the bertrt Python module against the golden fixtures (tests/data/fixtures).

Run: PYTHONPATH=BUILDDIR/python BERTRT_FIXTURES=tests/data/fixtures python3 -m pytest -q test_bertrt.py
(or `python3 test_bertrt.py`: the classes are unittest classes). BERTRT_CLI=BUILDDIR/tools/bertrt adds
the `bertrt embed` checks; BERTRT_TOKENIZER_CASES / BERTRT_VOCABS default to tests/data/.
"""
import json
import os
import struct
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
DATA = os.path.join(HERE, "..", "..", "tests", "data")
TOKENIZER_CASES = os.environ.get("BERTRT_TOKENIZER_CASES", os.path.join(DATA, "tokenizer-cases"))
VOCABS = os.environ.get("BERTRT_VOCABS", os.path.join(DATA, "vocab"))

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


def write_safetensors(path, tensors):
    """A float32 safetensors file (8-byte header length, JSON header padded to 8 bytes, data)."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make_hf_model(out_dir, vocab_path, hidden=8, layers=1, heads=2, intermediate=16, positions=512,
                  do_lower_case=True, seed=0):
    """A Hugging Face BertModel directory with small random weights and the given vocabulary."""
    os.makedirs(out_dir, exist_ok=True)
    with open(vocab_path, "rb") as f:
        data = f.read()
    vocab_size = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    shutil.copy(vocab_path, os.path.join(out_dir, "vocab.txt"))
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": hidden,
              "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": intermediate,
              "max_position_embeddings": positions, "type_vocab_size": 2, "vocab_size": vocab_size,
              "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": do_lower_case, "tokenize_chinese_chars": True, "strip_accents": None}, f)
    rng = np.random.default_rng(seed)
    w = lambda *shape: rng.normal(0.0, 0.02, size=shape).astype(np.float32)
    t = {"embeddings.word_embeddings.weight": w(vocab_size, hidden),
         "embeddings.position_embeddings.weight": w(positions, hidden),
         "embeddings.token_type_embeddings.weight": w(2, hidden),
         "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
         "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
         "pooler.dense.weight": w(hidden, hidden), "pooler.dense.bias": w(hidden)}
    for i in range(layers):
        p = "encoder.layer.%d." % i
        for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            t[p + n + ".weight"] = w(hidden, hidden)
            t[p + n + ".bias"] = w(hidden)
        t[p + "intermediate.dense.weight"] = w(intermediate, hidden)
        t[p + "intermediate.dense.bias"] = w(intermediate)
        t[p + "output.dense.weight"] = w(hidden, intermediate)
        t[p + "output.dense.bias"] = w(hidden)
        for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
            t[p + n + ".weight"] = np.ones(hidden, np.float32)
            t[p + n + ".bias"] = np.zeros(hidden, np.float32)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), t)
    return out_dir


def run_threads(work, n=4):
    """Runs work(k) on n threads, released together by a barrier; returns the exceptions they raised."""
    errors = []
    start = threading.Barrier(n)

    def guarded(k):
        try:
            start.wait()
            work(k)
        except Exception as e:  # reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


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
        runs = [("forward_from_embeds", m.forward_from_embeds(embeds, attention_mask=mask, token_type_ids=types,
                                                               position_ids=positions, output_hidden_states=True))]
        if ids is not None:
            runs.append(("forward", m.forward(ids, attention_mask=mask, token_type_ids=types, position_ids=positions,
                                              output_hidden_states=True)))
        for label, fwd in runs:
            self.check(fwd["last_hidden_state"], load(case, outs["last_hidden_state"]), atol,
                       what + " " + label, valid)
            self.assertEqual(len(fwd["hidden_states"]), L + 1)
            for i in range(L + 1):
                self.check(fwd["hidden_states"][i], load(case, outs["hidden_states_%d" % i]), atol,
                           what + " %s hidden_states_%d" % (label, i), valid if i else None)
            if "pooler_output" in outs and "pooler_output" in fwd:
                self.check(fwd["pooler_output"], load(case, outs["pooler_output"]), atol,
                           what + " " + label + " pooler")

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

        def work(k):
            for rep in range(5):
                for i, b in enumerate(batches):
                    results[(k, rep, i)] = m.forward(b)["last_hidden_state"]

        # Two sessions in the pool show that two forwards ran at the same time (the GIL is released
        # while computing). Whether calls overlap is up to the OS scheduler, so a few attempts.
        for _ in range(20):
            self.assertEqual(run_threads(work), [])
            for (k, rep, i), got in results.items():
                np.testing.assert_array_equal(got, want[i])
            if m._pooled_sessions() >= 2:
                break
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
        want = per_text_vectors(m, texts)
        self.assertLessEqual(float(np.abs(got - want).max()), 1e-5)
        cls = m.encode_texts(texts, pooling="cls", normalize=True, batch_size=4)
        np.testing.assert_allclose(np.linalg.norm(cls, axis=1), 1.0, atol=1e-5)
        self.assertEqual(m.encode_texts([], batch_size=3).shape, (0, m.hidden_size))
        short = m.encode_texts(texts, max_length=3)
        self.assertEqual(short.shape, got.shape)


def mixed_texts(n, seed=1):
    """n texts of mixed lengths (1 to ~60 tokens) in a shuffled order, from the fixture vocabulary."""
    rng = np.random.default_rng(seed)
    words = ["hello", "my", "dog", "is", "cute", "the", "a", "cat", ",", ".", "!", "?", "Hello", "dogs", "cats"]
    lengths = rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55], size=n)
    return [" ".join(rng.choice(words, size=k)) for k in lengths]


def per_text_vectors(m, texts, pooling=None, normalize=None, max_length=None):
    """One forward + pool per text (batch of one, no padding): what batched embedding must equal."""
    mode = pooling or m.config["default_pool"]
    norm = m.config["default_normalize"] if normalize is None else normalize
    rows = []
    for t in texts:
        enc = m.tokenize(t, max_length=max_length)
        last = m.forward(enc["input_ids"], attention_mask=enc["attention_mask"])["last_hidden_state"]
        rows.append(m.pool(last, attention_mask=enc["attention_mask"], mode=mode, normalize=norm)[0])
    return np.array(rows, dtype=np.float32).reshape(len(texts), m.hidden_size)


class BatchingTest(unittest.TestCase):
    """encode_texts sorts by length and batches; the result must not depend on either."""

    def test_batch_sizes_mixed_lengths(self):
        m = model("small")
        texts = mixed_texts(70)
        want = per_text_vectors(m, texts)
        for bs in [1, 3, 32]:
            for padded in [False, True]:
                with self.subTest(batch_size=bs, padded=padded):
                    got = m.encode_texts(texts, batch_size=bs, padded=padded)
                    self.assertEqual(got.shape, want.shape)
                    diff = float(np.abs(got - want).max())
                    self.assertLessEqual(diff, 1e-5, "batch_size %d: max diff %g" % (bs, diff))
        for tokens in [1, 50, 2048]:  # packed batches by token budget only (1: every text alone)
            with self.subTest(max_batch_tokens=tokens):
                got = m.encode_texts(texts, max_batch_tokens=tokens)
                self.assertLessEqual(float(np.abs(got - want).max()), 1e-5)
        with self.assertRaises(Exception):
            m.encode_texts(texts, max_batch_tokens=0)
        for mode in ["cls", "max", "pooler"]:
            with self.subTest(pooling=mode):
                got = m.encode_texts(texts, batch_size=32, pooling=mode, normalize=True)
                want_mode = per_text_vectors(m, texts, pooling=mode, normalize=True)
                self.assertLessEqual(float(np.abs(got - want_mode).max()), 1e-5)

    def test_order_is_input_order(self):
        m = model("small")
        texts = mixed_texts(40, seed=7)
        got = m.encode_texts(texts, batch_size=8)
        perm = np.random.default_rng(3).permutation(len(texts))
        shuffled = m.encode_texts([texts[i] for i in perm], batch_size=8)
        np.testing.assert_allclose(shuffled, got[perm], atol=1e-5, rtol=0)

    def test_truncation(self):
        m = model("small")
        texts = mixed_texts(20, seed=5)
        got = m.encode_texts(texts, batch_size=3, max_length=10)
        want = per_text_vectors(m, texts, max_length=10)
        self.assertLessEqual(float(np.abs(got - want).max()), 1e-5)


class PackedTest(unittest.TestCase):
    """forward_packed / encode_packed / pool_packed: sequences back to back, no padding."""

    def test_rows_equal_each_sequence_alone(self):
        m = model("small")
        rng = np.random.default_rng()
        lengths = [1, 70] + list(rng.integers(1, 71, size=6))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = rng.integers(1, m.config["vocab_size"], size=int(offsets[-1]))
        types = rng.integers(0, 2, size=ids.shape)
        out = m.forward_packed(ids, offsets, token_type_ids=types, output_hidden_states=True)
        last = out["last_hidden_state"]
        self.assertEqual(last.shape, (len(ids), m.hidden_size))
        self.assertEqual(out["hidden_states"].shape[1:], (len(ids), m.hidden_size))
        for b, (s, e) in enumerate(zip(offsets[:-1], offsets[1:])):
            one = m.forward(ids[s:e][None], token_type_ids=types[s:e][None])
            self.assertLessEqual(float(np.abs(last[s:e] - one["last_hidden_state"][0]).max()), 1e-5)
            self.assertLessEqual(float(np.abs(out["pooler_output"][b] - one["pooler_output"][0]).max()), 1e-5)
        hidden = out["hidden_states"][0]
        again = m.encode_packed(hidden, offsets)
        self.assertLessEqual(float(np.abs(again - last).max()), 1e-6)
        pooled = m.pool_packed(last, offsets, mode="mean", normalize=True)
        for b, (s, e) in enumerate(zip(offsets[:-1], offsets[1:])):
            want = m.pool(last[s:e][None], mode="mean", normalize=True)[0]
            self.assertLessEqual(float(np.abs(pooled[b] - want).max()), 1e-6)

    def test_bad_offsets(self):
        m = model("small")
        ids = np.arange(1, 11)
        for offsets in ([0, 5, 5, 10], [1, 10], [0, 11], [0, 6, 4, 10]):
            with self.subTest(offsets=offsets):
                with self.assertRaises(Exception):
                    m.forward_packed(ids, np.array(offsets))
        with self.assertRaises(Exception):
            m.forward_packed(ids, np.array([10]))
        with self.assertRaises(TypeError):
            m.forward_packed(ids, np.array([0.0, 10.0]))


class ThreadsFixtureTest(unittest.TestCase):
    def test_four_threads_fixture_cases(self):
        """Four threads on one Model, every stage, give the single-thread results bit for bit."""
        m = bertrt.Model(model_path("small"))
        cases = [c for c in manifest()["cases"] if c["model"] == "small" and "input_ids" in c["inputs"]]

        def run(case):
            ins = {k: load(case, v) for k, v in case["inputs"].items()}
            mask = ins.get("attention_mask")
            fwd = m.forward(ins["input_ids"], attention_mask=mask, token_type_ids=ins.get("token_type_ids"),
                            position_ids=ins.get("position_ids"), output_hidden_states=True)
            pooled = m.pool(fwd["last_hidden_state"], attention_mask=mask, mode="mean", normalize=True)
            return [fwd["last_hidden_state"], fwd["hidden_states"][0], pooled]

        want = [run(c) for c in cases]
        texts = mixed_texts(30, seed=11)
        want_texts = m.encode_texts(texts, batch_size=4)
        results = {}

        def work(k):
            for rep in range(3):
                for i, c in enumerate(cases):
                    results[(k, rep, i)] = run(c)
                results[(k, rep, "texts")] = m.encode_texts(texts, batch_size=4)

        self.assertEqual(run_threads(work), [])
        self.assertEqual(len(results), 4 * 3 * (len(cases) + 1))
        for (k, rep, i), got in results.items():
            if i == "texts":
                np.testing.assert_array_equal(got, want_texts)
            else:
                for g, w in zip(got, want[i]):
                    np.testing.assert_array_equal(g, w)


class InputFormsTest(unittest.TestCase):
    """Non-contiguous and float64 inputs give the results of contiguous float32 ones."""

    def setUp(self):
        self.m = model("tiny")
        self.case = [c for c in manifest()["cases"]
                     if c["model"] == "tiny" and c["case"] == "padded_batch_types"][0]
        self.ids = load(self.case, "input_ids.npy")
        self.mask = load(self.case, "attention_mask.npy")
        self.types = load(self.case, "token_type_ids.npy")

    @staticmethod
    def strided(a):
        """The same values, not C-contiguous (every other element of a doubled last axis)."""
        b = np.repeat(a, 2, axis=-1)[..., ::2]
        assert not b.flags["C_CONTIGUOUS"]
        np.testing.assert_array_equal(b, a)
        return b

    def test_every_stage(self):
        m, ids, mask, types = self.m, self.ids, self.mask, self.types
        embeds = m.lookup(ids)
        np.testing.assert_array_equal(m.lookup(self.strided(ids)), embeds)
        emb = m.embed(embeds, token_type_ids=types)
        for form in [embeds.astype(np.float64), self.strided(embeds), np.asfortranarray(embeds)]:
            np.testing.assert_array_equal(m.embed(form, token_type_ids=self.strided(types)), emb)
        last = m.encode(emb, attention_mask=mask)
        for form in [emb.astype(np.float64), self.strided(emb)]:
            np.testing.assert_array_equal(m.encode(form, attention_mask=self.strided(mask)), last)
        for mode in ["cls", "mean", "max", "pooler"]:
            pooled = m.pool(last, attention_mask=mask, mode=mode)
            for form in [last.astype(np.float64), self.strided(last)]:
                np.testing.assert_array_equal(m.pool(form, attention_mask=mask, mode=mode), pooled)
        fwd = m.forward(ids, attention_mask=mask, token_type_ids=types)["last_hidden_state"]
        np.testing.assert_array_equal(
            m.forward(self.strided(ids), attention_mask=self.strided(mask), token_type_ids=self.strided(types))[
                "last_hidden_state"], fwd)
        ffe = m.forward_from_embeds(embeds, attention_mask=mask, token_type_ids=types)["last_hidden_state"]
        np.testing.assert_array_equal(ffe, fwd)
        for form in [embeds.astype(np.float64), self.strided(embeds)]:
            np.testing.assert_array_equal(
                m.forward_from_embeds(form, attention_mask=mask, token_type_ids=types)["last_hidden_state"], ffe)


class BadInputTest(unittest.TestCase):
    """Every bad input raises ValueError (or bertrt.Error for files) naming what is wrong."""

    def setUp(self):
        self.m = model("tiny")
        self.ids = np.array([[101, 5, 6, 7, 102], [101, 8, 9, 102, 0]], np.int64)
        self.mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], np.int64)
        self.embeds = self.m.lookup(self.ids)

    def raises(self, status, words, fn, *args, **kwargs):
        with self.assertRaises(ValueError) as cm:
            fn(*args, **kwargs)
        message = str(cm.exception)
        self.assertEqual(getattr(cm.exception, "status", None), status, message)
        self.assertTrue(message.strip(), "empty message")
        for w in words:
            self.assertIn(w, message.lower())
        return message

    def test_ids(self):
        m = self.m
        for bad_value in [m.vocab_size, -1, 10 ** 9]:
            bad = self.ids.copy()
            bad[1, 2] = bad_value
            for fn in [m.lookup, m.forward]:
                self.raises("BERTRT_ERROR_TOKEN_ID", [str(bad_value)], fn, bad)

    def test_token_types(self):
        m = self.m
        for v in [2, -1]:
            types = np.zeros_like(self.ids)
            types[0, 1] = v
            self.raises("BERTRT_ERROR_TOKEN_TYPE", [], m.embed, self.embeds, token_type_ids=types)
            self.raises("BERTRT_ERROR_TOKEN_TYPE", [], m.forward, self.ids, token_type_ids=types)
            self.raises("BERTRT_ERROR_TOKEN_TYPE", [], m.forward_from_embeds, self.embeds, token_type_ids=types)

    def test_positions(self):
        m = self.m
        for v in [m.max_length, -1]:
            pos = np.tile(np.arange(self.ids.shape[1]), (2, 1))
            pos[1, 0] = v
            self.raises("BERTRT_ERROR_POSITION", [], m.embed, self.embeds, position_ids=pos)
            self.raises("BERTRT_ERROR_POSITION", [], m.forward, self.ids, position_ids=pos)

    def test_too_long(self):
        m = self.m
        T = m.max_length + 1
        ids = np.full((1, T), 101)
        self.raises("BERTRT_ERROR_SEQUENCE_TOO_LONG", [str(m.max_length)], m.forward, ids)
        vecs = np.zeros((1, T, m.hidden_size), np.float32)
        self.raises("BERTRT_ERROR_SEQUENCE_TOO_LONG", [str(m.max_length)], m.embed, vecs)
        self.raises("BERTRT_ERROR_SEQUENCE_TOO_LONG", [str(m.max_length)], m.forward_from_embeds, vecs)

    def test_empty(self):
        m = self.m
        for ids in [np.zeros((1, 0), np.int64), np.zeros((0, 4), np.int64)]:
            self.raises("BERTRT_ERROR_SHAPE", [], m.lookup, ids)
            self.raises("BERTRT_ERROR_SHAPE", [], m.forward, ids)
        for vecs in [np.zeros((1, 0, m.hidden_size), np.float32), np.zeros((0, 3, m.hidden_size), np.float32)]:
            self.raises("BERTRT_ERROR_SHAPE", [], m.embed, vecs)
            self.raises("BERTRT_ERROR_SHAPE", [], m.encode, vecs)
            self.raises("BERTRT_ERROR_SHAPE", [], m.pool, vecs)
            self.raises("BERTRT_ERROR_SHAPE", [], m.forward_from_embeds, vecs)

    def test_mismatched_shapes(self):
        m, e = self.m, self.embeds
        self.raises("BERTRT_ERROR_SHAPE", [], m.encode, e[:, :, :5])
        self.raises("BERTRT_ERROR_SHAPE", [], m.forward_from_embeds, e[:, :, :5])
        self.raises("BERTRT_ERROR_SHAPE", [], m.encode, e, attention_mask=self.mask[:, :3])
        self.raises("BERTRT_ERROR_SHAPE", [], m.pool, e, attention_mask=self.mask[:1])
        self.raises("BERTRT_ERROR_SHAPE", [], m.forward, self.ids, attention_mask=self.mask[:, :4])
        self.raises("BERTRT_ERROR_SHAPE", [], m.forward, self.ids, token_type_ids=np.zeros((3, 5), np.int64))
        self.raises("BERTRT_ERROR_SHAPE", [], m.embed, e, position_ids=np.zeros((2, 4), np.int64))
        self.raises("BERTRT_ERROR_SHAPE", [], m.lookup, np.zeros((1, 2, 3), np.int64))
        self.raises("BERTRT_ERROR_SHAPE", [], m.encode, np.zeros((m.hidden_size,), np.float32))

    def test_non_finite(self):
        m = self.m
        for v in [np.nan, np.inf, -np.inf]:
            bad = self.embeds.copy()
            bad[1, 3, 2] = v
            for fn in [m.embed, m.encode, m.forward_from_embeds]:
                self.raises("BERTRT_ERROR_NON_FINITE", [], fn, bad)

    def test_bad_utf8(self):
        m = self.m
        for text in [b"abc \xff def", b"\xc3", b"\xed\xa0\x80"]:
            self.raises("BERTRT_ERROR_INVALID_UTF8", [], m.tokenize, text)
            self.raises("BERTRT_ERROR_INVALID_UTF8", [], m.encode_texts, ["fine", text])

    def test_bad_mask_values(self):
        m = self.m
        for v in [2, -1]:
            mask = self.mask.copy()
            mask[0, 0] = v
            self.raises("BERTRT_ERROR_ATTENTION_MASK", [], m.encode, self.embeds, attention_mask=mask)
            self.raises("BERTRT_ERROR_ATTENTION_MASK", [], m.forward, self.ids, attention_mask=mask)
            self.raises("BERTRT_ERROR_ATTENTION_MASK", [], m.pool, self.embeds, attention_mask=mask)

    def test_bad_options(self):
        m = self.m
        with self.assertRaises(ValueError):
            m.pool(self.embeds, mode="median")
        with self.assertRaises(ValueError):
            m.encode_texts(["a"], batch_size=0)
        with self.assertRaises(ValueError):
            m.tokenize("a", max_length=0)
        with self.assertRaises(TypeError):
            m.tokenize(3)


class TokenizerCasesTest(unittest.TestCase):
    """The tokenizer conformance cases of bert-base-uncased through Model.tokenize, on a converted
    model whose vocabulary is bert-base-uncased's (random weights: only the tokenizer matters)."""

    def test_bert_base_uncased_cases(self):
        cases_path = os.path.join(TOKENIZER_CASES, "bert-base-uncased.jsonl")
        vocab = os.path.join(VOCABS, "bert-base-uncased", "vocab.txt")
        if not (os.path.exists(cases_path) and os.path.exists(vocab)):
            self.skipTest("tokenizer cases not found")
        hf = make_hf_model(os.path.join(_tmp, "uncased-hf"), vocab)
        out = os.path.join(_tmp, "uncased.bertrt")
        bertrt.convert(hf, out)
        m = bertrt.Model(out)
        self.assertEqual(m.vocab_size, 30522)
        with open(cases_path, encoding="utf-8") as f:
            cases = [json.loads(line) for line in f if line.strip()]
        self.assertGreater(len(cases), 50)
        for n, c in enumerate(cases):
            with self.subTest(n=n, text=c["text"][:40]):
                kwargs = {"padding": False}
                if "max_length" in c:
                    kwargs["max_length"] = c["max_length"]
                    kwargs["truncation"] = c.get("truncation", "longest_first")
                else:
                    kwargs["truncation"] = None
                pairs = [c["text_pair"]] if "text_pair" in c else None
                enc = m.tokenize([c["text"]], pairs=pairs, **kwargs)
                self.assertEqual(enc["input_ids"][0].tolist(), c["ids"])
                self.assertEqual(enc["token_type_ids"][0].tolist(), c["token_type_ids"])
        # the embeddings of a tokenized case run end to end
        enc = m.tokenize(cases[0]["text"])
        self.assertEqual(m.forward(enc["input_ids"])["last_hidden_state"].shape, (1, len(cases[0]["ids"]), 8))


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
        self.assertLessEqual(float(np.abs(got - want).max()), 1e-5)

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
        self.assertLessEqual(float(np.abs(np.array([r["embedding"] for r in rows]) - want).max()), 1e-5)

    def embed_file(self, texts, *extra):
        corpus = os.path.join(_tmp, "mixed.txt")
        with open(corpus, "w") as f:
            f.write("\n".join(texts) + "\n")
        out = os.path.join(_tmp, "mixed.npy")
        r = subprocess.run([CLI, "embed", model_path("small"), "--input", corpus, "--output", out] + list(extra),
                           check=True, capture_output=True, text=True)
        return np.load(out), r

    def test_batch_sizes_match_per_text_forward(self):
        m = model("small")
        texts = mixed_texts(70)
        want = per_text_vectors(m, texts)
        for bs in ["1", "3", "32"]:
            for chunk in ["5", "4096"]:
                with self.subTest(batch_size=bs, chunk_size=chunk):
                    got, _ = self.embed_file(texts, "--batch-size", bs, "--chunk-size", chunk)
                    self.assertEqual(got.shape, want.shape)
                    diff = float(np.abs(got - want).max())
                    self.assertLessEqual(diff, 1e-5, "batch size %s: max diff %g" % (bs, diff))

    def test_progress_report_quiet_and_truncation(self):
        m = model("small")
        texts = mixed_texts(30, seed=9)
        n_long = sum(1 for t in texts if len(m.tokenize(t, truncation=None)["input_ids"][0]) > 12)
        self.assertGreater(n_long, 0)
        got, r = self.embed_file(texts, "--batch-size", "4", "--max-length", "12", "--progress-every", "0")
        want = per_text_vectors(m, texts, max_length=12)
        self.assertLessEqual(float(np.abs(got - want).max()), 1e-5)
        self.assertEqual(got.shape[0], len(texts))  # truncated rows are kept
        lines = r.stderr.splitlines()
        progress = [line for line in lines if "/%d texts" % len(texts) in line]
        self.assertGreaterEqual(len(progress), 2, r.stderr)  # not a terminal: plain lines, no bar
        self.assertNotIn("\r", r.stderr)
        self.assertTrue(all("texts/s" in line and "ETA" in line for line in progress), r.stderr)
        self.assertIn("%d texts in" % len(texts), lines[-1])
        self.assertIn("texts/s", lines[-1])
        self.assertIn("%d truncated to 12 tokens" % n_long, lines[-1])
        _, q = self.embed_file(texts, "--quiet", "--progress-every", "0")
        self.assertEqual(q.stderr, "")
        _, d = self.embed_file(texts)  # default interval: a fast run prints only the final report
        self.assertEqual(len(d.stderr.splitlines()), 1, d.stderr)
        self.assertIn("0 truncated", d.stderr)

    def test_texts_on_command_line(self):
        path = model_path("small")
        m = model("small")
        r = subprocess.run([CLI, "embed", path, "hello", "my dog is cute"], check=True, capture_output=True,
                           text=True)
        vecs = json.loads(r.stdout) if r.stdout.lstrip().startswith("[") and r.stdout.count("\n") <= 1 else \
            [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        got = np.array([v["embedding"] if isinstance(v, dict) else v for v in vecs])
        want = per_text_vectors(m, ["hello", "my dog is cute"])
        self.assertLessEqual(float(np.abs(got - want).max()), 1e-5)


FAMILIES = os.path.join(DATA, "fixtures-families")


class FamiliesTest(unittest.TestCase):
    """RoBERTa and ELECTRA bodies (tests/data/fixtures-families): ELECTRA's lookup and embed are
    embedding_size wide, forward's hidden_states[0] is the projection to hidden_size; RoBERTa's
    positions from ids skip pad ids."""

    def _model(self, name):
        out = os.path.join(_tmp, "family-" + name + ".bertrt")
        if not os.path.exists(out):
            bertrt.convert(os.path.join(FAMILIES, "models", name), out)
        return bertrt.Model(out)

    def _check(self, name, case, family, width):
        m = self._model(name)
        self.assertEqual(m.config["family"], family)
        self.assertEqual(m.config["embedding_size"], width)
        d = os.path.join(FAMILIES, "cases", name, case)
        ids = np.load(os.path.join(d, "input_ids.npy"))
        mask = np.load(os.path.join(d, "attention_mask.npy"))
        types_path = os.path.join(d, "token_type_ids.npy")
        types = np.load(types_path) if os.path.exists(types_path) else None
        positions = np.ascontiguousarray(np.load(os.path.join(d, "derived_position_ids.npy")))
        embeds = m.lookup(ids)
        self.assertEqual(embeds.shape, ids.shape + (width,))
        np.testing.assert_allclose(embeds, np.load(os.path.join(d, "inputs_embeds.npy")), atol=1e-4)
        emb = m.embed(embeds, token_type_ids=types, position_ids=positions)
        np.testing.assert_allclose(emb, np.load(os.path.join(d, "embedding_output.npy")), atol=1e-4)
        valid = mask.astype(bool)
        for out in (m.forward(ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True),
                    m.forward_from_embeds(embeds, attention_mask=mask, token_type_ids=types,
                                          position_ids=positions, output_hidden_states=True)):
            np.testing.assert_allclose(out["hidden_states"][0], np.load(os.path.join(d, "hidden_states_0.npy")),
                                       atol=1e-4)
            last = np.load(os.path.join(d, "last_hidden_state.npy"))
            np.testing.assert_allclose(out["last_hidden_state"][valid], last[valid], atol=1e-4)

    def test_electra(self):
        self._check("electra-tiny", "padded_batch", "electra", 16)

    def test_roberta_left_padded(self):
        self._check("roberta-tiny", "left_padded", "roberta", 32)
        self.assertEqual(self._model("roberta-tiny").max_length, 32)

    def test_electra_project(self):
        """project() is the step between embed and encode: ELECTRA's embeddings_project."""
        m = self._model("electra-tiny")
        cases = [c for c in json.load(open(os.path.join(FAMILIES, "cases.json")))["cases"]
                 if c["model"] == "electra-tiny"]
        self.assertGreaterEqual(len(cases), 5)
        for c in cases:
            d = os.path.join(FAMILIES, c["dir"])
            emb = np.load(os.path.join(d, c["outputs"]["embedding_output"]))
            got = m.project(emb)
            self.assertEqual(got.shape, emb.shape[:2] + (32,))
            np.testing.assert_allclose(got, np.load(os.path.join(d, c["outputs"]["hidden_states_0"])),
                                       atol=c["atol"], err_msg=c["case"])
        rng = np.random.default_rng()
        ids = rng.integers(0, m.vocab_size, size=(2, 6))
        staged = m.encode(m.project(m.embed(m.lookup(ids))))
        np.testing.assert_allclose(staged, m.forward(ids)["last_hidden_state"], atol=1e-5)
        with self.assertRaises(ValueError) as cm:
            m.project(rng.standard_normal((1, 3, 32)).astype(np.float32))
        self.assertIn("embedding_size is 16", str(cm.exception))
        bad = rng.standard_normal((2, 3, 16)).astype(np.float32)
        bad[1, 2, 5] = np.nan
        with self.assertRaises(ValueError) as cm:
            m.project(bad)
        self.assertEqual(cm.exception.status, "BERTRT_ERROR_NON_FINITE")

    def test_project_copies_without_projection(self):
        m = self._model("roberta-tiny")
        x = np.random.default_rng().standard_normal((2, 5, 32)).astype(np.float32)
        np.testing.assert_array_equal(m.project(x), x)


if __name__ == "__main__":
    unittest.main(verbosity=2)

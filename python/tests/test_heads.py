"""bertrt.Model's task-head methods on the family fixtures' head models (tests/data/fixtures-families):
head / head_at / forward's logits, classify, rerank, tag, fill_mask and encode_sparse, each checked
against the head's full logits computed here with numpy, and against the `bertrt` CLI's output."""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

import numpy as np

import bertrt

FAMILIES = os.environ.get("BERTRT_FAMILIES", os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data",
                                                          "fixtures-families"))
CLI = os.environ.get("BERTRT_CLI", "bertrt")
WORDS = ["hello", "my", "dog", "is", "cute", "the", "a", "cat", "cats", "b", "c", "d", "e", ",", "."]
TMP = tempfile.mkdtemp(prefix="bertrt-heads-")
_converted = {}


def converted(name, src=None, no_heads=False):
    key = (name, no_heads)
    if key not in _converted:
        out = os.path.join(TMP, name + ("-base" if no_heads else "") + ".bertrt")
        args = [CLI, "convert", src or os.path.join(FAMILIES, "models", name), "-o", out]
        subprocess.run(args + (["--no-heads"] if no_heads else []), check=True, capture_output=True)
        _converted[key] = out
    return _converted[key]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", name
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]).copy()
    return tensors


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def derived_model(name, edit_config, keep_labels=None, source="bert-tiny-cls", scale=1.0):
    """A fixture head model with its config edited, its classifier cut to keep_labels rows and its
    classifier weights multiplied by scale."""
    dst = os.path.join(TMP, name)
    if not os.path.isdir(dst):
        shutil.copytree(os.path.join(FAMILIES, "models", source), dst)
        cfg_path = os.path.join(dst, "config.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        tensors = read_safetensors(os.path.join(dst, "model.safetensors"))
        tensors["classifier.weight"] = tensors["classifier.weight"] * np.float32(scale)
        if keep_labels is not None:
            tensors["classifier.weight"] = tensors["classifier.weight"][:keep_labels]
            tensors["classifier.bias"] = tensors["classifier.bias"][:keep_labels]
            cfg["id2label"] = {str(i): "LABEL_%d" % i for i in range(keep_labels)}
            cfg["label2id"] = {"LABEL_%d" % i: i for i in range(keep_labels)}
        write_safetensors(os.path.join(dst, "model.safetensors"), tensors)
        edit_config(cfg)
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
    return converted(name, src=dst)


def cross_encoder():
    return derived_model("bert-tiny-rerank", lambda c: None, keep_labels=1)


def random_texts(rng, n, lo=2, hi=9):
    return [" ".join(rng.choice(WORDS, size=rng.integers(lo, hi))) for _ in range(n)]


def cli_json(*args):
    r = subprocess.run([CLI] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("bertrt %s failed: %s" % (" ".join(args), r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def full_logits(m, texts, pairs=None, truncation="longest_first"):
    enc = m.tokenize(texts, pairs=pairs, truncation=truncation)
    types = enc["token_type_ids"] if m.config["type_vocab_size"] >= 2 else None  # DistilBERT has none
    out = m.forward(enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=types)
    return enc, out["logits"].astype(np.float64)


def hf_simple_groups(tokens, text):
    """Hugging Face's aggregation_strategy="simple" grouping, written from its description."""
    def tag(label):
        if label.startswith("B-"):
            return "B", label[2:]
        if label.startswith("I-"):
            return "I", label[2:]
        return "I", label
    groups, current = [], []
    for t in tokens:
        if current:
            bi, kind = tag(t["label"])
            if kind != tag(current[-1]["label"])[1] or bi == "B":
                groups.append(current)
                current = []
        current.append(t)
    if current:
        groups.append(current)
    out = []
    for g in groups:
        kind = tag(g[0]["label"])[1]
        if kind == "O":
            continue
        out.append({"entity_group": kind, "score": float(np.mean([t["score"] for t in g])),
                    "word": text[g[0]["start"]:g[-1]["end"]], "start": g[0]["start"], "end": g[-1]["end"]})
    return out


class HeadTest(unittest.TestCase):
    def test_head_info_and_logits(self):
        rng = np.random.default_rng()
        for name, kind, width in [("bert-tiny-cls", "sequence", 3), ("bert-tiny-ner", "token", 5),
                                  ("bert-tiny-mlm", "masked_lm", 128), ("roberta-tiny-mlm", "masked_lm", 200)]:
            m = bertrt.Model(converted(name))
            info = m.head_info
            self.assertEqual(info["kind"], kind)
            self.assertEqual(info["logits_size"], width)
            ids = rng.integers(5, 100, size=(2, 7))
            out = m.forward(ids)
            logits = m.head(out["last_hidden_state"])
            np.testing.assert_allclose(out["logits"], logits, atol=1e-5)
            if kind != "sequence":
                positions = rng.integers(0, 14, size=5)
                at = m.head_at(out["last_hidden_state"], positions)
                np.testing.assert_allclose(at, logits.reshape(14, width)[positions], atol=1e-5)
        self.assertEqual(bertrt.Model(converted("bert-tiny-ner")).head_info["labels"],
                         ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
        base = bertrt.Model(converted("bert-tiny-cls", no_heads=True))
        self.assertEqual(base.head_info["kind"], "none")
        self.assertNotIn("logits", base.forward(np.array([[101, 110, 102]])))

    def test_classify_is_softmax_of_logits(self):
        rng = np.random.default_rng()
        path = converted("bert-tiny-cls")
        m = bertrt.Model(path)
        texts, pairs = random_texts(rng, 7), random_texts(rng, 7)
        for p in (None, pairs):
            r = m.classify(texts, pairs=p, batch_size=3)
            _, logits = full_logits(m, texts, pairs=p)
            np.testing.assert_allclose(r["logits"], logits, atol=1e-5)
            np.testing.assert_allclose(r["scores"], softmax(logits), atol=1e-6)
            np.testing.assert_allclose(r["scores"].sum(axis=1), 1.0, atol=1e-6)
            self.assertEqual(r["label"], [r["labels"][j] for j in logits.argmax(axis=1)])
            self.assertEqual(r["function"], "softmax")
        lines = cli_json("classify", path, *texts, "--batch-size", "2")
        r = m.classify(texts)
        for i, line in enumerate(lines):
            self.assertEqual(line["label"], r["label"][i])
            got = {d["label"]: d["score"] for d in line["labels"]}
            np.testing.assert_allclose([got[n] for n in r["labels"]], r["scores"][i], atol=1e-6)
            self.assertEqual([d["score"] for d in line["labels"]], sorted(got.values(), reverse=True))

    def test_classify_every_family_with_a_tokenizer(self):
        rng = np.random.default_rng()
        for name in ("distilbert-tiny-cls", "electra-tiny-cls"):
            m = bertrt.Model(converted(name))
            texts, pairs = random_texts(rng, 5), random_texts(rng, 5)
            r = m.classify(texts, pairs=pairs, batch_size=2)
            _, logits = full_logits(m, texts, pairs=pairs)
            np.testing.assert_allclose(r["logits"], logits, atol=1e-5, err_msg=name)
            np.testing.assert_allclose(r["scores"], softmax(logits), atol=1e-6, err_msg=name)

    def test_classify_multi_label_and_regression(self):
        rng = np.random.default_rng()
        texts = random_texts(rng, 4)
        m = bertrt.Model(derived_model("bert-tiny-multi", lambda c: c.update(problem_type="multi_label_classification")))
        r = m.classify(texts)
        self.assertEqual(r["function"], "sigmoid")
        np.testing.assert_allclose(r["scores"], 1 / (1 + np.exp(-r["logits"])), atol=1e-6)
        one = bertrt.Model(cross_encoder())
        r1 = one.classify(texts)
        self.assertEqual(r1["function"], "none")
        np.testing.assert_array_equal(r1["scores"], r1["logits"])
        # The one-label model is the 3-label one's first row.
        np.testing.assert_allclose(r1["logits"][:, 0], bertrt.Model(converted("bert-tiny-cls")).classify(texts)["logits"][:, 0],
                                   atol=1e-5)

    def test_rerank_orders_by_score(self):
        rng = np.random.default_rng()
        path = cross_encoder()
        m = bertrt.Model(path)
        query = " ".join(rng.choice(WORDS, size=4))
        docs = random_texts(rng, 9, 1, 12) + [" ".join(rng.choice(WORDS, size=60))]  # the last one is cut
        ranked = m.rerank(query, docs, batch_size=4)
        self.assertEqual(sorted(i for i, _ in ranked), list(range(len(docs))))
        scores = [s for _, s in ranked]
        self.assertEqual(scores, sorted(scores, reverse=True))
        _, logits = full_logits(m, [query] * len(docs), pairs=docs, truncation="only_second")
        by_index = dict(ranked)
        np.testing.assert_allclose([by_index[i] for i in range(len(docs))], logits[:, 0], atol=1e-5)
        sig = dict(m.rerank(query, docs, sigmoid=True))
        np.testing.assert_allclose([sig[i] for i in range(len(docs))], 1 / (1 + np.exp(-logits[:, 0])), atol=1e-6)
        self.assertEqual(len(m.rerank(query, docs, top_k=3)), 3)
        lines = cli_json("rerank", path, "--query", query, *docs, "--sigmoid", "--batch-size", "3")
        self.assertEqual([d["index"] for d in lines], [i for i, _ in m.rerank(query, docs, sigmoid=True)])
        np.testing.assert_allclose([d["score"] for d in lines], [sig[d["index"]] for d in lines], atol=1e-6)

    def test_tag_labels_and_entities(self):
        rng = np.random.default_rng()
        # The fixture's random head says O almost everywhere; scaled up, labels vary token to token.
        self.check_tag(rng, converted("bert-tiny-ner"))
        sharp = derived_model("bert-tiny-ner-sharp", lambda c: None, source="bert-tiny-ner", scale=40.0)
        self.assertGreater(sum(self.check_tag(rng, sharp) for _ in range(2)), 0)

    def check_tag(self, rng, path):
        m = bertrt.Model(path)
        texts = random_texts(rng, 5, 3, 14) + ["hello, my dog é is cute"]
        result = m.tag(texts, batch_size=2)
        labels = m.head_info["labels"]
        for text, r in zip(texts, result):
            enc, logits = full_logits(m, [text])
            probs = softmax(logits[0])
            kept = [t for t in range(enc["input_ids"].shape[1]) if enc["offsets"][0, t, 1] > 0]
            self.assertEqual(len(r["tokens"]), len(kept))
            for tok, t in zip(r["tokens"], kept):
                self.assertEqual(tok["label"], labels[int(probs[t].argmax())])
                self.assertAlmostEqual(tok["score"], float(probs[t].max()), delta=1e-6)
                self.assertEqual([tok["start"], tok["end"]], list(enc["offsets"][0, t]))
            want = hf_simple_groups(r["tokens"], text)
            self.assertEqual([(e["entity_group"], e["word"], e["start"], e["end"]) for e in r["entities"]],
                             [(e["entity_group"], e["word"], e["start"], e["end"]) for e in want])
            np.testing.assert_allclose([e["score"] for e in r["entities"]], [e["score"] for e in want], atol=1e-6)
        lines = cli_json("tag", path, *texts)
        for text, line, r in zip(texts, lines, result):
            self.assertEqual([e["word"] for e in line["entities"]], [e["word"] for e in r["entities"]])
            raw = text.encode()
            for tok in line["tokens"]:  # the CLI's offsets are bytes
                self.assertTrue(0 <= tok["start"] < tok["end"] <= len(raw))
        return sum(len(r["entities"]) for r in result)

    def test_fill_mask_is_top_k_of_logits(self):
        rng = np.random.default_rng()
        path = converted("bert-tiny-mlm")
        m = bertrt.Model(path)
        for _ in range(3):
            words = list(rng.choice(WORDS, size=6))
            words[rng.integers(0, 6)] = "[MASK]"
            words[rng.integers(0, 6)] = "[MASK]"
            text = " ".join(words)
            k = int(rng.integers(1, 8))
            got = m.fill_mask(text, top_k=k)
            enc, logits = full_logits(m, [text])
            where = np.flatnonzero(enc["input_ids"][0] == 103)
            self.assertEqual(len(got), len(where))
            for position, t in zip(got, where):
                probs = softmax(logits[0, t])
                order = np.argsort(-probs, kind="stable")[:k]
                self.assertEqual([c["token"] for c in position], list(order))
                np.testing.assert_allclose([c["score"] for c in position], probs[order], atol=1e-6)
            line = cli_json("fill-mask", path, text, "--top-k", str(k))[0]
            self.assertEqual([[c["token"] for c in p] for p in line["masks"]], [[c["token"] for c in p] for p in got])
        with open(os.path.join(FAMILIES, "models", "bert-tiny-mlm", "vocab.txt")) as f:
            vocab = f.read().split("\n")
        for c in m.fill_mask("the [MASK] is cute", top_k=10)[0]:
            self.assertEqual(c["token_str"], vocab[c["token"]])

    def test_encode_sparse_is_splade_of_logits(self):
        rng = np.random.default_rng()
        path = converted("bert-tiny-mlm")
        m = bertrt.Model(path)
        texts = random_texts(rng, 6, 1, 20)
        enc, logits = full_logits(m, texts)
        mask = enc["attention_mask"].astype(bool)
        w = np.log1p(np.maximum(logits, 0.0))
        w[~mask] = 0.0
        dense = w.max(axis=1)
        for top_k, threshold in [(None, 0.0), (5, 0.0), (None, 0.05)]:
            r = m.encode_sparse(texts, top_k=top_k, threshold=threshold, batch_size=4)
            self.assertEqual(r["shape"], (len(texts), 128))
            self.assertEqual(r["offsets"][0], 0)
            for i in range(len(texts)):
                a, b = r["offsets"][i], r["offsets"][i + 1]
                ids, vals = r["indices"][a:b], r["values"][a:b]
                kept = np.flatnonzero(dense[i] > threshold)
                kept = kept[np.lexsort((kept, -dense[i][kept]))]
                if top_k:
                    kept = kept[:top_k]
                self.assertEqual(list(ids), list(kept))
                np.testing.assert_allclose(vals, dense[i][kept], atol=1e-5)
        r = m.encode_sparse(texts, top_k=5)
        lines = cli_json("embed", path, "--sparse", "--top-k", "5", *texts)
        for i, line in enumerate(lines):
            self.assertEqual(line["ids"], list(r["indices"][r["offsets"][i]:r["offsets"][i + 1]]))
        corpus = os.path.join(TMP, "corpus.txt")
        with open(corpus, "w") as f:
            f.write("\n".join(texts) + "\n")
        out = os.path.join(TMP, "sparse-out")
        subprocess.run([CLI, "embed", path, "--sparse", "--top-k", "5", "--input", corpus, "--output", out],
                       check=True, capture_output=True)
        for key in ("indices", "values", "offsets"):
            np.testing.assert_allclose(np.load(os.path.join(out, key + ".npy")), r[key], atol=1e-6)

    def test_bad_input_is_a_clear_error(self):
        cls = bertrt.Model(converted("bert-tiny-cls"))
        mlm = bertrt.Model(converted("bert-tiny-mlm"))
        base = bertrt.Model(converted("bert-tiny-cls", no_heads=True))
        with self.assertRaisesRegex(ValueError, "masked_lm"):
            cls.fill_mask("the [MASK] dog")
        with self.assertRaisesRegex(ValueError, "sequence head"):
            mlm.classify(["the dog"])
        with self.assertRaisesRegex(ValueError, "one label"):
            cls.rerank("the dog", ["a cat"])
        with self.assertRaisesRegex(ValueError, "no mask token"):
            mlm.fill_mask("the dog is cute")
        with self.assertRaises(bertrt.Error) as e:
            base.tag(["the dog"])
        self.assertEqual(e.exception.status, "BERTRT_ERROR_NO_HEAD")
        with self.assertRaisesRegex(ValueError, "top_k"):
            mlm.encode_sparse(["a"], top_k=0)
        rng = np.random.default_rng()
        with self.assertRaisesRegex(ValueError, "last_hidden_state"):
            mlm.head(rng.standard_normal((1, 4, 64)).astype(np.float32))
        with self.assertRaisesRegex(ValueError, "attention_mask"):
            mlm.head(rng.standard_normal((2, 4, 32)).astype(np.float32), attention_mask=np.ones((2, 5), np.int64))
        with self.assertRaisesRegex(ValueError, "POSITION"):
            mlm.head_at(rng.standard_normal((2, 4, 32)).astype(np.float32), np.array([3, 8]))
        with self.assertRaises(bertrt.Error) as e:
            base.head(rng.standard_normal((1, 3, 32)).astype(np.float32))
        self.assertEqual(e.exception.status, "BERTRT_ERROR_NO_HEAD")
        with self.assertRaisesRegex(ValueError, "pairs"):
            cls.classify(["a", "b"], pairs=["c"])
        r = subprocess.run([CLI, "fill-mask", converted("bert-tiny-mlm"), "no mask here"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no mask token", r.stderr)


if __name__ == "__main__":
    unittest.main()


class HeadFixtureCaseTest(unittest.TestCase):
    """Every case of every head model in cases.json through Model.forward / forward_from_embeds:
    logits (and last_hidden_state) within the case's atol under the file's compare rule. meson runs
    this class once per BERTRT_ISA level as well."""

    def test_every_head_case(self):
        with open(os.path.join(FAMILIES, "cases.json")) as f:
            cases = [c for c in json.load(f)["cases"] if "logits" in c["outputs"]]
        self.assertGreater(len(cases), 20)
        for case in cases:
            d = os.path.join(FAMILIES, case["dir"])
            inputs = {k: np.load(os.path.join(d, v)) for k, v in case["inputs"].items()}
            m = bertrt.Model(converted(case["model"]))
            kwargs = {k: inputs.get(k) for k in ("attention_mask", "token_type_ids", "position_ids")}
            if "input_ids" in inputs:
                out = m.forward(inputs["input_ids"], **kwargs)
            else:
                out = m.forward_from_embeds(inputs["inputs_embeds"], **kwargs)
            for role in ("logits", "last_hidden_state"):
                file = case["outputs"][role]
                want = np.load(os.path.join(d, file))
                got = out[role]
                self.assertEqual(got.shape, want.shape, case["dir"] + " " + role)
                self.assertTrue(np.all(np.isfinite(got)), case["dir"] + " " + role)
                if case["files"][file]["compare"] == "valid_tokens":
                    mask = inputs.get("attention_mask", np.ones(want.shape[:2], np.int64)).astype(bool)
                    got, want = got[mask], want[mask]
                diff = float(np.max(np.abs(got - want)))
                self.assertLessEqual(diff, case["atol"], "%s %s: max abs diff %g" % (case["dir"], role, diff))

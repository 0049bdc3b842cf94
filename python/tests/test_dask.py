"""Tests of bertrt.dask (corpus embedding on Dask) on LocalClusters of 2 worker processes.

Run: PYTHONPATH=BUILDDIR/python BERTRT_CLI=BUILDDIR/tools/bertrt \\
     BERTRT_FIXTURES=tests/data/fixtures python3 -m pytest -q python/tests/test_dask.py
The shards must equal what `bertrt embed --chunk-size P` writes for the same corpus, bit for bit,
also when a worker process is killed in the middle of the job, and a rerun must compute only the
missing shards. Needs Debian's python3-dask and python3-distributed (scripts/install-deps.sh).
"""
import json
import logging
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import bertrt
import bertrt.dask

try:
    import distributed
    from distributed import Client, LocalCluster
except ImportError:  # the tests below say why they skip
    distributed = None

NEED_DASK = "python3-distributed is not installed (apt-get install python3-dask python3-distributed)"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("BERTRT_FIXTURES", os.path.join(HERE, "..", "..", "tests", "data", "fixtures"))
CLI = os.environ.get("BERTRT_CLI", "")
NEED_CLI = "BERTRT_CLI (the bertrt command-line tool, the reference) is not set"
WORDS = ["hello", "my", "dog", "is", "cute", "the", "a", "cat", ",", ".", "!", "?", "Hello", "dogs", "cats"]

_tmp = None
_model_path = None


def setUpModule():
    global _tmp, _model_path
    _tmp = tempfile.mkdtemp(prefix="bertrt-dask-")
    _model_path = os.path.join(_tmp, "small.bertrt")
    with open(os.path.join(FIXTURES, "manifest.json")) as f:
        info = json.load(f)["models"]["small"]
    bertrt.convert(os.path.join(FIXTURES, info["dir"]), _model_path)


def tearDownModule():
    shutil.rmtree(_tmp, ignore_errors=True)


def mixed_texts(n, seed):
    """n texts of 1 to 100 words from the fixture vocabulary, lengths shuffled."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55, 100], size=n)
    return [" ".join(rng.choice(WORDS, size=k)) for k in lengths]


def write_txt(name, texts):
    path = os.path.join(_tmp, name)
    with open(path, "w") as f:
        f.write("\n".join(texts) + "\n")
    return path


def cli_embed(corpus, chunk_size, batch_size=None, *extra):
    """The reference: `bertrt embed` on the whole corpus in one process (batch_size None: no
    --batch-size, the command's default, as the job's)."""
    out = os.path.join(_tmp, "ref-%s-%d.npy" % (os.path.basename(corpus), chunk_size))
    batch = ["--batch-size", str(batch_size)] if batch_size is not None else []
    subprocess.run([CLI, "embed", _model_path, "--input", corpus, "--output", out, "--chunk-size", str(chunk_size),
                    "--quiet"] + batch + list(extra), check=True, capture_output=True)
    return np.load(out)


def shards_of(out_dir):
    return sorted(n for n in os.listdir(out_dir) if n.startswith("part-") and n.endswith(".npy"))


def joined(out_dir):
    """The job's vectors in manifest order, and the manifest (checked: contiguous rows, all done)."""
    with open(os.path.join(out_dir, bertrt.dask.MANIFEST)) as f:
        manifest = json.load(f)
    row = 0
    arrays = []
    for k, p in enumerate(manifest["partitions"]):
        assert p["index"] == k and p["first_row"] == row and p["done"], p
        a = np.load(os.path.join(out_dir, p["file"]))
        assert a.shape == (p["rows"], manifest["settings"]["hidden_size"]), (p, a.shape)
        arrays.append(a)
        row += p["rows"]
    assert row == manifest["rows"]
    return np.concatenate(arrays), manifest


class PackageTest(unittest.TestCase):
    """bertrt is a package: the native module's names, and bertrt.dask imported on demand."""

    def test_names_and_lazy_dask(self):
        self.assertEqual(os.path.basename(bertrt.__file__), "__init__.py")
        native = {n for n in dir(bertrt._native) if not n.startswith("_")}
        self.assertEqual(native, {"Error", "Model", "convert", "kernel_isa"})
        public = {n for n in dir(bertrt) if not n.startswith("_")} - {"dask"}  # dask: imported above
        self.assertEqual(public, native)
        for n in native | {"__version__", "__doc__"}:
            self.assertIs(getattr(bertrt, n), getattr(bertrt._native, n), n)
        self.assertTrue(bertrt.__version__)
        self.assertEqual(bertrt.Model.__module__, "bertrt")
        self.assertTrue(issubclass(bertrt.Error, RuntimeError))
        # neither `import bertrt` nor `import bertrt.dask` imports Dask
        code = ("import sys, bertrt; a = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')); "
                "import bertrt.dask; b = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')); "
                "print(a, b, 'bertrt.dask' in sys.modules)")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "[] [] True"), r.stderr)

    def test_command_line_without_distributed(self):
        corpus = write_txt("no-dask.txt", ["a dog"])
        code = ("import sys; sys.modules['distributed'] = None; import bertrt.dask; "
                "sys.exit(bertrt.dask.main(sys.argv[1:]))")
        r = subprocess.run([sys.executable, "-c", code, _model_path, "--input", corpus, "--out-dir",
                            os.path.join(_tmp, "no-dask")], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("bertrt.dask: needs Dask's distributed package", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(_tmp, "no-dask")))


def local_cluster():
    return LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                        silence_logs=logging.CRITICAL)


class ScanTest(unittest.TestCase):
    """Partitions by text count, exactly as `bertrt embed` reads the corpus (no cluster)."""

    def check(self, name, data, want_texts, size):
        path = os.path.join(_tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        parts = bertrt.dask.scan_corpus(path, size)
        got = []
        for k, p in enumerate(parts):
            self.assertEqual(p["index"], k)
            self.assertEqual(p["first_row"], len(got))
            self.assertEqual(p["file"], "part-%05d.npy" % k)
            self.assertLessEqual(p["rows"], size)
            if k + 1 < len(parts):
                self.assertEqual(p["rows"], size)
                self.assertEqual(p["byte_end"], parts[k + 1]["byte_start"])
                self.assertEqual(p["last_line"] + 1, parts[k + 1]["first_line"])
            got += bertrt.dask.read_partition(path, p)
        self.assertEqual(got, want_texts, name)
        self.assertEqual(len(parts), -(-len(want_texts) // size))
        return parts

    def test_txt(self):
        for size in [1, 2, 3, 100]:
            with self.subTest(size=size):
                self.check("a.txt", b"one\ntwo\r\n\nfour\nfive", [b"one", b"two", b"", b"four", b"five"], size)
                self.check("b.txt", b"one\n\n", [b"one", b""], size)
                self.check("c.txt", b"\xc3\xa9t\xc3\xa9\n\x0bx\x0cy\xe2\x80\xa8z\n", [b"\xc3\xa9t\xc3\xa9",
                                                                                        b"\x0bx\x0cy\xe2\x80\xa8z"], size)
        self.assertEqual(self.check("empty.txt", b"", [], 4), [])

    def test_jsonl(self):
        data = b'\n{"text": "one"}\n  \t\n{"text": "two", "id": 2}\r\n\r\n{"text": "\\u00e9"}\n\n'
        for size in [1, 2, 5]:
            with self.subTest(size=size):
                parts = self.check("a.jsonl", data, [b"one", b"two", "\u00e9".encode()], size)
        self.assertEqual([(p["first_line"], p["last_line"]) for p in parts], [(2, 7)])
        parts = self.check("a.jsonl", data, [b"one", b"two", "\u00e9".encode()], 1)
        self.assertEqual([(p["first_line"], p["last_line"]) for p in parts], [(2, 3), (4, 5), (6, 7)])

    def test_bad_jsonl(self):
        for data, words in [(b'{"text": "a"}\n{"text": 3}\n', 'a.jsonl:2: needs a string field "text"'),
                            (b'{"text": "a"}\n\n{"txt": "b"}\n', 'a.jsonl:3: needs a string field "text"'),
                            (b'{"text": "a"}\n[1]\n', "a.jsonl:2: needs a string"),
                            (b'{"text": "a"\n', "a.jsonl:1: not valid JSON"),
                            (b'{"text": "\\ud800"}\n', "a.jsonl:1: \"text\" is not valid Unicode")]:
            path = os.path.join(_tmp, "a.jsonl")
            with open(path, "wb") as f:
                f.write(data)
            parts = bertrt.dask.scan_corpus(path, 10)
            with self.assertRaises(bertrt.dask.JobError) as e:
                bertrt.dask.read_partition(path, parts[0])
            self.assertIn(words, str(e.exception))

    def test_changed_corpus(self):
        path = write_txt("changed.txt", ["a", "b", "c", "d"])
        parts = bertrt.dask.scan_corpus(path, 2)
        with open(path, "w") as f:
            f.write("a\nb\nc\n\nd\n")
        with self.assertRaises(bertrt.dask.JobError) as e:
            bertrt.dask.read_partition(path, parts[1])  # its bytes now hold "c", "", "d"
        self.assertIn("changed since the job was planned", str(e.exception))
        with self.assertRaises(bertrt.dask.JobError):
            bertrt.dask.scan_corpus(path, 0)
        with self.assertRaises(bertrt.dask.JobError) as e:
            bertrt.dask.scan_corpus(os.path.join(_tmp, "absent.txt"), 2)
        self.assertIn("cannot read corpus", str(e.exception))

    def test_shard_checks(self):
        path = os.path.join(_tmp, "shard.npy")
        a = np.arange(12, dtype=np.float32).reshape(4, 3)
        bertrt.dask.write_npy_atomic(path, a)
        np.testing.assert_array_equal(np.load(path), a)
        self.assertTrue(bertrt.dask.shard_valid(path, 4, 3))
        self.assertFalse(bertrt.dask.shard_valid(path, 4, 4))
        self.assertFalse(bertrt.dask.shard_valid(path, 3, 3))
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - 4)
        self.assertFalse(bertrt.dask.shard_valid(path, 4, 3))
        for bad in [a.astype(np.float64), np.asfortranarray(a), a.astype(">f4"), a.reshape(2, 2, 3)]:
            np.save(path, bad)
            self.assertFalse(bertrt.dask.shard_valid(path, 4, 3), bad.dtype)
        with open(path, "wb") as f:
            f.write(b"not a npy file")
        self.assertFalse(bertrt.dask.shard_valid(path, 4, 3))
        self.assertFalse(bertrt.dask.shard_valid(os.path.join(_tmp, "absent.npy"), 4, 3))
        self.assertEqual([n for n in os.listdir(_tmp) if bertrt.dask.TMP_MARK in n], [])


@unittest.skipIf(distributed is None, NEED_DASK)
class ClusterTest(unittest.TestCase):
    """One LocalCluster (2 worker processes) for the output, resume and error checks."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = local_cluster()
        cls.client = Client(cls.cluster)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.cluster.close()

    def embed_corpus(self, corpus, out_dir, **kw):
        kw.setdefault("partition_size", 128)
        kw.setdefault("threads", 1)
        return bertrt.dask.embed_corpus(self.client, _model_path, corpus, out_dir, **kw)

    @unittest.skipUnless(CLI and os.path.exists(CLI), NEED_CLI)
    def test_matches_cli_and_loads_once(self):
        texts = mixed_texts(1500, seed=11)
        corpus = write_txt("match.txt", texts)
        out_dir = os.path.join(_tmp, "match")
        output = os.path.join(_tmp, "match.npy")
        s = self.embed_corpus(corpus, out_dir, output=output)
        self.assertEqual((s["partitions"], s["rows"], s["computed"], s["skipped"]), (12, 1500, 12, 0))
        got, manifest = joined(out_dir)
        self.assertTrue(manifest["complete"])
        self.assertEqual(shards_of(out_dir), ["part-%05d.npy" % k for k in range(12)])
        ref = cli_embed(corpus, 128)
        self.assertEqual(ref.shape, (1500, 64))
        self.assertTrue(np.array_equal(got, ref), "max diff %g" % float(np.abs(got - ref).max()))
        self.assertTrue(np.array_equal(np.load(output), ref))
        # every worker process opened the model once, whatever number of partitions it ran
        loads = self.client.run(bertrt.dask.worker_model_loads)
        self.assertEqual(len(loads), 2)
        for worker, counts in loads.items():
            self.assertEqual(counts, {(_model_path, 1): 1}, worker)
        # settings other than the defaults, a .jsonl corpus with blank lines
        jl = os.path.join(_tmp, "match.jsonl")
        with open(jl, "w") as f:
            for k, t in enumerate(texts[:300]):
                f.write(json.dumps({"text": t, "id": k}) + ("\n\n" if k % 7 == 0 else "\n"))
        out_jl = os.path.join(_tmp, "match-jl")
        s = self.embed_corpus(pathlib.Path(jl), pathlib.Path(out_jl),  # os.PathLike paths
                              partition_size=50, batch_size=5, batch_tokens=64, pooling="cls", normalize=True,
                              max_length=20)
        self.assertEqual((s["partitions"], s["rows"]), (6, 300))
        got, manifest = joined(out_jl)
        self.assertEqual(manifest["settings"]["pooling"], "cls")
        self.assertEqual(manifest["settings"]["batch_tokens"], 64)
        ref = cli_embed(jl, 50, 5, "--batch-tokens", "64", "--pool", "cls", "--normalize", "--max-length", "20")
        self.assertTrue(np.array_equal(got, ref), "max diff %g" % float(np.abs(got - ref).max()))

    def test_resume_computes_only_missing_shards(self):
        texts = mixed_texts(1000, seed=12)
        corpus = write_txt("resume.txt", texts)
        out_dir = os.path.join(_tmp, "resume")
        first = self.embed_corpus(corpus, out_dir, partition_size=100)
        self.assertEqual((first["partitions"], first["computed"]), (10, 10))
        want, _ = joined(out_dir)

        # an interrupted run: shards 2, 5 and 9 never landed, 7 is damaged, a writer left a temporary file
        for k in [2, 5, 9]:
            os.unlink(os.path.join(out_dir, "part-%05d.npy" % k))
        with open(os.path.join(out_dir, "part-00007.npy"), "r+b") as f:
            f.truncate(1000)
        stray = os.path.join(out_dir, "part-00002.npy" + bertrt.dask.TMP_MARK + "123-abc")
        with open(stray, "wb") as f:
            f.write(b"partial")
        with open(os.path.join(out_dir, bertrt.dask.MANIFEST)) as f:
            manifest = json.load(f)
        manifest["complete"] = False
        del manifest["settings"]["batch_tokens"]  # as written before the setting existed: resumes as 2048
        with open(os.path.join(out_dir, bertrt.dask.MANIFEST), "w") as f:
            json.dump(manifest, f)
        kept = {k: os.stat(os.path.join(out_dir, "part-%05d.npy" % k)) for k in [0, 1, 3, 4, 6, 8]}

        again = self.embed_corpus(corpus, out_dir, partition_size=100)
        self.assertEqual((again["computed"], again["computed_rows"], again["skipped"]), (4, 400, 6))
        for k, st in kept.items():
            now = os.stat(os.path.join(out_dir, "part-%05d.npy" % k))
            self.assertEqual((now.st_ino, now.st_mtime_ns), (st.st_ino, st.st_mtime_ns), "shard %d rewritten" % k)
        self.assertFalse(os.path.exists(stray))
        got, manifest = joined(out_dir)
        self.assertTrue(manifest["complete"])
        self.assertTrue(np.array_equal(got, want))

        done = self.embed_corpus(corpus, out_dir, partition_size=100)  # nothing left to do
        self.assertEqual((done["computed"], done["skipped"]), (0, 10))

        # other settings in the same folder: refused, naming the difference
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(corpus, out_dir, partition_size=100, batch_size=8)
        self.assertIn("batch_size: None in the manifest, 8 now", str(e.exception))
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(corpus, out_dir, partition_size=100, batch_tokens=512)
        self.assertIn("batch_tokens: 2048 in the manifest, 512 now", str(e.exception))
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(corpus, out_dir, partition_size=50)
        self.assertIn("partition_size", str(e.exception))
        # a manifest whose partitions do not tile the rows is refused
        with open(os.path.join(out_dir, bertrt.dask.MANIFEST)) as f:
            manifest = json.load(f)
        good = json.dumps(manifest)
        manifest["partitions"][3]["first_row"] += 1
        with open(os.path.join(out_dir, bertrt.dask.MANIFEST), "w") as f:
            json.dump(manifest, f)
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(corpus, out_dir, partition_size=100)
        self.assertIn("is damaged (ValueError: partition 3)", str(e.exception))
        with open(os.path.join(out_dir, bertrt.dask.MANIFEST), "w") as f:
            f.write(good[:-10])
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(corpus, out_dir, partition_size=100)
        self.assertIn("cannot read", str(e.exception))
        with open(os.path.join(out_dir, bertrt.dask.MANIFEST), "w") as f:
            f.write(good)
        with open(corpus, "a") as f:
            f.write("one more\n")
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(corpus, out_dir, partition_size=100)
        self.assertIn("corpus_file", str(e.exception))

    @unittest.skipUnless(CLI and os.path.exists(CLI), NEED_CLI)
    def test_empty_corpus(self):
        corpus = os.path.join(_tmp, "empty.txt")
        open(corpus, "w").close()
        output = os.path.join(_tmp, "empty.npy")
        s = self.embed_corpus(corpus, os.path.join(_tmp, "empty"), output=output)
        self.assertEqual((s["partitions"], s["rows"], s["computed"]), (0, 0, 0))
        got = np.load(output)
        self.assertEqual((got.shape, got.dtype), ((0, 64), np.float32))
        self.assertEqual(cli_embed(corpus, 128).shape, (0, 64))

    def test_errors(self):
        corpus = write_txt("errors.txt", ["a dog", "a cat"])
        out_dir = os.path.join(_tmp, "errors")
        for kw, words in [({"partition_size": 0}, "partition_size must be a positive integer"),
                          ({"batch_size": -1}, "batch_size must be a positive integer or None"),
                          ({"batch_size": True}, "batch_size must be a positive integer or None"),
                          ({"batch_tokens": 0}, "batch_tokens must be a positive integer"),
                          ({"batch_tokens": None}, "batch_tokens must be a positive integer"),
                          ({"partition_size": 2.5}, "partition_size must be a positive integer"),
                          ({"max_length": 0}, "max_length must be a positive integer or None"),
                          ({"pooling": "sum"}, "pooling must be cls, mean, max or pooler"),
                          ({"output": "x.jsonl"}, "output must end in .npy"),
                          ({"retries": -1}, "retries must be an integer >= 0")]:
            with self.assertRaises(bertrt.dask.JobError) as e:
                self.embed_corpus(corpus, out_dir, **kw)
            self.assertIn(words, str(e.exception))
        with self.assertRaises(bertrt.dask.JobError) as e:
            bertrt.dask.embed_corpus(self.client, _model_path, os.path.join(_tmp, "absent.txt"), out_dir)
        self.assertIn("is not a file", str(e.exception))
        with self.assertRaises(bertrt.Error):  # not a model file: the worker's open fails, the job says so
            bertrt.dask.embed_corpus(self.client, corpus, corpus, out_dir)
        with self.assertRaises(bertrt.dask.JobError) as e:  # a list of texts is not a corpus file
            bertrt.dask.embed_corpus(self.client, _model_path, ["a dog", "a cat"], out_dir)
        self.assertIn("must be paths", str(e.exception))
        with self.assertRaises(TypeError):  # the settings are keyword-only
            bertrt.dask.embed_corpus(self.client, _model_path, corpus, out_dir, 128)
        # a bad line fails its partition with the file and line; the other shards stay
        bad = os.path.join(_tmp, "bad.jsonl")
        with open(bad, "w") as f:
            for k in range(40):
                f.write(json.dumps({"text": "dog %d" % k}) + "\n" if k != 25 else '{"text": 25}\n')
        bad_dir = os.path.join(_tmp, "bad")
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(bad, bad_dir, partition_size=10, retries=0)
        self.assertIn("partition 2 (lines 21-30) failed", str(e.exception))
        self.assertIn('bad.jsonl:26: needs a string field "text"', str(e.exception))
        self.assertNotIn("part-00002.npy", shards_of(bad_dir))
        # invalid UTF-8 in a .txt corpus is the tokenizer's ValueError, with the partition's lines
        with open(os.path.join(_tmp, "utf8.txt"), "wb") as f:
            f.write(b"a dog\nbad \xff byte\n")
        with self.assertRaises(bertrt.dask.JobError) as e:
            self.embed_corpus(os.path.join(_tmp, "utf8.txt"), os.path.join(_tmp, "utf8"), retries=0)
        self.assertIn("utf8.txt lines 1-2", str(e.exception))
        self.assertIn("UTF-8", str(e.exception))


@unittest.skipIf(distributed is None, NEED_DASK)
@unittest.skipUnless(CLI and os.path.exists(CLI), NEED_CLI)
class KilledWorkerTest(unittest.TestCase):
    def test_worker_killed_mid_run(self):
        texts = mixed_texts(4000, seed=13)
        corpus = write_txt("kill.txt", texts)
        ref = cli_embed(corpus, 100)
        out_dir = os.path.join(_tmp, "kill")
        with local_cluster() as cluster, Client(cluster) as client:
            result = {}

            def job():
                try:
                    result["summary"] = bertrt.dask.embed_corpus(client, _model_path, corpus, out_dir,
                                                                 partition_size=100, threads=1, retries=2)
                except BaseException as e:  # reported by the test thread
                    result["error"] = e

            t = threading.Thread(target=job)
            t.start()
            deadline = time.monotonic() + 60
            while not (os.path.isdir(out_dir) and shards_of(out_dir)):
                self.assertLess(time.monotonic(), deadline, "no shard landed in 60 s")
                self.assertTrue(t.is_alive(), "the job ended before any shard: %r" % result)
                time.sleep(0.01)
            # kill a worker process that has a task in hand
            pids = client.run(os.getpid)
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            self.assertTrue(busy, "no worker is processing a task")
            os.kill(pids[busy[0]], signal.SIGKILL)
            landed = len(shards_of(out_dir))
            t.join(120)
            self.assertFalse(t.is_alive(), "the job did not finish within 120 s of the kill")
            self.assertNotIn("error", result)
            self.assertLess(landed, 40, "the job was over before the kill")
            # the killed process is gone; its nanny started another one, which opened the model once
            with self.assertRaises(ProcessLookupError):
                os.kill(pids[busy[0]], 0)
            for worker, counts in client.run(bertrt.dask.worker_model_loads).items():
                self.assertEqual(set(counts.values()), {1}, worker)
        s = result["summary"]
        self.assertEqual((s["partitions"], s["rows"], s["computed"] + s["skipped"]), (40, 4000, 40))
        got, manifest = joined(out_dir)
        self.assertTrue(manifest["complete"])
        self.assertEqual(shards_of(out_dir), ["part-%05d.npy" % k for k in range(40)])
        self.assertEqual([n for n in os.listdir(out_dir) if bertrt.dask.TMP_MARK in n], [])
        self.assertEqual(got.shape, ref.shape)
        self.assertTrue(np.array_equal(got, ref), "max diff %g" % float(np.abs(got - ref).max()))


@unittest.skipIf(distributed is None, NEED_DASK)
@unittest.skipUnless(CLI and os.path.exists(CLI), NEED_CLI)
class CommandLineTest(unittest.TestCase):
    """python3 -m bertrt.dask against a scheduler and workers started as on a cluster's nodes
    (`dask scheduler`, `dask worker`), and its errors."""

    def run_cli(self, *args):
        return subprocess.run([sys.executable, "-m", "bertrt.dask"] + list(args), capture_output=True, text=True,
                              timeout=120)

    def test_scheduler_and_workers(self):
        corpus = write_txt("cli.txt", mixed_texts(600, seed=14))
        ref = cli_embed(corpus, 64)
        sched_file = os.path.join(_tmp, "scheduler.json")
        dask = [sys.executable, "-m", "dask"]
        procs = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                          "--scheduler-file", sched_file],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            deadline = time.monotonic() + 60
            while not os.path.exists(sched_file):
                self.assertLess(time.monotonic(), deadline, "the scheduler wrote no scheduler file in 60 s")
                self.assertIsNone(procs[0].poll(), "dask scheduler exited")
                time.sleep(0.05)
            procs.append(subprocess.Popen(dask + ["worker", "--scheduler-file", sched_file, "--nworkers", "2",
                                                  "--nthreads", "1", "--no-dashboard", "--local-directory", _tmp],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            with Client(scheduler_file=sched_file, timeout=30) as client:
                client.wait_for_workers(2, timeout=60)
            out_dir = os.path.join(_tmp, "cli")
            output = os.path.join(_tmp, "cli.npy")
            r = self.run_cli(_model_path, "--input", corpus, "--out-dir", out_dir, "--output", output,
                                 "--scheduler-file", sched_file, "--partition-size", "64", "--threads", "1")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("600 texts in 10 partitions (10 computed, 0 already done)", r.stderr)
            self.assertIn("10/10 partitions", r.stderr)
            with open(os.path.join(out_dir, bertrt.dask.MANIFEST)) as f:  # no --batch-size: bertrt embed's default
                self.assertIsNone(json.load(f)["settings"]["batch_size"])
            self.assertTrue(np.array_equal(np.load(output), ref))
            os.unlink(os.path.join(out_dir, "part-00004.npy"))
            os.unlink(output)
            r = self.run_cli(_model_path, "--input", corpus, "--out-dir", out_dir, "--output", output,
                                 "--scheduler-file", sched_file, "--partition-size", "64", "--threads", "1", "--quiet")
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertTrue(np.array_equal(np.load(output), ref))
            with Client(scheduler_file=sched_file, timeout=30) as client:
                loads = client.run(bertrt.dask.worker_model_loads)
            self.assertEqual(len(loads), 2)
            self.assertTrue(all(v == {(_model_path, 1): 1} for v in loads.values()), loads)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in reversed(procs):
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def test_errors(self):
        corpus = write_txt("cli-errors.txt", ["a dog"])
        out_dir = os.path.join(_tmp, "cli-errors")
        for args, words in [(["--partition-size", "0"], "partition_size must be a positive integer"),
                            (["--workers", "0"], "--workers must be positive"),
                            (["--output", "x.txt"], "--output must end in .npy"),
                            (["--max-length", "-3"], "max_length must be a positive integer or None")]:
            r = self.run_cli(_model_path, "--input", corpus, "--out-dir", out_dir, *args)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(words, r.stderr)
            self.assertNotIn("Traceback", r.stderr)
        r = self.run_cli(_model_path, "--out-dir", out_dir)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--input", r.stderr)


if __name__ == "__main__":
    unittest.main()

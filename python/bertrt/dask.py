"""Embeds a corpus on a Dask cluster, resumably: one .npy shard per partition of the corpus.

    python3 -m bertrt.dask MODEL --input corpus.txt --out-dir DIR [--output vectors.npy]
        [--scheduler tcp://HOST:8786 | --scheduler-file FILE | --workers N] [--partition-size 4096] [--batch-size N]
        [--batch-tokens 2048] [--pool cls|mean|max|pooler] [--normalize | --no-normalize] [--max-length N] [--threads N]

From Python: bertrt.dask.embed_corpus(client, model_path, inputs, out_dir, ...) with a
distributed.Client of your own; it returns a summary dict.

The corpus (`.txt`, one text a line, or `.jsonl` with a string "text" on each non-blank line, read
as `bertrt embed` reads it) is cut into partitions of `partition_size` texts, in order. Each
partition is one Dask task: a worker process opens the model once (a per-process cache), embeds
the partition's texts with `Model.encode_texts` (packed batches, as `bertrt embed` runs them) and
writes `DIR/part-NNNNN.npy` (float32 [rows, H]) under a temporary name, then renames it into
place, so a shard is either whole or absent. `DIR/manifest.json` is the index: the job's
settings, and for every partition its shard file, its rows (`first_row`, `rows`: the shard's rows
are the corpus's texts first_row .. first_row + rows - 1, in input order), its lines and byte
range in the corpus, and whether it is done. Running the same job again skips the shards already
present and valid (a float32 .npy file of the expected shape) and computes only the others.
`--output` finally joins the shards, in order, into one float32 [N, H] `.npy`, the file
`bertrt embed --input ... --output` writes (with `--chunk-size` equal to the partition size and
the same `--batch-size` and `--batch-tokens`, the vectors are the same bit for bit).

Lost workers: Dask runs a lost worker's tasks again elsewhere (`retries` more times for tasks
that fail); a task that runs twice writes the same bytes twice, and the rename keeps the shard
whole, so no row is lost or doubled.

On several machines the corpus, the model and DIR must be at the same paths on every node (a
shared file system); see docs/dask.md. Dask (Debian's python3-distributed) is imported only when
a job runs: `import bertrt` and `import bertrt.dask` do not need it.
"""
import argparse
import json
import os
import sys
import threading
import time
import uuid

import numpy as np

from . import Model

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
SHARD_PATTERN = "part-%05d.npy"
TMP_MARK = ".tmp-"


class JobError(RuntimeError):
    """A corpus embedding job that cannot run or complete (bad corpus, settings that differ from
    the output folder's manifest, a failed partition)."""


# ----------------------------------------------------------------------------- corpus partitions

def _is_jsonl(path):
    return path.endswith(".jsonl")


def _counts_as_text(line, jsonl):
    """line: one line of the corpus without its b"\\n". A .txt line is always a text; a .jsonl
    line only when it holds something other than blanks (as `bertrt embed` reads it)."""
    if not jsonl:
        return True
    return line.strip(b" \t\r") != b""


def scan_corpus(path, partition_size):
    """Cuts the corpus into partitions of partition_size texts, in order: a list of dicts with
    index, file (the shard's name), first_row, rows, first_line, last_line (1-based, inclusive),
    byte_start, byte_end (the partition's bytes in the corpus)."""
    if partition_size <= 0:
        raise JobError("partition_size must be positive, not %r" % (partition_size,))
    jsonl = _is_jsonl(path)
    parts = []
    row = 0           # texts seen so far
    line_no = 0       # lines seen so far
    offset = 0        # bytes seen so far
    open_part = None  # the partition being filled

    def close(end_offset, end_line):
        open_part["byte_end"] = end_offset
        open_part["last_line"] = end_line
        parts.append(open_part)

    try:
        f = open(path, "rb")
    except OSError as e:
        raise JobError("cannot read corpus '%s': %s" % (path, e.strerror)) from e
    with f:
        for line in f:  # binary iteration splits at b"\n" only, as std::getline does
            start = offset
            offset += len(line)
            line_no += 1
            if not _counts_as_text(line.rstrip(b"\n"), jsonl):
                continue
            if open_part is not None and open_part["rows"] == partition_size:
                close(start, line_no - 1)
                open_part = None
            if open_part is None:
                open_part = {"index": len(parts), "file": SHARD_PATTERN % len(parts), "first_row": row, "rows": 0,
                             "first_line": line_no, "byte_start": start}
            open_part["rows"] += 1
            row += 1
    if open_part is not None:
        close(offset, line_no)
    return parts


def read_partition(corpus, part):
    """The texts of one partition, as UTF-8 bytes (the tokenizer checks the encoding)."""
    jsonl = _is_jsonl(corpus)
    try:
        with open(corpus, "rb") as f:
            f.seek(part["byte_start"])
            data = f.read(part["byte_end"] - part["byte_start"])
    except OSError as e:
        raise JobError("cannot read corpus '%s': %s" % (corpus, e.strerror)) from e
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    texts = []
    for k, line in enumerate(lines):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not jsonl:
            texts.append(line)
            continue
        if not _counts_as_text(line, True):
            continue
        where = "%s:%d" % (corpus, part["first_line"] + k)
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError) as e:
            raise JobError("%s: not valid JSON: %s" % (where, e)) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise JobError('%s: needs a string field "text"' % where)
        try:
            texts.append(obj["text"].encode("utf-8"))
        except UnicodeEncodeError:
            raise JobError('%s: "text" is not valid Unicode (a lone surrogate)' % where) from None
    if len(texts) != part["rows"]:
        raise JobError("corpus '%s' changed since the job was planned: partition %d (lines %d-%d) has %d texts, "
                       "not %d" % (corpus, part["index"], part["first_line"], part["last_line"], len(texts),
                                   part["rows"]))
    return texts


# ----------------------------------------------------------------------------- shards

def shard_shape(path):
    """(rows, cols) of a float32 C-order .npy file whose size matches its header, else None."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                return None
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except (OSError, ValueError, EOFError):
        return None
    if fortran or dtype != np.dtype("<f4") or len(shape) != 2:
        return None
    if size != offset + shape[0] * shape[1] * 4:
        return None
    return tuple(int(n) for n in shape)


def shard_valid(path, rows, hidden):
    return shard_shape(path) == (rows, hidden)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(path, mode, write):
    """Writes path through a temporary file in the same folder, fsync and a rename: readers see the
    old file or the whole new one, never a part. Concurrent writers of one path do not clash."""
    tmp = "%s%s%d-%s" % (path, TMP_MARK, os.getpid(), uuid.uuid4().hex)
    try:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(path)))


def write_npy_atomic(path, array):
    """array as an .npy file at path, written atomically (_write_atomic)."""
    _write_atomic(path, "wb", lambda f: np.save(f, array, allow_pickle=False))


def _write_json_atomic(path, obj):
    def write(f):
        json.dump(obj, f, indent=1)
        f.write("\n")
    _write_atomic(path, "w", write)


def remove_temporaries(out_dir):
    """Removes what interrupted writers left (files named *.tmp-*); returns how many."""
    n = 0
    for name in os.listdir(out_dir):
        if TMP_MARK in name and name.startswith(("part-", MANIFEST)):
            try:
                os.unlink(os.path.join(out_dir, name))
                n += 1
            except FileNotFoundError:
                pass
    return n


# ----------------------------------------------------------------------------- worker side

_models = {}
_model_loads = {}
_models_lock = threading.Lock()


def worker_model(path, threads):
    """The bertrt.Model for (path, threads), opened once per process and kept."""
    key = (path, threads)
    with _models_lock:
        m = _models.get(key)
        if m is None:
            m = Model(path, threads=threads)
            _models[key] = m
            _model_loads[key] = _model_loads.get(key, 0) + 1
        return m


def worker_model_loads():
    """{(model path, threads): times opened} in this process (each should be 1)."""
    with _models_lock:
        return dict(_model_loads)


def model_info(path, threads):
    """Settings of the model file, read on a worker (which keeps the model open for the job)."""
    m = worker_model(path, threads)
    c = m.config
    return {"hidden_size": int(m.hidden_size), "default_pool": c["default_pool"],
            "default_normalize": bool(c["default_normalize"]), "max_length": int(m.max_length)}


def embed_partition(job, part):
    """One task: the shard of one partition. Skips a shard already present and valid."""
    out = os.path.join(job["out_dir"], part["file"])
    H = job["hidden_size"]
    if shard_valid(out, part["rows"], H):
        return {"index": part["index"], "skipped": True, "pid": os.getpid(), "seconds": 0.0}
    t0 = time.perf_counter()
    texts = read_partition(job["corpus"], part)
    m = worker_model(job["model"], job["threads"])
    try:
        vectors = m.encode_texts(texts, batch_size=job["batch_size"], max_batch_tokens=job["batch_tokens"],
                                 pooling=job["pooling"],
                                 normalize=job["normalize"], max_length=job["max_length"])
    except ValueError as e:
        raise JobError("%s lines %d-%d: %s" % (job["corpus"], part["first_line"], part["last_line"], e)) from None
    if vectors.shape != (part["rows"], H) or vectors.dtype != np.float32:
        raise JobError("partition %d: the model returned %s %s, not float32 (%d, %d)"
                       % (part["index"], vectors.dtype, vectors.shape, part["rows"], H))
    write_npy_atomic(out, np.ascontiguousarray(vectors))
    return {"index": part["index"], "skipped": False, "pid": os.getpid(), "seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- driver side

def _file_identity(path):
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _job_settings(corpus, model, partition_size, batch_size, batch_tokens, pooling, normalize, max_length, info):
    return {
        "corpus": corpus, "corpus_file": _file_identity(corpus),
        "model": model, "model_file": _file_identity(model),
        "partition_size": partition_size, "batch_size": batch_size, "batch_tokens": batch_tokens,
        "pooling": pooling if pooling is not None else info["default_pool"],
        "normalize": bool(normalize) if normalize is not None else info["default_normalize"],
        "max_length": max_length if max_length is not None else info["max_length"],
        "hidden_size": info["hidden_size"],
    }


def load_manifest(out_dir):
    path = os.path.join(out_dir, MANIFEST)
    try:
        with open(path) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise JobError("cannot read '%s': %s (remove it to start over)" % (path, e)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise JobError("'%s' is not a manifest of this job's format %d" % (path, MANIFEST_FORMAT))
    return manifest


# Settings added after the first manifests were written, with the value those jobs ran with.
SETTINGS_BEFORE_THEY_EXISTED = {"batch_tokens": 2048}


def _check_resumable(manifest, settings, out_dir):
    old = dict(SETTINGS_BEFORE_THEY_EXISTED)
    old.update(manifest.get("settings", {}))
    diffs = ["%s: %r in the manifest, %r now" % (k, old.get(k), v) for k, v in settings.items() if old.get(k) != v]
    if diffs:
        raise JobError("'%s' holds a job with other settings (%s); use another output folder, or remove the "
                       "folder to start over" % (out_dir, "; ".join(diffs)))


def _check_partitions(parts, settings, path):
    """A resumed manifest's partitions must tile the rows in order (a hand-edited or foreign file
    is refused here rather than failing later)."""
    row = 0
    try:
        for k, p in enumerate(parts):
            if (p["index"] != k or p["file"] != SHARD_PATTERN % k or p["first_row"] != row
                    or not 0 < p["rows"] <= settings["partition_size"]
                    or not 0 <= p["byte_start"] < p["byte_end"] <= settings["corpus_file"]["size"]
                    or not 1 <= p["first_line"] <= p["last_line"]):
                raise ValueError("partition %d" % k)
            row += p["rows"]
    except (KeyError, TypeError, ValueError) as e:
        raise JobError("'%s' is damaged (%s: %s); remove the folder to start over" % (path, type(e).__name__, e)) \
            from None


def _validate_args(partition_size, batch_size, max_length, threads, retries, batch_tokens=2048):
    if not isinstance(partition_size, int) or isinstance(partition_size, bool) or partition_size <= 0:
        raise JobError("partition_size must be a positive integer, not %r" % (partition_size,))
    if not isinstance(batch_tokens, int) or isinstance(batch_tokens, bool) or batch_tokens <= 0:
        raise JobError("batch_tokens must be a positive integer, not %r" % (batch_tokens,))
    for name, value in [("batch_size", batch_size), ("max_length", max_length), ("threads", threads)]:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise JobError("%s must be a positive integer or None, not %r" % (name, value))
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise JobError("retries must be an integer >= 0, not %r" % (retries,))


def embed_corpus(client, model_path, inputs, out_dir, *, partition_size=4096, batch_size=None, batch_tokens=2048,
                 pooling=None, normalize=None, max_length=None, threads=None, retries=3, output=None, progress=None):
    """Embeds a corpus on the cluster of a distributed.Client, resumably; returns a summary dict.

    model_path: a .bertrt model file; inputs: the corpus file (.txt, one text a line, or .jsonl
    with a string "text" on each non-blank line); out_dir: the shards part-NNNNN.npy and
    manifest.json (a rerun with the same settings computes only the missing shards). The three
    paths must be the same on the workers (a shared file system on several machines).
    partition_size: texts per task and shard (the `--chunk-size` of `bertrt embed`).
    batch_size (None: no cap, the token budget sets the batches), batch_tokens (the token budget of
    one forward, `max_batch_tokens` of `Model.encode_texts`, `--batch-tokens` of `bertrt embed`), pooling
    (None: the model's), normalize (None: the model's), max_length (None: the model's): as
    `Model.encode_texts` and `bertrt embed`. threads: threads of each worker's model (None: the
    worker machine's CPUs). retries: reruns of a task that raises. output: also join the shards
    into this .npy file (float32 [N, H], in input order). progress(done, total) is called as
    partitions finish.

    Returns {"partitions", "rows", "computed" (partitions embedded in this run), "computed_rows",
    "skipped" (shards found in place, before the run or, after a lost worker, by a rerun task),
    "seconds", "texts_per_s" (computed_rows / seconds)}. Raises JobError (bad settings, a bad
    corpus line, settings that differ from out_dir's manifest, a partition that failed) or
    bertrt.Error (a model file that does not open)."""
    from distributed import as_completed

    try:
        corpus = os.fspath(inputs)
        model = os.fspath(model_path)
        out_dir = os.fspath(out_dir)
        output = os.fspath(output) if output is not None else None
    except TypeError as e:
        raise JobError("model_path, inputs, out_dir and output must be paths: %s" % e) from None
    _validate_args(partition_size, batch_size, max_length, threads, retries, batch_tokens)
    if pooling is not None and pooling not in ("cls", "mean", "max", "pooler"):
        raise JobError("pooling must be cls, mean, max or pooler, not %r" % (pooling,))
    if output is not None and not output.endswith(".npy"):
        raise JobError("output must end in .npy, not %r" % (output,))
    corpus = os.path.abspath(corpus)
    model = os.path.abspath(model)
    out_dir = os.path.abspath(out_dir)
    for what, path in [("corpus", corpus), ("model", model)]:
        if not os.path.isfile(path):
            raise JobError("%s '%s' is not a file" % (what, path))
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()

    info = client.submit(model_info, model, threads, pure=False).result()
    settings = _job_settings(corpus, model, partition_size, batch_size, batch_tokens, pooling, normalize, max_length,
                             info)
    manifest = load_manifest(out_dir)
    if manifest is None:
        parts = scan_corpus(corpus, partition_size)
        manifest = {"format": MANIFEST_FORMAT, "settings": settings, "complete": False,
                    "rows": sum(p["rows"] for p in parts), "partitions": parts}
    else:
        _check_resumable(manifest, settings, out_dir)
        _check_partitions(manifest.get("partitions"), settings, os.path.join(out_dir, MANIFEST))
    parts = manifest["partitions"]
    manifest["rows"] = sum(p["rows"] for p in parts)
    manifest_path = os.path.join(out_dir, MANIFEST)
    for p in parts:
        p["done"] = shard_valid(os.path.join(out_dir, p["file"]), p["rows"], settings["hidden_size"])
    manifest["complete"] = False
    _write_json_atomic(manifest_path, manifest)

    job = dict(settings, out_dir=out_dir, threads=threads)
    todo = [p for p in parts if not p["done"]]
    run_id = uuid.uuid4().hex[:8]
    # pending: key -> (future, partition index). A future is dropped once its result is read, so
    # that the result, kept on a worker, is not computed again if that worker is lost later.
    pending = {}
    for p in todo:
        f = client.submit(embed_partition, job, {k: v for k, v in p.items() if k != "done"},
                          key="bertrt-embed-%s-%05d" % (run_id, p["index"]), retries=retries, pure=False)
        pending[f.key] = (f, p["index"])
    done = len(parts) - len(todo)
    computed = computed_rows = 0
    if progress:
        progress(done, len(parts))
    last_write = time.monotonic()
    try:
        for future in as_completed([f for f, _ in pending.values()]):
            index = pending.pop(future.key)[1]
            try:
                # A result lost with its worker after the task finished is computed again first
                # (the task then finds the shard in place).
                r = future.result()
            except Exception as err:
                p = parts[index]
                why = "cancelled" if future.cancelled() else "%s: %s" % (type(err).__name__, err)
                raise JobError("partition %d (lines %d-%d) failed: %s"
                               % (index, p["first_line"], p["last_line"], why)) from None
            parts[index]["done"] = True
            if not r["skipped"]:
                computed += 1
                computed_rows += parts[index]["rows"]
            done += 1
            if progress:
                progress(done, len(parts))
            if time.monotonic() - last_write > 1.0:
                _write_json_atomic(manifest_path, manifest)
                last_write = time.monotonic()
    except BaseException:
        client.cancel([f for f, _ in pending.values()])
        _write_json_atomic(manifest_path, manifest)
        raise

    bad = [p["index"] for p in parts
           if not shard_valid(os.path.join(out_dir, p["file"]), p["rows"], settings["hidden_size"])]
    if bad:
        raise JobError("shards of partitions %s are missing or damaged after the run" % bad[:10])
    remove_temporaries(out_dir)
    manifest["complete"] = True
    _write_json_atomic(manifest_path, manifest)
    if output is not None:
        join_shards(out_dir, output, manifest)
    seconds = time.perf_counter() - t0
    return {"partitions": len(parts), "rows": manifest["rows"], "computed": computed,
            "computed_rows": computed_rows, "skipped": len(parts) - computed, "seconds": seconds,
            "texts_per_s": computed_rows / seconds if seconds > 0 else 0.0}


def join_shards(out_dir, output, manifest=None):
    """Writes the shards of a complete job, in order, into one float32 [N, H] .npy file (through a
    temporary name and a rename)."""
    manifest = manifest or load_manifest(out_dir)
    if manifest is None:
        raise JobError("'%s' holds no %s" % (out_dir, MANIFEST))
    H = manifest["settings"]["hidden_size"]
    parts = manifest["partitions"]
    N = sum(p["rows"] for p in parts)
    expected_row = 0
    for p in parts:
        if p["first_row"] != expected_row or not shard_valid(os.path.join(out_dir, p["file"]), p["rows"], H):
            raise JobError("partition %d's shard '%s' is missing or damaged: run the job to complete it"
                           % (p["index"], p["file"]))
        expected_row += p["rows"]
    tmp = "%s%s%d-%s" % (output, TMP_MARK, os.getpid(), uuid.uuid4().hex)
    try:
        with open(tmp, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (N, H)})
            for p in parts:
                shard = np.load(os.path.join(out_dir, p["file"]), mmap_mode="r")
                step = max(1, (64 << 20) // (4 * max(H, 1)))
                for r in range(0, shard.shape[0], step):
                    f.write(np.ascontiguousarray(shard[r:r + step]).tobytes())
                del shard
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, output)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return N, H


# ----------------------------------------------------------------------------- command line

def _parser():
    p = argparse.ArgumentParser(
        prog="python3 -m bertrt.dask",
        description="Embeds a corpus on a Dask cluster into one .npy shard per partition (resumable).")
    p.add_argument("model", metavar="MODEL", help="a .bertrt model file (same path on every worker)")
    p.add_argument("--input", required=True, metavar="FILE", help=".txt (one text a line) or .jsonl (\"text\")")
    p.add_argument("--out-dir", required=True, metavar="DIR", help="shards and manifest.json; a rerun resumes")
    p.add_argument("--output", metavar="OUT.npy", help="also join the shards into one float32 [N, H] .npy")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running scheduler (tcp://HOST:8786)")
    where.add_argument("--scheduler-file", metavar="FILE", help="a running scheduler's --scheduler-file")
    where.add_argument("--workers", type=int, metavar="N",
                       help="start a local cluster of N worker processes (default: 1)")
    p.add_argument("--partition-size", type=int, default=4096, metavar="N", help="texts per shard (default 4096)")
    p.add_argument("--batch-size", type=int, metavar="N",
                   help="at most N texts per forward (default: no cap; the token budget sets the batches)")
    p.add_argument("--batch-tokens", type=int, default=2048, metavar="N",
                   help="tokens per forward: texts are packed until the next would pass N (default 2048)")
    p.add_argument("--pool", choices=["cls", "mean", "max", "pooler"], help="default: the model's")
    norm = p.add_mutually_exclusive_group()
    norm.add_argument("--normalize", dest="normalize", action="store_true", default=None)
    norm.add_argument("--no-normalize", dest="normalize", action="store_false")
    p.add_argument("--max-length", type=int, metavar="N", help="truncate to N tokens (default: the model's)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads per worker's model (default: local cluster: CPUs / workers; "
                        "scheduler: the worker machine's CPUs)")
    p.add_argument("--retries", type=int, default=3, metavar="N", help="reruns of a failed task (default 3)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    import logging
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        print("bertrt.dask: needs Dask's distributed package (Debian: apt-get install python3-dask "
              "python3-distributed): %s" % e, file=sys.stderr)
        return 1

    def progress(done, total):
        if not args.quiet:
            print("bertrt.dask: %d/%d partitions" % (done, total), file=sys.stderr, flush=True)

    cluster = None
    try:
        _validate_args(args.partition_size, args.batch_size, args.max_length, args.threads, args.retries,
                       args.batch_tokens)
        if args.output is not None and not args.output.endswith(".npy"):
            raise JobError("--output must end in .npy, not %r" % args.output)
        if args.workers is not None and args.workers <= 0:
            raise JobError("--workers must be positive, not %d" % args.workers)
        if args.scheduler or args.scheduler_file:
            threads = args.threads
            client = Client(args.scheduler, timeout=30) if args.scheduler else \
                Client(scheduler_file=args.scheduler_file, timeout=30)
        else:
            n = args.workers or 1
            threads = args.threads or max(1, len(os.sched_getaffinity(0)) // n)
            cluster = LocalCluster(n_workers=n, processes=True, threads_per_worker=1, dashboard_address=None,
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
        with client:
            s = embed_corpus(client, args.model, args.input, args.out_dir, partition_size=args.partition_size,
                             batch_size=args.batch_size, batch_tokens=args.batch_tokens, pooling=args.pool,
                             normalize=args.normalize,
                             max_length=args.max_length, threads=threads, retries=args.retries, output=args.output,
                             progress=progress)
    except (RuntimeError, OSError, ValueError) as e:  # JobError, bertrt.Error, no scheduler, bad values
        print("bertrt.dask: %s" % e, file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.close()
    if not args.quiet:
        print("bertrt.dask: %d texts in %d partitions (%d computed, %d already done) in %.1f s, %.1f texts/s"
              % (s["rows"], s["partitions"], s["computed"], s["skipped"], s["seconds"], s["texts_per_s"]),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    # Run through the imported module, not __main__: the tasks must refer to bertrt.dask's functions
    # (and its per-process model cache) by name, not travel as copies.
    import bertrt.dask
    sys.exit(bertrt.dask.main())

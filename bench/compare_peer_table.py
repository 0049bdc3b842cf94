#!/usr/bin/python3
"""bertrt (one engine per weight dtype) against ONNX Runtime fp32 and int8, from interleaved JSON lines.

Reads the JSON lines of bench/compare_peer.sh (files or stdin; other lines are skipped): ONNX
Runtime lines (engine "onnxruntime") for MODEL, MODEL-int8-qattn and MODEL-int8-dqmm, and bertrt
lines (engine "bertrt-<dtype>", model MODEL). The i-th line of every engine for a given (model,
threads, batch, seq) comes from round i. Per key, the ONNX Runtime int8 variant with the lower
median over rounds is the int8 peer of that shape. Prints one markdown row per key and bertrt
dtype: median ms of bertrt, ONNX Runtime fp32 and int8 (over rounds), and the per-round ratios
bertrt / peer as median (min-max). Ratio < 1: bertrt is faster.

usage: compare_peer_table.py [FILE.jsonl ...]
"""
import json
import statistics
import sys

INT8_VARIANTS = ("int8-qattn", "int8-dqmm")


def rows(paths):
    streams = [open(p) for p in paths] if paths else [sys.stdin]
    for s in streams:
        for line in s:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if all(k in d for k in ("engine", "model", "threads", "batch", "seq", "median_ms")):
                yield d


def split_engine(d):
    """(base model, engine label): ('bert-base', 'ort-fp32'), ('bert-base', 'ort-int8-qattn'), ('bert-base', 'bertrt-int8')."""
    model = str(d["model"])
    if d["engine"] == "onnxruntime":
        for v in INT8_VARIANTS:
            if model.endswith("-" + v):
                return model[: -len(v) - 1], "ort-" + v
        return model, "ort-fp32"
    return model, str(d["engine"])


def fmt(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def ratio_text(num, den):
    r = [a / b for a, b in zip(num, den)]
    return f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f})"


def main():
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__)
        return 0
    series = {}  # (model, threads, batch, seq) -> engine label -> [median_ms per round]
    order = []
    for d in rows(sys.argv[1:]):
        model, label = split_engine(d)
        key = (model, int(d["threads"]), int(d["batch"]), int(d["seq"]))
        if key not in series:
            series[key] = {}
            order.append(key)
        series[key].setdefault(label, []).append(float(d["median_ms"]))
    rank = {"bertrt-f32": 0, "bertrt-bf16": 1, "bertrt-f16": 2, "bertrt-int8": 3}
    dtypes = sorted({lab for s in series.values() for lab in s if lab.startswith("bertrt-")},
                    key=lambda lab: (rank.get(lab, 9), lab))
    if not dtypes or not any("ort-fp32" in s for s in series.values()):
        sys.exit("compare_peer_table: need lines of onnxruntime and of at least one bertrt-<dtype> engine")
    print("| model | threads | shape | bertrt dtype | rounds | bertrt ms | ORT fp32 ms | ORT int8 ms (variant) "
          "| bertrt / ORT fp32 | bertrt / ORT int8 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(order, key=lambda k: (k[0], k[1], k[2] * k[3], k[2])):
        s = series[key]
        if "ort-fp32" not in s:
            continue
        have8 = [v for v in INT8_VARIANTS if ("ort-" + v) in s]
        best8 = min(have8, key=lambda v: statistics.median(s["ort-" + v])) if have8 else None
        for lab in dtypes:
            if lab not in s:
                continue
            n = min([len(s[lab]), len(s["ort-fp32"])] + ([len(s["ort-" + best8])] if best8 else []))
            b, f = s[lab][:n], s["ort-fp32"][:n]
            if best8:
                q = s["ort-" + best8][:n]
                int8_ms = f"{fmt(statistics.median(q))} ({best8[5:]})"
                int8_ratio = ratio_text(b, q)
            else:
                int8_ms = int8_ratio = "-"
            print(f"| {key[0]} | {key[1]} | {key[2]}x{key[3]} | {lab[7:]} | {n} | {fmt(statistics.median(b))} | "
                  f"{fmt(statistics.median(f))} | {int8_ms} | {ratio_text(b, f)} | {int8_ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

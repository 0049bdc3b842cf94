#!/usr/bin/python3
"""Numerics of bertrt (per weight dtype) and ONNX Runtime int8 against ONNX Runtime fp32, same inputs.

Reads the folder bench/int8_accuracy.sh fills: WORK/<model>/<input>/inputs/attention_mask.npy and
WORK/<model>/<input>/<engine>/{last_hidden_state,pooler_output}.npy, engine one of ort-fp32 (the
reference), ort-int8-qattn, ort-int8-dqmm, bertrt-<dtype>, pytorch (the kit's saved reference
outputs, reference input only). Per engine, over the tokens with attention_mask 1:
  tok cos min / mean   cosine of each token's last_hidden_state row with the reference's
  lhs cos              cosine of the whole last_hidden_state (as the kit's ort_compare.js)
  max abs diff         largest |difference| of last_hidden_state (max |reference| in the header)
  pooler cos           cosine of the whole pooler_output (as ort_compare.js)
  mean-pool cos        cosine of the masked mean of last_hidden_state, the worst row
Prints a markdown table per model and input, then one line per model and input that compares
bertrt int8 with the better ONNX Runtime int8 variant (by min token cosine), metric by metric.

usage: int8_accuracy.py WORK
"""
import os
import sys

import numpy as np

ENGINES = ["pytorch", "bertrt-f32", "bertrt-bf16", "bertrt-f16", "bertrt-int8", "ort-int8-qattn", "ort-int8-dqmm"]


def load(d, name):
    return np.load(os.path.join(d, name + ".npy")).astype(np.float64)


def cos(a, b):
    return float(np.dot(a.ravel(), b.ravel()) / np.sqrt(np.dot(a.ravel(), a.ravel()) * np.dot(b.ravel(), b.ravel())))


def metrics(ref_lhs, ref_pool, lhs, pool, mask):
    if lhs.shape != ref_lhs.shape or pool.shape != ref_pool.shape:
        raise ValueError(f"shape {lhs.shape} / {pool.shape}, reference {ref_lhs.shape} / {ref_pool.shape}")
    keep = mask.astype(bool)
    r, o = ref_lhs[keep], lhs[keep]  # [tokens, H]
    tok = np.sum(r * o, axis=1) / np.sqrt(np.sum(r * r, axis=1) * np.sum(o * o, axis=1))
    m = mask[..., None].astype(np.float64)
    mean_r = (ref_lhs * m).sum(axis=1) / m.sum(axis=1)
    mean_o = (lhs * m).sum(axis=1) / m.sum(axis=1)
    return {
        "tok_min": float(tok.min()), "tok_mean": float(tok.mean()), "lhs_cos": cos(r, o),
        "max_abs": float(np.abs(r - o).max()), "pooler_cos": cos(ref_pool, pool),
        "meanpool_cos": min(cos(mean_r[i], mean_o[i]) for i in range(mean_r.shape[0])),
    }


def table(case_dir):
    mask = np.load(os.path.join(case_dir, "inputs", "attention_mask.npy"))
    ref = os.path.join(case_dir, "ort-fp32")
    ref_lhs, ref_pool = load(ref, "last_hidden_state"), load(ref, "pooler_output")
    out = {}
    for e in ENGINES:
        d = os.path.join(case_dir, e)
        if os.path.isdir(d):
            out[e] = metrics(ref_lhs, ref_pool, load(d, "last_hidden_state"), load(d, "pooler_output"), mask)
    return out, float(np.abs(ref_lhs[mask.astype(bool)]).max()), int(mask.sum()), tuple(mask.shape)


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) == 2 else 2
    work = sys.argv[1]
    verdicts = []
    for model in sorted(os.listdir(work)):
        for case in sorted(os.listdir(os.path.join(work, model))):
            case_dir = os.path.join(work, model, case)
            if not os.path.isdir(os.path.join(case_dir, "ort-fp32")):
                continue
            res, maxref, ntok, shape = table(case_dir)
            print(f"\n{model}, input {case} ({shape[0]}x{shape[1]}, {ntok} tokens with mask 1; "
                  f"reference ONNX Runtime fp32, max |ref| {maxref:.2f})\n")
            print("| engine | tok cos min | tok cos mean | lhs cos | max abs diff | pooler cos | mean-pool cos |")
            print("|---|---|---|---|---|---|---|")
            for e, x in res.items():
                print(f"| {e} | {x['tok_min']:.6f} | {x['tok_mean']:.6f} | {x['lhs_cos']:.6f} | {x['max_abs']:.3g} | "
                      f"{x['pooler_cos']:.6f} | {x['meanpool_cos']:.6f} |")
            peers = [e for e in ("ort-int8-qattn", "ort-int8-dqmm") if e in res]
            if "bertrt-int8" in res and peers:
                best = max(peers, key=lambda e: (res[e]["tok_min"], -res[e]["max_abs"]))
                b, p = res["bertrt-int8"], res[best]
                parts = []
                for k, label in (("tok_min", "tok cos min"), ("tok_mean", "tok cos mean"), ("max_abs", "max abs diff"),
                                 ("pooler_cos", "pooler cos"), ("meanpool_cos", "mean-pool cos")):
                    worse = b[k] > p[k] if k == "max_abs" else b[k] < p[k]
                    parts.append(f"{label} {b[k]:.6g} vs {p[k]:.6g} {'worse' if worse else 'no worse'}")
                verdicts.append(f"{model} {case}, bertrt int8 vs {best}: " + "; ".join(parts))
    print()
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    sys.exit(main())

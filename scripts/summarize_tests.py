#!/usr/bin/env python3
"""Counts test results from meson's testlog.json files and prints "N passed, N failed".

A doctest executable contributes its test cases (from its own summary line); any other test
counts as one. Several log files may be given (e.g. native, cross and sanitizer builds)."""
import json
import re
import sys

SUMMARY = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")

passed = failed = 0
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        print(f"cannot read {path}: {e}")
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        test = json.loads(line)
        ok = test.get("result") in ("OK", "EXPECTEDFAIL")
        skipped = test.get("result") == "SKIP"
        found = SUMMARY.findall(test.get("stdout", "") or "")
        if found:
            _, p, f = map(int, found[-1])
            passed += p
            failed += f
            if not ok and f == 0:  # crashed or timed out after printing a clean summary
                failed += 1
        elif not skipped:
            if ok:
                passed += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed")

#!/usr/bin/env python3
"""Counts test results from meson's testlog.json files and prints "N passed, N failed".

A doctest executable contributes its test cases (from its own summary line), a pytest run its
tests (from pytest's final summary: "N passed, N failed, N error, N skipped"; errors count as
failed, skipped tests are not counted); any other test counts as one. Several log files may be
given (e.g. native, cross and sanitizer builds)."""
import json
import re
import sys

DOCTEST = re.compile(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
# pytest's last line: "==== 3 failed, 40 passed, 1 skipped in 2.31s ====" or, with -q,
# "3 failed, 40 passed, 1 skipped in 2.31s"; "no tests ran in 0.01s" when nothing was collected.
PYTEST_LINE = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+|no tests ran)\s+in\s+[\d.]+s\b.*$")
PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b")


def pytest_counts(stdout):
    """(passed, failed) from pytest's final summary line, or None when there is none."""
    for line in reversed(stdout.splitlines()):
        m = PYTEST_LINE.match(line.strip())
        if not m:
            continue
        passed = failed = 0
        for n, word in PYTEST_COUNT.findall(m.group(1)):
            if word in ("passed", "xfailed"):
                passed += int(n)
            elif word in ("failed", "error", "errors", "xpassed"):
                failed += int(n)
        return passed, failed
    return None


def main(paths):
    passed = failed = 0
    for path in paths:
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
            stdout = test.get("stdout", "") or ""
            found = DOCTEST.findall(stdout)
            counts = (int(found[-1][1]), int(found[-1][2])) if found else pytest_counts(stdout)
            if counts is not None:
                p, f = counts
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


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the KTAP document of a test run.

Counts the leaf results (the checks inside each test file): a file whose run
ended before its plan counts the missing checks as failed. The VM's own
verdict counts as one more check: its kernel log scan must be clean and it
must have run to the end. Prints the failures, then "N passed, N failed"
(", N skipped") as the last line, and exits 1 if anything failed.
"""
import argparse
import re
import sys

RESULT = re.compile(r"^(\s*)(not ok|ok) (\d+)( .*)?$")
PLAN = re.compile(r"^(\s*)1\.\.(\d+)\s*$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ktap")
    ap.add_argument("--vm-exit", type=int, default=0)
    a = ap.parse_args()
    passed = failed = skipped = 0
    failures = []
    try:
        lines = open(a.ktap, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        lines = []
        failures.append("no KTAP output from the guest")
        failed += 1
    # Subtest blocks are the indented lines between top-level results.
    sub_plan = sub_seen = 0
    for line in lines:
        m = PLAN.match(line)
        if m and m.group(1):
            sub_plan, sub_seen = int(m.group(2)), 0
            continue
        m = RESULT.match(line)
        if not m:
            continue
        indent, verdict, _, desc = m.groups()
        desc = (desc or "").strip(" -")
        if indent:
            sub_seen += 1
            if "# SKIP" in desc:
                skipped += 1
            elif verdict == "ok":
                passed += 1
            else:
                failed += 1
                failures.append(desc)
        else:
            if sub_seen < sub_plan:
                missing = sub_plan - sub_seen
                failed += missing
                failures.append(f"{desc}: {missing} planned checks never ran")
            elif verdict == "not ok" and sub_seen == 0:
                failed += 1
                failures.append(desc)
            sub_plan = sub_seen = 0
    if a.vm_exit == 0:
        passed += 1
    else:
        failed += 1
        why = {3: "kernel log scan found reports", 125: "guest crashed or timed out"}
        failures.append(f"VM run: {why.get(a.vm_exit, f'exit {a.vm_exit}')}")
    for f in failures:
        print(f"FAILED: {f}")
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

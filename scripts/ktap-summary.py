#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the KTAP documents of a test run.

Arguments: LABEL=FILE for a KTAP document of checks (the host checks), or
LABEL=FILE:VMEXIT for the document of a VM run with the runner's exit code.
Counts the leaf results (the checks inside each test file): a file whose run
ended before its plan counts the missing checks as failed. Each VM's own
verdict counts as one more check: its kernel log scan must be clean and it
must have run to the end. Prints the failures, then "N passed, N failed"
(", N skipped") as the last line, and exits 1 if anything failed.
"""
import argparse
import re
import sys

RESULT = re.compile(r"^(\s*)(not ok|ok) (\d+)( .*)?$")
PLAN = re.compile(r"^(\s*)1\.\.(\d+)\s*$")


def count(path, label):
    """Returns (passed, failed, skipped, failures) of one KTAP document."""
    passed = failed = skipped = 0
    failures = []
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return 0, 1, 0, [f"{label}: no KTAP output"]
    # A flat document (host checks) has its checks at the top level; a VM
    # document nests each test file's checks one level in.
    nested = any(PLAN.match(l) and PLAN.match(l).group(1) for l in lines)
    sub_plan = sub_seen = 0
    top_plan = top_seen = 0
    for line in lines:
        m = PLAN.match(line)
        if m:
            if m.group(1):
                sub_plan, sub_seen = int(m.group(2)), 0
            else:
                top_plan = int(m.group(2))
            continue
        m = RESULT.match(line)
        if not m:
            continue
        indent, verdict, _, desc = m.groups()
        desc = (desc or "").strip(" -")
        leaf = bool(indent) or not nested
        if not indent:
            top_seen += 1
        if leaf:
            sub_seen += 1
            if "# SKIP" in desc:
                skipped += 1
            elif verdict == "ok":
                passed += 1
            else:
                failed += 1
                failures.append(f"{label}: {desc}")
        else:
            if sub_seen < sub_plan:
                missing = sub_plan - sub_seen
                failed += missing
                failures.append(f"{label}: {desc}: {missing} planned checks never ran")
            elif verdict == "not ok" and sub_seen == 0:
                failed += 1
                failures.append(f"{label}: {desc}")
            sub_plan = sub_seen = 0
    if top_seen < top_plan:
        missing = top_plan - top_seen
        failed += missing
        failures.append(f"{label}: {missing} planned tests never ran")
    return passed, failed, skipped, failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("docs", nargs="+", metavar="LABEL=FILE[:VMEXIT]")
    a = ap.parse_args()
    passed = failed = skipped = 0
    failures = []
    why = {
        3: "kernel log scan found reports",
        124: "guest hung (qemu/run dumped its tasks)",
        125: "guest died without a status",
    }
    for doc in a.docs:
        label, _, rest = doc.partition("=")
        path, sep, vm_exit = rest.rpartition(":") if rest.count(":") else (rest, "", "")
        p, f, s, fl = count(path, label)
        passed, failed, skipped = passed + p, failed + f, skipped + s
        failures += fl
        if sep:
            if int(vm_exit) == 0:
                passed += 1
            else:
                failed += 1
                failures.append(f"{label} VM run: {why.get(int(vm_exit), 'exit ' + vm_exit)}")
    for f in failures:
        print(f"FAILED: {f}")
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

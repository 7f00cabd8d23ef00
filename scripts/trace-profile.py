#!/usr/bin/env python3
"""The setup_net / cleanup_net profile of a function_graph trace.

Reads a function_graph trace taken with set_graph_function="setup_net
cleanup_net", funcgraph-proc and funcgraph-tail on, and a max_graph_depth
deep enough to show the pernet callbacks (scripts/trace-guest.sh takes it).
For each of setup_net and cleanup_net it prints what the pernet operations
it ran cost: every function ops_init() called (the .init callbacks, and
ops_init's own allocation of .size bytes), and every function the teardown
helpers (ops_undo_list and the ops_*_list helpers it calls, when they are
not inlined) called: .pre_exit, .exit_rtnl, .exit, .exit_batch, and the RCU
and RTNL waits between them ("init" and "exit" rows); and what the root
function called itself ("core" rows: locking, RCU barriers, and the pernet
calls of any helper the compiler inlined); "preempted" rows are the time
the task was preempted there (interrupts themselves are not traced). One row per function: count, total, median and
p99 duration, and its share of the root function's total time. rnetns's own
rows are marked. With --png, the same breakdown as a bar chart.

Usage: trace-profile.py TRACE [--png FILE] [--top N] [--check N]
  --check N   also verify the profile's shape for N namespaces made and
              destroyed with rnetns loaded (the test of scripts/trace.sh):
              exit status 1 with the reason if it does not hold.
"""
import argparse
import re
import statistics
import sys

ROOTS = ("setup_net", "cleanup_net")
# The netns core's helpers that call pernet callbacks: their children are
# the rows; the helpers themselves (when not inlined) are not.
INIT_CALLERS = {"ops_init"}
EXIT_CALLERS = {"ops_undo_list", "ops_undo_single", "ops_pre_exit_list",
                "ops_exit_rtnl_list", "ops_exit_list", "ops_free_list"}
HELPERS = INIT_CALLERS | EXIT_CALLERS
MODULE = "rnetns"

# " 0)    ip-92    |  + 12.345 us   |      name() {"
LINE = re.compile(r"^\s*(\d+)\)\s+(.*?)\s+\|\s*([^|]*?)\s*\|\s?(.*)$")
DURATION = re.compile(r"([0-9.]+)\s*us")


def parse(lines):
    """Yields (task, kind, name, duration_us) for each open/close/leaf."""
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        _cpu, task, dur, body = m.groups()
        body = body.strip()
        d = DURATION.search(dur)
        us = float(d.group(1)) if d else None
        if body.endswith("() {"):
            yield task, "open", body[:-4], None
        elif body.startswith("} /* ") and body.endswith(" */"):
            yield task, "close", body[5:-3], us
        elif body.endswith("();") and us is not None:
            yield task, "leaf", body[:-3], us


def profile(lines):
    """Per root: its call durations, and per (phase, callee) durations."""
    roots = {r: [] for r in ROOTS}
    rows = {r: {} for r in ROOTS}
    stacks = {}
    for task, kind, name, us in parse(lines):
        st = stacks.setdefault(task, [])
        if kind == "open":
            st.append(name)
            continue
        if kind == "close":
            # Tolerate lost lines: pop to the matching frame.
            if name not in st:
                continue
            while st and st[-1] != name:
                st.pop()
            st.pop()
        if us is None:
            continue
        if name in ROOTS and not st:
            roots[name].append(us)
            continue
        if not st or st[0] not in ROOTS or name in HELPERS:
            continue
        parent = st[-1]
        if name.startswith("preempt_schedule"):
            phase = "preempted"  # the task was preempted here
        elif parent in INIT_CALLERS:
            phase = "init"
        elif parent in EXIT_CALLERS:
            phase = "exit"
        elif parent in ROOTS:
            phase = "core"  # the root's own work, or a helper inlined
        else:
            continue
        rows[st[0]].setdefault((phase, name), []).append(us)
    return roots, rows


def p99(v):
    s = sorted(v)
    return s[min(len(s) - 1, max(0, -(-99 * len(s) // 100) - 1))]


def table(roots, rows, top):
    """The printed profile, and per root the rows shown."""
    out, shown = [], {}
    for r in ROOTS:
        total = sum(roots[r])
        calls = len(roots[r])
        if not calls:
            out.append(f"{r}: not in the trace")
            continue
        out.append(f"{r}: {calls} calls, {total / 1000:.3f} ms in all, "
                   f"median {statistics.median(roots[r]):.1f} us; "
                   f"{len(rows[r])} callees")
        out.append(f"  {'phase':9} {'callee':40} {'count':>5} {'total us':>10} "
                   f"{'median us':>10} {'p99 us':>9} {'share':>6}")
        ranked = sorted(rows[r].items(), key=lambda kv: -sum(kv[1]))
        keep = [kv for i, kv in enumerate(ranked)
                if i < top or f"[{MODULE}]" in kv[0][1]]
        for (phase, name), v in keep:
            mark = "  <- rnetns" if f"[{MODULE}]" in name else ""
            out.append(f"  {phase:9} {name:40} {len(v):5d} {sum(v):10.1f} "
                       f"{statistics.median(v):10.1f} {p99(v):9.1f} "
                       f"{100 * sum(v) / total:5.1f}%{mark}")
        rest = [kv for kv in ranked if kv not in keep]
        if rest:
            t = sum(sum(v) for _, v in rest)
            out.append(f"  {'':9} {f'({len(rest)} more callees)':40} {'':5} {t:10.1f} "
                       f"{'':10} {'':9} {100 * t / total:5.1f}%")
        ours = sum(sum(v) for (_, n), v in rows[r].items() if f"[{MODULE}]" in n)
        out.append(f"  rnetns: {ours:.1f} us of {total:.1f} us "
                   f"({100 * ours / total:.1f}% of {r})")
        out.append("")
        shown[r] = keep
    return "\n".join(out), shown


def png(roots, shown, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(ROOTS), figsize=(13, 6))
    for ax, r in zip(axes, ROOTS):
        total = sum(roots[r]) or 1
        keep = list(reversed(shown.get(r, [])))
        names = [f"{p}: {n}" for (p, n), _ in keep]
        shares = [100 * sum(v) / total for _, v in keep]
        colors = ["tab:red" if f"[{MODULE}]" in n else "tab:blue" for (_, n), _ in keep]
        ax.barh(range(len(keep)), shares, color=colors)
        ax.set_yticks(range(len(keep)))
        ax.set_yticklabels(names, fontsize=7)
        ax.set_xlabel(f"share of {r} time (%)")
        ax.set_title(f"{r}: {len(roots[r])} calls (rnetns in red)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def check(roots, rows, n):
    """Problems with the profile of N namespaces made and destroyed."""
    bad = []
    if len(roots["setup_net"]) != n:
        bad.append(f"setup_net ran {len(roots['setup_net'])} times, want {n}")
    if not roots["cleanup_net"]:
        bad.append("no cleanup_net in the trace")
    want = {("setup_net", "init", f"rnetns_net_init [{MODULE}]"): n,
            ("cleanup_net", "exit", f"rnetns_net_pre_exit [{MODULE}]"): n,
            ("cleanup_net", "exit", f"rnetns_net_exit [{MODULE}]"): n}
    for (r, phase, name), count in want.items():
        got = len(rows[r].get((phase, name), []))
        if got != count:
            bad.append(f"{r}: {phase} row {name}: count {got}, want {count}")
    for r in ROOTS:
        total = sum(roots[r])
        for key, v in rows[r].items():
            if not (0 < min(v) <= statistics.median(v) <= p99(v) <= max(v)):
                bad.append(f"{r}: {key}: durations out of order")
            if total and sum(v) > total * 1.0001:
                bad.append(f"{r}: {key}: more time than {r} itself")
        if len(rows[r]) < 5:
            bad.append(f"{r}: only {len(rows[r])} pernet callees")
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--png")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--check", type=int)
    a = ap.parse_args()
    with open(a.trace, errors="replace") as f:
        roots, rows = profile(f)
    text, shown = table(roots, rows, a.top)
    print(text)
    if a.png:
        png(roots, shown, a.png)
        print(f"profile plot: {a.png}")
    if a.check is not None:
        bad = check(roots, rows, a.check)
        for b in bad:
            print(f"profile check: {b}", file=sys.stderr)
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

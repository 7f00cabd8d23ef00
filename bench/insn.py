#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads what the instruction-count plugin (bench/insncount) wrote and
attributes it to kernel symbols.

The plugin writes, per window the guest opened with a marker, the user and
kernel instructions executed and how often each kernel translation block
started; block records give each block's start address and instruction
lengths, so every instruction is attributed to the symbol it lies in
(/proc/kallsyms of the guest at the time of the window: vmlinux, modules,
JIT-compiled BPF programs).

Used by bench/analyze.py; on its own it prints one window's profile:

    bench/insn.py INSN.txt KALLSYMS [KALLSYMS...] --label L [--top N]
"""

import argparse
import bisect
import json
import sys


class Window:
    """One window: its label, user and kernel instruction totals, and the
    start count of each kernel block (block id -> count)."""

    def __init__(self, label, user, kernel):
        self.label = label
        self.user = user
        self.kernel = kernel
        self.counts = {}

    @property
    def total(self):
        return self.user + self.kernel


def load(path):
    """Blocks (id -> (start address, [instruction lengths])) and windows
    (label -> Window; a label seen twice is an error)."""
    blocks, windows, cur = {}, {}, None
    with open(path) as f:
        for line in f:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "T":
                bid, addr, lens = rest.split(" ")
                blocks[int(bid)] = (int(addr, 16), [int(x) for x in lens.split(",")])
            elif kind == "W":
                label, user, kernel = (int(x) for x in rest.split(" "))
                if label in windows:
                    raise ValueError(f"{path}: window {label} twice")
                cur = Window(label, user, kernel)
            elif kind == "C":
                bid, count = rest.split(" ")
                cur.counts[int(bid)] = int(count)
            elif kind == "E":
                windows[cur.label] = cur
                cur = None
    return blocks, windows


class Symbols:
    """Kernel text symbols from /proc/kallsyms dumps: name and module
    ("" for vmlinux, "bpf" for BPF programs) of the symbol an address lies
    in (the nearest symbol at or below it)."""

    def __init__(self, paths):
        syms = {}
        for p in paths:
            with open(p) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 3 or parts[1] not in "tTwW":
                        continue
                    mod = parts[3].strip("[]") if len(parts) > 3 else ""
                    syms[int(parts[0], 16)] = (parts[2], mod)
        self.addrs = sorted(syms)
        self.info = [syms[a] for a in self.addrs]

    def lookup(self, addr):
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.info[i] if i >= 0 else ("?", "")


def profile(blocks, window, syms):
    """Instructions per (symbol, module) in a window."""
    out = {}
    for bid, count in window.counts.items():
        addr, lens = blocks[bid]
        for n in lens:
            key = syms.lookup(addr)
            out[key] = out.get(key, 0) + count
            addr += n
    return out


# What each variant runs per packet on top of "none", for "hook
# instructions": its own code and the out-of-line kernel functions that code
# calls (measured as the change against "none" in the same round, so code
# that "none" runs too only counts for what the variant adds).
def hook_symbol(variant, name, module):
    if variant in ("rnetns", "rnetns-off"):
        return module == "rnetns"
    if variant == "ctwin":
        return module == "rnetns_ctwin"
    if variant == "nft":
        # the base chain, its rule and the counter expression; the counter
        # disables BH around its update (__local_bh_enable_ip)
        return module == "" and (name.startswith(("nft_", "__nft_", "nf_tables_"))
                                 or name == "__local_bh_enable_ip")
    if variant == "ebpf":
        # the JIT-compiled program and the netfilter hook that runs it
        return module == "bpf" or name == "nf_hook_run_bpf"
    return False


# The netfilter hook framework: the same for every variant with hooks.
FRAMEWORK = ("nf_hook_slow", "nf_hook_slow_list")
# Hook points a datagram crosses: output and postrouting where it is sent,
# prerouting and input where it is received.
HOOKS_PER_PACKET = 4
UNITS = {"veth": "packet", "lo": "packet", "proc-open": "read", "proc-pread": "read", "proc-open-held": "read",
         "nl-dump": "namespace", "setns-read": "namespace", "ip-exec": "namespace",
         "create": "namespace created and destroyed"}

# What the rnetns family costs a namespace's creation and teardown when
# nobody listens: the listener check (Family::has_listeners, kept out of
# line for this; rnetns's C helper and the netlink core's
# netlink_has_listeners() once a socket has joined a group, the latter
# called by other code too: counted as the change against none).
FAMILY_OWN = ("rnetns_genl_has_listeners",)
FAMILY_SHARED = ("netlink_has_listeners",)


def family_symbol(name, module):
    """Whether a symbol is part of the family's listener check."""
    return (name in FAMILY_OWN + FAMILY_SHARED
            or (module == "rnetns" and "has_listeners" in name))


def window_units(path, d):
    """How many units (UNITS) a window's record covers."""
    if path in ("veth", "lo"):
        return d.get("tx")
    if path == "nl-dump":
        return d.get("count", 0) * d.get("namespaces_per_dump", 0)
    if path == "setns-read":
        return d.get("count", 0) * d.get("namespaces", 0)
    return d.get("count")


def summary(xs):
    xs = sorted(xs)
    if not xs:
        return None
    n = len(xs)
    medv = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return {"n": n, "median": medv, "min": xs[0], "max": xs[-1],
            "spread": (xs[-1] - xs[0]) / medv if medv else None}


def boot_records(directory):
    """The instruction windows' records of one boot (its raw.jsonl)."""
    recs = []
    with open(f"{directory}/raw.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if r.get("stage") == "insn":
                recs.append(r)
    return recs


def skipped(boot_dirs):
    """The variants that the guest skipped in any of the boots (on a kernel
    without BPF: the eBPF peer), with the reason it recorded."""
    out = {}
    for directory in boot_dirs:
        with open(f"{directory}/raw.jsonl") as f:
            for line in f:
                r = json.loads(line)
                if r.get("stage") == "skip":
                    out.setdefault(r.get("variant"), (r.get("data") or {}).get("reason", ""))
    return out


def analyse(boot_dirs):
    """Instruction results of the instruction-count boots: each directory
    holds the plugin's insn.txt, the guest's raw.jsonl and its symbol dumps
    (kallsyms-vmlinux.txt and one kallsyms-ROUND-VARIANT.txt per variant).
    Returns (results by path and variant, problems found)."""
    per = {}      # (path, variant) -> list of per-round dicts
    problems = []
    for boot, directory in enumerate(boot_dirs):
        blocks, windows = load(f"{directory}/insn.txt")
        syms_cache = {}
        rows = {}
        for r in boot_records(directory):
            w = windows.get(r["label"])
            if w is None:
                problems.append(f"boot {boot}: no window {r['label']} ({r['variant']} {r['path']})")
                continue
            d = r["data"]
            units = window_units(r["path"], d)
            if not units:
                problems.append(f"boot {boot}: window {r['label']} ({r['variant']} {r['path']}) covers nothing")
                continue
            if r["path"] in ("veth", "lo") and d.get("rx") != d.get("tx"):
                problems.append(f"boot {boot}: {r['variant']} {r['path']} round {r['round']}: "
                                f"{d.get('rx')} of {d.get('tx')} datagrams arrived")
            if r["syms"] not in syms_cache:
                syms_cache[r["syms"]] = Symbols([f"{directory}/kallsyms-vmlinux.txt",
                                                 f"{directory}/{r['syms']}"])
            prof = profile(blocks, w, syms_cache[r["syms"]])
            rows[(r["round"], r["variant"], r["path"])] = (w, units, prof)
        for (rnd, v, path), (w, units, prof) in rows.items():
            base = rows.get((rnd, "none", path))
            row = {"boot": boot, "round": rnd, "total": w.total / units,
                   "user": w.user / units, "kernel": w.kernel / units}
            if base is not None:
                bw, bunits, bprof = base
                row["vs_none"] = row["total"] - bw.total / bunits
                hook = fw = 0.0
                for key in set(prof) | set(bprof):
                    delta = prof.get(key, 0) / units - bprof.get(key, 0) / bunits
                    if hook_symbol(v, *key):
                        hook += delta
                    elif key[0] in FRAMEWORK:
                        fw += delta
                row["hook"] = hook
                row["framework"] = fw
                if path == "create":
                    row["family"] = sum(
                        prof.get(key, 0) / units - (bprof.get(key, 0) / bunits if key[0] in FAMILY_SHARED else 0)
                        for key in set(prof) | set(bprof)
                        if family_symbol(*key))
                if v != "none":
                    row["own_symbols"] = sorted(
                        {f"{k[0]} [{k[1]}]" if k[1] else k[0] for k in prof if hook_symbol(v, *k)})
            per.setdefault((path, v), []).append(row)
    res = {}
    for (path, v), rows in sorted(per.items()):
        out = {"unit": UNITS.get(path, "?"), "rounds": rows}
        for k in ("total", "user", "kernel", "vs_none", "hook", "framework", "family"):
            vals = [x[k] for x in rows if k in x]
            if vals:
                out[k] = summary(vals)
        if path in ("veth", "lo") and "hook" in out:
            out["hook_per_call"] = summary([x["hook"] / HOOKS_PER_PACKET for x in rows])
        syms = sorted({s for x in rows for s in x.get("own_symbols", [])})
        if syms:
            out["hook_symbols"] = syms
        res.setdefault(path, {})[v] = out
    return res, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("insn")
    ap.add_argument("kallsyms", nargs="+")
    ap.add_argument("--label", type=int, required=True)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--per", type=float, default=1.0, help="divide counts by this")
    a = ap.parse_args()
    blocks, windows = load(a.insn)
    w = windows[a.label]
    prof = profile(blocks, w, Symbols(a.kallsyms))
    print(f"window {w.label}: user {w.user / a.per:.1f}, kernel {w.kernel / a.per:.1f}")
    for (name, mod), n in sorted(prof.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"{n / a.per:12.1f}  {name}{' [' + mod + ']' if mod else ''}")


if __name__ == "__main__":
    sys.exit(main())

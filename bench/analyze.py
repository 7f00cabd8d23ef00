#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Analysis of the rnetns benchmarks (run by scripts/bench.sh).

Reads the JSON lines that scripts/bench-guest.sh wrote in the VM, and
writes bench.json (machine-readable: conditions, every sample, summaries,
targets), table.md (also printed) and PNG plots into --out.

Statistics: every figure is the median over interleaved rounds, with the
minimum and maximum (and quartiles in bench.json). Ratios to "none" are the
median of per-round ratios (each round measures every variant back to back).
ns per hook = (1/pps(variant) - 1/pps(none)) / 4, per round: a one-way UDP
datagram crosses 4 hooks of one family (output + postrouting, prerouting +
input). Under TCG every absolute time is emulated time, labelled "TCG".

Instructions: with --insn, the directories of the instruction-count boots
(QEMU TCG plugin bench/insncount, one vCPU; bench/insn.py attributes every
executed instruction to a kernel symbol). Those figures are exact counts,
not times: they come first, the timed figures are the second column.

With --insn-only (the arm64 run, which has no timed boot), --raw is the
first instruction-count boot's raw.jsonl: only the instruction table and
its targets are judged and printed, and the eBPF peer that the guest was
told to skip (--no-ebpf) is no gap.

Skipped variants: on a kernel without BPF (the test kernels) the guest
skips the eBPF peer in every boot and records why ("skip" records). With
--smoke that run is complete without it (the table says it was skipped); a
full run without it is incomplete, as with any missing variant.

Exit status: 0 if the data are complete (targets may be missed), 1 if the
benchmark broke (errors recorded, missing measurements, VM failure).
"""

import argparse
import json
import os
import math
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

VARIANTS = ["none", "rnetns", "ctwin", "nft", "ebpf"]
# The instruction-count boot's variants: rnetns-off is rnetns loaded with
# counting switched off (hooks=none) in the benchmark's namespaces.
INSN_VARIANTS = ["none", "rnetns", "rnetns-off", "ctwin", "nft", "ebpf"]
INSN_NAMES = {"none": "none", "rnetns": "rnetns", "rnetns-off": "rnetns, counting off",
              "ctwin": "C twin", "nft": "nft counter", "ebpf": "eBPF"}
MODULES = ["rnetns", "ctwin"]
PATHS = ["veth", "lo"]
HOOKS_PER_PACKET = 4
COUNTERS_PER_NS = 10        # 5 hook points x 2 families
COUNTER_BYTES = 16          # u64 packets + u64 bytes, per CPU


def stats(xs):
    xs = sorted(x for x in xs if x is not None and math.isfinite(x))
    if not xs:
        return None
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "q1": q1, "q3": q3, "n": len(xs), "samples": xs}


def med(s):
    return s["median"] if s else None


def fmt(x, digits=0, scale=1.0):
    if x is None:
        return "n/a"
    v = x * scale
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def fmt_range(s, digits=0, scale=1.0):
    if not s:
        return "n/a"
    if s["n"] == 1:
        return fmt(s["median"], digits, scale)
    return (f"{fmt(s['median'], digits, scale)} "
            f"[{fmt(s['min'], digits, scale)}–{fmt(s['max'], digits, scale)}]")


class Data:
    """The raw records, indexed."""

    def __init__(self, path):
        self.records = []
        self.bad_lines = 0
        try:
            with open(path) as f:
                for line in f:
                    if not line.strip():
                        continue
                    try:
                        self.records.append(json.loads(line))
                    except json.JSONDecodeError:
                        self.bad_lines += 1
        except OSError as e:
            print(f"analyze: cannot read {path}: {e}", file=sys.stderr)
        self.env = next((r["data"] for r in self.records if r.get("stage") == "env"), {})
        self.end = next((r["data"] for r in self.records if r.get("stage") == "end"), None)
        self.errors = [r for r in self.records if r.get("stage") == "error"]
        # Variants the guest could not run on its kernel: variant -> why.
        self.skipped = {r.get("variant"): (r.get("data") or {}).get("reason", "")
                        for r in self.records if r.get("stage") == "skip"}

    def stage(self, name, **kw):
        for r in self.records:
            if r.get("stage") == name and all(r.get(k) == v for k, v in kw.items()):
                yield r


def by_round(records, key):
    out = {}
    for r in records:
        v = r["data"].get(key)
        if v is not None:
            out[r.get("round", 0)] = v
    return out


def paired(a, b, f):
    """f(a[r], b[r]) over the rounds both have."""
    return [f(a[r], b[r]) for r in sorted(a) if r in b]


TRACE_RE = re.compile(r":\s+(kmalloc|kmem_cache_alloc|kfree|kmem_cache_free|"
                      r"percpu_alloc_percpu|percpu_free_percpu):\s+(.*)$")


_DEMANGLED = {}


def symbol(call_site):
    """A call site's function, Rust v0 symbols demangled (llvm-cxxfilt)."""
    name = call_site.split("+", 1)[0]
    if not name.startswith("_R"):
        return name
    if name not in _DEMANGLED:
        try:
            out = subprocess.run(["llvm-cxxfilt", name], capture_output=True, text=True,
                                 check=False, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        _DEMANGLED[name] = out or name
    return _DEMANGLED[name]


def alloc_trace(path, namespaces):
    """What a module's load allocated and kept for each namespace, from
    kmem/percpu trace events with stacks: the live objects allocated under
    ops_init() (the pernet init path), grouped by call site and size."""
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return None
    # An interrupt can log its own event between an event and that event's
    # "<stack trace>": give each stack to the latest stackless event of the
    # same context (the flags column, e.g. "....." or "..s..").
    flags_re = re.compile(r"\[\d+\]\s+(\S+)\s+[\d.]+:\s")
    events = []  # [event, fields, stack, flags]
    target = None
    for line in lines:
        if line.startswith(" => "):
            if target is not None:
                target[2].append(line[4:].strip())
            continue
        fm = flags_re.search(line)
        flags = fm.group(1) if fm else ""
        if "<stack trace>" in line:
            target = next((e for e in reversed(events) if not e[2] and e[3] == flags), None)
            continue
        target = None
        m = TRACE_RE.search(line)
        if m:
            events.append([m.group(1), dict(re.findall(r"(\w+)=(\S+)", m.group(2))), [], flags])
    live = {}
    for ev, f, stack, _ in events:
        ptr = f.get("ptr")
        pernet = any(fr.startswith("ops_init") for fr in stack)
        if ev in ("kmalloc", "kmem_cache_alloc"):
            live[("slab", ptr)] = (pernet, "slab", symbol(f.get("call_site", "?")),
                                   int(f.get("bytes_req", 0)), int(f.get("bytes_alloc", 0)))
        elif ev in ("kfree", "kmem_cache_free"):
            live.pop(("slab", ptr), None)
        elif ev == "percpu_alloc_percpu":
            live[("percpu", ptr)] = (pernet, "percpu", symbol(f.get("call_site", "?")),
                                     int(f.get("size", 0)), int(f.get("bytes_alloc", 0)))
        elif ev == "percpu_free_percpu":
            live.pop(("percpu", ptr), None)
    groups = Counter(v[1:] for v in live.values() if v[0])
    per_ns = []
    for (kind, site, req, alloc), n in sorted(groups.items(), key=lambda x: (-x[0][3] * x[1], x[0][1])):
        per_ns.append({"kind": kind, "call_site": site, "bytes_req": req, "bytes_alloc": alloc,
                       "count": n, "per_ns": n / namespaces if namespaces else None})
    slab = [e for e in per_ns if e["kind"] == "slab"]
    pcpu = [e for e in per_ns if e["kind"] == "percpu"]
    return {
        "namespaces": namespaces,
        "events": len(events),
        "stacks": sum(1 for e in events if e[2]),
        "per_ns": per_ns,
        "slab_bytes_per_ns": sum(e["bytes_alloc"] * e["per_ns"] for e in slab),
        "slab_requested_per_ns": sum(e["bytes_req"] * e["per_ns"] for e in slab),
        "slab_objects_per_ns": sum(e["per_ns"] for e in slab),
        "percpu_bytes_per_ns": sum(e["bytes_alloc"] * e["per_ns"] for e in pcpu),
    }


def analyse(d, mid, big, raw_dir=None):
    res = {}

    # Packet path.
    pps = {p: {v: by_round(d.stage("pps", path=p, variant=v), "rx_pps") for v in VARIANTS}
           for p in PATHS}
    res["pps"] = {p: {v: stats(pps[p][v].values()) for v in VARIANTS} for p in PATHS}
    res["pps_vs_none"] = {p: {v: stats(paired(pps[p][v], pps[p]["none"], lambda x, y: x / y))
                              for v in VARIANTS if v != "none"} for p in PATHS}
    res["ns_per_hook_tcg"] = {
        p: {v: stats(paired(pps[p][v], pps[p]["none"],
                            lambda x, y: (1 / x - 1 / y) * 1e9 / HOOKS_PER_PACKET))
            for v in VARIANTS if v != "none"} for p in PATHS}
    res["drops"] = {p: {v: sum(r["data"]["tx"] - r["data"]["rx"]
                               for r in d.stage("pps", path=p, variant=v)) for v in VARIANTS}
                    for p in PATHS}
    hc = {v: by_round(d.stage("hookcheck", variant=v), "ipv4_input_packets_in_B") for v in VARIANTS}
    res["hooks_saw_traffic"] = {v: bool(hc[v]) and all((x or 0) > 0 for x in hc[v].values())
                                for v in VARIANTS if v != "none"}

    # Direct hook timing (bench/hookbench).
    hb = {v: list(d.stage("hookbench", variant=v)) for v in VARIANTS}
    res["hook_call_ns_tcg"] = {v: stats([r["data"]["ns_per_call"] for r in hb[v]
                                         if r["data"]["entries"] > 0]) for v in VARIANTS if v != "none"}
    res["hook_entries"] = {v: sorted({r["data"]["entries"] for r in hb[v]}) for v in VARIANTS}

    # /proc reads.
    res["procread_us_tcg"] = {
        m: {v: stats([r["data"]["per_read_secs"] * 1e6 for r in d.stage("procread", mode=m, variant=v)])
            for v in MODULES} for m in ("open", "pread")}

    # Churn.
    res["churn"] = {}
    for live in (0, mid):
        for w in (1, 2):
            per = {v: by_round(d.stage("churn", live=live, variant=v, workers=w), "pairs_per_sec")
                   for v in ("none", "rnetns", "ctwin")}
            timed_out = sum(r["data"].get("timed_out", 0)
                            for r in d.stage("churn", live=live, workers=w))
            res["churn"][f"live{live}_w{w}"] = {
                "live": live, "workers": w, "timed_out": timed_out,
                "pairs_per_sec": {v: stats(per[v].values()) for v in per},
                "vs_none": {v: stats(paired(per[v], per["none"], lambda x, y: x / y))
                            for v in ("rnetns", "ctwin")},
            }

    # Load and unload.
    sizes = [0, mid, big]
    res["load"] = {}
    for s in sizes:
        e = {}
        for v in MODULES:
            ld = stats([r["data"]["secs"] for r in d.stage("load", live=s, variant=v)])
            ul = stats([r["data"]["secs"] for r in d.stage("unload", live=s, variant=v)])
            e[v] = {"insmod_secs": ld, "rmmod_secs": ul}
        res["load"][str(s)] = e
    for v in MODULES:
        for op in ("insmod_secs", "rmmod_secs"):
            t0 = med(res["load"]["0"][v][op])
            for s in (mid, big):
                ts = med(res["load"][str(s)][v][op])
                per = (ts - t0) / s if ts is not None and t0 is not None and s else None
                res["load"][str(s)][v][op.replace("_secs", "_per_ns_us")] = \
                    per * 1e6 if per is not None else None

    # What the module's init and exit cost per namespace (from the load and
    # unload times) against the time of a create+destroy pair without it:
    # the churn ratio expected, with far less noise than churn itself.
    c_in = res["load"].get(str(mid), {}).get("rnetns", {}).get("insmod_per_ns_us")
    c_out = res["load"].get(str(mid), {}).get("rnetns", {}).get("rmmod_per_ns_us")
    none_rate = med(res["churn"].get("live0_w1", {}).get("pairs_per_sec", {}).get("none"))
    if c_in is not None and c_out is not None and none_rate:
        cost = max(0.0, c_in) + max(0.0, c_out)
        pair = 1e6 / none_rate
        res["churn_model"] = {"cost_us": cost, "pair_ms": pair / 1e3, "ratio": pair / (pair + cost)}
    else:
        res["churn_model"] = {}

    # Memory.
    def snap(r):
        m = r["data"]["meminfo"]
        return {"SUnreclaim": m.get("SUnreclaim", 0) * 1024, "Slab": m.get("Slab", 0) * 1024,
                "Percpu": m.get("Percpu", 0) * 1024, "slab_objects": r["data"]["slab_active_bytes"],
                "caches": {k: v[0] * v[2] for k, v in r["data"]["slabinfo"].items()}}

    def mod_delta(live, v):
        before = {r["round"]: snap(r) for r in d.stage("mem", when="before", live=live, variant=v)}
        loaded = {r["round"]: snap(r) for r in d.stage("mem", when="loaded", live=live, variant=v)}
        out = {}
        for k in ("SUnreclaim", "Slab", "Percpu", "slab_objects"):
            out[k] = med(stats(paired(loaded, before, lambda a, b: a[k] - b[k])))
        caches = defaultdict(list)
        for r in sorted(loaded):
            if r in before:
                for c in set(loaded[r]["caches"]) | set(before[r]["caches"]):
                    caches[c].append(loaded[r]["caches"].get(c, 0) - before[r]["caches"].get(c, 0))
        out["caches"] = {c: statistics.median(x) for c, x in caches.items()}
        return out

    res["memory"] = {}
    ncpu = int(d.env.get("cpus", 0) or 0)
    possible = d.env.get("possible_cpus", "")
    try:
        lo_, _, hi_ = possible.partition("-")
        npossible = int(hi_ or lo_) + 1
    except ValueError:
        npossible = ncpu
    block = COUNTERS_PER_NS * COUNTER_BYTES * npossible
    res["percpu_counter_block_bytes"] = block
    for s in (mid, big):
        pre = [snap(r) for r in d.stage("mem", when="prehold", live=s)]
        held = [snap(r) for r in d.stage("mem", when="held", live=s)]
        e = {"live": s}
        if pre and held and s:
            e["netns_itself_per_ns"] = {k: (held[0][k] - pre[0][k]) / s
                                        for k in ("SUnreclaim", "Slab", "Percpu", "slab_objects")}
        for v in MODULES:
            a, z = mod_delta(s, v), mod_delta(0, v)
            per = {}
            for k in ("SUnreclaim", "Slab", "Percpu", "slab_objects"):
                per[k] = (a[k] - z[k]) / s if a[k] is not None and z[k] is not None and s else None
            caches = {c: (a["caches"].get(c, 0) - z["caches"].get(c, 0)) / s
                      for c in set(a["caches"]) | set(z["caches"])} if s else {}
            top = sorted(((c, b) for c, b in caches.items() if abs(b) >= 8), key=lambda x: -x[1])[:8]
            per["top_caches"] = dict(top)
            per["module_fixed_bytes"] = {k: z[k] for k in ("SUnreclaim", "Percpu", "slab_objects")}
            e[v] = per
        res["memory"][str(s)] = e

    # Allocations kept per namespace, from the trace of each module's load.
    res["alloc_trace"] = {}
    for r in d.stage("alloctrace"):
        if raw_dir is not None:
            res["alloc_trace"][r["variant"]] = alloc_trace(Path(raw_dir) / r["data"]["file"],
                                                           r["data"]["namespaces"])

    # Namespace creation and teardown of the held sets.
    res["hold"] = {str(r["live"]): r["data"] for r in d.stage("hold")}
    res["drain"] = {str(r["live"]): r["data"] for r in d.stage("drain")}

    # Every namespace at once, three ways, by namespaces held: µs per
    # namespace, and per-round ratios of the whole set's time to one dump's
    # (ip netns exec runs on the named namespaces only: its whole-set time
    # is its per-namespace time times the namespaces a dump lists).
    res["nsall"] = {}
    for live in sorted({r["live"] for r in d.stage("nsall")}):
        def recs(way):
            return {r["round"]: r["data"] for r in d.stage("nsall", live=live, way=way)}
        dump, setns, ipexec = recs("dump"), recs("setns"), recs("ipexec")
        n = next((x["namespaces_per_dump"] for x in dump.values()), None)
        res["nsall"][str(live)] = {
            "namespaces": n,
            "named": next((x["namespaces"] for x in ipexec.values()), None),
            "dump_us_per_ns": stats([x["per_dump_secs"] / x["namespaces_per_dump"] * 1e6
                                     for x in dump.values() if x["namespaces_per_dump"]]),
            "setns_us_per_ns": stats([x["per_ns_secs"] * 1e6 for x in setns.values()]),
            "ipexec_us_per_ns": stats([x["per_ns_secs"] * 1e6 for x in ipexec.values()]),
            "dump_ms": stats([x["per_dump_secs"] * 1e3 for x in dump.values()]),
            "setns_over_dump": stats(paired(setns, dump, lambda a, b: a["per_ns_secs"] * a["namespaces"]
                                            / b["per_dump_secs"] if b["per_dump_secs"] else None)),
            "ipexec_over_dump": stats(paired(ipexec, dump, lambda a, b: a["per_ns_secs"] * b["namespaces_per_dump"]
                                             / b["per_dump_secs"] if b["per_dump_secs"] else None)),
        }
        # The rnetns command (its process start included) against a shell
        # loop of ip netns exec over the whole set, per round; the exporter's
        # CPU time per scrape per namespace.
        for way in ("cli-list", "cli-metrics"):
            c = recs(way)
            if not c:
                continue
            key = way.replace("-", "_")
            res["nsall"][str(live)].update({
                f"{key}_ms": stats([x["secs"] * 1e3 for x in c.values()]),
                f"ipexec_over_{key}": stats(paired(ipexec, c, lambda a, b: a["per_ns_secs"] * b["namespaces"]
                                                   / b["secs"] if b["secs"] else None)),
                f"{key}_cpu_us_per_ns": stats([x["cpu_secs"] / x["namespaces"] * 1e6 for x in c.values()
                                               if x["namespaces"]]),
            })
    return res


def ratio_range(a, b):
    """Ratio of medians of a to b, with a quartile-based range."""
    if not a or not b or not b["median"]:
        return None, None, None
    r = a["median"] / b["median"]
    lo = a["q1"] / b["q3"] if b["q3"] > 0 else None
    hi = a["q3"] / b["q1"] if b["q1"] > 0 else None
    return r, lo, hi


def targets(res, env, big, mid):
    out = []

    def add(name, value, op, limit, note="", lo=None, hi=None):
        if value is None:
            met = None
        else:
            met = value <= limit if op == "<=" else value >= limit
        noisy = (lo is not None and hi is not None and lo <= limit <= hi)
        out.append({"target": name, "value": value, "op": op, "limit": limit, "met": met,
                    "range": [lo, hi] if lo is not None else None,
                    "within_noise": noisy, "note": note})

    nh, hb = res["ns_per_hook_tcg"], res["hook_call_ns_tcg"]
    for p in PATHS:
        r, lo, hi = ratio_range(nh[p]["rnetns"], nh[p]["ctwin"])
        add(f"ns/hook rnetns ÷ C twin ({p} pps)", r, "<=", 1.05, "ratio of medians", lo, hi)
    r, lo, hi = ratio_range(hb["rnetns"], hb["ctwin"])
    add("ns/hook rnetns ÷ C twin (direct hook timing)", r, "<=", 1.05, "ratio of medians", lo, hi)
    for p in PATHS:
        r, lo, hi = ratio_range(nh[p]["rnetns"], nh[p]["nft"])
        add(f"ns/hook rnetns ÷ nft counter ({p} pps)", r, "<=", 0.5, "ratio of medians", lo, hi)
    r, lo, hi = ratio_range(hb["rnetns"], hb["nft"])
    add("ns/hook rnetns ÷ nft counter (direct hook timing)", r, "<=", 0.5, "ratio of medians", lo, hi)
    s = res["pps_vs_none"]["veth"]["rnetns"]
    c = res["pps_vs_none"]["veth"]["ctwin"]
    add("pps rnetns ÷ none (veth)", med(s), ">=", 0.98,
        f"median of per-round ratios; C twin {fmt(med(c), 3)}",
        s["q1"] if s else None, s["q3"] if s else None)
    model = res.get("churn_model", {})
    if model.get("ratio") is not None:
        add("churn rnetns ÷ none, from the per-namespace init + exit cost (0 alive, 1 worker)",
            model["ratio"], ">=", 0.98,
            f"{fmt(model['cost_us'], 1)} µs (TCG) per namespace (insmod + rmmod per "
            f"namespace at {mid}) against {fmt(model['pair_ms'], 1)} ms per pair without the module")
    for key, ch in res["churn"].items():
        s = ch["vs_none"]["rnetns"]
        c = ch["vs_none"]["ctwin"]
        add(f"churn rnetns ÷ none ({ch['live']} alive, {ch['workers']} worker{'s' if ch['workers'] > 1 else ''})",
            med(s), ">=", 0.98, f"median of per-round ratios; C twin {fmt(med(c), 3)}",
            s["q1"] if s else None, s["q3"] if s else None)
    m = res["memory"].get(str(mid), {}).get("rnetns", {})
    mc = res["memory"].get(str(mid), {}).get("ctwin", {})
    tr = res.get("alloc_trace", {}).get("rnetns") or {}
    trc = res.get("alloc_trace", {}).get("ctwin") or {}
    block = res["percpu_counter_block_bytes"]
    if m.get("SUnreclaim") is not None:
        # /proc/meminfo's Percpu moves by whole pages: use the traced bytes.
        pc = tr.get("percpu_bytes_per_ns", m.get("Percpu") or 0)
        add(f"memory per namespace, rnetns, at {mid} (slab + per-CPU, bytes)", m["SUnreclaim"] + pc, "<=",
            1024 + block, f"slab {fmt(m['SUnreclaim'])} B (SUnreclaim delta; traced: "
            f"{fmt(tr.get('slab_bytes_per_ns'))} B) + per-CPU {fmt(pc)} B (traced); "
            f"C twin: slab {fmt(mc.get('SUnreclaim'))} B (traced {fmt(trc.get('slab_bytes_per_ns'))} B) "
            f"+ per-CPU {fmt(trc.get('percpu_bytes_per_ns'))} B; limit 1 KiB + {block} B counter block")
    else:
        add(f"memory per namespace, rnetns, at {mid}", None, "<=", 1024 + block)
    for op, name in (("insmod_secs", "insmod"), ("rmmod_secs", "rmmod")):
        t = res["load"].get(str(big), {}).get("rnetns", {}).get(op)
        add(f"{name} with {big} namespaces (s, TCG)", med(t), "<=", 1.0,
            "emulated wall time; hardware is faster")
    na = res.get("nsall", {}).get(str(mid), {})
    r = na.get("setns_over_dump")
    add(f"every namespace's counters at {mid} namespaces: setns + read each ÷ one netlink dump (time)",
        med(r), ">=", 20, f"median of per-round ratios; {fmt(med(na.get('dump_ms')), 1)} ms per dump of "
        f"{na.get('namespaces')} namespaces (TCG); ip netns exec each ÷ dump {fmt(med(na.get('ipexec_over_dump')))}",
        r["q1"] if r else None, r["q3"] if r else None)
    for op, name in (("insmod_per_ns_us", "insmod"), ("rmmod_per_ns_us", "rmmod")):
        a = res["load"].get(str(mid), {}).get("rnetns", {}).get(op)
        b = res["load"].get(str(big), {}).get("rnetns", {}).get(op)
        r = b / a if a and b else None
        add(f"{name} scales linearly (per-ns cost at {big} ÷ at {mid})", r, "<=", 1.5,
            f"{fmt(a, 1)} µs vs {fmt(b, 1)} µs per namespace (TCG)")
    return out


def insn_get(res, path, v, key):
    """The summary of an instruction figure, or None."""
    return ((res.get("insn") or {}).get(path) or {}).get(v, {}).get(key)


def insn_targets(res):
    """The goals on instruction counts."""
    out = []
    if not res.get("insn"):
        return out

    def add(name, value, op, limit, note=""):
        if value is None:
            met = None
        elif op == "<=":
            met = value <= limit
        elif op == "<":
            met = value < limit
        else:
            met = value >= limit
        out.append({"target": name, "value": value, "op": op, "limit": limit, "met": met,
                    "range": None, "within_noise": False, "note": note})

    def m(path, v, key):
        x = insn_get(res, path, v, key)
        return x["median"] if x else None

    for p in PATHS:
        a, b = m(p, "rnetns", "hook_per_call"), m(p, "ctwin", "hook_per_call")
        add(f"hook instructions per hook call, |rnetns − C twin| ({p})",
            abs(a - b) if a is not None and b is not None else None, "<=", 3,
            f"rnetns {fmt(a, 1)}, C twin {fmt(b, 1)}; per packet (4 hooks) "
            f"{fmt(m(p, 'rnetns', 'hook'), 1)} and {fmt(m(p, 'ctwin', 'hook'), 1)}")
        n = m(p, "nft", "hook")
        a = m(p, "rnetns", "hook")
        add(f"hook instructions per packet, rnetns ÷ nft counter ({p})",
            a / n if a is not None and n else None, "<=", 0.25, f"rnetns {fmt(a, 1)}, nft {fmt(n, 1)}")
        e = m(p, "ebpf", "hook")
        add(f"hook instructions per packet, rnetns ÷ eBPF ({p})",
            a / e if a is not None and e else None, "<", 1.0, f"rnetns {fmt(a, 1)}, eBPF {fmt(e, 1)}")
    for p in PATHS:
        off, none = m(p, "rnetns-off", "total"), m(p, "none", "total")
        add(f"end-to-end instructions per packet, counting off ÷ none − 1 ({p}), %",
            abs(off / none - 1) * 100 if off is not None and none else None, "<", 0.5,
            f"{fmt(off, 1)} against {fmt(none, 1)}")
    for p, name in (("proc-open", "open + read + close"), ("proc-pread", "pread")):
        a, b = m(p, "rnetns", "total"), m(p, "ctwin", "total")
        add(f"instructions per /proc/net/rnetns read ({name}), rnetns ÷ C twin",
            a / b if a is not None and b else None, "<=", 1.05, f"{fmt(a)} against {fmt(b)}")
    a, b = m("nl-dump", "rnetns", "total"), m("proc-open-held", "rnetns", "total")
    add("instructions per namespace, netlink dump ÷ one /proc/net/rnetns read (open + read + close)",
        a / b if a is not None and b else None, "<", 1.0,
        f"{fmt(a)} per namespace in a dump against {fmt(b)} per read; setns + read "
        f"{fmt(m('setns-read', 'rnetns', 'total'))}, ip netns exec {fmt(m('ip-exec', 'rnetns', 'total'))} per namespace")
    f = m("create", "rnetns", "family")
    add("instructions the netlink family adds to a namespace's creation, nobody listening",
        f / 2 if f is not None else None, "<", 20,
        f"the listener check, by symbol (rnetns's Family::has_listeners; once a socket has joined "
        f"a group also rnetns_genl_has_listeners, and netlink_has_listeners as the change against none): {fmt(f, 1)} per creation and teardown, one check each")
    worst, where = None, ""
    for p, vs in res["insn"].items():
        if p not in PATHS + ["proc-open", "proc-pread"]:
            continue  # whole processes (ip netns exec) and namespace lifecycles vary more
        for v, o in vs.items():
            for k in ("total", "hook"):
                sp = (o.get(k) or {}).get("spread")
                if sp is not None and (worst is None or sp > worst):
                    worst, where = sp, f"{INSN_NAMES.get(v, v)} {p} {k}"
    add("run-to-run spread of the instruction figures, %, (max − min) ÷ median, worst",
        worst * 100 if worst is not None else None, "<", 1.0, f"worst: {where}")
    return out


def insn_table(res, env, tg):
    L = []
    ins = res.get("insn")
    if not ins:
        return L
    boots = res.get("insn_boots", 1)
    L.append(f"### Instructions per packet and per read (exact: QEMU TCG plugin bench/insncount, "
             f"one vCPU, {boots} boot{'s' if boots > 1 else ''} × {env.get('insn_rounds')} rounds; "
             f"{env.get('insn_packets')} datagrams per path, {env.get('insn_reads')} reads per mode)")
    L.append("")
    L.append("| variant | hook, per packet | per hook call | framework (nf_hook_slow) per packet "
             "| veth: per packet | − none | loopback: per packet | − none | spread | "
             "timed: direct ns/hook call (TCG) | timed: veth pps ÷ none |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def g(path, v, key, digits=1):
        x = insn_get(res, path, v, key)
        return fmt(x["median"], digits) if x else "—"

    for v in INSN_VARIANTS:
        if v in res.get("skipped", {}):
            why = "not part of this run" if "--no-ebpf" in res["skipped"][v] else "kernel without BPF"
            L.append(f"| {INSN_NAMES.get(v, v)} | skipped: {why} | | | | | | | | | |")
            continue
        if not any(v in ins.get(p, {}) for p in PATHS):
            continue
        sp = [((ins.get(p, {}).get(v) or {}).get(k) or {}).get("spread") for p in PATHS
              for k in ("total", "hook")]
        sp = [x for x in sp if x is not None]
        timed_v = v if v in VARIANTS else None
        hb = res.get("hook_call_ns_tcg", {}).get(timed_v) if timed_v else None
        pv = res.get("pps_vs_none", {}).get("veth", {}).get(timed_v) if timed_v else None
        L.append(f"| {INSN_NAMES.get(v, v)} | {g('lo', v, 'hook')} | {g('lo', v, 'hook_per_call')} "
                 f"| {g('lo', v, 'framework')} | {g('veth', v, 'total')} | {g('veth', v, 'vs_none')} "
                 f"| {g('lo', v, 'total')} | {g('lo', v, 'vs_none')} "
                 f"| {fmt(max(sp) * 100, 3) + ' %' if sp else '—'} "
                 f"| {'0 (no hook)' if v == 'none' else fmt_range(hb, 1) if hb else '—'} "
                 f"| {'1' if v == 'none' else fmt(med(pv), 3) if pv else '—'} |")
    L.append("")
    L.append("Hook: the instructions of the variant's own code and of the kernel functions it calls, "
             "as the change against none in the same round (the functions are listed in bench.json); "
             "on loopback and veth alike. A datagram crosses 4 hooks (output, postrouting, "
             "prerouting, input). Framework: netfilter's nf_hook_slow(), the same for every "
             "variant with hooks. Spread: (max − min) ÷ median over rounds and boots, worst of "
             "the figures in the row.")
    L.append("")
    L.append("| /proc/net/rnetns read | rnetns | C twin | ÷ C twin | spread rnetns, C twin |")
    L.append("| --- | --- | --- | --- | --- |")
    for p, name in (("proc-open", "open + read + close"), ("proc-pread", "pread at offset 0")):
        a, b = insn_get(res, p, "rnetns", "total"), insn_get(res, p, "ctwin", "total")
        if not a or not b:
            continue
        L.append(f"| {name} | {fmt(a['median'])} | {fmt(b['median'])} | {fmt(a['median'] / b['median'], 3)} "
                 f"| {fmt(a['spread'] * 100, 2)} %, {fmt(b['spread'] * 100, 2)} % |")
    L.append("")
    return L


def insn_plot(res, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ins = res.get("insn") or {}
    vs = [v for v in INSN_VARIANTS if v != "none" and v in ins.get("lo", {})]
    if not vs:
        return
    colors = {"rnetns": "#d9534f", "rnetns-off": "#f0ad4e", "ctwin": "#337ab7",
              "nft": "#5cb85c", "ebpf": "#9b59b6"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (key, title) in zip(axes, (("hook", "Hook instructions per packet (4 hooks)"),
                                       ("vs_none", "End-to-end instructions per packet − none"))):
        for i, p in enumerate(PATHS):
            meds = [(insn_get(res, p, v, key) or {}).get("median") or 0 for v in vs]
            xs = [j + (i - 0.5) * 0.4 for j in range(len(vs))]
            ax.bar(xs, meds, 0.4, label=p, color=[colors.get(v, "#999") for v in vs],
                   alpha=1.0 if i == 0 else 0.6, edgecolor="black", linewidth=0.4)
            for x, y in zip(xs, meds):
                ax.annotate(f"{y:,.0f}", (x, y), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(vs)), [INSN_NAMES.get(v, v) for v in vs], rotation=15)
        ax.set_title(title + f" ({' | '.join(PATHS)})", fontsize=10)
        ax.set_ylabel("instructions")
        ax.axhline(0, color="black", linewidth=0.5)
    fig.suptitle("Exact instruction counts (QEMU TCG plugin; median over rounds)")
    fig.tight_layout()
    fig.savefig(out / "insn.png", dpi=110)
    plt.close(fig)


def verdict(t):
    if t["met"] is None:
        return "n/a"
    v = "met" if t["met"] else "MISSED"
    if t["within_noise"]:
        v += " (within noise)"
    return v


def targets_table(tg):
    L = ["### Targets", "", "| target | measured | limit | verdict |", "| --- | --- | --- | --- |"]
    for t in tg:
        val = t["value"]
        digits = 3 if val is not None and abs(val) < 10 else 0
        m = fmt(val, digits)
        if t["range"] and t["range"][0] is not None and t["range"][1] is not None:
            m += f" (IQR-range {fmt(t['range'][0], digits)}–{fmt(t['range'][1], digits)})"
        if t["note"]:
            m += f"; {t['note']}"
        L.append(f"| {t['target']} | {m} | {t['op']} {t['limit']} | {verdict(t)} |")
    L.append("")
    return L


def nsall_table(res, lab):
    """The "every namespace at once" section."""
    L = []
    na = res.get("nsall", {})
    if na:
        L.append(f"### Every namespace's counters at once{lab}: µs per namespace")
        L.append("")
        L.append("| namespaces held | listed | one netlink dump | setns + read each | ip netns exec each "
                 "| setns + read ÷ dump | ip netns exec ÷ dump | ms per dump |")
        L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for live, e in sorted(na.items(), key=lambda kv: int(kv[0])):
            L.append(f"| {int(live):,} | {fmt(e.get('namespaces'))} | {fmt_range(e['dump_us_per_ns'], 1)} "
                     f"| {fmt_range(e['setns_us_per_ns'], 1)} | {fmt_range(e['ipexec_us_per_ns'])} "
                     f"| {fmt(med(e['setns_over_dump']), 1)} | {fmt(med(e['ipexec_over_dump']))} "
                     f"| {fmt_range(e['dump_ms'], 1)} |")
        L.append("")
        if any("cli_list_ms" in e for e in na.values()):
            L.append("The rnetns command, a process started each time (wall ms; the shell loop of "
                     "ip netns exec over the same set at its per-namespace cost ÷ it; CPU µs per namespace):")
            L.append("")
            L.append("| namespaces held | rnetns list, ms | ip netns exec loop ÷ list | rnetns metrics, ms "
                     "| ip netns exec loop ÷ metrics | metrics CPU µs per namespace |")
            L.append("| --- | --- | --- | --- | --- | --- |")
            for live, e in sorted(na.items(), key=lambda kv: int(kv[0])):
                if "cli_list_ms" not in e:
                    continue
                L.append(f"| {int(live):,} | {fmt_range(e['cli_list_ms'], 1)} | {fmt(med(e['ipexec_over_cli_list']))} "
                         f"| {fmt_range(e.get('cli_metrics_ms'), 1)} | {fmt(med(e.get('ipexec_over_cli_metrics')))} "
                         f"| {fmt_range(e.get('cli_metrics_cpu_us_per_ns'), 1)} |")
            L.append("")
        named = next((e.get("named") for e in na.values() if e.get("named")), None)
        L.append("Listed: what one dump returns (the held namespaces, the benchmark's, init_net). "
                 "setns + read: one process enters each namespace in turn (descriptors opened "
                 f"beforehand) and reads its file. ip netns exec: run on the {named or '?'} named "
                 "namespaces, per namespace; its ratio to the dump is for the whole set at that "
                 "per-namespace cost.")
        ins = res.get("insn") or {}
        if "nl-dump" in ins:
            def gi(path, v="rnetns", key="total"):
                x = insn_get(res, path, v, key)
                return fmt(x["median"]) if x else "—"
            L.append("")
            L.append("| instructions per namespace | netlink dump | setns + read | ip netns exec "
                     "| one /proc/net/rnetns read (open + read + close) |")
            L.append("| --- | --- | --- | --- | --- |")
            L.append(f"| rnetns | {gi('nl-dump')} | {gi('setns-read')} | {gi('ip-exec')} | {gi('proc-open-held')} |")
            L.append("")
            fam = insn_get(res, "create", "rnetns", "family")
            L.append(f"A namespace's creation and teardown, nobody listening: {gi('create', 'none')} "
                     f"instructions without rnetns, {gi('create')} with it; of those, the netlink "
                     f"family's listener checks (one at creation, one at teardown) "
                     f"{fmt(fam['median'], 1) if fam else '—'}.")
        L.append("")

    return L


def table(res, tg, env, host, accel, mid, big, only=None):
    L = []
    tcg = accel != "KVM"
    lab = " (TCG)" if tcg else ""
    L.append(f"## rnetns benchmarks ({env.get('mode', '?')} run)")
    L.append("")
    kv = env.get("kernel_variant")
    L.append(f"Conditions: Linux {env.get('kernel', '?')}{f' ({kv} variant)' if kv else ''} guest, "
             f"{env.get('cpus', '?')} vCPUs, "
             f"{round(env.get('mem_total_kb', 0) / 1048576, 1)} GiB, QEMU {accel}"
             f"{' (emulation: absolute times are emulated, not hardware figures; compare ratios)' if tcg else ''}, "
             f"clocksource {env.get('clocksource', '?')}; host {host.get('host_cpu_model', '?')}, "
             f"{host.get('host_cpus', '?')} CPUs, load average {host.get('host_loadavg_before', '?')} before, "
             f"{host.get('host_loadavg_after', '?')} after; {host.get('date', '?')}; "
             f"rnetns {host.get('git_commit', '?')[:12]}{' (src modified)' if host.get('git_dirty') else ''}.")
    if host.get("guest_arch", "x86_64") != "x86_64":
        L.append(f"Guest architecture: {host['guest_arch']} ({host.get('qemu', '?')}).")
    L.append("Figures: median [min–max] over interleaved rounds; ratios are medians of per-round ratios.")
    skipped = res.get("skipped", {})
    if "ebpf" in skipped:
        why = "" if "--no-ebpf" in skipped["ebpf"] else ", kernel without BPF"
        L.append(f"eBPF peer: skipped{why} ({skipped['ebpf']}).")
    if env.get("clocksource") != "tsc" and only != "insn":
        L.append(f"WARNING: the guest clock was {env.get('clocksource')}, not tsc: short times have "
                 "jiffy (4 ms) resolution and the direct hook timings are meaningless.")
    L.append("")
    if only == "insn":
        L.append("Instruction counts only: no timed boot in this run.")
        L.append("")
        L += insn_table(res, env, tg)
        L += targets_table(tg)
        return "\n".join(L)
    if only:
        L += nsall_table(res, lab)
        L += targets_table(tg)
        return "\n".join(L)
    L += insn_table(res, env, tg)
    L.append(f"### Packet path: UDP, {env.get('pps_size')}-byte payload, IPv4, batches of "
             f"{env.get('pps_batch')}, one thread pinned to vCPU {env.get('pps_cpu')}; "
             f"{env.get('pps_rounds')} rounds × {env.get('pps_secs')} s per path and variant")
    L.append("")
    L.append(f"| variant | veth pps | ÷ none | ns/hook{lab} | loopback pps | ÷ none | ns/hook{lab} "
             f"| direct ns/hook call{lab} |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for v in VARIANTS:
        if v in skipped:
            L.append(f"| {v} | skipped: kernel without BPF | | | | | | |")
            continue
        row = [v]
        for p in PATHS:
            row.append(fmt_range(res["pps"][p][v]))
            if v == "none":
                row += ["1", "—"]
            else:
                row.append(fmt(med(res["pps_vs_none"][p][v]), 3))
                row.append(fmt_range(res["ns_per_hook_tcg"][p][v]))
        row.append("0 (no hook)" if v == "none" else fmt_range(res["hook_call_ns_tcg"][v], 1))
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("ns/hook = (1/pps − 1/pps(none)) / 4 per round. Direct: bench/hookbench times "
             "nf_hook_slow() at IPv4 input in the receiving namespace (one hook there), "
             f"{env.get('hookbench_calls')} calls per round.")
    L.append("")

    L += targets_table(tg)

    L.append(f"### Namespace churn: create+destroy pairs per second{lab}: {env.get('churn_secs')} s of "
             f"unshare() per run, at most {env.get('churn_backlog')} namespaces waiting to be freed, "
             f"the clock stopped when all are freed; {env.get('churn_rounds')} rounds")
    L.append("")
    L.append("| alive | workers | none | rnetns | ÷ none | C twin | ÷ none |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for ch in res["churn"].values():
        p, r = ch["pairs_per_sec"], ch["vs_none"]
        L.append(f"| {ch['live']} | {ch['workers']} | {fmt_range(p['none'], 1)} | {fmt_range(p['rnetns'], 1)} "
                 f"| {fmt(med(r['rnetns']), 3)} | {fmt_range(p['ctwin'], 1)} | {fmt(med(r['ctwin']), 3)} |")
    L.append("")

    L.append(f"### Memory per namespace (bytes; deltas of /proc/meminfo and /proc/slabinfo over {mid} "
             f"namespaces, the module's fixed cost at 0 subtracted)")
    L.append("")
    L.append("| what | slab (SUnreclaim) | slab objects (slabinfo) | per-CPU (Percpu) | largest slab caches |")
    L.append("| --- | --- | --- | --- | --- |")
    for s in (mid, big):
        m = res["memory"].get(str(s), {})
        it = m.get("netns_itself_per_ns")
        if it:
            L.append(f"| a namespace itself, {s} alive | {fmt(it['SUnreclaim'])} | {fmt(it['slab_objects'])} "
                     f"| {fmt(it['Percpu'])} | |")
        for v in MODULES:
            e = m.get(v)
            if not e:
                continue
            caches = ", ".join(f"{c} {fmt(b)}" for c, b in list(e.get("top_caches", {}).items())[:5])
            L.append(f"| + {'rnetns' if v == 'rnetns' else 'C twin'}, {s} alive | {fmt(e.get('SUnreclaim'))} "
                     f"| {fmt(e.get('slab_objects'))} | {fmt(e.get('Percpu'))} | {caches} |")
    L.append("")
    L.append(f"Per-CPU counter block: {res['percpu_counter_block_bytes']} bytes per namespace "
             f"({COUNTERS_PER_NS} counters × {COUNTER_BYTES} B × possible CPUs). /proc/meminfo's Percpu "
             "counts populated pages, so small allocations may not move it.")
    L.append("")
    at = res.get("alloc_trace", {})
    if at:
        L.append("Allocations each namespace keeps, traced (kmem and percpu events of the loading "
                 "process), per object: call site, requested → allocated bytes:")
        L.append("")
        L.append("| module | slab per namespace | per-CPU per namespace | objects |")
        L.append("| --- | --- | --- | --- |")
        for v in MODULES:
            t = at.get(v)
            if not t:
                continue
            objs = "; ".join(f"{e['per_ns']:g}× {e['call_site']} {e['bytes_req']}→{e['bytes_alloc']}"
                             for e in t["per_ns"])
            L.append(f"| {'rnetns' if v == 'rnetns' else 'C twin'} | {t['slab_bytes_per_ns']:,.0f} B "
                     f"({t['slab_requested_per_ns']:,.0f} requested, {t['slab_objects_per_ns']:g} objects) "
                     f"| {t['percpu_bytes_per_ns']:,.0f} B | {objs} |")
        L.append("")

    L.append(f"### Load and unload{lab}: finit_module() and delete_module() wall time")
    L.append("")
    L.append("| namespaces alive | rnetns insmod ms | rnetns rmmod ms | C twin insmod ms | C twin rmmod ms "
             "| rnetns µs/ns insmod, rmmod | C twin µs/ns insmod, rmmod |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for s in (0, mid, big):
        e = res["load"].get(str(s), {})
        row = [f"{s:,}" if s != 0 else "0 (+3 of the benchmark)"]
        for v in MODULES:
            row.append(fmt_range(e.get(v, {}).get("insmod_secs"), 1, 1e3))
            row.append(fmt_range(e.get(v, {}).get("rmmod_secs"), 1, 1e3))
        for v in MODULES:
            if s == 0:
                row.append("—")
            else:
                row.append(f"{fmt(e.get(v, {}).get('insmod_per_ns_us'), 1)}, "
                           f"{fmt(e.get(v, {}).get('rmmod_per_ns_us'), 1)}")
        L.append("| " + " | ".join(row) + " |")
    hold = res.get("hold", {})
    drain = res.get("drain", {})
    made = "; ".join(f"{int(k):,} namespaces made in {fmt(v.get('secs'), 1)} s, freed in "
                     f"{fmt(drain.get(k, {}).get('wait_secs'), 1)} s" for k, v in hold.items())
    L.append("")
    L.append(f"µs/ns = (time − time with none held) / namespaces. Without the module{lab}: {made}.")
    L.append("")

    L += nsall_table(res, lab)
    L.append(f"### /proc/net/rnetns read{lab}: µs per read, {env.get('proc_reads')} reads per round")
    L.append("")
    L.append("| | rnetns | C twin (/proc/net/rnetns_ctwin) | rnetns ÷ C twin |")
    L.append("| --- | --- | --- | --- |")
    for mode, name in (("open", "open + read + close"), ("pread", "pread at offset 0")):
        a, b = res["procread_us_tcg"][mode]["rnetns"], res["procread_us_tcg"][mode]["ctwin"]
        r = med(a) / med(b) if med(a) and med(b) else None
        L.append(f"| {name} | {fmt_range(a, 1)} | {fmt_range(b, 1)} | {fmt(r, 2)} |")
    L.append("")
    return "\n".join(L)


def plots(res, out, accel, mid, big):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lab = " (TCG)" if accel != "KVM" else ""
    colors = {"none": "#888888", "rnetns": "#d9534f", "ctwin": "#337ab7", "nft": "#5cb85c",
              "ebpf": "#f0ad4e"}

    def bars(ax, keys, sts, title, ylabel):
        xs = range(len(keys))
        meds = [med(s) or 0 for s in sts]
        lo = [max(0, (med(s) or 0) - s["min"]) if s else 0 for s in sts]
        hi = [max(0, s["max"] - (med(s) or 0)) if s else 0 for s in sts]
        ax.bar(xs, meds, yerr=[lo, hi], capsize=4, color=[colors.get(k, "#999") for k in keys])
        ax.set_xticks(list(xs), keys)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        for x, m in zip(xs, meds):
            ax.annotate(f"{m:,.0f}", (x, m / 2), ha="center", va="center", fontsize=8, color="white")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, p in zip(axes, PATHS):
        shown = [v for v in VARIANTS if v not in res.get("skipped", {})]
        bars(ax, shown, [res["pps"][p][v] for v in shown],
             f"UDP {p}: packets/s at the receiver{lab}", "packets per second")
    fig.suptitle("Packet rate per variant (median, min–max over rounds)")
    fig.tight_layout()
    fig.savefig(out / "pps.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    names = {"rnetns": "rnetns", "ctwin": "C twin", "nft": "nftables counter", "ebpf": "eBPF (netfilter link)"}
    vs = [v for v in names if v not in res.get("skipped", {})]
    series = [("veth pps", lambda v: res["ns_per_hook_tcg"]["veth"][v]),
              ("loopback pps", lambda v: res["ns_per_hook_tcg"]["lo"][v]),
              ("direct hook timing", lambda v: res["hook_call_ns_tcg"][v])]
    width = 0.26
    for i, (name, get) in enumerate(series):
        sts = [get(v) for v in vs]
        xs = [j + (i - 1) * width for j in range(len(vs))]
        meds = [med(s) or 0 for s in sts]
        lo = [max(0, (med(s) or 0) - s["min"]) if s else 0 for s in sts]
        hi = [max(0, s["max"] - (med(s) or 0)) if s else 0 for s in sts]
        ax.bar(xs, meds, width, yerr=[lo, hi], capsize=3, label=name)
    ax.set_xticks(range(len(vs)), [names[v] for v in vs])
    ax.set_ylabel(f"ns per hook invocation{lab}")
    ax.set_title("Cost of one hook invocation (median, min–max over rounds)")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ns_per_hook.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    sizes = [0, mid, big]
    for ax, op, name in zip(axes, ("insmod_secs", "rmmod_secs"), ("insmod", "rmmod")):
        for v in MODULES:
            sts = [res["load"].get(str(s), {}).get(v, {}).get(op) for s in sizes]
            pts = [(s, st) for s, st in zip(sizes, sts) if st]
            if not pts:
                continue
            xs = [s for s, _ in pts]
            ys = [st["median"] * 1e3 for _, st in pts]
            lo = [(st["median"] - st["min"]) * 1e3 for _, st in pts]
            hi = [(st["max"] - st["median"]) * 1e3 for _, st in pts]
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3,
                        color=colors[v], label="rnetns" if v == "rnetns" else "C twin")
        ax.set_xlabel("live network namespaces")
        ax.set_ylabel(f"{name} wall time, ms{lab}")
        ax.set_title(f"{name} time against live namespaces")
        ax.set_ylim(bottom=0)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "load_unload.png", dpi=110)
    plt.close(fig)


def env_small(d):
    """The smallest held set of the "every namespace at once" stage."""
    return d.env.get("small", 100)


def netlink_completeness(d, res, mid, big):
    """What is missing from a run of the "every namespace at once" stage."""
    miss = []
    for s in (int(env_small(d)), mid, big):
        e = res.get("nsall", {}).get(str(s))
        if not e:
            miss.append(f"every namespace at once, {s} held")
            continue
        for k in ("dump_us_per_ns", "setns_us_per_ns", "ipexec_us_per_ns"):
            if not e[k]:
                miss.append(f"every namespace at once, {s} held: {k}")
    if res.get("insn") is not None:
        for p, v in (("nl-dump", "rnetns"), ("setns-read", "rnetns"), ("ip-exec", "rnetns"),
                     ("proc-open-held", "rnetns"), ("create", "none"), ("create", "rnetns")):
            if not insn_get(res, p, v, "total"):
                miss.append(f"instructions {p} {v}")
    if d.end is None:
        miss.append("the guest script did not finish")
    return miss


def completeness(d, res, mid, big, skip=()):
    """What is missing for a complete run; the variants in skip may be."""
    miss = []
    variants = [v for v in VARIANTS if v not in skip]
    for p in PATHS:
        for v in variants:
            if not res["pps"][p][v]:
                miss.append(f"pps {p} {v}")
    for v in variants:
        if v != "none" and not res["hook_call_ns_tcg"][v]:
            miss.append(f"hookbench {v}")
        if v != "none" and not res["hooks_saw_traffic"][v]:
            miss.append(f"{v}'s hooks saw no traffic")
    if res["hook_entries"]["none"] not in ([], [0]):
        miss.append("hookbench found hooks with no module loaded")
    for m in ("open", "pread"):
        for v in MODULES:
            if not res["procread_us_tcg"][m][v]:
                miss.append(f"procread {m} {v}")
    for ch in res["churn"].values():
        for v, s in ch["pairs_per_sec"].items():
            if not s:
                miss.append(f"churn live={ch['live']} workers={ch['workers']} {v}")
        if ch["timed_out"]:
            miss.append(f"churn live={ch['live']} workers={ch['workers']}: drain timed out")
    for s in (0, mid, big):
        for v in MODULES:
            for op in ("insmod_secs", "rmmod_secs"):
                if not res["load"].get(str(s), {}).get(v, {}).get(op):
                    miss.append(f"{op} live={s} {v}")
    for s in (mid, big):
        if str(s) not in res["hold"]:
            miss.append(f"hold {s}")
        if str(s) not in res["drain"] or res["drain"][str(s)].get("timed_out"):
            miss.append(f"drain {s}")
        if "netns_itself_per_ns" not in res["memory"].get(str(s), {}):
            miss.append(f"memory {s}")
    for s in (int(env_small(d)), mid, big):
        e = res.get("nsall", {}).get(str(s))
        if not e:
            miss.append(f"every namespace at once, {s} held")
            continue
        for k in ("dump_us_per_ns", "setns_us_per_ns", "ipexec_us_per_ns"):
            if not e[k]:
                miss.append(f"every namespace at once, {s} held: {k}")
    for v in MODULES:
        t = res.get("alloc_trace", {}).get(v)
        if not t or not t["per_ns"]:
            miss.append(f"allocation trace {v}")
    if d.end is None:
        miss.append("the guest script did not finish")
    if d.bad_lines:
        miss.append(f"{d.bad_lines} unparsable lines")
    return miss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--accel", default="unknown")
    ap.add_argument("--vm-exit", type=int, default=0)
    ap.add_argument("--wall", type=int, default=0)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--only", choices=["netlink"],
                    help="the run had only this stage: judge and print only it")
    ap.add_argument("--insn", action="append", default=[],
                    help="directory of an instruction-count boot (repeatable)")
    ap.add_argument("--insn-only", action="store_true",
                    help="the run had no timed boot (arm64): --raw is the first instruction-count "
                         "boot's; judge and print the instruction figures only")
    a = ap.parse_args()
    if a.insn_only and (a.only or not a.insn):
        ap.error("--insn-only needs --insn and no --only")

    out = Path(a.out)
    d = Data(a.raw)
    try:
        host = json.load(open(a.host))
    except (OSError, json.JSONDecodeError):
        host = {}
    env = d.env
    mid, big = int(env.get("mid", 1000)), int(env.get("big", 10000))
    res = {} if a.insn_only else analyse(d, mid, big, Path(a.raw).parent)
    insn_problems = []
    skipped = dict(d.skipped)
    if a.insn:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import insn
        try:
            res["insn"], insn_problems = insn.analyse(a.insn)
            for v, why in insn.skipped(a.insn).items():
                skipped.setdefault(v, why)
        except (OSError, ValueError, KeyError) as e:
            res["insn"], insn_problems = {}, [f"instruction counts unreadable: {e}"]
        res["insn_boots"] = len(a.insn)
    res["skipped"] = skipped
    # A smoke run only checks that the benchmark works, on whatever kernel
    # the test run boots: a variant that kernel cannot run may be missing.
    # The full benchmark's figures need every variant.
    allowed = skipped if a.smoke else {}
    errors = list(d.errors)
    if a.insn_only:
        # The eBPF peer is skipped on purpose (the guest's --no-ebpf); the
        # errors of every boot count, as there is no timed boot's.
        allowed = skipped if a.smoke else {v: w for v, w in skipped.items() if "--no-ebpf" in w}
        for directory in a.insn[1:]:
            errors += Data(f"{directory}/raw.jsonl").errors
    tg = insn_targets(res) + ([] if a.insn_only else targets(res, env, big, mid))
    for t in tg:
        if "ebpf" in skipped and "eBPF" in t["target"] and t["value"] is None:
            t["note"] = "eBPF peer skipped: kernel without BPF"
    missing = [f"{v} variant skipped by the guest, kernel without BPF ({why}): a full run needs it "
               f"(scripts/bench.sh --variant bench)" for v, why in skipped.items() if v not in allowed]
    if a.only:
        tg = [t for t in tg if "netlink" in t["target"]]
        missing = netlink_completeness(d, res, mid, big) + insn_problems
    elif a.insn_only:
        missing += insn_problems + (["the guest script did not finish"] if d.end is None else [])
    else:
        missing += completeness(d, res, mid, big, allowed) + insn_problems
    if a.insn and not a.only:
        for p in PATHS:
            for v in INSN_VARIANTS:
                if v not in allowed and not insn_get(res, p, v, "total"):
                    missing.append(f"instructions {p} {v}")
        for p, v in (("nl-dump", "rnetns"), ("setns-read", "rnetns"), ("ip-exec", "rnetns"),
                     ("proc-open-held", "rnetns"), ("create", "none"), ("create", "rnetns")):
            if not insn_get(res, p, v, "total"):
                missing.append(f"instructions {p} {v}")
        if not insn_get(res, "create", "rnetns", "family"):
            missing.append("instructions: the netlink family's part of a creation")
    broken = missing or errors or a.vm_exit != 0

    doc = {
        "schema": "rnetns-bench/1",
        "mode": "smoke" if a.smoke else "full",
        "date": host.get("date"),
        "complete": not broken,
        "conditions": {
            "kernel": env.get("kernel"), "kernel_variant": env.get("kernel_variant"),
            "cpus": env.get("cpus"),
            "possible_cpus": env.get("possible_cpus"), "accel": a.accel, "kvm": a.accel == "KVM",
            "guest_mem_kb": env.get("mem_total_kb"), "clocksource": env.get("clocksource"),
            "guest_cmdline": env.get("cmdline"), "guest_cpu_model": env.get("cpu_model"),
            "slabinfo": env.get("slabinfo"),
            "units": "times are guest wall-clock; under TCG they are emulated time",
            "pps": {k: env.get(k) for k in ("pps_rounds", "pps_secs", "pps_size", "pps_batch", "pps_cpu")},
            "hookbench_calls": env.get("hookbench_calls"),
            "churn_rounds": env.get("churn_rounds"), "churn_secs": env.get("churn_secs"),
            "churn_backlog": env.get("churn_backlog"), "load_rounds": env.get("load_rounds"),
            "big_load_rounds": env.get("big_load_rounds"), "sizes": [0, mid, big],
            "proc_reads": env.get("proc_reads"),
            "guest_secs": (d.end or {}).get("secs"), "wall_secs": a.wall,
            **host,
        },
        "results": res,
        "targets": tg,
        "skipped": skipped,
        "errors": [e.get("where", "") + ": " + e.get("msg", "") for e in errors],
        "missing": missing,
        "vm_exit": a.vm_exit,
    }
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench.json", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False, allow_nan=False, default=str)
    json.load(open(out / "bench.json"))  # must read back

    text = table(res, tg, env, host, a.accel, mid, big, "insn" if a.insn_only else a.only)
    if broken:
        text += "\n### Problems\n\n" + "\n".join(
            f"- {m}" for m in missing + doc["errors"] + ([f"VM exit {a.vm_exit}"] if a.vm_exit else [])) + "\n"
    (out / "table.md").write_text(text + "\n")
    print(text)

    if not a.no_plots:
        try:
            plots(res, out, a.accel, mid, big)
            insn_plot(res, out)
        except Exception as e:  # plots are a convenience; never a failure
            print(f"analyze: plots skipped: {e}", file=sys.stderr)
    print(f"analyze: wrote {out / 'bench.json'}, {out / 'table.md'}"
          f"{'' if a.no_plots else ' and plots'}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Comparisons for the tests of the rnetns command (tests/t75-cli.sh).

  cliutil.py list LIST.json PROCFILE...
      every PROCFILE (one namespace's /proc/net/rnetns, read in it) has its
      namespace in LIST.json (`rnetns list --json`) with the same cookie,
      hooks and rows; prints one line per file and a count; exit 1 on a
      mismatch
  cliutil.py show SHOW.json PROCFILE
      the same for one object (`rnetns show --json`)
  cliutil.py metrics METRICS.txt PROCFILE...
      each file's rows equal the rnetns_packets_total and rnetns_bytes_total
      samples of its namespace
  cliutil.py promql RESULT.json PROCFILE...
      a Prometheus instant query's result (sum by (netns_inode) of
      rnetns_packets_total{hook="input"}) equals each file's input rows
"""
import json
import re
import sys


def proc(path):
    """(inum, cookie, hooks, {(family, hook): (packets, bytes)})"""
    ident, rows = {}, {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 2:
                ident[w[0]] = w[1]
            elif len(w) == 4 and w[0] in ("ipv4", "ipv6"):
                rows[(w[0], w[1])] = (int(w[2]), int(w[3]))
    return int(ident["inum"]), int(ident["cookie"]), ident["hooks"], rows


def same(entry, path):
    inum, cookie, hooks, rows = proc(path)
    got = {(c["family"], c["hook"]): (c["packets"], c["bytes"]) for c in entry["counters"]}
    bad = []
    if entry["cookie"] != cookie:
        bad.append(f"cookie {entry['cookie']} != {cookie}")
    if entry["hooks"] != hooks:
        bad.append(f"hooks {entry['hooks']} != {hooks}")
    if got != rows:
        bad.append(f"rows {sorted(got.items())} != {sorted(rows.items())}")
    if entry["packets"] != sum(p for p, _ in rows.values()):
        bad.append("packets total")
    return inum, bad


def cmd_list(listing, files):
    entries = {e["inum"]: e for e in json.load(open(listing))}
    rc = 0
    for path in files:
        inum = proc(path)[0]
        if inum not in entries:
            print(f"{path}: namespace {inum} not listed")
            rc = 1
            continue
        _, bad = same(entries[inum], path)
        print(f"{path}: {inum} {entries[inum].get('name') or '-'}: {'; '.join(bad) or 'equal'}")
        rc |= bool(bad)
    print(f"listed {len(entries)}, {len(files)} compared")
    return rc


def cmd_show(show, path):
    entry = json.load(open(show))
    inum, bad = same(entry, path)
    if entry["inum"] != inum:
        bad.append(f"inum {entry['inum']} != {inum}")
    print(f"{path}: {'; '.join(bad) or 'equal'}")
    return bool(bad)


SAMPLE = re.compile(r'^(rnetns_(?:packets|bytes)_total)\{([^}]*)\} (\d+)$')


def cmd_metrics(text, files):
    got = {}
    for line in open(text):
        m = SAMPLE.match(line.strip())
        if m:
            labels = dict(kv.split("=", 1) for kv in re.findall(r'(\w+="[^"]*")', m.group(2)))
            labels = {k: v.strip('"') for k, v in labels.items()}
            key = (int(labels["netns_inode"]), labels["family"], labels["hook"])
            got.setdefault(key, {})[m.group(1)] = int(m.group(3))
    rc = 0
    for path in files:
        inum, _, _, rows = proc(path)
        mine = {(f, h): (v.get("rnetns_packets_total"), v.get("rnetns_bytes_total"))
                for (i, f, h), v in got.items() if i == inum}
        ok = mine == rows
        print(f"{path}: {inum}: {len(rows)} rows {'equal' if ok else f'differ: {sorted(mine.items())}'}")
        rc |= not ok
    return rc


def cmd_promql(result, files):
    r = json.load(open(result))
    vals = {int(s["metric"]["netns_inode"]): int(float(s["value"][1])) for s in r["data"]["result"]}
    rc = 0
    for path in files:
        inum, _, _, rows = proc(path)
        want = sum(p for (f, h), (p, _) in rows.items() if h == "input")
        print(f"{path}: {inum}: query {vals.get(inum)}, file {want}")
        rc |= vals.get(inum) != want
    return rc


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "list":
        return cmd_list(args[0], args[1:])
    if cmd == "show":
        return cmd_show(args[0], args[1])
    if cmd == "metrics":
        return cmd_metrics(args[0], args[1:])
    if cmd == "promql":
        return cmd_promql(args[0], args[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

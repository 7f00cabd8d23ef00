#!/usr/bin/python3
"""Draws a Prometheus range query's result (the JSON of /api/v1/query_range,
as tests/t75-cli.sh saves it to prom-range.json in its guest's scratch
directory) as a PNG: one line per series, named by its netns_name label.

  scripts/prom-graph.py RANGE.json OUT.png [TITLE]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    r = json.load(open(argv[1]))
    series = r["data"]["result"]
    if not series:
        print(f"{argv[1]}: no series", file=sys.stderr)
        return 1
    t0 = min(float(s["values"][0][0]) for s in series)
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    for s in sorted(series, key=lambda s: s["metric"].get("netns_name", "")):
        xs = [float(t) - t0 for t, _ in s["values"]]
        ys = [float(v) for _, v in s["values"]]
        ax.plot(xs, ys, label=s["metric"].get("netns_name", "?"))
    ax.set_xlabel("seconds")
    ax.set_ylabel("packets/s at input")
    ax.set_title(argv[3] if len(argv) > 3 else
                 'sum by (netns_name) (rate(rnetns_packets_total{hook="input",netns_name!=""}[3s]))', fontsize=9)
    ax.legend(title="netns_name")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(argv[2])
    print(f"{argv[2]}: {len(series)} series")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

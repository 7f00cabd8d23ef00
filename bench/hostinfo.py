#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Records the host's conditions of an rnetns benchmark run (scripts/bench.sh).

  hostinfo.py before FILE TSC_KHZ [ARCH]
                                    write FILE: date, CPU, load, QEMU, commit
                                    (ARCH: the guest's, x86_64 or arm64;
                                    TSC_KHZ 0: no TSC clock given)
  hostinfo.py after FILE            add the load average after the run
"""
import json
import os
import subprocess
import sys


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "before":
        arch = sys.argv[4] if len(sys.argv) == 5 else "x86_64"
        qemu = "qemu-system-aarch64" if arch == "arm64" else "qemu-system-x86_64"
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
        info = {
            "date": sh("date", "-u", "+%Y-%m-%dT%H:%M:%SZ"),
            "host_cpu_model": model,
            "host_cpus": os.cpu_count(),
            "host_loadavg_before": loadavg(),
            "qemu": (sh(qemu, "--version").splitlines() or [""])[0],
            "guest_arch": arch,
            "git_commit": sh("git", "rev-parse", "HEAD") or "unknown",
            "git_dirty": bool(sh("git", "status", "--porcelain", "--", "src", "Kbuild")),
            "rnetns_ko_sha256": sh("sha256sum", "rnetns.ko")[:16],
            "ctwin_ko_sha256": sh("sha256sum", "bench/ctwin/rnetns_ctwin.ko")[:16],
            "tsc_khz": int(sys.argv[3]),
        }
    elif len(sys.argv) == 3 and sys.argv[1] == "after":
        with open(sys.argv[2]) as f:
            info = json.load(f)
        info["host_loadavg_after"] = loadavg()
    else:
        sys.exit(__doc__)
    with open(sys.argv[2], "w") as f:
        json.dump(info, f)


if __name__ == "__main__":
    main()

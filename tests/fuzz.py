#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Bounded fuzzers for rnetns's inputs, run inside the test VM.

  fuzz.py proc FILE SECONDS SEED   random writes to FILE from 4 threads at
      once: random bytes, lengths 0..9000, after seeking to random offsets,
      split writes; none is the valid command. Each write must fail with
      EINVAL (pwrite, which seq_files refuse, with ESPIPE); prints counts,
      exits 1 on any other result.
  fuzz.py hooks-values COUNT SEED  prints COUNT "value|valid" lines: random
      hooks= values and whether rnetns must accept them (reference parser).
"""
import errno
import os
import random
import sys
import threading
import time

FAMILIES = ["ipv4", "ipv6", "all"]
HOOKS = ["prerouting", "input", "forward", "output", "postrouting", "all"]


def valid_command(b):
    return b in (b"reset", b"reset\n")


def proc_fuzz(path, seconds, seed):
    deadline = time.monotonic() + float(seconds)
    results = {}
    bad = []
    lock = threading.Lock()

    def worker(n):
        rng = random.Random(int(seed) * 10 + n)
        fd = os.open(path, os.O_WRONLY)
        while time.monotonic() < deadline:
            kind = rng.randrange(4)
            if kind == 0:
                data = os.urandom(rng.choice([0, 1, 2, 5, 6, 7, 64, 4095, 4096, 4097, rng.randrange(9000)]))
            elif kind == 1:  # near misses of the command
                base = bytearray(b"reset\n")
                for _ in range(rng.randrange(1, 3)):
                    op = rng.randrange(3)
                    i = rng.randrange(len(base) + 1)
                    if op == 0 and base:
                        del base[min(i, len(base) - 1)]
                    elif op == 1:
                        base.insert(i, rng.randrange(256))
                    elif base:
                        base[min(i, len(base) - 1)] = rng.randrange(256)
                data = bytes(base)
            elif kind == 2:  # the command split in two writes
                cut = rng.randrange(1, 5)
                data = b"reset"[:cut]
            else:
                data = bytes(rng.choice(b" \n\0abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(12)))
            if valid_command(data):
                continue
            how = rng.randrange(4)
            try:
                if how == 0:
                    # seq_files refuse positioned writes (ESPIPE).
                    os.pwrite(fd, data, rng.choice([1, 5, 4096]))
                elif how == 1:
                    # A write after seeking: the position does not matter.
                    try:
                        os.lseek(fd, rng.choice([0, 1, 6, 100, 4096]), os.SEEK_SET)
                    except OSError:
                        pass
                    os.write(fd, data)
                else:
                    os.write(fd, data)
                res = "ok"
            except OSError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            want = "ESPIPE" if how == 0 else "EINVAL"
            with lock:
                results[res] = results.get(res, 0) + 1
                if res != want:
                    bad.append((res, data[:40]))
        os.close(fd)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("results:", " ".join(f"{k}={v}" for k, v in sorted(results.items())))
    for res, data in bad[:10]:
        print(f"unexpected {res} for {data!r}")
    sys.exit(1 if bad or not results else 0)


def hooks_valid(v):
    if v == "none":
        return True
    for item in v.split(","):
        fam, sep, hook = item.partition(":")
        if fam not in FAMILIES:
            return False
        if sep and hook not in HOOKS:
            return False
    return True


def hooks_values(count, seed):
    rng = random.Random(int(seed))
    junk = ["", ":", ",", "ipv5", "IPV4", "input ", " ", "all:all", "x", "\\x01", "none,ipv4"]
    for _ in range(int(count)):
        items = []
        for _ in range(rng.randrange(1, 4)):
            r = rng.random()
            if r < 0.6:
                items.append(rng.choice(FAMILIES) + (":" + rng.choice(HOOKS) if rng.random() < 0.7 else ""))
            else:
                items.append(rng.choice(junk + FAMILIES + HOOKS))
        v = ",".join(items)
        if rng.random() < 0.05:
            v = "none"
        print(f"{v}|{1 if hooks_valid(v) else 0}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "proc":
        proc_fuzz(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "hooks-values":
        hooks_values(*sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

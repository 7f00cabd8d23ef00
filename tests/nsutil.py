#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Namespace tools the shell lacks, for the rnetns tests.

  nsutil.py clone-exec CMD...   run CMD in a child made by clone(CLONE_NEWNET)
  nsutil.py setns-exec PATH CMD...   setns(2) into the netns at PATH, exec CMD
  nsutil.py check-all [DIR]     for every netns file in DIR (/run/netns),
                                enter it and check that /proc/net/rnetns
                                shows that namespace's inode; prints a line
                                per mismatch, exits 1 if any
  nsutil.py udp-send DST PORT COUNT SIZE [CPU]
                                send COUNT UDP datagrams of SIZE payload
                                bytes to DST (IPv4 or IPv6), pinned to CPU
  nsutil.py udp-sink ADDR PORT [SECONDS]
                                bind a UDP socket and hold it (never read)
  nsutil.py hold-read FILE SECONDS
                                open FILE once, then read it from the start
                                and write "reset" to it in a loop until
                                SECONDS pass; prints the results by errno
  nsutil.py hold-hammer SECONDS NSFILE...
                                enter each netns at NSFILE and open its
                                /proc/net/rnetns read-write, print "ready",
                                then hammer each file from its own thread:
                                read it (pread at 0), write "reset", write
                                "hooks=all", in turn, until all three got
                                EIO (the file was removed) or SECONDS pass.
                                Prints "OP:RESULT COUNT" lines per file
                                summed, and a "bad: ..." line for every
                                result that is not ok, ENODEV or EIO or
                                that breaks the teardown order of a file
                                (ok, then ENODEV, then EIO, never back)
  nsutil.py fail-nth-unshare N   make the Nth fault-injection site this task
                                reaches fail (/proc/thread-self/fail-nth),
                                then unshare(CLONE_NEWNET); prints
                                "injected|not-reached ok|ERRNO"
  nsutil.py fail-nth-insmod N KO [PARAMS]
                                the same around finit_module(2) of KO
  nsutil.py switch-loop SECONDS FILE PAYLOAD...
                                until SECONDS pass, write a random PAYLOAD
                                to FILE (reopened after an error), printing
                                how many writes and opens gave each result
  nsutil.py write FILE [@FD] PAYLOAD...
                                write each PAYLOAD with one write(2) to FILE
                                (or to the inherited descriptor FD), printing
                                "ok" or the errno name per write; PAYLOAD is
                                a Python string literal body (\\n, \\x00) or
                                @N for N bytes of "x"
"""
import errno
import socket
import time
import ctypes
import os
import sys

CLONE_NEWNET = 0x40000000
SIGCHLD = 17
# System call numbers differ by architecture (the generic table's on arm64).
SYSCALLS = {
    "x86_64": {"clone": 56, "finit_module": 313},
    "aarch64": {"clone": 220, "finit_module": 273},
}[os.uname().machine]
SYS_clone = SYSCALLS["clone"]

libc = ctypes.CDLL(None, use_errno=True)


def die(msg):
    print(f"nsutil: {msg}", file=sys.stderr)
    sys.exit(2)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        die(f"setns: {os.strerror(ctypes.get_errno())}")


def clone_exec(argv):
    # A raw clone with no new stack behaves like fork(), in a new netns.
    pid = libc.syscall(SYS_clone, ctypes.c_ulong(CLONE_NEWNET | SIGCHLD), 0, 0, 0, 0)
    if pid < 0:
        die(f"clone: {os.strerror(ctypes.get_errno())}")
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


def setns_exec(path, argv):
    fd = os.open(path, os.O_RDONLY)
    setns(fd)
    os.close(fd)
    os.execvp(argv[0], argv)


def shown_inum():
    with open("/proc/thread-self/net/rnetns") as f:
        for line in f:
            key, _, value = line.partition(" ")
            if key == "inum":
                return int(value)
    return None


def check_all(d):
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    bad = checked = 0
    for name in sorted(os.listdir(d)):
        fd = os.open(os.path.join(d, name), os.O_RDONLY)
        want = os.fstat(fd).st_ino
        setns(fd)
        os.close(fd)
        try:
            got = shown_inum()
        except OSError as e:
            got = f"unreadable ({e.strerror})"
        setns(home)
        checked += 1
        if got != want:
            bad += 1
            print(f"{name}: /proc/net/rnetns shows inum {got}, namespace is {want}")
    print(f"checked {checked} namespaces, {bad} wrong")
    sys.exit(1 if bad or not checked else 0)


def udp_send(dst, port, count, size, cpu=None):
    if cpu is not None:
        os.sched_setaffinity(0, {int(cpu)})
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    payload = b"r" * int(size)
    sent = 0
    for _ in range(int(count)):
        while True:
            try:
                s.sendto(payload, (dst, int(port)))
                break
            except BlockingIOError:
                time.sleep(0.001)
        sent += 1
    print(f"sent {sent}")


def udp_sink(addr, port, seconds="600"):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    print("bound", flush=True)
    time.sleep(float(seconds))


def hold_read(path, seconds):
    deadline = time.monotonic() + float(seconds)
    counts = {}
    try:
        rfd = os.open(path, os.O_RDONLY)
        wfd = os.open(path, os.O_WRONLY)
    except OSError as e:
        print("open:", errno.errorcode.get(e.errno, str(e.errno)))
        return
    while time.monotonic() < deadline:
        for what, op in (("read", lambda: (os.lseek(rfd, 0, 0), os.read(rfd, 65536))),
                         ("reset", lambda: os.write(wfd, b"reset"))):
            try:
                op()
                key = what + ":ok"
            except OSError as e:
                key = what + ":" + errno.errorcode.get(e.errno, str(e.errno))
            counts[key] = counts.get(key, 0) + 1
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))


# The results a held-open rnetns file may give while rnetns tears its
# namespace's state down, in the order they may come.
TEARDOWN_ORDER = {"ok": 0, "ENODEV": 1, "EIO": 2}


def hammer_one(fd, deadline, counts, bad):
    ops = (("read", lambda: os.pread(fd, 65536, 0)),
           ("reset", lambda: os.write(fd, b"reset")),
           ("hooks", lambda: os.write(fd, b"hooks=all")))
    # rank: how far the teardown has gone, as the result that showed it.
    rank, shown, last, gone = 0, "start", "start", set()
    while time.monotonic() < deadline and len(gone) < len(ops):
        for what, op in ops:
            try:
                op()
                res = "ok"
            except OSError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            key = f"{what}:{res}"
            counts[key] = counts.get(key, 0) + 1
            r = TEARDOWN_ORDER.get(res)
            if r is None:
                bad.append(f"{key} (after {last})")
            elif r < rank:
                bad.append(f"{key} after {shown} (then {last})")
            elif r > rank:
                rank, shown = r, key
            last = key
            if res == "EIO":
                gone.add(what)


def hold_hammer(seconds, paths):
    import threading
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fds = []
    for p in paths:
        nsfd = os.open(p, os.O_RDONLY)
        setns(nsfd)
        os.close(nsfd)
        try:
            fds.append(os.open("/proc/thread-self/net/rnetns", os.O_RDWR))
        except OSError as e:
            die(f"open in {p}: {errno.errorcode.get(e.errno, str(e.errno))}")
        setns(home)
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    results = [({}, []) for _ in fds]
    threads = [threading.Thread(target=hammer_one, args=(fd, deadline, c, b))
               for fd, (c, b) in zip(fds, results)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = {}
    for counts, bad in results:
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        for b in bad[:3]:
            print("bad:", b)
        if len(bad) > 3:
            print(f"bad: and {len(bad) - 3} more on that file")
    for k, v in sorted(total.items()):
        print(k, v)


def fail_nth(n, call):
    """Runs call() with the Nth fault-injection site of this task failing."""
    with open("/proc/thread-self/fail-nth", "w") as f:
        f.write(str(int(n)))
    rc = call()
    err = ctypes.get_errno()
    with open("/proc/thread-self/fail-nth") as f:
        left = int(f.read().strip() or 0)
    with open("/proc/thread-self/fail-nth", "w") as f:
        f.write("0")
    res = "ok" if rc == 0 else errno.errorcode.get(err, str(err))
    print("injected" if left == 0 else "not-reached", res)


def fail_nth_unshare(n):
    fail_nth(n, lambda: libc.unshare(CLONE_NEWNET))


SYS_finit_module = SYSCALLS["finit_module"]


def fail_nth_insmod(n, ko, params=""):
    fd = os.open(ko, os.O_RDONLY)
    fail_nth(n, lambda: libc.syscall(SYS_finit_module, fd, ctypes.c_char_p(params.encode()), 0))
    os.close(fd)


def write_payloads(path, payloads):
    if path.startswith("@"):
        fd = int(path[1:])
    else:
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError as e:
            print("open:", errno.errorcode.get(e.errno, str(e.errno)))
            return
    for p in payloads:
        if p.startswith("@") and p[1:].isdigit():
            data = b"x" * int(p[1:])
        else:
            data = p.encode().decode("unicode_escape").encode("latin-1")
        try:
            os.write(fd, data)
            print("ok")
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))


def switch_loop(seconds, path, payloads):
    import random
    deadline = time.monotonic() + float(seconds)
    results = {}
    fd = None
    while time.monotonic() < deadline:
        if fd is None:
            try:
                fd = os.open(path, os.O_WRONLY)
            except OSError as e:
                key = "open: " + errno.errorcode.get(e.errno, str(e.errno))
                results[key] = results.get(key, 0) + 1
                time.sleep(0.05)
                continue
        try:
            os.write(fd, random.choice(payloads).encode())
            key = "ok"
        except OSError as e:
            key = errno.errorcode.get(e.errno, str(e.errno))
            if e.errno not in (errno.EINVAL, errno.E2BIG, errno.ENOMEM):
                os.close(fd)
                fd = None
        results[key] = results.get(key, 0) + 1
    for key, n in sorted(results.items()):
        print(key, n)


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "clone-exec" and args:
        clone_exec(args)
    elif cmd == "setns-exec" and len(args) >= 2:
        setns_exec(args[0], args[1:])
    elif cmd == "check-all":
        check_all(args[0] if args else "/run/netns")
    elif cmd == "udp-send" and len(args) in (4, 5):
        udp_send(*args)
    elif cmd == "udp-sink" and len(args) in (2, 3):
        udp_sink(*args)
    elif cmd == "fail-nth-unshare" and len(args) == 1:
        fail_nth_unshare(args[0])
    elif cmd == "fail-nth-insmod" and len(args) in (2, 3):
        fail_nth_insmod(*args)
    elif cmd == "hold-hammer" and len(args) >= 2:
        hold_hammer(args[0], args[1:])
    elif cmd == "hold-read" and len(args) == 2:
        hold_read(*args)
    elif cmd == "switch-loop" and len(args) >= 3:
        switch_loop(args[0], args[1], args[2:])
    elif cmd == "write" and len(args) >= 2:
        write_payloads(args[0], args[1:])
    else:
        die(__doc__)


if __name__ == "__main__":
    main()

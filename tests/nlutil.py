#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The rnetns generic netlink family, for the tests: on the kernel's own YNL
library (the lib/ beside $RNETNS_YNL, the 7.2 tree's tools/net/ynl/pyynl)
and the family's spec ($RNETNS_TOP/netlink/rnetns.yaml).

  nlutil.py compare DUMP NSFILE...
        DUMP is `ynl --dump get --output-json`'s output; for each network
        namespace file, enter it (setns) and check that its
        /proc/net/rnetns says what DUMP's entry for its inode says
        (cookie, init-net, created-ns, counted hook points and counters,
        refused ones). One line per mismatch; exit 1 if any
  nlutil.py policy
        the running kernel's view of the family (nlctrl: version, ops and
        their flags, multicast groups, and each op's policy) against the
        spec's; one line per difference, exit 1 if any
  nlutil.py race SECONDS INUM...
        dump get in a loop for SECONDS, reading at most 4000 bytes at a
        time (each dump comes in several parts); every dump must succeed,
        list cookies in ascending order, none twice, and every INUM (of a
        namespace alive throughout); prints the dumps' count and sizes
  nlutil.py paused-dump TRIGGER [close]
        start a dump, read its first part, print "paused K" and wait until
        the file TRIGGER exists; then read the rest (print "done N dup D")
        or, with close, close the socket mid-dump (print "closed")
  nlutil.py req REQUEST...
        one process, several requests, one line each: REQUEST is
        "do OP JSON", "dump OP JSON", "packets INUM" (a dump: that
        namespace's packets, summed), "subscribe GROUP" or "repeated" (get
        with nsid given twice); prints "ok REPLY" (a dump: its inode
        numbers, sorted) or "ERRNO: extack message" ("-" if none)
  nlutil.py fuzz COUNT SEED
        send COUNT malformed or random requests to the family (COUNT/10
        mutations of each kind, seeded); every request gets an answer, and
        every error the family gives (past genetlink's own checks) comes
        with an extended-ack message. Prints counts per result
"""
import errno
import json
import os
import random
import socket
import struct
import sys
import time



def load_ynl():
    """The kernel's YNL library: imported only by the commands that speak
    netlink (an import costs seconds in an emulated debug guest)."""
    # pylint: disable=global-statement,import-outside-toplevel,import-error
    global YnlFamily, NlError, Netlink, NlMsgs, NlAttrs, GenlMsg, _genl_msg, \
        _genl_msg_finalize, _genl_policy_dump
    sys.path.insert(0, os.path.dirname(os.environ.get('RNETNS_YNL', '')))
    from lib import YnlFamily, NlError
    from lib.ynl import Netlink, NlMsgs, NlAttrs, GenlMsg, _genl_msg, _genl_msg_finalize, \
        _genl_policy_dump

SPEC = os.path.join(os.environ.get('RNETNS_TOP', '.'), 'netlink', 'rnetns.yaml')
CLONE_NEWNET = 0x40000000
libc = __import__('ctypes').CDLL(None, use_errno=True)


def family(recv_size=0):
    return YnlFamily(SPEC, schema='', recv_size=recv_size)


def read_proc():
    ident, rows, in_rows = {}, {}, False
    with open('/proc/net/rnetns') as f:
        for line in f:
            w = line.split()
            if w == ['family', 'hook', 'packets', 'bytes']:
                in_rows = True
            elif in_rows:
                rows[(w[0], w[1])] = (int(w[2]), int(w[3]))
            elif len(w) == 2:
                ident[w[0]] = w[1]
    return ident, rows


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(__import__('ctypes').get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def cmd_compare(dump_path, *nsfiles):
    with open(dump_path) as f:
        dump = json.load(f)
    by_inum = {e['inum']: e for e in dump}
    print(f"dump: {len(dump)} namespaces")
    if len(by_inum) != len(dump):
        print("an inode number is listed twice in the dump")
        return 1
    bad = 0
    own = os.open('/proc/self/ns/net', os.O_RDONLY)
    for path in nsfiles:
        inum = os.stat(path).st_ino
        setns(path)
        ident, rows = read_proc()
        libc.setns(own, CLONE_NEWNET)
        e = by_inum.get(inum)
        if e is None:
            print(f"{path} ({inum}): not in the dump")
            bad += 1
            continue
        want = {'cookie': int(ident['cookie']), 'init-net': int(ident['init_net']),
                'created-ns': int(ident['created_ns']), 'counters': rows,
                'refused': ident['refused']}
        got = {'cookie': e['cookie'], 'init-net': e['init-net'],
               'created-ns': e['created-ns'],
               'counters': {(c['family'], c['hook']): (c['packets'], c['bytes'])
                            for c in e.get('counter', [])},
               'refused': ','.join(f"{r['family']}:{r['hook']}={errno.errorcode[r['error']]}"
                                   for r in e.get('refused', [])) or 'none'}
        # The hook selection: the counted points, and those refused.
        hooks = set(e.get('hooks', []))
        counted = {f"{fam}-{hook}" for fam, hook in got['counters']}
        if hooks != counted:
            print(f"{path} ({inum}): hooks {sorted(hooks)}, counters at {sorted(counted)}")
            bad += 1
        for k in want:
            if want[k] != got[k]:
                print(f"{path} ({inum}): {k}: proc {want[k]}, dump {got[k]}")
                bad += 1
    print(f"{len(nsfiles)} namespaces compared, {bad} mismatches")
    return 1 if bad else 0


SPEC_TYPES = {'u8': 'u8', 'u16': 'u16', 'u32': 'u32', 'u64': 'u64', 's32': 's32',
              'flag': 'flag', 'uint': 'uint', 'nest': 'nested'}


def ctrl_family(name):
    """nlctrl's getfamily for NAME: (version, {op id: flags}, [group names])."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, Netlink.NETLINK_GENERIC) as sock:
        msg = _genl_msg(Netlink.GENL_ID_CTRL, Netlink.NLM_F_REQUEST, Netlink.CTRL_CMD_GETFAMILY, 1)
        b = name.encode() + b'\0'
        msg += struct.pack('HH', 4 + len(b), Netlink.CTRL_ATTR_FAMILY_NAME) + b
        msg += b'\0' * ((4 - len(b) % 4) % 4)
        sock.send(_genl_msg_finalize(msg))
        for nl_msg in NlMsgs(sock.recv(65536)):
            if nl_msg.error:
                raise OSError(-nl_msg.error, 'getfamily')
            version, ops, groups = None, {}, []
            for attr in NlAttrs(GenlMsg(nl_msg).raw):
                if attr.type == 3:  # CTRL_ATTR_VERSION
                    version = attr.as_scalar('u32')
                elif attr.type == 6:  # CTRL_ATTR_OPS
                    for op in NlAttrs(attr.raw):
                        a = {x.type: x.as_scalar('u32') for x in NlAttrs(op.raw)}
                        ops[a[1]] = a.get(2, 0)  # CTRL_ATTR_OP_ID, _FLAGS
                elif attr.type == Netlink.CTRL_ATTR_MCAST_GROUPS:
                    for g in NlAttrs(attr.raw):
                        for x in NlAttrs(g.raw):
                            if x.type == Netlink.CTRL_ATTR_MCAST_GRP_NAME:
                                groups.append(x.as_strz())
            return version, ops, groups
    return None


def cmd_policy():
    ynl = family()
    bad = []
    version, ops, groups = ctrl_family(ynl.yaml['name'])
    if version != ynl.yaml.get('version', 1):
        bad.append(f"version {version}, the spec's {ynl.yaml.get('version', 1)}")
    want_groups = [g['name'] for g in ynl.yaml['mcast-groups']['list']]
    if groups != want_groups:
        bad.append(f"multicast groups {groups}, the spec's {want_groups}")
    spec_ops = {}
    for op in ynl.ops.values():
        if 'do' not in op.yaml and 'dump' not in op.yaml:
            continue
        flags = (0x02 if 'do' in op.yaml else 0) | (0x04 if 'dump' in op.yaml else 0)
        for f in op.yaml.get('flags', []):
            flags |= {'admin-perm': 0x01, 'uns-admin-perm': 0x10}[f]
        spec_ops[op.req_value] = (op, flags)
    for cmd in sorted(set(ops) | set(spec_ops)):
        if cmd not in spec_ops:
            bad.append(f"op {cmd}: in the kernel, not in the spec")
            continue
        op, flags = spec_ops[cmd]
        if cmd not in ops:
            bad.append(f"op {op.name}: in the spec, not in the kernel")
            continue
        # HASPOL (0x08) depends on the policies, compared below.
        if ops[cmd] & ~0x08 != flags:
            bad.append(f"op {op.name}: flags {ops[cmd]:#x}, the spec's {flags:#x}")
        op_policy, table = _genl_policy_dump(ynl.nlproto.family_id, cmd)
        for mode in ('do', 'dump'):
            if mode not in op.yaml:
                continue
            req = op.yaml[mode].get('request', {}).get('attributes', [])
            got = table.get(op_policy[mode], {}) if mode in op_policy else {}
            names = {op.attr_set.attrs_by_val[i].name if i in op.attr_set.attrs_by_val
                     else f"attr-{i}": p for i, p in got.items()}
            if set(names) != set(req):
                bad.append(f"{op.name} {mode}: the kernel's policy has {sorted(names)},"
                           f" the spec's request {sorted(req)}")
                continue
            for name in req:
                a, p = op.attr_set.attrs[name], names[name]
                if p['type'] != SPEC_TYPES[a.type]:
                    bad.append(f"{op.name} {mode} {name}: {p['type']}, the spec's {a.type}")
                checks = a.yaml.get('checks', {})
                if 'min' in checks and p.get('min-value') != checks['min']:
                    bad.append(f"{op.name} {mode} {name}: min {p.get('min-value')},"
                               f" the spec's {checks['min']}")
                if 'flags-mask' in checks:
                    mask = (1 << len(ynl.consts[checks['flags-mask']].entries)) - 1
                    if p.get('mask') != mask:
                        bad.append(f"{op.name} {mode} {name}: mask {p.get('mask')},"
                                   f" the spec's {mask:#x}")
                elif 'mask' in p:
                    bad.append(f"{op.name} {mode} {name}: a mask the spec has not")
            shown = ', '.join(n + ' ' + names[n]['type'] for n in req) or 'no attributes'
            print(f"{op.name} {mode}: {shown}")
    for line in bad:
        print(line)
    return 1 if bad else 0


def cmd_race(seconds, *stable):
    stable = {int(i) for i in stable}
    ynl = family(recv_size=4000)
    end = time.time() + float(seconds)
    n, sizes, bad = 0, [], 0
    while time.time() < end:
        try:
            dump = ynl.dump('get', {})
        except NlError as e:
            print(f"dump {n}: {e}")
            return 1
        n += 1
        # In the kernel's list order (the order namespaces finished their
        # set-up), not the cookies' (6.12 hands cookies out per CPU).
        cookies = [e['cookie'] for e in dump]
        sizes.append(len(cookies))
        if len(set(cookies)) != len(cookies):
            print(f"dump {n}: cookies repeated: {cookies}")
            bad += 1
        missing = stable - {e['inum'] for e in dump}
        if missing:
            print(f"dump {n}: missing {sorted(missing)}")
            bad += 1
    print(f"{n} dumps, {min(sizes)} to {max(sizes)} namespaces each, {bad} bad")
    return 1 if bad or n == 0 else 0


def dump_request(ynl, seq):
    msg = _genl_msg(ynl.nlproto.family_id, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP,
                    ynl.ops['get'].req_value, 1, seq)
    return _genl_msg_finalize(msg)


def cmd_paused_dump(trigger, how='resume'):
    ynl = family()
    sock = ynl.sock
    sock.send(dump_request(ynl, 1))
    cookies, done = [], False

    def take(buf):
        nonlocal done
        for m in NlMsgs(buf):
            if m.error:
                raise OSError(-m.error, 'dump')
            if m.done:
                done = True
                return
            for a in NlAttrs(GenlMsg(m).raw):
                if a.type == 2:  # cookie
                    cookies.append(a.as_scalar('u64'))

    # Reads of 4000 bytes: netlink sizes the next part by the reader's
    # buffer (a larger one would let the second part finish the dump, and
    # reading the first part makes the second).
    take(sock.recv(4000))
    print(f"paused {len(cookies)}", flush=True)
    while not os.path.exists(trigger):
        time.sleep(0.1)
    if how == 'close':
        sock.close()
        print("closed", flush=True)
        return 0
    while not done:
        take(sock.recv(4000))
    print(f"done {len(cookies)} dup {len(cookies) - len(set(cookies))}", flush=True)
    return 0


def repeated(ynl):
    """get with nsid twice: the error line."""
    body = b''.join(struct.pack('HHi', 8, 9, 0) for _ in range(2))
    msg = _genl_msg(ynl.nlproto.family_id, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK,
                    ynl.ops['get'].req_value, 1, 1) + body
    ynl.sock.send(_genl_msg_finalize(msg))
    for m in NlMsgs(ynl.sock.recv(65536)):
        if m.nl_type == Netlink.NLMSG_ERROR:
            if not m.error:
                return "ok"
            return f"{errno.errorcode.get(-m.error, m.error)}: {(m.extack or {}).get('msg', '-')}"
    return "no answer"


def cmd_req(*reqs):
    ynl = family()
    for req in reqs:
        words = req.split(' ', 2)
        try:
            if words[0] == 'do':
                r = ynl.do(words[1], json.loads(words[2]))
                line = f"ok {json.dumps(r, default=sorted)}"
            elif words[0] == 'dump':
                r = ynl.dump(words[1], json.loads(words[2]))
                line = "ok " + ' '.join(str(i) for i in sorted(e['inum'] for e in r))
            elif words[0] == 'packets':
                r = ynl.dump('get', {})
                e = [e for e in r if e['inum'] == int(words[1])][0]
                line = f"ok {sum(c['packets'] for c in e.get('counter', []))}"
            elif words[0] == 'subscribe':
                # A socket of its own: this one is bound by now.
                family().ntf_subscribe(words[1])
                line = "ok"
            elif words[0] == 'repeated':
                line = repeated(ynl)
            else:
                line = f"bad request {req}"
        except NlError as e:
            line = f"{errno.errorcode.get(e.error, e.error)}: {(e.nl_msg.extack or {}).get('msg', '-')}"
        except OSError as e:
            line = f"{errno.errorcode.get(e.errno, e.errno)}: {e.strerror}"
        print(f"{req} -> {line}", flush=True)
    return 0


def cmd_fuzz(count, seed):
    """Malformed requests. Each kind says whether an error needs an
    extended-ack message from the family (past genetlink's own checks:
    header length, command, do/dump, permissions, which have none)."""
    rnd = random.Random(int(seed))
    ynl = family()
    fam_id = ynl.nlproto.family_id
    sock = ynl.sock
    sock.settimeout(30)
    attrs = {'ns-fd': 8, 'nsid': 9, 'reset': 10, 'hooks': 5}

    def attr(ty, payload):
        a = struct.pack('HH', 4 + len(payload), ty) + payload
        return a + b'\0' * ((4 - len(a) % 4) % 4)

    def rand_attr():
        ty = rnd.choice([0, 1, 2, 5, 6, 8, 9, 10, 11, 14, 15, 63, 0x8005, 0x4008, 65535])
        return attr(ty, bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 1, 2, 3, 4, 5, 8, 12]))))

    def kinds():
        cmd = rnd.choice([1, 2])
        flags = 0
        body = b''
        k = rnd.randrange(8)
        if k == 0:  # random attributes
            body = b''.join(rand_attr() for _ in range(rnd.randrange(1, 5)))
        elif k == 1:  # wrong lengths for known attributes
            ty = rnd.choice(list(attrs.values()))
            body = attr(ty, b'\x01' * rnd.choice([0, 1, 2, 3, 5, 8]))
        elif k == 2:  # a known attribute twice
            ty = rnd.choice([8, 9])
            body = attr(ty, struct.pack('I', rnd.randrange(0, 64))) * 2
        elif k == 3:  # truncated attribute header or payload
            body = attr(8, struct.pack('I', 3))[:rnd.choice([1, 2, 3, 5, 7])]
        elif k == 4:  # an attribute longer than the message
            body = struct.pack('HH', rnd.choice([12, 100, 65535]), 8) + b'\0\0\0\0'
        elif k == 5:  # dump with attributes
            flags = Netlink.NLM_F_DUMP
            cmd = 1
            body = b''.join(rand_attr() for _ in range(rnd.randrange(1, 3)))
        elif k == 6:  # out-of-range values: bad fd, nsid, hooks bits
            cmd = rnd.choice([1, 2])
            body = rnd.choice([attr(8, struct.pack('I', rnd.choice([0, 1, 2, 999, 0xffffffff]))),
                               attr(9, struct.pack('i', rnd.choice([-1, -100, 7, 12345]))),
                               attr(5, struct.pack('I', rnd.choice([1 << 10, 1 << 31, 0xffffffff])))
                               + attr(10, b'')])
        else:  # genetlink-level: unknown command, short header, dump of
            # set; a reserved header field or flag set (with messages)
            sub = rnd.randrange(5)
            if sub == 0:
                return rnd.choice([0, 3, 4, 5, 200]), 0, b'', 'core', None, 0
            if sub == 1:
                return 1, 0, b'', 'core', rnd.choice([0, 1, 2, 3]), 0
            if sub == 2:
                return 2, Netlink.NLM_F_DUMP, b'', 'core', None, 0
            if sub == 3:
                return 1, 0, b'', 'family', None, rnd.randrange(1, 65536)
            return 1, rnd.choice([0x10, 0x20, 0x800, 0x1000]), b'', 'family', None, 0
        return cmd, flags, body, 'family', None, 0

    results = {}
    missing_msg = 0
    for seq in range(1, int(count) + 1):
        cmd, flags, body, level, genl_len, reserved = kinds()
        genl = struct.pack('BBH', cmd, 1, reserved)
        if genl_len is not None:
            genl = genl[:genl_len]
        payload = genl + body
        hdr = struct.pack('IHHII', 16 + len(payload), fam_id,
                          Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | flags, seq, 0)
        sock.send(hdr + payload)
        # Read until this request's ACK/error (or the dump's DONE).
        result = None
        while result is None:
            for m in NlMsgs(sock.recv(65536)):
                if m.nl_seq != seq:
                    continue
                if m.nl_type == Netlink.NLMSG_ERROR or m.nl_type == Netlink.NLMSG_DONE:
                    result = (m.error, (m.extack or {}).get('msg'))
        err, msg = result
        name = 'ok' if err == 0 else errno.errorcode.get(-err, str(err))
        key = f"{level}:{name}"
        results[key] = results.get(key, 0) + 1
        # Genetlink answers EPERM for set to whoever lacks CAP_NET_ADMIN
        # before the family sees the request.
        if err and level == 'family' and not msg and not (cmd == 2 and err == -errno.EPERM):
            missing_msg += 1
            print(f"request {seq}: cmd {cmd} flags {flags:#x} body {body.hex()}: {name}, no message")
    for k in sorted(results):
        print(f"{k} {results[k]}")
    print(f"{count} requests, {missing_msg} errors without a message")
    return 1 if missing_msg else 0


def main():
    cmds = {'compare': cmd_compare, 'policy': cmd_policy, 'race': cmd_race,
            'paused-dump': cmd_paused_dump, 'req': cmd_req, 'fuzz': cmd_fuzz}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        return 2
    if sys.argv[1] != 'compare':
        load_ynl()
    return cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The mechanical step from rnetns's abstraction layer to the kernel crate.

The module's abstraction layer (src/ext/) is the source of the upstream
series: this turns its files into the files of the `kernel` crate of a
Linux 7.2 tree, with nothing maintained twice. The step, and nothing else:

  * paths: `src/ext/X.rs` becomes its place in the tree (FILES below);
    `super::X` and `crate::ext::X` become `crate::` paths (MODULES);
    `kernel::` becomes `crate::` in code;
  * visibility: `pub(crate)` becomes `pub`;
  * bindings: `bindings::rnetns_X` (a one-line wrapper in
    src/ext/helpers.c) becomes `bindings::X`, and the wrapper becomes
    `rust_helper_X` in rust/helpers/ (skipped where 7.2 has it already);
    `RNETNS_CONST_X` becomes `RUST_CONST_HELPER_X`, i.e. `bindings::X`;
  * compat shims: what src/ext/compat.rs selects for 7.2 is written in
    place (REPLACE), and the module-only code between
    `// upstream-drop-begin` and `// upstream-drop-end` is dropped (the C
    entry points that give the module's pernet callbacks their ftrace
    locations, which in-tree code does not need);
  * a per-file list of literal replacements (REPLACE) for the rest: lock
    class names and the like. Every rule is in this file.

Usage:
  upstream.py transform SRC-TOP OUT-DIR  write the tree's files under OUT-DIR
  upstream.py helpers SRC-TOP TREE OUT   write rust/helpers/{net,proc}.c
  upstream.py series SRC-TOP TREE WORK OUT
      write the series: a git repository in WORK holding TREE's files that
      the series changes, one commit per patch, and `git format-patch
      --cover-letter` of them in OUT (the text of each patch is in
      upstream/, the code comes from the step above)
"""

import os
import re
import shutil
import subprocess
import sys

# Module file -> tree file.
FILES = {
    "src/ext/net.rs": "rust/kernel/net/namespace.rs",
    "src/ext/pernet.rs": "rust/kernel/net/pernet.rs",
    "src/ext/pernet/attach.rs": "rust/kernel/net/pernet/attach.rs",
    "src/ext/netfilter.rs": "rust/kernel/net/netfilter.rs",
    "src/ext/proc.rs": "rust/kernel/proc.rs",
    "src/ext/genetlink.rs": "rust/kernel/net/genetlink.rs",
}

# Module of the abstraction layer -> its path in the kernel crate.
MODULES = {
    "bindings": "bindings",
    "net": "net::namespace",
    "netfilter": "net::netfilter",
    "pernet": "net::pernet",
    "proc": "proc",
    "genetlink": "net::genetlink",
}

# The helpers of src/ext/helpers.c that the series' files use, by the file
# of rust/helpers/ they go to.
HELPERS = {
    "net.c": [
        "net_generic",
        "net_inum",
        "net_cookie",
        "net_user_ns",
        "net_proc_net",
        "net_gen_offset",
        "net_generic_ptr_offset",
        "maybe_get_net",
        "put_net",
        "net_first_rcu",
        "net_next_rcu",
    ],
    "proc.c": [
        "seq_file_single_net",
        "file_single_net",
        "seq_pde_data",
        "file_pde_data",
    ],
    "genetlink.c": [
        "genlmsg_new",
        "nlmsg_free",
        "genlmsg_end",
        "genlmsg_cancel",
        "genlmsg_reply",
        "genlmsg_multicast_netns",
        "genl_has_listeners",
        "nla_put_uint",
        "nla_nest_start",
        "nla_nest_end",
        "nla_nest_cancel",
        "genl_info_dump",
        "genl_info_net",
        "genl_attrdata",
        "genl_attrlen",
        "nla_ok",
        "nla_next",
        "nla_type",
        "skb_sock_net",
        "skb_len",
    ],
}

# Literal replacements per module file, applied first: the 7.2 side of
# src/ext/compat.rs, and names that say "rnetns".
REPLACE = {
    "src/ext/pernet.rs": [
        ("    time,\n", ""),
        (
            "    time::mono_ns()\n",
            "    u64::try_from(crate::time::Instant::<crate::time::Monotonic>::now().as_nanos()).unwrap_or(0)\n",
        ),
    ],
    "src/ext/proc.rs": [
        ("    compat::{self, CStr},\n", ""),
        ("pub(crate) use compat::{seq_print, SeqFile};\n", "pub use crate::seq_file::SeqFile;\n"),
    ],
    "src/ext/netfilter.rs": [
        ('"rnetns_hooks"', '"nf_net_hooks"'),
    ],
}


def split_top(s):
    """Splits a `use` group's inside at its top-level commas."""
    items, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        items.append(cur.strip())
    return items


def map_item(item):
    """`net::Net` -> `net::namespace::Net`, for an item of `crate::ext`."""
    head = re.match(r"(\w+)(.*)$", item, re.S)
    name, rest = head.group(1), head.group(2)
    if name == "self":
        return None
    if name not in MODULES:
        raise SystemExit(f"upstream.py: no kernel path for module '{name}'")
    return MODULES[name] + rest


def rewrite_use_groups(text, pattern):
    """Rewrites `use PATTERN{...};` groups into `use crate::{...};`."""
    out, pos = "", 0
    for m in re.finditer(pattern, text):
        start = m.end()
        depth, i = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner = text[start : i - 1]
        items = [x for x in (map_item(it) for it in split_top(inner)) if x]
        out += text[pos : m.start()] + "use crate::{" + ", ".join(items) + "}"
        pos = i
    return out + text[pos:]


def drop_regions(text, path):
    out, dropping = [], False
    for line in text.splitlines(keepends=True):
        if "// upstream-drop-begin" in line:
            if dropping:
                raise SystemExit(f"{path}: nested upstream-drop-begin")
            dropping = True
        elif "// upstream-drop-end" in line:
            if not dropping:
                raise SystemExit(f"{path}: upstream-drop-end without begin")
            dropping = False
        elif not dropping:
            out.append(line)
    if dropping:
        raise SystemExit(f"{path}: upstream-drop-begin without end")
    return "".join(out)


def map_path_words(s):
    """`super::X` (X a module of the layer) and `crate::ext::X` -> crate paths."""
    def sub(m):
        prefix, name = m.group(1), m.group(2)
        if name not in MODULES:
            return m.group(0)
        return prefix.replace("crate::ext::", "crate::").replace("super::", "crate::") + MODULES[name]

    s = re.sub(r"(\$?crate::ext::)(\w+)", sub, s)
    return s


def transform(rel, text, in_ext_root):
    for old, new in REPLACE.get(rel, []):
        if old not in text:
            raise SystemExit(f"upstream.py: '{old.strip()}' not found in {rel}")
        text = text.replace(old, new)
    text = drop_regions(text, rel)
    if in_ext_root:
        text = rewrite_use_groups(text, r"use super::\{")
        text = re.sub(r"use super::(\w+);", lambda m: f"use crate::{map_item(m.group(1))};", text)
    text = rewrite_use_groups(text, r"use crate::ext::\{")
    lines = []
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        is_comment = stripped.startswith("//")
        if in_ext_root:
            line = re.sub(
                r"\bsuper::(\w+)",
                lambda m: "crate::" + MODULES[m.group(1)] if m.group(1) in MODULES else m.group(0),
                line,
            )
        line = map_path_words(line)
        line = line.replace("pub(crate)", "pub")
        line = re.sub(r"\bbindings::rnetns_", "bindings::", line)
        line = re.sub(r"`rnetns_(\w+\(\))`", r"`\1`", line)
        line = re.sub(r"\bRNETNS_CONST_", "", line)
        if not is_comment:
            line = re.sub(r"(?<![\w:$])kernel::", "crate::", line)
        lines.append(line)
    return "".join(lines)


def cmd_transform(top, out):
    for rel, dest in FILES.items():
        with open(os.path.join(top, rel)) as f:
            text = f.read()
        in_ext_root = rel.count("/") == 2
        result = transform(rel, text, in_ext_root)
        path = os.path.join(out, dest)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(result)


def c_functions(text):
    """The functions of helpers.c: name -> (leading comment, definition)."""
    funcs = {}
    lines = text.splitlines()
    i = 0
    comment = []
    while i < len(lines):
        line = lines[i]
        if line.startswith("/*") and not line.startswith("/* SPDX"):
            comment = [line]
            while not lines[i].rstrip().endswith("*/"):
                i += 1
                comment.append(lines[i])
            i += 1
            continue
        m = re.match(r"^(.*?)\brnetns_(\w+)\((.*)$", line)
        if m and not line.startswith((" ", "\t", "#")) and not line.rstrip().endswith(";"):
            body = [line]
            while lines[i] != "}":
                i += 1
                body.append(lines[i])
            funcs[m.group(2)] = (comment, body)
            comment = []
        elif line.strip():
            comment = []
        i += 1
    return funcs


HELPER_HEADERS = {
    "net.c": ["<net/net_namespace.h>", "<net/netns/generic.h>"],
    "proc.c": ["<linux/fs.h>", "<linux/proc_fs.h>", "<linux/seq_file.h>", "<linux/seq_file_net.h>"],
    "genetlink.c": ["<net/genetlink.h>", "<net/netlink.h>", "<net/sock.h>"],
}


def cmd_helpers(top, tree, out):
    with open(os.path.join(top, "src/ext/helpers.c")) as f:
        funcs = c_functions(f.read())
    existing = ""
    for name in os.listdir(os.path.join(tree, "rust/helpers")):
        with open(os.path.join(tree, "rust/helpers", name)) as f:
            existing += f.read()
    for fname, names in HELPERS.items():
        body = ["// SPDX-License-Identifier: GPL-2.0", ""]
        body += [f"#include {h}" for h in HELPER_HEADERS[fname]]
        for name in names:
            if f"rust_helper_{name}(" in existing:
                continue
            if name not in funcs:
                raise SystemExit(f"upstream.py: no rnetns_{name} in src/ext/helpers.c")
            comment, definition = funcs[name]
            body.append("")
            body += comment
            first = definition[0]
            # `TYPE rnetns_NAME(ARGS)` -> `__rust_helper TYPE rust_helper_NAME(ARGS)`,
            # split as the kernel's helpers are when it is too long.
            first = first.replace(f"rnetns_{name}(", f"rust_helper_{name}(")
            m = re.match(r"^(.*?)(rust_helper_\w+\(.*)$", first)
            ret, rest = m.group(1).rstrip(), m.group(2)
            one = f"__rust_helper {ret}{'' if ret.endswith('*') else ' '}{rest}"
            if len(one.expandtabs(8)) <= 80:
                body.append(one)
            else:
                body.append(f"__rust_helper {ret}")
                body.append(rest)
            # Continuation lines of the parameters, aligned with the new
            # open parenthesis (tabs, then spaces, as checkpatch wants).
            col = len(body[-1].expandtabs(8).split("(", 1)[0]) + 1
            in_params = True
            for cont in definition[1:]:
                in_params = in_params and cont != "{"
                if in_params:
                    cont = "\t" * (col // 8) + " " * (col % 8) + cont.strip()
                body.append(cont)
        path = os.path.join(out, "rust/helpers", fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(body) + "\n")


# The patches, in the order a maintainer reviews them: (message file in
# upstream/, the files each one adds or changes). A file of the step above
# or of upstream/ (the sample) is written whole; the tree's own files get
# the lines of EDITS.
SERIES = [
    ("0001-helpers", ["rust/helpers/net.c", "rust/helpers/proc.c", "rust/helpers/helpers.c",
                      "rust/bindings/bindings_helper.h", "MAINTAINERS"]),
    ("0002-namespace", ["rust/kernel/net/namespace.rs", "rust/kernel/net.rs", "MAINTAINERS"]),
    ("0003-netfilter", ["rust/kernel/net/netfilter.rs", "rust/kernel/net.rs", "MAINTAINERS"]),
    ("0004-proc", ["rust/kernel/proc.rs", "rust/kernel/lib.rs", "MAINTAINERS"]),
    ("0005-pernet", ["rust/kernel/net/pernet.rs", "rust/kernel/net/pernet/attach.rs",
                     "rust/kernel/net.rs", "MAINTAINERS"]),
    ("0006-genetlink", ["rust/kernel/net/genetlink.rs", "rust/helpers/genetlink.c",
                        "rust/helpers/helpers.c", "rust/bindings/bindings_helper.h",
                        "rust/kernel/net.rs", "MAINTAINERS"]),
    ("0007-sample", ["samples/rust/rust_pernet.rs", "samples/rust/Kconfig",
                     "samples/rust/Makefile", "MAINTAINERS"]),
]

# Lines the patches add to the tree's own files: (file, patch, the line
# after which it goes, the lines).
MAINTAINERS_HEAD = [
    "RUST [NET NAMESPACES]",
    "M:\t{ident}",
    "L:\tnetdev@vger.kernel.org",
    "L:\trust-for-linux@vger.kernel.org",
    "S:\tMaintained",
]
EDITS = {
    "rust/helpers/helpers.c": {
        "0001-helpers": [('#include "mutex.c"', ['#include "net.c"']),
                       ('#include "poll.c"', ['#include "proc.c"'])],
        "0006-genetlink": [('#include "fs.c"', ['#include "genetlink.c"'])],
    },
    "rust/bindings/bindings_helper.h": {
        "0001-helpers": [
            ("#include <linux/miscdevice.h>", ["#include <linux/netfilter.h>"]),
            ("#include <linux/poll.h>", ["#include <linux/proc_fs.h>"]),
            ("#include <linux/security.h>", ["#include <linux/seq_file_net.h>"]),
            ("#include <linux/xarray.h>", ["#include <net/net_namespace.h>", "#include <net/netns/generic.h>"]),
            ("const size_t RUST_CONST_HELPER_PAGE_SIZE = PAGE_SIZE;",
             ["const size_t RUST_CONST_HELPER_NET_GENERIC_PTR = offsetof(struct net_generic, ptr);"]),
        ],
        "0006-genetlink": [
            ("#include <linux/xarray.h>", ["#include <net/genetlink.h>"]),
            ("const size_t RUST_CONST_HELPER_NET_GENERIC_PTR = offsetof(struct net_generic, ptr);", [
                "const size_t RUST_CONST_HELPER_GENLMSG_DEFAULT_SIZE = GENLMSG_DEFAULT_SIZE;",
                "const size_t RUST_CONST_HELPER_NLA_HDRLEN = NLA_HDRLEN;",
                "const u8 RUST_CONST_HELPER_GENL_MCAST_CAP_NET_ADMIN = GENL_MCAST_CAP_NET_ADMIN;",
            ]),
        ],
    },
    "rust/kernel/net.rs": {
        "0002-namespace": [("//! Networking.", ["", "pub mod namespace;"])],
        "0003-netfilter": [("pub mod namespace;", ["#[cfg(CONFIG_NETFILTER)]", "pub mod netfilter;"])],
        "0005-pernet": [("pub mod netfilter;", ["pub mod pernet;"])],
        "0006-genetlink": [("//! Networking.\n", ["pub mod genetlink;"])],
    },
    "rust/kernel/lib.rs": {
        "0004-proc": [("pub mod prelude;", None), ("pub mod print;", ["#[cfg(all(CONFIG_NET, CONFIG_PROC_FS))]", "pub mod proc;"])],
    },
    "samples/rust/Kconfig": {
        "0007-sample": [("\t  the module will be called rust_misc_device.\n\n\t  If unsure, say N.", [
            "",
            "config SAMPLE_RUST_PERNET",
            "\ttristate \"Per-network-namespace state\"",
            "\tdepends on NETFILTER && PROC_FS",
            "\thelp",
            "\t  This option builds the Rust per-network-namespace sample: a",
            "\t  count of the packets each network namespace delivers locally,",
            "\t  shown in its /proc/net/rust_pernet.",
            "",
            "\t  To compile this as a module, choose M here:",
            "\t  the module will be called rust_pernet.",
            "",
            "\t  If unsure, say N.",
        ])],
    },
    "samples/rust/Makefile": {
        "0007-sample": [("obj-$(CONFIG_SAMPLE_RUST_MISC_DEVICE)\t\t+= rust_misc_device.o",
                         ["obj-$(CONFIG_SAMPLE_RUST_PERNET)\t\t+= rust_pernet.o"])],
    },
}
MAINTAINERS_FILES = {
    "0001-helpers": ["rust/helpers/net.c", "rust/helpers/proc.c"],
    "0002-namespace": ["rust/kernel/net/namespace.rs"],
    "0003-netfilter": ["rust/kernel/net/netfilter.rs"],
    "0004-proc": ["rust/kernel/proc.rs"],
    "0005-pernet": ["rust/kernel/net/pernet.rs", "rust/kernel/net/pernet/"],
    "0006-genetlink": ["rust/helpers/genetlink.c", "rust/kernel/net/genetlink.rs"],
    "0007-sample": ["samples/rust/rust_pernet.rs"],
}


def apply_edit(text, anchor, lines, path):
    """Adds `lines` after the line (or lines) `anchor`; None: only checks it."""
    if anchor not in text:
        raise SystemExit(f"upstream.py: '{anchor}' not in {path}")
    if lines is None:
        return text
    i = text.index(anchor) + len(anchor)
    return text[:i] + "".join("\n" + l for l in lines) + text[i:]


def maintainers(text, done, ident):
    """MAINTAINERS with the entry listing the files of the patches `done`."""
    files = sorted(f for p in done for f in MAINTAINERS_FILES.get(p, []))
    entry = [l.format(ident=ident) for l in MAINTAINERS_HEAD] + [f"F:\t{f}" for f in files]
    # Alphabetically among the RUST [...] entries.
    names = [m.start() for m in re.finditer(r"^RUST \[[^\n]*\]$", text, re.M)]
    at = next(n for n in names if text[n:].split("\n", 1)[0] > entry[0])
    return text[:at] + "\n".join(entry) + "\n\n" + text[at:]


def git(work, *args, env=None):
    subprocess.run(["git", "-C", work, *args], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def cmd_series(top, tree, work, out):
    gen = os.path.join(work, ".gen")
    cmd_transform(top, gen)
    cmd_helpers(top, tree, gen)
    os.makedirs(os.path.join(gen, "samples/rust"), exist_ok=True)
    shutil.copyfile(os.path.join(top, "upstream/rust_pernet.rs"),
                    os.path.join(gen, "samples/rust/rust_pernet.rs"))
    # As the tree's `make rustfmt` formats them (the step joins `use` groups).
    rust = [os.path.join(dp, f) for dp, _, fs in os.walk(gen) for f in fs if f.endswith(".rs")]
    subprocess.run([os.environ.get("RUSTFMT", "rustfmt"), "--edition", "2021", "--config-path",
                    os.path.join(tree, ".rustfmt.toml"), *rust], check=True)
    # The project's identity: the author of the commit the sources are at
    # (a clone need not have user.name and user.email configured).
    ident = subprocess.run(["git", "-C", top, "log", "-1", "--format=%an <%ae>"], check=True,
                           capture_output=True, text=True).stdout.strip()
    date = subprocess.run(["git", "-C", top, "log", "-1", "--format=%cI"], check=True,
                          capture_output=True, text=True).stdout.strip()
    name, email = re.match(r"(.*) <(.*)>", ident).groups()
    env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email,
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "init", "-q", work], check=True)
    base_files = sorted({f for _, fs in SERIES for f in fs if os.path.exists(os.path.join(tree, f))})
    for f in base_files:
        os.makedirs(os.path.dirname(os.path.join(work, f)), exist_ok=True)
        shutil.copyfile(os.path.join(tree, f), os.path.join(work, f))
    git(work, "add", "--", *base_files)
    git(work, "commit", "-q", "-m", "Linux 7.2 (the files the series changes)", env=env)
    base = subprocess.run(["git", "-C", work, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    here = os.path.join(top, "upstream")
    done = []
    for patch, files in SERIES:
        done.append(patch)
        for f in files:
            dest = os.path.join(work, f)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if f == "MAINTAINERS":
                with open(os.path.join(tree, f)) as fh:
                    text = maintainers(fh.read(), done, ident)
            elif f in EDITS:
                with open(dest) as fh:
                    text = fh.read()
                for anchor, lines in EDITS[f].get(patch, []):
                    text = apply_edit(text, anchor, lines, f)
            else:
                with open(os.path.join(gen, f)) as fh:
                    text = fh.read()
            with open(dest, "w") as fh:
                fh.write(text)
        git(work, "add", "--", *files)
        with open(os.path.join(here, patch + ".msg")) as fh:
            msg = fh.read()
        subprocess.run(
            ["git", "-C", work, "commit", "-q", "-s", "-F", "-"], input=msg, text=True,
            check=True, env=env, stdout=subprocess.DEVNULL)
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".patch"):
            os.remove(os.path.join(out, old))
    subprocess.run(["git", "-C", work, "format-patch", "-q", "--cover-letter", "--subject-prefix=PATCH",
                    "-o", out, f"{base}..HEAD"], check=True, env=env)
    cover = os.path.join(out, "0000-cover-letter.patch")
    with open(cover) as fh:
        text = fh.read()
    with open(os.path.join(here, "cover-letter.txt")) as fh:
        subject, blurb = fh.read().split("\n\n", 1)
    text = text.replace("*** SUBJECT HERE ***", subject.strip())
    text = text.replace("*** BLURB HERE ***", blurb.rstrip())
    with open(cover, "w") as fh:
        fh.write(text)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "transform":
        cmd_transform(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "helpers":
        cmd_helpers(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 6 and sys.argv[1] == "series":
        cmd_series(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

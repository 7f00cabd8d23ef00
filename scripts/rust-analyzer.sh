#!/usr/bin/env bash
# Write rust-project.json for editors: the kernel's own generator, plus the
# rnetns crate, whose root (src/rnetns.rs) the generator does not find
# because the Kbuild file is one level up, with the feature cfgs Kbuild gave
# it (src/.rnetns.o.cmd, from a build).
#   7.2: the kernel's `make M=... rust-analyzer`, which knows external modules
#   6.12: the generator run as rust/Makefile runs it
# Usage: scripts/rust-analyzer.sh KDIR   (after a build; `make rust-analyzer`)
set -euo pipefail
kdir=$(realpath "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/rust-project.json
if grep -q 'KBUILD_EXTMOD),$(srcroot)' "$kdir/source/rust/Makefile"; then
	make -s -C "$kdir" M="$top" ${LLVM:+LLVM=$LLVM} rust-analyzer >/dev/null
	[ -s "$out" ] || { echo "rust-analyzer: the kernel wrote no $out" >&2; exit 1; }
	gen=$(cat "$out")
else
	sysroot=$(rustc --print sysroot)
	gen=$("$kdir/source/scripts/generate_rust_analyzer.py" --cfgs='core=--cfg no_fp_fmt_parse' 2021 \
		"$(realpath "$kdir/source")" "$kdir" "$sysroot" "$sysroot/lib/rustlib/src/rust/library")
fi
cfgs=$(grep -o -- '--cfg [a-z_]*rnetns[a-z_]*' "$top/src/.rnetns.o.cmd" 2>/dev/null | awk '{ print $2 }' | sort -u | tr '\n' ' ' || true)
printf '%s' "$gen" | python3 -c '
import json, sys
top, cfgs = sys.argv[1], sys.argv[2].split()
p = json.load(sys.stdin)
crates = p["crates"]
root = top + "/src/rnetns.rs"
by_name = {c["display_name"]: i for i, c in enumerate(crates)}
kernel = crates[by_name["kernel"]]
deps = [{"crate": by_name[n], "name": n} for n in ("core", "compiler_builtins", "ffi", "macros",
        "bindings", "pin_init", "kernel") if n in by_name]
mine = {
    "display_name": "rnetns",
    "root_module": root,
    "is_workspace_member": True,
    "is_proc_macro": False,
    "deps": deps,
    "cfg": kernel["cfg"] + ["MODULE"] + cfgs,
    "edition": "2021",
    "env": kernel.get("env", {}),
}
found = [i for i, c in enumerate(crates) if c.get("root_module") == root]
if found:
    crates[found[0]] = mine
else:
    crates.append(mine)
json.dump(p, sys.stdout, sort_keys=True, indent=4)
' "$top" "$cfgs" >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"

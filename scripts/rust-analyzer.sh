#!/usr/bin/env bash
# Write rust-project.json for editors: the kernel's generator (as
# rust/Makefile runs it) plus the rnetns crate, whose root (src/rnetns.rs)
# the generator does not find because the Kbuild file is one level up.
# Usage: scripts/rust-analyzer.sh KDIR
set -euo pipefail
kdir=$(realpath "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
sysroot=$(rustc --print sysroot)
edition=2021
rustc --version | awk '{ split($2, v, "."); exit !(v[1] > 1 || v[2] >= 87) }' && edition=2024
"$kdir/source/scripts/generate_rust_analyzer.py" --cfgs='core=--cfg no_fp_fmt_parse' "$edition" \
	"$(realpath "$kdir/source")" "$kdir" "$sysroot" "$sysroot/lib/rustlib/src/rust/library" |
	python3 -c '
import json, sys
p = json.load(sys.stdin)
crates = p["crates"]
by_name = {c["display_name"]: i for i, c in enumerate(crates)}
kernel = crates[by_name["kernel"]]
crates.append({
    "display_name": "rnetns",
    "root_module": sys.argv[1] + "/src/rnetns.rs",
    "is_workspace_member": True,
    "is_proc_macro": False,
    "deps": [{"crate": by_name["core"], "name": "core"}, {"crate": by_name["kernel"], "name": "kernel"}],
    "cfg": kernel["cfg"] + ["MODULE"],
    "edition": "2021",
    "env": kernel.get("env", {}),
})
json.dump(p, sys.stdout, sort_keys=True, indent=4)
' "$top" >"$top/rust-project.json"
echo "wrote $top/rust-project.json"

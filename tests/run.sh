#!/bin/bash
# In-guest test runner: runs each tests/t*.sh as a KTAP subtest and prints
# the whole KTAP document to stdout and to $RNETNS_SCRATCH/results.ktap.
# Usage: tests/run.sh [TEST-FILE...]   (default: every tests/t*.sh)
cd "$(dirname "$0")" || exit 1
tests=()
for t in "$@"; do tests+=("$(basename "$t")"); done
[ ${#tests[@]} -gt 0 ] || tests=(t*.sh)
out=${RNETNS_SCRATCH:-/tmp}/results.ktap
{
	echo "KTAP version 1"
	echo "1..${#tests[@]}"
	i=0
	for t in "${tests[@]}"; do
		i=$((i + 1))
		# A "# requires: PATH" line names what the test needs from the
		# kernel (the debug variant's fault injection, for example).
		need=$(sed -n 's/^# requires: //p' "$t")
		if [ -n "$need" ] && [ ! -e "$need" ]; then
			echo "ok $i $t # SKIP this kernel has no $need"
			continue
		fi
		echo "# ${t}: starting"
		start=$(date +%s)
		bash "$t" 2>&1 | sed -u 's/^/    /'
		rc=${PIPESTATUS[0]}
		echo "# ${t}: $(( $(date +%s) - start ))s"
		if [ "$rc" = 0 ]; then echo "ok $i $t"; else echo "not ok $i $t"; fi
	done
} | tee "$out"

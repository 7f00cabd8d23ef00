#!/bin/bash
# The rnetns command (cli/, staged by qemu/run as $RNETNS_CLI) against the
# proc files: list and show (text and JSON) equal every namespace's
# /proc/net/rnetns (named, unnamed with a process, a container's), top's
# rates against a known traffic rate, set and reset with the proc file's
# rules, who may do what (nobody, a container's root), monitor seeing
# namespaces come and go, the Prometheus exposition through promtool and
# through a real Prometheus server scraping `rnetns metrics --listen`
# (Debian's, staged as $RNETNS_PROM_BIN), and every error in words.
source "$(dirname "$0")/lib.sh"

CLI=$RNETNS_CLI
PROM=$RNETNS_PROM_BIN
CLIUTIL="/usr/bin/python3 -I $RNETNS_TOP/tests/cliutil.py"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
W=/tmp/t75
PIDS=()
ANON= CONT=

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf $W
}
fresh_start cleanup
need_cli() {
	[ -n "$CLI" ] && [ -x "$CLI" ] || fail "no rnetns command staged (scripts/build-cli.sh builds it)" || return 1
	[ -n "$PROM" ] && [ -x "$PROM/prometheus" ] || fail "no prometheus staged (scripts/setup.sh unpacks it)"
}
if ! need_cli >/dev/null; then
	ktap_plan 1
	run_test "the rnetns command and prometheus are staged in the guest" need_cli
	ktap_finish
fi
cd / || exit 1
mkdir -p $W
chmod 1777 $W

# err CMD...: CMD must fail with exit status 1; prints its message.
err() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = 1 ] || { echo "$* exited $rc: $out"; return 1; }
	echo "$out"
}

# timed CMD...: CMD, saying on stderr how long it took where that is more
# than a second.
timed() {
	local t0=$SECONDS rc=0
	"$@" || rc=$?
	[ $((SECONDS - t0)) -le 1 ] || echo "(${*##*/}: $((SECONDS - t0)) s)" >&2
	return $rc
}

# bg NAME CMD...: CMD in its own session (ended by cleanup), output to
# $W/NAME.out.
bg() {
	local name=$1
	shift
	setsid "$@" >$W/$name.out 2>&1 &
	PIDS+=($!)
	BG_PID=$!
}

# snap: every test namespace's proc file, read in it, as $W/p.NAME.
FILES=()
snap() {
	cat $PROCF >$W/p.init &&
		ip netns exec red cat $PROCF >$W/p.red &&
		ip netns exec blue cat $PROCF >$W/p.blue &&
		nsenter -t "$ANON" -n cat $PROCF >$W/p.anon &&
		nsenter -t "$CONT" -n cat $PROCF >$W/p.cont || return 1
	FILES=($W/p.init $W/p.red $W/p.blue $W/p.anon $W/p.cont)
}

t_not_loaded() {
	local out
	out=$(err "$CLI" list) || return 1
	expect_eq "without the module" "$out" 'rnetns: rnetns is not loaded: `modprobe rnetns`'
}

t_setup() {
	load_module || return 1
	ip netns add red && ip netns add blue && ip -n red link set lo up && ip -n blue link set lo up || return 1
	# Unnamed, held by a process; a container's, held by nobody's process.
	bg anon unshare -n sh -c "ip link set lo up; echo \$\$ >$W/anon.pid; exec sleep 3600"
	bg cont "${NOBODY[@]}" unshare -Ur unshare -n sh -c "ip link set lo up; echo \$\$ >$W/cont.pid; exec sleep 3600"
	wait_until 30 test -s $W/anon.pid && wait_until 30 test -s $W/cont.pid || fail "holders did not start" || return 1
	ANON=$(cat $W/anon.pid) CONT=$(cat $W/cont.pid)
	# Known traffic: 50 datagrams in red, 20 in blue, 5 in the unnamed one.
	ip netns exec red $NSUTIL udp-send 127.0.0.1 9 50 64 >/dev/null &&
		ip netns exec blue $NSUTIL udp-send ::1 9 20 100 >/dev/null &&
		nsenter -t "$ANON" -n $NSUTIL udp-send 127.0.0.1 9 5 10 >/dev/null || return 1
	echo "red $(inum /run/netns/red), blue $(inum /run/netns/blue), unnamed $(inum /proc/$ANON/ns/net) (pid $ANON), container $(inum /proc/$CONT/ns/net) (pid $CONT)"
}

t_list() {
	local try
	for try in 1 2 3; do
		snap && "$CLI" list --json >$W/list.json && $CLIUTIL list $W/list.json "${FILES[@]}" >$W/cmp.txt && break
		sleep 1
	done
	cat $W/cmp.txt
	[ "$try" -lt 3 ] || $CLIUTIL list $W/list.json "${FILES[@]}" >/dev/null || return 1
	grep -q "p.red: $(inum /run/netns/red) red: equal" $W/cmp.txt || fail "red is not listed by name" || return 1
	grep -q "\"pids\": \[" $W/list.json && python3 -c "
import json, sys
e = {x['inum']: x for x in json.load(open('$W/list.json'))}
assert $ANON in e[$(inum /proc/$ANON/ns/net)]['pids'], 'holder pid'
assert e[$(inum /proc/$ANON/ns/net)]['command'] == 'sleep', 'command'
" || fail "the unnamed namespace's process is not listed" || return 1
	# The text: a header and a line per namespace, red's with its name first.
	"$CLI" list >$W/list.txt || return 1
	echo "\$ rnetns list"
	cat $W/list.txt
	expect_eq "text lines" "$(($(wc -l <$W/list.txt) - 1))" "$(grep -c '"inum"' $W/list.json)" &&
		expect_eq "red's line" "$(awk '$1 == "red" { print $2 }' $W/list.txt)" "$(inum /run/netns/red)" &&
		expect_eq "the unnamed one's processes" "$(awk -v i="$(inum /proc/$ANON/ns/net)" '$2 == i { print $1, $4, $5 }' $W/list.txt)" \
			"- $ANON (sleep)"
}

t_show() {
	local red blue
	red=$(inum /run/netns/red) blue=$(inum /run/netns/blue)
	snap || return 1
	timed "$CLI" show red --json >$W/show.json && $CLIUTIL show $W/show.json $W/p.red || return 1
	timed "$CLI" show "$ANON" --json >$W/show.json && $CLIUTIL show $W/show.json $W/p.anon || return 1
	timed "$CLI" show "$blue" --json >$W/show.json && $CLIUTIL show $W/show.json $W/p.blue || return 1
	timed "$CLI" show /run/netns/red >$W/show.txt || return 1
	echo "\$ rnetns show /run/netns/red"
	cat $W/show.txt
	grep -q "^namespace $red (red)$" $W/show.txt && grep -q '^hooks      all$' $W/show.txt &&
		grep -q '^ipv4    input' $W/show.txt || fail "show's text" || return 1
	local out
	out=$(err "$CLI" show nosuch) && echo "$out" &&
		expect_eq "a name that does not exist" "$out" "rnetns: /run/netns/nosuch: no such namespace (no such file)" || return 1
	out=$(err "$CLI" show 4294967295) && echo "$out" &&
		grep -q "no namespace 4294967295 that you may see" <<<"$out" || fail "an unknown inode: $out"
}

t_set_reset() {
	local out before
	"$CLI" set red hooks=ipv4:input,ipv6:output && expect_eq "red's hooks" "$(ns_hooks red)" ipv4:input,ipv6:output || return 1
	out=$(err "$CLI" set red hooks=ipv5) && echo "$out" &&
		expect_eq "a bad selection" "$out" "rnetns: hooks=ipv5: invalid item 'ipv5'; expected 'none' or a comma-separated list of FAMILY[:HOOK], FAMILY one of ipv4, ipv6, all, HOOK one of prerouting, input, forward, output, postrouting, all" &&
		expect_eq "red's hooks after it" "$(ns_hooks red)" ipv4:input,ipv6:output || return 1
	out=$(err "$CLI" set red count=all) && echo "$out" &&
		expect_eq "not a setting" "$out" "rnetns: 'count=all': the setting is hooks=SELECTION" || return 1
	"$CLI" set red hooks=all && expect_eq "red's hooks" "$(ns_hooks red)" all || return 1
	before=$(ns_table blue)
	"$CLI" reset red || return 1
	expect_eq "red's rows that are not zero after reset" "$(ns_table red | awk '$3 != 0 || $4 != 0' | grep -c .)" 0 &&
		expect_eq "blue untouched" "$(ns_table blue)" "$before"
}

t_permissions() {
	local out own red
	red=$(inum /run/netns/red)
	# nobody, in init_net: sees init_net and the container it made (it owns
	# that user namespace: its uid has every capability there), changes
	# nothing in init_net, hears nothing.
	own=$(inum /proc/$CONT/ns/net)
	"${NOBODY[@]}" "$CLI" list --json >$W/nobody.json || return 1
	expect_eq "nobody's list" "$(grep -o '"inum": [0-9]*' $W/nobody.json | tr '\n' ' ')" \
		"\"inum\": $(inum /proc/self/ns/net) \"inum\": $own " || return 1
	out=$(err "${NOBODY[@]}" "$CLI" reset /proc/self/ns/net) && echo "nobody: $out" &&
		expect_eq "nobody's reset" "$out" "rnetns: not allowed: needs CAP_NET_ADMIN over the namespace's user namespace" || return 1
	out=$(err "${NOBODY[@]}" "$CLI" monitor) && echo "nobody: $out" &&
		expect_eq "nobody's monitor" "$out" "rnetns: not allowed to listen: needs CAP_NET_ADMIN in the initial user namespace" || return 1
	# The container's root: its own namespace, which it may reset; not red.
	nsenter -t "$CONT" -n $NSUTIL udp-send 127.0.0.1 9 3 10 >/dev/null || return 1
	nsenter -t "$CONT" -U -n "$CLI" list --json >$W/cont.json || return 1
	expect_eq "the container's list" "$(grep -o '"inum": [0-9]*' $W/cont.json | tr '\n' ' ')" "\"inum\": $own " || return 1
	nsenter -t "$CONT" -U -n "$CLI" reset /proc/self/ns/net || return 1
	expect_eq "its counters after its reset" "$(nsenter -t "$CONT" -n awk '$1 ~ /^ipv/ && $3 != 0' $PROCF)" "" || return 1
	out=$(err nsenter -t "$CONT" -U -n "$CLI" reset /run/netns/red) && echo "container root: $out" &&
		expect_eq "its reset of red" "$out" "rnetns: not allowed: needs CAP_NET_ADMIN over the namespace's user namespace" || return 1
	out=$(err nsenter -t "$CONT" -U -n "$CLI" show "$red") && echo "container root: $out" &&
		expect_eq "its show of red" "$out" "rnetns: not allowed to see that namespace: needs CAP_NET_ADMIN over its user namespace"
}

t_top() {
	# ping on blue's loopback, 5 a second: each echo and reply crosses
	# output, postrouting, prerouting and input: 40 packets a second.
	bg ping ip netns exec blue ping -q -i 0.2 127.0.0.1
	local pinger=$BG_PID rate idle
	sleep 2
	"$CLI" top --batch -n 3 --interval 2 >$W/top.txt || return 1
	bg_stop "$pinger"
	tail -n 8 $W/top.txt
	rate=$(awk -v n=blue '/^rnetns top:/ { t++ } t == 3 && $1 == n { print $3 }' $W/top.txt)
	idle=$(awk -v n=red '/^rnetns top:/ { t++ } t == 3 && $1 == n { print $3 }' $W/top.txt)
	echo "blue $rate packets/s (40 sent), red $idle"
	[ -n "$rate" ] && [ "$rate" -ge 20 ] && [ "$rate" -le 60 ] || fail "blue's rate $rate is not about 40" || return 1
	expect_eq "red's rate" "$idle" 0 || return 1
	# Busiest first: blue's line comes before red's.
	awk '/^rnetns top:/ { t++ } t == 3 && ($1 == "blue" || $1 == "red") { print $1 }' $W/top.txt | head -n1 | grep -qx blue ||
		fail "blue is not above red" || return 1
	# The full-screen view on a terminal (script's pty): it draws, and q
	# ends it at once with the terminal given back (status 0).
	local t0=$SECONDS rc=0
	(sleep 4; printf q) | TERM=xterm script -q -e -c "$CLI top" $W/tty.out >/dev/null 2>&1 || rc=$?
	expect_eq "rnetns top's status after q" "$rc" 0 || return 1
	[ $((SECONDS - t0)) -lt 20 ] || fail "q took $((SECONDS - t0)) s to end it" || return 1
	grep -q 'rnetns top: .*(q quits)' $W/tty.out && grep -q $'\e\[?1049h' $W/tty.out && grep -q $'\e\[?1049l' $W/tty.out ||
		fail "no full-screen view in the terminal: $(tr -cd '[:print:]\n' <$W/tty.out | head -c 300)"
}

t_monitor() {
	bg monj "$CLI" monitor --json --count 4
	local monj=$BG_PID
	bg mont "$CLI" monitor --count 2
	local mont=$BG_PID m1
	sleep 2
	ip netns add m1 && m1=$(inum /run/netns/m1) || return 1
	unshare -n true || return 1
	ip netns del m1
	wait_until "$TEARDOWN" sh -c "[ \$(grep -c . $W/monj.out) -ge 4 ]" || fail "4 events not heard: $(cat $W/monj.out)" || return 1
	wait "$monj" "$mont"
	cat $W/monj.out $W/mont.out
	expect_eq "events" "$(grep -c '"event":"created"' $W/monj.out) $(grep -c '"event":"destroyed"' $W/monj.out)" "2 2" &&
		grep -q "{\"event\":\"created\",\"inum\":$m1," $W/monj.out &&
		grep -q "{\"event\":\"destroyed\",\"inum\":$m1," $W/monj.out || fail "m1 ($m1) not created and destroyed" || return 1
	grep -q "^created   netns $m1 cookie [0-9]* (rnetns set-up [0-9.]* ms)$" $W/mont.out || fail "the text line"
}

t_metrics() {
	local try
	for try in 1 2 3; do
		snap && "$CLI" metrics >$W/metrics.txt && $CLIUTIL metrics $W/metrics.txt "${FILES[@]:1}" >$W/cmp.txt && break
		sleep 1
	done
	cat $W/cmp.txt
	[ "$try" -lt 3 ] || return 1
	grep -m3 'netns_name="red"' $W/metrics.txt
	grep -q '^rnetns_netns_init_duration_seconds_bucket{le="+Inf"} ' $W/metrics.txt || fail "no lifecycle histogram" || return 1
	local out
	out=$("$PROM/promtool" check metrics <$W/metrics.txt 2>&1) || fail "promtool: $out" || return 1
	expect_eq "promtool's findings" "$out" ""
}

t_prometheus() {
	local q='sum by (netns_inode) (rnetns_packets_total{hook="input"})' try
	bg exporter "$CLI" metrics --listen 127.0.0.1:9817
	cat >$W/prom.yml <<-EOT
		global:
		  scrape_interval: 1s
		  evaluation_interval: 1s
		scrape_configs:
		  - job_name: rnetns
		    static_configs:
		      - targets: ['127.0.0.1:9817']
	EOT
	bg prom "$PROM/prometheus" --config.file=$W/prom.yml --storage.tsdb.path=$W/tsdb \
		--web.listen-address=127.0.0.1:9090
	wait_until 120 sh -c "curl -sf 'http://127.0.0.1:9090/api/v1/query?query=up' | grep -q '\"value\":\[[0-9.]*,\"1\"\]'" ||
		fail "prometheus did not scrape the exporter: $(tail -n 5 $W/prom.out)" || return 1
	# Traffic in red and blue for ten seconds, then none.
	local t0 i
	t0=$(date +%s)
	for i in 1 2 3 4 5; do
		ip netns exec red $NSUTIL udp-send 127.0.0.1 9 200 64 >/dev/null
		ip netns exec blue $NSUTIL udp-send 127.0.0.1 9 100 64 >/dev/null
		sleep 2
	done
	snap || return 1
	for try in $(seq 1 30); do
		curl -sf -G --data-urlencode "query=$q" http://127.0.0.1:9090/api/v1/query >$W/q.json &&
			$CLIUTIL promql $W/q.json "${FILES[@]:1}" >$W/cmp.txt && break
		sleep 1
	done
	echo "query: $q"
	cat $W/cmp.txt
	[ "$try" -lt 30 ] || return 1
	# The traffic as Prometheus saw it, for README's graph (scripts/prom-graph.py).
	curl -sf -G --data-urlencode 'query=sum by (netns_name) (rate(rnetns_packets_total{hook="input",netns_name!=""}[3s]))' \
		--data-urlencode "start=$((t0 - 5))" --data-urlencode "end=$(date +%s)" --data-urlencode step=1 \
		http://127.0.0.1:9090/api/v1/query_range >"${RNETNS_SCRATCH:-/tmp}/prom-range.json" || true
}

t_metrics_and_prometheus() { t_metrics && t_prometheus; }

ktap_plan 9
run_test "without the module: 'rnetns is not loaded: modprobe rnetns'" t_not_loaded
run_test "namespaces: two named, one unnamed with a process, a container's; known traffic" t_setup
functional_test "rnetns list (--json and text) equals every namespace's /proc/net/rnetns, names and processes" t_list
functional_test "rnetns show by name, PID, inode and path equals the file; unknown ones said so" t_show
functional_test "rnetns set and reset: the files show them; a bad selection is refused in the module's words" t_set_reset
functional_test "who may: nobody sees its own namespace and its container's, sets and hears nothing in init_net; a container's root its own only" t_permissions
functional_test "rnetns top --batch: 40 packets/s of ping in blue about 40, red 0, busiest first" t_top
functional_test "rnetns monitor (JSON and text): namespaces made by ip netns and unshare, created and destroyed" t_monitor
functional_test "rnetns metrics equals the files and promtool finds nothing; a real Prometheus scrape agrees" t_metrics_and_prometheus
ktap_finish

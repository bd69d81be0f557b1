#!/bin/bash
# bench/run.sh — signing throughput on one SoftHSM token, three ways, in one run:
#
#   direct  kyso's PKCS#11 layer on libsofthsm2.so, one session
#   agent   kysod's Sign through libkyso, one persistent connection (the module in its
#           helper process, as kysod runs it)
#   inproc  the same through a kysod built with the module in its own process, as kysod
#           was before helpers ($BUILD/bench/kysod-inproc): agent - inproc is the hop
#   helper  the direct loop, the module in a kyso-p11-helper (kyso_bench_rpc: the p11.h
#           kysod links): helper - direct is the hop alone, without the agent around it
#   p11kit  the direct loop on p11-kit-client.so, through `p11-kit server`
#
# for P-256 and RSA-2048. Each round runs every path for BENCH_SECONDS, in an order that
# rotates from round to round; the table shows the median of BENCH_ROUNDS rounds and the
# median of the per-round ratios. Run by `make bench`; see docs/performance.md.
#
# Environment: BUILD (default build), BENCH_ROUNDS (5), BENCH_SECONDS (2),
# BENCH_KEYS ("p256 rsa2048"), BENCH_KEEP=1 keeps the temp dir (token, logs, raw figures),
# BENCH_CPU=N runs everything (agent, p11-kit server, clients) on CPU N only: a diagnostic
# that shows what the paths cost without wake-ups across CPUs (docs/performance.md).
# Exit status: 0 when the benchmark ran (whether or not the targets were met), 1 if not.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER=${BENCH_SECONDS:-2}
case $ROUNDS in '' | *[!0-9]* | 0) echo "bench: BENCH_ROUNDS must be a count" >&2; exit 1 ;; esac
awk -v s="$SECONDS_PER" 'BEGIN { exit !(s + 0 > 0) }' ||
	{ echo "bench: BENCH_SECONDS must be a positive number" >&2; exit 1; }
read -ra KEYS <<< "${BENCH_KEYS:-p256 rsa2048}"
[ "${#KEYS[@]}" -gt 0 ] || { echo "bench: BENCH_KEYS is empty" >&2; exit 1; }
for key in "${KEYS[@]}"; do
	case $key in
	p256 | rsa2048) ;;
	*) echo "bench: unknown key type '$key' in BENCH_KEYS (p256, rsa2048)" >&2; exit 1 ;;
	esac
done
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
P11KIT_CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
BENCH=$BUILD/bench/kyso_bench
BENCH_RPC=$BUILD/bench/kyso_bench_rpc
TOKEN=kyso-bench
PIN_CPU=()
if [ -n "${BENCH_CPU:-}" ]; then
	case $BENCH_CPU in
	*[!0-9]*) echo "bench: BENCH_CPU must be a CPU number" >&2; exit 1 ;;
	esac
	PIN_CPU=(taskset -c "$BENCH_CPU")
fi

# the targets (docs/performance.md): agent/direct at least this, agent/p11kit above 1
target_direct() {
	case $1 in
	p256) echo 0.60 ;;
	rsa2048) echo 0.90 ;;
	esac
}

die() { echo "bench: $*" >&2; exit 1; }

for f in "$BENCH" "$BENCH_RPC" "$BUILD/kysod" "$BUILD/bench/kysod-inproc" "$BUILD/kyso-p11-helper" \
	"$BUILD/kyso" "$SOFTHSM" "$P11KIT_CLIENT"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench', or 'make deps bench-build')"
done
for c in softhsm2-util pkcs11-tool p11-kit openssl xxd ps awk setsid taskset; do
	command -v "$c" >/dev/null || die "'$c' is missing (run packaging/deps.sh)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-bench.XXXXXX")
chmod 700 "$T"
AGENT_PID=
INPROC_PID=
P11_PID=

# Stops the p11-kit server and the per-connection processes (p11-kit-remote) it forks.
# Those outlive their parent, so they go first, by pid: the server's children, then the
# server; then any p11-kit process still running with our private SoftHSM configuration
# (a child whose parent had already died).
p11kit_stop() {
	local pid exe
	[ -n "$P11_PID" ] || return 0
	for pid in $(ps -o pid= --ppid "$P11_PID" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	kill "$P11_PID" 2>/dev/null || true
	wait "$P11_PID" 2>/dev/null || true
	P11_PID=
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		case $exe in /usr/libexec/p11-kit/*) ;; *) continue ;; esac
		if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null |
			grep -qxF "SOFTHSM2_CONF=$T/tok/softhsm2.conf"; then
			kill "$pid" 2>/dev/null || true
		fi
	done
}

agent_stop() {
	local pid
	for pid in $AGENT_PID $INPROC_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	AGENT_PID= INPROC_PID=
}

cleanup() {
	trap - EXIT INT TERM
	agent_stop
	p11kit_stop
	case ${AUDIT_DIR:-} in /dev/shm/kyso-bench.*) rm -rf "$AUDIT_DIR" ;; esac
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "bench: kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# ---- the token ----
# shellcheck source=tests/lib/tokens.sh
. "$ROOT/tests/lib/tokens.sh"
echo "bench: creating a SoftHSM token with a P-256 and an RSA-2048 key in $T"
tok_init "$T/tok" || die "cannot set up the SoftHSM store"
tok_create "$TOKEN" || die "cannot create the token"
tok_key "$TOKEN" 01 ec:p256 p256 || die "cannot make the P-256 key"
tok_key "$TOKEN" 02 rsa:2048 rsa2048 || die "cannot make the RSA-2048 key"

# ---- the agent and the p11-kit server ----
# each in a session of its own (setsid): Ctrl-C reaches this script, which stops them
export KYSO_SOCKET=$T/agent.sock
# the agent's audit log: fsync'd per signature. On tmpfs (/dev/shm) by default, so that
# the figures measure the agent and not the disk; BENCH_AUDIT_DIR puts it elsewhere.
AUDIT_DIR=${BENCH_AUDIT_DIR:-}
if [ -z "$AUDIT_DIR" ]; then
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then AUDIT_DIR=$(mktemp -d /dev/shm/kyso-bench.XXXXXX)
	else AUDIT_DIR=$T/state; fi
fi
export XDG_STATE_HOME=$AUDIT_DIR XDG_CONFIG_HOME=$T/config
echo "bench: the agent's audit log is in $AUDIT_DIR (BENCH_AUDIT_DIR to change)"
setsid ${PIN_CPU[@]+"${PIN_CPU[@]}"} "$BUILD/kysod" -f -s "$KYSO_SOCKET" -m "$SOFTHSM" \
	--pinentry none --log-level warning > "$T/kysod.log" 2>&1 &
AGENT_PID=$!
up=0
for _ in $(seq 1 200); do
	if "$BUILD/kyso" info >/dev/null 2>&1; then up=1; break; fi
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.05
done
[ "$up" = 1 ] || { cat "$T/kysod.log" >&2; die "kysod did not come up"; }
# the same kysod with the module in its own process (its own audit log beside)
INPROC_SOCKET=$T/inproc.sock
XDG_STATE_HOME=$AUDIT_DIR/inproc setsid ${PIN_CPU[@]+"${PIN_CPU[@]}"} \
	"$BUILD/bench/kysod-inproc" -f -s "$INPROC_SOCKET" -m "$SOFTHSM" --pinentry none \
	--log-level warning > "$T/kysod-inproc.log" 2>&1 &
INPROC_PID=$!
up=0
for _ in $(seq 1 200); do
	if KYSO_SOCKET=$INPROC_SOCKET "$BUILD/kyso" info >/dev/null 2>&1; then up=1; break; fi
	kill -0 "$INPROC_PID" 2>/dev/null || break
	sleep 0.05
done
[ "$up" = 1 ] || { cat "$T/kysod-inproc.log" >&2; die "kysod-inproc did not come up"; }

setsid ${PIN_CPU[@]+"${PIN_CPU[@]}"} p11-kit server -f --provider "$SOFTHSM" \
	-n "$T/p11kit.sock" "pkcs11:" > "$T/p11kit.log" 2>&1 &
P11_PID=$!
for _ in $(seq 1 100); do
	[ -S "$T/p11kit.sock" ] && break
	kill -0 "$P11_PID" 2>/dev/null || break
	sleep 0.05
done
[ -S "$T/p11kit.sock" ] || { cat "$T/p11kit.log" >&2; die "p11-kit server did not come up"; }

# ---- the rounds ----
# one measurement: prints ops/s
measure() {
	local mode=$1 key=$2 bench=$BENCH
	case $mode in
	direct) set -- -m "$SOFTHSM" ;;
	helper) set -- -m "$SOFTHSM"; mode=direct bench=$BENCH_RPC ;;
	agent | ping) set -- -s "$KYSO_SOCKET" ;;
	inproc) set -- -s "$INPROC_SOCKET"; mode=agent ;;
	p11kit) set -- -A "unix:path=$T/p11kit.sock" ;;
	esac
	${PIN_CPU[@]+"${PIN_CPU[@]}"} "$bench" "$mode" -q -k "$key" -t "$TOKEN" -P "$TOK_PIN" \
		-d "$SECONDS_PER" "$@" 2> "$T/err" || { cat "$T/err" >&2; die "$mode $key failed"; }
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

# the three paths compared, and the agent's round trip without the token (GetInfo), which
# tells how much of the agent's cost is the trip to it and back
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
MODES=(direct agent inproc helper p11kit ping)
nmodes=${#MODES[@]}
echo "bench: $ROUNDS rounds x $nmodes measurements x $SECONDS_PER s for ${KEYS[*]} (about" \
	"$(calc %.0f "$ROUNDS * $nmodes * $SECONDS_PER * ${#KEYS[@]}") s)"
for key in "${KEYS[@]}"; do
	for f in "${MODES[@]}" ad ap bound hop hop1; do : > "$T/$key.$f"; done
	for r in $(seq 1 "$ROUNDS"); do
		declare -A got=()
		line="bench: $key round $r:"
		# the order rotates from round to round: no path always runs first or last
		for i in $(seq 0 $((nmodes - 1))); do
			mode=${MODES[$(((i + r - 1) % nmodes))]}
			got[$mode]=$(measure "$mode" "$key")
			echo "${got[$mode]}" >> "$T/$key.$mode"
			line="$line $mode ${got[$mode]}"
		done
		calc %.3f "${got[agent]} / ${got[direct]}" >> "$T/$key.ad"
		calc %.3f "${got[agent]} / ${got[p11kit]}" >> "$T/$key.ap"
		# what the helper's hop costs per signature (us), in this round
		calc %.1f "1e6 / ${got[agent]} - 1e6 / ${got[inproc]}" >> "$T/$key.hop"
		calc %.1f "1e6 / ${got[helper]} - 1e6 / ${got[direct]}" >> "$T/$key.hop1"
		# agent/direct if the agent cost nothing but one GetInfo round trip per signature
		calc %.3f "${got[ping]} / (${got[ping]} + ${got[direct]})" >> "$T/$key.bound"
		echo "$line"
		unset got
	done
done

# ---- the tables ----
echo
echo "kyso signing benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s)," \
	"$(softhsm2-util --version 2>/dev/null | sed 's/^/SoftHSM /'), $ROUNDS rounds x $SECONDS_PER s"
echo "ops/s: median (min-max) of the rounds; ratios: median of the per-round ratios"
[ -z "${BENCH_CPU:-}" ] || echo "everything ran on CPU $BENCH_CPU only (BENCH_CPU)"
echo "load average before the rounds: $LOAD0 (other work running makes the figures differ:" \
	"see docs/performance.md)"
echo
row1() { printf '%-8s  %-20s  %-20s  %-20s  %-20s  %-12s  %s\n' "$@"; }
row1 key "direct ops/s" "agent ops/s" "inproc ops/s" "p11kit ops/s" agent/direct agent/p11kit
verdicts=
for key in "${KEYS[@]}"; do
	d=$(median < "$T/$key.direct"); a=$(median < "$T/$key.agent")
	p=$(median < "$T/$key.p11kit")
	ad=$(median < "$T/$key.ad"); ap=$(median < "$T/$key.ap")
	i=$(median < "$T/$key.inproc")
	row1 "$key" "$(calc %.0f "$d") ($(minmax < "$T/$key.direct"))" \
		"$(calc %.0f "$a") ($(minmax < "$T/$key.agent"))" \
		"$(calc %.0f "$i") ($(minmax < "$T/$key.inproc"))" \
		"$(calc %.0f "$p") ($(minmax < "$T/$key.p11kit"))" "$ad" "$ap"
	target=$(target_direct "$key")
	if [ -n "$target" ]; then
		v=$(awk -v x="$ad" -v t="$target" 'BEGIN { print (x >= t) ? "PASS" : "MISS" }')
		verdicts="$verdicts$(printf '%-4s  %-8s agent/direct %s >= %s' "$v" "$key" "$ad" \
			"$target")"$'\n'
	fi
	v=$(awk -v x="$ap" 'BEGIN { print (x > 1) ? "PASS" : "MISS" }')
	verdicts="$verdicts$(printf '%-4s  %-8s agent/p11kit %s > 1 (the agent beats p11-kit remoting)' \
		"$v" "$key" "$ap")"$'\n'
done

echo
echo "time per signature, from the medians (us = microseconds):"
row2() { printf '%-8s  %-10s  %-10s  %-10s  %-14s  %-13s  %-13s  %-16s  %s\n' "$@"; }
row2 key "direct us" "agent us" "inproc us" "agent extra us" "hop in kysod" "hop alone" \
	"GetInfo trip us" "agent/direct if extra = trip"
for key in "${KEYS[@]}"; do
	d=$(median < "$T/$key.direct"); a=$(median < "$T/$key.agent")
	i=$(median < "$T/$key.inproc"); g=$(median < "$T/$key.ping")
	row2 "$key" "$(calc %.0f "1e6 / $d")" "$(calc %.0f "1e6 / $a")" "$(calc %.0f "1e6 / $i")" \
		"$(calc %.0f "1e6 / $a - 1e6 / $d")" "$(median < "$T/$key.hop")" \
		"$(median < "$T/$key.hop1")" \
		"$(calc %.0f "1e6 / $g")" "$(median < "$T/$key.bound")"
	hop=$(median < "$T/$key.hop")
	v=$(awk -v x="$hop" 'BEGIN { print (x < 15) ? "PASS" : "MISS" }')
	verdicts="$verdicts$(printf '%-4s  %-8s the helper hop in kysod %s us < 15 us per signature (alone: %s us)' \
		"$v" "$key" "$hop" "$(median < "$T/$key.hop1")")"$'\n'
done

echo
echo "targets:"
printf '%s' "$verdicts"

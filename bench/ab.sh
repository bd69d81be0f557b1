#!/bin/bash
# bench/ab.sh — two builds of kysod side by side, in the same rounds, on one SoftHSM token:
# what a change to the agent costs or saves, without the drift of a shared machine between
# two separate runs. Not part of `make bench` (it needs a second build); used to measure
# the signature's fast path against the worker path (docs/performance.md).
#
#   BUILD_A=/path/to/before/build BUILD_B=build bench/ab.sh
#
# For each key (P-256, RSA-2048), each place of the audit log (the disk of $XDG_STATE_HOME
# as users run it, and tmpfs) and each number of clients (1 and 8), one round runs
# `kyso_bench agent` against A, against B and the direct loop (as many sessions as
# clients), the order rotating from round to round. Reported: the medians of ops/s, the
# median of the per-round ratios B/A and agent/direct, and the CPU each kysod and its
# helper used per signature (/proc/PID/stat, utime + stime, over its rounds).
#
# Environment: BUILD_A, BUILD_B (required; kyso_bench is taken from BUILD_B),
# BENCH_ROUNDS (5), BENCH_SECONDS (2), BENCH_KEYS ("p256 rsa2048"), BENCH_CLIENTS ("1 8").
# A measurement, not a test: exit 0 when it ran.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=$(cd "${BUILD_A:?BUILD_A: the first build directory}" && pwd)
B=$(cd "${BUILD_B:?BUILD_B: the second build directory}" && pwd)
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-2}
read -ra KEYS <<< "${BENCH_KEYS:-p256 rsa2048}"
read -ra CLIENTS <<< "${BENCH_CLIENTS:-1 8}"
BENCH=$B/bench/kyso_bench
SOFTHSM=$(for f in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
	[ -f "$f" ] && echo "$f" && break; done)
[ -x "$BENCH" ] || { echo "ab: $BENCH missing (make bench-build)" >&2; exit 1; }
[ -n "$SOFTHSM" ] || { echo "ab: SoftHSM is not installed" >&2; exit 1; }
TOKEN=kyso-bench
T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-ab.XXXXXX")
SHM=$(mktemp -d /dev/shm/kyso-ab.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/lib/tokens.sh
. "$ROOT/tests/lib/tokens.sh"
tok_init "$T/tok" >/dev/null && tok_create "$TOKEN" >/dev/null &&
	tok_key "$TOKEN" 01 ec:p256 p256 >/dev/null && tok_key "$TOKEN" 02 rsa:2048 rsa2048 >/dev/null ||
	{ echo "ab: cannot make the token" >&2; exit 1; }
export XDG_CONFIG_HOME=$T/config

# start NAME BUILD STATEDIR: a kysod on $T/NAME.sock; its pid in PID_NAME
start() {
	local name=$1 build=$2 state=$3
	mkdir -p "$state"
	XDG_STATE_HOME=$state setsid "$build/kysod" -f -s "$T/$name.sock" -m "$SOFTHSM" \
		--pinentry none --log-level warning > "$T/$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	eval "PID_$name=$pid"
	for _ in $(seq 200); do
		KYSO_SOCKET=$T/$name.sock "$build/kyso" info >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	cat "$T/$name.log" >&2
	echo "ab: kysod $name did not come up" >&2
	exit 1
}
start a_disk "$A" "$T/state-a"
start b_disk "$B" "$T/state-b"
start a_tmpfs "$A" "$SHM/a"
start b_tmpfs "$B" "$SHM/b"

pids_of() { echo "$1 $(ps -o pid= --ppid "$1" | tr '\n' ' ')"; }
ticks() { local s=0; for p in $(pids_of "$1"); do
	s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$s"; }
HZ=$(getconf CLK_TCK)

# one measurement: ops/s in MEAS; for an agent, its CPU ticks and signatures are added up
declare -A OPS TICKS SIGS
MEAS=
measure() {  # KEY CLIENTS WHAT (direct | a_disk | b_disk | a_tmpfs | b_tmpfs)
	local key=$1 n=$2 what=$3 pid t0 t1 r
	if [ "$what" = direct ]; then
		MEAS=$("$BENCH" direct -q -k "$key" -t "$TOKEN" -P "$TOK_PIN" -d "$SECS" -c "$n" \
			-m "$SOFTHSM")
		return
	fi
	pid=$(eval echo "\$PID_$what")
	t0=$(ticks "$pid")
	r=$("$BENCH" agent -q -k "$key" -t "$TOKEN" -P "$TOK_PIN" -d "$SECS" -c "$n" -s "$T/$what.sock")
	t1=$(ticks "$pid")
	TICKS[$key.$n.$what]=$(( ${TICKS[$key.$n.$what]:-0} + t1 - t0 ))
	SIGS[$key.$n.$what]=$(awk -v s="${SIGS[$key.$n.$what]:-0}" -v r="$r" -v d="$SECS" \
		'BEGIN { printf "%.0f", s + r * d }')
	MEAS=$r
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
WHATS=(direct a_disk b_disk a_tmpfs b_tmpfs)
for key in "${KEYS[@]}"; do
	for n in "${CLIENTS[@]}"; do
		for r in $(seq "$ROUNDS"); do
			line="ab: $key $n client(s) round $r:"
			for k in $(seq 0 4); do
				what=${WHATS[$(( (k + r) % 5 ))]}
				measure "$key" "$n" "$what"
				v=$MEAS
				OPS[$key.$n.$what]="${OPS[$key.$n.$what]:-} $v"
				line="$line $what $v"
			done
			echo "$line"
			for p in disk tmpfs; do
				a=$(echo "${OPS[$key.$n.a_$p]}" | awk '{ print $NF }')
				b=$(echo "${OPS[$key.$n.b_$p]}" | awk '{ print $NF }')
				d=$(echo "${OPS[$key.$n.direct]}" | awk '{ print $NF }')
				OPS[$key.$n.ba_$p]="${OPS[$key.$n.ba_$p]:-} $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
				OPS[$key.$n.ad_$p]="${OPS[$key.$n.ad_$p]:-} $(awk -v a="$a" -v d="$d" 'BEGIN { printf "%.3f", a / d }')"
				OPS[$key.$n.bd_$p]="${OPS[$key.$n.bd_$p]:-} $(awk -v b="$b" -v d="$d" 'BEGIN { printf "%.3f", b / d }')"
			done
		done
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

med() { echo "${OPS[$1]}" | tr ' ' '\n' | grep . | median; }
cpu_us() { awk -v t="${TICKS[$1]:-0}" -v s="${SIGS[$1]:-0}" -v hz="$HZ" \
	'BEGIN { if (s > 0) printf "%.0f", t / hz * 1e6 / s; else print "-" }'; }
echo
echo "A = $A"
echo "B = $B"
echo "$(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPU(s), $ROUNDS rounds x $SECS s, load average before: $LOAD0, after: $LOAD1"
printf '%-8s %-3s %-6s %-9s %-9s %-9s %-7s %-7s %-7s %-12s\n' key n audit "direct" "A ops/s" \
	"B ops/s" "B/A" "A/dir" "B/dir" "CPU us A / B"
for key in "${KEYS[@]}"; do
	for n in "${CLIENTS[@]}"; do
		for p in disk tmpfs; do
			printf '%-8s %-3s %-6s %-9.0f %-9.0f %-9.0f %-7s %-7s %-7s %s / %s\n' "$key" "$n" "$p" \
				"$(med "$key.$n.direct")" "$(med "$key.$n.a_$p")" "$(med "$key.$n.b_$p")" \
				"$(med "$key.$n.ba_$p")" "$(med "$key.$n.ad_$p")" "$(med "$key.$n.bd_$p")" \
				"$(cpu_us "$key.$n.a_$p")" "$(cpu_us "$key.$n.b_$p")"
		done
	done
done

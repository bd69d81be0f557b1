#!/bin/bash
# bench/module.sh — a program signing through a PKCS#11 module that shares a token with
# other programs, two ways, in one run, on one SoftHSM token:
#
#   kyso    kyso-pkcs11.so → kysod → SoftHSM (every signature a kysod Sign: its audit
#           record written and fsync'd before the reply)
#   p11kit  p11-kit-client.so → `p11-kit server` → SoftHSM
#
# the same loop (bench/p11mod_bench.c: one session, C_SignInit + C_Sign), P-256 and
# RSA-2048. kysod runs as users run it, its audit log in $XDG_STATE_HOME on the disk
# ("kyso"); a second kysod with its audit log on tmpfs is measured beside it, labelled
# ("kyso-tmpfs"). Each round measures every path for BENCH_SECONDS in an order that
# rotates; the table shows medians of BENCH_ROUNDS rounds and the medians of the
# per-round ratios. A measurement, not a test: the exit status does not depend on the
# figures. See docs/performance.md.
#
# Environment: BUILD, BENCH_ROUNDS (5), BENCH_SECONDS (2), BENCH_KEYS ("p256 rsa2048"),
# BENCH_KEEP=1 keeps the temporary directory.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER=${BENCH_SECONDS:-2}
read -ra KEYS <<< "${BENCH_KEYS:-p256 rsa2048}"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
P11KIT_CLIENT=$(ls /usr/lib/*/pkcs11/p11-kit-client.so 2>/dev/null | head -n 1)
BENCH=$BUILD/bench/p11mod_bench
KP11=$BUILD/kyso-pkcs11.so
TOKEN=kyso-bench

die() { echo "bench/module: $*" >&2; exit 1; }
case $ROUNDS in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a count" ;; esac
for f in "$BENCH" "$KP11" "$BUILD/kysod" "$BUILD/kyso" "$SOFTHSM" "$P11KIT_CLIENT"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench-module')"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-bench-module.XXXXXX")
chmod 700 "$T"
SHM=
PIDS=()
P11_PID=
cleanup() {
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ -n "$P11_PID" ]; then
		# the server's per-connection processes outlive it: they go first
		for pid in $(ps -o pid= --ppid "$P11_PID" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
		kill "$P11_PID" 2>/dev/null || true
		wait "$P11_PID" 2>/dev/null || true
	fi
	[ -n "$SHM" ] && rm -rf "$SHM"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench/module: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo "bench/module: interrupted" >&2; exit 130' INT TERM

. "$ROOT/tests/lib/tokens.sh"
echo "bench/module: a SoftHSM token with a P-256 and an RSA-2048 key in $T"
tok_init "$T/tok" && tok_create "$TOKEN" && tok_key "$TOKEN" 01 ec:p256 p256 &&
	tok_key "$TOKEN" 02 rsa:2048 rsa2048 || die "cannot make the token"

# start_agent NAME STATE_DIR: a kysod on $T/NAME.sock with its audit log in STATE_DIR
start_agent() {
	mkdir -p "$T/$1.config/kyso"
	echo "pinentry = none" > "$T/$1.config/kyso/kysod.conf"
	XDG_CONFIG_HOME=$T/$1.config XDG_STATE_HOME=$2 setsid "$BUILD/kysod" -f \
		-s "$T/$1.sock" -m "$SOFTHSM" --log-level warning > "$T/$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 200); do
		KYSO_SOCKET=$T/$1.sock "$BUILD/kyso" info >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	cat "$T/$1.log" >&2
	die "kysod ($1) did not come up"
}
start_agent disk "$T/state"
SHM=$(mktemp -d /dev/shm/kyso-bench-module.XXXXXX 2>/dev/null) || SHM=
[ -n "$SHM" ] && start_agent tmpfs "$SHM"
echo "bench/module: kysod's audit log on the disk: $T/state/kyso/audit.log ($(df -T "$T" | awk 'NR == 2 { print $2 }'))"
[ -n "$SHM" ] && echo "bench/module: and beside it on tmpfs: $SHM/kyso/audit.log"

setsid p11-kit server -f --provider "$SOFTHSM" -n "$T/p11kit.sock" "pkcs11:" \
	> "$T/p11kit.log" 2>&1 &
P11_PID=$!
for _ in $(seq 1 100); do [ -S "$T/p11kit.sock" ] && break; sleep 0.05; done
[ -S "$T/p11kit.sock" ] || { cat "$T/p11kit.log" >&2; die "p11-kit server did not come up"; }

measure() {  # MODE KEY: prints ops/s
	case $1 in
	kyso) KYSO_SOCKET=$T/disk.sock "$BENCH" -m "$KP11" -t "$TOKEN" -k "$2" -P "$TOK_PIN" \
		-d "$SECONDS_PER" -q ;;
	kyso-tmpfs) KYSO_SOCKET=$T/tmpfs.sock "$BENCH" -m "$KP11" -t "$TOKEN" -k "$2" \
		-P "$TOK_PIN" -d "$SECONDS_PER" -q ;;
	p11kit) P11_KIT_SERVER_ADDRESS=unix:path=$T/p11kit.sock "$BENCH" -m "$P11KIT_CLIENT" \
		-t "$TOKEN" -k "$2" -P "$TOK_PIN" -d "$SECONDS_PER" -q ;;
	esac 2> "$T/err" || { cat "$T/err" >&2; die "$1 $2 failed"; }
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

MODES=(kyso p11kit)
[ -n "$SHM" ] && MODES=(kyso kyso-tmpfs p11kit)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench/module: $ROUNDS rounds x ${#MODES[@]} paths x $SECONDS_PER s for ${KEYS[*]}"
for key in "${KEYS[@]}"; do
	for f in "${MODES[@]}" rd rt; do : > "$T/$key.$f"; done
	for r in $(seq 1 "$ROUNDS"); do
		declare -A got=()
		line="bench/module: $key round $r:"
		for i in $(seq 0 $((${#MODES[@]} - 1))); do
			mode=${MODES[$(((i + r - 1) % ${#MODES[@]}))]}
			got[$mode]=$(measure "$mode" "$key")
			echo "${got[$mode]}" >> "$T/$key.$mode"
			line="$line $mode ${got[$mode]}"
		done
		calc %.3f "${got[kyso]} / ${got[p11kit]}" >> "$T/$key.rd"
		[ -n "$SHM" ] && calc %.3f "${got[kyso-tmpfs]} / ${got[p11kit]}" >> "$T/$key.rt"
		echo "$line"
		unset got
	done
done

echo
echo "kyso-pkcs11 against p11-kit remoting, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s)," \
	"$ROUNDS rounds x $SECONDS_PER s; load average before: $LOAD0"
echo "ops/s: median of the rounds; ratios: median of the per-round ratios; us: per signature"
printf '%-8s  %-12s  %-14s  %-12s  %-14s  %-18s  %s\n' key "kyso ops/s" "kyso-tmpfs" \
	"p11kit ops/s" "kyso/p11kit" "kyso-tmpfs/p11kit" "us: kyso / tmpfs / p11kit"
for key in "${KEYS[@]}"; do
	k=$(median < "$T/$key.kyso"); p=$(median < "$T/$key.p11kit")
	kt=-; rt=-; ktu=-
	if [ -n "$SHM" ]; then
		kt=$(median < "$T/$key.kyso-tmpfs"); rt=$(median < "$T/$key.rt")
		ktu=$(calc %.0f "1e6 / $kt")
	fi
	printf '%-8s  %-12s  %-14s  %-12s  %-14s  %-18s  %s\n' "$key" "$(calc %.0f "$k")" \
		"$([ "$kt" = - ] && echo - || calc %.0f "$kt")" "$(calc %.0f "$p")" \
		"$(median < "$T/$key.rd")" "$rt" \
		"$(calc %.0f "1e6 / $k") / $ktu / $(calc %.0f "1e6 / $p")"
done
echo
echo "target: kyso-pkcs11 faster than p11-kit remoting (kyso/p11kit > 1), audit log on the disk:"
for key in "${KEYS[@]}"; do
	v=$(median < "$T/$key.rd")
	printf '%-4s  %-8s kyso/p11kit %s\n' "$(awk -v x="$v" 'BEGIN { print (x > 1) ? "PASS" : "MISS" }')" \
		"$key" "$v"
done

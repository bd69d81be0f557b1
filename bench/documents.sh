#!/bin/bash
# bench/documents.sh — documents per second on one SoftHSM token, P-256, three ways in one
# run:
#
#   direct  kyso's PKCS#11 layer on libsofthsm2.so: 1000 raw ECDSA signatures, one session
#           (no CMS, no agent, no audit: what the token itself does)
#   sign    1000 io.kyso.Agent.Sign calls through libkyso, one connection (raw signatures)
#   batch   one io.kyso.Agent.SignDocuments call of 1000 documents through libkyso's
#           kyso_sign_batch: each a CMS SignedData, each with its audit record
#
# in the default configuration (the audit log in $XDG_STATE_HOME on disk, each record
# synced before its signature goes out), then the two agent paths again with the audit
# log on tmpfs — a tuned figure, labelled so: it shows what the fsync per record costs.
# Each round runs every path once, in an order that rotates; the table shows the median
# of BENCH_ROUNDS rounds. Run by `make bench`; figures in docs/performance.md.
#
# Environment: BUILD (default build), BENCH_ROUNDS (3), BENCH_DOCS (1000, at most 1000),
# BENCH_KEEP=1 keeps the temp dir. Exit status 0 when it ran, 1 if not.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
DOCS=${BENCH_DOCS:-1000}
case $ROUNDS in '' | *[!0-9]* | 0) echo "bench: BENCH_ROUNDS must be a count" >&2; exit 1 ;; esac
case $DOCS in '' | *[!0-9]* | 0) echo "bench: BENCH_DOCS must be a count" >&2; exit 1 ;; esac
[ "$DOCS" -le 1000 ] || { echo "bench: BENCH_DOCS is at most 1000 (one call)" >&2; exit 1; }
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
BENCH=$BUILD/bench/kyso_bench
TOKEN=kyso-bench-docs
die() { echo "bench: $*" >&2; exit 1; }
for f in "$BENCH" "$BUILD/kysod" "$BUILD/kyso" "$SOFTHSM"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench', or 'make deps bench-build')"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-bench-docs.XXXXXX")
chmod 700 "$T"
SHM=
PIDS=()
cleanup() {
	trap - EXIT INT TERM
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	case $SHM in /dev/shm/kyso-bench-docs.*) rm -rf "$SHM" ;; esac
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# shellcheck source=tests/lib/tokens.sh
. "$ROOT/tests/lib/tokens.sh"
echo "bench: a SoftHSM token with a P-256 key and the CA's certificate in $T"
tok_init "$T/tok" && tok_create "$TOKEN" && tok_key "$TOKEN" 01 ec:p256 p256 &&
	tok_ca "$TOKEN" || die "cannot make the token"

# agent_up NAME STATE_DIR: a kysod on $T/NAME.sock with its audit log below STATE_DIR
agent_up() {
	local sock=$T/$1.sock
	XDG_STATE_HOME=$2 XDG_CONFIG_HOME=$T/config setsid "$BUILD/kysod" -f -s "$sock" \
		-m "$SOFTHSM" --pinentry none --log-level warning > "$T/$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 200); do
		KYSO_SOCKET=$sock "$BUILD/kyso" info >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	cat "$T/$1.log" >&2
	die "kysod ($1) did not come up"
}
mkdir -p "$T/state"
agent_up disk "$T/state"
fs=$(stat -f -c %T "$T/state")
tuned=0
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/kyso-bench-docs.XXXXXX)
	agent_up shm "$SHM"
	tuned=1
fi
echo "bench: the default agent's audit log: $T/state/kyso/audit.log ($fs)"

measure() {  # MODE AGENT: prints documents (or signatures) per second
	local mode=$1 sock=$T/$2.sock
	case $mode in
	direct) set -- direct -m "$SOFTHSM" -n "$DOCS" ;;
	sign) set -- agent -s "$sock" -n "$DOCS" ;;
	batch) set -- batch -s "$sock" -n "$DOCS" -b "$DOCS" -w 0 ;;
	esac
	"$BENCH" "$@" -q -k p256 -t "$TOKEN" -P "$TOK_PIN" 2> "$T/err" ||
		{ cat "$T/err" >&2; die "$mode failed"; }
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

PATHS=(direct:disk sign:disk batch:disk)
[ "$tuned" = 1 ] && PATHS+=(sign:shm batch:shm)
n=${#PATHS[@]}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
	line="bench: documents round $r:"
	for i in $(seq 0 $((n - 1))); do
		p=${PATHS[$(((i + r - 1) % n))]}
		v=$(measure "${p%%:*}" "${p##*:}")
		echo "$v" >> "$T/${p/:/.}"
		line="$line $p $v"
	done
	echo "$line"
done

echo
echo "kyso documents benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s)," \
	"$(softhsm2-util --version 2>/dev/null | sed 's/^/SoftHSM /'), P-256, $DOCS documents" \
	"per measurement, $ROUNDS rounds"
echo "load average before the rounds: $LOAD0"
echo "per second: median (min-max) of the rounds; us per document from the median"
printf '%-52s  %-22s  %s\n' path "documents/s" "us/document"
row() {  # LABEL FILE
	local m
	m=$(median < "$T/$2")
	printf '%-52s  %-22s  %s\n' "$1" "$(calc %.0f "$m") ($(minmax < "$T/$2"))" \
		"$(calc %.0f "1e6 / $m")"
}
row "direct PKCS#11 (raw signatures, no audit)" direct.disk
row "agent: $DOCS Sign calls (audit on $fs)" sign.disk
row "agent: 1 SignDocuments of $DOCS (audit on $fs)" batch.disk
if [ "$tuned" = 1 ]; then
	row "tuned: $DOCS Sign calls (audit on tmpfs)" sign.shm
	row "tuned: 1 SignDocuments (audit on tmpfs)" batch.shm
fi
d=$(median < "$T/direct.disk"); s=$(median < "$T/sign.disk"); b=$(median < "$T/batch.disk")
echo
echo "batch / single Sign calls: $(calc %.2f "$b / $s")   batch / direct: $(calc %.3f "$b / $d")"
if [ "$tuned" = 1 ]; then
	bs=$(median < "$T/batch.shm")
	echo "with the audit log on tmpfs (tuned): batch / direct: $(calc %.3f "$bs / $d");" \
		"the fsync per record costs $(calc %.0f "1e6 / $b - 1e6 / $bs") us a document"
fi

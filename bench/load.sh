#!/bin/bash
# bench/load.sh — throughput as users run kysod (issue 15), in one run, on one SoftHSM token:
#
#   the default configuration: the audit log in $XDG_STATE_HOME on this disk, each record
#   synced before its signature goes out (group commit), modules in kyso-p11-helper, the
#   token's session pool as "auto" chooses it; against direct PKCS#11 with as many
#   sessions as clients, and p11-kit remoting (p11-kit-client.so -> p11-kit server) with as
#   many sessions, for P-256 and RSA-2048:
#     - 1 client; 1 client sending its PIN in every request; 8 clients
#     - a batch of 1,000 raw digests in one SignDigests call, and 1,000 documents in one
#       SignDocuments call (a CMS each)
#     - the clients sweep 1, 2, 4, 8, 16 for the plot (docs/performance-clients.svg)
#   then the same agent with its audit log on tmpfs (a second, labelled table), and kysod's
#   memory (idle, after 100,000 signatures) and CPU per signature.
#
# Environment: BUILD, BENCH_ROUNDS (3), BENCH_SECONDS (2), BENCH_KEYS ("p256 rsa2048"),
# BENCH_CLIENTS ("1 2 4 8 16"), BENCH_PLOT (the SVG to write; default
# $BUILD/bench/performance-clients.svg; docs/performance-clients.svg is a copy of one),
# BENCH_RSS_SIGS (100000), BENCH_KEEP=1, BENCH_BATCHES_ONLY=1 (only direct and the batch
# rows, SignDigests and SignDocuments of 1000 on disk and on tmpfs: no sweep, memory nor
# plot; about 1 minute), BENCH_BEFORE=DIR (with BENCH_BATCHES_ONLY: also the kysod of
# another build, DIR/kysod, e.g. main's, in the same rounds: before/after ratios of one
# run). A measurement, not a test: exit 0 when it ran.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-2}
read -ra KEYS <<< "${BENCH_KEYS:-p256 rsa2048}"
read -ra SWEEP <<< "${BENCH_CLIENTS:-1 2 4 8 16}"
PLOT=${BENCH_PLOT:-$BUILD/bench/performance-clients.svg}
RSS_SIGS=${BENCH_RSS_SIGS:-100000}
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
BENCH=$BUILD/bench/kyso_bench
TOKEN=kyso-bench
die() { echo "load: $*" >&2; exit 1; }
for f in "$BENCH" "$BUILD/kysod" "$BUILD/kyso-p11-helper" "$BUILD/kyso" "$SOFTHSM"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench')"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-load.XXXXXX")
chmod 700 "$T"
SHM=
[ -d /dev/shm ] && [ -w /dev/shm ] && SHM=$(mktemp -d /dev/shm/kyso-load.XXXXXX)
PIDS=()
P11_PID=
cleanup() {
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ -n "$P11_PID" ]; then
		for p in $(ps -o pid= --ppid "$P11_PID" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
		kill "$P11_PID" 2>/dev/null || true
		wait "$P11_PID" 2>/dev/null || true
	fi
	[ -z "$SHM" ] || rm -rf "$SHM"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "load: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo "load: interrupted" >&2; exit 130' INT TERM

# shellcheck source=tests/lib/tokens.sh
. "$ROOT/tests/lib/tokens.sh"
echo "load: creating a SoftHSM token with a P-256 and an RSA-2048 key in $T"
tok_init "$T/tok" >/dev/null || die "cannot set up the SoftHSM store"
tok_create "$TOKEN" >/dev/null || die "cannot create the token"
tok_key "$TOKEN" 01 ec:p256 p256 >/dev/null || die "cannot make the P-256 key"
tok_key "$TOKEN" 02 rsa:2048 rsa2048 >/dev/null || die "cannot make the RSA-2048 key"

# start_agent NAME STATE_DIR [BUILD]: kysod as a user runs it (its defaults), on the bench
# token
start_agent() {
	local name=$1 state=$2 sock=$T/$1.sock
	mkdir -p "$T/$name.config"
	XDG_STATE_HOME=$state XDG_CONFIG_HOME=$T/$name.config setsid "${3:-$BUILD}/kysod" -f \
		-s "$sock" -m "$SOFTHSM" --pinentry none --log-level info > "$T/$name.log" 2>&1 &
	PIDS+=("$!")
	eval "PID_$name=$!"
	for _ in $(seq 1 200); do
		KYSO_SOCKET=$sock "$BUILD/kyso" info >/dev/null 2>&1 && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/$name.log" >&2
	die "kysod ($name) did not come up"
}
# the audit log in $XDG_STATE_HOME on the disk this directory is on, as by default
start_agent disk "$T/state"
start_agent tmpfs "${SHM:-$T/state-tmpfs}"
if [ -n "${BENCH_BEFORE:-}" ]; then
	start_agent bdisk "$T/bstate" "$(cd "$BENCH_BEFORE" && pwd)"
	start_agent btmpfs "${SHM:-$T}/bstate-tmpfs" "$(cd "$BENCH_BEFORE" && pwd)"
fi
grep -h "session(s)" "$T/disk.log" | sed 's/^/load: /' | head -1
echo "load: audit logs: $(df -T "$T/state" | awk 'NR == 2 { print $2 }') ($T/state)," \
	"$(df -T "${SHM:-$T}" | awk 'NR == 2 { print $2 }') (${SHM:-$T/state-tmpfs})"

setsid p11-kit server -f --provider "$SOFTHSM" -n "$T/p11kit.sock" "pkcs11:" \
	> "$T/p11kit.log" 2>&1 &
P11_PID=$!
for _ in $(seq 1 100); do [ -S "$T/p11kit.sock" ] && break; sleep 0.05; done
[ -S "$T/p11kit.sock" ] || die "p11-kit server did not come up"

# measure PATH KEY CLIENTS [extra]: ops/s
measure() {
	local path=$1 key=$2 n=$3 extra=${4:-} mode
	case $path in
	direct) mode=direct; set -- -m "$SOFTHSM" ;;
	p11kit) mode=p11kit; set -- -A "unix:path=$T/p11kit.sock" ;;
	disk | tmpfs) mode=agent; set -- -s "$T/$path.sock" ;;
	batch-*) mode=batch; set -- -s "$T/${path#batch-}.sock" -b 1000 -w 1 ;;
	digests-*) mode=digests; set -- -s "$T/${path#digests-}.sock" -b 1000 -w 1 ;;
	esac
	local c=()
	[ "$n" -gt 1 ] && c=(-c "$n")
	# shellcheck disable=SC2086
	"$BENCH" "$mode" -q -k "$key" -t "$TOKEN" -P "$TOK_PIN" -d "$SECS" "${c[@]}" $extra "$@" \
		2> "$T/err" || { cat "$T/err" >&2; die "$path $key x$n failed"; }
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# the rows: NAME PATH CLIENTS EXTRA; ratios against direct with the same clients
ROWS=("direct1 direct 1" "disk1 disk 1" "pin1 disk 1 -p" "p11kit1 p11kit 1"
	"direct8 direct 8" "disk8 disk 8" "p11kit8 p11kit 8"
	"tmpfs1 tmpfs 1" "tpin1 tmpfs 1 -p" "tmpfs8 tmpfs 8"
	"batch batch-disk 1" "tbatch batch-tmpfs 1" "digests digests-disk 1"
	"tdigests digests-tmpfs 1")
PAIRS="disk1:direct1 pin1:disk1 p11kit1:direct1 disk8:direct8 p11kit8:direct8 \
	tmpfs1:direct1 tpin1:tmpfs1 tmpfs8:direct8 batch:direct1 tbatch:direct1 \
	digests:direct1 tdigests:direct1 disk1:p11kit1 disk8:p11kit8"
if [ -n "${BENCH_BATCHES_ONLY:-}" ]; then
	ROWS=("direct1 direct 1" "batch batch-disk 1" "tbatch batch-tmpfs 1"
		"digests digests-disk 1" "tdigests digests-tmpfs 1")
	PAIRS="batch:direct1 tbatch:direct1 digests:direct1 tdigests:direct1"
	if [ -n "${BENCH_BEFORE:-}" ]; then
		ROWS+=("bbatch batch-bdisk 1" "btbatch batch-btmpfs 1" "bdigests digests-bdisk 1"
			"btdigests digests-btmpfs 1")
		PAIRS="$PAIRS bbatch:direct1 btbatch:direct1 bdigests:direct1 btdigests:direct1"
		PAIRS="$PAIRS batch:bbatch tbatch:btbatch digests:bdigests tdigests:btdigests"
	fi
fi
echo "load: $ROUNDS rounds x ${#ROWS[@]} measurements x $SECS s for ${KEYS[*]}, then the" \
	"clients sweep (${SWEEP[*]}) x 3 paths"
for key in "${KEYS[@]}"; do
	for r in $(seq 1 "$ROUNDS"); do
		line="load: $key round $r:"
		for i in $(seq 0 $((${#ROWS[@]} - 1))); do
			# shellcheck disable=SC2086
			set -- ${ROWS[$(((i + r - 1) % ${#ROWS[@]}))]}
			v=$(measure "$2" "$key" "$3" "${4:-}")
			echo "$v" >> "$T/$key.$1"
			eval "got_$1=$v"
			line="$line $1 $v"
		done
		# per-round ratios (the same round: the drift cancels)
		for pair in $PAIRS; do
			a=${pair%:*} b=${pair#*:}
			va=$(eval echo "\$got_$a") vb=$(eval echo "\$got_$b")
			calc %.3f "$va / $vb" >> "$T/$key.$a-$b"
		done
		echo "$line"
	done
done

if [ -n "${BENCH_BATCHES_ONLY:-}" ]; then
	med() { median < "$T/$1"; }
	echo
	echo "kyso batch rows, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s), $ROUNDS rounds" \
		"x $SECS s; load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-8s  %-36s  %10s  %10s  %8s\n' key row direct kysod kysod/dir
	for key in "${KEYS[@]}"; do
		for row in "digests:SignDigests of 1000, disk" "tdigests:SignDigests of 1000, tmpfs" \
			"batch:SignDocuments of 1000, disk" "tbatch:SignDocuments of 1000, tmpfs"; do
			printf '%-8s  %-36s  %10.0f  %10.0f  %8s\n' "$key" "${row#*:}" \
				"$(med "$key.direct1")" "$(med "$key.${row%%:*}")" \
				"$(med "$key.${row%%:*}-direct1")"
			[ -n "${BENCH_BEFORE:-}" ] || continue
			printf '%-8s  %-36s  %10.0f  %10.0f  %8s  (this build / before: %s)\n' "$key" \
				"  before ($BENCH_BEFORE)" "$(med "$key.direct1")" \
				"$(med "$key.b${row%%:*}")" "$(med "$key.b${row%%:*}-direct1")" \
				"$(med "$key.${row%%:*}-b${row%%:*}")"
		done
	done
	exit 0
fi

# the clients sweep, for the plot
for key in "${KEYS[@]}"; do
	for n in "${SWEEP[@]}"; do
		d=$(measure direct "$key" "$n"); a=$(measure disk "$key" "$n")
		p=$(measure p11kit "$key" "$n")
		echo "$n $d $a $p" >> "$T/$key.sweep"
		echo "load: $key $n clients: direct $d kysod $a p11kit $p"
	done
done

# memory and CPU: kysod and its helper(s)
pids_of() { echo "$1 $(ps -o pid= --ppid "$1" | tr '\n' ' ')"; }
rss_kb() { local s=0; for p in $(pids_of "$1"); do
	s=$((s + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo "$s"; }
cpu_ticks() { local s=0; for p in $(pids_of "$1"); do
	s=$((s + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$s"; }
# a fresh agent for the memory figures (the others have served the rounds)
start_agent mem "$T/state-mem"
idle=$(rss_kb "$PID_mem")
c0=$(cpu_ticks "$PID_mem")
t0=$(date +%s.%N)
"$BENCH" agent -q -k p256 -t "$TOKEN" -P "$TOK_PIN" -s "$T/mem.sock" -c 8 -n "$RSS_SIGS" \
	-d 3600 -w 1 > /dev/null 2> "$T/err" &
bp=$!
# -c with -n: run until the count (the clients stop at the deadline otherwise)
while kill -0 "$bp" 2>/dev/null; do
	n=$(wc -l < "$T/state-mem/kyso/audit.log" 2>/dev/null || echo 0)
	[ "$n" -ge "$RSS_SIGS" ] && { kill "$bp" 2>/dev/null; break; }
	sleep 0.5
done
wait "$bp" 2>/dev/null || true
t1=$(date +%s.%N)
after=$(rss_kb "$PID_mem")
c1=$(cpu_ticks "$PID_mem")
sigs=$(wc -l < "$T/state-mem/kyso/audit.log")
hz=$(getconf CLK_TCK)

# ---- the tables ----
med() { median < "$T/$1"; }
echo
echo "kyso load benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s)," \
	"$(softhsm2-util --version 2>/dev/null | sed 's/^/SoftHSM /'), $ROUNDS rounds x $SECS s"
echo "load average before: $LOAD0; ops/s: medians of the rounds; ratios: medians of the" \
	"per-round ratios; sessions: direct and p11kit one per client, kysod as 'auto' chose"
echo
echo "Default configuration (audit log on disk, modules in helpers):"
printf '%-8s  %-28s  %10s  %10s  %10s  %8s  %8s\n' key row direct kysod p11kit \
	kysod/dir kysod/p11
for key in "${KEYS[@]}"; do
	printf '%-8s  %-28s  %10.0f  %10.0f  %10.0f  %8s  %8s\n' "$key" "1 client" \
		"$(med "$key.direct1")" "$(med "$key.disk1")" "$(med "$key.p11kit1")" \
		"$(med "$key.disk1-direct1")" "$(med "$key.disk1-p11kit1")"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s  %8s\n' "$key" "1 client, PIN every request" \
		"$(med "$key.direct1")" "$(med "$key.pin1")" "-" \
		"$(med "$key.pin1-disk1") of 1 client" "-"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10.0f  %8s  %8s\n' "$key" "8 clients" \
		"$(med "$key.direct8")" "$(med "$key.disk8")" "$(med "$key.p11kit8")" \
		"$(med "$key.disk8-direct8")" "$(med "$key.disk8-p11kit8")"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s  %8s\n' "$key" "SignDigests of 1000, sigs/s" \
		"$(med "$key.direct1")" "$(med "$key.digests")" "-" "$(med "$key.digests-direct1")" "-"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s  %8s\n' "$key" "batch of 1000 (CMS), docs/s" \
		"$(med "$key.direct1")" "$(med "$key.batch")" "-" "$(med "$key.batch-direct1")" "-"
done
echo
echo "Tuned, labelled: the audit log on tmpfs (no fsync cost):"
for key in "${KEYS[@]}"; do
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s\n' "$key" "1 client" "$(med "$key.direct1")" \
		"$(med "$key.tmpfs1")" "" "$(med "$key.tmpfs1-direct1")"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s\n' "$key" "1 client, PIN every request" \
		"$(med "$key.direct1")" "$(med "$key.tpin1")" "" "$(med "$key.tpin1-tmpfs1") of 1 client"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s\n' "$key" "8 clients" "$(med "$key.direct8")" \
		"$(med "$key.tmpfs8")" "" "$(med "$key.tmpfs8-direct8")"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s\n' "$key" "SignDigests of 1000, sigs/s" \
		"$(med "$key.direct1")" "$(med "$key.tdigests")" "" "$(med "$key.tdigests-direct1")"
	printf '%-8s  %-28s  %10.0f  %10.0f  %10s  %8s\n' "$key" "batch of 1000 (CMS), docs/s" \
		"$(med "$key.direct1")" "$(med "$key.tbatch")" "" "$(med "$key.tbatch-direct1")"
done
echo
echo "Clients sweep (ops/s; direct and p11kit: a session per client):"
for key in "${KEYS[@]}"; do
	echo "$key: clients direct kysod p11kit"
	sed 's/^/  /' "$T/$key.sweep"
done
echo
echo "kysod (with its helper): idle RSS $((idle / 1024)) MiB; after $sigs P-256 signatures" \
	"(8 clients) $((after / 1024)) MiB; CPU per signature" \
	"$(calc %.0f "($c1 - $c0) / $hz * 1e6 / $sigs") us ($(calc %.0f "$sigs / ($t1 - $t0)") signatures/s)"

# ---- the plot ----
if command -v gnuplot >/dev/null; then
	mkdir -p "$(dirname "$PLOT")"
	{
		echo "set terminal svg size 900,420 dynamic font 'DejaVu Sans,11'"
		echo "set output '$PLOT'"
		echo "set multiplot layout 1,${#KEYS[@]} title 'kyso: signatures per second against clients at once (SoftHSM, $(nproc) CPUs, audit log on disk)'"
		echo "set logscale x 2; set xtics (1,2,4,8,16); set xlabel 'clients'; set ylabel 'ops/s'"
		echo "set key top left; set grid; set yrange [0:*]"
		for key in "${KEYS[@]}"; do
			echo "set title '$key'"
			echo "plot '$T/$key.sweep' using 1:2 with linespoints title 'direct PKCS#11', \
'' using 1:3 with linespoints title 'kysod (default config)', \
'' using 1:4 with linespoints title 'p11-kit remoting'"
		done
		echo "unset multiplot"
	} > "$T/plot.gp"
	gnuplot "$T/plot.gp" && echo "load: plot written to $PLOT"
else
	echo "load: gnuplot is missing (packaging/deps.sh installs it): no plot"
fi

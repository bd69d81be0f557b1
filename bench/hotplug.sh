#!/bin/bash
# bench/hotplug.sh — how fast tokens coming and going reach an app, and what an idle agent
# costs, in one run (figures: docs/performance.md):
#
#   latency  removal-to-event (token-removed) and insertion-to-visible (token-added: the
#            token is listed with its certificates), medians of HOTPLUG_ROUNDS rounds:
#              mock-events  the test module (tests/mock) with C_WaitForSlotEvent
#              mock-poll    the same module without slot events: the 1 s slot poll
#              card         the real card stack: pcscd + vpcd + emulated card + OpenSC
#   wake-ups of idle agents over IDLE_SECONDS (context switches of all their threads and
#            their module helpers' threads, from /proc/PID/task/*/status), measured side
#            by side for the three set-ups above.
#
# Environment: BUILD (default build), HOTPLUG_ROUNDS (10), IDLE_SECONDS (60),
# BENCH_KEEP=1 keeps the temp dir. Run by `make bench` after bench/run.sh, or alone with
# `make bench-hotplug`. It measures; it is not a test. The card set-up needs root
# (namespaces): elsewhere its rows say why they are missing.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
ROUNDS=${HOTPLUG_ROUNDS:-10}
IDLE=${IDLE_SECONDS:-60}
case $ROUNDS$IDLE in *[!0-9]*) echo "bench: HOTPLUG_ROUNDS and IDLE_SECONDS are counts" >&2; exit 1 ;; esac
MOCK=$BUILD/tests/libkyso-faulty.so
for f in "$BUILD/kysod" "$BUILD/kyso" "$MOCK"; do
	[ -e "$f" ] || { echo "bench: $f is missing (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-hotplug.XXXXXX")
chmod 700 "$T"
T_DIR=$T T_FAILED=0
. "$ROOT/tests/lib/tokens.sh"
. "$ROOT/tests/lib/cardstack.sh"
declare -A PIDS=()

cleanup() {
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	card_stack_stop >/dev/null 2>&1
	[ -n "${BENCH_KEEP:-}" ] && echo "bench: kept $T" || rm -rf "$T"
}
trap cleanup EXIT INT TERM

# starts kysod NAME [ENV=VALUE...] -- [KYSOD ARGS]: socket $T/NAME.sock
start_agent() {
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$BUILD/kysod" -f -s "$T/$name.sock" --log-level info "$@" \
		> "$T/$name.log" 2>&1 &
	PIDS[$name]=$!
	for _ in $(seq 200); do
		KYSO_SOCKET=$T/$name.sock "$BUILD/kyso" info >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "bench: kysod ($name) did not start:" >&2; cat "$T/$name.log" >&2
	return 1
}

# the mock's control file: slot 1 holds the token, or is empty; events on or off
mock_control() {  # FILE present|absent on|off
	{ if [ "$2" = present ]; then echo "slot 1 hot"; else echo "slot 1 -"; fi
	  if [ "$3" = off ]; then echo "events off"; fi; } > "$1.tmp" && mv "$1.tmp" "$1"
}

tok_init "$T/tok" >/dev/null && tok_create hot && tok_key hot 01 ec:p256 hotkey >/dev/null ||
	{ echo "bench: cannot make the SoftHSM token" >&2; exit 1; }

declare -A LAT=()
for mode in on off; do
	name=mock-$([ $mode = on ] && echo events || echo poll)
	mock_control "$T/$name.ctl" present "$mode"
	start_agent "$name" KYSO_FAULTY_MODULE="$SOFTHSM_MODULE" KYSO_FAULTY_CONTROL="$T/$name.ctl" \
		KYSO_HELPER_ENV=KYSO_FAULTY_MODULE,KYSO_FAULTY_CONTROL -- --module "$MOCK" || exit 1
	echo "bench: $name: $ROUNDS rounds of remove + insert"
	# the commands rewrite the control file as mock_control does (sourced by a shell)
	LAT[$name]=$(KYSO_SOCKET=$T/$name.sock python3 "$ROOT/bench/hotplug_events.py" "$ROUNDS" \
		"$(declare -f mock_control); mock_control $T/$name.ctl absent $mode" \
		"$(declare -f mock_control); mock_control $T/$name.ctl present $mode" | tail -n 1)
done

if why=$(card_stack_possible); then
	card_stack_start "$T/card" >/dev/null || why="the card stack did not start"
fi
if [ -n "${CARD_EMU_PID:-}" ]; then
	start_agent card PCSCLITE_CSOCK_NAME="$PCSCLITE_CSOCK_NAME" OPENSC_CONF="$OPENSC_CONF" \
		-- --module "$CARD_MODULE" || exit 1
	echo "bench: card: $ROUNDS rounds of pull + insert"
	# SIGUSR1/SIGUSR2 pull and insert the emulated card at once (tests/cardemu)
	LAT[card]=$(KYSO_SOCKET=$T/card.sock python3 "$ROOT/bench/hotplug_events.py" "$ROUNDS" \
		"kill -USR1 $CARD_EMU_PID" "kill -USR2 $CARD_EMU_PID" | tail -n 1)
else
	LAT[card]="skipped: $why"
fi

ctx() {  # total context switches of every thread of PID and of its module helpers
	local p procs=$1
	for p in $(pgrep -P "$1" 2>/dev/null); do
		[ "$(ps -o comm= -p "$p" 2>/dev/null)" = kyso-p11-helper ] && procs="$procs $p"
	done
	for p in $procs; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}
echo "bench: idle agents for $IDLE s"
declare -A C0=() C1=()
sleep 2  # let the last events settle
for n in "${!PIDS[@]}"; do C0[$n]=$(ctx "${PIDS[$n]}"); done
sleep "$IDLE"
for n in "${!PIDS[@]}"; do C1[$n]=$(ctx "${PIDS[$n]}"); done

echo
echo "kyso hotplug benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s), $ROUNDS rounds"
printf '%-12s  %-14s  %-22s  %-22s  %s\n' set-up "events from" "removal->event ms" \
	"insertion->listed ms" "idle wake-ups in ${IDLE} s"
for n in mock-events mock-poll card; do
	src=$(KYSO_SOCKET=$T/$n.sock python3 "$ROOT/tests/lib/vcall.py" call io.kyso.Agent.ListModules 2>/dev/null |
		grep -o '"events":"[a-z-]*"' | cut -d'"' -f4)
	case ${LAT[$n]} in
	median*) read -r _ rm im <<< "${LAT[$n]}" ;;
	*) rm=${LAT[$n]}; im=- ;;
	esac
	w=-
	[ -n "${PIDS[$n]:-}" ] && w=$(( ${C1[$n]} - ${C0[$n]} ))
	printf '%-12s  %-14s  %-22s  %-22s  %s\n' "$n" "${src:--}" "$rm" "$im" "$w"
done

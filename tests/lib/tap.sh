# tests/lib/tap.sh — TAP output for shell tests: ok/not ok/skip lines and a closing plan.
#   t_ok DESC CMD...      run CMD; "ok" if it succeeds
#   t_fail DESC CMD...    run CMD; "ok" if it fails
#   t_pass DESC / t_flunk DESC [WHY]   record a result decided by the caller
#   t_skip DESC WHY       record a skip (never counted as passed)
#   t_done                print the plan; exit 1 if anything failed
T_N=0
T_FAILED=0

t_pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_flunk() {
	T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}
t_skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }

t_ok() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then t_pass "$desc"; else t_flunk "$desc" "$out"; fi
}
t_fail() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then t_flunk "$desc" "expected failure, got success: $out"; else t_pass "$desc"; fi
}
# t_eq DESC EXPECTED ACTUAL
t_eq() {
	if [ "$2" = "$3" ]; then t_pass "$1"; else t_flunk "$1" "expected [$2], got [$3]"; fi
}
# t_match DESC REGEX TEXT
t_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then t_pass "$1"; else t_flunk "$1" "no match for /$2/ in: $3"; fi
}
t_done() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# tests/lib/mock.sh — drives the test PKCS#11 module $BUILD/tests/libkyso-faulty.so
# (tests/mock/faulty_p11.c documents its control file) from shell tests. Source it after
# tests/lib/common.sh. Every change rewrites the control file atomically (a temporary file
# in the same directory, then mv), so the module never reads half a file.
#
#   mock_env DIR              exports KYSO_FAULTY_MODULE=$SOFTHSM_MODULE,
#                             KYSO_FAULTY_CONTROL=DIR/control and KYSO_FAULTY_TRACE=DIR/trace
#                             (both created empty); sets MOCK_MODULE to the module's path
#   mock_slot N LABEL [TAG]   virtual slot N (1..16) holds the token labelled LABEL; a new
#                             TAG with the same LABEL is a removal and re-insertion
#   mock_slot N -             slot N is declared and empty
#   mock_unslot N             slot N is no longer declared
#   mock_rule 'LINE'          appends the rule LINE, e.g. mock_rule 'C_Sign delay 2000 tokA'
#   mock_unrule [PATTERN]     removes the rule lines containing PATTERN (a fixed string);
#                             without PATTERN every rule line (slot, events and pinpad
#                             lines are not rules: they stay)
#   mock_events on|off        C_WaitForSlotEvent supported (default) or not
#   mock_pinpad LABEL PIN [DELAY_MS]
#                             the token LABEL sits in a PIN-pad reader: its C_GetTokenInfo
#                             flags get CKF_PROTECTED_AUTHENTICATION_PATH, and a C_Login
#                             without a PIN waits DELAY_MS (default 0: the person typing),
#                             then logs in with PIN (a wrong one: CKR_PIN_INCORRECT).
#                             Replaces LABEL's earlier pinpad line; a changed line ends
#                             a keypad wait in progress, as does mock_unpinpad
#   mock_unpinpad LABEL       the token LABEL is in an ordinary reader again
#   mock_calls FUNCTION       how many calls of FUNCTION the trace holds
# The functions are exported, so scripts run by `bash -c` (mock_probe's `sh`) have them.

MOCK_MODULE=${BUILD:-build}/tests/libkyso-faulty.so

mock_env() {
	mkdir -p "$1" || return 1
	export KYSO_FAULTY_MODULE=$SOFTHSM_MODULE KYSO_FAULTY_CONTROL=$1/control \
		KYSO_FAULTY_TRACE=$1/trace
	: > "$KYSO_FAULTY_CONTROL" && : > "$KYSO_FAULTY_TRACE"
}

# _mock_rewrite AWK-PROGRAM [VAR=VALUE...]: the control file through awk, atomically
_mock_rewrite() {
	local prog=$1 tmp; shift
	local f=${KYSO_FAULTY_CONTROL:?mock_env first}
	tmp=$(mktemp "$f.XXXXXX") || return 1
	{ [ -f "$f" ] && cat "$f"; } | awk "${@/#/-v}" "$prog" > "$tmp" && mv -f "$tmp" "$f" ||
		{ rm -f "$tmp"; return 1; }
}

# a slot line is "slot N ..." with N its second word
export _MOCK_NOT_SLOT_N='!($1 == "slot" && $2 == n)'

mock_slot() {
	local n=$1 label=$2 tag=${3:-} line
	case $n in [1-9] | 1[0-6]) ;; *) echo "mock_slot: slot $n not in 1..16" >&2; return 1 ;; esac
	[ -n "$label" ] || { echo "mock_slot: no label" >&2; return 1; }
	line="slot $n $label${tag:+ $tag}"
	[ "$label" = - ] && line="slot $n -"
	_mock_rewrite "$_MOCK_NOT_SLOT_N { print } END { print line }" "n=$n" "line=$line"
}

mock_unslot() {
	_mock_rewrite "$_MOCK_NOT_SLOT_N { print }" "n=$1"
}

mock_rule() {
	_mock_rewrite '{ print } END { print line }' "line=$1"
}

mock_unrule() {
	_mock_rewrite '$1 == "slot" || $1 == "events" || $1 == "pinpad" || $0 ~ /^[ \t]*(#|$)/ ||
		(p != "" && index($0, p) == 0) { print }' "p=${1:-}"
}

mock_events() {
	case $1 in
	on) _mock_rewrite '$1 != "events" { print }' ;;
	off) _mock_rewrite '$1 != "events" { print } END { print "events off" }' ;;
	*) echo "mock_events: on or off" >&2; return 1 ;;
	esac
}

# a pinpad line is "pinpad LABEL ..." with LABEL its second word
export _MOCK_NOT_PINPAD_L='!($1 == "pinpad" && $2 == l)'

mock_pinpad() {
	local label=${1:-} pin=${2:-} ms=${3:-}
	[ -n "$label" ] && [ -n "$pin" ] ||
		{ echo "mock_pinpad: LABEL PIN [DELAY_MS]" >&2; return 1; }
	[ -z "$ms" ] || [[ $ms =~ ^[0-9]+$ ]] ||
		{ echo "mock_pinpad: DELAY_MS $ms is not a number" >&2; return 1; }
	_mock_rewrite "$_MOCK_NOT_PINPAD_L { print } END { print line }" "l=$label" \
		"line=pinpad $label $pin${ms:+ $ms}"
}

mock_unpinpad() {
	[ -n "${1:-}" ] || { echo "mock_unpinpad: no label" >&2; return 1; }
	_mock_rewrite "$_MOCK_NOT_PINPAD_L { print }" "l=$1"
}

mock_calls() {
	grep -c "^$1 " "${KYSO_FAULTY_TRACE:?mock_env first}" || true
}

export MOCK_MODULE
export -f mock_env _mock_rewrite mock_slot mock_unslot mock_rule mock_unrule mock_events \
	mock_pinpad mock_unpinpad mock_calls

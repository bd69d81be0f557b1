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
#                             without PATTERN every rule line
#   mock_events on|off        C_WaitForSlotEvent supported (default) or not
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
	_mock_rewrite '$1 == "slot" || $1 == "events" || $0 ~ /^[ \t]*(#|$)/ ||
		(p != "" && index($0, p) == 0) { print }' "p=${1:-}"
}

mock_events() {
	case $1 in
	on) _mock_rewrite '$1 != "events" { print }' ;;
	off) _mock_rewrite '$1 != "events" { print } END { print "events off" }' ;;
	*) echo "mock_events: on or off" >&2; return 1 ;;
	esac
}

mock_calls() {
	grep -c "^$1 " "${KYSO_FAULTY_TRACE:?mock_env first}" || true
}

export MOCK_MODULE
export -f mock_env _mock_rewrite mock_slot mock_unslot mock_rule mock_unrule mock_events \
	mock_calls

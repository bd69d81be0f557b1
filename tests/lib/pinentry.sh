# tests/lib/pinentry.sh — the scripted fake pinentry (tests/tools/fake-pinentry) for a test.
#   pinentry_init                 FAKE (the program), its script and log in $T_DIR
#   script ACTION...              what it answers next, in order (pin X, confirm, refuse,
#                                 cancel, timeout, hang...)
#   dialogs                       how many dialogs it has shown
#   dialog_field N FIELD          a field (cmd, title, desc, ok, cancel...) of the Nth
#                                 dialog from the end (1: the last)
#   wait_dialogs_closed [REGEX]   waits (up to 30 s) until kysod ($AGENT_PID) has no
#                                 dialog left (agent_dialogs: its children but the
#                                 kyso-p11-helpers; the pinentry ended) and, if given, the last
#                                 line of $AUDIT matches REGEX; prints yes or no
FAKE=$T_TOP/tests/tools/fake-pinentry

pinentry_init() {
	export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
	: > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"
}

script() { printf '%s\n' "$@" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"; }

dialogs() { grep -c . "$FAKE_PINENTRY_LOG" || true; }

dialog_field() {
	tail -n "$1" "$FAKE_PINENTRY_LOG" | head -n 1 | /usr/bin/python3 -c \
		'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$2"
}

wait_dialogs_closed() {
	local _
	for _ in $(seq 1 1500); do
		if [ -z "$(agent_dialogs)" ] &&
			{ [ -z "${1:-}" ] || tail -n 1 "$AUDIT" | grep -Eq "$1"; }; then
			echo yes; return 0
		fi
		sleep 0.02
	done
	echo no
}

# tests/lib/agent.sh — run a private kysod for a test.
#   agent_start [KYSOD ARGS...]   starts kysod in the foreground (background job) on
#                                 $T_DIR/agent.sock; waits until it serves; the array
#                                 AGENT_WRAP, if set, is the command that runs it (it must
#                                 exec kysod: AGENT_PID is kysod's)
#   agent_stop                    SIGTERM and wait; fails if it did not exit cleanly
#   agent_alive                   true while the agent process runs
#   agent_dialogs / agent_helpers the agent's dialog processes / module helper processes
#   t_no_pins_in_core CONTROL PIN:WHAT...   no PIN in a core of the agent (gcore)
# Uses $BUILD (the build directory), $T_DIR (the test's temp dir).

agent_start() {
	export KYSO_SOCKET=$T_DIR/agent.sock
	rm -f "$KYSO_SOCKET"
	${AGENT_WRAP[@]+"${AGENT_WRAP[@]}"} "$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" \
		--log-level debug "$@" >> "$T_DIR/kysod.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 1 200); do
		if "$BUILD/kyso" info >/dev/null 2>&1; then return 0; fi
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# kysod did not come up; its log:"; sed 's/^/#   /' "$T_DIR/kysod.log"
	return 1
}

agent_alive() { kill -0 "$AGENT_PID" 2>/dev/null; }

# agent_dialogs [PID]: the agent's child processes other than the helpers that run its
# modules (kyso-p11-helper): its dialogs (pinentry), one pid a line
agent_dialogs() {
	local p
	for p in $(pgrep -P "${1:-$AGENT_PID}" 2>/dev/null); do
		[ "$(ps -o comm= -p "$p" 2>/dev/null)" = kyso-p11-helper ] || echo "$p"
	done
}

# agent_helpers [PID]: the helper processes (kyso-p11-helper) of the agent, one pid a line
agent_helpers() {
	local p
	for p in $(pgrep -P "${1:-$AGENT_PID}" 2>/dev/null); do
		[ "$(ps -o comm= -p "$p" 2>/dev/null)" = kyso-p11-helper ] && echo "$p"
	done
	return 0
}

agent_stop() {
	local rc
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID"; rc=$?
	AGENT_PID=
	return $rc
}

# t_agent_stops: SIGTERM the agent, expect exit status 0 and the socket removed.
t_agent_stops() {
	local rc
	agent_stop; rc=$?
	t_eq "kysod exits 0 on SIGTERM" 0 "$rc"
	if [ -e "$KYSO_SOCKET" ]; then t_flunk "socket removed at exit"; else t_pass "socket removed at exit"; fi
}

# t_no_pins_in_core CONTROL PIN:WHAT...: kysod ($AGENT_PID) has a core size limit of 0,
# and a core taken by gdb's gcore holds CONTROL (something kysod keeps: proof that the
# core is real) and none of the PINs. Skips where gcore cannot help (missing, ASan).
t_no_pins_in_core() {
	local control=$1 core=$T_DIR/core.$AGENT_PID p; shift
	t_match "kysod's core file size limit is 0 (soft and hard)" '^Max core file size +0 +0 ' \
		"$(grep '^Max core file size' "/proc/$AGENT_PID/limits")"
	if ! command -v gcore >/dev/null 2>&1; then
		t_skip "no PIN in a core of kysod" "gdb (gcore) is not installed"
	elif ldd "$BUILD/kysod" 2>/dev/null | grep -Eq 'lib[at]san'; then
		t_skip "no PIN in a core of kysod" "a sanitizer build: gcore writes terabytes of shadow memory (the plain build checks this)"
	elif ! gcore -o "$T_DIR/core" "$AGENT_PID" > "$T_DIR/gcore.out" 2>&1 || [ ! -s "$core" ]; then
		t_skip "no PIN in a core of kysod" "gcore could not take a core: $(tail -n 1 "$T_DIR/gcore.out")"
	else
		t_ok "control: the core holds what kysod keeps ($control)" \
			test "$(grep -a -c -F "$control" "$core")" -gt 0
		for p in "$@"; do
			t_eq "the core of kysod (gcore) holds no copy of ${p#*:}" 0 \
				"$(grep -a -c -F "${p%%:*}" "$core")"
		done
		rm -f "$core"
	fi
}

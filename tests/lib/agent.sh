# tests/lib/agent.sh — run a private kysod for a test.
#   agent_start [KYSOD ARGS...]   starts kysod in the foreground (background job) on
#                                 $T_DIR/agent.sock; waits until it serves
#   agent_stop                    SIGTERM and wait; fails if it did not exit cleanly
#   agent_alive                   true while the agent process runs
# Uses $BUILD (the build directory), $T_DIR (the test's temp dir).

agent_start() {
	export KYSO_SOCKET=$T_DIR/agent.sock
	rm -f "$KYSO_SOCKET"
	"$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" --log-level debug "$@" \
		>> "$T_DIR/kysod.log" 2>&1 &
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

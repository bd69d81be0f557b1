# tests/lib/tmux.sh — kysod in a private tmux server, its PIN dialog (a real pinentry on
# the window's terminal) read off the screen and answered with keys: pinentry_tty.sh and
# i18n_pinentry_tty.sh. Needs common.sh; the test sets id, dig and DESC (what sign_bg
# signs) and starts kysod in the session "kyso" itself (its environment differs).

# tmux_init [TMUX_OPTION...]: TM, the tmux command of this test's server; at exit kysod
# (AGENT_PID) is stopped and the server killed
tmux_init() {
	TM=(tmux "$@" -S "$T_DIR/tmux.sock" -f /dev/null)
	trap tmux_cleanup EXIT
}
tmux_cleanup() {
	if [ -n "${AGENT_PID:-}" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$AGENT_PID" 2>/dev/null
	fi
	AGENT_PID=
	"${TM[@]}" kill-server >/dev/null 2>&1
	t_cleanup
}
# q WORD: WORD quoted for the shell command tmux runs
q() { printf '%q' "$1"; }
screen() { "${TM[@]}" capture-pane -p -t kyso; }
# the screen as one line: box drawing gone, white space squeezed
flat() { screen | python3 -c 'import re,sys; print(re.sub(r"\s+", " ", re.sub("[\u2500-\u257f]", " ", sys.stdin.read())).strip())'; }
# sign_bg: a Sign without a PIN in the background, its pid in P (reply then waits for it)
sign_bg() {
	# a clean screen first, so that only the new dialog is on it
	"${TM[@]}" send-keys -R -t kyso \; clear-history -t kyso
	python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"$DESC\"}" \
		> "$T_DIR/reply.tmp" &
	P=$!
}
# wait_dialog [PROMPT]: until the dialog of the Sign P, with PROMPT (an ERE, default
# 'PIN:'), is on the screen (10 s at most)
wait_dialog() {
	for _ in $(seq 100); do
		flat | grep -qF "(pid $P)" && flat | grep -qE "${1:-PIN:}" && return 0
		sleep 0.1
	done
	return 1
}
# reply: waits for the Sign P (its reply in R)
reply() { wait "$P"; R=$(cat "$T_DIR/reply.tmp"); }

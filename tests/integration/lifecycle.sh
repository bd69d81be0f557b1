#!/usr/bin/env bash
# kysod's life: socket directory 0700 and socket 0600, clean SIGTERM, a stale socket
# replaced and a live one refused, unsafe directories refused, detaching when ready,
# systemd socket activation, the default path, modules registered with p11-kit, and its
# command line.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

tok_init "$T_DIR/tok" && tok_create life && tok_key life 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
M=$SOFTHSM_MODULE

# the default path under $XDG_RUNTIME_DIR, created 0700 / 0600
export XDG_RUNTIME_DIR=$T_DIR/xdg
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset KYSO_SOCKET
"$BUILD/kysod" -f -m "$M" >> "$T_DIR/kysod.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do [ -S "$XDG_RUNTIME_DIR/kyso/agent.sock" ] && $K info >/dev/null 2>&1 && break; sleep 0.05; done
t_ok "default socket is \$XDG_RUNTIME_DIR/kyso/agent.sock" test -S "$XDG_RUNTIME_DIR/kyso/agent.sock"
t_eq "its directory is mode 700" 700 "$(stat -c %a "$XDG_RUNTIME_DIR/kyso")"
t_eq "the socket is mode 600" 600 "$(stat -c %a "$XDG_RUNTIME_DIR/kyso/agent.sock")"
t_ok "kyso finds it without KYSO_SOCKET" $K certs
out=$("$BUILD/kysod" -f -m "$M" 2>&1); rc=$?
t_eq "a second agent on the same socket exits 1" 1 "$rc"
t_match "  ... saying another agent serves it" 'another agent is already serving' "$out"
KYSO_SOCKET=$XDG_RUNTIME_DIR/kyso/agent.sock
t_agent_stops

# idle means idle: with an event source (the test module's blocking C_WaitForSlotEvent)
# no thread of the agent wakes while nobody calls; a module without events is polled
. "$T_TOP/tests/lib/mock.sh"
switches() {
	cat /proc/"$AGENT_PID"/task/*/status 2>/dev/null |
		awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {n += $2} END {print n + 0}'
}
mock_env "$T_DIR/mock" && mock_slot 1 life
agent_start --module "$MOCK_MODULE" || t_flunk "start kysod on the test module"
t_match "  (the module's slot events are used)" '"events":"slot-events"' \
	"$(python3 "$T_TOP/tests/lib/vcall.py" call io.kyso.Agent.ListModules)"
$K certs >/dev/null 2>&1
sleep 1
before=$(switches)
sleep 2
after=$(switches)
t_ok "the agent runs (its threads are counted)" test "$before" -gt 0
t_eq "an idle agent with slot events does not wake up (context switches of all threads over 2 s)" \
	"$before" "$after"
t_agent_stops
mock_env "$T_DIR/mock2" && mock_slot 1 life && mock_events off
agent_start --module "$MOCK_MODULE" || t_flunk "start kysod on the test module (no events)"
before=$(switches)
sleep 2.5
after=$(switches)
t_ok "  ... while a module without events (and no USB here) is polled: it wakes ($before -> $after)" \
	test "$after" -gt "$before"
t_agent_stops

# a stale socket (agent killed) is replaced
export KYSO_SOCKET=$T_DIR/s/agent.sock
mkdir -m 700 "$T_DIR/s"
agent_start --module "$M"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
t_ok "a killed agent leaves its socket behind" test -S "$KYSO_SOCKET"
agent_start --module "$M"
t_ok "a new agent replaces the stale socket and serves" $K tokens
t_agent_stops

# unsafe or wrong places are refused with a sentence
mkdir -m 777 "$T_DIR/open"
out=$("$BUILD/kysod" -f -s "$T_DIR/open/a.sock" -m "$M" 2>&1)
t_match "a socket directory writable by others is refused" 'writable by others.*chmod 700' "$out"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 "$T_DIR/theirs"; chown 65534:65534 "$T_DIR/theirs"
	out=$("$BUILD/kysod" -f -s "$T_DIR/theirs/a.sock" -m "$M" 2>&1)
	t_match "a socket directory of another user is refused" 'belongs to uid 65534' "$out"
else
	t_skip "a socket directory of another user is refused" "needs root to chown"
fi
touch "$T_DIR/s/file"
out=$("$BUILD/kysod" -f -s "$T_DIR/s/file" -m "$M" 2>&1)
t_match "a path that is not a socket is left alone" 'exists and is not a socket' "$out"
t_ok "  ... and not removed" test -f "$T_DIR/s/file"
out=$("$BUILD/kysod" -f -s relative.sock -m "$M" 2>&1)
t_match "a relative socket path is refused" 'must be absolute' "$out"
out=$("$BUILD/kysod" -f -s "$T_DIR/s/b.sock" -m /nonexistent/module.so 2>&1); rc=$?
t_eq "a module that cannot load: exit 1" 1 "$rc"
t_match "  ... naming the module" 'cannot load PKCS#11 module /nonexistent/module.so' "$out"

# without --foreground: returns once serving, then runs detached
"$BUILD/kysod" -s "$KYSO_SOCKET" -m "$M"; rc=$?
t_eq "kysod without --foreground returns 0 once ready" 0 "$rc"
t_ok "  ... and serves at once" $K certs
pid=$(pgrep -f "kysod -s $KYSO_SOCKET" | head -1)
t_ok "  ... from a detached process" test -n "$pid"
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
t_fail "  ... which stops on SIGTERM" kill -0 "$pid"
t_fail "  ... and removes its socket" test -e "$KYSO_SOCKET"
"$BUILD/kysod" -s "$T_DIR/open/x.sock" -m "$M" 2>"$T_DIR/err"; rc=$?
t_eq "a detaching kysod that cannot start exits 1" 1 "$rc"
t_match "  ... and says why, on the terminal" '^kysod: socket directory .* is writable by others' "$(cat "$T_DIR/err")"

# systemd socket activation: the socket is made by the caller and passed as fd 3
python3 - "$T_DIR/act.sock" "$BUILD/kysod" "$M" >> "$T_DIR/kysod.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execve(sys.argv[2], [sys.argv[2], "--foreground", "--module", sys.argv[3]], env)
PY
AGENT_PID=$!
export KYSO_SOCKET=$T_DIR/act.sock
for _ in $(seq 100); do $K info >/dev/null 2>&1 && break; sleep 0.05; done
t_ok "socket activation: kysod serves the socket passed in LISTEN_FDS" $K certs
t_match "  ... and says so" 'using 1 socket\(s\) passed by systemd' "$(cat "$T_DIR/kysod.log")"
agent_stop
t_ok "  ... and leaves that socket to its owner at exit" test -S "$T_DIR/act.sock"

# no --module: the modules registered with p11-kit (softhsm2 is, on Debian)
export KYSO_SOCKET=$T_DIR/s/reg.sock
if [ -f /usr/share/p11-kit/modules/softhsm2.module ]; then
	agent_start
	t_match "without --module the p11-kit registered modules load (SoftHSM token seen)" \
		'life' "$($K tokens)"
	t_fail "  ... but not the trust-policy module's CA anchors" grep -q 'p11-kit-trust' <(echo "$($K tokens --json)")
	t_agent_stops
else
	t_skip "p11-kit registered modules" "softhsm2 is not registered with p11-kit here"
fi

# a client does not talk to an agent of another user (a socket planted in /tmp)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir -m 755 "$T_DIR/other"; chown 65534:65534 "$T_DIR/other"; chmod 755 "$T_DIR"
	setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR \
		XDG_STATE_HOME="$T_DIR/other/state" XDG_CONFIG_HOME="$T_DIR/other/config" \
		"$BUILD/kysod" -f -s "$T_DIR/other/a.sock" -m "$M" >> "$T_DIR/other.log" 2>&1 &
	otherpid=$!
	for _ in $(seq 100); do [ -S "$T_DIR/other/a.sock" ] && break; sleep 0.05; done
	chmod 666 "$T_DIR/other/a.sock" 2>/dev/null
	out=$(KYSO_SOCKET=$T_DIR/other/a.sock $K tokens 2>&1); rc=$?
	t_eq "a client refuses an agent of another uid (exit 3)" 3 "$rc"
	t_match "  ... saying whose it is" 'runs as uid 65534, not as you' "$out"
	kill -TERM "$otherpid"; wait "$otherpid" 2>/dev/null
	chmod 700 "$T_DIR"
else
	t_skip "a client refuses an agent of another uid" "needs root and setpriv"
fi

# the command line
t_match "kysod --help" 'Usage: kysod' "$("$BUILD/kysod" --help)"
t_match "kysod --version" '^kysod [0-9]+\.[0-9]+\.[0-9]+$' "$("$BUILD/kysod" --version)"
"$BUILD/kysod" --bogus >/dev/null 2>&1
t_eq "unknown option: exit 2" 2 $?
"$BUILD/kysod" --log-level loud >/dev/null 2>&1
t_eq "unknown log level: exit 2" 2 $?
"$BUILD/kysod" extra >/dev/null 2>&1
t_eq "stray argument: exit 2" 2 $?
t_done

#!/usr/bin/env bash
# kysod in a user namespace of its own, as kysod.service runs it: the kernel does not let
# it read its callers' /proc/PID/exe, so it asks kysod-whois (agent/whois.h) — off its
# event loop (agent/whois_async.h). With the real kysod-whois the audit record names the
# caller. With a kysod-whois that takes the question and never answers, a connection
# waits (unread) until the question times out (WHOIS_TIMEOUT_MS, 1 s), then is served as
# program '?', while the loop goes on serving the clients already connected: the old
# loop waited for kysod-whois itself, and served nobody meanwhile.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

if ! unshare --user --map-root-user true 2>/dev/null; then
	t_skip "kysod-whois asked off the loop" "unshare --user is not allowed here"
	t_done; exit 0
fi
tok_init "$T_DIR/tok" && tok_create named && tok_key named 01 ec:p256 k ||
	{ t_flunk "make the test token"; t_done; exit 1; }
cert=$(cert_id "$TOK_DIR/k.crt.pem")
doc=$T_DIR/doc; echo "the orders" > "$doc"
WPID=
trap 'kill $WPID 2>/dev/null; t_cleanup' EXIT
wait_for() {  # CONDITION: until it holds, 30 s at most
	for _ in $(seq 1 600); do eval "$1" && return 0; sleep 0.05; done
	return 1
}

# ---- the real kysod-whois
"$BUILD/kysod-whois" --socket "$T_DIR/whois.sock" 2>> "$T_DIR/whois.log" &
WPID=$!
wait_for '[ -S "$T_DIR/whois.sock" ]' || { t_flunk "start kysod-whois"; t_done; exit 1; }
export KYSO_WHOIS_SOCKET=$T_DIR/whois.sock
AGENT_WRAP=(unshare --user --map-root-user)
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod in a user namespace"; t_done; exit 1; }
echo "$TOK_PIN" | $K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/s1" --pin-stdin
t_eq "kysod in a user namespace of its own signs" 0 $?
t_match "  ... it could not read its callers' /proc/PID/exe: it asked kysod-whois" \
	"kysod-whois is asked for its program" "$(cat "$T_DIR/kysod.log")"
t_match "  ... and the audit record names the caller, as kysod-whois read it" \
	"\"exe\":\"$BUILD/kyso\".*\"result\":\"granted\"" "$(cat "$XDG_STATE_HOME/kyso/audit.log")"
t_agent_stops
kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=

# ---- a kysod-whois that takes questions and never answers
rm -f "$T_DIR/whois.sock"
python3 - "$T_DIR/whois.sock" <<'PYEOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8)
held = []
while True:
    c, _ = s.accept()
    held.append(c)          # reads nothing, answers nothing
PYEOF
WPID=$!
wait_for '[ -S "$T_DIR/whois.sock" ]' || { t_flunk "start the silent kysod-whois"; t_done; exit 1; }
: > "$T_DIR/kysod.log"
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
t_match "a kysod-whois that never answers: the connection is served once the question timed out, as '?'" \
	"kysod-whois did not answer within 1000 ms" "$(cat "$T_DIR/kysod.log")"
# C0, connected (and named '?') first, calls GetInfo while C1 waits for its answer
mkfifo "$T_DIR/go"
python3 - "$KYSO_SOCKET" "$T_DIR/go" > "$T_DIR/c0.out" 2>&1 <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
def call():
    s.sendall(b'{"method":"org.varlink.service.GetInfo"}\0')
    buf = b""
    while not buf.endswith(b"\0"):
        buf += s.recv(65536)
    return buf
call(); print("first", flush=True)
open(sys.argv[2]).read()           # C1 is waiting for its answer now
call(); print("second", flush=True)
PYEOF
c0=$!
t_ok "  ... C0 is served (named '?' after the wait)" wait_for 'grep -q first "$T_DIR/c0.out"'
$K info > "$T_DIR/c1.out" 2>&1 &
c1=$!
t_ok "  ... C1 connects and waits for kysod-whois" \
	wait_for 'grep -q "connected: pid $c1; kysod-whois is asked" "$T_DIR/kysod.log"'
echo go > "$T_DIR/go"
t_ok "  ... meanwhile the loop serves C0's next call" wait_for 'grep -q second "$T_DIR/c0.out"'
t_eq "  ... before C1's question is over (the loop does not wait for kysod-whois)" 0 \
	"$(grep -c "connected: pid $c1, " "$T_DIR/kysod.log")"
wait "$c1"
t_eq "  ... then C1 is served too, as '?'" "0 1" \
	"$? $(grep -c "connected: pid $c1, ?" "$T_DIR/kysod.log")"
wait "$c0"
t_ok "agent still alive" agent_alive
t_agent_stops
t_done

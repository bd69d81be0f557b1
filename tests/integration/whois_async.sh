#!/usr/bin/env bash
# kysod in a user namespace of its own, as kysod.service runs it: the kernel does not let
# it read its callers' /proc/PID/exe, so it asks kysod-whois (agent/whois.h) — off its
# event loop (agent/whois_async.h). With the real kysod-whois the audit record names the
# caller. With a kysod-whois that holds a question (tests/tools/fake_whois.py) the loop
# goes on serving the clients already connected, and the held one is named once the
# answer comes (the old loop waited for kysod-whois itself and served nobody meanwhile);
# one that never answers costs a connection its name ('?') after the timeout; one that
# accepts no connection at all holds up nothing, not even kysod's exit. The caller's
# parent (the browser of a web page's call) is asked only for a call with an origin.
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
# fake_whois MODE: the test's kysod-whois on $T_DIR/whois.sock (WPID), once it listens
fake_whois() {
	[ -n "$WPID" ] && { kill "$WPID"; wait "$WPID" 2>/dev/null; }
	rm -f "$T_DIR/whois.sock"
	python3 "$T_TOP/tests/tools/fake_whois.py" "$1" "$T_DIR/whois.sock" "$T_DIR" \
		2>> "$T_DIR/whois.log" &
	WPID=$!
	t_wait eval '[ -S "$T_DIR/whois.sock" ]'
}

# ---- the real kysod-whois
"$BUILD/kysod-whois" --socket "$T_DIR/whois.sock" 2>> "$T_DIR/whois.log" &
WPID=$!
t_wait eval '[ -S "$T_DIR/whois.sock" ]' || { t_flunk "start kysod-whois"; t_done; exit 1; }
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

# ---- a kysod-whois that holds a question until told: the loop serves the others meanwhile
fake_whois answer || { t_flunk "start the test's kysod-whois"; t_done; exit 1; }
: > "$T_DIR/kysod.log"
export KYSO_WHOIS_TIMEOUT_MS=60000   # the hold ends when the test says, not by time
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
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
t_ok "C0 connects, is named and served" t_wait eval 'grep -q first "$T_DIR/c0.out"'
touch "$T_DIR/hold"
$K info > "$T_DIR/c1.out" 2>&1 &
c1=$!
t_ok "  ... C1 connects; kysod-whois holds its question" \
	t_wait eval 'grep -qx "$c1" "$T_DIR/held" 2>/dev/null'
echo go > "$T_DIR/go"
t_ok "  ... meanwhile the loop serves C0's next call" t_wait eval 'grep -q second "$T_DIR/c0.out"'
t_eq "  ... while C1 still waits for its name (not read yet)" 0 \
	"$(grep -c "connected: pid $c1, " "$T_DIR/kysod.log")"
touch "$T_DIR/release"
wait "$c1"
t_eq "  ... once kysod-whois answers, C1 is named and served" "0 1" \
	"$? $(grep -c "connected: pid $c1, $BUILD/kyso" "$T_DIR/kysod.log")"
wait "$c0"
t_agent_stops
unset KYSO_WHOIS_TIMEOUT_MS
rm -f "$T_DIR/hold" "$T_DIR/release"

# ---- the caller's parent is asked of kysod-whois only for a web page's call
: > "$T_DIR/kysod.log"
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
: > "$T_DIR/asked"
for i in 1 2 3; do $K tokens > /dev/null 2>&1; done
t_eq "three clients without a web page: kysod-whois is asked for their programs only" \
	"3 0" "$(grep -c '^W$' "$T_DIR/asked") $(grep -c '^P$' "$T_DIR/asked")"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
# the caller's parent is a shell, as a browser is for its host (bash forks for the call)
out=$(/usr/bin/bash -c '/usr/bin/python3 "$0" call io.kyso.Agent.Sign "$1"; true' \
	"$T_TOP/tests/lib/vcall.py" \
	"{\"certificate\":\"$cert\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"origin\":\"https://vanban.example.vn\"}")
t_match "a web page's call (refused: its page is not in web_origins)" "PolicyDenied" "$out"
t_eq "  ... kysod-whois is asked once for the caller's parent" 1 "$(grep -c '^P$' "$T_DIR/asked")"
t_match "  ... the record names the page and the browser (the caller's parent), as kysod-whois read it" \
	"\"origin\":\"https://vanban.example.vn\",\"browser\":\"$(readlink -f /usr/bin/bash)\".*\"result\":\"io.kyso.Agent.PolicyDenied\"" \
	"$(tail -n 1 "$XDG_STATE_HOME/kyso/audit.log")"
t_ok "  ... kysod goes on serving" $K tokens
t_agent_stops

# ---- a kysod-whois that takes questions and never answers
fake_whois silent || { t_flunk "start the silent kysod-whois"; t_done; exit 1; }
: > "$T_DIR/kysod.log"
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
$K info > /dev/null 2>&1
t_eq "a kysod-whois that never answers: the connection is served once its question timed out" \
	0 $?
t_match "  ... named '?', and kysod says why" \
	"cannot tell which program connects .*kysod-whois did not answer within 1000 ms" \
	"$(cat "$T_DIR/kysod.log")"
t_agent_stops

# ---- a kysod-whois that accepts no connection (its backlog full): nothing waits for it
fake_whois deaf || { t_flunk "start the deaf kysod-whois"; t_done; exit 1; }
: > "$T_DIR/kysod.log"
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
ok=0
for i in 1 2 3 4 5 6; do $K info > /dev/null 2>&1 && ok=$((ok + 1)); done
t_eq "a kysod-whois that accepts nothing: six clients one after another are served" 6 "$ok"
t_ok "  ... as '?'" grep -q "connected: pid [0-9]*, ?" "$T_DIR/kysod.log"
t_agent_stops
t_done

#!/usr/bin/env bash
# Hostile and broken clients: malformed JSON, wrong shapes and types, unknown fields and
# methods, oversized messages, half-sent messages, vanishing clients, many clients at once,
# another uid. Each gets a clear error or a closed connection; the agent keeps serving.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py

tok_init "$T_DIR/tok" && tok_create main && tok_key main 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
echo "$TOK_PIN" | $K login --token main --pin-stdin >/dev/null 2>&1
id=$(cert_id "$TOK_DIR/key1.crt.pem")
dig=$(printf 'x' | openssl dgst -sha256 -binary | base64 -w0)

raw() { printf "$1" | python3 "$VCALL" raw; }
call() { python3 "$VCALL" call "$@"; }

r=$(raw '{"method": "io.kyso.Agent.ListTokens", \0{"method":"io.kyso.Agent.ListTokens"}\0')
t_match "malformed JSON → ProtocolError naming line and column" \
	'^\{"error":"io.kyso.Agent.ProtocolError".*malformed JSON at line 1, column' "$(echo "$r" | sed -n 1p)"
t_match "  ... and the connection still serves the next call" '^\{"parameters":\{"tokens"' "$(echo "$r" | sed -n 2p)"
t_match "a JSON array is not a call" 'ProtocolError.*must be a JSON object' "$(raw '[1,2]\0')"
t_match "a JSON string is not a call" 'ProtocolError' "$(raw '"hello"\0')"
t_match "no method → ProtocolError" "ProtocolError.*has no 'method'" "$(raw '{}\0')"
t_match "method not a string → ProtocolError" "'method' must be a string" "$(raw '{"method":5}\0')"
t_match "parameters not an object → ProtocolError" "'parameters' must be a JSON object" \
	"$(raw '{"method":"io.kyso.Agent.ListTokens","parameters":[]}\0')"
t_match "unknown top-level field → ProtocolError naming it" "unknown field 'bogus'" \
	"$(raw '{"method":"io.kyso.Agent.ListTokens","bogus":1}\0')"
t_match "duplicate keys are refused" 'ProtocolError.*a duplicate key' \
	"$(raw '{"method":"io.kyso.Agent.ListTokens","method":"io.kyso.Agent.Lock"}\0')"
t_match "unknown method → MethodNotFound naming it" \
	'"error":"org.varlink.service.MethodNotFound","parameters":\{"method":"io.kyso.Agent.Explode"' \
	"$(call io.kyso.Agent.Explode)"
t_match "unknown interface → InterfaceNotFound" \
	'"error":"org.varlink.service.InterfaceNotFound","parameters":\{"interface":"com.evil.X"' "$(call com.evil.X.Y)"
t_match "unknown parameter → InvalidParameter naming it" \
	'"error":"org.varlink.service.InvalidParameter","parameters":\{"parameter":"colour"' \
	"$(call io.kyso.Agent.ListTokens '{"colour":"red"}')"
t_match "wrong type → InvalidParameter naming it" '"parameter":"certificate".*must be a string' \
	"$(call io.kyso.Agent.Sign '{"certificate":5,"algorithm":"ecdsa-sha256","digest":"AA=="}')"
t_match "missing required parameter → InvalidParameter naming it" '"parameter":"algorithm".*required' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"digest\":\"$dig\"}")"
t_match "digest not base64 → InvalidParameter" '"parameter":"digest".*not valid base64' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"!!!\"}")"
t_match "both digest and data → InvalidParameter" 'exactly one of' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"data\":\"YQ==\"}")"
t_match "neither digest nor data → InvalidParameter" 'exactly one of' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\"}")"
r=$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha384\",\"digest\":\"$dig\"}")
t_match "digest of the wrong length → InvalidDigest with the lengths" \
	'"error":"io.kyso.Agent.InvalidDigest","parameters":\{"expected_length":48,"actual_length":32' "$r"
r=$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"rsa-pss-sha256\",\"digest\":\"$dig\"}")
t_match "RSA algorithm on an EC key → UnsupportedAlgorithm with the supported list" \
	'UnsupportedAlgorithm.*"supported":\["ecdsa-sha256","ecdsa-sha384","ecdsa-sha512"\]' "$r"
t_match "SHA-1 is refused" 'UnsupportedAlgorithm.*SHA-1 signatures are refused' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha1\",\"digest\":\"$dig\"}")"
t_match "unknown certificate → NoSuchCertificate" '"error":"io.kyso.Agent.NoSuchCertificate","parameters":\{"certificate":"0123456789abcdef' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"0123456789abcdef\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}")"
t_match "a certificate name that is neither id nor URI → InvalidParameter" '"parameter":"certificate"' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"my cert\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}")"
t_match "bad signature_format → InvalidParameter" '"parameter":"signature_format"' \
	"$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"signature_format\":\"pem\"}")"
t_match "a string with a \\u0000 escape is refused" 'ProtocolError.*NUL. escape in a string' \
	"$(call io.kyso.Agent.ListCertificates '{"token":"ma\u0000in"}')"

# client text with multi-byte UTF-8, longer than what an error quotes: cut between two
# characters (half a character is not UTF-8, and the message would be lost)
e40=$(printf 'é%.0s' $(seq 40))
msg() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().split("\n")[0])["parameters"].get("message","NO MESSAGE"))'; }
r=$(raw "{\"method\":\"io.kyso.Agent.ListTokens\",\"parameters\":{\"a$e40\":1}}\0")
t_match "an unknown parameter of 40 × é: InvalidParameter with its message" \
	"^unknown parameter 'aé{31}'\$" "$(printf '%s' "$r" | msg)"
r=$(raw "{\"method\":\"io.kyso.Agent.Explode$e40$e40\"}\0")
t_match "  ... an unknown method: MethodNotFound with its message" \
	"^no method 'io.kyso.Agent.Explodeé+'\$" "$(printf '%s' "$r" | msg)"
r=$(raw "{\"method\":\"x$e40$e40.Y\"}\0")
t_match "  ... an unknown interface: InterfaceNotFound with its message" \
	"^no interface 'xé+'\$" "$(printf '%s' "$r" | msg)"
r=$(raw "{\"method\":\"io.kyso.Agent.ListTokens\",\"x$e40\":1}\0")
t_match "  ... an unknown field of the call: ProtocolError with its message" \
	"^unknown field 'xé+' in the call\$" "$(printf '%s' "$r" | msg)"
r=$(call io.kyso.Agent.Sign "{\"certificate\":\"$e40$e40$e40$e40\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"$e40$e40$e40$e40$e40$e40\"}")
t_match "  ... a certificate that cannot be: InvalidParameter with its message" \
	"\"parameter\":\"certificate\",\"message\":\"[^\"]+\"" "$r"
r=$(call io.kyso.Agent.ListCertificates "{\"token\":\"$e40\"}")
t_match "  ... an unknown token: NoSuchToken with its message" \
	"\"message\":\"no token with id, serial or label 'é+' is present\"" "$r"
t_ok "  ... and every line of the agent's log is UTF-8" python3 -c '
import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$T_DIR/kysod.log"

# a malformed PIN must not come back in the error, nor reach the log
r=$(printf '{"method":"io.kyso.Agent.Login","parameters":{"token":"main","pin":"Se3cr3t\tPIN"}}\0' | python3 "$VCALL" raw)
t_match "a control character in a string → ProtocolError with line and column" 'malformed JSON at line 1, column [0-9]+: invalid syntax' "$r"
t_fail "  ... the error does not quote the PIN" grep -q Se3cr3t <<<"$r"
t_fail "  ... nor does the log" grep -q Se3cr3t "$T_DIR/kysod.log"
r=$(printf '{"method":"io.kyso.Agent.Login","parameters":{"token":"main","pin":"Se3cr3t\\qPIN"}}\0' | python3 "$VCALL" raw)
t_fail "an unknown escape next to a PIN is not quoted either" grep -q Se3cr3t <<<"$r$(cat "$T_DIR/kysod.log")"

# oneway: no reply; pipelined calls: replies in order
r=$(raw '{"method":"io.kyso.Agent.ListTokens","oneway":true}\0{"method":"org.varlink.service.GetInfo"}\0{"method":"io.kyso.Agent.ListCertificates"}\0')
t_eq "oneway call gets no reply; the two others get theirs" 2 "$(echo "$r" | grep -c parameters)"
t_match "  ... in order" 'vendor.*\n?.*' "$(echo "$r" | sed -n 1p)"
t_match "  ... in order (second)" 'certificates' "$(echo "$r" | sed -n 2p)"

# oversized: over 1 MiB without a NUL → MessageTooLarge, then the agent closes
r=$(python3 -c 'import sys; sys.stdout.write("{\"method\":\"io.kyso.Agent.Sign\",\"parameters\":{\"data\":\"" + "A"*(1100*1024))' | python3 "$VCALL" raw)
t_match "oversized message → MessageTooLarge with the limit" '"error":"io.kyso.Agent.MessageTooLarge","parameters":\{"limit":1048575' "$r"
t_match "  ... and the connection is closed" 'CLOSED' "$r"
r=$(python3 -c 'import sys; sys.stdout.write("{\"method\":\"org.varlink.service.GetInfo\",\"x\":\"" + "A"*(1000*1024) + "\"}\0")' | python3 "$VCALL" raw)
t_match "a client that half-closes after its call still gets the reply, then EOF" 'CLOSED' "$r"
t_match "a large message under the cap is parsed (and refused for its field)" "unknown field 'x'" "$r"

# half a message, then gone; a call then gone; garbage bytes
python3 "$VCALL" half
python3 "$VCALL" vanish io.kyso.Agent.ListCertificates '{}'
head -c 4096 /dev/urandom | tr -d '\0' | python3 "$VCALL" raw >/dev/null
printf '\0\0\0' | python3 "$VCALL" raw >/dev/null
t_ok "after half messages, vanishing clients and garbage, the agent serves" $K tokens

# many clients at once: 4 processes with 16 connections each
pids=()
for i in 1 2 3 4; do
	python3 "$VCALL" parallel 16 io.kyso.Agent.ListCertificates > "$T_DIR/par.$i" &
	pids+=($!)
done
wait "${pids[@]}"
t_eq "64 simultaneous clients in 4 processes all served" 64 "$(cat "$T_DIR"/par.* | paste -sd+ | bc)"
# one process may hold 32 connections (each served while all are held); the 33rd is told
# why it is refused
r=$(python3 - "$KYSO_SOCKET" <<'PY'
import socket, sys
held, served = [], 0
for _ in range(32):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
for s in held:
    s.settimeout(10)
    s.sendall(b'{"method":"org.varlink.service.GetInfo"}\0')
    if b'"vendor"' in s.recv(4096):
        served += 1
print("served", served)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.settimeout(10)
print(s.recv(4096).replace(b"\0", b"\n").decode(errors="replace"))
PY
)
t_match "one process holding 32 connections is served on all of them" 'served 32' "$r"
t_match "  ... the 33rd is told TooManyConnections" '"error":"io.kyso.Agent.TooManyConnections"' "$r"

# a client that sends part of a message and then nothing is not held forever (30 s)
python3 - "$KYSO_SOCKET" > "$T_DIR/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"method":"io.kyso.Agent.ListTo')
s.settimeout(45)
data = b''
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    print("TIMEOUT")
print(data.replace(b"\0", b"\n").decode(errors="replace"))
PY
slowpid=$!
# a subscriber that leaves an unfinished message is closed the same way: it gets the
# error and no more events
python3 - "$KYSO_SOCKET" > "$T_DIR/slowsub.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"method":"io.kyso.Agent.Subscribe","more":true}\0')
s.settimeout(45)
data = b''
while b'\0' not in data:
    data += s.recv(4096)
s.sendall(b'{"method":"io.kyso.Agent.ListTo')
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            data += b'CLOSED'
            break
        data += chunk
except socket.timeout:
    data += b'TIMEOUT'
print(data.replace(b"\0", b"\n").decode(errors="replace"))
PY
slowsubpid=$!

# a client that pipelines a megabyte of calls and never reads does not make others wait
python3 - "$KYSO_SOCKET" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
msg = b'{"method":"io.kyso.Agent.ListCertificates"}\0'
s.settimeout(5)  # the agent stops reading from a client that reads nothing: do not block
try:
    s.sendall(msg * ((1024 * 1024 - 1) // len(msg)))
except OSError:
    pass
time.sleep(8)
PY
floodpid=$!
sleep 1
: > "$T_DIR/order"
( $K tokens >/dev/null && echo served >> "$T_DIR/order" ) &
sleep 3
t_eq "while one client floods without reading, another is served" served "$(cat "$T_DIR/order")"
rss=$(awk '/VmRSS/ {print $2}' /proc/$AGENT_PID/status)
t_ok "  ... and the agent buffers little for the flooder (RSS $rss kB < 200 MB)" test "$rss" -lt 200000
wait $floodpid
wait $slowpid
t_match "an unfinished message is answered after 30 s, then closed" 'not finished .no NUL byte. within 30 seconds' "$(cat "$T_DIR/slow.out")"
$K lock >/dev/null  # an event (token-changed) for subscribers still connected
wait $slowsubpid
t_match "a subscriber's unfinished message too: ProtocolError, then closed" \
	'"error":"io.kyso.Agent.ProtocolError".*not finished.*within 30 seconds.*CLOSED' \
	"$(tr '\n' ' ' < "$T_DIR/slowsub.out")"
t_eq "  ... and no event reached it after the error" "" \
	"$(sed -n '/ProtocolError/,$p' "$T_DIR/slowsub.out" | grep '"event"')"

# another uid: open the socket on purpose; SO_PEERCRED still refuses
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$T_DIR"; chmod 666 "$KYSO_SOCKET"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env KYSO_SOCKET="$KYSO_SOCKET" \
		"$K" tokens 2>&1); rc=$?
	chmod 700 "$T_DIR"; chmod 600 "$KYSO_SOCKET"
	t_eq "a client of another uid is refused (exit 3)" 3 "$rc"
	t_match "  ... with a sentence" 'serves only its own user' "$out"
	t_match "  ... and the agent logs the refusal with the uid" 'refused a connection from uid 65534' \
		"$(cat "$T_DIR/kysod.log")"
	chmod 755 "$T_DIR"; chmod 666 "$KYSO_SOCKET"
	n=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$KYSO_SOCKET" <<'PY'
import socket, sys
told = 0
for _ in range(500):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    told += b"PermissionDenied" in s.recv(4096)
    s.close()
print(told)
PY
)
	chmod 700 "$T_DIR"; chmod 600 "$KYSO_SOCKET"
	t_eq "500 more connections of that uid: each is told PermissionDenied" 500 "$n"
	t_ok "  ... but the log gets at most 5 lines a minute about them ($(grep -c 'refused a connection from uid' "$T_DIR/kysod.log"))" \
		test "$(grep -c 'refused a connection from uid' "$T_DIR/kysod.log")" -le 5
else
	t_skip "a client of another uid is refused" "needs root and setpriv to switch uid"
fi

t_ok "agent still alive" agent_alive
t_ok "and still signs" $K sign --cert "$id" --alg ecdsa-sha256 --pin-stdin \
	--digest "$(echo "$dig" | base64 -d | xxd -p -c 64)" <<< "$TOK_PIN"
t_agent_stops
t_done

#!/usr/bin/env bash
# The real card stack with kysod: pcscd + the vpcd virtual reader + our emulated CAC card,
# read by OpenSC's opensc-pkcs11.so in the agent's helper process (under its seccomp
# filter). The agent lists the card's
# certificate and signs (verified by OpenSSL); the card is pulled → token-removed and
# TokenNotPresent; the card comes back → token-added, and signing works again — one agent
# process throughout. Where namespaces cannot be made the test is skipped, never passed.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/cardstack.sh"
VCALL=$T_TOP/tests/lib/vcall.py
SUB=
trap '[ -n "$SUB" ] && kill "$SUB" 2>/dev/null; agent_stop >/dev/null 2>&1; card_stack_stop; t_cleanup' EXIT

if ! why=$(card_stack_possible); then
	t_skip "kysod with a real card stack (pcscd, vpcd, OpenSC)" "$why"
	t_done; exit 0
fi
card_stack_start "$T_DIR/card" || { t_flunk "start the card stack"; t_done; exit 1; }
agent_start --module "$CARD_MODULE" || { t_flunk "start kysod on OpenSC"; t_done; exit 1; }
agent_pid=$AGENT_PID

# waits up to $1 seconds for file $2 to hold $3 lines matching $4
wait_lines() {
	local i
	for i in $(seq $(($1 * 10))); do
		[ "$(grep -cE "$4" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

certs=$(python3 "$VCALL" call io.kyso.Agent.ListCertificates)
cert=$(cert_id "$CARD_CERT_PEM")
t_match "the agent lists the card's certificate" "\"id\":\"$cert\"" "$certs"
t_match "  ... from the OpenSC token" "\"label\":\"$CARD_TOKEN_LABEL\"" \
	"$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
t_match "  ... whose module delivers slot events" '"events":"slot-events"' \
	"$(python3 "$VCALL" call io.kyso.Agent.ListModules)"
# OpenSC runs in kysod's helper process, under its seccomp filter, talking to pcscd
helper=$(agent_helpers)
t_ok "  ... OpenSC runs in a helper process (pid $helper), not in kysod" eval \
	'[ -n "$helper" ] && grep -q opensc-pkcs11 /proc/$helper/maps &&
	 ! grep -q opensc-pkcs11 /proc/$AGENT_PID/maps'
t_match "  ... under its seccomp filter, with no new privileges" \
	$'NoNewPrivs:\t1.*Seccomp:\t2' "$(tr '\n' ' ' < /proc/$helper/status)"

doc=$T_DIR/doc; echo "an order signed on a card" > "$doc"
sign() { echo "$CARD_PIN" | $K sign --cert "$cert" --alg rsa-pkcs1v15-sha256 --in "$doc" --out "$T_DIR/$1" --pin-stdin; }
t_ok "the agent signs with the card" sign s1
t_ok "  ... and OpenSSL verifies it" verify_sig rsa-pkcs1v15-sha256 "$CARD_PUB_PEM" "$T_DIR/s1" "$doc"

timeout 120 python3 "$VCALL" subscribe > "$T_DIR/events" 2>&1 &
SUB=$!
wait_lines 5 "$T_DIR/events" 1 '"event":"subscribed"' || t_flunk "subscribe"

card_pull || t_flunk "pull the card"
t_ok "the card pulled: a token-removed event" wait_lines 10 "$T_DIR/events" 1 '"event":"token-removed"'
r=$(python3 "$VCALL" call io.kyso.Agent.ListTokens)
t_match "  ... and the token is no longer listed" '"tokens":\[\]' "$r"
r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$cert\",\"algorithm\":\"rsa-pkcs1v15-sha256\",\"data\":\"YQ==\",\"pin\":\"$CARD_PIN\"}")
t_match "  ... a Sign for its certificate is refused" '"error":"io.kyso.Agent.NoSuchCertificate"' "$r"

card_insert || t_flunk "insert the card"
t_ok "the card back: a token-added event" wait_lines 15 "$T_DIR/events" 1 '"event":"token-added"'
t_match "  ... and its certificate is listed again" "\"id\":\"$cert\"" \
	"$(python3 "$VCALL" call io.kyso.Agent.ListCertificates)"
t_ok "  ... and the agent signs again (a new login)" sign s2
t_ok "  ... verified by OpenSSL" verify_sig rsa-pkcs1v15-sha256 "$CARD_PUB_PEM" "$T_DIR/s2" "$doc"

# pulled during a signature: the Sign ends with TokenNotPresent, not a generic error
python3 - "$cert" "$CARD_PIN" > "$T_DIR/inflight" 2>&1 <<'PY' &
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["KYSO_SOCKET"])
call = {"method": "io.kyso.Agent.Sign", "parameters": {"certificate": sys.argv[1],
        "algorithm": "rsa-pkcs1v15-sha256", "data": "YQ==", "pin": sys.argv[2]}}
msg = (json.dumps(call) + "\0").encode()
s.settimeout(30)
for i in range(400):
    s.sendall(msg)
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            print("CLOSED"); sys.exit(0)
        buf += chunk
    r = json.loads(buf[:-1])
    if "error" in r:
        print(i, r["error"]); sys.exit(0)
print("all signed")
PY
signer=$!
sleep 0.5
card_pull --nowait
wait "$signer"
r=$(cat "$T_DIR/inflight")
t_match "a card pulled during a stream of signatures ends them with TokenNotPresent or, once gone, NoSuchCertificate" \
	'^[0-9]+ io\.kyso\.Agent\.(TokenNotPresent|NoSuchCertificate)$' "$r"
t_ok "  ... the removal is announced" wait_lines 10 "$T_DIR/events" 2 '"event":"token-removed"'
card_wait_reader absent 10 >/dev/null 2>&1
card_insert || t_flunk "insert the card again"
t_ok "  ... and after re-insertion" wait_lines 15 "$T_DIR/events" 2 '"event":"token-added"'
t_ok "  ... the agent signs again" sign s3
t_ok "  ... verified by OpenSSL" verify_sig rsa-pkcs1v15-sha256 "$CARD_PUB_PEM" "$T_DIR/s3" "$doc"
t_eq "one agent process throughout" "$agent_pid" "$AGENT_PID"
t_ok "  ... still alive" agent_alive
kill "$SUB" 2>/dev/null; wait "$SUB" 2>/dev/null; SUB=
t_agent_stops
t_done

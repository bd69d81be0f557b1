#!/usr/bin/env bash
# p11-kit remoting as a real module that breaks: kysod on p11-kit-client.so talking to a
# `p11-kit server` that exports a SoftHSM token. The server is killed: the module fails
# (CKR_DEVICE_ERROR), the token goes away with an event, the agent retries with backoff —
# not in a hot loop — and when the server is back the agent signs again without restart.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py

. "$T_TOP/tests/lib/p11kit.sh"
p11kit_need "p11-kit remoting"
client_so=$P11KIT_CLIENT

tok_init "$T_DIR/tok" && tok_create remote && tok_key remote 01 ec:p256 rkey ||
	{ t_flunk "make the test token"; t_done; exit 1; }

trap 'p11kit_stop; t_cleanup' EXIT

# waits up to $1 seconds for ListX output (method $2) to match $3
wait_for() {
	local i
	for i in $(seq $(($1 * 10))); do
		python3 "$VCALL" call "$2" 2>/dev/null | grep -Eq "$3" && return 0
		sleep 0.1
	done
	return 1
}

p11kit_start || { t_flunk "start p11-kit server"; t_done; exit 1; }
export P11_KIT_SERVER_ADDRESS=$P11KIT_ADDRESS
agent_start --module "$client_so" || { t_flunk "start kysod on p11-kit-client.so"; t_done; exit 1; }
agent_pid=$AGENT_PID
cert=$(cert_id "$TOK_DIR/rkey.crt.pem")
doc=$T_DIR/doc; echo "remote orders" > "$doc"
sign() { echo "$TOK_PIN" | $K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/$1" --pin-stdin; }

t_ok "through p11-kit remoting the agent signs" sign s1
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/rkey.pub.pem" "$T_DIR/s1" "$doc"

timeout 60 python3 "$VCALL" subscribe > "$T_DIR/events" 2>&1 &
sub=$!
sleep 0.3
p11kit_stop
t_ok "the server killed: the module is reported failing" \
	wait_for 10 io.kyso.Agent.ListModules '"state":"failing"'
t_match "  ... naming the failure" '"error":\{"ckr":"CKR_[A-Z_]+","call":"C_[A-Za-z]+"\}' \
	"$(python3 "$VCALL" call io.kyso.Agent.ListModules)"
t_match "  ... and its token is gone from the list" '"tokens":\[\]' \
	"$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$cert\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}")
t_match "  ... a Sign meanwhile is refused with a clear error" '"error":"io.kyso.Agent.NoSuchCertificate"' "$r"
sleep 4
n=$(grep -c "re-initialised\|still fails\|failed (" "$T_DIR/kysod.log")
t_ok "  ... retried with backoff, not in a hot loop ($n attempts logged in ~5 s)" test "$n" -le 5
t_ok "  ... and the agent still serves other calls" "$K" info

p11kit_start || t_flunk "restart the p11-kit server"
t_ok "the server back: the token returns by itself" \
	wait_for 40 io.kyso.Agent.ListTokens '"label":"remote"'
t_match "  ... the module is ok again" '"state":"ok","events":"[a-z-]+","tokens":1,"failures":0' \
	"$(python3 "$VCALL" call io.kyso.Agent.ListModules)"
t_ok "  ... and the agent signs again (new login) without restart" sign s2
t_ok "  ... verified by OpenSSL" verify_sig ecdsa-sha256 "$TOK_DIR/rkey.pub.pem" "$T_DIR/s2" "$doc"
t_eq "  ... the same agent process" "$agent_pid" "$AGENT_PID"
kill "$sub" 2>/dev/null; wait "$sub" 2>/dev/null
t_match "subscribers saw the token leave" '"event":"token-removed"' "$(cat "$T_DIR/events")"
t_match "  ... and come back" '"event":"token-removed".*"event":"token-added"' "$(tr -d '\n' < "$T_DIR/events")"
t_agent_stops
t_done

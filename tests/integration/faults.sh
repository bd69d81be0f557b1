#!/usr/bin/env bash
# Token failures and slowness through the fault module wrapping SoftHSM: TokenError with
# the CKR name, TokenNotPresent, recovery without restart; a slow token delays neither
# listings, nor another token, nor another client (ordering assertions, no timings);
# a client that vanishes during a slow Sign harms nobody.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py

tok_init "$T_DIR/tok" && tok_create fast && tok_key fast 01 ec:p256 fastkey &&
	tok_create slow && tok_key slow 02 ec:p256 slowkey ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
export KYSO_FAULTY_MODULE=$SOFTHSM_MODULE KYSO_FAULTY_CONTROL=$T_DIR/rules
: > "$T_DIR/rules"
agent_start --module "$BUILD/tests/libkyso-faulty.so" || { t_flunk "start kysod"; t_done; exit 1; }
for t in fast slow; do echo "$TOK_PIN" | $K login --token $t --pin-stdin >/dev/null 2>&1; done

fast=$(cert_id "$TOK_DIR/fastkey.crt.pem")
slow=$(cert_id "$TOK_DIR/slowkey.crt.pem")
doc=$T_DIR/doc; echo "orders of the day" > "$doc"
sign_fast() { $K sign --cert "$fast" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/$1"; }

echo "C_Sign fail CKR_DEVICE_ERROR fast" > "$T_DIR/rules"
r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$fast\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}")
t_match "device error → TokenError" '"error":"io.kyso.Agent.TokenError"' "$r"
t_match "  ... naming the CKR code and the call" '"ckr":"CKR_DEVICE_ERROR","call":"C_Sign"' "$r"
sign_fast s1 2>"$T_DIR/err"
t_eq "kyso sign on a failing token: exit 8" 8 $?
t_match "  ... with a sentence naming the code" 'CKR_DEVICE_ERROR in C_Sign' "$(cat "$T_DIR/err")"

echo "C_Sign fail CKR_DEVICE_REMOVED fast" > "$T_DIR/rules"
r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$fast\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}")
t_match "device removed → TokenNotPresent naming the token" '"error":"io.kyso.Agent.TokenNotPresent".*"token":"[0-9a-f]{16}"' "$r"

: > "$T_DIR/rules"
t_match "after a removal the login is gone" '"logged_in": false' \
	"$(python3 "$VCALL" call io.kyso.Agent.ListTokens | python3 -c 'import json,sys; print(json.dumps([t for t in json.load(sys.stdin)["parameters"]["tokens"] if t["label"]=="fast"][0]))')"
echo "$TOK_PIN" | $K login --token fast --pin-stdin >/dev/null 2>&1
t_ok "the fault gone, the same token logs in and signs again without restart" sign_fast s2
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/fastkey.pub.pem" "$T_DIR/s2" "$doc"

# a slow token: C_Sign on "slow" takes 4 s
echo "C_Sign delay 4000 slow" > "$T_DIR/rules"
: > "$T_DIR/order"
( $K sign --cert "$slow" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/slow.sig" && echo slow-sign >> "$T_DIR/order" ) &
slowpid=$!
sleep 0.5  # let the slow Sign reach the token
$K tokens >/dev/null && echo list-tokens >> "$T_DIR/order"
$K certs >/dev/null && echo list-certs >> "$T_DIR/order"
sign_fast s3 && echo other-token-sign >> "$T_DIR/order"
python3 "$VCALL" call org.varlink.service.GetInfo >/dev/null && echo other-client >> "$T_DIR/order"
wait $slowpid
t_eq "calls issued after a slow Sign finish before it" \
	"list-tokens list-certs other-token-sign other-client slow-sign" "$(tr '\n' ' ' < "$T_DIR/order" | sed 's/ $//')"
t_ok "the slow signature is valid" verify_sig ecdsa-sha256 "$TOK_DIR/slowkey.pub.pem" "$T_DIR/slow.sig" "$doc"

# the same token: a second Sign on the slow token waits its turn (one worker per token)
: > "$T_DIR/order"
( $K sign --cert "$slow" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/a.sig" && echo first >> "$T_DIR/order" ) &
p1=$!
sleep 0.3
( $K sign --cert "$slow" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/b.sig" && echo second >> "$T_DIR/order" ) &
p2=$!
wait $p1 $p2
t_eq "two Signs on one token complete in order" "first second" "$(tr '\n' ' ' < "$T_DIR/order" | sed 's/ $//')"

# a client that sends a slow Sign and vanishes
python3 "$VCALL" vanish io.kyso.Agent.Sign "{\"certificate\":\"$slow\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}"
t_ok "while the vanished client's Sign runs, others are served" $K tokens
sleep 4.5
t_ok "agent alive after the vanished client's Sign completed" agent_alive
: > "$T_DIR/rules"
t_ok "the slow token signs again" $K sign --cert "$slow" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/c.sig"

# SIGTERM while a token hangs in C_Sign: the agent still stops (after a few seconds)
echo "C_Sign delay 20000 slow" > "$T_DIR/rules"
$K sign --cert "$slow" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/d.sig" >/dev/null 2>&1 &
signpid=$!
sleep 0.5
start=$(date +%s)
t_agent_stops
t_ok "  ... without waiting for the hung token ($(( $(date +%s) - start )) s)" test $(( $(date +%s) - start )) -lt 15
t_match "  ... and says it left the token's worker" 'has not answered for 3 s' "$(cat "$T_DIR/kysod.log")"
wait $signpid 2>/dev/null
t_done

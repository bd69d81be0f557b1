#!/usr/bin/env bash
# PINs: required, incorrect (tried exactly once, never retried), locked, Login/Lock, and
# never written to the agent's log. The token is SoftHSM behind tests' fault module, which
# traces every Cryptoki call and can make C_Login answer CKR_PIN_LOCKED.
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py
WRONG=555444

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 &&
	tok_key officer 02 ec:p256 qualified always-auth ||
	{ t_flunk "make the test token"; t_done; exit 1; }
export KYSO_FAULTY_MODULE=$SOFTHSM_MODULE KYSO_FAULTY_CONTROL=$T_DIR/rules \
	KYSO_FAULTY_TRACE=$T_DIR/trace
: > "$T_DIR/rules"
agent_start --module "$BUILD/tests/libkyso-faulty.so" || { t_flunk "start kysod"; t_done; exit 1; }

id=$(cert_id "$TOK_DIR/key1.crt.pem")
doc=$T_DIR/doc; echo "the document" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
sign() {  # [PIN]
	local pin=${1:+,\"pin\":\"$1\"}
	python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"$pin}"
}
logins() { grep -c '^C_Login ' "$T_DIR/trace" || true; }

r=$(sign)
t_match "no PIN, not logged in → PinRequired naming the token" \
	'"error":"io.kyso.Agent.PinRequired".*"token":"[0-9a-f]{16}"' "$r"
t_match "  ... with the PIN flags and a sentence" '"user_pin_count_low":false.*"message":"token .officer. needs the user PIN' "$r"
$K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" </dev/null >/dev/null 2>"$T_DIR/err"
t_eq "kyso sign without PIN and without a terminal: exit 4" 4 $?
t_match "  ... and says to use --pin-stdin" "pin-stdin" "$(cat "$T_DIR/err")"

: > "$T_DIR/trace"
r=$(sign $WRONG)
t_match "wrong PIN → PinIncorrect" '"error":"io.kyso.Agent.PinIncorrect"' "$r"
t_eq "the wrong PIN was tried exactly once (C_Login calls)" 1 "$(logins)"
low=$(pkcs11-tool --module "$SOFTHSM_MODULE" -L 2>/dev/null | grep -c 'user PIN count low')
if [ "$low" -gt 0 ]; then exp=true; else exp=false; fi
t_match "PinIncorrect carries the token's count-low flag ($exp)" "\"user_pin_count_low\":$exp" "$r"
t_match "  ... and the token id and a sentence" '"token":"[0-9a-f]{16}".*"message":"the PIN for token .officer. is incorrect' "$r"
tokflag=$(python3 "$VCALL" call io.kyso.Agent.ListTokens | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["parameters"]["tokens"][0]["user_pin_count_low"]).lower())')
t_eq "ListTokens shows the refreshed count-low flag" "$exp" "$tokflag"

: > "$T_DIR/trace"
echo $WRONG | $K login --token officer --pin-stdin >/dev/null 2>"$T_DIR/err"
t_eq "kyso login with a wrong PIN: exit 4" 4 $?
t_match "  ... says the PIN is incorrect" "incorrect" "$(cat "$T_DIR/err")"
t_eq "  ... and the agent tried it once" 1 "$(logins)"

r=$(sign $TOK_PIN)
t_match "Sign with the right PIN signs" '"signature":' "$r"
r=$(sign)
t_match "the login lasts: the next Sign needs no PIN (a batch, one PIN)" '"signature":' "$r"
t_ok "kyso lock" $K lock
t_match "after Lock the token is logged out" '"logged_in":false' "$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
t_match "after Lock, Sign needs the PIN again" 'PinRequired' "$(sign)"

echo $TOK_PIN | $K login --token officer --pin-stdin >/dev/null 2>&1
t_eq "kyso login --pin-stdin: exit 0" 0 $?
t_match "after Login the token is logged in" '"logged_in":true' "$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
t_ok "kyso sign after login needs no PIN" $K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/s"
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s" "$doc"
$K lock >/dev/null 2>&1
r=$(python3 "$VCALL" call io.kyso.Agent.Login '{"token":"officer"}')
t_match "Login without a PIN on a logged-out token → PinRequired" 'PinRequired' "$r"
echo $TOK_PIN | $K login --token officer --pin-stdin >/dev/null 2>&1
: > "$T_DIR/trace"
r=$(python3 "$VCALL" call io.kyso.Agent.Login "{\"token\":\"officer\",\"pin\":\"$WRONG\"}")
t_match "Login on a logged-in token says so, and does not claim to check the PIN" \
	'"parameters":\{"already_logged_in":true\}' "$r"
t_eq "  ... and does not send the PIN to the token" 0 "$(logins)"
t_match "Login without a PIN on a logged-in token: already_logged_in, no PinRequired" \
	'"parameters":\{"already_logged_in":true\}' "$(python3 "$VCALL" call io.kyso.Agent.Login '{"token":"officer"}')"
out=$($K login --token officer </dev/null 2>&1)
t_match "kyso login on a logged-in token asks for no PIN" 'already logged in' "$out"

# a key with CKA_ALWAYS_AUTHENTICATE: a context-specific login before every signature
qid=$(cert_id "$TOK_DIR/qualified.crt.pem")
aa=$(python3 "$VCALL" call io.kyso.Agent.ListCertificates | python3 -c 'import json,sys; print(" ".join("%s=%s" % (c["label"], c["always_authenticate"]) for c in sorted(json.load(sys.stdin)["parameters"]["certificates"], key=lambda c: c["label"])))')
t_eq "listings say which key needs the PIN for every signature" "key1=False qualified=True" "$aa"
qsign() {  # [PIN]
	local pin=${1:+,\"pin\":\"$1\"}
	python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$qid\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"$pin}"
}
r=$(qsign)
t_match "always-authenticate key, logged in, no PIN → PinRequired for every signature" \
	'PinRequired.*needs the PIN for every signature' "$r"
: > "$T_DIR/trace"
for n in 1 2; do
	qsign $TOK_PIN | python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))' > "$T_DIR/q$n.sig" 2>/dev/null
	t_ok "always-authenticate key with the PIN signs (signature $n verifies)" \
		verify_sig ecdsa-sha256 "$TOK_DIR/qualified.pub.pem" "$T_DIR/q$n.sig" "$doc"
done
t_eq "  ... with one context-specific C_Login per signature" 2 "$(logins)"
t_match "always-authenticate key with a wrong PIN → PinIncorrect" 'PinIncorrect' "$(qsign $WRONG)"
r=$(python3 "$VCALL" call io.kyso.Agent.Login '{"token":"nope","pin":"1"}')
t_match "Login to an unknown token → NoSuchToken" 'NoSuchToken' "$r"

# a locked PIN (SoftHSM never locks: the fault module answers CKR_PIN_LOCKED)
$K lock >/dev/null 2>&1
echo "C_Login fail CKR_PIN_LOCKED" > "$T_DIR/rules"
: > "$T_DIR/trace"
r=$(sign $TOK_PIN)
t_match "locked PIN → PinLocked" '"error":"io.kyso.Agent.PinLocked"' "$r"
t_match "  ... saying an administrator must unblock it" 'administrator must unblock' "$r"
t_eq "  ... after exactly one C_Login" 1 "$(logins)"
echo $TOK_PIN | $K login --token officer --pin-stdin >/dev/null 2>&1
t_eq "kyso login on a locked PIN: exit 5" 5 $?
: > "$T_DIR/rules"

t_ok "agent still alive" agent_alive
t_agent_stops
# the log at debug level records every request: never a PIN
if grep -q -e "$TOK_PIN" -e "$WRONG" "$T_DIR/kysod.log"; then
	t_flunk "no PIN in the agent's log" "$(grep -e "$TOK_PIN" -e "$WRONG" "$T_DIR/kysod.log")"
else
	t_pass "no PIN in the agent's log"
fi
t_done

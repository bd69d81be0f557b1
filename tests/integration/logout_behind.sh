#!/usr/bin/env bash
# A token logged out behind kysod's back — another program's C_Logout on a shared card
# logs out every session of it, as does a card reset — while kysod believes it logged in.
# The test module logs SoftHSM out right before kysod's C_SignInit (logout-once): the key
# is hidden then, not missing. Without a PIN to be had (pinentry = none, no PIN in the
# request) the Sign is answered PinRequired, not "no private key"; the next one too (the
# agent now knows); with the PIN in the request kysod logs in again and signs.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"

tok_init "$T_DIR/tok" && tok_create shared && tok_key shared 01 ec:p256 k ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 shared
agent_start --module "$MOCK_MODULE" --pinentry none || { t_flunk "start kysod"; t_done; exit 1; }
cert=$(cert_id "$TOK_DIR/k.crt.pem")
doc=$T_DIR/doc; echo "the orders" > "$doc"
sign() { $K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/$1" "${@:2}"; }
records() { grep -c '"result":"'"$1"'"' "$XDG_STATE_HOME/kyso/audit.log"; }

echo "$TOK_PIN" | $K login --token shared --pin-stdin >/dev/null 2>&1
t_ok "logged in, a Sign without a PIN signs" sign s0
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/k.pub.pem" "$T_DIR/s0" "$doc"

mock_rule 'C_SignInit logout-once - shared'
sign s1 2> "$T_DIR/err1"
t_eq "logged out behind kysod's back, no PIN to be had: PinRequired (exit 4)" 4 $?
t_match "  ... saying a PIN is needed" "needs a PIN" "$(cat "$T_DIR/err1")"
t_fail "  ... not that the key is missing" grep -q "no private key" "$T_DIR/err1"
t_ok "  ... and no signature was written" test ! -e "$T_DIR/s1"
t_eq "  ... recorded as PinRequired" 1 "$(records io.kyso.Agent.PinRequired)"
sign s2 2>/dev/null
t_eq "the next Sign without a PIN: PinRequired too (kysod now knows)" 4 $?
t_match "  ... and ListTokens says logged out" '"logged_in": *false' \
	"$(/usr/bin/env python3 "$T_TOP/tests/lib/vcall.py" call io.kyso.Agent.ListTokens 2>&1)"

echo "$TOK_PIN" | sign s3 --pin-stdin
t_eq "with the PIN in the request kysod logs in again and signs" 0 $?
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/k.pub.pem" "$T_DIR/s3" "$doc"

# logged out behind its back again, the PIN in this very request: one Sign, signed
mock_unrule logout-once
mock_rule 'C_SignInit logout-once - shared'
echo "$TOK_PIN" | sign s4 --pin-stdin
t_eq "logged out again, the PIN in the request: kysod logs in again and signs" 0 $?
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/k.pub.pem" "$T_DIR/s4" "$doc"
t_eq "  ... three logins in all: the first, and one after each logout behind its back" 3 \
	"$(mock_calls C_Login)"
t_agent_stops
t_done

#!/usr/bin/env bash
# kyso-pkcs11.so and tokens that come and go: kysod on the test module (tests/mock: SoftHSM
# tokens in removable virtual slots), the module in one process of the probe
# (tests/tools/kp11_probe.c). C_WaitForSlotEvent blocking and with CKF_DONT_BLOCK, slots
# that keep their ids (a token pulled out keeps its slot, without CKF_TOKEN_PRESENT; the
# spare slot takes a new token), sessions of a pulled token, a token pulled during
# C_Sign, two threads signing at once (one on a slow token), C_Finalize waking a blocked
# C_WaitForSlotEvent, and nothing written on the program's stdout or stderr.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
. "$T_TOP/tests/lib/kp11.sh"

tok_init "$T_DIR/tok" && tok_create tokA && tok_key tokA 01 ec:p256 keyA &&
	tok_create tokB && tok_key tokB 02 ec:p256 keyB ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
mock_env "$T_DIR/mock" && mock_slot 1 tokA && mock_slot 2 - ||
	{ t_flunk "set up the mock"; t_done; exit 1; }
agent_start --module "$MOCK_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

doc=$T_DIR/doc; echo "orders of the day" > "$doc"
openssl dgst -sha256 -binary "$doc" > "$T_DIR/h32"
O=$T_DIR/probe
# trace_wait REGEX: until a call the mock saw matches (at most 10 s); for the probe's sh
trace_wait() {
	local i
	for i in $(seq 200); do grep -q "$1" "$KYSO_FAULTY_TRACE" && return 0; sleep 0.05; done
	return 1
}
export -f trace_wait
wait_trace='trace_wait "^C_Sign tokA"'

# ---- plug, pull, events ----
kp11_probe "$O" init allslots slots poll \
	bg wait \
	sh "mock_slot 2 tokB" \
	join \
	untilslots 1,2 10000 allslots slotinfo 2 token 2 \
	sh "mock_slot 1 -" \
	wait slots slotinfo 1 token 1 \
	sh "mock_slot 1 tokA again" \
	untilslots 1,2 10000 poll poll \
	final
t_eq "at C_Initialize: tokA's slot, and the spare slot" "allslots CKR_OK 1 2" "$(kp11_line "$O" 2)"
t_eq "  ... C_GetSlotList(TRUE) lists the token" "slots CKR_OK 1" "$(kp11_line "$O" 3)"
t_eq "  ... no event for what was there at C_Initialize (CKF_DONT_BLOCK)" \
	"poll CKR_NO_EVENT 0" "$(kp11_line "$O" 4)"
t_eq "a token plugged in: the blocked C_WaitForSlotEvent returns its slot (the spare's)" \
	"wait CKR_OK 2" "$(kp11_line "$O" 5)"
t_eq "  ... C_GetSlotList(TRUE) has it" "untilslots CKR_OK 1 2" "$(kp11_line "$O" 7)"
t_eq "  ... and a new spare slot is listed" "allslots CKR_OK 1 2 3" "$(kp11_line "$O" 8)"
t_eq "  ... its slot is present, offered by kyso-pkcs11" "slotinfo CKR_OK present kyso-pkcs11" \
	"$(kp11_line "$O" 9)"
t_eq "  ... its token info: the real token's label; write-protected, login required, protected authentication path" \
	"token CKR_OK tokB 0x50e" "$(kp11_line "$O" 10)"
t_eq "a token pulled out: C_WaitForSlotEvent returns its slot" "wait CKR_OK 1" \
	"$(kp11_line "$O" 11)"
t_eq "  ... C_GetSlotList(TRUE) no longer lists it" "slots CKR_OK 2" "$(kp11_line "$O" 12)"
t_eq "  ... its slot stays, empty" "slotinfo CKR_OK empty kyso-pkcs11" "$(kp11_line "$O" 13)"
t_eq "  ... C_GetTokenInfo says so" "token CKR_TOKEN_NOT_PRESENT  0x0" "$(kp11_line "$O" 14)"
t_eq "put back: the same token gets its slot back" "untilslots CKR_OK 1 2" "$(kp11_line "$O" 15)"
t_eq "  ... and CKF_DONT_BLOCK reports the event" "poll CKR_OK 1" "$(kp11_line "$O" 16)"
t_eq "  ... once" "poll CKR_NO_EVENT 0" "$(kp11_line "$O" 17)"
t_kp11_quiet "the module wrote nothing on the program's stdout or stderr" "$O"

# ---- sessions of a pulled token; a token pulled during C_Sign ----
: > "$KYSO_FAULTY_TRACE"
mock_rule 'C_Sign delay 3000 tokA'
kp11_probe "$O" init open 1 login "$TOK_PIN" find priv 01 \
	bg signinit ecdsa sign "$T_DIR/h32" "$T_DIR/pulled.sig" \
	sh "$wait_trace; mock_slot 1 -" \
	join \
	untilslots 2 10000 sessinfo close \
	sh "mock_unrule; mock_slot 1 tokA third" \
	untilslots 1,2 10000 open 1 login "$TOK_PIN" find priv 01 signinit ecdsa \
	sign "$T_DIR/h32" "$T_DIR/back.sig" \
	final
t_eq "a token pulled out during C_Sign: CKR_DEVICE_REMOVED" "sign CKR_DEVICE_REMOVED 64" \
	"$(grep '^sign ' "$O" | head -n 1)"
t_eq "  ... the session of the pulled token is over" "sessinfo CKR_DEVICE_REMOVED slot=0 state=0" \
	"$(grep '^sessinfo' "$O")"
t_eq "  ... and closing it is fine" "close CKR_OK" "$(grep '^close' "$O")"
t_eq "put back: a new session signs" "sign CKR_OK 64" "$(grep '^sign ' "$O" | tail -n 1)"
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/keyA.pub.pem" \
	"$T_DIR/back.sig" "$doc" raw
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

# ---- two threads sign at once: the slow token does not hold up the other ----
: > "$KYSO_FAULTY_TRACE"
mock_rule 'C_Sign delay 2000 tokA'
kp11_probe "$O" init open 1 login "$TOK_PIN" open 2 login "$TOK_PIN" \
	use 1 find priv 01 bg signinit ecdsa sign "$T_DIR/h32" "$T_DIR/slow.sig" \
	sh "$wait_trace" \
	use 2 find priv 02 signinit ecdsa sign "$T_DIR/h32" "$T_DIR/fast.sig" \
	join final
t_eq "two threads sign: both signatures made" "sign CKR_OK 64,sign CKR_OK 64" \
	"$(grep '^sign ' "$O" | paste -sd,)"
slow_at=$(grep -n '^signinit' "$O" | head -n 1 | cut -d: -f1)
fast_at=$(grep -n '^sign ' "$O" | head -n 1 | cut -d: -f1)
t_ok "  ... the slow token's signature had begun (its C_SignInit) before the fast one ended" \
	test "$slow_at" -lt "$fast_at"
t_ok "  ... and the fast token's signature was written before the slow one's: the module holds no lock while kysod works" \
	test "$T_DIR/fast.sig" -ot "$T_DIR/slow.sig"
t_ok "  ... both signatures verify (OpenSSL)" sh -c "$(declare -f verify_sig ecdsa_raw_to_der);
	verify_sig ecdsa-sha256 '$TOK_DIR/keyA.pub.pem' '$T_DIR/slow.sig' '$doc' raw &&
	verify_sig ecdsa-sha256 '$TOK_DIR/keyB.pub.pem' '$T_DIR/fast.sig' '$doc' raw"
mock_unrule

# ---- C_Finalize wakes a blocked C_WaitForSlotEvent ----
kp11_probe "$O" init bg wait sleep 200 final join
t_eq "C_Finalize ends a blocked C_WaitForSlotEvent with CKR_CRYPTOKI_NOT_INITIALIZED" \
	"wait CKR_CRYPTOKI_NOT_INITIALIZED 0" "$(grep '^wait' "$O")"
t_eq "  ... and C_Finalize returns" "final CKR_OK" "$(grep '^final' "$O")"
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

t_ok "kysod still alive" agent_alive
t_agent_stops
t_done

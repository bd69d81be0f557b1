#!/usr/bin/env bash
# The PIN through kyso-pkcs11.so: by default the token says CKF_PROTECTED_AUTHENTICATION_PATH
# and C_Login without a PIN makes kysod's dialog ask (the fake pinentry answers); the
# application's login is its own (C_Logout leaves kysod's, kyso lock ends kysod's and the
# next C_Sign asks again). kysod's answers map to CK_RVs: Cancel, a wrong PIN, a locked
# PIN (the test module), no dialog possible, the policy refusing client PINs or
# confirmations, login_cache = no. With `pin = program` (environment or settings file)
# the program's PIN goes to kysod instead, also for keys that want it with every
# signature. PINs never reach the logs.
TOK_PIN=735124
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
. "$T_TOP/tests/lib/kp11.sh"
FAKE=$T_TOP/tests/tools/fake-pinentry
WRONG=999111

tok_init "$T_DIR/tok" && tok_create alpha && tok_key alpha 03 ec:p256 p256 &&
	tok_key alpha 04 ec:p256 qualified always-auth ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock" && mock_slot 1 alpha || { t_flunk "set up the mock"; t_done; exit 1; }
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
export KYSO_PKCS11_DEBUG=$T_DIR/debug.log
: > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"
doc=$T_DIR/doc; echo "a memo" > "$doc"
openssl dgst -sha256 -binary "$doc" > "$T_DIR/h32"
O=$T_DIR/probe
script() { printf '%s\n' "$@" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"; }
dialogs() { grep -c . "$FAKE_PINENTRY_LOG" || true; }
L() { kp11_line "$O" "$1"; }
restart() { agent_stop >/dev/null 2>&1; agent_start --module "$MOCK_MODULE" "$@"; }
PAD=0x100  # CKF_PROTECTED_AUTHENTICATION_PATH
flags_have() { [ $(( $(echo "$1" | awk '{ print $NF }') & $2 )) -ne 0 ]; }

agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }

# ---- the default: kysod's dialog asks ----
script "pin $TOK_PIN"
kp11_probe "$O" init token 1 open 1 find priv 03 sessinfo login sessinfo login find priv 03 \
	signinit ecdsa sign "$T_DIR/h32" "$T_DIR/a.sig" logout logout sessinfo find priv 03 final
t_ok "the token says CKF_PROTECTED_AUTHENTICATION_PATH: programs log in without a PIN" \
	flags_have "$(L 2)" $PAD
t_eq "  ... before C_Login: a public session, no private key" "find CKR_OK 0,sessinfo CKR_OK slot=1 state=0" \
	"$(L 4),$(L 5)"
t_eq "C_Login without a PIN: kysod's dialog asked, the officer typed the PIN" "login CKR_OK" "$(L 6)"
t_eq "  ... one dialog" 1 "$(dialogs)"
t_match "  ... naming the program, as the kernel knows it" \
	"The program $KP11_PROBE \\(pid [0-9]+\\) asks to log in to token" \
	"$(tail -n 1 "$FAKE_PINENTRY_LOG")"
t_eq "  ... the session is now the user's" "sessinfo CKR_OK slot=1 state=1" "$(L 7)"
t_eq "  ... C_Login again: CKR_USER_ALREADY_LOGGED_IN" "login CKR_USER_ALREADY_LOGGED_IN" "$(L 8)"
t_eq "  ... the private key is visible, and signs" "find CKR_OK 1,sign CKR_OK 64" "$(L 9),$(L 11)"
t_ok "  ... (OpenSSL verifies)" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" "$T_DIR/a.sig" "$doc" raw
t_eq "C_Logout ends the application's login (twice: CKR_USER_NOT_LOGGED_IN)" \
	"logout CKR_OK,logout CKR_USER_NOT_LOGGED_IN,sessinfo CKR_OK slot=1 state=0,find CKR_OK 0" \
	"$(L 12),$(L 13),$(L 14),$(L 15)"
t_match "  ... and not kysod's: the token stays logged in for the user's programs" '"logged_in": ?true' \
	"$($K tokens --json)"
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

# kysod's login is shared: a program logs in without a dialog while kysod is logged in;
# after kyso lock, its next C_Sign makes kysod ask again
n=$(dialogs)
script "pin $TOK_PIN"
kp11_probe "$O" init open 1 login find priv 03 signinit ecdsa sign "$T_DIR/h32" "$T_DIR/b.sig" \
	sh "'$K' lock >/dev/null" signinit ecdsa sign "$T_DIR/h32" "$T_DIR/c.sig" final
t_eq "with kysod logged in, C_Login needs no dialog, and the signature neither" \
	"login CKR_OK,sign CKR_OK 64" "$(L 3),$(L 6)"
t_eq "after kyso lock, the next C_Sign makes kysod ask again (one dialog in all), and signs" \
	"sign CKR_OK 64,$((n + 1))" "$(L 8),$(dialogs)"
t_ok "  ... (OpenSSL verifies)" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" "$T_DIR/c.sig" "$doc" raw

# ---- the officer says no, or types a wrong PIN; the PIN is locked ----
$K lock >/dev/null
script cancel "pin $WRONG"
kp11_probe "$O" init open 1 login login untilflags 1 10000 10000 final
t_eq "Cancel in kysod's dialog: CKR_FUNCTION_CANCELED" "login CKR_FUNCTION_CANCELED" "$(L 3)"
t_eq "a wrong PIN typed in the dialog: CKR_PIN_INCORRECT" "login CKR_PIN_INCORRECT" "$(L 4)"
t_match "  ... and the token info says CKF_USER_PIN_COUNT_LOW, as kysod reads it" \
	"^untilflags CKR_OK " "$(L 5)"
mock_rule 'C_Login fail CKR_PIN_LOCKED alpha'
script "pin $TOK_PIN"
kp11_probe "$O" init open 1 login token 1 final
t_eq "a locked PIN: CKR_PIN_LOCKED" "login CKR_PIN_LOCKED" "$(L 3)"
mock_unrule

# ---- the agent's policy ----
echo "confirm = yes" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
restart --pinentry "$FAKE" || t_flunk "restart kysod"
script "pin $TOK_PIN" refuse
kp11_probe "$O" init open 1 login find priv 03 signinit ecdsa sign "$T_DIR/h32" "$T_DIR/x" final
t_eq "confirm = yes and the officer refuses the signature: CKR_FUNCTION_REJECTED" \
	"sign CKR_FUNCTION_REJECTED 64" "$(L 6)"
# C_Finalize while another thread waits in C_Sign for the officer: the call is woken and
# returns, rather than waiting for the dialog (here until pinentry_timeout, 20 s)
echo "pinentry_timeout = 20" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
export FAKE_PINENTRY_SHOWN=$T_DIR/shown  # kysod's dialogs inherit it
rm -f "$FAKE_PINENTRY_SHOWN" "$T_DIR/go"
restart --pinentry "$FAKE" || t_flunk "restart kysod"
script "pin $TOK_PIN" "wait $T_DIR/go"  # the login's PIN, then the confirmation
kp11_probe "$O" init open 1 login find priv 03 signinit ecdsa bg sign "$T_DIR/h32" "$T_DIR/x2" \
	sh "for i in \$(seq 600); do grep -q CONFIRM '$FAKE_PINENTRY_SHOWN' && exit 0
		sleep 0.05; done; exit 1" final join
t_eq "C_Finalize while a thread waits in C_Sign for the officer's dialog: it returns" \
	"final CKR_OK" "$(grep '^final' "$O")"
t_match "  ... and the waiting C_Sign returns" "^sign CKR_CRYPTOKI_NOT_INITIALIZED" \
	"$(grep '^sign' "$O")"
t_ok "  ... woken by C_Finalize, not left waiting for the dialog's end (20 s)" \
	test "$(grep '^joined sign' "$O" | sed 's/.*ms=//')" -lt 10000
touch "$T_DIR/go"
unset FAKE_PINENTRY_SHOWN
sed -i '/^pinentry_timeout/d' "$XDG_CONFIG_HOME/kyso/kysod.conf"
sed -i '/^confirm/d' "$XDG_CONFIG_HOME/kyso/kysod.conf"
echo "login_cache = no" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
restart --pinentry "$FAKE" || t_flunk "restart kysod"
n=$(dialogs)
script "pin $TOK_PIN" "pin $TOK_PIN"
kp11_probe "$O" init open 1 login find priv 03 signinit ecdsa sign "$T_DIR/h32" "$T_DIR/d.sig" \
	signinit ecdsa sign "$T_DIR/h32" "$T_DIR/e.sig" final
t_eq "login_cache = no: C_Login begins the application's login, and every C_Sign makes kysod ask (two dialogs in all)" \
	"login CKR_OK,sign CKR_OK 64,sign CKR_OK 64,$((n + 2))" "$(L 3),$(L 6),$(L 8),$(dialogs)"
sed -i '/^login_cache/d' "$XDG_CONFIG_HOME/kyso/kysod.conf"

# no dialogs at all (pinentry = none): a PIN is needed and nobody can be asked
restart || t_flunk "restart kysod"
kp11_probe "$O" init open 1 login "$TOK_PIN" find priv 03 signinit ecdsa \
	sh "'$K' lock >/dev/null" sign "$T_DIR/h32" "$T_DIR/x" sessinfo login final
t_eq "pinentry = none and kysod's login ended: C_Sign gives CKR_USER_NOT_LOGGED_IN" \
	"sign CKR_USER_NOT_LOGGED_IN 64" "$(L 6)"
t_eq "  ... and the application is logged out, to log in again" "sessinfo CKR_OK slot=1 state=0" "$(L 7)"
t_eq "  ... C_Login without a PIN cannot be served: CKR_FUNCTION_FAILED" "login CKR_FUNCTION_FAILED" "$(L 8)"

echo "client_pin = no" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
restart --pinentry "$FAKE" || t_flunk "restart kysod"
kp11_probe "$O" init open 1 login "$TOK_PIN" final
t_eq "client_pin = no and a PIN given to C_Login: CKR_FUNCTION_REJECTED" "login CKR_FUNCTION_REJECTED" "$(L 3)"
sed -i '/^client_pin/d' "$XDG_CONFIG_HOME/kyso/kysod.conf"

# ---- the program's own PIN prompt ----
restart || t_flunk "restart kysod"
export KYSO_PKCS11_PIN=program
kp11_probe "$O" init token 1 open 1 login "$WRONG" login "$TOK_PIN" find priv 04 attr alwaysauth \
	signinit ecdsa ctxlogin "$WRONG" sign "$T_DIR/h32" "$T_DIR/x" \
	signinit ecdsa ctxlogin "$TOK_PIN" sign "$T_DIR/h32" "$T_DIR/q.sig" final
t_ok "KYSO_PKCS11_PIN=program: no CKF_PROTECTED_AUTHENTICATION_PATH" \
	test $(( $(L 2 | awk '{ print $NF }') & PAD )) -eq 0
t_eq "  ... a wrong PIN given to C_Login: CKR_PIN_INCORRECT" "login CKR_PIN_INCORRECT" "$(L 4)"
t_eq "  ... the right one logs in" "login CKR_OK" "$(L 5)"
t_eq "  ... a key that wants the PIN with every signature says CKA_ALWAYS_AUTHENTICATE" \
	"attr CKR_OK 1 01" "$(L 7)"
t_eq "  ... a wrong PIN in the context-specific login: the C_Sign gives CKR_PIN_INCORRECT" \
	"ctxlogin CKR_OK,sign CKR_PIN_INCORRECT 64" "$(L 9),$(L 10)"
t_eq "  ... the right one: it signs" "ctxlogin CKR_OK,sign CKR_OK 64" "$(L 12),$(L 13)"
t_ok "  ... (OpenSSL verifies)" verify_sig ecdsa-sha256 "$TOK_DIR/qualified.pub.pem" \
	"$T_DIR/q.sig" "$doc" raw
# another program, while kysod's login lasts: its PIN cannot be checked; bad
# context-specific PINs are refused before any call
kp11_probe "$O" init open 1 login "$WRONG" find priv 04 signinit ecdsa \
	ctxlogin "$(printf '1%.0s' $(seq 257))" ctxlogin $'12\xff34' ctxlogin "$TOK_PIN" \
	sign "$T_DIR/h32" "$T_DIR/q2.sig" final
t_eq "  ... a PIN while the token is logged in for the user's programs is not checked: \
CKR_OK (pkcs11-tool takes CKR_USER_ALREADY_LOGGED_IN for a failure)" "login CKR_OK" "$(L 3)"
t_match "  ... and the debug log says it was not checked" "the PIN given was not checked" \
	"$(cat "$T_DIR/debug.log")"
t_eq "  ... a context-specific PIN longer than kysod takes (256 bytes): CKR_PIN_LEN_RANGE" \
	"ctxlogin CKR_PIN_LEN_RANGE" "$(L 6)"
t_eq "  ... one that is not UTF-8: CKR_PIN_INVALID" "ctxlogin CKR_PIN_INVALID" "$(L 7)"
t_eq "  ... and the right one still signs" "ctxlogin CKR_OK,sign CKR_OK 64" "$(L 8),$(L 9)"
unset KYSO_PKCS11_PIN
printf '; the program asks for the PIN\npin = program\n' > "$XDG_CONFIG_HOME/kyso/kyso-pkcs11.conf"
kp11_probe "$O" init token 1 final
t_ok "the same from the settings file (kyso-pkcs11.conf)" \
	test $(( $(L 2 | awk '{ print $NF }') & PAD )) -eq 0
KYSO_PKCS11_PIN=agent kp11_probe "$O" init token 1 final
t_ok "  ... the environment wins over the file" flags_have "$(L 2)" $PAD
printf 'pin = sometimes\n' > "$XDG_CONFIG_HOME/kyso/kyso-pkcs11.conf"
kp11_probe "$O" init token 1 final
t_ok "  ... a value it does not know keeps the default" flags_have "$(L 2)" $PAD
t_match "  ... and the debug log says so" "pin = 'sometimes' is neither 'agent' nor 'program'" \
	"$(cat "$T_DIR/debug.log")"
rm -f "$XDG_CONFIG_HOME/kyso/kyso-pkcs11.conf"

# ---- no PIN anywhere it should not be ----
for f in "$T_DIR/debug.log" "$T_DIR/kysod.log" "$XDG_STATE_HOME/kyso/audit.log" "$O" \
	"$FAKE_PINENTRY_LOG"; do
	t_eq "no PIN in $(basename "$f")" 0 "$(grep -c -e "$TOK_PIN" -e "$WRONG" "$f")"
done

t_ok "kysod still alive" agent_alive
t_agent_stops
t_done

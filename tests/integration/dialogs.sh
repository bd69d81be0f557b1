#!/usr/bin/env bash
# The agent asks the officer: PIN dialogs (pinentry, here the scripted fake in
# tests/tools/fake-pinentry) that name the calling program, the certificate, the token
# and the client's description; cancel, timeout, a wrong PIN (never retried, and the next
# dialog says so), keys that want the PIN for every signature, confirmation dialogs,
# dialogs that hold up nothing else, a token pulled out while its dialog is open, and a
# pinentry that cannot run. The token is SoftHSM behind the tests' fault module (virtual
# slots, a trace of every Cryptoki call).
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
T_WAIT_S=60   # dialogs under ASan on a loaded machine
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
VCALL=$T_TOP/tests/lib/vcall.py
PY=/usr/bin/python3  # not a PATH shim that may take seconds to start
FAKE=$T_TOP/tests/tools/fake-pinentry
WRONG=555444

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 &&
	tok_key officer 02 ec:p256 qualified always-auth && tok_create second &&
	tok_key second 03 ec:p256 key3 ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 officer
mock_slot 2 second
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
export FAKE_PINENTRY_SHOWN=$T_DIR/shown
: > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"; : > "$FAKE_PINENTRY_SHOWN"
echo "pinentry_timeout = 3s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" ||
	{ t_flunk "start kysod"; t_done; exit 1; }

id=$(cert_id "$TOK_DIR/key1.crt.pem")
qid=$(cert_id "$TOK_DIR/qualified.crt.pem")
id3=$(cert_id "$TOK_DIR/key3.crt.pem")
doc=$T_DIR/doc; echo "the document" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
# script ACTION...: what the fake pinentry answers next, in order
script() { printf '%s\n' "$@" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"; }
dialogs() { grep -c . "$FAKE_PINENTRY_LOG" || true; }
# last_dialog FIELD: a field of the last dialog the fake showed
last_dialog() {
	tail -n 1 "$FAKE_PINENTRY_LOG" | $PY -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}
sign() {  # CERT [EXTRA_JSON]
	$PY "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$1\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"${2:-}}"
}
sig_of() { $PY -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
logins() { mock_calls C_Login; }
# Never a fixed time: wait for a sign (the interpreter of a client or of the fake
# pinentry may take a second to start on a loaded machine), for at most a minute.
# t_wait CMD...: until CMD succeeds
shown() { grep -c . "$FAKE_PINENTRY_SHOWN" || true; }
# dialog_up N: the N-th dialog since the test began is on the screen
dialog_up() { [ "$(shown)" -ge "$1" ]; }
# signs_taken: Sign calls the agent has taken (queued on a token or refused) so far
signs_taken() { grep -c 'client [0-9]* (pid [0-9]*, [^)]*): io.kyso.Agent.Sign$' "$T_DIR/kysod.log" || true; }
taken() { [ "$(signs_taken)" -ge "$1" ]; }
python=$($PY -c "import os,sys; print(os.path.realpath(sys.executable))")

# ---- the PIN dialog ----
script "pin $TOK_PIN"
: > "$KYSO_FAULTY_TRACE"
r=$(sign "$id" ',"description":"Order 17/2026: leave of Lt. Nguyen"')
printf '%s' "$r" | sig_of > "$T_DIR/s1.sig" 2>/dev/null
t_ok "Sign without a PIN: the agent asks through pinentry and signs (OpenSSL verifies)" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s1.sig" "$doc"
t_eq "  ... one dialog, one C_Login" "1 1" "$(dialogs) $(logins)"
t_eq "  ... the dialog was a PIN dialog" GETPIN "$(last_dialog cmd)"
desc=$(last_dialog desc)
t_match "  ... naming the calling program (its executable, from the socket's credentials)" \
	"The program $python \\(pid [0-9]+\\) asks to sign" "$desc"
t_match "  ... the certificate's subject" "CN *= *key1|CN=key1" "$desc"
t_match "  ... the token's label and serial" 'token "officer" \(serial [0-9a-f]+\)' "$desc"
t_match "  ... and the program's description, marked as its own words" \
	"in the program's own words:.*Order 17/2026: leave of Lt. Nguyen" "$(echo "$desc" | tr '\n' ' ')"
t_eq "  ... with no warning on a first try" "" "$(last_dialog error)"
t_match "  ... and a timeout (pinentry_timeout = 3s)" '^3$' "$(last_dialog timeout)"

r=$(sign "$id")
t_match "the next Sign uses the login: no dialog" '"signature":' "$r"
t_eq "  ... (still one dialog)" 1 "$(dialogs)"
$K lock >/dev/null
script "pin $TOK_PIN"
sign "$id" >/dev/null
t_match "after Lock the next Sign asks again; without a description the dialog says so" \
	"did not say what it signs" "$(last_dialog desc)"

# ---- cancel, wrong PIN, timeout ----
$K lock >/dev/null
script cancel
: > "$KYSO_FAULTY_TRACE"
r=$(sign "$id")
t_match "the officer cancels → Cancelled, reason cancelled" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"cancelled"' "$r"
t_eq "  ... and the token saw no C_Login" 0 "$(logins)"
$K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/x" </dev/null 2>"$T_DIR/err"
t_eq "kyso sign, dialog cancelled: exit 9" 9 $?

script "pin $WRONG" "pin $TOK_PIN"
: > "$KYSO_FAULTY_TRACE"
n0=$(dialogs)
r=$(sign "$id")
t_match "a wrong PIN typed in the dialog → PinIncorrect" '"error":"io.kyso.Agent.PinIncorrect"' "$r"
t_eq "  ... tried once, never retried: one dialog, one C_Login" "1 1" "$(( $(dialogs) - n0 )) $(logins)"
r=$(sign "$id")
t_match "the next dialog warns that the last PIN was wrong" "last PIN entered was wrong" \
	"$(last_dialog error)"
t_match "  ... and the right PIN signs" '"signature":' "$r"
$K lock >/dev/null
script "pin $TOK_PIN"
sign "$id" >/dev/null
t_eq "after a right PIN the warning is gone" "" "$(last_dialog error)"

$K lock >/dev/null
script hang
start=$(date +%s)
r=$(sign "$id")
took=$(( $(date +%s) - start ))
t_match "nobody answers → Cancelled, reason timeout" '"reason":"timeout"' "$r"
t_ok "  ... after the configured 3 s, not much later (took ${took} s)" test "$took" -ge 2 -a "$took" -le 12
t_eq "  ... and no pinentry process is left" "" "$(agent_dialogs)"

# ---- keys that want the PIN for every signature ----
$K lock >/dev/null
script "pin $TOK_PIN" "pin $TOK_PIN"
: > "$KYSO_FAULTY_TRACE"
n0=$(dialogs)
for n in 1 2; do
	sign "$qid" | sig_of > "$T_DIR/q$n.sig" 2>/dev/null
	t_ok "always-authenticate key: signature $n after its own dialog (OpenSSL verifies)" \
		verify_sig ecdsa-sha256 "$TOK_DIR/qualified.pub.pem" "$T_DIR/q$n.sig" "$doc"
done
t_eq "  ... one dialog per signature" 2 "$(( $(dialogs) - n0 ))"
t_match "  ... which says the key needs the PIN for every signature" "PIN for every signature" \
	"$(last_dialog desc)"
t_eq "  ... and a context-specific login per signature (3 C_Login: user, then 2 context)" \
	3 "$(logins)"

# ---- a dialog holds up nothing else ----
$K lock >/dev/null
rm -f "$T_DIR/release"
script "wait $T_DIR/release" "pin $TOK_PIN"  # up until the test releases it
n0=$(shown)
sign "$id" > "$T_DIR/slow.out" &
slow=$!
t_wait dialog_up $((n0 + 1))
t_match "while a dialog waits for the officer, ListTokens is answered" '"tokens":' \
	"$($PY "$VCALL" call io.kyso.Agent.ListTokens)"
r=$(sign "$id3" ",\"pin\":\"$TOK_PIN\"")
t_match "  ... and another token signs meanwhile" '"signature":' "$r"
if [ ! -s "$T_DIR/slow.out" ] && kill -0 "$slow" 2>/dev/null; then
	t_pass "  ... both while the dialog is still up (its request still waits)"
else
	t_flunk "  ... both while the dialog is still up (its request still waits)"
fi
touch "$T_DIR/release"
wait $slow
t_match "  ... then, the PIN typed, the waiting request signs" '"signature":' "$(cat "$T_DIR/slow.out")"

# ---- the token pulled out while its dialog is open ----
$K lock >/dev/null
script hang
n0=$(shown)
sign "$id" > "$T_DIR/pulled.out" &
pulled=$!
t_wait dialog_up $((n0 + 1))
start=$(date +%s)
mock_unslot 1
wait $pulled
t_match "token pulled out during its dialog → TokenNotPresent" \
	'"error":"io.kyso.Agent.TokenNotPresent"' "$(cat "$T_DIR/pulled.out")"
t_ok "  ... at once, not at the dialog's timeout" test $(( $(date +%s) - start )) -le 2
t_eq "  ... and the dialog is gone" "" "$(agent_dialogs)"
mock_slot 1 officer
t_wait eval '$K certs 2>/dev/null | grep -q key1'

# ---- Lock while a dialog is open, and a request waits behind it ----
script hang "pin $TOK_PIN"
n0=$(shown)
sign "$id" > "$T_DIR/locked.out" &
locked=$!
t_wait dialog_up $((n0 + 1))
s0=$(signs_taken)
sign "$id" ",\"pin\":\"$TOK_PIN\"" > "$T_DIR/queued.out" &
queued=$!
t_wait taken $((s0 + 1))  # queued behind the dialog, not yet arrived after the Lock
n0=$(dialogs)
start=$(date +%s)
t_ok "Lock while a PIN dialog waits: Lock answers" $K lock
wait $locked $queued
t_match "  ... and the dialog closes: Cancelled, reason locked" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"locked"' "$(cat "$T_DIR/locked.out")"
t_match "  ... the request queued behind it ends the same way (nothing signs after Lock)" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"locked"' "$(cat "$T_DIR/queued.out")"
t_match "  ... saying it ended before it was served (it had no dialog to close)" \
	'"message":"the request was ended before it was served: the tokens were locked' \
	"$(cat "$T_DIR/queued.out")"
t_match "  ... while the first one's dialog was closed" '"message":"the dialog was closed' \
	"$(cat "$T_DIR/locked.out")"
t_eq "  ... and no new dialog opened" 0 "$(( $(dialogs) - n0 ))"
script hang
t_ok "  ... at once, not at the dialog's timeout" test $(( $(date +%s) - start )) -le 2
t_eq "  ... and no pinentry process is left" "" "$(agent_dialogs)"
script "pin $TOK_PIN"
t_match "  ... the next Sign asks again and signs" '"signature":' "$(sign "$id")"

# ---- a Sign racing a Lock: taken by the worker, in a token call (no dialog) when the
# Lock comes; it must not log in nor sign after it ----
$K lock >/dev/null
mock_rule 'C_GetSessionInfo delay 60000 officer'
: > "$KYSO_FAULTY_TRACE"
sign "$id" ",\"pin\":\"$TOK_PIN\"" > "$T_DIR/racing.out" &
racing=$!
t_wait eval 'grep -q "^C_GetSessionInfo officer" "$KYSO_FAULTY_TRACE"'
l0=$(grep -c 'Lock: ' "$T_DIR/kysod.log" || true)
$K lock > "$T_DIR/racing-lock.out" 2>&1 &
racelock=$!
t_wait eval '[ "$(grep -c "Lock: " "$T_DIR/kysod.log")" -gt "$l0" ]'  # the agent took it
mock_unrule 'C_GetSessionInfo delay'
wait $racing $racelock
t_match "a Sign inside the token when Lock comes (not in a dialog) → Cancelled, reason locked" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"locked".*ended before it was served' \
	"$(cat "$T_DIR/racing.out")"
t_eq "  ... it neither logged in nor signed after the Lock" "0 0" \
	"$(mock_calls C_Login) $(mock_calls C_Sign)"

# ---- a long description in Vietnamese: cut between characters ----
long=$($PY -c 'print("Quyết định số 17 về việc điều động " * 15)')
script "pin $TOK_PIN"
sign "$id" ",\"pin\":\"$TOK_PIN\",\"description\":\"$long\"" >/dev/null
$K lock >/dev/null
script cancel
sign "$id" ",\"description\":\"$long\"" >/dev/null
shown=$(last_dialog desc)
t_match "a long description is shortened in the dialog" 'Quyết định số 17.*\.\.\.' "$(echo "$shown" | tr '\n' ' ')"
t_eq "  ... between two characters (valid UTF-8, no replacement character)" ok \
	"$(printf '%s' "$shown" | $PY -c 'import sys; t=sys.stdin.buffer.read().decode("utf-8"); print("bad" if "\ufffd" in t else "ok")' 2>&1)"

# ---- a pinentry that cannot run ----
agent_stop
agent_start --module "$MOCK_MODULE" --pinentry /nonexistent/pinentry ||
	{ t_flunk "restart kysod"; t_done; exit 1; }
r=$(sign "$id")
t_match "no pinentry program → PinRequired saying no dialog could be shown" \
	'PinRequired.*no PIN dialog could be shown.*nonexistent' "$r"
r=$(sign "$id" ",\"pin\":\"$TOK_PIN\"")
t_match "  ... and a PIN from the client still signs" '"signature":' "$r"

# ---- confirmation before every signature ----
agent_stop
echo "confirm = yes" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" ||
	{ t_flunk "restart kysod"; t_done; exit 1; }
script refuse
r=$(sign "$id" ",\"pin\":\"$TOK_PIN\",\"description\":\"payroll\"")
t_match "confirm = yes, the officer refuses → Cancelled, reason refused" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"refused"' "$r"
t_eq "  ... the dialog was a confirmation" CONFIRM "$(last_dialog cmd)"
t_match "  ... naming the program, the certificate and the description" \
	"The program $python .*key1.*payroll" "$(last_dialog desc | tr '\n' ' ')"
script confirm
r=$(sign "$id" ",\"pin\":\"$TOK_PIN\"")
t_match "the officer confirms → signed" '"signature":' "$r"
script confirm
n0=$(dialogs)
r=$(sign "$id")
t_match "with the login cached, a confirmation still comes first" '"signature":' "$r"
t_eq "  ... (one more dialog: the confirmation)" "1 CONFIRM" "$(( $(dialogs) - n0 )) $(last_dialog cmd)"

t_ok "agent still alive" agent_alive
# stopping while a confirmation is open and a request waits behind it: both are recorded
script hang
audit=$XDG_STATE_HOME/kyso/audit.log
lines0=$(wc -l < "$audit")
n0=$(shown)
sign "$id" ",\"description\":\"open at shutdown\"" > /dev/null 2>&1 &
t_wait dialog_up $((n0 + 1))
s0=$(signs_taken)
sign "$id" ",\"description\":\"queued at shutdown\"" > /dev/null 2>&1 &
t_wait taken $((s0 + 1))
t_agent_stops
wait
t_eq "requests open or queued when kysod stops are recorded as refused (2 lines)" 2 \
	"$(( $(wc -l < "$audit") - lines0 ))"
t_match "  ... the queued one too" 'queued at shutdown.*"result":"io.kyso.Agent.Cancelled"' \
	"$(tail -n 2 "$audit")"
for f in "$T_DIR/kysod.log" "$FAKE_PINENTRY_LOG" "$XDG_STATE_HOME/kyso/audit.log"; do
	if grep -q -e "$TOK_PIN" -e "$WRONG" "$f" 2>/dev/null; then
		t_flunk "no PIN in $(basename "$f")"
	else
		t_pass "no PIN in $(basename "$f")"
	fi
done
t_done

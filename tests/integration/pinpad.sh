#!/usr/bin/env bash
# PIN-pad readers: a token with CKF_PROTECTED_AUTHENTICATION_PATH is logged in with a NULL
# PIN (the reader asks for it on its keypad) while the agent shows a message through
# pinentry (here the scripted fake, tests/tools/fake-pinentry), closed as soon as C_Login
# returns. The token is SoftHSM behind the tests' fault module, whose "pinpad" line makes
# it a PIN-pad token: the flag, and a NULL-PIN C_Login that waits for the "person typing"
# (PAD_MS), then logs in with the line's PIN. Covered: the flag in ListTokens, a Sign that
# logs in on the pad, the login kept, an always-authenticate key (a context-specific
# NULL-PIN login and a message per signature), a mistyped keypad PIN, kyso login, and
# signing on the pad without any dialog (pinentry = none).
TOK_PIN=246813
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
VCALL=$T_TOP/tests/lib/vcall.py
FAKE=$T_TOP/tests/tools/fake-pinentry
WRONG=975310
PAD_MS=1500

tok_init "$T_DIR/tok" && tok_create padtok && tok_key padtok 01 ec:p256 key1 &&
	tok_key padtok 02 ec:p256 qual always-auth ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 padtok
mock_pinpad padtok "$TOK_PIN" "$PAD_MS"
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
# nobody answers the PIN-pad message: it stays up until the agent closes it
printf 'hang\n%.0s' $(seq 40) > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" ||
	{ t_flunk "start kysod"; t_done; exit 1; }

id=$(cert_id "$TOK_DIR/key1.crt.pem")
qid=$(cert_id "$TOK_DIR/qual.crt.pem")
doc=$T_DIR/doc; echo "signed on a PIN pad" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
python=$(python3 -c "import os,sys; print(os.path.realpath(sys.executable))")
sign() {  # CERT [EXTRA_JSON]
	python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$1\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"${2:-}}"
}
sig_of() { python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
dialogs() { grep -c . "$FAKE_PINENTRY_LOG" || true; }
# last_dialog FIELD: a field of the last dialog the fake showed
last_dialog() {
	tail -n 1 "$FAKE_PINENTRY_LOG" | python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}
logins() { mock_calls C_Login; }
children() { agent_dialogs; }  # dialogs (its module helpers are children too)
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# signed NAME CERT KEY: Sign in the background; while it runs, waits for a new dialog and
# notes in $during whether one was up ("shown"), the Sign still waiting ("pending") and a
# child of the agent running ("child"); then the reply in $T_DIR/NAME.out, the signature
# in $T_DIR/NAME.sig, the time in $took (ms) and true if OpenSSL verifies it
signed() {
	local n0 start pid
	n0=$(dialogs); start=$(now_ms)
	sign "$2" > "$T_DIR/$1.out" &
	pid=$!
	during=
	for _ in $(seq 60); do
		[ "$(dialogs)" -gt "$n0" ] && { during=shown; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && during="$during pending"
	[ -n "$(children)" ] && during="$during child"
	wait "$pid"
	took=$(( $(now_ms) - start ))
	sig_of < "$T_DIR/$1.out" > "$T_DIR/$1.sig" 2>/dev/null
	verify_sig ecdsa-sha256 "$TOK_DIR/$3.pub.pem" "$T_DIR/$1.sig" "$doc" >/dev/null 2>&1
}

# ---- the token as listed ----
pad_flag() {  # protected_auth_path of padtok in ListTokens
	python3 "$VCALL" call io.kyso.Agent.ListTokens | python3 -c 'import json, sys
print([t.get("protected_auth_path") for t in json.load(sys.stdin)["parameters"]["tokens"]
       if t["label"] == "padtok"])' 2>&1
}
t_eq "ListTokens: the PIN-pad token has protected_auth_path true" "[True]" "$(pad_flag)"

# ---- a Sign that logs in on the PIN pad ----
: > "$KYSO_FAULTY_TRACE"
if signed s1 "$id" key1; then
	t_pass "Sign without a PIN logs in on the PIN pad and signs (OpenSSL verifies)"
else
	t_flunk "Sign without a PIN logs in on the PIN pad and signs (OpenSSL verifies)" \
		"$(cat "$T_DIR/s1.out")"
fi
t_eq "  ... while the reader waits, the PIN-pad message is up (a pinentry child)" \
	"shown pending child" "$during"
t_ok "  ... the Sign took the typing on the keypad (${took} ms, typing ${PAD_MS} ms)" \
	test "$took" -ge "$PAD_MS"
t_eq "  ... one dialog, a message (CONFIRM --one-button) titled for the PIN pad" \
	"1 CONFIRM --one-button kyso: PIN pad" \
	"$(dialogs) $(last_dialog cmd) $(last_dialog args) $(last_dialog title)"
desc=$(last_dialog desc | tr '\n' ' ')
t_match "  ... naming the calling program" "The program $python \\(pid [0-9]+\\) asks to sign" \
	"$desc"
t_match "  ... the certificate" "CN *= *key1 officer|CN=key1 officer" "$desc"
t_match "  ... and the token" 'token "padtok" \(serial [0-9a-f]+\)' "$desc"
t_match "  ... and telling the officer to use the PIN pad" "Enter the PIN on the reader's PIN pad" \
	"$desc"
t_eq "  ... nobody answered it: the agent closed it, no pinentry process is left" \
	"hang/" "$(last_dialog action)/$(children)"
t_eq "  ... exactly one C_Login, typed on the keypad (no PIN dialog, no PIN from us)" \
	"1 0" "$(logins) $(grep -c '"cmd": "GETPIN"' "$FAKE_PINENTRY_LOG")"

: > "$KYSO_FAULTY_TRACE"
signed s2 "$id" key1; ok=$?
t_eq "the next Sign uses the login: signed, no C_Login, no dialog" "0 0 1" \
	"$ok $(logins) $(dialogs)"
t_ok "  ... no waiting for the keypad (${took} ms)" test "$took" -lt "$PAD_MS"

# ---- a key that wants the PIN for every signature ----
: > "$KYSO_FAULTY_TRACE"
for n in 1 2; do
	signed q$n "$qid" qual; ok=$?
	t_eq "always-authenticate key, signature $n: signed (OpenSSL verifies), one more C_Login" \
		"0 $n" "$ok $(logins)"
	t_eq "  ... the context-specific login is typed on the keypad under the message" \
		"shown pending child" "$during"
	t_ok "  ... (${took} ms, typing ${PAD_MS} ms)" test "$took" -ge "$PAD_MS"
	t_match "  ... which names the always-authenticate key's certificate" \
		"CN *= *qual officer|CN=qual officer" "$(last_dialog desc | tr '\n' ' ')"
	t_eq "  ... and is closed once the login is done" "" "$(children)"
done
t_eq "  ... one message per signature" 3 "$(dialogs)"

# ---- the first signature of an always-authenticate key, before any login ----
# The loop learns that a key is always-authenticate only once the token's private keys
# were seen, after a login: the worker asks the token before the context login, so that
# the keypad's second wait has its message too.
agent_stop
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" ||
	{ t_flunk "restart kysod"; t_done; exit 1; }
: > "$KYSO_FAULTY_TRACE"; n0=$(dialogs)
signed q3 "$qid" qual; ok=$?
t_eq "fresh agent, always-authenticate key first: signed, user + context C_Login" "0 2" \
	"$ok $(logins)"
t_ok "  ... both typed on the keypad (${took} ms, 2 × ${PAD_MS} ms typing)" \
	test "$took" -ge $(( 2 * PAD_MS ))
t_eq "  ... a message for each keypad entry" 2 "$(( $(dialogs) - n0 ))"
t_eq "  ... no pinentry process is left" "" "$(children)"
$K lock >/dev/null 2>&1
: > "$KYSO_FAULTY_TRACE"; n0=$(dialogs)
signed q4 "$qid" qual; ok=$?
t_eq "after Lock (the key known as always-authenticate now): signed, 2 C_Login, 2 messages" \
	"0 2 2" "$ok $(logins) $(( $(dialogs) - n0 ))"
t_eq "  ... all closed" "" "$(children)"

# ---- a mistyped keypad PIN ----
$K lock >/dev/null 2>&1
mock_pinpad padtok "$WRONG" 300
: > "$KYSO_FAULTY_TRACE"; n0=$(dialogs)
r=$(sign "$id")
t_match "a wrong PIN typed on the keypad → PinIncorrect" '"error":"io.kyso.Agent.PinIncorrect"' "$r"
t_eq "  ... tried once: one C_Login, one message, closed" "1 1/" \
	"$(logins) $(( $(dialogs) - n0 ))/$(children)"
mock_pinpad padtok "$TOK_PIN" "$PAD_MS"

# ---- kyso login ----
: > "$KYSO_FAULTY_TRACE"; n0=$(dialogs)
$K login --token padtok </dev/null >"$T_DIR/login.out" 2>&1
t_eq "kyso login on the PIN-pad token: exit 0" "0" "$?"
t_match "  ... it says to enter the PIN on the reader's PIN pad" \
	"enter the PIN on the reader's PIN pad" "$(cat "$T_DIR/login.out")"
t_match "  ... and that it logged in" "kyso: logged in" "$(cat "$T_DIR/login.out")"
t_eq "  ... one C_Login, one message (for the login), closed" "1 1/" \
	"$(logins) $(( $(dialogs) - n0 ))/$(children)"
t_match "  ... the message names the token to log in to" \
	'asks to log in to token "padtok".*PIN pad' "$(last_dialog desc | tr '\n' ' ')"
: > "$KYSO_FAULTY_TRACE"
signed s3 "$id" key1; ok=$?
t_eq "  ... then Sign needs no login" "0 0" "$ok $(logins)"

# ---- no dialogs at all ----
agent_stop
agent_start --module "$MOCK_MODULE" --pinentry none ||
	{ t_flunk "restart kysod"; t_done; exit 1; }
: > "$KYSO_FAULTY_TRACE"; n0=$(dialogs)
signed s4 "$id" key1; ok=$?
t_eq "pinentry none: a PIN-pad token still signs, logging in on the keypad (one C_Login)" \
	"0 1" "$ok $(logins)"
t_ok "  ... (${took} ms, typing ${PAD_MS} ms)" test "$took" -ge "$PAD_MS"
t_eq "  ... with no message and no child process" "0/" "$(( $(dialogs) - n0 ))/$(children)"
signed q5 "$qid" qual; ok=$?
t_eq "  ... and the always-authenticate key signs with a context login on the keypad" \
	"0 2 0" "$ok $(logins) $(( $(dialogs) - n0 ))"

t_ok "agent still alive" agent_alive
t_agent_stops
for f in "$T_DIR/kysod.log" "$FAKE_PINENTRY_LOG" "$XDG_STATE_HOME/kyso/audit.log"; do
	if grep -q -e "$TOK_PIN" -e "$WRONG" "$f" 2>/dev/null; then
		t_flunk "no PIN in $(basename "$f")"
	else
		t_pass "no PIN in $(basename "$f")"
	fi
done
t_done

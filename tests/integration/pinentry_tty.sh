#!/usr/bin/env bash
# A real pinentry on a terminal, driven as a person would: kysod runs in the foreground in
# a tmux window (its standard input that terminal, no GPG_TTY), so Debian's
# pinentry-curses (else pinentry-tty) draws the PIN dialog there. The test reads the
# screen (tmux capture-pane): the dialog names the calling program and its pid, the
# certificate's subject, the token and the client's description; it types the PIN
# (tmux send-keys) → a signature OpenSSL verifies; it cancels → Cancelled; it types a
# wrong PIN → PinIncorrect, and the next dialog says so. Then: no PIN in a core of
# kysod (gcore), neither the typed one nor one a client sent.
# KYSO_TEST_PINENTRY=/usr/bin/pinentry-tty picks the program.
TOK_PIN=T7yPin42
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py
WRONG=Wr0ngTy9
CLIENT_PIN=CL13ntPn  # the PIN of a second token, sent by the client

PE=${KYSO_TEST_PINENTRY:-}
if [ -z "$PE" ]; then
	for p in /usr/bin/pinentry-curses /usr/bin/pinentry-tty; do
		[ -x "$p" ] && { PE=$p; break; }
	done
fi
if [ -z "$PE" ] || [ ! -x "$PE" ]; then
	t_skip "PIN dialogs of a real pinentry on a terminal" "neither pinentry-curses nor pinentry-tty is installed (packaging/deps.sh test)"
	t_done; exit 0
fi
if ! command -v tmux >/dev/null 2>&1; then
	t_skip "PIN dialogs of a real pinentry on a terminal" "tmux is not installed (packaging/deps.sh test)"
	t_done; exit 0
fi
curses=0; case $PE in *curses*) curses=1 ;; esac

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 &&
	TOK_PIN=$CLIENT_PIN tok_create client && TOK_PIN=$CLIENT_PIN tok_key client 02 ec:p256 key2 ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
# a dialog nobody answers ends well before the client gives up (vcall.py: 30 s)
echo "pinentry_timeout = 20s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"

# ---- kysod in a tmux window (a private tmux server) ----
. "$T_TOP/tests/lib/tmux.sh"
tmux_init
export KYSO_SOCKET=$T_DIR/agent.sock
# sh records kysod's exit status (tmux itself may be slow to reap a pane's process)
"${TM[@]}" new-session -d -s kyso -x 120 -y 40 \
	"echo \$\$ > $(q "$T_DIR/shell.pid"); env -u GPG_TTY \
	SOFTHSM2_CONF=$(q "$SOFTHSM2_CONF") XDG_CONFIG_HOME=$(q "$XDG_CONFIG_HOME") \
	XDG_STATE_HOME=$(q "$XDG_STATE_HOME") KYSO_ADMIN_CONFIG=$(q "$KYSO_ADMIN_CONFIG") \
	$(q "$BUILD/kysod") --foreground --socket $(q "$KYSO_SOCKET") --log-level debug \
	--module $(q "$SOFTHSM_MODULE") --pinentry $(q "$PE") 2>>$(q "$T_DIR/kysod.log"); \
	echo \$? > $(q "$T_DIR/agent.status")"
for _ in $(seq 200); do
	$K info >/dev/null 2>&1 && break
	sleep 0.05
done
AGENT_PID=$(pgrep -P "$(cat "$T_DIR/shell.pid" 2>/dev/null)" 2>/dev/null)
if [ -z "$AGENT_PID" ] || ! $K info >/dev/null 2>&1; then
	t_flunk "start kysod in tmux" "$(tail -n 20 "$T_DIR/kysod.log" 2>/dev/null)"; t_done; exit 1
fi
t_eq "kysod runs in the tmux window" "$(readlink -f "$BUILD/kysod")" "$(readlink "/proc/$AGENT_PID/exe")"
pane_tty=$("${TM[@]}" display-message -p -t kyso '#{pane_tty}')
t_eq "  ... its standard input is the window's terminal" "$pane_tty" "$(readlink "/proc/$AGENT_PID/fd/0")"

id=$(cert_id "$TOK_DIR/key1.crt.pem")
id2=$(cert_id "$TOK_DIR/key2.crt.pem")
doc=$T_DIR/doc; echo "the leave request of Lt. Nguyen" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
python=$(python3 -c "import os,sys; print(os.path.realpath(sys.executable))")
serial=$(python3 "$VCALL" call io.kyso.Agent.ListTokens | python3 -c '
import json,sys
print([t["serial"] for t in json.load(sys.stdin)["parameters"]["tokens"] if t["label"] == "officer"][0])')
DESC="Order 42: leave request"
sig_of() { python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
dialog_gone() {
	for _ in $(seq 50); do
		[ -z "$(agent_dialogs)" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- the PIN typed into the dialog ----
sign_bg
if ! wait_dialog; then
	t_flunk "a Sign without a PIN shows $(basename "$PE")'s dialog on kysod's terminal" "$(screen)"
	reply; t_done; exit 1
fi
t_pass "a Sign without a PIN shows $(basename "$PE")'s dialog on kysod's terminal"
text=$(flat)
t_ok "  ... a pinentry runs as kysod's child" test -n "$(agent_dialogs)"
t_match "  ... naming the calling program (its executable) and its pid" \
	"The program $(printf '%s' "$python" | sed 's/[.[\*^$()+?{|]/\\&/g') \\(pid $P\\) asks to sign" "$text"
t_match "  ... the certificate's subject" "OU=officer,O=kyso tests,CN=key1 officer" "$text"
t_match "  ... the token's label and serial" "on token \"officer\" \\(serial $serial\\)" "$text"
t_match "  ... and the description, as the program's own words" \
	"in the program's own words: \"$DESC\"" "$text"
t_match "  ... with a PIN field" 'PIN:' "$text"
"${TM[@]}" send-keys -t kyso -l "$TOK_PIN"
sleep 0.3
text=$(flat)
if [ "$curses" = 1 ]; then
	t_match "  ... the typed PIN shows as 8 stars" 'PIN: \*{8}_' "$text"
fi
case $text in
*"$TOK_PIN"*) t_flunk "  ... but not in clear" "$text" ;;
*) t_pass "  ... but not in clear" ;;
esac
"${TM[@]}" send-keys -t kyso Enter
reply
printf '%s' "$R" | sig_of > "$T_DIR/s1.sig" 2>/dev/null
t_ok "the PIN typed and Enter: signed, and OpenSSL verifies the signature" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s1.sig" "$doc"
t_ok "  ... the dialog is gone (no child of kysod)" dialog_gone
t_eq "  ... recorded in the audit log: granted, that pid, that description" "granted $P $DESC" \
	"$(tail -n 1 "$XDG_STATE_HOME/kyso/audit.log" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(o.get("result"), o.get("pid"), o.get("description"))')"
r=$(python3 "$VCALL" call io.kyso.Agent.Sign \
	"{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}")
t_match "the next Sign uses the login: no dialog" '"signature":' "$r"

# ---- cancel ----
$K lock >/dev/null 2>&1
sign_bg
if wait_dialog; then
	t_pass "after Lock the next Sign shows the dialog again"
	if [ "$curses" = 1 ]; then
		"${TM[@]}" send-keys -t kyso Tab Tab Enter  # PIN field → <Sign> → <Cancel>, pressed
		how="Tab to <Cancel>, Enter"
	else
		"${TM[@]}" send-keys -t kyso C-d  # end of input at the PIN prompt
		how="Ctrl-D"
	fi
	start=$(date +%s)
	reply
	t_match "the officer cancels ($how) → Cancelled, reason cancelled" \
		'"error":"io.kyso.Agent.Cancelled".*"reason":"cancelled"' "$R"
	t_ok "  ... at once (not at the dialog's timeout)" test $(( $(date +%s) - start )) -le 3
	t_ok "  ... the dialog is gone" dialog_gone
	t_match "  ... and the token is still logged out" '"logged_in":false' \
		"$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
else
	t_flunk "after Lock the next Sign shows the dialog again" "$(screen)"
	reply
fi

# ---- a wrong PIN, then the right one ----
sign_bg
if wait_dialog; then
	"${TM[@]}" send-keys -t kyso -l "$WRONG"
	"${TM[@]}" send-keys -t kyso Enter
	reply
	t_match "a wrong PIN typed → PinIncorrect" '"error":"io.kyso.Agent.PinIncorrect"' "$R"
else
	t_flunk "a wrong PIN typed → PinIncorrect" "no dialog: $(screen)"
	reply
fi
sign_bg
if wait_dialog; then
	t_match "the next dialog says the last PIN was wrong" "last PIN entered was wrong" "$(flat)"
	"${TM[@]}" send-keys -t kyso -l "$TOK_PIN"
	"${TM[@]}" send-keys -t kyso Enter
	reply
	printf '%s' "$R" | sig_of > "$T_DIR/s2.sig" 2>/dev/null
	t_ok "  ... and the right PIN signs (OpenSSL verifies)" \
		verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s2.sig" "$doc"
else
	t_flunk "the next dialog says the last PIN was wrong" "no dialog: $(screen)"
	reply
fi

# ---- no PIN in a core of kysod ----
r=$(python3 "$VCALL" call io.kyso.Agent.Sign \
	"{\"certificate\":\"$id2\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$CLIENT_PIN\"}")
t_match "a Sign on the second token with the client's PIN (no dialog)" '"signature":' "$r"
t_no_pins_in_core "CN=key1 officer" "$TOK_PIN:the PIN typed into $(basename "$PE")" \
	"$WRONG:the wrong PIN typed" "$CLIENT_PIN:the client's PIN"

# ---- the end ----
kill -TERM "$AGENT_PID"
for _ in $(seq 100); do [ -s "$T_DIR/agent.status" ] && break; sleep 0.05; done
t_eq "kysod exits 0 on SIGTERM" 0 "$(cat "$T_DIR/agent.status" 2>/dev/null)"
t_fail "  ... and is gone" kill -0 "$AGENT_PID"
AGENT_PID=
for f in "$T_DIR/kysod.log" "$XDG_STATE_HOME/kyso/audit.log"; do
	if grep -q -F -e "$TOK_PIN" -e "$WRONG" -e "$CLIENT_PIN" "$f"; then
		t_flunk "no PIN in $(basename "$f")"
	else
		t_pass "no PIN in $(basename "$f")"
	fi
done
if grep -q -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T_DIR/kysod.log"; then
	t_flunk "no sanitizer report in kysod.log" "$(grep -m 3 -E 'Sanitizer|runtime error' "$T_DIR/kysod.log")"
fi
t_done

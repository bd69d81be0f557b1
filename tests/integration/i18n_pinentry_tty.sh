#!/usr/bin/env bash
# The real pinentry-curses (else pinentry-tty) in Vietnamese: kysod runs in a tmux window
# of an officer's Vietnamese session (LANG=vi_VN.UTF-8 from a localedef'd LOCPATH, the
# catalog from the build tree) and pinentry draws the PIN dialog on that terminal. The
# test reads the screen (tmux capture-pane): the Vietnamese text with its diacritics
# intact (UTF-8 end to end: kysod's Assuan text, pinentry's lc-ctype, the terminal), the
# buttons, the PIN field; it types the PIN → a signature OpenSSL verifies; the next
# dialog after a wrong PIN warns in Vietnamese. KYSO_TEST_PINENTRY picks the program;
# KYSO_TEST_SCREEN=FILE keeps the dialog's screen.
TOK_PIN=T7yPin42
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
PY=/usr/bin/python3
VCALL=$T_TOP/tests/lib/vcall.py
WRONG=Wr0ngTy9

PE=${KYSO_TEST_PINENTRY:-}
if [ -z "$PE" ]; then
	for p in /usr/bin/pinentry-curses /usr/bin/pinentry-tty; do
		[ -x "$p" ] && { PE=$p; break; }
	done
fi
if [ -z "$PE" ] || ! command -v tmux >/dev/null 2>&1; then
	t_skip "a Vietnamese dialog of a real pinentry" "pinentry-curses/-tty or tmux is not installed (packaging/deps.sh test)"
	t_done; exit 0
fi
if ! command -v localedef >/dev/null 2>&1 || [ ! -e /usr/share/i18n/locales/vi_VN ]; then
	t_skip "a Vietnamese dialog of a real pinentry" "no locale sources for vi_VN (the locales package: packaging/deps.sh test)"
	t_done; exit 0
fi
curses=0; case $PE in *curses*) curses=1 ;; esac
LOC=$T_DIR/locale
mkdir -p "$LOC"
localedef -i vi_VN -f UTF-8 "$LOC/vi_VN.UTF-8" >"$T_DIR/localedef.log" 2>&1 ||
	{ t_flunk "localedef vi_VN.UTF-8" "$(cat "$T_DIR/localedef.log")"; t_done; exit 1; }

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
echo "pinentry_timeout = 20s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"

. "$T_TOP/tests/lib/tmux.sh"
tmux_init -u
export KYSO_SOCKET=$T_DIR/agent.sock
LOCPATH=$LOC LANG=vi_VN.UTF-8 "${TM[@]}" new-session -d -s kyso -x 120 -y 40 \
	"echo \$\$ > $(q "$T_DIR/shell.pid"); env -u GPG_TTY -u LC_ALL -u LC_CTYPE -u LC_MESSAGES \
	LOCPATH=$(q "$LOC") LANG=vi_VN.UTF-8 LANGUAGE=vi KYSO_LOCALEDIR=$(q "$BUILD/locale") \
	SOFTHSM2_CONF=$(q "$SOFTHSM2_CONF") XDG_CONFIG_HOME=$(q "$XDG_CONFIG_HOME") \
	XDG_STATE_HOME=$(q "$XDG_STATE_HOME") KYSO_ADMIN_CONFIG=$(q "$KYSO_ADMIN_CONFIG") \
	$(q "$BUILD/kysod") --foreground --socket $(q "$KYSO_SOCKET") --log-level debug \
	--module $(q "$SOFTHSM_MODULE") --pinentry $(q "$PE") 2>>$(q "$T_DIR/kysod.log")"
for _ in $(seq 200); do
	$K info >/dev/null 2>&1 && break
	sleep 0.05
done
AGENT_PID=$(pgrep -P "$(cat "$T_DIR/shell.pid" 2>/dev/null)" 2>/dev/null)
if [ -z "$AGENT_PID" ] || ! $K info >/dev/null 2>&1; then
	t_flunk "start kysod in tmux" "$(tail -n 20 "$T_DIR/kysod.log" 2>/dev/null)"; t_done; exit 1
fi
t_pass "kysod runs in a tmux window of a Vietnamese session"

id=$(cert_id "$TOK_DIR/key1.crt.pem")
doc=$T_DIR/doc; echo "Công văn số 42 về việc nghỉ phép" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
DESC="Công văn 42: đơn xin nghỉ phép"
sig_of() { $PY -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }

sign_bg
if ! wait_dialog "Mã PIN:"; then
	t_flunk "a Sign without a PIN shows $(basename "$PE")'s dialog in Vietnamese" "$(screen)"
	reply; t_done; exit 1
fi
t_pass "a Sign without a PIN shows $(basename "$PE")'s dialog in Vietnamese"
[ -z "${KYSO_TEST_SCREEN:-}" ] || screen > "$KYSO_TEST_SCREEN"
screen | grep -v '^[[:space:]]*$' | sed 's/^/#   | /'
text=$(flat)
t_match "  ... who asks, with diacritics intact" "Chương trình .* \\(pid $P\\) yêu cầu ký số bằng chứng thư số của bạn" "$text"
t_match "  ... the token" 'trên thiết bị ký số "officer" \(số sê-ri [0-9a-f]+\)' "$text"
t_match "  ... the program's description" "Nội dung cần ký, theo lời của chương trình: \"$DESC\"" "$text"
t_match "  ... what to do" 'Nhập mã PIN của thiết bị ký số để ký\.' "$text"
t_fail "  ... no byte drawn as a stand-in (?, �, M-)" grep -qE '�|M-[^ ]|\?\?' <<<"$text"
if [ "$curses" = 1 ]; then
	t_match "  ... the buttons: <Ký> <Hủy>" '<Ký> .*<Hủy>' "$text"
fi
"${TM[@]}" send-keys -t kyso -l "$TOK_PIN"
"${TM[@]}" send-keys -t kyso Enter
reply
printf '%s' "$R" | sig_of > "$T_DIR/s1.sig" 2>/dev/null
t_ok "the PIN typed and Enter: signed, and OpenSSL verifies the signature" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s1.sig" "$doc"

# a wrong PIN, then the warning in the next dialog
$K lock >/dev/null 2>&1
sign_bg
if wait_dialog "Mã PIN:"; then
	"${TM[@]}" send-keys -t kyso -l "$WRONG"
	"${TM[@]}" send-keys -t kyso Enter
	reply
	t_match "a wrong PIN typed → PinIncorrect" '"error":"io.kyso.Agent.PinIncorrect"' "$R"
else
	t_flunk "a wrong PIN typed → PinIncorrect" "no dialog: $(screen)"
	reply
fi
sign_bg
if wait_dialog "Mã PIN:"; then
	t_match "the next dialog warns in Vietnamese that the last PIN was wrong" 'Mã PIN vừa nhập không đúng' "$(flat)"
	"${TM[@]}" send-keys -t kyso -l "$TOK_PIN"
	"${TM[@]}" send-keys -t kyso Enter
	reply
	t_match "  ... and the right PIN signs" '"signature":' "$R"
else
	t_flunk "the next dialog warns in Vietnamese that the last PIN was wrong" "no dialog: $(screen)"
	reply
fi
t_done

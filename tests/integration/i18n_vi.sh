#!/usr/bin/env bash
# An officer's session in Vietnamese: LANG=vi_VN.UTF-8 and LANGUAGE=vi, the locale made by
# localedef in this test's own directory (LOCPATH; nothing system-wide), the catalog from
# the build tree (KYSO_LOCALEDIR). kysod, started in that session, shows the PIN
# dialog (the scripted pinentry records what it receives) in Vietnamese, correct UTF-8,
# and tells pinentry the session's locale (OPTION lc-ctype, lc-messages); its warnings
# after a wrong PIN, the batch dialog's plural, the confirmation too. What kysod sends
# over the socket, logs and writes in the audit log stays English; the kyso CLI says
# kysod's errors in Vietnamese from their names (and kysod's English details after
# them), its own errors and --help in Vietnamese; kyso-admin and kysod --help too. In
# the C locale everything stays English.
TOK_PIN=246810
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/pinentry.sh"
PY=/usr/bin/python3
VCALL=$T_TOP/tests/lib/vcall.py
WRONG=135791

if ! command -v localedef >/dev/null 2>&1 || [ ! -e /usr/share/i18n/locales/vi_VN ]; then
	t_skip "Vietnamese" "no locale sources for vi_VN (the locales package: packaging/deps.sh test)"
	t_done; exit 0
fi
LOC=$T_DIR/locale
mkdir -p "$LOC"
if ! localedef -i vi_VN -f UTF-8 "$LOC/vi_VN.UTF-8" >"$T_DIR/localedef.log" 2>&1; then
	t_flunk "localedef makes vi_VN.UTF-8 in the test's directory" "$(cat "$T_DIR/localedef.log")"
	t_done; exit 1
fi
t_pass "localedef makes vi_VN.UTF-8 in the test's directory (LOCPATH, not system-wide)"
export KYSO_LOCALEDIR=$BUILD/locale
# vi CMD...: CMD in the officer's Vietnamese session
vi() { env LOCPATH="$LOC" LANG=vi_VN.UTF-8 LANGUAGE=vi LC_ALL= LC_MESSAGES= "$@"; }
# en CMD...: CMD in the C locale (the catalog is there, nobody asks for it)
en() { env -u LANGUAGE LANG=C LC_ALL=C "$@"; }
utf8() { iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; }

# ---- --help ----
out=$(vi "$K" --help)
t_match "kyso --help in Vietnamese" 'Cách dùng: kyso \[--socket ĐƯỜNG_DẪN\] LỆNH' "$out"
t_match "  ... its commands too" 'sign-pdf +ký số các tệp PDF \(PAdES\)' "$out"
t_match "  ... and its exit statuses up to 12" '12 .kyso verify. thấy một chữ ký không hợp lệ' "$out"
t_ok "  ... valid UTF-8" utf8 <<<"$out"
t_match "kyso sign --help in Vietnamese" 'giá trị băm cần ký, dạng hex' "$(vi "$K" sign --help)"
t_match "kyso-admin --help in Vietnamese" 'Cách dùng: kyso-admin \[--module ĐƯỜNG_DẪN\]' \
	"$(vi "$BUILD/kyso-admin" --help)"
t_match "kysod --help in Vietnamese" 'Tác tử kyso: ký số bằng khóa trên thiết bị ký số' \
	"$(vi "$BUILD/kysod" --help)"
t_match "kyso-browser-host --help in Vietnamese" 'Trình kết nối native-messaging' \
	"$(vi "$BUILD/kyso-browser-host" --help)"
t_match "in the C locale: English" '^Usage: kyso \[--socket PATH\]' "$(en "$K" --help)"
out=$(vi "$K" sign --cert 0123456789abcdef --alg rsa-sha1 --digest 00 2>&1); rc=$?
t_eq "kyso's own errors in Vietnamese: an unknown --alg (exit 2)" 2 "$rc"
t_match "  ... naming the valid ones" "kyso sign: không có thuật toán 'rsa-sha1'; hãy dùng một trong: rsa-pkcs1v15" "$out"
out=$(vi env KYSO_SOCKET="$T_DIR/none.sock" "$K" tokens 2>&1); rc=$?
t_eq "no agent: exit 3" 3 "$rc"
t_match "  ... said in Vietnamese" "tác tử kyso không chạy \\(không có gì lắng nghe ở .*none.sock\\)" "$out"

# ---- kysod in the Vietnamese session ----
tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
pinentry_init
echo "pinentry_timeout = 20s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
LOCPATH=$LOC LANG=vi_VN.UTF-8 LANGUAGE=vi agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" ||
	{ t_flunk "start kysod"; t_done; exit 1; }
AUDIT=$XDG_STATE_HOME/kyso/audit.log
id=$(cert_id "$TOK_DIR/key1.crt.pem")
doc=$T_DIR/doc; echo "Công văn số 42" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
sign() {  # [EXTRA_JSON]
	$PY "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"Công văn 42\"${1:-}}"
}
sig_of() { $PY -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
field() { dialog_field 1 "$1"; }

script "pin $TOK_PIN"
r=$(sign)
printf '%s' "$r" | sig_of > "$T_DIR/s1.sig" 2>/dev/null
t_ok "a Sign without a PIN: the dialog's PIN signs (OpenSSL verifies)" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s1.sig" "$doc"
t_eq "  ... the dialog's title in Vietnamese" "kyso: mã PIN" "$(field title)"
desc=$(field desc)
t_match "  ... its text: who asks, with which certificate, on which token" \
	"Chương trình .* \\(pid [0-9]+\\) yêu cầu ký số bằng chứng thư số của bạn" "$desc"
t_match "  ... on the token, by label and serial" 'trên thiết bị ký số "officer" \(số sê-ri [0-9a-f]+\)' "$desc"
t_match "  ... the program's description, as its own words" 'Nội dung cần ký, theo lời của chương trình: "Công văn 42"' "$(tr '\n' ' ' <<<"$desc" | tr -s ' ')"
t_match "  ... and what to do" 'Nhập mã PIN của thiết bị ký số để ký\.' "$desc"
t_eq "  ... the PIN field and the buttons" "Mã PIN:|Ký|Hủy" "$(field prompt)|$(field ok)|$(field cancel)"
t_fail "  ... the UTF-8 arrived whole (no replacement character)" grep -q $'\xef\xbf\xbd' "$FAKE_PINENTRY_LOG"
t_eq "  ... pinentry is told the session's locale (OPTION lc-ctype, lc-messages)" \
	"vi_VN.UTF-8 vi_VN.UTF-8" "$(dialog_field 1 options | $PY -c 'import ast,sys; o=ast.literal_eval(sys.stdin.read()); print(o.get("lc-ctype"), o.get("lc-messages"))')"

# a wrong PIN: PinIncorrect (English on the wire), the next dialog warns in Vietnamese
"$K" lock >/dev/null 2>&1
script "pin $WRONG"
r=$(sign)
t_match "a wrong PIN: PinIncorrect" '"error":"io.kyso.Agent.PinIncorrect"' "$r"
t_ok "  ... the reply's message is English (the protocol's; clients translate by name)" \
	$PY -c 'import json,sys; m=json.loads(sys.argv[1])["parameters"].get("message",""); sys.exit(0 if m and m.isascii() else 1)' "$r"
script cancel
r=$(sign)
t_match "the next dialog warns that the last PIN was wrong, in Vietnamese" \
	'^Mã PIN vừa nhập không đúng\.( Chỉ còn ít lần thử trước khi mã PIN bị khóa\.)?$' "$(field error)"
t_match "cancelled: Cancelled, reason cancelled" '"error":"io.kyso.Agent.Cancelled".*"reason":"cancelled"' "$r"
t_match "  ... its message English" '"message":"the officer cancelled the PIN dialog"' "$r"
t_match "  ... and the audit log's record too" '"result":"io.kyso.Agent.Cancelled","message":"the request was cancelled: the PIN dialog was cancelled"' "$(tail -n 1 "$AUDIT")"
t_ok "  ... the audit log is all ASCII-English but for the program's description" \
	$PY -c 'import json,sys
for l in open(sys.argv[1]):
    o=json.loads(l); o.pop("description",None)
    assert json.dumps(o,ensure_ascii=False).isascii(), l' "$AUDIT"

# the kyso CLI: kysod's error in Vietnamese from its name, kysod's details after it
script cancel
out=$(vi "$K" sign --cert "$id" --alg ecdsa-sha256 --digest "$(openssl dgst -sha256 -hex "$doc" | sed 's/.*= //')" 2>&1 </dev/null); rc=$?
t_eq "kyso sign cancelled in the dialog: exit 9" 9 "$rc"
t_match "  ... says so in Vietnamese, from the error's name and reason" '^kyso: cán bộ đã hủy hộp thoại nhập mã PIN' "$out"
t_match "  ... then kysod's details, in English" "kyso: chi tiết từ kysod \\(bằng tiếng Anh\\): the officer cancelled the PIN dialog" "$out"
script cancel
out=$(en "$K" sign --cert "$id" --alg ecdsa-sha256 --digest "$(openssl dgst -sha256 -hex "$doc" | sed 's/.*= //')" 2>&1 </dev/null)
t_eq "  ... and in the C locale only kysod's sentence, as before" "kyso: the officer cancelled the PIN dialog" "$out"

# a batch: the dialog's plural, the CLI's report
for i in 1 2 3; do echo "văn bản $i" > "$T_DIR/d$i.txt"; done
mkdir -p "$T_DIR/out"
script "pin $TOK_PIN"
out=$(vi "$K" sign-cms --cert "$id" --out-dir "$T_DIR/out" --description "Ba công văn" \
	"$T_DIR/d1.txt" "$T_DIR/d2.txt" "$T_DIR/d3.txt" 2>&1 </dev/null); rc=$?
t_eq "kyso sign-cms of 3 files: exit 0" 0 "$rc"
t_match "  ... one dialog for the 3: 'yêu cầu ký số 3 văn bản'" 'yêu cầu ký số 3 văn bản bằng chứng thư số của bạn' "$(field desc)"
t_match "  ... naming them" 'Văn bản, theo tên chương trình đặt:' "$(field desc)"
t_match "  ... the CLI says what it signed, in Vietnamese" 'kyso: đã ký .*d1.txt -> .*d1.txt.p7s' "$out"
t_ok "  ... and the signatures verify (OpenSSL)" \
	openssl cms -verify -binary -inform DER -in "$T_DIR/out/d2.txt.p7s" -content "$T_DIR/d2.txt" -noverify -out /dev/null

# the worst case in Vietnamese: long names, a long description, 9 documents. The text
# must fit one Assuan line (1000 bytes with "SETDESC " and its %-escapes), its first
# line and its last whole: fewer names, cut in the middle, "và N văn bản khác"
"$K" lock >/dev/null 2>&1
long="Công văn số 42-2026 của Bộ Chỉ huy Quân sự tỉnh về việc triển khai nhiệm vụ huấn luyện năm"
files=()
mkdir -p "$T_DIR/vdocs"
for i in 1 2 3 4 5 6 7 8 9; do
	echo "văn bản dài $i" > "$T_DIR/vdocs/$long phần $i đính kèm.txt"; files+=("$long phần $i đính kèm.txt")
done
ldesc=$(printf 'Hồ sơ trình ký gồm các công văn, quyết định và tờ trình về công tác huấn luyện, sẵn sàng chiến đấu và bảo đảm hậu cần kỹ thuật của đơn vị %.0s' 1 2 3)
script "pin $TOK_PIN"
out=$(cd "$T_DIR/vdocs" && vi "$K" sign-cms --cert "$id" --out-dir "$T_DIR/out" --description "$ldesc" "${files[@]}" 2>&1 </dev/null); rc=$?
t_eq "kyso sign-cms of 9 files with long Vietnamese names: exit 0" 0 "$rc"
desc=$(field desc)
t_ok "  ... the dialog's text fits one Assuan line (SETDESC, escaped: at most 1000 bytes)" \
	$PY -c 'import sys; d=sys.argv[1].encode(); n=len(b"SETDESC ")+len(d)+2*sum(1 for b in d if b<0x20 or b in (0x25,0x7f)); print("# escaped:", n); sys.exit(n > 1000)' "$desc"
t_match "  ... its first line whole: who asks, 9 documents" 'yêu cầu ký số 9 văn bản bằng chứng thư số của bạn' "$desc"
t_match "  ... a name cut in the middle keeps its start and its end" '^  Công văn số 42-2026 [^/]*… 1 đính kèm\.txt$' "$desc"
t_match "  ... the others counted" 'và [0-9]+ văn bản khác' "$desc"
t_match "  ... and its last line whole: what to do" 'Nhập mã PIN của thiết bị ký số để ký\.$' "$desc"

# the confirmation dialog (confirm = yes)
"$K" lock >/dev/null 2>&1
agent_stop
echo "confirm = yes" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
LOCPATH=$LOC LANG=vi_VN.UTF-8 LANGUAGE=vi agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" ||
	{ t_flunk "start kysod again"; t_done; exit 1; }
script refuse
r=$(sign ",\"pin\":\"$TOK_PIN\"")
t_match "confirm = yes: refused in the confirmation dialog" '"reason":"refused"' "$r"
t_eq "  ... whose title and buttons are Vietnamese" "kyso: xác nhận ký số|Ký|Từ chối" \
	"$(field title)|$(field ok)|$(field cancel)"
t_match "  ... and its question" 'Ký\?$' "$(field desc)"

# kysod's log stays English
t_ok "kysod's log is English" grep -q "sign with certificate" "$T_DIR/kysod.log"
t_fail "  ... without a Vietnamese word" grep -q -E 'thiết bị|mã PIN|chứng thư' "$T_DIR/kysod.log"
t_agent_stops
t_done

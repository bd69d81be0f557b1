#!/usr/bin/env bash
# A batch of documents under one consent (SignDocuments): one PIN dialog for 50 documents
# (the scripted pinentry counts them) and 50 audit records; Cancel in the dialog; a key
# that wants the PIN for every signature cancelled in the middle; the client hanging up
# in the middle of a batch and during a dialog; the token pulled out in the middle; a
# Lock while a document is at the token (nothing signs after it); confirm = yes asking once; libkyso's kyso_batch_* API. The token is SoftHSM behind the
# tests' fault module (delays, removal, a trace of every Cryptoki call).
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
VCALL=$T_TOP/tests/lib/vcall.py
FAKE=$T_TOP/tests/tools/fake-pinentry
PY=/usr/bin/python3
AUDIT=$XDG_STATE_HOME/kyso/audit.log

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 &&
	tok_key officer 02 ec:p256 qualified always-auth && tok_ca officer ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 officer
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
: > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"
echo "pinentry_timeout = 20s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }

id=$(cert_id "$TOK_DIR/key1.crt.pem")
qid=$(cert_id "$TOK_DIR/qualified.crt.pem")
CA=$TOK_DIR/ca.crt
script() { printf '%s\n' "$@" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"; }
dialogs() { grep -c . "$FAKE_PINENTRY_LOG" || true; }
dialog_field() {  # N FIELD: a field of dialog N (1 = the first)
	sed -n "${1}p" "$FAKE_PINENTRY_LOG" | $PY -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$2"
}
ossl_verify() {  # P7S CONTENT
	openssl cms -verify -binary -inform DER -in "$1" -content "$2" -CAfile "$CA" -out /dev/null 2>/dev/null
}
# count_records STRING...: records holding all the strings
count_records() {
	local tmp=$T_DIR/rec.sel s
	cp "$AUDIT" "$tmp"
	for s in "$@"; do grep -F -- "$s" "$tmp" > "$tmp.n" || true; mv "$tmp.n" "$tmp"; done
	grep -c . "$tmp" || true
}
# t_wait CMD...: until CMD succeeds, at most 30 s (a sign of readiness, not a fixed wait)
mkdir -p "$T_DIR/in" "$T_DIR/out"

# ---- 50 documents, one PIN dialog ----
for i in $(seq -w 1 50); do echo "letter $i of the week" > "$T_DIR/in/letter-$i.txt"; done
script "pin $TOK_PIN"
: > "$KYSO_FAULTY_TRACE"
n0=$(dialogs)
$K sign-cms --cert "${id:0:16}" --description "letters of the week" --out-dir "$T_DIR/out" \
	"$T_DIR"/in/letter-*.txt </dev/null 2>"$T_DIR/err"; rc=$?
t_eq "a batch of 50 through kyso sign-cms: exit 0" 0 "$rc"
t_eq "  ... the fake pinentry saw exactly one dialog" 1 "$(( $(dialogs) - n0 ))"
t_eq "  ... a PIN dialog, and the token one C_Login" "GETPIN 1" \
	"$(dialog_field $((n0 + 1)) cmd) $(mock_calls C_Login)"
desc=$(dialog_field $((n0 + 1)) desc | tr '\n' ' ')
t_match "  ... naming the program (from the socket's credentials) and the count" \
	"The program $BUILD/kyso \\(pid [0-9]+\\) asks to sign 50 documents with your certificate" "$desc"
t_match "  ... listing the first names and how many more" \
	"letter-01.txt .*letter-05.txt .*and 45 more" "$desc"
t_match "  ... the certificate, the token, and the program's words" \
	'CN *= *key1 officer|CN=key1 officer.*token "officer".*in the program.s own words: *"letters of the week"' "$desc"
t_match "  ... asking to sign them all" 'Enter the PIN of the token to sign them all' "$desc"
ok=0
for i in $(seq -w 1 50); do
	ossl_verify "$T_DIR/out/letter-$i.txt.p7s" "$T_DIR/in/letter-$i.txt" && ok=$((ok + 1))
done
t_eq "  ... 50 signatures, each verified by OpenSSL over its letter" 50 "$ok"
t_eq "  ... 50 signatures on the token (C_SignInit)" 50 "$(mock_calls C_SignInit)"
batch=$(grep -F '"document":"'"$T_DIR/in/letter-01.txt" "$AUDIT" | grep -o '"batch":"[0-9a-f]*"' | tail -n 1)
t_eq "  ... 50 audit records, granted, with one batch id" 50 \
	"$(count_records "$batch" '"result":"granted"' '"method":"io.kyso.Agent.SignDocuments"')"
t_eq "  ... each naming its own document" 50 \
	"$(grep -F "$batch" "$AUDIT" | grep -o '"document":"[^"]*"' | sort -u | wc -l)"

# ---- Cancel in the dialog ----
$K lock >/dev/null
script cancel
n0=$(dialogs)
mkdir -p "$T_DIR/out2"
$K sign-cms --cert "${id:0:16}" --out-dir "$T_DIR/out2" "$T_DIR"/in/letter-0[1-5].txt </dev/null \
	2>"$T_DIR/err"; rc=$?
t_eq "Cancel in the batch's PIN dialog: kyso sign-cms exits 9" 9 "$rc"
t_match "  ... saying that none was signed and why" \
	'0 of 5 documents signed; the batch stopped: cancelled' "$(cat "$T_DIR/err")"
t_eq "  ... one dialog, nothing written" "1 0" "$(( $(dialogs) - n0 )) $(ls "$T_DIR/out2" | wc -l)"
cbatch=$(grep -F '"document":"'"$T_DIR/in/letter-05.txt" "$AUDIT" | tail -n 1 | grep -o '"batch":"[0-9a-f]*"')
t_eq "  ... five audit records say Cancelled" 5 \
	"$(count_records "$cbatch" '"result":"io.kyso.Agent.Cancelled"')"

# ---- a key that wants the PIN for every signature, cancelled at the third ----
$K lock >/dev/null
script "pin $TOK_PIN" "pin $TOK_PIN" cancel
n0=$(dialogs)
docs=
for i in 1 2 3 4; do
	d=$(openssl dgst -sha256 -binary "$T_DIR/in/letter-0$i.txt" | base64 -w0)
	docs="$docs${docs:+,}{\"name\":\"letter-0$i.txt\",\"digest\":\"$d\",\"digest_algorithm\":\"sha256\"}"
done
r=$($PY "$VCALL" call io.kyso.Agent.SignDocuments "{\"certificate\":\"$qid\",\"documents\":[$docs]}")
summary=$(echo "$r" | $PY -c 'import json,sys; p=json.load(sys.stdin)["parameters"]; print(p["signed"], p["failed"], p.get("stopped"), " ".join("cms" if "cms" in d else d["error"].split(".")[-1] for d in p["documents"]))')
t_eq "always-authenticate key, Cancel at the 3rd of 4: the reply says which were signed" \
	"2 2 cancelled cms cms Cancelled Cancelled" "$summary"
t_match "  ... the 3rd: the officer cancelled; the 4th: not attempted" \
	'"index":2,"name":"letter-03.txt","error":"io.kyso.Agent.Cancelled","message":"the officer cancelled the PIN dialog".*"index":3,.*not signed: the batch stopped before this document \(cancelled\)' "$r"
for i in 0 1; do
	echo "$r" | $PY -c 'import json,sys,base64; open(sys.argv[2],"wb").write(base64.b64decode(json.load(sys.stdin)["parameters"]["documents"][int(sys.argv[1])]["cms"]))' "$i" "$T_DIR/q$i.p7s"
done
t_ok "  ... the two signed verify with OpenSSL" sh -c "openssl cms -verify -binary -inform DER -in '$T_DIR/q0.p7s' -content '$T_DIR/in/letter-01.txt' -CAfile '$CA' -out /dev/null 2>/dev/null && openssl cms -verify -binary -inform DER -in '$T_DIR/q1.p7s' -content '$T_DIR/in/letter-02.txt' -CAfile '$CA' -out /dev/null 2>/dev/null"
t_eq "  ... three PIN dialogs, one per signature the token demanded" 3 "$(( $(dialogs) - n0 ))"
t_match "  ... the second names its document: 2 of 4" \
	'needs the PIN for every signature.*document 2 of 4: *letter-02.txt' "$(dialog_field $((n0 + 2)) desc | tr '\n' ' ')"

# ---- libkyso: kyso_batch_* ----
cc -std=c11 -Wall -Werror $(ldd "$BUILD/libkyso.so" | grep -q libasan && echo -fsanitize=address,undefined) \
	-I"$T_TOP/client" -I"$T_TOP/common" -o "$T_DIR/batch_client" "$T_TOP/tests/integration/c/batch_client.c" \
	-L"$BUILD" -lkyso -Wl,-rpath,"$BUILD" 2>"$T_DIR/cc.err"
t_ok "a C program using kyso_batch_* builds" test -x "$T_DIR/batch_client"
for i in 1 2 3 4 5; do
	echo "memo-$i $(openssl dgst -sha256 -binary "$T_DIR/in/letter-0$i.txt" | xxd -p -c 64)"
done > "$T_DIR/five.txt"
mkdir -p "$T_DIR/lib"
out=$("$T_DIR/batch_client" "$id" "$T_DIR/lib" 0 < "$T_DIR/five.txt" 2>&1)
t_match "kyso_sign_batch: KYSO_OK, the batch id, no stop" "rc 0 \\(ok\\) stopped '' batch '[0-9a-f]{16}'" "$out"
t_match "  ... the progress callback saw each document" 'progress 5/5 signed' "$out"
t_match "  ... before signing, a result is KYSO_ERR_INVALID_ARG; out of range too" \
	'before: count 5 result -2.*out of range: -2' "$(echo "$out" | tr '\n' ' ')"
ok=0
for i in 0 1 2 3 4; do ossl_verify "$T_DIR/lib/$i.p7s" "$T_DIR/in/letter-0$((i + 1)).txt" && ok=$((ok + 1)); done
t_eq "  ... the five CMS from kyso_batch_result verify" 5 "$ok"

# ---- the client hangs up in the middle of a batch ----
mock_rule 'C_Sign delay 100 officer'
for i in $(seq -w 1 30); do
	echo "gone-$i $(openssl dgst -sha256 -binary "$T_DIR/in/letter-$i.txt" | xxd -p -c 64)"
done > "$T_DIR/thirty.txt"
out=$("$T_DIR/batch_client" "$id" "$T_DIR/lib" 3 < "$T_DIR/thirty.txt" 2>&1)
t_match "the program stops the batch after 3 documents (its callback): KYSO_ERR_CANCELLED" \
	"rc -39 .*3 of 30 documents signed; the program stopped the batch.*stopped 'disconnected'" \
	"$(echo "$out" | tr '\n' ' ')"
hangup_done() { [ "$(count_records '"document":"gone-' )" -ge 30 ]; }
t_ok "  ... kysod records all 30 documents" t_wait hangup_done
granted=$(count_records '"document":"gone-' '"result":"granted"')
t_ok "  ... it stopped between documents: $granted signed, at most 3 + 4 queued + 1" \
	test "$granted" -ge 3 -a "$granted" -le 8
gone=$(count_records '"document":"gone-' '"result":"io.kyso.Agent.Cancelled"' 'disconnected')
t_eq "  ... the others are recorded as not signed: disconnected" $((30 - granted)) "$gone"
[ "$gone" = $((30 - granted)) ] ||
	grep -F '"document":"gone-' "$AUDIT" | grep -v '"result":"granted"' | grep -v disconnected | sed 's/^/#   /'
t_match "  ... its log says why the batch stopped" "of 30 document\\(s\\) signed; stopped: disconnected" \
	"$(cat "$T_DIR/kysod.log")"
t_ok "  ... and kysod goes on serving" $K tokens
mock_unrule 'C_Sign'

# ---- the client hangs up while a dialog is open ----
script hang
n0=$(dialogs)
d=$(openssl dgst -sha256 -binary "$T_DIR/in/letter-01.txt" | base64 -w0)
$PY - "$qid" "$d" "$FAKE_PINENTRY_LOG" "$n0" <<'PY' &
import json, os, socket, sys, time
qid, dig, log, n0 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(os.environ["KYSO_SOCKET"])
docs = [{"name": "vanish-%d.txt" % i, "digest": dig, "digest_algorithm": "sha256"} for i in range(3)]
s.sendall(json.dumps({"method": "io.kyso.Agent.SignDocuments",
                      "parameters": {"certificate": qid, "documents": docs}}).encode() + b"\0")
for _ in range(300):  # until the dialog is open
    if sum(1 for _ in open(log)) > n0:
        break
    time.sleep(0.1)
s.close()
PY
wait $!
dialog_gone() { [ -z "$(agent_dialogs)" ]; }
vanished() { [ "$(count_records '"document":"vanish-')" -ge 3 ]; }
t_ok "the client hangs up during an always-authenticate key's dialog: the dialog is closed" t_wait dialog_gone
t_ok "  ... and the three documents are recorded" t_wait vanished
t_eq "  ... none signed: the first's dialog closed as the client went, the others not attempted" \
	"1 2" "$(count_records '"document":"vanish-0' '"result":"io.kyso.Agent.Cancelled"' \
	'the client closed its connection: its dialog was closed') $(count_records \
	'"document":"vanish-' '"result":"io.kyso.Agent.Cancelled"' 'stopped before this document (disconnected)')"
t_ok "  ... kysod goes on serving" $K tokens

# ---- Lock stops a batch, also when the worker has taken every queued document ----
# Lock ends the documents queued on the token; those the worker has already signed but
# the loop has not yet taken back are not queued: the loop must not go on queueing
# others after Lock (with the client's PIN they would log in again unasked). A heavy call
# held back by its last byte is released together with the Lock, so that the loop reads
# both at once and the worker has time to sign what it holds: the batch must say locked.
# The sign that the batch is under way is its 30th record in the audit log (written as each
# document is signed; the progress replies wait for the records' sync, up to 250 ms).
mock_unrule 'C_Sign'
lock_race() {  # prints the batch's signed count and stopped reason
	$PY - "$id" "$TOK_PIN" "$AUDIT" <<'PY'
import base64, hashlib, json, os, socket, sys, time
cert, pin, audit = sys.argv[1], sys.argv[2], sys.argv[3]
start = os.path.getsize(audit)
def records():
    with open(audit, "rb") as f:
        f.seek(start)
        return f.read().count(b'"document":"lk-')
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(os.environ["KYSO_SOCKET"]); return s
dig = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
heavy = json.dumps({"method": "io.kyso.Agent.SignDocuments", "parameters": {"certificate":
    "ffffffffffffffff", "documents": [{"name": "h%04d" % i, "digest": dig,
    "digest_algorithm": "sha256"} for i in range(1000)]}}).encode()
h = conn(); h.sendall(heavy)  # all but its NUL
lk = conn()
s = conn()
s.sendall(json.dumps({"method": "io.kyso.Agent.SignDocuments", "more": True, "parameters":
    {"certificate": cert, "pin": pin, "documents": [{"name": "lk-%04d" % i, "digest": dig,
    "digest_algorithm": "sha256"} for i in range(300)]}}).encode() + b"\0")
while records() < 30:
    time.sleep(0.001)
h.send(b"\0"); lk.send(b'{"method":"io.kyso.Agent.Lock","parameters":{}}\0')
buf = b""
while True:
    while b"\0" not in buf:
        c = s.recv(1 << 20)
        if not c:
            print("closed"); sys.exit()
        buf += c
    m, buf = buf.split(b"\0", 1)
    p = json.loads(m).get("parameters", {})
    if "progress" in p:
        continue
    print(p.get("signed"), p.get("stopped")); break
PY
}
res=
for _ in 1 2 3 4 5 6 7 8; do
	echo "$TOK_PIN" | $K login --token officer --pin-stdin >/dev/null 2>&1
	r=$(lock_race)
	res="$res${res:+, }$r"
	case $r in *locked) ;; *) break ;; esac
done
t_match "Lock in the middle of a batch of 300 stops it, every time (8 tries)" \
	'^[0-9]+ locked(, [0-9]+ locked)*$' "$res"

# ---- the token is pulled out in the middle ----
echo "$TOK_PIN" | $K login --token officer --pin-stdin >/dev/null 2>&1
mock_rule 'C_Sign delay 200 officer'
docs=
for i in $(seq -w 1 20); do
	d=$(openssl dgst -sha256 -binary "$T_DIR/in/letter-$i.txt" | base64 -w0)
	docs="$docs${docs:+,}{\"name\":\"pulled-$i.txt\",\"digest\":\"$d\",\"digest_algorithm\":\"sha256\"}"
done
$PY "$VCALL" call io.kyso.Agent.SignDocuments "{\"certificate\":\"$id\",\"documents\":[$docs]}" \
	> "$T_DIR/pulled.json" &
vpid=$!
two_signed() { [ "$(count_records '"document":"pulled-' '"result":"granted"')" -ge 2 ]; }
t_wait two_signed
mock_slot 1 -
wait $vpid
r=$(cat "$T_DIR/pulled.json")
t_match "the token pulled out in the middle: stopped token-removed" '"stopped":"token-removed"' "$r"
signed=$(echo "$r" | $PY -c 'import json,sys; print(json.load(sys.stdin)["parameters"]["signed"])')
t_ok "  ... some were signed before ($signed), not all" test "$signed" -ge 2 -a "$signed" -lt 20
t_match "  ... the first unsigned one says the token is not present" \
	'"error":"io.kyso.Agent.TokenNotPresent"' "$r"
t_eq "  ... 20 audit records" 20 "$(count_records '"document":"pulled-')"
mock_unrule 'C_Sign'
mock_slot 1 officer
back() { $K tokens 2>/dev/null | grep -q officer; }
t_wait back

# ---- a batch racing a Lock: its first document at the token (in a token call, no dialog)
# when Lock comes; nothing of the batch may log in or sign after the Lock ----
$K lock >/dev/null
mock_rule 'C_GetSessionInfo delay 60000 officer'
: > "$KYSO_FAULTY_TRACE"
docs=
for i in 1 2 3 4 5 6; do
	d=$(openssl dgst -sha256 -binary "$T_DIR/in/letter-0$i.txt" | base64 -w0)
	docs="$docs${docs:+,}{\"name\":\"racing-$i.txt\",\"digest\":\"$d\",\"digest_algorithm\":\"sha256\"}"
done
$PY "$VCALL" call io.kyso.Agent.SignDocuments \
	"{\"certificate\":\"$id\",\"pin\":\"$TOK_PIN\",\"documents\":[$docs]}" > "$T_DIR/racing.json" &
vpid=$!
t_wait eval 'grep -q "^C_GetSessionInfo officer" "$KYSO_FAULTY_TRACE"'
l0=$(grep -c 'Lock: ' "$T_DIR/kysod.log" || true)
$K lock > "$T_DIR/racing-lock.out" 2>&1 &
lpid=$!
t_wait eval '[ "$(grep -c "Lock: " "$T_DIR/kysod.log")" -gt "$l0" ]'  # the agent took it
mock_unrule 'C_GetSessionInfo delay'
wait $vpid $lpid
r=$(cat "$T_DIR/racing.json")
t_match "a batch whose document is in a token call when Lock comes: stopped locked, none signed" \
	'"signed":0,.*"stopped":"locked"|"stopped":"locked".*"signed":0' "$r"
t_match "  ... that document: Cancelled, ended before it was served" \
	'"name":"racing-1.txt","error":"io.kyso.Agent.Cancelled","message":"the request was ended before it was served' "$r"
t_eq "  ... nothing logged in nor signed after the Lock" "0 0" "$(mock_calls C_Login) $(mock_calls C_Sign)"
t_eq "  ... six records, none granted" "6 0" \
	"$(count_records '"document":"racing-') $(count_records '"document":"racing-' '"result":"granted"')"

# ---- confirm = yes: one confirmation for the batch ----
agent_stop
printf 'confirm = yes\nlogin_cache = no\n' >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" || { t_flunk "restart kysod"; t_done; exit 1; }
script confirm "pin $TOK_PIN"
n0=$(dialogs)
: > "$KYSO_FAULTY_TRACE"
mkdir -p "$T_DIR/out3"
$K sign-cms --cert "${id:0:16}" --out-dir "$T_DIR/out3" "$T_DIR"/in/letter-0[1-5].txt </dev/null \
	2>"$T_DIR/err"; rc=$?
t_eq "confirm = yes, token logged out: 5 documents, exit 0" 0 "$rc"
t_eq "  ... one confirmation, then one PIN dialog" "CONFIRM GETPIN" \
	"$(dialog_field $((n0 + 1)) cmd) $(dialog_field $((n0 + 2)) cmd)"
t_eq "  ... and no more" 2 "$(( $(dialogs) - n0 ))"
t_eq "  ... login_cache = no: each document logged in and out, with the one PIN" "5 5" \
	"$(mock_calls C_Login) $(mock_calls C_Logout)"
t_match "  ... and the token is not left logged in" '"logged_in":false' \
	"$($PY "$VCALL" call io.kyso.Agent.ListTokens)"
t_match "  ... the confirmation asks for the five" 'asks to sign 5 documents.*Sign them all\?' \
	"$(dialog_field $((n0 + 1)) desc | tr '\n' ' ')"
script refuse
$K sign-cms --cert "${id:0:16}" --force --out-dir "$T_DIR/out3" "$T_DIR"/in/letter-0[1-3].txt \
	</dev/null 2>"$T_DIR/err"; rc=$?
t_eq "the officer refuses the confirmation: exit 9, the batch stopped: refused" "9 1" \
	"$rc $(grep -c 'the batch stopped: refused' "$T_DIR/err")"
t_eq "no PIN anywhere in the logs" 0 "$(cat "$AUDIT" "$T_DIR/kysod.log" | grep -c "$TOK_PIN")"
t_agent_stops
t_done

#!/usr/bin/env bash
# The audit log, end to end through kysod: one JSON line per Sign request, granted or
# refused (the caller's uid, pid and executable, the token, the certificate, the
# algorithm, the hash signed, the client's description, the result), mode 0600 in a
# 0700 directory (one others could write to, or a file of theirs, is refused: kysod does
# not start, or answers AuditFailed); kyso audit shows and filters it; no signature leaves the agent without
# its record (the log replaced by a directory; as root, a full tmpfs in a private mount
# namespace: no half line either); no PIN in the audit log, the agent's log, nor a core
# of kysod (gcore), which disables core dumps and is not dumpable.
# The token is SoftHSM behind the tests' fault module (a trace of every Cryptoki call).
TOK_PIN=K7zq9Wv2
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
VCALL=$T_TOP/tests/lib/vcall.py
FAKE=$T_TOP/tests/tools/fake-pinentry
WRONG=Wr0ngPq3
DLG_PIN=D1alog5x  # the PIN of the second token, typed into the (fake) dialog

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 ec1 &&
	tok_key officer 02 rsa:2048 rsa1 && TOK_PIN=$DLG_PIN tok_create dialog &&
	TOK_PIN=$DLG_PIN tok_key dialog 03 ec:p256 dlg1 ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
mock_env "$T_DIR/mock"
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
: > "$FAKE_PINENTRY_SCRIPT"
agent_start --module "$MOCK_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }

LOG=$XDG_STATE_HOME/kyso/audit.log
ec=$(cert_id "$TOK_DIR/ec1.crt.pem")
rsa=$(cert_id "$TOK_DIR/rsa1.crt.pem")
dlg=$(cert_id "$TOK_DIR/dlg1.crt.pem")
doc=$T_DIR/doc; printf 'the document\nof the audit test\n' > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
dighex=$(sha256sum "$doc" | cut -d' ' -f1)
data=$(base64 -w0 "$doc")
python=$(python3 -c "import os,sys; print(os.path.realpath(sys.executable))")
serial=$(python3 "$VCALL" call io.kyso.Agent.ListTokens | python3 -c '
import json,sys
print([t["serial"] for t in json.load(sys.stdin)["parameters"]["tokens"] if t["label"] == "officer"][0])')
uid=$(id -u)

# vsign PARAMS_JSON: a Sign through vcall.py; the reply in R, the caller's pid in P
vsign() {
	python3 "$VCALL" call io.kyso.Agent.Sign "$1" > "$T_DIR/reply" &
	P=$!
	wait "$P"
	R=$(cat "$T_DIR/reply")
}
sig_of() { python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
nlines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
reply_message() { printf '%s' "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("parameters",{}).get("message",""))'; }

# rec FILE N CHECK...: checks line N of FILE (negative: from the end); prints what is
# wrong, nothing if all is right. CHECK: key=value (equal; numbers as text), key~regex,
# key! (absent), key? (present, not empty). Also: the file ends with a newline and
# every line is a JSON object.
cat > "$T_DIR/rec.py" <<'PY'
import json, re, sys
path, n, checks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
raw = open(path, "rb").read()
bad = []
if raw and not raw.endswith(b"\n"):
    bad.append("the file does not end with a newline")
lines = raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n")
for i, l in enumerate(lines):
    try:
        if not isinstance(json.loads(l), dict):
            raise ValueError
    except ValueError:
        bad.append("line %d is not a JSON object: %r" % (i + 1, l[:120]))
try:
    o = json.loads(lines[n - 1 if n > 0 else n])
except IndexError:
    print("no line %d (%d lines)" % (n, len(lines)))
    sys.exit(0)
for c in checks:
    m = re.match(r"^(\w+)(=|~|!|\?)(.*)$", c, re.S)
    k, op, v = m.group(1), m.group(2), m.group(3)
    got = o.get(k)
    if op == "!" and k in o:
        bad.append("%s: expected absent, got %r" % (k, got))
    elif op == "?" and not got:
        bad.append("%s: missing or empty" % k)
    elif op == "=" and (got is None or str(got) != v):
        bad.append("%s: expected %r, got %r" % (k, v, got))
    elif op == "~" and not (isinstance(got, str) and re.search(v, got)):
        bad.append("%s: no match for /%s/ in %r" % (k, v, got))
print("; ".join(bad))
PY
rec() { python3 "$T_DIR/rec.py" "$@"; }

# ---- the file ----
t_ok "kysod made the audit log at start ($LOG)" test -f "$LOG"
t_eq "  ... mode 0600" 600 "$(stat -c %a "$LOG")"
t_eq "  ... in a directory of mode 0700" 700 "$(stat -c %a "$(dirname "$LOG")")"

# ---- granted: a digest, and data ----
DESC=$'Order "7" of 2026\nsecond line: \\ and \t tab'
n0=$(nlines "$LOG")
vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\",\"description\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$DESC")}"
P1=$P
printf '%s' "$R" | sig_of > "$T_DIR/s1.sig" 2>/dev/null
t_ok "Sign (digest, P-256) is granted (OpenSSL verifies)" \
	verify_sig ecdsa-sha256 "$TOK_DIR/ec1.pub.pem" "$T_DIR/s1.sig" "$doc"
t_eq "  ... one line more in the audit log, though the description has a newline" \
	$((n0 + 1)) "$(nlines "$LOG")"
t_eq "  ... with the caller, the token, the certificate, the hash and the description" "" \
	"$(rec "$LOG" -1 "time~^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$" \
		"uid=$uid" "pid=$P1" "exe=$python" "method=io.kyso.Agent.Sign" \
		"token_serial=$serial" "token_label=officer" "certificate=$ec" \
		"subject~(^|,)CN=ec1 officer(,|$)" "algorithm=ecdsa-sha256" "digest=$dighex" \
		"digest_alg=sha256" "description=$DESC" "result=granted" "message!")"
t_match "  ... the newline, quotes and tab escaped inside the line" \
	'"description":"Order \\"7\\" of 2026\\nsecond line: \\\\ and \\t tab"' "$(tail -n 1 "$LOG")"
fields=$(tail -n 1 "$LOG" | python3 -c 'import json,sys; print(",".join(json.loads(sys.stdin.read())))')
t_eq "  ... the fields in the documented order" \
	"time,uid,pid,exe,method,token_serial,token_label,certificate,subject,algorithm,digest,digest_alg,description,result" \
	"$fields"

DESC2=$'payroll "March"\nbatch 2'
vsign "{\"certificate\":\"$rsa\",\"algorithm\":\"rsa-pkcs1v15-sha256\",\"data\":\"$data\",\"description\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$DESC2")}"
P2=$P
printf '%s' "$R" | sig_of > "$T_DIR/s2.sig" 2>/dev/null
t_ok "Sign with \"data\" (RSA-2048) is granted (OpenSSL verifies)" \
	verify_sig rsa-pkcs1v15-sha256 "$TOK_DIR/rsa1.pub.pem" "$T_DIR/s2.sig" "$doc"
t_eq "  ... one line more" $((n0 + 2)) "$(nlines "$LOG")"
t_eq "  ... its digest is the SHA-256 of the document the agent hashed" "" \
	"$(rec "$LOG" -1 "uid=$uid" "pid=$P2" "exe=$python" "token_label=officer" \
		"certificate=$rsa" "subject~CN=rsa1 officer" "algorithm=rsa-pkcs1v15-sha256" \
		"digest=$dighex" "digest_alg=sha256" "description=$DESC2" "result=granted")"

# ---- refused requests are recorded too ----
refused() {  # DESC ERROR PARAMS CHECK...
	local desc=$1 err=$2 params=$3 n msg; shift 3
	n=$(nlines "$LOG")
	vsign "$params"
	msg=$(reply_message)
	t_match "$desc → $err" "\"error\":\"io.kyso.Agent.$err\"" "$R"
	t_eq "  ... recorded: result $err, with the caller and a message" "" \
		"$(rec "$LOG" -1 "result=io.kyso.Agent.$err" "message?" "uid=$uid" "pid=$P" \
			"exe=$python" "method=io.kyso.Agent.Sign" "$@")"
	t_eq "  ... one line" $((n + 1)) "$(nlines "$LOG")"
	REC_MSG=$(tail -n 1 "$LOG" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get("message",""))')
	REPLY_MSG=$msg
}
nocert=$(printf 'ab%.0s' $(seq 32))
refused "unknown certificate" NoSuchCertificate \
	"{\"certificate\":\"$nocert\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"ghost\"}" \
	"certificate!" "algorithm=ecdsa-sha256" "description=ghost" "digest=$dighex" \
	"digest_alg=sha256"
t_eq "  ... the message is the reply's" "$REPLY_MSG" "$REC_MSG"
$K lock >/dev/null 2>&1
refused "wrong PIN" PinIncorrect \
	"{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$WRONG\"}" \
	"certificate=$ec" "token_label=officer" "token_serial=$serial" "algorithm=ecdsa-sha256" \
	"digest=$dighex" "message~[Ii]ncorrect"
short=$(head -c 20 "$doc" | base64 -w0)
refused "a 20-byte digest for ecdsa-sha256" InvalidDigest \
	"{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$short\",\"pin\":\"$TOK_PIN\"}" \
	"certificate=$ec" "token_label=officer" "algorithm=ecdsa-sha256" "message~32-byte" \
	"digest!"
t_eq "  ... the message is the reply's" "$REPLY_MSG" "$REC_MSG"
refused "an RSA algorithm for a P-256 key" UnsupportedAlgorithm \
	"{\"certificate\":\"$ec\",\"algorithm\":\"rsa-pss-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\"}" \
	"certificate=$ec" "subject~CN=ec1 officer" "algorithm=rsa-pss-sha256" "message~rsa-pss-sha256" \
	"digest=$dighex"
t_eq "  ... the message is the reply's" "$REPLY_MSG" "$REC_MSG"
refused "an unknown algorithm" UnsupportedAlgorithm \
	"{\"certificate\":\"$ec\",\"algorithm\":\"foo-sha256\",\"digest\":\"$dig\"}" \
	"certificate=$ec" "algorithm=foo-sha256" "message~unknown algorithm" "digest!"

# ---- kyso audit ----
prog="$(basename "$python")[$P1]"
out=$($K audit 2>"$T_DIR/audit.err")
t_eq "kyso audit: exit 0, nothing on stderr" "0 " "$? $(cat "$T_DIR/audit.err")"
t_match "  ... a table with a header" '^TIME +RESULT +PROGRAM +CERTIFICATE +ALGORITHM +DOCUMENT / DESCRIPTION' "$out"
t_eq "  ... one row per record" "$(nlines "$LOG")" "$(printf '%s\n' "$out" | tail -n +2 | grep -c .)"
row=$(printf '%s\n' "$out" | grep -F "$prog" | grep -F "ec1 officer" | grep -F "ecdsa-sha256" |
	grep -F 'Order "7" of 2026 second line' | grep -c granted)
t_eq "  ... the digest Sign: the program[pid], the subject's CN, the algorithm, the description (its newline a space)" 1 "$row"
row=$(printf '%s\n' "$out" | grep -F "$(basename "$python")[$P2]" | grep -F "rsa1 officer" |
	grep -F "rsa-pkcs1v15-sha256" | grep -F 'payroll "March" batch 2' | grep -c granted)
t_eq "  ... the data Sign" 1 "$row"
t_match "  ... refusals by their short error names" 'PinIncorrect.*ec1 officer' "$out"
t_match "  ... a refusal without a certificate" 'NoSuchCertificate .* - +ecdsa-sha256 +ghost' "$out"

# how many records have FIELD = VALUE (or, with !, another value)
count_log() { python3 -c '
import json,sys
k, v, neg = sys.argv[2], sys.argv[3], sys.argv[4] == "!"
print(sum(1 for l in open(sys.argv[1]) if (json.loads(l).get(k) == v) != neg))' "$LOG" "$1" "$2" "${3:-}"; }
# the records of a JSON array on stdin: COUNT, then whether each has FIELD = VALUE (or !)
json_all() { python3 -c '
import json,sys
a = json.load(sys.stdin); k, v, neg = sys.argv[1], sys.argv[2], sys.argv[3] == "!"
print(len(a), all((o.get(k) == v) != neg for o in a) if k else True)' "$1" "$2" "${3:-}"; }

js=$($K audit --json)
t_eq "kyso audit --json: an array of every record" "$(nlines "$LOG") True" \
	"$(printf '%s' "$js" | json_all "" "")"
t_eq "  ... the same objects as the file's lines" "True" "$(printf '%s' "$js" | python3 -c '
import json,sys
print(json.load(sys.stdin) == [json.loads(l) for l in open(sys.argv[1])])' "$LOG")"
n_ec=$(count_log certificate "$ec")
t_eq "kyso audit --cert PREFIX --json: only that certificate's $n_ec records" "$n_ec True" \
	"$($K audit --cert "${ec:0:12}" --json | json_all certificate "$ec")"
out=$($K audit --cert "${rsa:0:10}")
t_eq "kyso audit --cert PREFIX: a table of that certificate's rows" "1 0" \
	"$(printf '%s\n' "$out" | grep -c 'rsa1 officer') $(printf '%s\n' "$out" | grep -c 'ec1 officer')"
n_ref=$(count_log result granted !)
t_eq "kyso audit --result refused --json: the $n_ref refusals only" "$n_ref True" \
	"$($K audit --result refused --json | json_all result granted !)"
out=$($K audit --result refused)
t_eq "kyso audit --result refused: no granted row, $n_ref rows" "0 $n_ref" \
	"$(printf '%s\n' "$out" | grep -c ' granted ') $(printf '%s\n' "$out" | tail -n +2 | grep -c .)"
t_eq "kyso audit --result PinIncorrect --json: one" "1 True" \
	"$($K audit --result PinIncorrect --json | json_all result io.kyso.Agent.PinIncorrect)"
t_eq "kyso audit --cert with a non-matching prefix: no record" "No record matches." \
	"$($K audit --cert 0000000000)"

# ---- no PIN in a core of kysod ----
printf 'pin %s\n' "$DLG_PIN" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"
vsign "{\"certificate\":\"$dlg\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"via the dialog\"}"
printf '%s' "$R" | sig_of > "$T_DIR/s3.sig" 2>/dev/null
t_ok "a Sign whose PIN was typed into the (fake) dialog (OpenSSL verifies)" \
	verify_sig ecdsa-sha256 "$TOK_DIR/dlg1.pub.pem" "$T_DIR/s3.sig" "$doc"
$K lock >/dev/null 2>&1
vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\"}"
t_match "a Sign with the client's PIN after Lock" '"signature":' "$R"
t_no_pins_in_core "CN=dlg1 officer" "$TOK_PIN:the client's PIN" \
	"$DLG_PIN:the PIN typed into the dialog" "$WRONG:the wrong PIN"
t_ok "  ... and kysod still runs after gcore" agent_alive

# PR_SET_DUMPABLE 0: a process of the same user cannot read kysod's /proc files (its
# environment, memory); that shows with a kysod of another user (nobody)
nb=$T_DIR/nobody
ASNB=(setpriv --reuid=65534 --regid=65534 --clear-groups)  # an array, not a function: "&" gives its pid
if [ "$uid" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	t_skip "kysod is not dumpable (/proc/PID/environ closed to its own user)" "needs root and setpriv to run a kysod as nobody"
else
	mkdir -p "$nb/state" "$nb/config/kyso" "$nb/tok"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$nb/tok" > "$nb/softhsm2.conf"
	echo "pinentry = none" > "$nb/config/kyso/kysod.conf"
	chown -R 65534:65534 "$nb"
	chmod 711 "$T_DIR"
	if ! "${ASNB[@]}" test -w "$nb"; then
		t_skip "kysod is not dumpable (/proc/PID/environ closed to its own user)" "nobody cannot reach $nb"
	else
		"${ASNB[@]}" env HOME="$nb" XDG_STATE_HOME="$nb/state" XDG_CONFIG_HOME="$nb/config" \
			KYSO_ADMIN_CONFIG="$nb/admin.conf" SOFTHSM2_CONF="$nb/softhsm2.conf" \
			"$BUILD/kysod" --foreground --socket "$nb/agent.sock" --module "$SOFTHSM_MODULE" \
			>> "$T_DIR/kysod-nobody.log" 2>&1 &
		nbpid=$!
		"${ASNB[@]}" sleep 30 &
		ctl=$!
		for _ in $(seq 100); do [ -S "$nb/agent.sock" ] && break; sleep 0.05; done
		if [ ! -S "$nb/agent.sock" ]; then
			t_flunk "a kysod as nobody starts" "$(tail -n 5 "$T_DIR/kysod-nobody.log")"
		else
			t_ok "control: nobody reads the environment of its own (dumpable) process" \
				"${ASNB[@]}" wc -c "/proc/$ctl/environ"
			t_fail "kysod (as nobody) is not dumpable: nobody cannot read its /proc/PID/environ" \
				"${ASNB[@]}" wc -c "/proc/$nbpid/environ"
			t_eq "  ... whose /proc files belong to root, not to kysod's user" \
				"0 65534" "$(stat -c %u "/proc/$nbpid/environ") $(awk '/^Uid:/ {print $2}' "/proc/$nbpid/status")"
		fi
		kill -TERM "$nbpid" "$ctl" 2>/dev/null
		wait "$nbpid" "$ctl" 2>/dev/null
	fi
	chmod 700 "$T_DIR"
fi

# ---- no signature without its record: the log replaced by a directory ----
: > "$KYSO_FAULTY_TRACE"
rm -f "$LOG" && mkdir "$LOG"
vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\",\"description\":\"unrecorded\"}"
t_match "the audit log is a directory → AuditFailed" '"error":"io.kyso.Agent.AuditFailed"' "$R"
t_match "  ... saying that nothing was signed" 'nothing was signed' "$R"
t_ok "  ... and no signature in the reply" test "${R#*\"signature\"}" = "$R"
# the "granted" record is written before the token is asked: it cannot be, so the token
# is not asked at all (before the record was written ahead, the token signed and the
# signature was withheld)
t_eq "  ... and the token was not asked to sign (no C_Sign in the trace): its record first" \
	0 "$(mock_calls C_Sign)"
t_match "  ... the agent's log says why" 'error: .*audit log .*(Is a directory|not a regular file)' \
	"$(cat "$T_DIR/kysod.log")"
vsign "{\"certificate\":\"$nocert\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}"
t_match "  ... a refusal meanwhile keeps its own error" '"error":"io.kyso.Agent.NoSuchCertificate"' "$R"
rmdir "$LOG"
vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"recorded again\"}"
t_match "the directory removed: Sign works again" '"signature":' "$R"
t_eq "  ... and is recorded in a new file (one line, mode 0600)" "1 600" \
	"$(nlines "$LOG") $(stat -c %a "$LOG")"
t_eq "  ... granted, with its description" "" \
	"$(rec "$LOG" -1 "result=granted" "pid=$P" "description=recorded again" "certificate=$ec")"

# ---- the log taken over: moved away, another's file put in its place ----
mv "$LOG" "$LOG.mine"
install -m 666 /dev/null "$LOG"
[ "$uid" -eq 0 ] && chown 65534:65534 "$LOG"
planted=$([ "$uid" -eq 0 ] && echo "belongs to uid 65534" || echo "writable by others")
vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\"}"
t_match "a file another could empty put in the log's place → AuditFailed" \
	'"error":"io.kyso.Agent.AuditFailed"' "$R"
t_match "  ... saying why ($planted)" "$planted" "$(reply_message)"
t_eq "  ... and nothing was written to that file" 0 "$(stat -c %s "$LOG")"
mv -f "$LOG.mine" "$LOG"
vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"mine again\"}"
t_match "the user's own file back: Sign works again" '"signature":' "$R"
t_eq "  ... recorded there" "" "$(rec "$LOG" -1 "result=granted" "description=mine again")"
t_ok "agent still alive" agent_alive
t_agent_stops

# ---- kysod does not start with an audit log others could take over ----
for mode in 777 1777; do
	chmod "$mode" "$XDG_STATE_HOME/kyso"
	out=$(timeout 20 "$BUILD/kysod" --foreground --socket "$T_DIR/refused.sock" \
		--module "$MOCK_MODULE" 2>&1); rc=$?
	t_eq "audit directory mode $mode: kysod refuses to start (exit 1)" 1 "$rc"
	t_match "  ... naming the directory and the fix" \
		"directory $XDG_STATE_HOME/kyso is writable by others .*chmod go-w" "$out"
done
chmod 700 "$XDG_STATE_HOME/kyso"

# ---- refused before a token, without dialogs: the digest is recorded all the same ----
agent_start --module "$MOCK_MODULE" || { t_flunk "restart kysod"; t_done; exit 1; }
$K lock >/dev/null 2>&1
refused "no login, no PIN, no dialog (pinentry = none)" PinRequired \
	"{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}" \
	"certificate=$ec" "digest=$dighex" "digest_alg=sha256"
refused "  ... and with data: its hash" PinRequired \
	"{\"certificate\":\"$rsa\",\"algorithm\":\"rsa-pss-sha384\",\"data\":\"$data\"}" \
	"certificate=$rsa" "digest=$(sha384sum "$doc" | cut -d' ' -f1)" "digest_alg=sha384"
t_agent_stops

# ---- no signature without its record: a full file system, no half line ----
ns=$T_DIR/nsstate
nslog=$ns/kyso/audit.log
mkdir -p "$ns"
if [ "$uid" -ne 0 ]; then
	t_skip "a full audit file system → AuditFailed" "needs root for a tmpfs in a private mount namespace"
elif ! unshare -m --propagation private sh -c 'mount -t tmpfs -o size=16k tmpfs "$1"' _ "$ns" \
	2>"$T_DIR/unshare.err"; then
	t_skip "a full audit file system → AuditFailed" "cannot mount a tmpfs in a private mount namespace: $(head -n 1 "$T_DIR/unshare.err")"
else
	export KYSO_SOCKET=$T_DIR/ns.sock
	XDG_STATE_HOME=$ns unshare -m --propagation private bash -c \
		'mount -t tmpfs -o size=16k,mode=0700 tmpfs "$1" && shift && exec "$@"' _ "$ns" \
		"$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" --log-level debug \
		--module "$MOCK_MODULE" >> "$T_DIR/kysod-ns.log" 2>&1 &
	nspid=$!
	for _ in $(seq 200); do
		$K info >/dev/null 2>&1 && break
		kill -0 "$nspid" 2>/dev/null || break
		sleep 0.05
	done
	inns() { nsenter -t "$nspid" -m "$@"; }
	long=$(printf 'x%.0s' $(seq 1000))
	for i in 1 2; do
		vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\",\"description\":\"$long $i\"}"
	done
	t_match "kysod with its audit log on a 16k tmpfs signs" '"signature":' "$R"
	size=$(inns stat -c %s "$nslog")
	inns dd if=/dev/zero of="$ns/fill" bs=1k count=64 2>/dev/null
	t_ok "  ... the file system filled up (dd) after it started" \
		test "$(inns df -k --output=avail "$ns" | tail -n 1 | tr -d ' ')" -eq 0
	: > "$KYSO_FAULTY_TRACE"
	vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"$long 3\"}"
	t_match "a full file system → AuditFailed" '"error":"io.kyso.Agent.AuditFailed"' "$R"
	t_ok "  ... no signature in the reply" test "${R#*\"signature\"}" = "$R"
	t_eq "  ... and the token was not asked to sign (no C_Sign in the trace): its record first" \
		0 "$(mock_calls C_Sign)"
	t_match "  ... the agent's log says the device is full" 'audit log .*No space left on device' \
		"$(cat "$T_DIR/kysod-ns.log")"
	inns cat "$nslog" > "$T_DIR/ns-audit.log"
	t_eq "  ... the record that failed half way ($((4096 - size % 4096)) bytes fitted) was cut back: no half line" \
		"$size" "$(stat -c %s "$T_DIR/ns-audit.log")"
	t_eq "  ... every line whole (JSON, ending in a newline)" "" "$(rec "$T_DIR/ns-audit.log" -1 "result=granted")"
	inns rm -f "$ns/fill"
	vsign "{\"certificate\":\"$ec\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"description\":\"room again\"}"
	t_match "room again: Sign works" '"signature":' "$R"
	inns cat "$nslog" > "$T_DIR/ns-audit.log"
	t_eq "  ... recorded right after the earlier records" "3 " \
		"$(nlines "$T_DIR/ns-audit.log") $(rec "$T_DIR/ns-audit.log" -1 "result=granted" "description=room again")"
	kill -TERM "$nspid"
	wait "$nspid"
	t_eq "that kysod exits 0 on SIGTERM" 0 $?
fi

# ---- no PIN anywhere ----
for f in "$T_DIR/kysod.log" "$T_DIR/kysod-ns.log" "$T_DIR/kysod-nobody.log" "$LOG" \
	"$T_DIR/ns-audit.log"; do
	[ -f "$f" ] || continue
	if grep -q -F -e "$TOK_PIN" -e "$WRONG" -e "$DLG_PIN" "$f"; then
		t_flunk "no PIN in $(basename "$f")" "$(grep -n -F -e "$TOK_PIN" -e "$WRONG" -e "$DLG_PIN" "$f" | head -n 3)"
	else
		t_pass "no PIN in $(basename "$f")"
	fi
done
for f in "$T_DIR/kysod-ns.log" "$T_DIR/kysod-nobody.log"; do
	if grep -q -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$f" 2>/dev/null; then
		t_flunk "no sanitizer report in $(basename "$f")" "$(grep -m 3 -E 'Sanitizer|runtime error' "$f")"
	fi
done
t_done

#!/usr/bin/env bash
# A Sign's "granted" record is written before the token signs and synced while it does
# (agent/token_ops.c, token_ahead.c): no signature goes out before its record is durable.
# Through kysod and the test module over SoftHSM: the record is in the log while C_Sign is
# held at the token, before the reply; a failing fsync (tests/tools/failsync.c, an
# LD_PRELOAD shim) gives AuditFailed and no signature, though the token signed, and
# leaves no record; a token that fails after the record was written (C_Sign failing, the
# helper crashing, hanging past its deadline, the token pulled mid-C_Sign, logged out
# behind kysod's back with no PIN to be had) leaves a second record of the same request
# that says no signature was given out for it; a retry that signs (a login after the
# logout, the PIN of an always-authenticate key) leaves one "granted" record; Lock and a
# client leaving while the token signs behave as before; kyso audit --summary counts a
# corrected "granted" record as refused. Then Signs queued together, run
# by the worker's code (tests/tools/ahead_probe.c) with the module in kysod's process and
# in a helper: one write and one fsync for the group, a failed group signed again one by
# one, Lock thrown at the jobs waiting behind the first, a failing fsync. Every
# signature given out is verified by OpenSSL.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
. "$T_TOP/tests/lib/failsync.sh"
VCALL=$T_TOP/tests/lib/vcall.py
PY=/usr/bin/python3
AUDIT=$XDG_STATE_HOME/kyso/audit.log

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 &&
	tok_key officer 03 ec:p256 aa1 always-auth ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 officer
failsync_build || { t_flunk "build the fsync shim: $(cat "$T_DIR/cc.err")"; t_done; exit 1; }
preload=$FAILSYNC_PRELOAD
export KYSO_TEST_SYNCLOG=$T_DIR/sync.log  # the shim notes whether the loop synced
LD_PRELOAD=$preload agent_start --module "$MOCK_MODULE" --module-timeout 3s ||
	{ t_flunk "start kysod"; t_done; exit 1; }
id=$(cert_id "$TOK_DIR/key1.crt.pem")
aa=$(cert_id "$TOK_DIR/aa1.crt.pem")
PUB=$TOK_DIR/key1.pub.pem
login() { echo "$TOK_PIN" | $K login --token officer --pin-stdin >/dev/null 2>&1; }
# doc NAME: a document of its own (its digest names its records)
doc() { printf 'the orders, %s\n' "$1" > "$T_DIR/$1.txt"; }
digest() { sha256sum "$T_DIR/$1.txt" | cut -d' ' -f1; }
sign() { $K sign --cert "${CERT:-$id}" --alg ecdsa-sha256 --in "$T_DIR/$1.txt" --out "$T_DIR/$1.sig" "${@:2}"; }
signs_at_token() { mock_calls C_Sign; }
# records LOG DIGEST: the results of the records of DIGEST in LOG, in order, one line
records() { grep -F "\"digest\":\"$2\"" "$1" 2>/dev/null | sed 's/.*"result":"\([^"]*\)".*/\1/' |
	paste -sd' ' -; }
# paired LOG DIGEST: "paired" if the records of DIGEST are a "granted" one and a second
# with the same caller, certificate and digest whose message names the first one's time
paired() {
	$PY - "$1" "$2" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"digest":"%s"' % sys.argv[2] in l]
if len(recs) != 2 or recs[0]["result"] != "granted" or recs[1]["result"] == "granted":
    print("records: %s" % [r["result"] for r in recs]); raise SystemExit
a, b = recs
same = all(a.get(k) == b.get(k) for k in ("uid", "pid", "exe", "certificate", "digest",
                                          "token_serial", "method", "algorithm"))
said = ("no signature was given out for the request recorded as granted at %s" % a["time"]
        in b.get("message", ""))
print("paired" if same and said and b["time"] >= a["time"] else "unpaired: %s / %s" % (a, b))
PY
}
# back: the token is there again (a new helper after a crash, plugged in), logged in, and
# a Sign on it signs
nback=0
back() {
	nback=$((nback + 1))
	doc "back$nback"
	t_wait eval 'login && sign "back$nback" 2>/dev/null' &&
		verify_sig ecdsa-sha256 "$PUB" "$T_DIR/back$nback.sig" "$T_DIR/back$nback.txt"
}

login
# ---- the record is written before the token signs, synced while it does ----
doc a1
base=$(signs_at_token)
mock_rule 'C_Sign delay 60000 officer'
sign a1 > "$T_DIR/a1.out" 2>&1 &
sp=$!
t_ok "a Sign reaches the token (C_Sign held there)" \
	t_wait eval '[ "$(signs_at_token)" -gt "$base" ]'
t_eq "  ... its \"granted\" record is in the audit log already" "granted" \
	"$(records "$AUDIT" "$(digest a1)")"
t_ok "  ... and no reply yet" kill -0 $sp
mock_unrule 'C_Sign delay'
wait $sp
t_eq "  ... then the signature comes" 0 $?
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$PUB" "$T_DIR/a1.sig" "$T_DIR/a1.txt"
t_eq "  ... one record for it: granted" "granted" "$(records "$AUDIT" "$(digest a1)")"

# ---- a sync that fails: AuditFailed, no signature, the record taken back ----
doc f1
base=$(signs_at_token)
touch "$KYSO_TEST_FAILSYNC"
sign f1 2> "$T_DIR/f1.err"
t_eq "the audit log cannot be synced: AuditFailed (exit 11)" 11 $?
rm -f "$KYSO_TEST_FAILSYNC"
t_ok "  ... no signature" test ! -e "$T_DIR/f1.sig"
t_ok "  ... though the token signed meanwhile (C_Sign in the trace): withheld" \
	test "$(signs_at_token)" -gt "$base"
t_eq "  ... its granted record taken back: the one left says AuditFailed (a refusal, written, not synced)" \
	"io.kyso.Agent.AuditFailed" "$(records "$AUDIT" "$(digest f1)")"
t_match "  ... kysod's log says the records were taken back" \
	'cannot sync the audit log .*Input/output error; [0-9]+ record\(s\) taken back' \
	"$(cat "$T_DIR/kysod.log")"
doc f2
t_ok "the disk well again, the next Sign signs" sign f2
t_ok "  ... and OpenSSL verifies it" verify_sig ecdsa-sha256 "$PUB" "$T_DIR/f2.sig" "$T_DIR/f2.txt"

# ---- the token fails after the record was written: a second record corrects it ----
# fail RULE NAME ERROR DESC: the Sign fails with ERROR (exit status ignored), then the
# records of its digest are the "granted" one and its correction
fail() {
	local rc
	doc "$2"
	mock_rule "$1"
	sign "$2" 2> "$T_DIR/$2.err"; rc=$?
	mock_unrule "${1%% *} "
	t_eq "$4: the Sign fails as a token failure (exit 8)" 8 "$rc"
	t_ok "  ... no signature" test ! -e "$T_DIR/$2.sig"
	t_eq "  ... its records: granted, then $3" "granted io.kyso.Agent.$3" \
		"$(records "$AUDIT" "$(digest "$2")")"
	t_eq "  ... the second says no signature was given out for the first (same caller, certificate, digest; its time)" \
		paired "$(paired "$AUDIT" "$(digest "$2")")"
}
fail 'C_Sign fail CKR_DEVICE_ERROR officer' t1 TokenError "C_Sign fails (CKR_DEVICE_ERROR)"
fail 'C_Sign crash segv officer' t2 TokenError "the module crashes in C_Sign (its helper ends)"
t_ok "  ... a new helper, the token back, and it signs" back
fail 'C_Sign hang forever officer' t3 TokenError "C_Sign hangs past the module's deadline (3 s)"
t_ok "  ... a new helper, the token back, and it signs" back

# pulled out while C_Sign is at the token
doc t4
base=$(signs_at_token)
mock_rule 'C_Sign delay 60000 officer'
sign t4 2> "$T_DIR/t4.err" &
sp=$!
t_wait eval '[ "$(signs_at_token)" -gt "$base" ]'
mock_slot 1 -
wait $sp
t_eq "the token pulled out mid-C_Sign: TokenNotPresent (exit 8)" 8 $?
mock_unrule 'C_Sign delay'
t_eq "  ... its records: granted, then TokenNotPresent" \
	"granted io.kyso.Agent.TokenNotPresent" "$(records "$AUDIT" "$(digest t4)")"
t_eq "  ... paired" paired "$(paired "$AUDIT" "$(digest t4)")"
mock_slot 1 officer again
t_ok "  ... plugged in again, it signs" back

# ---- retries: one "granted" record per signature given out ----
mock_rule 'C_SignInit logout-once - officer'
doc r1
sign r1 2> "$T_DIR/r1.err"
t_eq "logged out behind kysod's back, no PIN to be had: PinRequired (exit 4)" 4 $?
t_eq "  ... its records: granted, then PinRequired" "granted io.kyso.Agent.PinRequired" \
	"$(records "$AUDIT" "$(digest r1)")"
t_eq "  ... paired" paired "$(paired "$AUDIT" "$(digest r1)")"
mock_unrule logout-once
login
mock_rule 'C_SignInit logout-once - officer'
doc r2
echo "$TOK_PIN" | sign r2 --pin-stdin
t_eq "logged out behind its back, the PIN in the request: kysod logs in again and signs" 0 $?
mock_unrule logout-once
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$PUB" "$T_DIR/r2.sig" "$T_DIR/r2.txt"
t_eq "  ... one record: granted (the one written before the first try)" "granted" \
	"$(records "$AUDIT" "$(digest r2)")"
doc r3
echo "$TOK_PIN" | CERT=$aa sign r3 --pin-stdin
t_eq "a key that wants its PIN at every signature, the PIN in the request: signed" 0 $?
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/aa1.pub.pem" \
	"$T_DIR/r3.sig" "$T_DIR/r3.txt"
t_eq "  ... one record: granted" "granted" "$(records "$AUDIT" "$(digest r3)")"

# ---- Lock, and the client leaving, while the token signs: as before ----
doc l1
base=$(signs_at_token)
mock_rule 'C_Sign delay 60000 officer'
sign l1 2> "$T_DIR/l1.err" &
sp=$!
t_wait eval '[ "$(signs_at_token)" -gt "$base" ]'
# a second Sign, queued behind the one at the token (one session): Lock ends it unrun
doc l1q
nsign=$(grep -c 'io.kyso.Agent.Sign' "$T_DIR/kysod.log")
sign l1q 2> "$T_DIR/l1q.err" &
qp=$!
t_wait eval '[ "$(grep -c "io.kyso.Agent.Sign" "$T_DIR/kysod.log")" -gt "$nsign" ]'
: > "$KYSO_TEST_SYNCLOG"
$K lock > /dev/null 2>&1 &
lp=$!
t_ok "Lock while the token signs: Lock waits for the signature at the token" \
	t_wait eval 'grep -q "io.kyso.Agent.Lock" "$T_DIR/kysod.log"'
wait $qp
t_ok "  ... the Sign queued behind it is ended, unsigned" test ! -s "$T_DIR/l1q.sig"
t_like "  ... and recorded as refused" "^io\.kyso\.Agent\." \
	"$(records "$AUDIT" "$(digest l1q)")"
t_eq "  ... by the loop, without waiting for the disk: no fsync on kysod's loop" 0 \
	"$(grep -c '^sync loop' "$KYSO_TEST_SYNCLOG")"
mock_unrule 'C_Sign delay'
wait $sp
t_eq "  ... which was under way: it goes out" 0 $?
wait $lp
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$PUB" "$T_DIR/l1.sig" "$T_DIR/l1.txt"
t_eq "  ... one record: granted" "granted" "$(records "$AUDIT" "$(digest l1)")"
login
doc l2
base=$(signs_at_token)
mock_rule 'C_Sign delay 60000 officer'
# the client sends its Sign, and hangs up once C_Sign is at the token
$PY - "$KYSO_SOCKET" "$id" "$(openssl dgst -sha256 -binary "$T_DIR/l2.txt" | base64 -w0)" \
	"$KYSO_FAULTY_TRACE" "$base" <<'PY' &
import json, socket, sys, time
path, cert, dig, trace, base = sys.argv[1:6]
s = socket.socket(socket.AF_UNIX); s.connect(path)
s.sendall(json.dumps({"method": "io.kyso.Agent.Sign", "parameters": {"certificate": cert,
    "algorithm": "ecdsa-sha256", "digest": dig}}).encode() + b"\0")
for _ in range(3000):
    if sum(l.startswith("C_Sign ") for l in open(trace)) > int(base):
        break
    time.sleep(0.01)
s.close()
PY
cp=$!
t_ok "a client that leaves while the token signs" \
	t_wait eval 'grep -q "left while its request was served" "$T_DIR/kysod.log"'
wait $cp
mock_unrule 'C_Sign delay'
t_ok "  ... the signature made is recorded as granted, as before (nobody gets it)" \
	t_wait eval '[ "$(records "$AUDIT" "$(digest l2)")" = granted ]'
doc l3
t_ok "  ... and kysod serves on" sign l3
t_agent_stops

# kyso audit --summary: a "granted" record that a second one corrects counts as refused
grep -F -e "$(digest a1)" -e "$(digest t1)" -e "$(digest t4)" "$AUDIT" > "$T_DIR/pairs.log"
t_eq "kyso audit --summary: 1 signed; 2 refused, each a granted record and its correction" \
	"5 records: 1 signed, 2 refused" \
	"$(wc -l < "$T_DIR/pairs.log") records: $($K audit --summary --json --file "$T_DIR/pairs.log" |
		$PY -c 'import json,sys; j=json.load(sys.stdin); print("%d signed, %d refused" % (j["signed"], j["refused"]))')"

# ---- Signs queued together: the worker's group, without the loop ----
for probe in ahead_probe ahead_probe_rpc; do
	where="the module in the process"
	[ $probe = ahead_probe_rpc ] && where="the module in a helper"
	P=$BUILD/tests/$probe
	out=$T_DIR/$probe; mkdir -p "$out/g" "$out/one" "$out/fail" "$out/again" "$out/err" "$out/lock"
	"$P" "$MOCK_MODULE" officer "$TOK_PIN" key1 "$out/g-audit.log" 8 "$out/g" > "$out/g.txt" 2>&1
	t_eq "$where: 8 Signs as a group: all signed" 8 "$(grep -c ' granted$' "$out/g.txt")"
	t_match "  ... their records in one write, synced once" "syncs 1 writes 1" "$(cat "$out/g.txt")"
	t_eq "  ... 8 granted records in the log" 8 "$(grep -c '"result":"granted"' "$out/g-audit.log")"
	bad=0
	for i in 0 1 2 3 4 5 6 7; do
		verify_sig ecdsa-sha256 "$PUB" "$out/g/sig.$i" "$out/g/doc.$i" >/dev/null 2>&1 ||
			bad=$((bad + 1))
	done
	t_eq "  ... OpenSSL verifies all 8" 0 "$bad"
	"$P" "$MOCK_MODULE" officer "$TOK_PIN" key1 "$out/one-audit.log" 1 "$out/one" > "$out/one.txt" 2>&1
	t_match "  ... one Sign alone: signed, one write, one sync" "job 0 granted.*syncs 1 writes 1" \
		"$(tr '\n' ' ' < "$out/one.txt")"
	t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$PUB" "$out/one/sig.0" "$out/one/doc.0"

	touch "$KYSO_TEST_FAILSYNC"
	LD_PRELOAD=$preload "$P" "$MOCK_MODULE" officer "$TOK_PIN" key1 "$out/fail-audit.log" 8 \
		"$out/fail" > "$out/fail.txt" 2>&1
	rm -f "$KYSO_TEST_FAILSYNC"
	t_eq "$where: the group's sync fails: all 8 AuditFailed" 8 \
		"$(grep -c ' io.kyso.Agent.AuditFailed$' "$out/fail.txt")"
	t_eq "  ... no signature" "" "$(ls "$out/fail" | grep sig || true)"
	t_eq "  ... and no record left in the file" 0 "$(wc -l < "$out/fail-audit.log")"

	mock_rule 'C_Sign fail-once CKR_DEVICE_ERROR officer'
	"$P" "$MOCK_MODULE" officer "$TOK_PIN" key1 "$out/again-audit.log" 8 "$out/again" > "$out/again.txt" 2>&1
	mock_unrule fail-once
	t_eq "$where: the group's call fails once: each signed again alone, all 8 signed" 8 \
		"$(grep -c ' granted$' "$out/again.txt")"
	t_eq "  ... 8 records, each granted (written before the group's call)" "8 8" \
		"$(wc -l < "$out/again-audit.log") $(grep -c '"result":"granted"' "$out/again-audit.log")"
	bad=0
	for i in 0 7; do
		verify_sig ecdsa-sha256 "$PUB" "$out/again/sig.$i" "$out/again/doc.$i" >/dev/null 2>&1 ||
			bad=$((bad + 1))
	done
	t_eq "  ... OpenSSL verifies them" 0 "$bad"

	mock_rule 'C_Sign fail CKR_DEVICE_ERROR officer'
	"$P" "$MOCK_MODULE" officer "$TOK_PIN" key1 "$out/err-audit.log" 4 "$out/err" > "$out/err.txt" 2>&1
	mock_unrule 'C_Sign fail'
	t_eq "$where: the token fails for the group and alone: 4 TokenError" 4 \
		"$(grep -c ' io.kyso.Agent.TokenError$' "$out/err.txt")"
	np=0
	for i in 0 1 2 3; do
		[ "$(paired "$out/err-audit.log" "$(sha256sum "$out/err/doc.$i" | cut -d' ' -f1)")" = paired ] &&
			np=$((np + 1))
	done
	t_eq "  ... each granted record corrected by a second one that names it" 4 "$np"

	mock_rule 'C_Sign delay 60000 officer'
	"$P" "$MOCK_MODULE" officer "$TOK_PIN" key1 "$out/lock-audit.log" 4 "$out/lock" abort-rest \
		> "$out/lock.txt" 2>&1 &
	pp=$!
	t_ok "$where: Lock while a group of 4 is at the token" t_wait grep -q fired "$out/lock.txt"
	mock_unrule 'C_Sign delay'
	wait $pp
	t_eq "  ... the first was under way: signed; the three behind it Cancelled" \
		"granted io.kyso.Agent.Cancelled io.kyso.Agent.Cancelled io.kyso.Agent.Cancelled" \
		"$(grep '^job' "$out/lock.txt" | cut -d' ' -f3 | paste -sd' ' -)"
	t_ok "  ... OpenSSL verifies the first" verify_sig ecdsa-sha256 "$PUB" "$out/lock/sig.0" \
		"$out/lock/doc.0"
	np=0
	for i in 1 2 3; do
		[ "$(paired "$out/lock-audit.log" "$(sha256sum "$out/lock/doc.$i" | cut -d' ' -f1)")" = paired ] &&
			np=$((np + 1))
	done
	t_eq "  ... the three thrown away: granted, then corrected" 3 "$np"
done
t_done

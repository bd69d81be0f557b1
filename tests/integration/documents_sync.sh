#!/usr/bin/env bash
# SignDocuments syncs its records once per batch (issue 15): each document's record is
# written as it is signed, unsynced, and the batch's records are synced together — once
# when the batch ends, and on a long batch every BATCH_SYNC_MS (250 ms), the CMS of the
# documents a sync covered then going out together; no CMS before its record is durable.
# Counted from kysod's log line for the batch ("N fsync(s) of the audit log in M ms"): a
# short batch of 20 documents costs one fsync; a long one (slowed by the tests' fault
# module) streams its progress while it runs and syncs about every 250 ms. A failing
# fsync (an LD_PRELOAD shim, tests/tools/failsync.c) takes the records back: no CMS, the
# documents fail with AuditFailed. The client hanging up, Lock, and a token error in the
# middle (this one between two of the worker's syncs: the batch's last pending records
# are synced by a thread of their own, then their CMS go out). A sync
# that the disk holds up (the shim again) holds up no other client: kysod's event loop
# never syncs the audit log (the shim notes which thread syncs), not even when Lock ends
# a batch's queued documents during a slow sync. Every CMS given out is verified by
# OpenSSL against the test CA.
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
. "$T_TOP/tests/lib/failsync.sh"
PY=/usr/bin/python3
AUDIT=$XDG_STATE_HOME/kyso/audit.log

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 && tok_ca officer ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 officer
# the fsync shim
failsync_build || { t_flunk "build the fsync shim: $(cat "$T_DIR/cc.err")"; t_done; exit 1; }
preload=$FAILSYNC_PRELOAD
export KYSO_TEST_FAILSYNC=$T_DIR/failsync.on KYSO_TEST_HOLDSYNC=$T_DIR/holdsync.on \
	KYSO_TEST_SYNCLOG=$T_DIR/sync.log
# one session (the mock's removable slot has one anyway): a held sync holds the queue
mkdir -p "$XDG_CONFIG_HOME/kyso" && echo "sessions_per_token = 1" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
LD_PRELOAD=$preload agent_start --module "$MOCK_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
id=$(cert_id "$TOK_DIR/key1.crt.pem")
CA=$TOK_DIR/ca.crt

# batch N PREFIX [leave|lock|holdlock]: one SignDocuments with "more" of N documents PREFIX-I (their
# contents in $T_DIR/docs); each CMS of a progress reply written to $T_DIR/docs/PREFIX-I.p7s;
# prints a JSON summary: progress replies, CMS received, seconds from the call to the first
# progress and to the final reply, groups of progress replies (a gap over 60 ms starts
# one), the final reply's signed/failed/stopped/batch, the documents' error names. leave:
# hang up after the first progress; lock: `kyso lock` then; holdlock: after the first
# progress the disk holds its syncs (KYSO_TEST_HOLDSYNC) until the worker's next sync of
# the batch is held (the shim's sign), then `kyso lock` in the background, and once kysod
# recorded a document Lock ended (the loop's work), `kyso tokens` must be answered while
# the sync is still held ("tokens": its exit status, or "hung"); then the disk syncs again
batch() {
	AUDIT=$AUDIT $PY - "$KYSO_SOCKET" "$id" "$TOK_PIN" "$1" "$2" "$T_DIR/docs" "${3:-}" "$K" officer <<'PY'
import base64, hashlib, json, os, socket, subprocess, sys, time
path, cert, pin, n, prefix, out, mode, kyso, token = sys.argv[1:10]
hold, synclog, audit = (os.environ.get(k, "") for k in ("KYSO_TEST_HOLDSYNC",
    "KYSO_TEST_SYNCLOG", "AUDIT"))
def sign_of(test):  # waits for a sign from kysod, at most 60 s
    for _ in range(6000):
        if test():
            return True
        time.sleep(0.01)
    return False
def text(f):
    try:
        return open(f).read()
    except OSError:
        return ""
tokens, locker = None, None
n = int(n)
os.makedirs(out, exist_ok=True)
docs = []
for i in range(n):
    body = b"%s: letter %d\n" % (prefix.encode(), i) + os.urandom(32)
    open(os.path.join(out, "%s-%d.txt" % (prefix, i)), "wb").write(body)
    docs.append({"name": "%s-%d" % (prefix, i), "digest_algorithm": "sha256",
                 "digest": base64.b64encode(hashlib.sha256(body).digest()).decode()})
s = socket.socket(socket.AF_UNIX); s.connect(path)
t0 = time.monotonic()
s.sendall(json.dumps({"method": "io.kyso.Agent.SignDocuments", "more": True,
    "parameters": {"certificate": cert, "documents": docs, "pin": pin,
                   "description": "sync test " + prefix}}).encode() + b"\0")
buf, sums, times, cms, final, errors = b"", {}, [], 0, None, {}
while final is None:
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    buf += chunk
    while b"\0" in buf:
        msg, buf = buf.split(b"\0", 1)
        r = json.loads(msg)
        if not r.get("continues"):
            final = r
            break
        times.append(time.monotonic() - t0)
        d = r["parameters"]["progress"]
        if "cms" in d:
            cms += 1
            open(os.path.join(out, d["name"] + ".p7s"), "wb").write(base64.b64decode(d["cms"]))
        if len(times) == 1 and mode == "leave":
            s.close()
            print(json.dumps({"progress": 1, "cms": cms}))
            raise SystemExit(0)
        if len(times) == 1 and mode == "failone":
            # a C_Sign fails once the document after those this progress reply's sync
            # covered has signed (its record then waits for the next sync): the module's
            # trace shows its two C_Sign calls (the length, the signature) and the next
            # document's first; the rule written as mock_rule does (a temporary file,
            # then rename)
            trace = os.environ["KYSO_FAULTY_TRACE"]
            c0 = text(trace).count("C_Sign %s" % token)
            sign_of(lambda: text(trace).count("C_Sign %s" % token) >= c0 + 3)
            control = os.environ["KYSO_FAULTY_CONTROL"]
            with open(control + ".t", "w") as f:
                f.write(text(control) + "C_Sign fail-once CKR_DEVICE_ERROR %s\n" % token)
            os.replace(control + ".t", control)
        if len(times) == 1 and mode == "lock":
            subprocess.run([kyso, "lock"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if len(times) == 1 and mode == "holdlock":
            held0 = text(synclog).count("held ")
            open(hold, "w").close()
            sign_of(lambda: text(synclog).count("held ") > held0)
            locker = subprocess.Popen([kyso, "lock"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            ended = '"document":"%s-' % prefix
            sign_of(lambda: any(ended in l and "Cancelled" in l
                                for l in text(audit).splitlines()))
            try:
                tokens = subprocess.run([kyso, "tokens"], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, timeout=30).returncode
            except subprocess.TimeoutExpired:
                tokens = "hung"
            tokens = {"tokens": tokens, "held": os.path.exists(hold)}
            os.unlink(hold)
tf = time.monotonic() - t0
if locker is not None:
    locker.wait()
p = (final or {}).get("parameters", {})
for d in p.get("documents", []):
    if "error" in d:
        e = d["error"].split(".")[-1]
        errors[e] = errors.get(e, 0) + 1
groups = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > 0.06)
print(json.dumps({"progress": len(times), "cms": cms, "first": times[0] if times else None,
    "final": tf, "groups": groups, "signed": p.get("signed"), "failed": p.get("failed"),
    "stopped": p.get("stopped"), "batch": p.get("batch"), "errors": errors,
    "error": (final or {}).get("error"), "tokens": tokens}))
PY
}
field() { $PY -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else json.dumps(v) if isinstance(v, dict) else v)' "$1" "$2"; }
verified() {  # PREFIX N: how many of PREFIX-0..N-1's CMS OpenSSL verifies
	local ok=0 i
	for i in $(seq 0 $(($2 - 1))); do
		openssl cms -verify -binary -inform DER -in "$T_DIR/docs/$1-$i.p7s" \
			-content "$T_DIR/docs/$1-$i.txt" -CAfile "$CA" -out /dev/null 2>/dev/null &&
			ok=$((ok + 1))
	done
	echo "$ok"
}
# syncs BATCH: "N M" from kysod's log line of the batch: N fsyncs in M ms
syncs() {
	sed -n "s/.*batch $1: .* \\([0-9]*\\) fsync(s) of the audit log in \\([0-9]*\\) ms.*/\\1 \\2/p" \
		"$T_DIR/kysod.log" | tail -n 1
}
count_records() {  # STRING...: records holding all the strings
	local tmp=$T_DIR/rec.sel s
	cp "$AUDIT" "$tmp"
	for s in "$@"; do grep -F -- "$s" "$tmp" > "$tmp.n" || true; mv "$tmp.n" "$tmp"; done
	grep -c . "$tmp" || true
}
# at most one fsync per BATCH_SYNC_MS of the batch's time, plus the last
bounded() { [ "$1" -ge 1 ] && [ "$1" -le $((2 + $2 / 250)) ]; }

# ---- a short batch: one fsync ----
s=$(batch 20 short)
t_eq "20 documents in one SignDocuments (more): 20 progress replies, 20 CMS, 20 signed" \
	"20 20 20 0" "$(field "$s" progress) $(field "$s" cms) $(field "$s" signed) $(field "$s" failed)"
t_eq "  ... OpenSSL verifies the 20 CMS against the CA" 20 "$(verified short 20)"
b=$(field "$s" batch)
t_eq "  ... 20 granted records with the batch id" 20 "$(count_records "\"batch\":\"$b\"" '"result":"granted"')"
read -r n ms <<< "$(syncs "$b")"
if [ "${ms:-0}" -lt 250 ]; then
	t_eq "  ... one fsync of the audit log for the batch's 20 records ($ms ms)" 1 "$n"
else
	t_ok "  ... $n fsync(s) of the audit log in $ms ms: one per 250 ms at most (a slow run)" \
		bounded "${n:-0}" "$ms"
fi

# ---- a long batch: progress keeps flowing, a sync about every 250 ms ----
mock_rule 'C_Sign delay 25 officer'
s=$(batch 40 long)
t_eq "40 slowed documents: 40 progress replies with their CMS, 40 signed" "40 40 40" \
	"$(field "$s" progress) $(field "$s" cms) $(field "$s" signed)"
t_eq "  ... OpenSSL verifies the 40 CMS" 40 "$(verified long 40)"
read -r n ms <<< "$(syncs "$(field "$s" batch)")"
t_ok "  ... streamed while it ran: the first progress came well before the final reply ($(field "$s" first) s of $(field "$s" final) s)" \
	$PY -c 'import sys; f, e = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if e - f >= 0.1 else 1)' \
	"$(field "$s" first)" "$(field "$s" final)"
t_ok "  ... in $(field "$s" groups) groups of replies, one per sync" test "$(field "$s" groups)" -ge 2
t_ok "  ... $n fsyncs in $ms ms: more than one, at most one per 250 ms (and the last)" \
	sh -c "[ '${n:-0}' -ge 2 ] && [ '${n:-0}' -le $((2 + ${ms:-0} / 250)) ]"

# ---- the client hangs up in the middle ----
s=$(batch 40 leave leave)
t_eq "the client hangs up after its first progress reply" 1 "$(field "$s" progress)"
left() { [ "$(count_records '"document":"leave-')" -ge 40 ]; }
t_ok "  ... kysod records all 40 documents" t_wait left
granted=$(count_records '"document":"leave-' '"result":"granted"')
gone=$(count_records '"document":"leave-' '"result":"io.kyso.Agent.Cancelled"' 'disconnected')
t_eq "  ... the signed ones granted ($granted), the others not signed: disconnected" 40 \
	$((granted + gone))
t_match "  ... its log says the batch stopped: disconnected" \
	"of 40 document\\(s\\) signed; stopped: disconnected" "$(cat "$T_DIR/kysod.log")"
t_ok "  ... kysod goes on serving" $K tokens

# stopped_by_lock SUMMARY PREFIX N TITLE: the checks of a batch of N documents that Lock stopped
stopped_by_lock() {
	local signed
	t_eq "$4" locked "$(field "$1" stopped)"
	signed=$(field "$1" signed)
	t_eq "  ... every document it counts as signed came with its CMS ($signed)" "$signed" \
		"$(field "$1" cms)"
	t_eq "  ... and has its granted record; no other does" "$signed" \
		"$(count_records "\"document\":\"$2-" '"result":"granted"')"
	t_eq "  ... OpenSSL verifies the CMS given out" "$signed" "$(verified "$2" "$3")"
	t_ok "  ... fewer than $3 signed" test "$signed" -lt "$3"
}

# ---- Lock in the middle ----
s=$(batch 40 locked lock)
stopped_by_lock "$s" locked 40 "Lock after the first progress reply: the batch stops, locked"

# ---- a token error ends the batch between two of the worker's syncs ----
# The document before the failing one has its granted record written, not yet synced;
# the failure and the documents skipped after it are refusals, written unsynced: the
# batch ends with a record pending, which a thread of its own syncs (not kysod's loop,
# not the worker, whose job has ended) before that document's CMS goes out.
lines0=$(grep -c . "$KYSO_TEST_SYNCLOG" || true)
s=$(batch 40 tokfail failone)
mock_unrule 'fail-once'
t_eq "a token error after the first progress reply stops the batch: token-error" \
	token-error "$(field "$s" stopped)"
signed=$(field "$s" signed)
t_eq "  ... every document it counts as signed came with its CMS ($signed)" "$signed" \
	"$(field "$s" cms)"
t_eq "  ... OpenSSL verifies them" "$signed" "$(verified tokfail 40)"
t_eq "  ... and has its granted record; no other does" "$signed" \
	"$(count_records '"document":"tokfail-' '"result":"granted"')"
t_eq "  ... one document failed at the token (TokenError)" 1 \
	"$(count_records '"document":"tokfail-' '"result":"io.kyso.Agent.TokenError"')"
t_match "  ... the batch's last pending records were synced off the loop, by a thread" \
	"batch $(field "$s" batch): its last records are synced off the loop" \
	"$(cat "$T_DIR/kysod.log")"
t_eq "  ... not by kysod's event loop" 0 \
	"$(tail -n +$((lines0 + 1)) "$KYSO_TEST_SYNCLOG" | grep -c '^sync loop' || true)"

# ---- a slow sync (the disk holds it) while Lock ends the queued documents ----
s=$(batch 200 held holdlock)
t_eq "Lock while the disk holds the worker's sync: kysod answers another client meanwhile" \
	'{"tokens": 0, "held": true}' "$(field "$s" tokens)"
stopped_by_lock "$s" held 200 "  ... the batch stops, locked"
held() { [ "$(count_records '"document":"held-')" -ge 200 ]; }
t_ok "  ... all 200 documents are recorded" t_wait held
mock_unrule 'C_Sign'

# ---- the audit log cannot be synced: no CMS, AuditFailed ----
touch "$KYSO_TEST_FAILSYNC"
s=$(batch 10 nosync)
rm -f "$KYSO_TEST_FAILSYNC"
t_eq "fsync of the audit log fails (EIO): no document signed, no CMS given out" "0 10 0" \
	"$(field "$s" signed) $(field "$s" failed) $(field "$s" cms)"
errs=$(field "$s" errors)
t_match "  ... the documents fail with AuditFailed (the rest: not attempted)" \
	"\"AuditFailed\": [1-9]" "$errs"
t_eq "  ... no other error than AuditFailed and Cancelled" "" \
	"$($PY -c 'import json,sys; print(" ".join(k for k in json.loads(sys.argv[1]) if k not in ("AuditFailed", "Cancelled")))' "$errs")"
t_eq "  ... the batch stopped: audit-failed" audit-failed "$(field "$s" stopped)"
t_eq "  ... no granted record of it is left in the file (taken back)" 0 \
	"$(count_records '"document":"nosync-' '"result":"granted"')"
t_match "  ... kysod's log says the sync failed and the records were taken back" \
	"cannot sync the audit log .*Input/output error; [0-9]+ record\\(s\\) taken back" "$(cat "$T_DIR/kysod.log")"
s=$(batch 5 again)
t_eq "the disk syncs again: the next batch signs its 5 documents" "5 5" \
	"$(field "$s" signed) $(field "$s" cms)"
t_eq "  ... OpenSSL verifies them" 5 "$(verified again 5)"

t_ok "agent alive" agent_alive
t_eq "kysod's event loop synced the audit log never (its workers and threads did: $(grep -c '^sync thread' "$T_DIR/sync.log") syncs)" \
	0 "$(grep -c '^sync loop' "$T_DIR/sync.log")"
t_agent_stops
t_done

#!/usr/bin/env bash
# What a batch's consent dialog says beyond the batch, and a client-chosen signing time:
# the PIN dialog tells how long the login it makes is kept for other programs (the
# policy's login_idle_ttl / login_max_ttl), and nothing of it when login_cache = no; a
# CAdES signing_time more than a minute from now is shown in the dialog, recorded in
# each document's audit record (kyso audit --json shows it), and one further from now
# than signing_time_skew (default 5m) is refused with PolicyDenied before any dialog.
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py
FAKE=$T_TOP/tests/tools/fake-pinentry
PY=/usr/bin/python3
AUDIT=$XDG_STATE_HOME/kyso/audit.log
CONF=$XDG_CONFIG_HOME/kyso/kysod.conf

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
: > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"
mkdir -p "$(dirname "$CONF")"
echo "pinentry_timeout = 20s" >> "$CONF"
export TZ=UTC-7   # the officer's session: UTC+07:00 (POSIX sign), no tzdata needed
agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }

id=$(cert_id "$TOK_DIR/key1.crt.pem")
D=$(printf 'x' | openssl dgst -sha256 -binary | base64 -w0)
script() { printf '%s\n' "$@" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"; }
dialogs() { grep -c . "$FAKE_PINENTRY_LOG" || true; }
last_desc() { tail -n 1 "$FAKE_PINENTRY_LOG" | $PY -c 'import json,sys; print(json.load(sys.stdin).get("desc") or "")'; }
doc() { printf '{"name":"%s","digest":"%s","digest_algorithm":"sha256"%s}' "$1" "$D" "${2:-}"; }
call() { $PY "$VCALL" call io.kyso.Agent.SignDocuments "$1"; }
field() { $PY -c 'import json,sys; r=json.load(sys.stdin); p=r.get("parameters",{})
for k in sys.argv[1:]: p = p.get(k) if isinstance(p, dict) else None
print(r.get("error") if sys.argv[1] == "error" else p)' "$@"; }
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# ---- login_cache = yes (the defaults: 10m idle, 2h at most); a time 3 minutes ago ----
now=$(date +%s); back=$((now - 180))
script "pin $TOK_PIN"
n0=$(dialogs)
r=$(call "{\"certificate\":\"$id\",\"description\":\"letters\",\"documents\":[$(doc a.txt ",\"signing_time\":\"$(rfc $back)\""),$(doc b.txt)]}")
t_eq "a batch with a signing_time 3 minutes ago (within 5m): both signed" 2 "$(echo "$r" | field signed)"
t_eq "  ... one PIN dialog" 1 "$(( $(dialogs) - n0 ))"
desc=$(last_desc | tr '\n' ' ')
t_match "  ... saying how long the login is kept for other programs, with the policy's figures" \
	'After this, programs you run can sign with this token without asking for the PIN for up to 10 minutes of inactivity \(2 hours at most\); kyso lock ends it\.  Enter the PIN of the token to sign them all\. ?$' "$desc"
t_match "  ... showing the date that is not now, in the session's zone" \
	"1 of them is signed with the date $(TZ=UTC-7 date -d "@$back" '+%Y-%m-%d %H:%M') \\(UTC\\+07:00\\), not now\\." "$desc"
t_match "  ... the audit record of a.txt holds its signing_time" \
	"\"document\":\"a.txt\".*\"signing_time\":\"$(rfc $back)\".*\"result\":\"granted\"" "$(grep -F '"a.txt"' "$AUDIT" | tail -n 1)"
t_eq "  ... b.txt's (no time chosen) none" 0 "$(grep -F '"b.txt"' "$AUDIT" | grep -c signing_time)"
t_match "kyso audit shows it after the document's name" "a\\.txt \\(letters\\), dated $(rfc $back)" \
	"$($K audit | grep -F a.txt | tail -n 1)"
t_eq "kyso audit --json shows it" "$(rfc $back)" "$($K audit --json | $PY -c 'import json,sys
print([o for o in json.load(sys.stdin) if o.get("document") == "a.txt"][-1].get("signing_time"))')"

# ---- a time further than the bound: PolicyDenied, before any dialog ----
$K lock >/dev/null 2>&1
n0=$(dialogs)
old=$((now - 86400 * 3))
r=$(call "{\"certificate\":\"$id\",\"documents\":[$(doc c.txt),$(doc d.txt ",\"signing_time\":\"$(rfc $old)\"")]}")
t_eq "a signing_time 3 days ago: PolicyDenied" io.kyso.Agent.PolicyDenied "$(echo "$r" | field error)"
t_match "  ... naming documents[1].signing_time and the bound" \
	'documents\[1\]\.signing_time is 2592[0-9]{2} seconds before now; the policy \(signing_time_skew = 5m, .*\) allows a signing time at most 5m from now' \
	"$(echo "$r" | field message)"
t_eq "  ... no dialog" 0 "$(( $(dialogs) - n0 ))"
t_match "  ... a refused record with the time asked for" \
	"\"document\":\"d.txt\".*\"signing_time\":\"$(rfc $old)\".*\"result\":\"io.kyso.Agent.PolicyDenied\"" \
	"$(grep -F '"d.txt"' "$AUDIT" | tail -n 1)"
future=$((now + 3600))
r=$(call "{\"certificate\":\"$id\",\"documents\":[$(doc e.txt ",\"signing_time\":\"$(rfc $future)\"")]}")
t_match "a signing_time an hour ahead: refused too" 'PolicyDenied' "$(echo "$r" | field error)"

# ---- login_cache = no: nothing said of a kept login; signing_time_skew = 0 ----
agent_stop
printf 'login_cache = no\nsigning_time_skew = 0\n' >> "$CONF"
agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" || { t_flunk "restart kysod"; t_done; exit 1; }
script "pin $TOK_PIN"
n0=$(dialogs)
r=$(call "{\"certificate\":\"$id\",\"documents\":[$(doc f.txt),$(doc g.txt)]}")
t_eq "login_cache = no: the batch is signed" 2 "$(echo "$r" | field signed)"
desc=$(last_desc | tr '\n' ' ')
t_eq "  ... after one dialog" 1 "$(( $(dialogs) - n0 ))"
t_eq "  ... which says nothing of a login kept" 0 "$(echo "$desc" | grep -c 'After this')"
t_match "  ... and ends with the question" 'Enter the PIN of the token to sign them all\. ?$' "$desc"
r=$(call "{\"certificate\":\"$id\",\"documents\":[$(doc h.txt ",\"signing_time\":\"$(rfc $(($(date +%s) - 120)))\"")]}")
t_match "signing_time_skew = 0: a time 2 minutes ago is refused" \
	'PolicyDenied .*documents\[0\]\.signing_time .*signing_time_skew = 0' "$(echo "$r" | field error) $(echo "$r" | field message)"
t_done

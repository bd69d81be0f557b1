#!/usr/bin/env bash
# Calls made for a web page (the `origin` parameter the browser host sends), seen from the
# agent: web_origins allows listed pages and "*." patterns, refuses others without a
# dialog (PolicyDenied naming web_origins), or — web_origins_unknown = ask — puts them to
# the officer (Allow / Refuse, then Always allow / Only for now), remembered in the state
# directory and forgotten with `kyso web-origins --forget`; an http page is never asked
# about; the dialogs name the page and the browser (the caller's parent); a web page's
# signature is confirmed when no PIN is asked; the audit record keeps the origin; calls
# without an origin are not affected; and a client that disconnects while its dialog is
# open closes that dialog (pinentry ends, nothing is signed). The token is SoftHSM; the
# dialogs are the scripted fake pinentry. Runs as root (KYSO_ADMIN_CONFIG).
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/pinentry.sh"
PY=/usr/bin/python3
VCALL=$T_TOP/tests/lib/vcall.py
ADMIN=$KYSO_ADMIN_CONFIG
AUDIT=$XDG_STATE_HOME/kyso/audit.log
STORE=$XDG_STATE_HOME/kyso/web-origins

if [ "$(id -u)" -ne 0 ]; then
	t_skip "web origin policy tests" "not root: kysod ignores KYSO_ADMIN_CONFIG"
	t_done; exit 0
fi
tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
id=$(cert_id "$TOK_DIR/key1.crt.pem")
doc=$T_DIR/doc; echo "the web document" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
pinentry_init
admin() { printf '%s\n' "$@" > "$ADMIN"; }
start() {
	agent_stop >/dev/null 2>&1
	agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" ||
		{ t_flunk "start kysod"; t_done; exit 1; }
}
call() { $PY "$VCALL" call "$@"; }
certs() { call io.kyso.Agent.ListCertificates "{\"origin\":\"$1\"}"; }
sign() {  # ORIGIN [EXTRA_JSON]
	call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"origin\":\"$1\"${2:-}}"
}
sig_of() { $PY -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
last_audit() { tail -n 1 "$AUDIT"; }
bash_exe=$(readlink -f /proc/$$/exe)

echo "pinentry_timeout = 20s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
admin "web_origins = https://vanban.example.vn https://*.mof.gov.vn http://localhost:8080" \
	"web_origins_unknown = deny"
start

# ---- listed pages ----
r=$(certs https://vanban.example.vn)
t_match "ListCertificates for a listed page: the certificates" "\"id\":\"$id\"" "$r"
t_match "  ... also for a page a '*.' pattern covers (any depth)" "\"id\":\"$id\"" \
	"$(certs https://hn.vanban.mof.gov.vn)"
t_match "  ... and for an http page on this machine when it is listed exactly" \
	"\"id\":\"$id\"" "$(certs http://localhost:8080)"
t_match "  ... origins are compared normalised (case, default port)" "\"id\":\"$id\"" \
	"$(certs HTTPS://VanBan.Example.VN:443)"
t_eq "  ... without any dialog" 0 "$(dialogs)"

# ---- refused without a dialog ----
r=$(certs https://evil.example.net)
t_match "a page not listed (deny): PolicyDenied naming web_origins and the page" \
	'"error":"io.kyso.Agent.PolicyDenied".*"setting":"web_origins".*"origin":"https://evil.example.net"' "$r"
t_match "  ... the message names the policy files" "not in web_origins \\($ADMIN" "$r"
t_match "  ... the pattern covers subdomains only, not the domain itself" \
	'PolicyDenied' "$(certs https://mof.gov.vn)"
t_match "  ... nor a look-alike suffix" 'PolicyDenied' "$(certs https://evilmof.gov.vn)"
t_match "  ... nor another port" 'PolicyDenied' "$(certs https://vanban.example.vn:8443)"
t_match "  ... nor another port of a listed http page" 'PolicyDenied' \
	"$(certs http://localhost:8081)"
r=$(sign https://evil.example.net)
t_match "Sign for a page not listed: PolicyDenied, before the certificate is looked at" \
	'PolicyDenied' "$r"
r=$(call io.kyso.Agent.Sign "{\"certificate\":\"0000000000000000\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"origin\":\"https://evil.example.net\"}")
t_match "  ... also for a certificate that does not exist (a refused page learns nothing)" \
	'PolicyDenied' "$r"
t_match "  ... and the refusal is recorded with the page" \
	'"origin":"https://evil.example.net","browser":"[^"]+",.*"result":"io.kyso.Agent.PolicyDenied"' \
	"$(last_audit)"
t_eq "  ... no dialog at all" 0 "$(dialogs)"
for bad in http://evil.example.net ftp://vanban.example.vn https://vanban.example.vn/path \
	'https://user@vanban.example.vn' 'chrome-extension://abcdefghijklmnop' 'https://a b.vn' ''; do
	r=$(certs "$bad")
	t_match "origin '$bad': InvalidParameter naming origin" \
		'"error":"org.varlink.service.InvalidParameter".*"parameter":"origin"' "$r"
done
r=$(call io.kyso.Agent.ListCertificates '{"origin":17}')
t_match "  ... also a number" '"parameter":"origin"' "$r"
r=$(call io.kyso.Agent.ListTokens '{"origin":"https://vanban.example.vn"}')
t_match "ListTokens takes no origin (the browser host never calls it)" 'InvalidParameter' "$r"

# ---- a web page's signature: the PIN dialog names the page and the browser ----
script "pin $TOK_PIN"
sign https://vanban.example.vn ',"description":"Công văn 17/2026"' | sig_of > "$T_DIR/s1.sig"
t_ok "Sign for a listed page, token not logged in: the PIN dialog, then a signature OpenSSL verifies" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/s1.sig" "$doc"
t_eq "  ... one dialog: the PIN (no extra confirmation: typing the PIN agrees)" "1 GETPIN" \
	"$(dialogs) $(dialog_field 1 cmd)"
desc=$(dialog_field 1 desc | tr '\n' ' ')
t_match "  ... naming the web page" "The web page https://vanban.example.vn asks to sign" "$desc"
t_match "  ... and the browser (the caller's parent, from /proc) and the host (the caller)" \
	"through the browser $bash_exe \\(pid [0-9]+\\) and its kyso host $(readlink -f /usr/bin/python3) \\(pid [0-9]+\\)" "$desc"
t_match "  ... and the page's own words" "in the web page's own words:.*Công văn 17/2026" "$desc"
t_match "the audit record keeps the page and the browser" \
	"\"origin\":\"https://vanban.example.vn\",\"browser\":\"$bash_exe\",.*\"result\":\"granted\"" \
	"$(last_audit)"

script refuse
r=$(sign https://vanban.example.vn)
t_match "logged in, a web page's Sign is confirmed first; refused → Cancelled (refused)" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"refused"' "$r"
desc=$(dialog_field 1 desc)
t_match "  ... by a confirmation dialog naming the page" \
	"^CONFIRM The web page https://vanban.example.vn asks to sign" \
	"$(dialog_field 1 cmd) ${desc%%$'\n'*}"
script confirm
r=$(sign https://vanban.example.vn)
t_match "  ... confirmed → signed" '"signature":' "$r"
n0=$(dialogs)
r=$(call io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}")
t_match "a Sign without an origin is not affected: the login serves it, no dialog" \
	'"signature":' "$r"
t_eq "  ... (no new dialog)" "$n0" "$(dialogs)"
t_match "  ... and its record has no origin" '^[^}]*"exe":"[^"]*","method"' "$(last_audit)"

# ---- web_origins_unknown = ask ----
admin "web_origins = https://vanban.example.vn" "web_origins_unknown = ask"
start
script confirm cancel
n0=$(dialogs)
r=$($PY "$VCALL" seq "[[\"io.kyso.Agent.ListCertificates\",{\"origin\":\"https://other.example.org\"}],[\"io.kyso.Agent.ListCertificates\",{\"origin\":\"https://other.example.org\"}]]")
t_match "ask: a page not listed is put to the officer; Allow → the certificates" \
	"\"id\":\"$id\"" "$(echo "$r" | head -n 1)"
t_eq "  ... two questions: Allow/Refuse, then Always allow/Only for now" \
	"kyso: a web page asks|kyso: remember this web page?|Always allow|Only for now" \
	"$(dialog_field 2 title)|$(dialog_field 1 title)|$(dialog_field 1 ok)|$(dialog_field 1 cancel)"
t_match "  ... the first names the page and the browser" \
	"The web page +https://other.example.org +asks to use your signing certificates.*through the browser $bash_exe" \
	"$(dialog_field 2 desc | tr '\n' ' ')"
t_eq "  ... with the buttons Allow / Refuse" "Allow/Refuse" "$(dialog_field 2 ok)/$(dialog_field 2 cancel)"
t_match "  ... 'only for now': the next call is not asked" "\"id\":\"$id\"" \
	"$(echo "$r" | tail -n 1)"
t_match "  ... nor one on another connection (the browser may start a new host)" \
	"\"id\":\"$id\"" "$(certs https://other.example.org)"
t_eq "  ... (two dialogs in all) and nothing is written to disk" "2 no" \
	"$(( $(dialogs) - n0 )) $([ -s "$STORE" ] && echo yes || echo no)"
t_match "  ... kyso web-origins lists it as allowed for now" \
	'Allowed by you for now.*https://other.example.org' "$($K web-origins | tr '\n' ' ')"
t_match "  ... and --forget takes it back" "is asked about again" \
	"$($K web-origins --forget https://other.example.org)"
script refuse
r=$(certs https://other.example.org)
t_match "  ... so it is asked again; Refuse → Cancelled (refused), naming the page" \
	'"error":"io.kyso.Agent.Cancelled".*"reason":"refused","origin":"https://other.example.org"' "$r"
script refuse
r=$(sign https://other.example.org ',"description":"x"')
t_match "a refused Sign question is recorded with the page" \
	'"origin":"https://other.example.org".*"description":"x","result":"io.kyso.Agent.Cancelled"' \
	"$(last_audit)"
script refuse
r=$(call io.kyso.Agent.SignDocuments "{\"certificate\":\"$id\",\"origin\":\"https://other.example.org\",\"documents\":[{\"name\":\"a.pdf\",\"digest\":\"$dig\",\"digest_algorithm\":\"sha256\"},{\"name\":\"b.pdf\",\"digest\":\"$dig\",\"digest_algorithm\":\"sha256\"}]}")
t_match "SignDocuments asks about the page too; refused → Cancelled" '"reason":"refused"' "$r"
t_eq "  ... and each document is recorded as refused, with the page" 2 \
	"$(tail -n 2 "$AUDIT" | grep -c '"origin":"https://other.example.org".*"method":"io.kyso.Agent.SignDocuments".*"result":"io.kyso.Agent.Cancelled"')"
script confirm confirm
r=$(certs https://other.example.org)
t_match "Allow, then Always allow → the certificates" "\"id\":\"$id\"" "$r"
t_match "  ... and the page is remembered in the state directory" \
	'^https://other.example.org 20[0-9-]+T[0-9:]+Z$' "$(grep -v '^#' "$STORE")"
t_eq "  ... a file only its owner may read or write" 600 "$(stat -c %a "$STORE")"
n0=$(dialogs)
t_match "  ... the next connection is not asked" "\"id\":\"$id\"" \
	"$(certs https://other.example.org)"
t_eq "  ... (no dialog)" "$n0" "$(dialogs)"
out=$($K web-origins)
t_match "kyso web-origins lists the policy's pages and the remembered one" \
	'https://vanban.example.vn.*you are asked.*https://other.example.org +\(since' \
	"$(echo "$out" | tr '\n' ' ')"
t_match "  ... (also as JSON)" '"remembered": \[' "$($K web-origins --json)"
r=$(certs http://localhost:9999)
t_match "an http page not listed is never asked about, even with ask" \
	'PolicyDenied.*never asked about' "$r"
t_eq "  ... (no dialog)" "$n0" "$(dialogs)"
t_match "kyso web-origins --forget takes it back" "is asked about again" \
	"$($K web-origins --forget HTTPS://other.example.org:443)"
t_eq "  ... the file no longer has it" "" "$(grep -v '^#' "$STORE")"
script refuse
t_match "  ... so the next call asks again" '"reason":"refused"' \
	"$(certs https://other.example.org)"
t_match "kyso web-origins --forget of a page not remembered says so" "was not among" \
	"$($K web-origins --forget https://never.example.org)"
$K web-origins --forget 'http://evil.example.net' >/dev/null 2>&1
t_eq "  ... and a bad origin is a usage error (exit 2), as the agent says" 2 $?

# the file as written by hand, and one others may write
printf '# by hand\nhttps://third.example.org 2026-01-01T00:00:00Z\n' > "$STORE"
chmod 600 "$STORE"
n0=$(dialogs)
t_match "a page written into the remembered-pages file by hand counts at once" "\"id\":\"$id\"" \
	"$(certs https://third.example.org)"
t_eq "  ... (no dialog)" "$n0" "$(dialogs)"
chmod 666 "$STORE"
script refuse
r=$(certs https://third.example.org)
t_match "a remembered-pages file others may write is not trusted: asked again" \
	'"reason":"refused"' "$r"
t_match "  ... and the log says why" "others may write the file" "$(cat "$T_DIR/kysod.log")"
chmod 600 "$STORE"
rm -f "$STORE"; ln -s "$T_DIR/elsewhere" "$STORE"; echo "https://third.example.org 2026-01-01T00:00:00Z" > "$T_DIR/elsewhere"
script refuse
t_match "  ... nor a symbolic link" '"reason":"refused"' "$(certs https://third.example.org)"
rm -f "$STORE"

# the user file cannot turn deny into ask
admin "web_origins = https://vanban.example.vn" "web_origins_unknown = deny"
echo "web_origins_unknown = ask" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
start
n0=$(dialogs)
t_match "the user's web_origins_unknown = ask cannot loosen the admin's deny" 'PolicyDenied' \
	"$(certs https://other.example.org)"
t_eq "  ... (no dialog)" "$n0" "$(dialogs)"
t_match "  ... and kysod says why it ignored it" "web_origins_unknown = ask ignored" \
	"$(cat "$T_DIR/kysod.log")"
sed -i '/web_origins_unknown/d' "$XDG_CONFIG_HOME/kyso/kysod.conf"

# ---- a client that leaves while its dialog is open ----
admin "web_origins = https://vanban.example.vn" "web_origins_unknown = ask"
start
$K lock >/dev/null
script hang
n0=$(dialogs)
$PY "$VCALL" hold io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"origin\":\"https://vanban.example.vn\"}" \
	"$FAKE_PINENTRY_LOG" $((n0 + 1))
t_eq "a web page's PIN dialog is up (the client waited for it, then left)" GETPIN \
	"$(dialog_field 1 cmd)"
t_eq "  ... kysod ends the pinentry, and records the Sign as Cancelled (disconnected)" yes \
	"$(wait_dialogs_closed '"result":"io.kyso.Agent.Cancelled","message":"[^"]*closed its connection')"
t_match "  ... the record names the page" '"origin":"https://vanban.example.vn".*closed its connection' \
	"$(last_audit)"
t_match "  ... kysod goes on serving" "\"id\":\"$id\"" "$(certs https://vanban.example.vn)"

script hang
n0=$(dialogs)
$PY "$VCALL" hold io.kyso.Agent.ListCertificates '{"origin":"https://fourth.example.org"}' \
	"$FAKE_PINENTRY_LOG" $((n0 + 1))
t_eq "the question about a page ends too when its client leaves" yes "$(wait_dialogs_closed)"
script "pin $TOK_PIN"
r=$(sign https://vanban.example.vn)
t_match "  ... and the next request gets its own dialog at once" '"signature":' "$r"

# the same for a program without an origin (kyso sign killed while it waits)
$K lock >/dev/null
script hang
n0=$(dialogs)
$PY "$VCALL" hold io.kyso.Agent.Sign "{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"}" \
	"$FAKE_PINENTRY_LOG" $((n0 + 1))
t_eq "a desktop program's PIN dialog ends as well when the program leaves" yes \
	"$(wait_dialogs_closed '"result":"io.kyso.Agent.Cancelled".*closed its connection')"
t_ok "kysod is alive throughout" agent_alive
t_agent_stops
t_done

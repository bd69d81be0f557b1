#!/usr/bin/env bash
# Web pages sign through real browsers: Debian's chromium (and firefox-esr), headless,
# with the kyso extension loaded unpacked and kyso-browser-host registered for the test
# profile, driven through puppeteer-core (tests/browser/drive.mjs). A test page served on
# 127.0.0.1 (a free port) uses kyso-web.js as a page author would: status, the
# certificate list, a signature over a hash that OpenSSL then verifies with the listed
# certificate. The scripted pinentry shows the page's origin and the browser; the audit
# record has them; a page from an origin the policy does not list (localhost instead of
# 127.0.0.1) gets PolicyDenied and no dialog; an http page elsewhere gets InsecureOrigin;
# a page closed while its PIN dialog is open closes the dialog; a page firing 10,000
# requests gets Busy for all but 16 and kysod serves on; without kysod, AgentNotRunning;
# without the extension, ExtensionMissing; without the host, HostMissing.
# Runs once, on the plain build (browsers under ASan would only be slow).
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/pinentry.sh"
PY=/usr/bin/python3
AUDIT=$XDG_STATE_HOME/kyso/audit.log
NODE_DIR=$T_TOP/tests/browser

if ldd "$BUILD/kysod" 2>/dev/null | grep -q libasan; then
	t_skip "browser tests" "run once, on the plain build"
	t_done; exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "browser tests" "not root: kysod ignores KYSO_ADMIN_CONFIG"
	t_done; exit 0
fi
for need in /usr/bin/chromium node "$NODE_DIR/node_modules/puppeteer-core/package.json"; do
	if ! command -v "$need" >/dev/null 2>&1 && [ ! -e "$need" ]; then
		t_skip "browser tests" "$need is missing (packaging/deps.sh installs it)"
		t_done; exit 0
	fi
done
tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
id1=$(cert_id "$TOK_DIR/key1.crt.pem")
pinentry_init
last_desc() { dialog_field 1 desc | tr '\n' ' '; }

# ---- the test page, on a free port of 127.0.0.1 ----
mkdir -p "$T_DIR/www"
cp "$NODE_DIR/page.html" "$NODE_DIR/page.js" "$T_TOP/browser/kyso-web.js" "$T_DIR/www/"
$PY -u -m http.server 0 --bind 127.0.0.1 --directory "$T_DIR/www" > "$T_DIR/http.log" 2>&1 &
HTTP_PID=$!
PORT=
for _ in $(seq 1 500); do
	PORT=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$T_DIR/http.log" | head -n 1)
	[ -n "$PORT" ] && break
	kill -0 "$HTTP_PID" 2>/dev/null || break
	sleep 0.02
done
[ -n "$PORT" ] || { t_flunk "start the test page's server" "$(cat "$T_DIR/http.log")"; t_done; exit 1; }
PAGE=http://127.0.0.1:$PORT
OTHER=http://localhost:$PORT

echo "pinentry_timeout = 30s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
printf 'web_origins = %s\nweb_origins_unknown = deny\n' "$PAGE" > "$KYSO_ADMIN_CONFIG"
agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }

# the host manifests for the test browsers: the built host, this build's extension ids
host_manifest() {  # BUILT_MANIFEST OUT
	mkdir -p "$(dirname "$2")"
	$PY - "$1" "$2" "$BUILD/kyso-browser-host" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["path"] = sys.argv[3]
json.dump(m, open(sys.argv[2], "w"), indent=2)
PY
}
CHROME_PROFILE=$T_DIR/chromium
host_manifest "$BUILD/browser/native/chromium/io.kyso.browser_host.json" \
	"$CHROME_PROFILE/NativeMessagingHosts/io.kyso.browser_host.json"

# the driver: one command per line in, one JSON answer per line out
coproc DRIVE { cd "$NODE_DIR" && exec node drive.mjs 2>>"$T_DIR/drive.err"; }
drive() {  # COMMAND...: sends one command, prints its answer
	local line
	printf '%s\n' "$*" >&"${DRIVE[1]}"
	if IFS= read -r -t 240 line <&"${DRIVE[0]}"; then printf '%s\n' "$line"
	else echo '{"error":"the driver did not answer"}'; fi
}
# value JSON_ANSWER [PATH]: the call's value (or "THROWN name: message"), or a field of it
value() { $PY -c 'import json,sys
a=json.loads(sys.argv[1])
if "error" in a: print("DRIVER ERROR: " + a["error"]); sys.exit()
v=a["ok"]
if isinstance(v, dict) and "thrown" in v: print("THROWN %s: %s" % (v["thrown"]["name"], v["thrown"]["message"])); sys.exit()
if isinstance(v, dict) and "value" in v: v=v["value"]
for k in (sys.argv[2].split(".") if len(sys.argv) > 2 and sys.argv[2] else []):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$@"; }

start=$(date +%s)
# ---- Chromium with the extension ----
r=$(drive launch chromium "$CHROME_PROFILE" "$BUILD/browser/chromium")
t_match "chromium starts headless with the unpacked extension (its worker is up)" '"version":"[^"]*Chrome' "$r"
r=$(drive goto "$PAGE/page.html")
t_match "the test page loads from $PAGE" '"ok":"http://127.0.0.1' "$r"
r=$(drive call 'kysoTest.status()')
t_match "status(): the extension, the host and kysod answer" \
	'"extension":\{"version":"[0-9.]+"\}' "$(value "$r")"
t_eq "  ... with the page's origin as the browser gives it" "$PAGE" "$(value "$r" origin)"
r=$(drive call 'kysoTest.certs()')
t_eq "getCertificates(): the signing certificate" "$id1" "$(value "$r" 0.id)"
value "$r" 0.certificate | base64 -d > "$T_DIR/listed.der"
openssl x509 -inform DER -in "$T_DIR/listed.der" -pubkey -noout > "$T_DIR/listed.pub"
t_eq "  ... the listed certificate is the token's (its SHA-256 is the id)" "$id1" \
	"$(sha256sum < "$T_DIR/listed.der" | cut -d' ' -f1)"

text="Công văn số 17/2026/CV-VP: kế hoạch tập huấn chữ ký số"
printf '%s' "$text" > "$T_DIR/doc"
script "pin $TOK_PIN"
r=$(drive call "kysoTest.signText('$id1', '$text', 'Công văn 17/2026')")
value "$r" signature | base64 -d > "$T_DIR/page.sig"
t_ok "sign() from the page: OpenSSL verifies the signature with the listed certificate" \
	verify_sig ecdsa-sha256 "$T_DIR/listed.pub" "$T_DIR/page.sig" "$T_DIR/doc"
desc=$(last_desc)
t_match "the PIN dialog names the page" "The web page $PAGE asks to sign" "$desc"
t_match "  ... the browser that asks (from /proc: Chromium itself, not the page's word)" \
	"through the browser /usr/lib/chromium/chromium \\(pid [0-9]+\\) and its kyso host $BUILD/kyso-browser-host" "$desc"
t_match "  ... and the page's own words" "Công văn 17/2026" "$desc"
t_match "the audit record has the page and the browser" \
	"\"origin\":\"$PAGE\",\"browser\":\"/usr/lib/chromium/chromium\".*\"result\":\"granted\"" \
	"$(tail -n 1 "$AUDIT")"
shot=${KYSO_SCREENSHOT:-$T_DIR/signed.png}
r=$(drive screenshot "$shot")
t_eq "a screenshot of the page after the signature is a PNG" "PNG" "$(head -c 4 "$shot" | tail -c 3)"

# signDocuments: kysod's CMS for each document, one consent, progress as it goes
printf '%s' "Tờ trình số 1" > "$T_DIR/d1"; printf '%s' "Tờ trình số 2" > "$T_DIR/d2"
script confirm
n0=$(dialogs)
r=$(drive call "kysoTest.signDocs('$id1', ['Tờ trình số 1', 'Tờ trình số 2'], 'hai tờ trình')")
t_eq "signDocuments() from the page: 2 signed, progress for each in order" "2 [0,1]" \
	"$(value "$r" signed) $(value "$r" seen)"
ok=0
for k in 1 2; do
	value "$r" "documents.$((k - 1)).cms" | base64 -d > "$T_DIR/d$k.p7s"
	openssl cms -verify -binary -inform DER -in "$T_DIR/d$k.p7s" -content "$T_DIR/d$k" \
		-CAfile "$TOK_DIR/ca.crt" -out /dev/null 2>/dev/null && ok=$((ok + 1))
done
t_eq "  ... each CMS verified by openssl cms -verify for its document" 2 "$ok"
t_match "  ... after one confirmation that names the page and the documents" \
	"^1 The web page $PAGE asks to sign 2 documents.*van-ban-1.txt" \
	"$(( $(dialogs) - n0 )) $(last_desc)"

# the page closed while its PIN dialog is open
$K lock >/dev/null
script hang
n0=$(dialogs)
drive call "(window.pending = kysoTest.signText('$id1', 'x', 'closed tab'), 'started')" >/dev/null
for _ in $(seq 1 1500); do [ "$(dialogs)" -gt "$n0" ] && break; sleep 0.02; done
t_eq "a sign() whose PIN dialog is up" GETPIN "$(dialog_field 1 cmd)"
drive goto "about:blank" >/dev/null
t_eq "  ... the tab navigates away: the host ends, kysod closes the dialog, nothing is signed" yes \
	"$(wait_dialogs_closed '"description":"closed tab","result":"io.kyso.Agent.Cancelled".*closed its connection')"

# the whole browser closed while a PIN dialog is open
drive goto "$PAGE/page.html" >/dev/null
script hang
n0=$(dialogs)
drive call "(window.pending = kysoTest.signText('$id1', 'x', 'closed browser'), 'started')" >/dev/null
for _ in $(seq 1 1500); do [ "$(dialogs)" -gt "$n0" ] && break; sleep 0.02; done
drive close >/dev/null
t_eq "the browser quits during a PIN dialog: kysod closes it, nothing is signed" yes \
	"$(wait_dialogs_closed '"description":"closed browser","result":"io.kyso.Agent.Cancelled".*closed its connection')"
t_eq "  ... and no kyso-browser-host is left running" "" "$(pgrep -f "^$BUILD/kyso-browser-host" || true)"
drive launch chromium "$CHROME_PROFILE" "$BUILD/browser/chromium" >/dev/null

# a page from an origin the policy does not list
drive goto "$OTHER/page.html" >/dev/null
n0=$(dialogs)
r=$(drive call 'kysoTest.certs()')
t_match "a page from $OTHER (not in web_origins): PolicyDenied" "^THROWN PolicyDenied: the web page $OTHER may not use kyso" "$(value "$r")"
t_eq "  ... and no dialog" "$n0" "$(dialogs)"

# 10,000 requests at once from a page
drive goto "$PAGE/page.html" >/dev/null
r=$(drive call 'Promise.allSettled(Array.from({length: 10000}, () => kysoTest.kyso.status())).then((rs) => { const n = {}; for (const r of rs) { const k = r.status === "fulfilled" ? "ok" : r.reason.name; n[k] = (n[k] || 0) + 1; } return n; })')
t_eq "a page sends 10,000 requests at once: 16 are served, the others get Busy at once" \
	'{"ok":16,"Busy":9984}' "$(value "$r")"
t_ok "  ... and kysod is not troubled" agent_alive
r=$(drive call 'kysoTest.kyso.status().then((s) => s.agent.product)')
t_eq "  ... the page is served again afterwards" kysod "$(value "$r")"

# an http page that is not on this machine (drive.mjs maps *.test to 127.0.0.1)
drive goto "http://vanban.test:$PORT/page.html" >/dev/null
r=$(drive call 'kysoTest.status()')
t_match "an http page elsewhere (http://vanban.test:$PORT): InsecureOrigin, from the extension" \
	"^THROWN InsecureOrigin: kyso serves pages over https" "$(value "$r")"
drive goto "$PAGE/page.html" >/dev/null

# without kysod
agent_stop >/dev/null 2>&1
r=$(drive call 'kysoTest.status()')
t_match "without kysod: AgentNotRunning" "^THROWN AgentNotRunning: the kyso agent \\(kysod\\) is not running" "$(value "$r")"
drive close >/dev/null

# without the host (a profile where it is not registered)
r=$(drive launch chromium "$T_DIR/chromium-nohost" "$BUILD/browser/chromium")
drive goto "$PAGE/page.html" >/dev/null
r=$(drive call 'kysoTest.status()')
t_match "without the host: HostMissing" "^THROWN HostMissing: the kyso host \\(kyso-browser-host\\) is not installed" "$(value "$r")"
drive close >/dev/null

# without the extension
drive launch chromium "$T_DIR/chromium-noext" >/dev/null
drive goto "$PAGE/page.html" >/dev/null
r=$(drive call 'kysoTest.status()')
t_match "without the extension: ExtensionMissing" "^THROWN ExtensionMissing:" "$(value "$r")"
drive close >/dev/null
t_pass "chromium: $(( $(date +%s) - start )) s for these steps"

# ---- Firefox ESR ----
if ! command -v firefox-esr >/dev/null 2>&1; then
	t_skip "firefox-esr" "not installed (packaging/deps.sh installs it)"
else
	start=$(date +%s)
	agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" >/dev/null
	FF_HOME=$T_DIR/firefox-home
	host_manifest "$BUILD/browser/native/firefox/io.kyso.browser_host.json" \
		"$FF_HOME/.mozilla/native-messaging-hosts/io.kyso.browser_host.json"
	r=$(drive launch firefox "$FF_HOME" "$BUILD/browser/firefox")
	t_match "firefox-esr starts headless and installs the extension (temporary add-on)" \
		'"extension":"kyso-extension@kyso.invalid"' "$r"
	drive goto "$PAGE/page.html" >/dev/null
	r=$(drive call 'kysoTest.certs()')
	t_eq "firefox: getCertificates()" "$id1" "$(value "$r" 0.id)"
	script "pin $TOK_PIN"
	r=$(drive call "kysoTest.signText('$id1', '$text', 'Công văn 17/2026 (Firefox)')")
	value "$r" signature | base64 -d > "$T_DIR/ff.sig"
	t_ok "firefox: sign(); OpenSSL verifies" verify_sig ecdsa-sha256 "$T_DIR/listed.pub" \
		"$T_DIR/ff.sig" "$T_DIR/doc"
	t_match "  ... the dialog names the page and Firefox as the browser" \
		"The web page $PAGE asks to sign.*through the browser /usr/lib/firefox-esr/firefox-esr" "$(last_desc)"
	drive goto "$OTHER/page.html" >/dev/null
	t_match "firefox: a page not in web_origins gets PolicyDenied" "^THROWN PolicyDenied" \
		"$(value "$(drive call 'kysoTest.certs()')")"
	drive close >/dev/null
	t_pass "firefox: $(( $(date +%s) - start )) s for these steps"
fi
exec {DRIVE[1]}>&-
wait "$DRIVE_PID" 2>/dev/null
kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null
t_done

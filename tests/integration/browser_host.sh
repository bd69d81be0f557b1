#!/usr/bin/env bash
# kyso-browser-host, driven as a browser drives it (tests/tools/nm-driver: frames on its
# standard input and output): status, the certificate list and its filter (key usage
# nonRepudiation, valid now), signing a hash (OpenSSL verifies; the dialog and the audit
# record name the page), the errors pages see by name; hostile input (a length over the
# 1 MiB cap refused before the body is read, truncated frames, empty, non-JSON and
# non-UTF-8 messages, origins that are not https, 10,000 requests in a row with bounded
# memory); the browser closing the pipe while a PIN dialog is open (the dialog closes,
# nothing is signed); no kysod; and kysod unaffected throughout. A real kysod on SoftHSM,
# the scripted fake pinentry. Runs as root (KYSO_ADMIN_CONFIG).
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/pinentry.sh"
PY=/usr/bin/python3
DRIVER=$T_TOP/tests/tools/nm-driver
HOST=$BUILD/kyso-browser-host
AUDIT=$XDG_STATE_HOME/kyso/audit.log
PAGE=https://vanban.example.vn
EXT=chrome-extension://ohcfhmgkenhflnjmjfmccmjfgbehgjlh/

if [ "$(id -u)" -ne 0 ]; then
	t_skip "browser host tests" "not root: kysod ignores KYSO_ADMIN_CONFIG"
	t_done; exit 0
fi
tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 &&
	tok_key officer 02 rsa:2048 rsakey && tok_key officer 03 ec:p256 plain &&
	tok_key officer 04 ec:p256 expired ||
	{ t_flunk "make the test token"; t_done; exit 1; }

# Replace a certificate on the token: delete the object, write the new one with the id.
put_cert() {  # NAME ID
	local p11=(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label officer --login --pin "$TOK_PIN")
	"${p11[@]}" --delete-object --type cert --id "$2" >/dev/null 2>&1 &&
	openssl x509 -in "$TOK_DIR/$1.crt.pem" -outform DER -out "$TOK_DIR/$1.crt.der" &&
	"${p11[@]}" --write-object "$TOK_DIR/$1.crt.der" --type cert --id "$2" --label "$1" \
		>/dev/null 2>&1
}
# mkcert NAME ID KEYUSAGE START END: a certificate from the test CA with this key usage
# and these dates in place of NAME's, for the listing's filter. openssl ca (Debian 12's
# OpenSSL 3.0 sets dates only there) signs a request's own key: a request for the token's
# key needs the token, so the certificate carries a throwaway key. The agent lists it
# like any certificate whose CKA_ID has a private key; it is never used to sign.
mkcert() {
	local d=$T_DIR/ca name=$1
	mkdir -p "$d/new"; : > "$d/index"; [ -f "$d/serial" ] || echo 1000 > "$d/serial"
	printf '[ca]\ndefault_ca = t\n[t]\ndatabase = %s/index\nnew_certs_dir = %s/new\nserial = %s/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n[x]\nkeyUsage = critical,%s\nbasicConstraints = CA:FALSE\n' \
		"$d" "$d" "$d" "$3" > "$d/ca.cnf"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/k" -subj "/CN=$name officer/O=kyso tests" -out "$d/r" 2>/dev/null &&
	openssl ca -batch -config "$d/ca.cnf" -cert "$TOK_DIR/ca.crt" -keyfile "$TOK_DIR/ca.key" \
		-in "$d/r" -startdate "$4" -enddate "$5" -extensions x -notext \
		-out "$TOK_DIR/$name.crt.pem" >/dev/null 2>&1 &&
	put_cert "$name" "$2"
}
mkcert plain 03 digitalSignature 20260101000000Z 20991231000000Z &&
	mkcert expired 04 digitalSignature,nonRepudiation 20200101000000Z 20200201000000Z ||
	t_flunk "make certificates without nonRepudiation, and expired"

id1=$(cert_id "$TOK_DIR/key1.crt.pem")
idr=$(cert_id "$TOK_DIR/rsakey.crt.pem")
idp=$(cert_id "$TOK_DIR/plain.crt.pem")
ide=$(cert_id "$TOK_DIR/expired.crt.pem")
doc=$T_DIR/doc; echo "a letter from the web" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
pinentry_init
echo "pinentry_timeout = 20s" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
printf 'web_origins = %s\nweb_origins_unknown = deny\n' "$PAGE" > "$KYSO_ADMIN_CONFIG"
agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }

# drive SCRIPT_LINES...: runs the host (as Chromium would start it) with these actions
drive() { printf '%s\n' "$@" | $PY "$DRIVER" "$HOST" "$EXT" 2>>"$T_DIR/host.err"; }
req() {  # ID COMMAND ARGS_JSON [ORIGIN]: one request line for drive
	printf 'send {"id":%s,"origin":"%s","command":"%s","arguments":%s}' "$1" "${4:-$PAGE}" "$2" "$3"
}
field() { $PY -c 'import json,sys
v=json.loads(sys.stdin.readline())
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))' "$1"; }

# ---- the deployment examples in docs/ name this build's extension ids ----
ext_id=$(base64 -d "$T_TOP/browser/extension/key.pub" | sha256sum | cut -c1-32 | tr 0-9a-f a-p)
for f in chromium-policy.json chrome-policy.json firefox-policies.json; do
	t_ok "docs/examples/browser/$f is JSON" $PY -m json.tool "$T_TOP/docs/examples/browser/$f"
done
t_match "  ... the Chromium policy installs this extension id ($ext_id)" "\"$ext_id\"" \
	"$(cat "$T_TOP/docs/examples/browser/chromium-policy.json")"
t_match "  ... so does updates.xml" "appid=\"$ext_id\"" "$(cat "$T_TOP/docs/examples/browser/updates.xml")"
t_match "  ... and docs/web.md" "$ext_id" "$(cat "$T_TOP/docs/web.md")"
t_match "  ... the host manifest allows it" "chrome-extension://$ext_id/" \
	"$(cat "$BUILD/browser/native/chromium/io.kyso.browser_host.json")"
gecko=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["browser_specific_settings"]["gecko"]["id"])' "$BUILD/browser/firefox/manifest.json")
t_match "  ... the Firefox policy and host manifest name the extension's gecko id ($gecko)" \
	"\"$gecko\".*\"$gecko\"" "$(cat "$T_TOP/docs/examples/browser/firefox-policies.json" "$BUILD/browser/native/firefox/io.kyso.browser_host.json" | tr -d '\n')"

# ---- the host's own options ----
t_match "kyso-browser-host --version" '^kyso-browser-host [0-9]' "$($HOST --version)"
t_match "kyso-browser-host --help says what it is" "native-messaging host" "$($HOST --help)"

# ---- status ----
out=$(drive "$(req 1 status '{}')" recv)
t_eq "status: the id is echoed" 1 "$(echo "$out" | field id)"
t_match "  ... the host's and the agent's versions" \
	'"host":\{"version":"[0-9.]+"\},"agent":\{"product":"kysod","version":"[0-9.]+"\},.*"origin":"https://vanban.example.vn"' "$out"

# ---- certificates ----
out=$(drive "$(req '"c1"' certificates '{}')" recv)
ids=$(echo "$out" | $PY -c 'import json,sys; print(" ".join(sorted(c["id"] for c in json.load(sys.stdin)["result"]["certificates"])))')
t_eq "certificates: by default those with nonRepudiation, valid now (not plain, not expired)" \
	"$(printf '%s\n' "$id1" "$idr" | sort | tr '\n' ' ' | sed 's/ $//')" "$ids"
out=$(drive "$(req 2 certificates '{"keyUsage":"any","validNow":false}')" recv)
t_eq "  ... keyUsage any, validNow false: all four" 4 \
	"$(echo "$out" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["certificates"]))')"
out=$(drive "$(req 3 certificates '{"keyUsage":"digitalSignature"}')" recv)
t_eq "  ... keyUsage digitalSignature: the valid ones that have it (plain too)" 3 \
	"$(echo "$out" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["certificates"]))')"
one=$(drive "$(req 4 certificates '{}')" recv | $PY -c "import json,sys
for c in json.load(sys.stdin)['result']['certificates']:
    if c['id'] == '$id1': print(json.dumps(c, separators=(',', ':')))")
t_match "  ... each with its fields for the page" \
	'"subject":.*"issuer":.*"serial":.*"notBefore":.*"notAfter":.*"keyType":"ec".*"keyUsage":\["digitalSignature","nonRepudiation"\].*"algorithms":\["ecdsa-sha256"' "$one"
echo "$one" | field certificate | base64 -d > "$T_DIR/c1.der"
t_eq "  ... and the certificate itself (DER): its SHA-256 is the id" "$id1" \
	"$(sha256sum < "$T_DIR/c1.der" | cut -d' ' -f1)"
t_match "  ... a bad filter is InvalidArgument" '"name":"InvalidArgument".*"argument":"keyUsage"' \
	"$(drive "$(req 5 certificates '{"keyUsage":"encipherOnly"}')" recv)"

# ---- sign ----
script "pin $TOK_PIN"
out=$(drive "$(req 10 sign "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\",\"description\":\"Quyết định 5/QĐ\"}")" recv)
echo "$out" | field result.signature | base64 -d > "$T_DIR/s1.sig"
openssl x509 -inform DER -in "$T_DIR/c1.der" -pubkey -noout > "$T_DIR/c1.pub"
t_ok "sign: an ECDSA signature that OpenSSL verifies with the listed certificate" \
	verify_sig ecdsa-sha256 "$T_DIR/c1.pub" "$T_DIR/s1.sig" "$doc"
t_eq "  ... the algorithm chosen for the key, DER" "ecdsa-sha256 der $id1" \
	"$(echo "$out" | field result.algorithm) $(echo "$out" | field result.signatureFormat) $(echo "$out" | field result.certificate)"
desc=$(dialog_field 1 desc | tr '\n' ' ')
t_match "  ... the PIN dialog names the page, the browser and the host" \
	"The web page https://vanban.example.vn asks to sign.*through the browser .* and its kyso host $HOST \\(pid" "$desc"
t_match "  ... and the page's words" "Quyết định 5/QĐ" "$desc"
t_match "  ... the audit record has the page" \
	"\"exe\":\"$HOST\",\"origin\":\"https://vanban.example.vn\",\"browser\":\"[^\"]+\".*\"description\":\"Quyết định 5/QĐ\",\"result\":\"granted\"" \
	"$(tail -n 1 "$AUDIT")"
script confirm
out=$(drive "$(req 11 sign "{\"certificate\":\"$idr\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\",\"algorithm\":\"rsa-pss\"}")" recv)
echo "$out" | field result.signature | base64 -d > "$T_DIR/s2.sig"
t_ok "sign with RSA-PSS named by the page (confirmed: the token is logged in); OpenSSL verifies" \
	verify_sig rsa-pss-sha256 "$TOK_DIR/rsakey.pub.pem" "$T_DIR/s2.sig" "$doc"
script confirm
out=$(drive "$(req 12 sign "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"sha256\",\"algorithm\":\"ecdsa-sha256\",\"signatureFormat\":\"raw\"}")" recv)
t_eq "sign with signatureFormat raw: 64 bytes r||s" 64 \
	"$(echo "$out" | field result.signature | base64 -d | wc -c)"

bad() {  # NAME ARGS_JSON ERROR_REGEX
	t_match "sign, $1" "$3" "$(drive "$(req 20 sign "$2")" recv)"
}
bad "a hash of the wrong length: InvalidArgument with both lengths" \
	"{\"certificate\":\"$id1\",\"hash\":\"$(head -c 20 /dev/zero | base64)\",\"hashAlgorithm\":\"SHA-256\"}" \
	'"name":"InvalidArgument".*"expected_length":32,"actual_length":20'
bad "a hash that is not base64" "{\"certificate\":\"$id1\",\"hash\":\"%%%\",\"hashAlgorithm\":\"SHA-256\"}" \
	'"InvalidArgument".*must be base64'
bad "no hashAlgorithm (it is never guessed)" "{\"certificate\":\"$id1\",\"hash\":\"$dig\"}" \
	"\"InvalidArgument\".*'hashAlgorithm' is missing"
bad "SHA-1" "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-1\"}" \
	'"InvalidArgument".*SHA-256, SHA-384 or SHA-512'
bad "an algorithm for another hash" "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\",\"algorithm\":\"ecdsa-sha384\"}" \
	'"InvalidArgument".*"argument":"algorithm"'
bad "a certificate that is not an id" "{\"certificate\":\"7c8e\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\"}" \
	'"InvalidArgument".*64 hex digits'
bad "a certificate that is not there: NoCertificate" "{\"certificate\":\"$(printf '%064d' 0)\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\"}" \
	'"name":"NoCertificate"'
bad "an RSA key with ECDSA: AlgorithmNotSupported" "{\"certificate\":\"$idr\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\",\"algorithm\":\"ecdsa\"}" \
	'"name":"AlgorithmNotSupported"'
bad "an unknown argument" "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\",\"pin\":\"1234\"}" \
	"\"InvalidArgument\".*unknown argument 'pin'"
script refuse
bad "the officer refuses: Cancelled" "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\"}" \
	'"name":"Cancelled".*"reason":"refused"'
script timeout
bad "nobody answers: Timeout" "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\"}" \
	'"name":"Timeout"'

# ---- signDocuments: the arguments ----
sd() { drive "$(req 25 signDocuments "$1")" recv; }
t_match "signDocuments without documents: InvalidArgument (1 to 1000)" \
	'"InvalidArgument".*"argument":"documents","limit":1000' \
	"$(sd "{\"certificate\":\"$id1\",\"documents\":[]}")"
t_match "  ... a document whose digest does not fit its algorithm: named" \
	'"InvalidArgument".*"argument":"digest","expected_length":48,"actual_length":32' \
	"$(sd "{\"certificate\":\"$id1\",\"documents\":[{\"name\":\"a.pdf\",\"digest\":\"$dig\",\"digestAlgorithm\":\"SHA-384\"}]}")"
t_match "  ... a document that is not an object" '"argument":"documents\[0\]"' \
	"$(sd "{\"certificate\":\"$id1\",\"documents\":[7]}")"
t_match "  ... an unknown profile" '"argument":"profile"' \
	"$(sd "{\"certificate\":\"$id1\",\"profile\":\"xades\",\"documents\":[{\"name\":\"a\",\"digest\":\"$dig\",\"digestAlgorithm\":\"SHA-256\"}]}")"

# ---- signDocuments: kysod builds a CMS per document, under one consent ----
for k in 1 2 3; do echo "Công văn $k/2026 của đơn vị" > "$T_DIR/doc$k.txt"; done
docs=$(for k in 1 2 3; do printf '{"name":"cv-%s.txt","digest":"%s","digestAlgorithm":"SHA-256"}\n' \
	"$k" "$(openssl dgst -sha256 -binary "$T_DIR/doc$k.txt" | base64 -w0)"; done | paste -sd, -)
script confirm
n0=$(dialogs)
out=$(drive "$(req 26 signDocuments "{\"certificate\":\"$id1\",\"description\":\"ba công văn\",\"documents\":[$docs]}")" \
	recv recv recv recv)
t_eq "signDocuments of 3: a progress message per document, then the result" \
	"progress progress progress result" \
	"$(echo "$out" | $PY -c 'import json,sys; print(" ".join(next(k for k in ("progress","result","error") if k in json.loads(l)) for l in sys.stdin))')"
t_match "  ... the result counts them and names kysod's batch" \
	'"result":\{"signed":3,"failed":0,"batch":"[0-9a-f]+"\}' "$(echo "$out" | tail -n 1)"
ok=0
for k in 1 2 3; do
	echo "$out" | sed -n "${k}p" | $PY -c 'import json,sys,base64
d=json.load(sys.stdin)["progress"]["document"]; sys.stdout.buffer.write(base64.b64decode(d["cms"]))' \
		> "$T_DIR/cv-$k.p7s"
	openssl cms -verify -binary -inform DER -in "$T_DIR/cv-$k.p7s" -content "$T_DIR/doc$k.txt" \
		-CAfile "$TOK_DIR/ca.crt" -out /dev/null 2>/dev/null && ok=$((ok + 1))
done
t_eq "  ... each a detached CMS that openssl cms -verify accepts for its document" 3 "$ok"
t_eq "  ... after one confirmation for the batch (the token is logged in)" \
	"1 CONFIRM" "$(( $(dialogs) - n0 )) $(dialog_field 1 cmd)"
desc=$(dialog_field 1 desc | tr '\n' ' ')
t_match "  ... which names the page, the number of documents and the browser" \
	"The web page https://vanban.example.vn asks to sign 3 documents.*It asks through the browser .*cv-1.txt.*ba công văn" "$desc"
t_eq "  ... and the audit log has one record per document, each with the page" 3 \
	"$(tail -n 3 "$AUDIT" | grep -c '"origin":"https://vanban.example.vn".*"method":"io.kyso.Agent.SignDocuments".*"result":"granted"')"
n0=$(dialogs)
out=$(drive "$(req 27 signDocuments "{\"certificate\":\"$id1\",\"documents\":[$docs]}" https://evil.example.net)" recv)
t_match "signDocuments from a page not in web_origins: PolicyDenied, no dialog" \
	'"name":"PolicyDenied"' "$out"
t_eq "  ... (no dialog) and three refused records with the page" "$n0 3" \
	"$(dialogs) $(tail -n 3 "$AUDIT" | grep -c '"origin":"https://evil.example.net".*SignDocuments.*PolicyDenied')"

# ---- origins ----
n0=$(dialogs)
t_match "a page not in web_origins: PolicyDenied naming web_origins" \
	'"name":"PolicyDenied".*"setting":"web_origins"' \
	"$(drive "$(req 30 certificates '{}' https://evil.example.net)" recv)"
t_match "  ... also for sign, and no dialog" '"name":"PolicyDenied"' \
	"$(drive "$(req 31 sign "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\"}" https://evil.example.net)" recv)"
t_eq "  ... (no dialog)" "$n0" "$(dialogs)"
for o in http://vanban.example.vn file:///etc/passwd chrome-extension://ohcfhmgkenhflnjmjfmccmjfgbehgjlh null; do
	t_match "origin $o: InsecureOrigin, kysod not asked" '"name":"InsecureOrigin"' \
		"$(drive "$(req 32 status '{}' "$o")" recv)"
done
t_match "origin with a path: InvalidArgument" '"name":"InvalidArgument".*no path' \
	"$(drive "$(req 33 status '{}' https://vanban.example.vn/x)" recv)"
out=$(drive "$(req 34 status '{}')" recv "$(req 35 status '{}' https://other.example.vn)" recv)
t_match "one host serves one page: another origin later is refused" \
	'"id":35,"error":\{"name":"InvalidArgument".*serves the page https://vanban.example.vn' \
	"$(echo "$out" | tail -n 1)"

# ---- hostile input ----
out=$(drive "len 1048577" recv wait)
t_match "a length over the 1 MiB cap: MessageTooLarge, before the body is read" \
	'"id":null,"error":\{"name":"MessageTooLarge".*"limit":1048576' "$(echo "$out" | head -n 1)"
t_eq "  ... and the host ends (the stream cannot be trusted): exit 1" "EXIT 1" "$(echo "$out" | tail -n 1)"
t_match "a length of 4 GiB - 1: the same" '"MessageTooLarge"' "$(drive "raw ffffffff" recv wait)"
t_eq "a message cut short: the host ends (exit 1), no answer" "EOF EXIT 1" \
	"$(drive "len 100" "raw 7b226964223a" close recv wait | tr '\n' ' ' | sed 's/ $//')"
t_eq "a length cut short: the same" "EOF EXIT 1" \
	"$(drive "raw 0a00" close recv wait | tr '\n' ' ' | sed 's/ $//')"
t_eq "input closed between messages: a clean end (exit 0)" "EOF EXIT 0" \
	"$(drive close recv wait | tr '\n' ' ' | sed 's/ $//')"
out=$(drive "frame " recv "frame 7b7d7b" recv "frame 5b315d" recv \
	"frame 7b226964223a312c226f726967696e223a2268747470733a2f2f76616e62616e2e6578616d706c652e766e222c22636f6d6d616e64223a22737461747573ff227d" recv \
	'send {"id":1,"id":2}' recv 'send {"id":"'"$(printf '%065d' 0)"'"}' recv \
	'send {"id":3,"origin":"https://vanban.example.vn","command":"status","extra":1}' recv \
	'send {"id":4,"origin":"https://vanban.example.vn","command":"format"}' recv \
	'send {"id":5,"origin":"https://vanban.example.vn","command":"status","arguments":[]}' recv \
	'send {"id":6,"command":"status"}' recv \
	"$(req 7 status '{}')" recv)
t_match "an empty message: InvalidArgument" '"error":\{"name":"InvalidArgument","message":"an empty message"' "$(echo "$out" | sed -n 1p)"
t_match "not JSON: InvalidArgument (the input is not quoted back)" '"InvalidArgument","message":"the message is not JSON' "$(echo "$out" | sed -n 2p)"
t_match "a JSON array: InvalidArgument" 'a message is a JSON object' "$(echo "$out" | sed -n 3p)"
t_match "bytes that are not UTF-8: InvalidArgument" '"InvalidArgument","message":"the message is not JSON' "$(echo "$out" | sed -n 4p)"
t_match "a key twice: InvalidArgument" '"InvalidArgument"' "$(echo "$out" | sed -n 5p)"
t_match "an id of 65 characters: InvalidArgument" "'id' must be" "$(echo "$out" | sed -n 6p)"
t_match "an unknown field" '"id":3.*unknown field .extra.' "$(echo "$out" | sed -n 7p)"
t_match "an unknown command" '"id":4.*unknown command .format.' "$(echo "$out" | sed -n 8p)"
t_match "arguments that are not an object" '"id":5.*must be an object' "$(echo "$out" | sed -n 9p)"
t_match "no origin" "\"id\":6.*no 'origin'" "$(echo "$out" | sed -n 10p)"
t_match "  ... and after all of them the host still serves" '"id":7,"result":\{"host"' "$(echo "$out" | sed -n 11p)"
# a message of exactly 1 MiB is read (and its 1 MiB description refused by name)
big=$($PY -c "import json; pad='x'*(1048576-200); m={'id':8,'origin':'$PAGE','command':'sign','arguments':{'description':pad}}; s=json.dumps(m,separators=(',',':')); s=s.replace(pad, 'x'*(len(pad)+1048576-len(s))); assert len(s)==1048576; print(s)")
out=$(drive "send $big" recv "$(req 9 status '{}')" recv)
t_match "a message of exactly 1 MiB is read and answered" '"id":8,"error":\{"name":"InvalidArgument"' "$(echo "$out" | sed -n 1p)"
t_match "  ... and the next one too" '"id":9,"result"' "$(echo "$out" | sed -n 2p)"

# 10,000 requests in a row, as a page in a loop would send them (2,000 under ASan, where
# each costs twenty times as much; the memory bound is checked on the plain build)
n=10000
ldd "$HOST" | grep -q libasan && n=2000
out=$(drive "flood $n {\"id\":0,\"origin\":\"$PAGE\",\"command\":\"certificates\",\"arguments\":{}}" close wait)
t_eq "$n requests in a row: $n answers, in order, one at a time" "ANSWERS $n IDS-IN-ORDER yes" \
	"$(echo "$out" | grep -E '^(ANSWERS|IDS)' | tr '\n' ' ' | sed 's/ $//')"
rss=$(echo "$out" | sed -n 's/^MAXRSS-KB //p')
if ldd "$HOST" | grep -q libasan; then
	t_skip "  ... with bounded memory" "an ASan build keeps freed memory in quarantine (the plain build checks this)"
else
	t_ok "  ... with bounded memory: the host's peak resident size ${rss} KiB (< 16 MiB)" \
		test "${rss:-999999}" -lt 16384
fi
t_ok "  ... and kysod serves on" agent_alive

# ---- the browser leaves while a PIN dialog is open ----
$K lock >/dev/null
script hang
n0=$(dialogs)
out=$(drive "$(req 40 sign "{\"certificate\":\"$id1\",\"hash\":\"$dig\",\"hashAlgorithm\":\"SHA-256\"}")" \
	"waitfile $FAKE_PINENTRY_LOG $((n0 + 1))" close recv wait)
t_eq "the browser closes the pipe during the PIN dialog: the host ends without an answer" \
	"EOF EXIT 0" "$(echo "$out" | tr '\n' ' ' | sed 's/ $//')"
t_eq "  ... kysod closes the dialog (pinentry ends) and signs nothing (Cancelled, disconnected)" yes \
	"$(wait_dialogs_closed '"result":"io.kyso.Agent.Cancelled".*closed its connection')"
t_ok "  ... and kysod is alive" agent_alive

# ---- without kysod ----
agent_stop >/dev/null 2>&1
out=$(drive "$(req 50 status '{}')" recv "$(req 51 certificates '{}')" recv)
t_match "no kysod: AgentNotRunning, saying so" '"id":50,"error":\{"name":"AgentNotRunning","message":"the kyso agent \(kysod\) is not running' \
	"$(echo "$out" | sed -n 1p)"
t_match "  ... for every command" '"id":51,"error":\{"name":"AgentNotRunning"' "$(echo "$out" | sed -n 2p)"
t_eq "the host never wrote anything but messages on its output" "" \
	"$(grep -v '^kyso-browser-host' "$T_DIR/host.err" | grep -v '^$' || true)"
t_done

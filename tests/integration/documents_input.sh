#!/usr/bin/env bash
# SignDocuments refuses bad input with an error that names the parameter and the
# document's index, signs nothing, records the refusal per document, and goes on serving;
# kyso audit shows the documents and --summary counts them per period and certificate.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py
PY=/usr/bin/python3
AUDIT=$XDG_STATE_HOME/kyso/audit.log

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 p256 &&
	tok_key officer 02 rsa:2048 rsa && tok_ca officer ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
pid=$(cert_id "$TOK_DIR/p256.crt.pem")
rid=$(cert_id "$TOK_DIR/rsa.crt.pem")
D=$(printf 'x' | openssl dgst -sha256 -binary | base64 -w0)
D384=$(printf 'x' | openssl dgst -sha384 -binary | base64 -w0)
doc() {  # NAME [DIGEST [ALG [EXTRA]]]
	printf '{"name":"%s","digest":"%s","digest_algorithm":"%s"%s}' "$1" "${2:-$D}" "${3:-sha256}" "${4:-}"
}
call() { $PY "$VCALL" call io.kyso.Agent.SignDocuments "$1"; }
# refused DESC PARAMETER INDEX MESSAGE_REGEX CALL_JSON: InvalidParameter naming them
refused() {
	local desc=$1 param=$2 index=$3 msg=$4 r got
	r=$(call "$5")
	got=$(echo "$r" | $PY -c 'import json,sys; r=json.load(sys.stdin); p=r.get("parameters",{}); print(r.get("error"), p.get("parameter"), p.get("index"), p.get("message"))' 2>/dev/null)
	t_match "$desc" "^org.varlink.service.InvalidParameter $(esc "$param") $index $msg" "$got"
}
esc() { printf '%s' "$1" | sed -e 's/[].[]/\\&/g'; }
docs3="$(doc a.pdf),$(doc b.pdf),$(doc c.pdf)"

# ---- bad input ----
refused "an empty document list" documents None "parameter 'documents' must hold 1 to 1000 elements, not 0" \
	"{\"certificate\":\"$pid\",\"documents\":[]}"
many=$($PY -c 'import json,sys; print(json.dumps([{"name":"d%d"%i,"digest":sys.argv[1],"digest_algorithm":"sha256"} for i in range(1001)]))' "$D")
refused "1001 documents: too many" documents None ".*must hold 1 to 1000 elements, not 1001" \
	"{\"certificate\":\"$pid\",\"documents\":$many}"
refused "documents that is not an array" documents None "parameter 'documents' must be an array" \
	"{\"certificate\":\"$pid\",\"documents\":{}}"
refused "an element that is not an object" "documents[2]" 2 "'documents\[2\]' must be an object" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a),$(doc b),7]}"
r=$(call "{\"certificate\":\"$pid\",\"documents\":[$(doc a),$(doc b "3q2+7w==")]}")
t_match "a digest too short for its algorithm: named, with the index and both lengths" \
	'"parameter":"documents\[1\].digest","message":"documents\[1\].digest: a sha256 digest is 32 bytes, not 4","index":1,"expected_length":32,"actual_length":4' "$r"
refused "a sha384 digest declared as sha256" "documents[0].digest" 0 ".*a sha256 digest is 32 bytes, not 48" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a "$D384")]}"
refused "a digest that is not base64" "documents[0].digest" 0 "parameter 'documents\[0\].digest' is not valid base64" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a 'not base64!')]}"
refused "an unknown digest_algorithm" "documents[0].digest_algorithm" 0 ".*must be sha256, sha384 or sha512" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a "$D" md5)]}"
refused "a document without a name" "documents[1].name" 1 "parameter 'documents\[1\].name' is required" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a),{\"digest\":\"$D\",\"digest_algorithm\":\"sha256\"}]}"
refused "a name with a control character" "documents[0].name" 0 ".*must not hold control characters" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc 'a\nb.pdf')]}"
refused "a name with a C1 control character (U+0085 NEXT LINE)" "documents[1].name" 1 \
	".*must not hold control characters" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a),$(doc 'memo\u0085b.pdf')]}"
refused "  ... or U+009B (CSI)" "documents[0].name" 0 ".*must not hold control characters" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc 'x\u009b2J.pdf')]}"
refused "two documents with the same name" "documents[3].name" 3 ".*the same name as documents\[1\]" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a),$(doc same),$(doc b),$(doc same)]}"
refused "an unknown profile" profile None "profile must be 'cades' or 'pades'" \
	"{\"certificate\":\"$pid\",\"profile\":\"xades\",\"documents\":[$(doc a)]}"
refused "a signing_time that is not RFC 3339" "documents[0].signing_time" 0 ".*must be an RFC 3339 time" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a "$D" sha256 ',"signing_time":"06/12/2026 10:00"')]}"
refused "a signing_time without a zone" "documents[0].signing_time" 0 ".*must be an RFC 3339 time" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a "$D" sha256 ',"signing_time":"2026-12-06T10:00:00"')]}"
refused "a content_type that is not an OID" "documents[0].content_type" 0 ".*dotted form" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a "$D" sha256 ',"content_type":"1.2.x"')]}"
refused "a PAdES document whose content_type is not id-data" "documents[0].content_type" 0 \
	".*a PAdES signature's content type is id-data .*ETSI EN 319 142-1 requires" \
	"{\"certificate\":\"$pid\",\"profile\":\"pades\",\"documents\":[$(doc a "$D" sha256 ',"content_type":"1.2.840.113549.1.9.16.1.4"')]}"
refused "an unknown field in a document" "documents[0].hash" 0 "unknown parameter 'documents\[0\].hash'" \
	"{\"certificate\":\"$pid\",\"documents\":[$(doc a "$D" sha256 ',"hash":"x"')]}"
refused "an unknown parameter" data None "unknown parameter 'data'" \
	"{\"certificate\":\"$pid\",\"data\":\"x\",\"documents\":[$(doc a)]}"
refused "no certificate" certificate None "parameter 'certificate' is required" \
	"{\"documents\":[$(doc a)]}"
refused "a full algorithm name whose hash a document does not have" "documents[1].digest_algorithm" 1 \
	".*algorithm ecdsa-sha384 hashes with SHA-384, this document with SHA-256; give 'ecdsa'" \
	"{\"certificate\":\"$pid\",\"algorithm\":\"ecdsa-sha384\",\"documents\":[$(doc a "$D384" sha384),$(doc b)]}"
r=$(call "{\"certificate\":\"0123456789abcdef\",\"documents\":[$(doc a)]}")
t_match "an unknown certificate: NoSuchCertificate" '"error":"io.kyso.Agent.NoSuchCertificate"' "$r"
r=$(call "{\"certificate\":\"$pid\",\"algorithm\":\"rsa-pss\",\"documents\":[$(doc a)]}")
t_match "rsa-pss with an EC key: UnsupportedAlgorithm with what is possible" \
	'"error":"io.kyso.Agent.UnsupportedAlgorithm","parameters":\{"algorithm":"rsa-pss","supported":\["ecdsa-sha256",' "$r"
r=$(call "{\"certificate\":\"$pid\",\"algorithm\":\"ecdsa-sha1\",\"documents\":[$(doc a)]}")
t_match "SHA-1: refused" 'SHA-1 signatures are refused' "$r"
r=$(call "{\"certificate\":\"$pid\",\"documents\":[$docs3]}")
t_match "no PIN, no login, no dialog (pinentry = none): PinRequired before the token" \
	'"error":"io.kyso.Agent.PinRequired"' "$r"
t_eq "  ... recorded as refused, once per document" 3 \
	"$(grep -F '"result":"io.kyso.Agent.PinRequired"' "$AUDIT" | grep -cE '"document":"(a|b|c).pdf"')"
t_eq "  ... with the certificate it was for" 3 \
	"$(grep -F '"result":"io.kyso.Agent.PinRequired"' "$AUDIT" | grep -cF "\"certificate\":\"$pid\"")"
t_eq "  ... and each document's digest (as a refused Sign keeps it)" 3 \
	"$(grep -F '"result":"io.kyso.Agent.PinRequired"' "$AUDIT" | grep -F '"digest_alg":"sha256"' |
	grep -cF "\"digest\":\"$(echo "$D" | base64 -d | xxd -p -c 64)\"")"
t_eq "  ... none for a digest that is not valid (a sha384 digest declared as sha256)" "1 0" \
	"$(grep -cF 'a sha256 digest is 32 bytes, not 48' "$AUDIT") $(grep -F \
	'a sha256 digest is 32 bytes, not 48' "$AUDIT" | grep -c '"digest":' || true)"
t_eq "the 1001-document call: one record for the call" 1 \
	"$(grep -F 'not 1001' "$AUDIT" | grep -c .)"
r=$(printf '%s\0' "{\"method\":\"io.kyso.Agent.SignDocuments\",\"parameters\":{\"certificate\":\"$pid\",\"documents\":[$(doc "$(head -c 600 /dev/zero | tr '\0' n)")]}}" | $PY "$VCALL" raw)
t_match "a name over 512 bytes: refused" 'documents\[0\].name.* is longer than 512 bytes' "$r"
t_ok "kysod goes on serving" $K tokens
t_eq "nothing was signed" 0 "$(grep -c '"result":"granted"' "$AUDIT")"

# ---- kyso audit and --summary ----
echo "$TOK_PIN" | $K login --token officer --pin-stdin >/dev/null 2>&1
call "{\"certificate\":\"$pid\",\"description\":\"weekly orders\",\"documents\":[$docs3]}" >/dev/null
call "{\"certificate\":\"$rid\",\"documents\":[$(doc r1.pdf),$(doc r2.pdf)]}" >/dev/null
out=$($K audit --cert "$rid" 2>&1)
t_match "kyso audit shows each document's name" 'granted .*rsa officer .*rsa-pkcs1v15-sha256 +r1.pdf' "$out"
out=$($K audit --cert "$pid" --result granted 2>&1)
t_match "  ... and the program's words beside it" 'c.pdf \(weekly orders\)' "$out"
out=$($K audit --summary 2>&1)
week=$(date +%G-W%V)
# refused with the P-256 certificate named: 3 PinRequired, 2 for ecdsa-sha384, rsa-pss, SHA-1
t_match "kyso audit --summary: this ISO week, the P-256 certificate: 3 signed, 7 refused" \
	"^$week +p256 officer \(${pid:0:8}\) +3 +7\$" "$out"
t_match "  ... the RSA certificate: 2 signed, none refused" "^$week +rsa officer \(${rid:0:8}\) +2 +0\$" "$out"
t_match "  ... the refusals that named no certificate on their own line" \
	"^$week +\\(no certificate\\) +0 +[1-9][0-9]*\$" "$out"
t_match "  ... and a total" '^total +5 +[0-9]+$' "$out"
json=$($K audit --summary --by day --json)
t_eq "--by day --json: today's counts per certificate" "$(date +%F) 3 7 2 0" \
	"$(echo "$json" | $PY -c 'import json,sys; j=json.load(sys.stdin); c={p["certificate"]:p for p in j["periods"] if p.get("certificate")}; p=c[sys.argv[1]]; r=c[sys.argv[2]]; print(p["period"], p["signed"], p["refused"], r["signed"], r["refused"])' "$pid" "$rid")"
t_eq "  ... local time, and the grand totals" "day local 5" \
	"$(echo "$json" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["by"], j["time"], j["signed"])')"
t_match "--by month --utc --cert: one certificate, this UTC month" \
	"^$(date -u +%Y-%m) +rsa officer \(${rid:0:8}\) +2 +0\$" "$($K audit --summary --by month --utc --cert "${rid:0:8}")"
t_eq "--since tomorrow: nothing matches" "No record matches." \
	"$($K audit --summary --since "$(date -d tomorrow +%F)")"
$K audit --summary --by year >/dev/null 2>&1; rc=$?
t_eq "--by year: usage error" 2 "$rc"
$K audit --summary --result granted >/dev/null 2>&1; rc=$?
t_eq "--summary with --result: usage error" 2 "$rc"
$K audit --by day >/dev/null 2>&1; rc=$?
t_eq "--by without --summary: usage error" 2 "$rc"
t_agent_stops
t_done

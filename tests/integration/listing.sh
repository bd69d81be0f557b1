#!/usr/bin/env bash
# ListTokens and ListCertificates on two tokens at once: every field, checked against the
# token (softhsm2-util) and the certificate (OpenSSL); filtering by token; a certificate
# without a key; the CLI's table and JSON.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py

tok_init "$T_DIR/tok" && tok_create first && tok_key first 0a ec:p256 alice &&
	tok_create second && tok_key second 0b rsa:2048 bob ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
# a CA certificate with no key on the token
openssl x509 -in "$TOK_DIR/ca.crt" -outform DER -out "$TOK_DIR/ca.der"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label second --login --pin "$TOK_PIN" \
	--write-object "$TOK_DIR/ca.der" --type cert --id ff --label "test CA" >/dev/null 2>&1
# a certificate whose label is Latin-1, not UTF-8, as some Windows tools write it
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label second --login --pin "$TOK_PIN" \
	--write-object "$TOK_DIR/alice.crt.der" --type cert --id ee --label $'Minist\xe8re' >/dev/null 2>&1
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
tokens=$(python3 "$VCALL" call io.kyso.Agent.ListTokens)
t_eq "two tokens listed" 2 "$(echo "$tokens" | json 'len(d["parameters"]["tokens"])')"
first=$(echo "$tokens" | json '[t for t in d["parameters"]["tokens"] if t["label"]=="first"][0]')
serial=$(pkcs11-tool --module "$SOFTHSM_MODULE" -L 2>/dev/null |
	awk '/token label/ {l=$NF} /serial num/ && l=="first" {print $NF; exit}')
t_match "token serial matches softhsm2-util" "'serial': '$serial'" "$first"
t_match "token manufacturer and model" "'manufacturer': 'SoftHSM project', 'model': 'SoftHSM v2'" "$first"
t_match "token module is the loaded module" "'module': '$SOFTHSM_MODULE'" "$first"
t_match "token flags: login required, PIN fine" "'login_required': True, 'protected_auth_path': False, 'user_pin_count_low': False, 'user_pin_final_try': False, 'user_pin_locked': False, 'user_pin_to_be_changed': False" "$first"
t_match "token id is 16 hex digits" "'id': '[0-9a-f]{16}'" "$first"

certs=$(python3 "$VCALL" call io.kyso.Agent.ListCertificates)
t_eq "four certificates on the two tokens (one with a Latin-1 label)" 4 "$(echo "$certs" | json 'len(d["parameters"]["certificates"])')"
alice=$(echo "$certs" | json '[c for c in d["parameters"]["certificates"] if c["label"]=="alice"][0]')
get() { echo "$alice" | python3 -c "import ast,sys; print(ast.literal_eval(sys.stdin.read())['$1'])"; }
t_eq "id is SHA-256 of the DER" "$(cert_id "$TOK_DIR/alice.crt.pem")" "$(get id)"
t_eq "subject (RFC 2253)" "$(openssl x509 -in "$TOK_DIR/alice.crt.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" "$(get subject)"
t_eq "issuer (RFC 2253)" "$(openssl x509 -in "$TOK_DIR/alice.crt.pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" "$(get issuer)"
t_eq "serial (lower-case hex)" "$(openssl x509 -in "$TOK_DIR/alice.crt.pem" -noout -serial | sed 's/^serial=//' | tr A-F a-f)" "$(get serial)"
t_eq "not_after (RFC 3339 UTC)" "$(date -u -d "$(openssl x509 -in "$TOK_DIR/alice.crt.pem" -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)" "$(get not_after)"
t_eq "not_before (RFC 3339 UTC)" "$(date -u -d "$(openssl x509 -in "$TOK_DIR/alice.crt.pem" -noout -startdate | sed 's/^notBefore=//')" +%Y-%m-%dT%H:%M:%SZ)" "$(get not_before)"
t_eq "key type, bits, curve" "ec 256 P-256" "$(get key_type) $(get key_bits) $(get curve)"
t_eq "key usage" "['digitalSignature', 'nonRepudiation']" "$(get key_usage)"
t_eq "can sign (key hidden until login, public key stands in)" True "$(get can_sign)"
t_eq "algorithms of a P-256 key on SoftHSM" "['ecdsa-sha256', 'ecdsa-sha384', 'ecdsa-sha512']" "$(get algorithms)"
t_eq "token is the first token's id" "$(echo "$first" | python3 -c "import ast,sys; print(ast.literal_eval(sys.stdin.read())['id'])")" "$(get token)"
uri=$(get key_uri)
for part in "^pkcs11:" "token=first" "serial=$serial" "id=%0A" "object=alice" "type=private"; do
	t_match "key_uri has $part" "$part" "$uri"
done
if command -v p11tool >/dev/null; then
	out=$(GNUTLS_PIN=$TOK_PIN p11tool --provider "$SOFTHSM_MODULE" --login --list-privkeys "$uri" 2>&1)
	t_match "GnuTLS p11tool finds the private key by the agent's key_uri" 'Type: Private key' "$out"
	t_eq "  ... exactly one" 1 "$(grep -c 'Type: Private key' <<<"$out")"
else
	t_skip "GnuTLS p11tool finds the private key by key_uri" "p11tool is not installed"
fi
get der | base64 -d > "$T_DIR/alice.der" 2>/dev/null
t_ok "der is the certificate on the token" cmp "$T_DIR/alice.der" "$TOK_DIR/alice.crt.der"
bob=$(echo "$certs" | json '[c for c in d["parameters"]["certificates"] if c["label"]=="bob"][0]["algorithms"]')
t_eq "algorithms of an RSA key on SoftHSM" "['rsa-pkcs1v15-sha256', 'rsa-pkcs1v15-sha384', 'rsa-pkcs1v15-sha512', 'rsa-pss-sha256', 'rsa-pss-sha384', 'rsa-pss-sha512']" "$bob"
ca=$(echo "$certs" | json '[(c["can_sign"], c["algorithms"]) for c in d["parameters"]["certificates"] if c["label"]=="test CA"][0]')
t_eq "a certificate without a key: can_sign false, no algorithms" "(False, [])" "$ca"

# after a login the private keys are visible and still match
echo "$TOK_PIN" | $K login --token first --pin-stdin >/dev/null 2>&1
t_eq "after login: logged_in, can_sign" "True True" "$(python3 "$VCALL" call io.kyso.Agent.ListCertificates '{"token":"first"}' | json 'd["parameters"]["certificates"][0]["can_sign"]') $(python3 "$VCALL" call io.kyso.Agent.ListTokens | json '[t["logged_in"] for t in d["parameters"]["tokens"] if t["label"]=="first"][0]')"

# filtering by token: by label, by serial, by id; unknown token
t_match "a label that is not UTF-8 is listed with '?' for the bad byte" '"label": ?"Minist\?re"' "$certs"
t_eq "ListCertificates(token=label)" 3 "$(python3 "$VCALL" call io.kyso.Agent.ListCertificates '{"token":"second"}' | json 'len(d["parameters"]["certificates"])')"
t_eq "ListCertificates(token=serial)" 1 "$(python3 "$VCALL" call io.kyso.Agent.ListCertificates "{\"token\":\"$serial\"}" | json 'len(d["parameters"]["certificates"])')"
t_match "ListCertificates(unknown token) → NoSuchToken" '"error":"io.kyso.Agent.NoSuchToken".*"token":"nope"' \
	"$(python3 "$VCALL" call io.kyso.Agent.ListCertificates '{"token":"nope"}')"

# the CLI
out=$($K tokens)
t_match "kyso tokens: table with both labels" 'first.*'"$serial"'.*logged in' "$out"
out=$($K certs)
t_match "kyso certs: subject CN, key, token label" 'alice officer +ec-P-256 .* yes +first' "$out"
t_match "kyso certs: key-less certificate shows SIGN no" 'kyso test CA .* no +second' "$out"
t_ok "kyso certs --json is JSON" python3 -c "import json,sys; json.loads(sys.argv[1])" "$($K certs --json)"
t_ok "kyso tokens --json is JSON" python3 -c "import json,sys; json.loads(sys.argv[1])" "$($K tokens --json)"
t_eq "kyso certs --token second --json: 3 certificates" 3 "$($K certs --token second --json | json 'len(d)')"
$K certs --token nope >/dev/null 2>&1
t_eq "kyso certs --token unknown: exit 6" 6 $?

t_agent_stops
t_done

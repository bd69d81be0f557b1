#!/usr/bin/env bash
# kyso-admin end to end on a fresh SoftHSM token: init + keygen (or provision), a CSR
# signed on the token that `openssl req -verify` accepts, a test CA (root + intermediate,
# made here by openssl) that issues the certificate, import-cert with the chain, then
# kysod lists the certificate, signs through `kyso sign`, and OpenSSL verifies the
# signature and the chain. The objects are read back by pkcs11-tool, GnuTLS p11tool and
# OpenSSL's libp11 engine; every refusal leaves the token as it was.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

M=$SOFTHSM_MODULE
A=("$BUILD/kyso-admin" --module "$M")
tok_init "$T_DIR/tok" || { t_flunk "SoftHSM store"; t_done; exit 1; }
P=$T_DIR/pins; mkdir -p "$P"
echo 87654321 > "$P/so"; echo 424242 > "$P/user"
P11=(pkcs11-tool --module "$M")
objs() { "${P11[@]}" --token-label "$1" --login --pin 424242 --list-objects 2>/dev/null; }
free_slot() {
	python3 -c 'import json,sys; s=[s for s in json.loads(sys.argv[1])["modules"][0]["slots"] if s["token_present"] and not s["token"]["initialized"]]; print(s[0]["slot"])' \
		"$("${A[@]}" tokens --json)" 2>/dev/null
}
# openssl req -verify: OpenSSL 3.0 exits 0 even on a bad signature, so read what it says
req_verified() {
	local out
	out=$(openssl req -verify -in "$1" -noout 2>&1)
	grep -q 'verify OK' <<<"$out" && ! grep -qi 'fail' <<<"$out"
}

for c in csr import-cert provision; do
	t_match "kyso-admin $c --help" "Usage: kyso-admin $c" "$("${A[@]}" $c --help 2>&1)"
done

# ---- provision refusals: the token is untouched ----
R=$T_DIR/requests; mkdir -p "$R"
prof() {  # NAME TYPE MINLEN SUBJECT
	printf '[token]\nlabel = %s\n[pin]\nmin_length = %s\n[key]\ntype = %s\nlabel = officer\nid = 01\n[subject]\ntemplate = %s\nsan = email:${email}\n' \
		"$1" "$3" "$2" "$4" > "$T_DIR/$1.ini"
}
slot=$(free_slot)
t_match "a free SoftHSM slot" '^[0-9]+$' "$slot"
before=$("${P11[@]}" -L 2>/dev/null)
prof short ec:p256 8 'CN=${name},OU=IT,O=kyso tests'
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/short.ini" --out "$R" --set name="Officer One" \
	--set email=officer@example.org --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "provision with a user PIN shorter than the profile's min_length: exit 2" 2 $rc
t_match "  ... says the policy wants 8" 'user PIN is too short: 6 characters, the policy wants at least 8.*nothing was changed' "$out"
prof badtype ec:p521 6 'CN=${name},O=kyso tests'
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/badtype.ini" --out "$R" --set name=x \
	--set email=x@example.org --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "provision with an unsupported key type in the profile: exit 2" 2 $rc
t_match "  ... names the type" 'type is one of .*not ec:p521; nothing was changed' "$out"
prof badsubj ec:p256 6 'CN=${name},XX=nope'
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/badsubj.ini" --out "$R" --set name=x \
	--set email=x@example.org --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "provision with a bad subject template: exit 2" 2 $rc
t_match "  ... names the attribute" 'XX.*nothing was changed' "$out"
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/short.ini" --out "$R" \
	--set email=x@example.org --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "provision without the --set a template needs: exit 2" 2 $rc
t_match "  ... says which" 'uses \$\{name\}: give it with --set name=VALUE' "$out"
printf '[token]\nlabel = x\ncolour = blue\n' > "$T_DIR/unknown.ini"
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/unknown.ini" --out "$R" </dev/null 2>&1); rc=$?
t_eq "provision with an unknown profile setting: exit 2" 2 $rc
t_match "  ... names it and its line" 'line 3: unknown setting \[token\] colour' "$out"
t_eq "the refused provisions left the slot untouched (pkcs11-tool -L)" "$before" "$("${P11[@]}" -L 2>/dev/null)"
t_eq "  ... and wrote nothing" "" "$(ls "$R")"

# ---- provision: init, PINs, an EC key and its request (the libp11 engine reads this
# token later: no Ed25519 on it) ----
prof e2e ec:p256 6 'CN=${name},OU=IT,O=kyso tests'
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/e2e.ini" --out "$R" --set name="Officer One" \
	--set email=officer@example.org --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "provision: exit 0" 0 $rc
serial=$(python3 -c 'import json,sys; print([s["token"]["serial"] for s in json.loads(sys.argv[1])["modules"][0]["slots"] if s["token_present"] and s["token"]["label"]=="e2e"][0])' "$("${A[@]}" tokens --json)" 2>/dev/null)
t_match "  ... token e2e initialised (kyso-admin tokens)" '^[0-9a-f]+$' "$serial"
t_ok "  ... wrote SERIAL.csr.pem" test -s "$R/$serial.csr.pem"
t_ok "  ... which openssl req -verify accepts" req_verified "$R/$serial.csr.pem"
t_eq "  ... with the expanded subject and SAN" "subject=CN = Officer One, OU = IT, O = kyso tests|email:officer@example.org" \
	"$(openssl req -in "$R/$serial.csr.pem" -noout -subject -nameopt RFC2253,sep_comma_plus_space,space_eq)|$(openssl req -in "$R/$serial.csr.pem" -noout -text | grep -o 'email:[^ ,]*')"
t_eq "  ... and SERIAL.json records serial, key and subject" "$serial e2e 01 ec:p256 CN=Officer One,OU=IT,O=kyso tests" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["serial"], d["label"], d["key"]["id"], d["key"]["type"], d["subject"])' "$R/$serial.json" 2>&1)"
t_ok "  ... the user PIN logs in (pkcs11-tool)" "${P11[@]}" --token-label e2e --login --pin 424242 --list-objects
"${A[@]}" set-so-pin --token e2e --so-pin-file "$P/so" --new-pin-file "$P/so" >/dev/null 2>&1
t_eq "  ... and the SO PIN is the one given" 0 $?
cp "$R/$serial.csr.pem" "$T_DIR/ec.csr"
TL=e2e
"${A[@]}" keygen --token "$TL" --type rsa:2048 --label officer-rsa --id 02 --pin-file "$P/user" >/dev/null 2>&1
t_eq "keygen rsa:2048 on the provisioned token: exit 0" 0 $?

# ---- csr ----
subj="CN=Officer One,OU=IT,O=kyso tests"
out=$("${A[@]}" csr --token "$TL" --key 01 --subject "$subj" --san email:officer@example.org \
	--pin-file "$P/user" --out "$T_DIR/ec2.csr" 2>&1); rc=$?
t_eq "csr for the EC key: exit 0" 0 $rc
t_match "  ... says where it wrote it" 'written to .*ec2.csr' "$out"
t_ok "  ... openssl req -verify says verify OK" req_verified "$T_DIR/ec2.csr"
t_eq "  ... with the subject as given (RFC 4514 order)" "subject=CN = Officer One, OU = IT, O = kyso tests" \
	"$(openssl req -in "$T_DIR/ec2.csr" -noout -subject -nameopt RFC2253,sep_comma_plus_space,space_eq 2>&1)"
text=$(openssl req -in "$T_DIR/ec2.csr" -noout -text 2>/dev/null | tr '\n' ' ')
t_match "  ... ecdsa-with-SHA256, keyUsage and the SAN" \
	'Digital Signature, Non Repudiation.*email:officer@example.org.*ecdsa-with-SHA256' "$text"
t_eq "  ... for the token's public key (pkcs11-tool's CKA_EC_POINT)" \
	"$(objs "$TL" | awk '/^Public Key Object; EC/ {f=1} f && $1 == "EC_POINT:" {print substr($2, 5); exit}')" \
	"$(openssl req -in "$T_DIR/ec2.csr" -noout -pubkey | openssl pkey -pubin -outform DER 2>/dev/null | xxd -p | tr -d '\n' | tail -c 130)"
"${A[@]}" csr --token "$TL" --key 02 --subject "/O=kyso tests/CN=Officer One RSA" --pin-file - \
	< "$P/user" > "$T_DIR/rsa.csr" 2>/dev/null
t_eq "csr for the RSA key to standard output: exit 0" 0 $?
t_ok "  ... openssl req -verify says verify OK" req_verified "$T_DIR/rsa.csr"
t_match "  ... sha256WithRSAEncryption" 'sha256WithRSAEncryption' \
	"$(openssl req -in "$T_DIR/rsa.csr" -noout -text 2>/dev/null)"
# a broken request must not pass the check (guards req_verified itself)
python3 - "$T_DIR/rsa.csr" "$T_DIR/bad.csr" <<'PY'
import sys, base64
lines = open(sys.argv[1]).read().split('\n')
der = bytearray(base64.b64decode(''.join(l for l in lines if l and not l.startswith('-----'))))
der[-5] ^= 1  # inside the signature
b = base64.encodebytes(bytes(der)).decode().replace('\n', '')
open(sys.argv[2], 'w').write('-----BEGIN CERTIFICATE REQUEST-----\n' +
    '\n'.join(b[i:i + 64] for i in range(0, len(b), 64)) + '\n-----END CERTIFICATE REQUEST-----\n')
PY
t_fail "a request with a damaged signature fails req_verified" req_verified "$T_DIR/bad.csr"

snap=$(objs "$TL")
out=$("${A[@]}" csr --token "$TL" --key 01 --subject "XX=nobody,O=kyso" </dev/null 2>&1); rc=$?
t_eq "csr with a bad subject: exit 2" 2 $rc
t_match "  ... names the bad attribute, before asking any PIN" 'XX' "$out"
t_fail "  ... and asks for no PIN" grep -q PIN <<<"$out"
out=$("${A[@]}" csr --token "$TL" --key 01 --subject "CN=x" --san bogus:x </dev/null 2>&1); rc=$?
t_eq "csr with a bad --san: exit 2" 2 $rc
out=$("${A[@]}" csr --token "$TL" --key 7777 --subject "CN=x" --pin-file "$P/user" 2>&1); rc=$?
t_eq "csr for a key not on the token: exit 6" 6 $rc
t_match "  ... says so" 'holds no key with id 7777' "$out"
"${A[@]}" csr --token "$TL" --subject "CN=x" >/dev/null 2>&1
t_eq "csr without --key: exit 2" 2 $?
t_eq "the csr refusals changed nothing (pkcs11-tool --list-objects)" "$snap" "$(objs "$TL")"

# ---- a test CA: root and intermediate ----
C=$T_DIR/ca; mkdir -p "$C"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' > "$C/ca.ext"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$C/int.ext"
printf 'basicConstraints=critical,CA:FALSE\nauthorityKeyIdentifier=keyid\n' > "$C/ee.ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$C/root.key" \
	-out "$C/root.pem" -days 30 -subj "/CN=kyso e2e root/O=kyso tests" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$C/int.key" \
	-out "$C/int.csr" -subj "/CN=kyso e2e issuing CA/O=kyso tests" 2>/dev/null
openssl x509 -req -in "$C/int.csr" -CA "$C/root.pem" -CAkey "$C/root.key" -CAcreateserial \
	-days 30 -extfile "$C/int.ext" -out "$C/int.pem" 2>/dev/null
t_ok "openssl made a root and an intermediate CA" test -s "$C/int.pem"
issue() {  # CSR OUT
	openssl x509 -req -in "$1" -CA "$C/int.pem" -CAkey "$C/int.key" -CAcreateserial -days 30 \
		-copy_extensions copy -extfile "$C/ee.ext" -out "$2" 2>/dev/null
}
issue "$T_DIR/ec.csr" "$T_DIR/ec.crt"
t_ok "the intermediate issues a certificate from the token's request" test -s "$T_DIR/ec.crt"
t_match "  ... that keeps the requested SAN" 'email:officer@example.org' \
	"$(openssl x509 -in "$T_DIR/ec.crt" -noout -ext subjectAltName 2>/dev/null)"
cat "$C/int.pem" "$C/root.pem" > "$C/chain.pem"
t_match "openssl verify -CAfile root -untrusted intermediate: OK" ': OK$' \
	"$(openssl verify -CAfile "$C/root.pem" -untrusted "$C/int.pem" "$T_DIR/ec.crt" 2>&1)"

# ---- import-cert refusals: nothing written ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/other.key" \
	-out "$T_DIR/other.csr" -subj "/CN=Somebody Else/O=kyso tests" 2>/dev/null
issue "$T_DIR/other.csr" "$T_DIR/other.crt"
snap=$(objs "$TL")
out=$("${A[@]}" import-cert --token "$TL" --file "$T_DIR/other.crt" --chain "$C/chain.pem" \
	--pin-file "$P/user" 2>&1); rc=$?
t_eq "import-cert of a certificate for a key not on the token: exit 6" 6 $rc
t_match "  ... says it matches no key, nothing written" 'matches no key on the token.*nothing was written' "$out"
t_eq "  ... and the token is unchanged (pkcs11-tool --list-objects)" "$snap" "$(objs "$TL")"
out=$("${A[@]}" import-cert --token "$TL" --file "$T_DIR/ec.csr" --pin-file "$P/user" 2>&1); rc=$?
t_eq "import-cert of a file that is no certificate: exit 2" 2 $rc
out=$("${A[@]}" import-cert --token "$TL" --file "$T_DIR/ec.crt" --chain "$T_DIR/other.key" \
	--pin-file "$P/user" 2>&1); rc=$?
t_eq "import-cert with a private key as the chain: exit 2" 2 $rc
t_eq "  ... and the token is still unchanged" "$snap" "$(objs "$TL")"

# ---- import-cert ----
out=$("${A[@]}" import-cert --token "$TL" --file "$T_DIR/ec.crt" --chain "$C/chain.pem" \
	--pin-file "$P/user" 2>&1); rc=$?
t_eq "import-cert with --chain: exit 0" 0 $rc
t_match "  ... stored with the key's id and label" "stored certificate 'Officer One'.*id 01, label 'officer'" "$out"
t_eq "  ... and two CA certificates" 2 "$(grep -c '^stored CA certificate' <<<"$out")"
list=$(objs "$TL")
t_eq "pkcs11-tool: three certificate objects" 3 "$(grep -c '^Certificate Object' <<<"$list")"
t_match "pkcs11-tool: the certificate has label officer and ID 01" \
	'Certificate Object; type = X.509 cert\|  label: +officer\|  subject: +DN: .*CN ?= ?Officer One.*\|  (serial: [^|]*\|  )?ID: +01\|' \
	"$(python3 -c '
import sys, re
for b in re.split(r"\n(?=\S)", sys.stdin.read()):
    if b.startswith("Certificate Object") and "Officer One" in b:
        print("|".join(b.splitlines()) + "|")' <<<"$list")"
"${P11[@]}" --token-label "$TL" --read-object --type cert --id 01 -o "$T_DIR/back.der" >/dev/null 2>&1
t_eq "pkcs11-tool reads back the certificate as issued" \
	"$(openssl x509 -in "$T_DIR/ec.crt" -outform DER | sha256sum)" "$(sha256sum < "$T_DIR/back.der")"
out=$("${A[@]}" list --token "$TL" --pin-file "$P/user" 2>&1)
t_eq "kyso-admin list: one own and two CA certificates" "1 2" \
	"$(grep -c '^certificate .* own' <<<"$out") $(grep -c '^certificate .* CA' <<<"$out")"
gnutls=$(p11tool --provider "$M" --list-all --login --set-pin=424242 "pkcs11:token=e2e" 2>/dev/null)
t_eq "p11tool --list-all: three X.509 certificates" 3 "$(grep -c 'Type: X.509 Certificate' <<<"$gnutls")"
# one object (p11tool lists them in the token's order, which varies) that is the
# certificate labelled officer with ID 01
t_eq "p11tool: the own certificate shares ID 01 with the keys" 1 "$(awk '
	/^Object [0-9]+:/ { if (c && l && i) n++; c = l = i = 0 }
	/Type: X.509 Certificate/ { c = 1 }
	/Label: officer$/ { l = 1 }
	/ID: 01$/ { i = 1 }
	END { if (c && l && i) n++; print n + 0 }' <<<"$gnutls")"
t_eq "p11tool: the two chain certificates have CKA_CERTIFICATE_CATEGORY=CA" 2 \
	"$(grep -A1 'Label: kyso e2e' <<<"$gnutls" | grep -c 'CKA_CERTIFICATE_CATEGORY=CA')"
snap=$(objs "$TL")
out=$("${A[@]}" import-cert --token "$TL" --file "$T_DIR/ec.crt" --chain "$C/chain.pem" \
	--pin-file "$P/user" 2>&1); rc=$?
t_eq "import-cert of a certificate already on the token: exit 9" 9 $rc
t_match "  ... says it is already there; nothing written" 'already on token .*nothing was written' "$out"
t_eq "  ... and nothing changed" "$snap" "$(objs "$TL")"
issue "$T_DIR/rsa.csr" "$T_DIR/rsa.crt"
out=$("${A[@]}" import-cert --token "$TL" --file "$T_DIR/rsa.crt" --chain "$C/chain.pem" \
	--pin-file "$P/user" 2>&1); rc=$?
t_eq "import-cert of the RSA key's certificate with the same chain: exit 0" 0 $rc
t_eq "  ... the CA certificates already there are skipped with a note" 2 \
	"$(grep -c '^note: CA certificate .* already on the token; skipped' <<<"$out")"
t_eq "  ... four certificates now" 4 "$(objs "$TL" | grep -c '^Certificate Object')"

# ---- OpenSSL through the libp11 engine ----
ENGINE_SO=$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -n1)
if [ -n "$ENGINE_SO" ]; then
	cat > "$T_DIR/openssl.cnf" <<CNF
openssl_conf = conf
[conf]
engines = engines
[engines]
pkcs11 = p11
[p11]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $M
PIN = 424242
init = 0
CNF
	export OPENSSL_CONF=$T_DIR/openssl.cnf
	openssl pkey -engine pkcs11 -inform engine -pubin -in "pkcs11:token=e2e;id=%01;type=public" \
		-pubout -out "$T_DIR/libp11.pub" 2>"$T_DIR/libp11.err"
	t_eq "libp11 engine: reads the public key that matches the certificate" \
		"$(openssl x509 -in "$T_DIR/ec.crt" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" \
		"$(openssl pkey -pubin -in "$T_DIR/libp11.pub" -outform DER 2>/dev/null | sha256sum)"
	echo "read by libp11" > "$T_DIR/doc1"
	timeout 30 openssl dgst -sha256 -engine pkcs11 -keyform engine \
		-sign "pkcs11:token=e2e;id=%01;type=private" -out "$T_DIR/libp11.sig" "$T_DIR/doc1" 2>>"$T_DIR/libp11.err"
	t_ok "libp11 engine: the private key signs; OpenSSL verifies with the imported certificate" \
		openssl dgst -sha256 -verify <(openssl x509 -in "$T_DIR/ec.crt" -noout -pubkey) \
		-signature "$T_DIR/libp11.sig" "$T_DIR/doc1"
	openssl req -new -engine pkcs11 -keyform engine -key "pkcs11:token=e2e;id=%02;type=private" \
		-subj "/CN=libp11 check" -out "$T_DIR/libp11.csr" 2>>"$T_DIR/libp11.err"
	t_ok "libp11 engine: finds the RSA key and makes a request OpenSSL verifies" req_verified "$T_DIR/libp11.csr"
	unset OPENSSL_CONF
	[ "$T_FAILED" -eq 0 ] || sed 's/^/#   /' "$T_DIR/libp11.err"
else
	t_skip "libp11 engine checks" "libengine-pkcs11-openssl is not installed"
fi

# ---- kysod: lists the certificate, signs with it; OpenSSL verifies ----
agent_start --module "$M" || t_flunk "start kysod"
id=$(cert_id "$T_DIR/ec.crt")
certs=$($K certs --json 2>&1)
t_eq "kysod lists the imported certificate with can_sign" "True" \
	"$(python3 -c '
import json, sys
d = json.loads(sys.argv[1]); cs = d["certificates"] if isinstance(d, dict) else d
print(any(c.get("id") == sys.argv[2] and c.get("can_sign") for c in cs))' "$certs" "$id" 2>&1)"
echo "signed through kysod with a kyso-admin token" > "$T_DIR/doc"
echo 424242 | timeout 60 "$K" sign --cert "$id" --alg ecdsa-sha256 --in "$T_DIR/doc" \
	--out "$T_DIR/doc.sig" --pin-stdin >/dev/null 2>"$T_DIR/sign.err"
t_eq "kyso sign with the imported certificate: exit 0" 0 $?
openssl x509 -in "$T_DIR/ec.crt" -noout -pubkey > "$T_DIR/ec.pub"
if verify_sig ecdsa-sha256 "$T_DIR/ec.pub" "$T_DIR/doc.sig" "$T_DIR/doc" >/dev/null 2>&1 ||
	verify_sig ecdsa-sha256 "$T_DIR/ec.pub" "$T_DIR/doc.sig" "$T_DIR/doc" raw >/dev/null 2>&1; then
	t_pass "  ... and the signature verifies with OpenSSL against the certificate"
else
	t_flunk "  ... and the signature verifies with OpenSSL against the certificate"
	sed 's/^/#   /' "$T_DIR/sign.err"
fi
t_match "  ... whose chain verifies (openssl verify -CAfile root -untrusted intermediate)" ': OK$' \
	"$(openssl verify -CAfile "$C/root.pem" -untrusted "$C/int.pem" "$T_DIR/ec.crt" 2>&1)"
agent_stop

# ---- an Ed25519 key on its own token: csr ----
slot=$(free_slot)
"${A[@]}" init --slot "$slot" --label ed --so-pin-file "$P/so" --new-pin-file "$P/user" \
	</dev/null >/dev/null 2>&1
t_eq "init token ed: exit 0" 0 $?
"${A[@]}" keygen --token ed --type ed25519 --label ed --id 0e --pin-file "$P/user" >/dev/null 2>&1 &&
"${A[@]}" keygen --token ed --type ec:p384 --label p384 --id 0f --pin-file "$P/user" >/dev/null 2>&1
t_eq "keygen ed25519 and ec:p384: exit 0" 0 $?
"${A[@]}" csr --token ed --key 0e --subject "CN=Ed Officer,O=kyso tests" --pin-file "$P/user" \
	--out "$T_DIR/ed.csr" >/dev/null 2>&1
t_eq "csr for the Ed25519 key: exit 0" 0 $?
t_ok "  ... openssl req -verify says verify OK" req_verified "$T_DIR/ed.csr"
"${A[@]}" csr --token ed --key 0f --subject "CN=P384 Officer,O=kyso tests" --pin-file "$P/user" \
	--out "$T_DIR/p384.csr" >/dev/null 2>&1
t_eq "csr for the P-384 key: exit 0" 0 $?
t_ok "  ... openssl req -verify says verify OK" req_verified "$T_DIR/p384.csr"
t_match "  ... ecdsa-with-SHA384" 'ecdsa-with-SHA384' "$(openssl req -in "$T_DIR/p384.csr" -noout -text 2>/dev/null)"
out=$("${A[@]}" csr --token ed --key 0f --subject "CN=x" --pin-file "$P/wrongpin" 2>&1); rc=$?
t_eq "csr with an unreadable PIN file: exit 1" 1 $rc
echo 000000 > "$P/wrong"
out=$("${A[@]}" csr --token ed --key 0f --subject "CN=x" --pin-file "$P/wrong" 2>&1); rc=$?
t_eq "csr with a wrong user PIN: exit 4" 4 $rc
t_match "  ... says the PIN is incorrect" 'user PIN: .*incorrect' "$out"

t_done

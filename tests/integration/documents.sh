#!/usr/bin/env bash
# Documents signed as CMS by kysod (SignDocuments, through kyso sign-cms and the raw
# protocol), checked by independent verifiers: OpenSSL (cms -verify against the test CA;
# cms -cmsout -print for every attribute), GnuTLS (certtool --p7-verify) and NSS
# (cmsutil -D). P-256, P-384, RSA-2048 with PKCS#1 v1.5 and PSS, Ed25519; the cades and
# pades profiles; the chain taken from the token; signing_time and content_type;
# attached signatures; outputs written whole or not at all; the audit records.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py
PY=/usr/bin/python3

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 p256 &&
	tok_key officer 02 ec:p384 p384 && tok_key officer 03 rsa:2048 rsa && tok_ca officer &&
	tok_create edtok && tok_key edtok 04 ed25519 ed && tok_ca edtok ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
for t in officer edtok; do echo "$TOK_PIN" | $K login --token "$t" --pin-stdin 2>/dev/null; done

CA=$TOK_DIR/ca.crt
mkdir -p "$T_DIR/in" "$T_DIR/out"
printf 'Order 17/2026: leave of Lt. Nguyen\r\n\0binary tail\n' > "$T_DIR/in/order.txt"
doc=$T_DIR/in/order.txt
# an NSS database that trusts the test CA
nss=$T_DIR/nss
mkdir -p "$nss" && echo > "$T_DIR/nsspw"
timeout 60 certutil -N -d "sql:$nss" -f "$T_DIR/nsspw" >/dev/null 2>&1 &&
	timeout 60 certutil -A -d "sql:$nss" -n "kyso test CA" -t "CT,CT,CT" -i "$CA" \
	-f "$T_DIR/nsspw" >/dev/null 2>&1 || nss=

ossl_verify() {  # P7S CONTENT
	openssl cms -verify -binary -inform DER -in "$1" -content "$2" -CAfile "$CA" \
		-out /dev/null 2>/dev/null
}
gnutls_verify() {  # P7S CONTENT
	timeout 60 certtool --p7-verify --inder --infile "$1" --load-data "$2" \
		--load-ca-certificate "$CA" >/dev/null 2>&1
}
nss_verify() {  # P7S CONTENT
	timeout 60 cmsutil -D -i "$1" -c "$2" -d "sql:$nss" -u 0 >/dev/null 2>&1
}
cms_print() { openssl cms -cmsout -print -inform DER -in "$1" 2>&1; }

# sign KEYNAME OUT [OPTS...]: kyso sign-cms with the key's certificate, on $doc
sign() {
	local key=$1 out=$2; shift 2
	$K sign-cms --cert "$(cert_id "$TOK_DIR/$key.crt.pem")" "$@" -o "$out" "$doc"
}

echo "tampered" > "$T_DIR/in/tampered.txt"
check_key() {  # LABEL KEYNAME P7S SIGALG DIGESTALG [no-nss|no-gnutls]
	local label=$1 key=$2 p7s=$3 sigalg=$4 dalg=$5 print
	print=$(cms_print "$p7s")
	if [ "$key" = ed ]; then
		# OpenSSL 3.0 cannot check an Ed25519 signature over signed attributes (it
		# hands the digest to EdDSA; 3.2 can): GnuTLS is the verifier here
		t_skip "$label: openssl cms -verify accepts it" "OpenSSL 3.0 cannot verify Ed25519 CMS with signed attributes (GnuTLS does, below)"
	else
		t_ok "$label: openssl cms -verify accepts it against the test CA" ossl_verify "$p7s" "$doc"
		t_fail "  ... and refuses it over other content" ossl_verify "$p7s" "$T_DIR/in/tampered.txt"
	fi
	if [ "${6:-}" = no-gnutls ]; then
		# GnuTLS 3.7 takes any RSASSA-PSS in PKCS#7 for RSA-PSS-SHA256 (it refuses
		# OpenSSL's own PSS-SHA384/512 CMS alike); OpenSSL and NSS check this one
		t_skip "  ... GnuTLS certtool --p7-verify accepts it" "GnuTLS 3.7 verifies PKCS#7 RSASSA-PSS with SHA-256 only"
	else
		t_ok "  ... GnuTLS certtool --p7-verify accepts it" gnutls_verify "$p7s" "$doc"
		t_fail "  ... and refuses it over other content" gnutls_verify "$p7s" "$T_DIR/in/tampered.txt"
	fi
	if [ -z "$nss" ]; then
		t_skip "  ... NSS cmsutil -D accepts it" "no NSS database could be made"
	elif [ "${6:-}" = no-nss ]; then
		t_skip "  ... NSS cmsutil -D accepts it" "NSS has no Ed25519 in CMS"
	else
		t_ok "  ... NSS cmsutil -D accepts it" nss_verify "$p7s" "$doc"
		t_fail "  ... and refuses it over other content" nss_verify "$p7s" "$T_DIR/in/tampered.txt"
	fi
	t_match "  ... signature algorithm $sigalg, digest $dalg" \
		"digestAlgorithm: *algorithm: $dalg .*signatureAlgorithm: *algorithm: $sigalg" \
		"$(echo "$print" | tr -s ' \n' ' ')"
	t_match "  ... signed attributes: content-type, signing-time, message-digest, signingCertificateV2" \
		"contentType .*signingTime .*messageDigest .*id-smime-aa-signingCertificateV2" \
		"$(echo "$print" | grep -o 'object: [A-Za-z0-9-]* (1.2.840.113549.1.9[0-9.]*)' | tr '\n' ' ')"
	t_eq "  ... the signer's certificate and the CA's from the token" 2 \
		"$(echo "$print" | grep -c 'd.certificate:')"
	t_match "  ... detached: no content inside" 'eContent: <ABSENT>' "$print"
}

# ---- every key type ----
sign p256 "$T_DIR/out/p256.p7s" && check_key "P-256 (ecdsa-sha256)" p256 "$T_DIR/out/p256.p7s" \
	ecdsa-with-SHA256 sha256
sign p384 "$T_DIR/out/p384.p7s" --digest sha384 && check_key "P-384 with --digest sha384" \
	p384 "$T_DIR/out/p384.p7s" ecdsa-with-SHA384 sha384
sign rsa "$T_DIR/out/rsa.p7s" && check_key "RSA-2048 PKCS#1 v1.5" rsa "$T_DIR/out/rsa.p7s" \
	rsaEncryption sha256
sign rsa "$T_DIR/out/pss256.p7s" --alg rsa-pss && check_key "RSA-2048 PSS (--alg rsa-pss)" \
	rsa "$T_DIR/out/pss256.p7s" rsassaPss sha256
sign rsa "$T_DIR/out/pss.p7s" --alg rsa-pss --digest sha512 && check_key "RSA-2048 PSS with sha512" \
	rsa "$T_DIR/out/pss.p7s" rsassaPss sha512 no-gnutls
t_match "  ... RSASSA-PSS parameters: SHA-512, MGF1 with SHA-512, 64-byte salt" \
	'rsassaPss .*OBJECT *:sha512 .*OBJECT *:mgf1 .*OBJECT *:sha512 .*INTEGER *:40 ' \
	"$(cms_print "$T_DIR/out/pss.p7s" | tr -s ' \n' ' ')"
sign ed "$T_DIR/out/ed.p7s" && check_key "Ed25519 (sha512 chosen for it)" ed "$T_DIR/out/ed.p7s" \
	ED25519 sha512 no-nss
r=$($K sign-cms --cert "$(cert_id "$TOK_DIR/ed.crt.pem")" --digest sha256 -o "$T_DIR/out/ed256.p7s" "$doc" 2>&1)
t_match "Ed25519 with --digest sha256: refused, naming the document's digest_algorithm" \
	'documents\[0\].digest_algorithm.*SHA-512.*RFC 8419' "$r"
t_ok "  ... and nothing written" test ! -e "$T_DIR/out/ed256.p7s"

# ---- the protocol: pades, signing_time, content_type, the chain ----
pid=$(cert_id "$TOK_DIR/p256.crt.pem")
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
call() { $PY "$VCALL" call io.kyso.Agent.SignDocuments "$1"; }
cms_of() {  # INDEX FILE: document INDEX's cms from the reply on stdin
	$PY -c 'import json,sys,base64; d=json.load(sys.stdin)["parameters"]["documents"][int(sys.argv[1])]; open(sys.argv[2],"wb").write(base64.b64decode(d["cms"]))' "$1" "$2"
}
r=$(call "{\"certificate\":\"$pid\",\"profile\":\"pades\",\"documents\":[{\"name\":\"a.pdf\",\"digest\":\"$dig\",\"digest_algorithm\":\"sha256\",\"signing_time\":\"2026-12-06T10:00:00Z\"}]}")
echo "$r" | cms_of 0 "$T_DIR/out/pades.p7s"
t_ok "pades: OpenSSL verifies it" ossl_verify "$T_DIR/out/pades.p7s" "$doc"
print=$(cms_print "$T_DIR/out/pades.p7s")
t_eq "  ... no signing-time attribute (PAdES baseline: the time is the PDF's /M)" 0 \
	"$(echo "$print" | grep -c 'object: signingTime')"
t_eq "  ... content-type, message-digest, signingCertificateV2" 3 \
	"$(echo "$print" | grep -cE 'object: (contentType|messageDigest|id-smime-aa-signingCertificateV2) ')"
# a minute ago in +07:00 (within signing_time_skew, 5m by default)
when=$(( $(date +%s) - 60 ))
r=$(call "{\"certificate\":\"$pid\",\"documents\":[{\"name\":\"a.pdf\",\"digest\":\"$dig\",\"digest_algorithm\":\"sha256\",\"signing_time\":\"$(TZ=UTC-7 date -d "@$when" +%Y-%m-%dT%H:%M:%S+07:00)\",\"content_type\":\"1.2.840.113549.1.9.16.1.4\"}]}")
echo "$r" | cms_of 0 "$T_DIR/out/time.p7s"
print=$(cms_print "$T_DIR/out/time.p7s")
t_match "cades with a signing_time in +07:00: the attribute says it in UTC" \
	"UTCTIME:$(LC_ALL=C date -u -d "@$when" '+%b %e %H:%M:%S %Y') GMT" "$print"
t_match "  ... content_type is the eContentType and the content-type attribute" \
	'eContentType: id-smime-ct-TSTInfo.*OBJECT:id-smime-ct-TSTInfo' "$(echo "$print" | tr '\n' ' ')"
t_ok "  ... GnuTLS verifies it" gnutls_verify "$T_DIR/out/time.p7s" "$doc"
t_ok "  ... OpenSSL too" ossl_verify "$T_DIR/out/time.p7s" "$doc"
# (NSS's cmsutil -D cannot take a detached content of a type it does not know:
# "problem decoding: SEC_ERROR_UNRECOGNIZED_OID", for version 1 and 3 alike)
t_match "  ... a SignedData of version 3, as RFC 5652 wants for a content type other than id-data" \
	'd.signedData: *version: 3 ' "$(echo "$print" | tr -s ' \n' ' ')"
# ESS signing-certificate-v2: the SHA-256 of the signer's certificate, issuer and serial
hash=$(openssl x509 -in "$TOK_DIR/p256.crt.pem" -outform DER | sha256sum | cut -d' ' -f1 |
	tr 'a-f' 'A-F')
serial=$(openssl x509 -in "$TOK_DIR/p256.crt.pem" -noout -serial | cut -d= -f2)
ess=$(openssl asn1parse -inform DER -in "$T_DIR/out/time.p7s" 2>/dev/null)
t_match "  ... signingCertificateV2 holds the SHA-256 of the signer's certificate" \
	"HEX DUMP\]:$hash" "$ess"
t_match "  ... and its serial number (issuerSerial)" "INTEGER *:$serial" "$ess"

# ---- attached ----
sign p256 "$T_DIR/out/att.p7s" --attached
t_ok "--attached: openssl cms -verify needs no -content" \
	openssl cms -verify -binary -inform DER -in "$T_DIR/out/att.p7s" -CAfile "$CA" -out "$T_DIR/att.out"
t_ok "  ... and gives back the document byte for byte" cmp "$T_DIR/att.out" "$doc"
t_ok "  ... GnuTLS verifies it too" timeout 60 certtool --p7-verify --inder \
	--infile "$T_DIR/out/att.p7s" --load-ca-certificate "$CA"

# ---- batches from the command line, the outputs ----
for i in 1 2 3; do echo "memo $i" > "$T_DIR/in/memo$i.txt"; done
out=$($K sign-cms --cert "${pid:0:12}" --out-dir "$T_DIR/out" "$T_DIR"/in/memo*.txt 2>&1)
t_eq "--out-dir: three files, one batch, three signatures" \
	"$T_DIR/out/memo1.txt.p7s $T_DIR/out/memo2.txt.p7s $T_DIR/out/memo3.txt.p7s" \
	"$(ls "$T_DIR"/out/memo*.p7s | tr '\n' ' ' | sed 's/ $//')"
ok=0; for i in 1 2 3; do ossl_verify "$T_DIR/out/memo$i.txt.p7s" "$T_DIR/in/memo$i.txt" && ok=$((ok + 1)); done
t_eq "  ... each verifies over its own file" 3 "$ok"
t_eq "  ... one batch id for the three audit records" 1 \
	"$(grep -F 'memo' "$XDG_STATE_HOME/kyso/audit.log" | grep -o '"batch":"[0-9a-f]*"' | sort -u | wc -l)"
before=$(sha256sum "$T_DIR/out/p256.p7s")
$K sign-cms --cert "$pid" -o "$T_DIR/out/p256.p7s" "$doc" 2>"$T_DIR/err"; rc=$?
t_eq "an output that exists: refused (exit 1) without --force" 1 "$rc"
t_match "  ... saying so" 'p256.p7s exists; use --force' "$(cat "$T_DIR/err")"
t_eq "  ... and left as it was" "$before" "$(sha256sum "$T_DIR/out/p256.p7s")"
t_ok "--force replaces it" sign p256 "$T_DIR/out/p256.p7s" --force
t_ok "  ... with a signature that verifies" ossl_verify "$T_DIR/out/p256.p7s" "$doc"
mkdir -p "$T_DIR/out4"
$K sign-cms --cert deadbeefdeadbeef --out-dir "$T_DIR/out4" "$T_DIR"/in/memo*.txt 2>"$T_DIR/err"; rc=$?
t_eq "a batch refused as a whole (an unknown --cert): exit 6, the reason said once, not per file" \
	"6 1" "$rc $(grep -c "no certificate 'deadbeefdeadbeef'" "$T_DIR/err")"
t_match "  ... and that none of the 3 files was signed" '^kyso: none of the 3 files was signed$' \
	"$(cat "$T_DIR/err")"
$K sign-cms --cert "$pid" -o "$T_DIR/out/x.p7s" "$T_DIR/in/missing.txt" 2>"$T_DIR/err"; rc=$?
t_match "a missing input: exit 1, named" "1 .*cannot open .*missing.txt: No such file" "$rc $(cat "$T_DIR/err")"
$K sign-cms --cert "$pid" -o "$T_DIR/out/x.p7s" "$T_DIR/in" 2>"$T_DIR/err"; rc=$?
t_match "a directory as input: exit 1, named" "1 .*in is not a regular file \(a directory\)" "$rc $(cat "$T_DIR/err")"
chmod 000 "$T_DIR/in/memo3.txt"
if [ -r "$T_DIR/in/memo3.txt" ]; then
	t_skip "an unreadable input: exit 1, named" "running as root: every file is readable"
else
	$K sign-cms --cert "$pid" -o "$T_DIR/out/x.p7s" "$T_DIR/in/memo3.txt" 2>"$T_DIR/err"; rc=$?
	t_match "an unreadable input: exit 1, named" "1 .*Permission denied" "$rc $(cat "$T_DIR/err")"
fi
chmod 644 "$T_DIR/in/memo3.txt"
$K sign-cms --cert "$pid" -o "$T_DIR/nowhere/x.p7s" "$doc" 2>"$T_DIR/err"; rc=$?
t_match "an output directory that does not exist: exit 1" "1 .*nowhere does not exist" "$rc $(cat "$T_DIR/err")"
mkdir -p "$T_DIR/in/b"; cp "$T_DIR/in/memo1.txt" "$T_DIR/in/b/memo1.txt"
$K sign-cms --cert "$pid" --out-dir "$T_DIR/out2" "$T_DIR/in/memo1.txt" "$T_DIR/in/b/memo1.txt" 2>"$T_DIR/err"; rc=$?
t_match "two inputs for one output: usage error (exit 2)" "2 .*would both be signed into" "$rc $(cat "$T_DIR/err")"
$K sign-cms --cert "$pid" -o "$T_DIR/out/y.p7s" "$doc" "$doc" 2>/dev/null; rc=$?
t_eq "-o with two inputs: usage error" 2 "$rc"
t_eq "no temporary file is left in the output directory" "" "$(ls -A "$T_DIR/out" | grep '^\.' || true)"
# a full disk: a 16 KiB tmpfs in a private mount namespace (root only)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	mkdir -p "$T_DIR/full"
	head -c 3000 /dev/urandom > "$T_DIR/in/big.bin"
	r=$(unshare -m sh -c "mount -t tmpfs -o size=8k tmpfs '$T_DIR/full' &&
		head -c 7000 /dev/zero > '$T_DIR/full/filler' 2>/dev/null;
		'$K' sign-cms --cert '$pid' --attached -o '$T_DIR/full/big.p7s' '$T_DIR/in/big.bin';
		echo rc=\$?; ls -A '$T_DIR/full'" 2>&1)
	t_match "a full disk: the write fails with a clear error (exit 1)" \
		'cannot write .*big.p7s: No space left on device.*rc=1' "$(echo "$r" | tr '\n' ' ')"
	t_eq "  ... and nothing half-written is left (no output, no temporary file)" "filler" \
		"$(echo "$r" | sed -n '/^rc=/,$p' | tail -n +2 | tr '\n' ' ' | sed 's/ $//')"
else
	t_skip "a full disk: the write fails with a clear error" "needs root for a private tmpfs"
	t_skip "  ... and nothing half-written is left" "needs root for a private tmpfs"
fi

# ---- what the audit log says ----
rec=$(grep '"document":"a.pdf"' "$XDG_STATE_HOME/kyso/audit.log" | grep '"profile":"pades"' | tail -n 1)
t_match "the audit record of a document: method, document, profile, batch, digest, result" \
	"\"method\":\"io.kyso.Agent.SignDocuments\".*\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$(openssl dgst -sha256 -binary "$doc" | xxd -p -c 64)\",\"digest_alg\":\"sha256\",\"document\":\"a.pdf\",\"profile\":\"pades\",\"batch\":\"[0-9a-f]{16}\",\"result\":\"granted\"" \
	"$rec"
t_eq "the PIN is in no record and no log line" 0 \
	"$(cat "$XDG_STATE_HOME/kyso/audit.log" "$T_DIR/kysod.log" | grep -c "$TOK_PIN")"
t_agent_stops
t_done

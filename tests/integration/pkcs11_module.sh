#!/usr/bin/env bash
# kyso-pkcs11.so with the programs that load PKCS#11 modules: OpenSC's pkcs11-tool (slots,
# objects, every mechanism family: PKCS#1 v1.5 over a DigestInfo and hash-and-sign,
# multi-part; PSS with its parameters; ECDSA raw r||s and hash-and-sign; EdDSA) and
# GnuTLS's p11tool; every signature checked by OpenSSL. Then, through the probe, what
# programs must be told: the objects' attributes (against the certificates OpenSSL
# reads), C_GetAttributeValue's buffer rules, refused mechanisms and inputs, a length
# query and a buffer too small that do not sign twice, and the audit log naming the real
# programs.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/kp11.sh"

tok_init "$T_DIR/tok" && tok_create alpha && tok_key alpha 01 rsa:2048 rsa2048 &&
	tok_key alpha 03 ec:p256 p256 && tok_key alpha 04 ec:p384 p384 &&
	tok_create edtok && tok_key edtok 05 ed25519 ed25519 ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
# a CA certificate stored on the token, without a key
openssl x509 -in "$TOK_DIR/ca.crt" -outform DER -out "$TOK_DIR/ca.der"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label alpha --login --pin "$TOK_PIN" \
	--write-object "$TOK_DIR/ca.der" --type cert --id 09 --label "test CA" >/dev/null 2>&1 ||
	t_flunk "store the CA certificate on the token"
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
AUDIT=$XDG_STATE_HOME/kyso/audit.log

doc=$T_DIR/doc; head -c 5000 /dev/urandom > "$doc"
big=$T_DIR/big; head -c 200000 /dev/urandom > "$big"  # pkcs11-tool signs it in parts
for h in 256 384 512; do openssl dgst -sha$h -binary "$doc" > "$T_DIR/h$h"; done
# DigestInfo for SHA-256/384/512 (RFC 8017), and SHA-1 (refused)
printf '3031300d060960864801650304020105000420' | xxd -r -p | cat - "$T_DIR/h256" > "$T_DIR/di256"
printf '3051300d060960864801650304020305000440' | xxd -r -p | cat - "$T_DIR/h512" > "$T_DIR/di512"
openssl dgst -sha1 -binary "$doc" > "$T_DIR/h160"
printf '3021300906052b0e03021a05000414' | xxd -r -p | cat - "$T_DIR/h160" > "$T_DIR/di160"

p11() { kp11_host pkcs11-tool --module "$KP11" "$@"; }
sign() {  # TOKEN ID MECH IN OUT [EXTRA...]
	local tok=$1 id=$2 mech=$3 in=$4 sig=$5; shift 5
	rm -f "$sig"
	p11 --token-label "$tok" --login --pin "$TOK_PIN" --sign --id "$id" -m "$mech" \
		-i "$in" -o "$sig" "$@" > "$T_DIR/p11.out" 2>&1
}

# ---- slots, tokens, objects ----
out=$(p11 --list-slots 2>&1)
t_match "pkcs11-tool --list-slots: the tokens kysod lists" "token label +: alpha.*token label +: edtok" \
	"$(echo "$out" | tr '\n' ' ')"
t_match "  ... the real token's manufacturer, model and serial" \
	"token manufacturer : SoftHSM project.*token model +: SoftHSM v2.*serial num +: [0-9a-f]{16}" \
	"$(echo "$out" | tr '\n' ' ')"
t_match "  ... login required, the PIN asked by kysod (protected authentication path), read-only" \
	"token flags +: login required, PIN pad present, token initialized, PIN initialized, readonly" "$out"
t_match "  ... and one spare slot for a token plugged in later" "Slot 2 \(0x3\): kyso: a token plugged in appears here" \
	"$out"
out=$(p11 --token-label alpha --list-objects 2>&1)
t_eq "--list-objects without login: certificates and public keys, no private key" "4 3 0" \
	"$(echo "$out" | grep -c '^Certificate Object') $(echo "$out" | grep -c '^Public Key Object') $(echo "$out" | grep -c '^Private Key Object')" \
	2>/dev/null
t_match "  ... the CA certificate stored on the token is a certificate" "label: +test CA" "$out"
out=$(p11 --token-label alpha --login --pin "$TOK_PIN" --list-objects --type privkey 2>&1)
t_eq "after C_Login: a private key for each certificate whose key signs" 3 \
	"$(echo "$out" | grep -c '^Private Key Object')"
t_match "  ... sign-only, sensitive, never extractable, with its allowed mechanisms" \
	"Usage: +sign.*Access: +sensitive, always sensitive, never extractable.*Allowed mechanisms: RSA-PKCS,SHA256-RSA-PKCS" \
	"$(echo "$out" | tr '\n' ' ')"
out=$(p11 --slot-index 0 -M 2>&1)
t_match "the mechanisms of the token's keys, SHA-1 ones not among them" \
	"RSA-PKCS, keySize=\{2048,2048\}, sign.*SHA512-RSA-PKCS-PSS.*ECDSA, keySize=\{256,384\}.*ECDSA-SHA512" \
	"$(echo "$out" | tr '\n' ' ')"
t_eq "  ... (no SHA-1 mechanism)" 0 "$(echo "$out" | grep -c 'SHA1')"

# ---- every mechanism family, OpenSSL verifies ----
sign alpha 01 RSA-PKCS "$T_DIR/di256" "$T_DIR/s.pkcs1"
t_ok "RSA-PKCS over a SHA-256 DigestInfo (OpenSSL verifies)" verify_sig rsa-pkcs1v15-sha256 \
	"$TOK_DIR/rsa2048.pub.pem" "$T_DIR/s.pkcs1" "$doc"
sign alpha 01 RSA-PKCS "$T_DIR/di512" "$T_DIR/s.pkcs1b"
t_ok "RSA-PKCS over a SHA-512 DigestInfo (OpenSSL verifies)" verify_sig rsa-pkcs1v15-sha512 \
	"$TOK_DIR/rsa2048.pub.pem" "$T_DIR/s.pkcs1b" "$doc"
for h in 256 384 512; do
	sign alpha 01 SHA$h-RSA-PKCS "$big" "$T_DIR/s.rsa$h"
	t_ok "SHA$h-RSA-PKCS, in parts (C_SignUpdate), OpenSSL verifies" verify_sig \
		rsa-pkcs1v15-sha$h "$TOK_DIR/rsa2048.pub.pem" "$T_DIR/s.rsa$h" "$big"
	sign alpha 01 SHA$h-RSA-PKCS-PSS "$big" "$T_DIR/s.pss$h"
	t_ok "SHA$h-RSA-PKCS-PSS (MGF1-SHA$h, salt $((h / 8))) in parts (OpenSSL verifies)" \
		verify_sig rsa-pss-sha$h "$TOK_DIR/rsa2048.pub.pem" "$T_DIR/s.pss$h" "$big"
done
sign alpha 01 RSA-PKCS-PSS "$T_DIR/h384" "$T_DIR/s.pss" --hash-algorithm SHA384 \
	--mgf MGF1-SHA384 --salt-len 48
t_ok "RSA-PKCS-PSS over a SHA-384 hash (OpenSSL verifies)" verify_sig rsa-pss-sha384 \
	"$TOK_DIR/rsa2048.pub.pem" "$T_DIR/s.pss" "$doc"
sign alpha 01 RSA-PKCS-PSS "$T_DIR/h256" "$T_DIR/s.pssbad" --hash-algorithm SHA256 \
	--mgf MGF1-SHA256 --salt-len 20
t_match "  ... PSS parameters kysod cannot honour (salt 20): CKR_MECHANISM_PARAM_INVALID" \
	CKR_MECHANISM_PARAM_INVALID "$(cat "$T_DIR/p11.out")"
sign alpha 03 ECDSA "$T_DIR/h256" "$T_DIR/s.ecdsa"
t_eq "ECDSA over a SHA-256 hash: raw r||s, 64 bytes, as a module on the token gives" 64 \
	"$(stat -c %s "$T_DIR/s.ecdsa")"
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" "$T_DIR/s.ecdsa" \
	"$doc" raw
sign alpha 04 ECDSA "$T_DIR/h512" "$T_DIR/s.ecdsa384"
t_eq "ECDSA with a P-384 key over a SHA-512 hash: 96 bytes" 96 "$(stat -c %s "$T_DIR/s.ecdsa384")"
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha512 "$TOK_DIR/p384.pub.pem" \
	"$T_DIR/s.ecdsa384" "$doc" raw
for h in 256 384 512; do
	sign alpha 03 ECDSA-SHA$h "$big" "$T_DIR/s.ec$h" --signature-format openssl
	t_ok "ECDSA-SHA$h in parts (OpenSSL verifies)" verify_sig ecdsa-sha$h \
		"$TOK_DIR/p256.pub.pem" "$T_DIR/s.ec$h" "$big"
done
head -c 900 "$doc" > "$T_DIR/small"
sign edtok 05 EDDSA "$T_DIR/small" "$T_DIR/s.ed"
t_ok "EDDSA (Ed25519) over a document (OpenSSL verifies)" verify_sig ed25519 \
	"$TOK_DIR/ed25519.pub.pem" "$T_DIR/s.ed" "$T_DIR/small"
sign edtok 05 EDDSA "$big" "$T_DIR/s.edbig"
t_ok "EDDSA over a document given in parts (C_SignUpdate; SoftHSM itself refuses that) (OpenSSL verifies)" \
	verify_sig ed25519 "$TOK_DIR/ed25519.pub.pem" "$T_DIR/s.edbig" "$big"
before=$(grep -c . "$AUDIT")
t_fail "ECDSA over a SHA-1 hash is refused" sign alpha 03 ECDSA "$T_DIR/h160" "$T_DIR/s.sha1"
t_eq "  ... before it reaches kysod (no audit record)" "$before" "$(grep -c . "$AUDIT")"

# ---- GnuTLS ----
out=$(GNUTLS_PIN=$TOK_PIN kp11_host p11tool --provider "$KP11" --list-all-certs \
	"pkcs11:token=alpha" 2>&1)
t_eq "p11tool --list-all-certs: the token's certificates" 4 "$(echo "$out" | grep -c 'Type: X.509 Certificate')"
for key in p256 rsa2048; do
	out=$(GNUTLS_PIN=$TOK_PIN kp11_host p11tool --provider "$KP11" --login --test-sign \
		"pkcs11:token=alpha;object=$key;type=private" 2>&1)
	t_match "p11tool --test-sign with $key: signs and verifies" \
		"Signing using .*ok.*Verifying against public key in the token... ok" "$(echo "$out" | tr '\n' ' ')"
done

# ---- attributes, against OpenSSL's reading of the certificates ----
O=$T_DIR/probe
kp11_probe "$O" init open 1 find cert 03 attr value attr id attr serial attr category \
	attr private attr trusted attr modifiable attr label 2 attr label attr unknown \
	find pub 03 attr ecparams attr ecpoint attr spki find priv 03 \
	login "$TOK_PIN" find priv 03 attr sign attr decrypt attr sensitive attr extractable \
	attr never_extractable attr private attr ecvalue attr ecparams attr alwaysauth \
	find priv 01 attr modulus attr exponent attr private_exponent find cert 09 \
	attr category find priv 09 find pub 09 final
hexof() { xxd -p "$1" | tr -d '\n'; }
t_eq "CKA_VALUE of the certificate object is the certificate's DER" \
	"attr CKR_OK $(stat -c %s "$TOK_DIR/p256.crt.der") $(hexof "$TOK_DIR/p256.crt.der")" "$(kp11_line "$O" 4)"
t_eq "  ... CKA_ID is the token's" "attr CKR_OK 1 03" "$(kp11_line "$O" 5)"
serial=$(openssl x509 -in "$TOK_DIR/p256.crt.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
t_match "  ... CKA_SERIAL_NUMBER is the DER INTEGER of the serial" "^attr CKR_OK [0-9]+ 02..0*$serial$" \
	"$(kp11_line "$O" 6)"
t_eq "  ... CKA_CERTIFICATE_CATEGORY: token user (its key is here)" \
	"attr CKR_OK 8 0100000000000000" "$(kp11_line "$O" 7)"
t_eq "  ... CKA_PRIVATE, CKA_TRUSTED, CKA_MODIFIABLE false" "attr CKR_OK 1 00,attr CKR_OK 1 00,attr CKR_OK 1 00" \
	"$(sed -n 8,10p "$O" | paste -sd,)"
t_eq "C_GetAttributeValue: a buffer too small gives CKR_BUFFER_TOO_SMALL and CK_UNAVAILABLE_INFORMATION" \
	"attr CKR_BUFFER_TOO_SMALL -1 " "$(kp11_line "$O" 11)"
t_eq "  ... the length asked first, then the value" "attr CKR_OK 4 70323536" "$(kp11_line "$O" 12)"
t_eq "  ... an attribute the object does not have: CKR_ATTRIBUTE_TYPE_INVALID" \
	"attr CKR_ATTRIBUTE_TYPE_INVALID -1" "$(kp11_line "$O" 13)"
t_eq "the public key: CKA_EC_PARAMS is the curve's OID" "attr CKR_OK 10 06082a8648ce3d030107" \
	"$(kp11_line "$O" 15)"
point=$(openssl pkey -pubin -in "$TOK_DIR/p256.pub.pem" -outform DER | tail -c 65 | xxd -p | tr -d '\n')
t_eq "  ... CKA_EC_POINT the uncompressed point in an OCTET STRING" "attr CKR_OK 67 0441$point" \
	"$(kp11_line "$O" 16)"
t_eq "  ... CKA_PUBLIC_KEY_INFO the SubjectPublicKeyInfo" \
	"attr CKR_OK 91 $(openssl pkey -pubin -in "$TOK_DIR/p256.pub.pem" -outform DER | xxd -p | tr -d '\n')" \
	"$(kp11_line "$O" 17)"
t_eq "the private key is not visible before C_Login" "find CKR_OK 0" "$(kp11_line "$O" 18)"
t_eq "  ... and is after" "find CKR_OK 1" "$(kp11_line "$O" 20)"
t_eq "  ... CKA_SIGN true, CKA_DECRYPT false" "attr CKR_OK 1 01,attr CKR_OK 1 00" "$(sed -n 21,22p "$O" | paste -sd,)"
t_eq "  ... CKA_SENSITIVE true, CKA_EXTRACTABLE false, CKA_NEVER_EXTRACTABLE true, CKA_PRIVATE true" \
	"attr CKR_OK 1 01,attr CKR_OK 1 00,attr CKR_OK 1 01,attr CKR_OK 1 01" "$(sed -n 23,26p "$O" | paste -sd,)"
t_eq "  ... its secret (CKA_VALUE): CKR_ATTRIBUTE_SENSITIVE" "attr CKR_ATTRIBUTE_SENSITIVE -1" \
	"$(kp11_line "$O" 27)"
t_eq "  ... CKA_EC_PARAMS as on the public key; CKA_ALWAYS_AUTHENTICATE false (kysod asks)" \
	"attr CKR_OK 10 06082a8648ce3d030107,attr CKR_OK 1 00" "$(sed -n 28,29p "$O" | paste -sd,)"
modulus=$(openssl rsa -pubin -in "$TOK_DIR/rsa2048.pub.pem" -noout -modulus | cut -d= -f2 | tr A-F a-f)
t_eq "the RSA private key: CKA_MODULUS, CKA_PUBLIC_EXPONENT of the certificate's key" \
	"attr CKR_OK 256 $modulus,attr CKR_OK 3 010001" "$(sed -n 31,32p "$O" | paste -sd,)"
t_eq "  ... CKA_PRIVATE_EXPONENT: CKR_ATTRIBUTE_SENSITIVE" "attr CKR_ATTRIBUTE_SENSITIVE -1" \
	"$(kp11_line "$O" 33)"
t_eq "the CA certificate on the token: a certificate of category authority" \
	"find CKR_OK 1,attr CKR_OK 8 0200000000000000" "$(sed -n 34,35p "$O" | paste -sd,)"
t_eq "  ... and no key object for it" "find CKR_OK 0,find CKR_OK 0" "$(sed -n 36,37p "$O" | paste -sd,)"
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

kp11_probe "$O" init open 2 find pub 05 attr keytype attr ecparams attr ecpoint final
edpoint=$(openssl pkey -pubin -in "$TOK_DIR/ed25519.pub.pem" -outform DER | tail -c 32 | xxd -p | tr -d '\n')
t_eq "Ed25519: CKK_EC_EDWARDS, the curve as SoftHSM gives it, the key in an OCTET STRING" \
	"attr CKR_OK 8 4000000000000000,attr CKR_OK 14 130c656477617264733235353139,attr CKR_OK 34 0420$edpoint" \
	"$(sed -n 4,6p "$O" | paste -sd,)"

# ---- refusals, length queries, a buffer too small ----
before=$(grep -c . "$AUDIT")
kp11_probe "$O" init open 1 login "$TOK_PIN" \
	find priv 01 signinit sha1-rsa-pkcs signinit ecdsa signinit rsa-pkcs sign "$T_DIR/di160" "$T_DIR/x" \
	signinit rsa-pkcs sign "$T_DIR/h256" "$T_DIR/x" \
	signinit rsa-pkcs-pss sha256,sha1,32 signinit sha384-rsa-pkcs-pss sha256,sha256,32 \
	signinit rsa-pkcs-pss sha256,sha256,32 sign "$T_DIR/h384" "$T_DIR/x" \
	find pub 01 signinit rsa-pkcs find cert 01 signinit rsa-pkcs \
	find priv 03 signinit ecdsa sign "$T_DIR/h160" "$T_DIR/x" \
	signinit ecdsa signlen signlen sign "$T_DIR/h256" "$T_DIR/small.sig" 10 \
	sign "$T_DIR/h256" "$T_DIR/retry.sig" 64 \
	signinit ecdsa-sha256 update "$doc" 1000 signfinal "$T_DIR/multi.sig" \
	signinit ecdsa sign "$T_DIR/h256" "$T_DIR/x" signinit eddsa \
	open 1 rw loginso 12345678 final
L() { kp11_line "$O" "$1"; }
t_eq "SHA-1 mechanisms are not offered: CKR_MECHANISM_INVALID" "signinit CKR_MECHANISM_INVALID" "$(L 5)"
t_eq "ECDSA with an RSA key: CKR_KEY_TYPE_INCONSISTENT" "signinit CKR_KEY_TYPE_INCONSISTENT" "$(L 6)"
t_eq "RSA-PKCS over a SHA-1 DigestInfo: CKR_DATA_INVALID" "sign CKR_DATA_INVALID 256" "$(L 8)"
t_eq "RSA-PKCS over something that is not a DigestInfo: CKR_DATA_INVALID" "sign CKR_DATA_INVALID 256" "$(L 10)"
t_eq "PSS with MGF1 of another hash: CKR_MECHANISM_PARAM_INVALID" "signinit CKR_MECHANISM_PARAM_INVALID" "$(L 11)"
t_eq "SHA384-RSA-PKCS-PSS with SHA-256 parameters: CKR_MECHANISM_PARAM_INVALID" \
	"signinit CKR_MECHANISM_PARAM_INVALID" "$(L 12)"
t_eq "PSS over a hash of another length than its parameters say: CKR_DATA_LEN_RANGE" \
	"sign CKR_DATA_LEN_RANGE 256" "$(L 14)"
t_eq "a public key does not sign: CKR_KEY_FUNCTION_NOT_PERMITTED" "signinit CKR_KEY_FUNCTION_NOT_PERMITTED" "$(L 16)"
t_eq "a certificate is no key: CKR_KEY_HANDLE_INVALID" "signinit CKR_KEY_HANDLE_INVALID" "$(L 18)"
t_eq "ECDSA over 20 bytes (SHA-1): CKR_DATA_LEN_RANGE" "sign CKR_DATA_LEN_RANGE 64" "$(L 21)"
t_eq "C_Sign without a buffer gives the length (twice)" "signlen CKR_OK 64,signlen CKR_OK 64" \
	"$(L 23),$(L 24)"
t_eq "  ... a buffer too small: CKR_BUFFER_TOO_SMALL with the length" "sign CKR_BUFFER_TOO_SMALL 64" "$(L 25)"
t_eq "  ... the retry with room signs" "sign CKR_OK 64" "$(L 26)"
t_ok "  ... (OpenSSL verifies it)" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" \
	"$T_DIR/retry.sig" "$doc" raw
t_eq "ECDSA-SHA256 with C_SignUpdate and C_SignFinal" "final CKR_OK 64" "$(L 29)"
t_ok "  ... (OpenSSL verifies it)" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" \
	"$T_DIR/multi.sig" "$doc" raw
t_eq "EDDSA with an EC key: CKR_KEY_TYPE_INCONSISTENT" "signinit CKR_KEY_TYPE_INCONSISTENT" "$(L 32)"
t_eq "a read-write session: CKR_TOKEN_WRITE_PROTECTED" "open CKR_TOKEN_WRITE_PROTECTED" "$(L 33)"
t_eq "the security officer's login: CKR_USER_TYPE_INVALID (nothing to administer here)" \
	"loginso CKR_USER_TYPE_INVALID" "$(L 34)"
after=$(grep -c . "$AUDIT")
t_eq "kysod was asked for the signatures made, and for nothing refused here (3 records)" 3 \
	$((after - before))
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

# ---- the audit log names the real programs ----
t_match "the audit log names pkcs11-tool for its signatures" '"exe":"/usr/bin/pkcs11-tool"' "$(cat "$AUDIT")"
t_match "  ... and p11tool for its" '"exe":"/usr/bin/p11tool"' "$(cat "$AUDIT")"
t_eq "  ... every signature of this test was granted" 0 "$(grep -vc '"result":"granted"' "$AUDIT")"

t_ok "kysod still alive" agent_alive
t_agent_stops
t_done

#!/usr/bin/env bash
# The programs officers' software is built on, signing through kyso-pkcs11.so with kysod's
# PIN dialog (the scripted fake pinentry): OpenSSL with the libp11 engine (openssl dgst,
# openssl cms), NSS (modutil, certutil, cmsutil) and Java's SunPKCS11 (keytool,
# jarsigner; the plain build only: a JVM does not run under a preloaded ASan runtime).
# Each signature is checked by OpenSSL (and jarsigner -verify); the dialogs and the
# audit log name the real programs.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/kp11.sh"
FAKE=$T_TOP/tests/tools/fake-pinentry

tok_init "$T_DIR/tok" && tok_create alpha && tok_key alpha 01 rsa:2048 rsa2048 &&
	tok_key alpha 03 ec:p256 p256 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
export FAKE_PINENTRY_SCRIPT=$T_DIR/script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
: > "$FAKE_PINENTRY_SCRIPT"; : > "$FAKE_PINENTRY_LOG"
agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }
AUDIT=$XDG_STATE_HOME/kyso/audit.log
doc=$T_DIR/doc; printf 'Order 17/2026: the signed memo\n' > "$doc"

# a fresh login for each program: the PIN comes from kysod's dialog, once
fresh_login() {
	$K lock >/dev/null
	printf 'pin %s\n' "$TOK_PIN" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"
}
last_dialog_names() {  # PROGRAM: the last dialog said that this program asks
	tail -n 1 "$FAKE_PINENTRY_LOG" | python3 -c 'import json,sys,re
d = json.load(sys.stdin)["desc"]
sys.exit(0 if re.search(r"The program \S*" + re.escape(sys.argv[1]) + r" \(pid [0-9]+\) asks", d) else 1)' "$1"
}
audit_names() {  # PROGRAM: the last audit record is a granted signature by it
	tail -n 1 "$AUDIT" | grep -Eq "\"exe\":\"[^\"]*/$1\".*\"result\":\"granted\""
}

# ---- OpenSSL with the libp11 engine ----
ENGINE_SO=$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -n 1)
if [ -z "$ENGINE_SO" ]; then
	t_skip "OpenSSL with the libp11 engine" "libengine-pkcs11-openssl is not installed"
else
	cat > "$T_DIR/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $KP11
init = 0
EOF
	ossl() { OPENSSL_CONF=$T_DIR/openssl.cnf kp11_host openssl "$@"; }
	for key in p256 rsa2048; do
		fresh_login
		ossl dgst -sha256 -engine pkcs11 -keyform engine \
			-sign "pkcs11:token=alpha;object=$key;type=private" -out "$T_DIR/ossl.$key.sig" \
			"$doc" > "$T_DIR/ossl.out" 2>&1
		t_ok "openssl dgst -sign with the libp11 engine and a pkcs11: URI ($key): OpenSSL verifies" \
			verify_sig "$([ $key = p256 ] && echo ecdsa-sha256 || echo rsa-pkcs1v15-sha256)" \
			"$TOK_DIR/$key.pub.pem" "$T_DIR/ossl.$key.sig" "$doc"
		t_ok "  ... the PIN was asked in kysod's dialog, naming openssl" last_dialog_names openssl
		t_ok "  ... the audit log names openssl" audit_names openssl
		ossl cms -sign -engine pkcs11 -keyform engine \
			-inkey "pkcs11:token=alpha;object=$key;type=private" \
			-signer "$TOK_DIR/$key.crt.pem" -in "$doc" -binary -md sha256 -outform DER \
			-out "$T_DIR/ossl.$key.p7s" > "$T_DIR/ossl.out" 2>&1
		t_ok "openssl cms -sign with the engine ($key): OpenSSL verifies the CMS and the chain" \
			openssl cms -verify -inform DER -in "$T_DIR/ossl.$key.p7s" -content "$doc" \
			-CAfile "$TOK_DIR/ca.crt" -binary -purpose any -out /dev/null
	done
fi

# ---- NSS ----
if ! command -v modutil >/dev/null || ! command -v cmsutil >/dev/null; then
	t_skip "NSS" "libnss3-tools is not installed"
else
	DB=sql:$T_DIR/nss
	mkdir -p "$T_DIR/nss"
	certutil -N -d "$DB" --empty-password
	out=$(kp11_host modutil -dbdir "$DB" -add kyso -libfile "$KP11" -force 2>&1)
	t_match "modutil -add into a fresh NSS database" 'Module "kyso" added to database' "$out"
	out=$(kp11_host modutil -dbdir "$DB" -list kyso 2>&1)
	t_match "  ... modutil -list shows the token in its slot" "Token Name: alpha" "$out"
	out=$(kp11_host certutil -L -d "$DB" -h all < /dev/null 2>&1)
	t_match "certutil -L lists the token's certificates" "alpha:rsa2048 .*alpha:p256 |alpha:p256 .*alpha:rsa2048 " \
		"$(echo "$out" | tr '\n' ' ')"
	for key in p256 rsa2048; do
		fresh_login
		kp11_host cmsutil -S -G -d "$DB" -N "alpha:$key" -Y NONE -p unused -i "$doc" \
			-o "$T_DIR/nss.$key.p7s" > "$T_DIR/nss.out" 2>&1
		t_ok "cmsutil -S with alpha:$key (signed attributes): OpenSSL verifies the CMS" \
			openssl cms -verify -inform DER -in "$T_DIR/nss.$key.p7s" -content "$doc" \
			-CAfile "$TOK_DIR/ca.crt" -binary -purpose any -out /dev/null
		t_ok "  ... NSS logged in without a PIN and kysod's dialog asked, naming cmsutil" \
			last_dialog_names cmsutil
		t_ok "  ... the audit log names cmsutil" audit_names cmsutil
	done
	# without signed attributes NSS puts the ECDSA signature into the CMS as the module
	# returns it: the same layout (64 raw bytes) as with SoftHSM's own module
	kp11_host cmsutil -S -d "$DB" -N alpha:p256 -Y NONE -p unused -i "$doc" \
		-o "$T_DIR/nss.raw.p7s" > "$T_DIR/nss.out" 2>&1
	DB2=sql:$T_DIR/nss2; mkdir -p "$T_DIR/nss2"; certutil -N -d "$DB2" --empty-password
	modutil -dbdir "$DB2" -add softhsm -libfile "$SOFTHSM_MODULE" -force > /dev/null 2>&1
	cmsutil -S -d "$DB2" -N alpha:p256 -Y NONE -p "$TOK_PIN" -i "$doc" \
		-o "$T_DIR/nss.direct.p7s" > "$T_DIR/nss2.out" 2>&1
	sigfield() { openssl asn1parse -inform DER -in "$1" 2>/dev/null | grep 'OCTET STRING' | tail -n 1 |
		sed -E 's/.*l= *([0-9]+) .*/\1/'; }
	t_eq "the ECDSA signature NSS gets from kyso-pkcs11 has the layout SoftHSM's module gives it (r||s)" \
		"64 64" "$(sigfield "$T_DIR/nss.raw.p7s") $(sigfield "$T_DIR/nss.direct.p7s")"
fi

# ---- Java (SunPKCS11) ----
if kp11_asan; then
	t_skip "Java SunPKCS11: keytool and jarsigner" "the plain build runs them (a JVM under a preloaded ASan runtime does not)"
elif ! command -v keytool >/dev/null || ! command -v jarsigner >/dev/null; then
	t_skip "Java SunPKCS11: keytool and jarsigner" "openjdk is not installed"
else
	printf 'name = kyso\nlibrary = %s\nslotListIndex = 0\n' "$KP11" > "$T_DIR/java.cfg"
	P11=(-keystore NONE -storetype PKCS11 -addprovider SunPKCS11 -providerArg "$T_DIR/java.cfg")
	fresh_login
	out=$(keytool -list "${P11[@]}" -protected 2>&1)
	t_match "keytool -list: the token's keys and certificates, by label" \
		"p256, PrivateKeyEntry.*rsa2048, PrivateKeyEntry" "$(echo "$out" | tr '\n' ' ')"
	t_ok "  ... the PIN was asked in kysod's dialog (-protected), naming keytool" last_dialog_names keytool
	(cd "$T_DIR" && cp "$doc" memo.txt && jar cf app.jar memo.txt)
	for key in p256 rsa2048; do
		fresh_login
		cp "$T_DIR/app.jar" "$T_DIR/app.$key.jar"
		out=$(jarsigner "${P11[@]}" -protected "$T_DIR/app.$key.jar" "$key" 2>&1)
		t_match "jarsigner signs a jar with $key" "jar signed" "$out"
		t_ok "  ... the audit log names jarsigner (the JDK's launcher)" audit_names jarsigner
		out=$(jarsigner -verify "$T_DIR/app.$key.jar" 2>&1)
		t_match "  ... jarsigner -verify accepts it" "^jar verified" "$out"
		rm -rf "$T_DIR/x" && mkdir "$T_DIR/x" && (cd "$T_DIR/x" && jar xf "../app.$key.jar")
		block=$(ls "$T_DIR/x/META-INF/" | grep -E '\.(EC|RSA)$')
		t_ok "  ... and OpenSSL verifies its signature block over the .SF file" openssl cms -verify \
			-inform DER -in "$T_DIR/x/META-INF/$block" -content "$T_DIR/x/META-INF/${block%.*}.SF" \
			-CAfile "$TOK_DIR/ca.crt" -binary -purpose any -out /dev/null
	done
fi

t_eq "every signature of these programs was granted in the audit log" 0 \
	"$(grep -vc '"result":"granted"' "$AUDIT")"
t_ok "kysod still alive" agent_alive
t_agent_stops
t_done

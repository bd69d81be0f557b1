#!/usr/bin/env bash
# Every protocol v1 algorithm on RSA-2048, RSA-3072, P-256, P-384 and Ed25519 keys made on
# SoftHSM tokens; with a digest, with data, by certificate id, prefix and key URI; every
# signature checked by OpenSSL.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py

tok_init "$T_DIR/tok" && tok_create main &&
	tok_key main 01 rsa:2048 rsa2048 && tok_key main 02 rsa:3072 rsa3072 &&
	tok_key main 03 ec:p256 p256 && tok_key main 04 ec:p384 p384 &&
	tok_create edtok && tok_key edtok 05 ed25519 ed25519 ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
echo "$TOK_PIN" | $K login --token main --pin-stdin >/dev/null 2>&1
echo "$TOK_PIN" | $K login --token edtok --pin-stdin >/dev/null 2>&1

doc=$T_DIR/doc.bin
head -c 10000 /dev/urandom > "$doc"
sign_check() {  # KEY ALG [--format raw]
	local key=$1 alg=$2 sig=$T_DIR/sig.$1.$2 id
	id=$(cert_id "$TOK_DIR/$key.crt.pem")
	rm -f "$sig"
	if ! $K sign --cert "$id" --alg "$alg" --in "$doc" --out "$sig" "${@:3}" >"$T_DIR/out" 2>&1; then
		t_flunk "$key $alg ${*:3}: kyso sign" "$(cat "$T_DIR/out")"; return
	fi
	t_ok "$key $alg ${*:3}: OpenSSL verifies" verify_sig "$alg" "$TOK_DIR/$key.pub.pem" \
		"$sig" "$doc" "${4:-}"
}
for key in rsa2048 rsa3072; do
	for alg in rsa-pkcs1v15-sha256 rsa-pkcs1v15-sha384 rsa-pkcs1v15-sha512 \
		rsa-pss-sha256 rsa-pss-sha384 rsa-pss-sha512; do
		sign_check $key $alg
	done
done
for key in p256 p384; do
	for alg in ecdsa-sha256 ecdsa-sha384 ecdsa-sha512; do
		sign_check $key $alg
	done
done
sign_check p256 ecdsa-sha256 --format raw
t_eq "P-256 raw signature is r||s, 64 bytes" 64 "$(stat -c %s "$T_DIR/sig.p256.ecdsa-sha256")"
sign_check p384 ecdsa-sha384 --format raw
t_eq "P-384 raw signature is r||s, 96 bytes" 96 "$(stat -c %s "$T_DIR/sig.p384.ecdsa-sha384")"
sign_check ed25519 ed25519

# 'data' (the agent hashes, or the token's combined mechanism does) instead of 'digest'
b64doc=$(base64 -w0 "$doc")
for pair in rsa2048:rsa-pss-sha384 rsa3072:rsa-pkcs1v15-sha512 p256:ecdsa-sha256 \
	p384:ecdsa-sha512 ed25519:ed25519; do
	key=${pair%%:*} alg=${pair#*:}
	reply=$(python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$(cert_id "$TOK_DIR/$key.crt.pem")\",\"algorithm\":\"$alg\",\"data\":\"$b64doc\"}")
	printf '%s' "$reply" | python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))' \
		> "$T_DIR/data.sig" 2>/dev/null
	t_ok "$key $alg over data: OpenSSL verifies" verify_sig "$alg" "$TOK_DIR/$key.pub.pem" \
		"$T_DIR/data.sig" "$doc"
done

# an empty document
: > "$T_DIR/empty"
t_ok "ed25519 signs an empty document" $K sign --cert "$(cert_id "$TOK_DIR/ed25519.crt.pem")" \
	--alg ed25519 --in "$T_DIR/empty" --out "$T_DIR/empty.sig"
t_ok "  ... and OpenSSL (EVP) verifies it" "$BUILD/tests/ed25519_verify" \
	"$TOK_DIR/ed25519.pub.pem" "$T_DIR/empty.sig" "$T_DIR/empty"

# a digest given in hex on the command line, and a certificate named by an 8-digit prefix
dig=$(openssl dgst -sha256 -binary "$doc" | xxd -p -c 64)
id=$(cert_id "$TOK_DIR/p256.crt.pem")
t_ok "sign --digest HEX with an 8-digit id prefix" \
	$K sign --cert "${id:0:8}" --alg ecdsa-sha256 --digest "$dig" --out "$T_DIR/dig.sig"
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" \
	"$T_DIR/dig.sig" "$doc"

# a certificate named by the RFC 7512 URI of its key, as ListCertificates gives it
uri=$($K certs --json | python3 -c 'import json,sys; print([c["key_uri"] for c in json.load(sys.stdin) if c["label"]=="rsa2048"][0])')
t_match "key_uri is a pkcs11: URI with the token and id" '^pkcs11:.*token=main.*id=%01' "$uri"
t_ok "sign by key URI" $K sign --cert "$uri" --alg rsa-pss-sha256 --in "$doc" --out "$T_DIR/uri.sig"
t_ok "  ... OpenSSL verifies it" verify_sig rsa-pss-sha256 "$TOK_DIR/rsa2048.pub.pem" \
	"$T_DIR/uri.sig" "$doc"

# base64 on stdout when there is no --out
$K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" | base64 -d > "$T_DIR/stdout.sig" 2>/dev/null
t_ok "signature on stdout is base64 of a valid signature" verify_sig ecdsa-sha256 \
	"$TOK_DIR/p256.pub.pem" "$T_DIR/stdout.sig" "$doc"

t_ok "agent still alive" agent_alive
t_agent_stops
t_done

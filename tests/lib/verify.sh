# tests/lib/verify.sh — OpenSSL checks of kyso's signatures.
#   verify_sig ALG PUBKEY_PEM SIGFILE DOCFILE [raw]   true if OpenSSL accepts the signature
#   cert_id CERT_PEM                                  the kyso certificate id (SHA-256 of DER)

cert_id() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# raw ECDSA r||s → DER, for OpenSSL
ecdsa_raw_to_der() {
	python3 - "$1" "$2" <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
half = len(raw) // 2
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
body = der_int(raw[:half]) + der_int(raw[half:])
ln = bytes([len(body)]) if len(body) < 128 else b'\x81' + bytes([len(body)])
open(sys.argv[2], 'wb').write(b'\x30' + ln + body)
PY
}

verify_sig() {
	local alg=$1 pub=$2 sig=$3 doc=$4 h
	h=${alg##*-}
	case $alg in
	rsa-pkcs1v15-*)
		openssl dgst -"$h" -verify "$pub" -signature "$sig" "$doc" ;;
	rsa-pss-*)
		openssl dgst -"$h" -sigopt rsa_padding_mode:pss -sigopt rsa_mgf1_md:"$h" \
			-sigopt rsa_pss_saltlen:$(( ${h#sha} / 8 )) -verify "$pub" -signature "$sig" "$doc" ;;
	ecdsa-*)
		if [ "${5:-}" = raw ]; then
			ecdsa_raw_to_der "$sig" "$sig.der" || return 1
			sig=$sig.der
		fi
		openssl dgst -"$h" -verify "$pub" -signature "$sig" "$doc" ;;
	ed25519)
		openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$doc" -sigfile "$sig" ;;
	*) return 1 ;;
	esac
}

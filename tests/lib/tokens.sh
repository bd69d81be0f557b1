# tests/lib/tokens.sh — SoftHSM2 test tokens with on-token keys and CA-issued certificates.
#
# Source it, then:
#   tok_init DIR                 private SoftHSM store in DIR (sets SOFTHSM2_CONF)
#   tok_create LABEL             a new token (SO PIN $TOK_SO_PIN, user PIN $TOK_PIN)
#   tok_ca LABEL                 the test CA's certificate on the token (no key)
#   tok_key LABEL ID TYPE NAME [always-auth]
#                                on-token key pair (TYPE: rsa:2048 rsa:3072 ec:p256
#                                ec:p384 ed25519), a certificate for it issued by the
#                                test CA, stored with the same CKA_ID; writes
#                                DIR/NAME.pub.pem and DIR/NAME.crt.pem. With always-auth
#                                the private key has CKA_ALWAYS_AUTHENTICATE.
# Needs: softhsm2-util, pkcs11-tool, openssl, xxd.

TOK_PIN=${TOK_PIN:-123456}
TOK_SO_PIN=${TOK_SO_PIN:-12345678}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

tok_init() {
	TOK_DIR=$1
	mkdir -p "$TOK_DIR/store"
	cat > "$TOK_DIR/softhsm2.conf" <<CONF
directories.tokendir = $TOK_DIR/store
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
	export SOFTHSM2_CONF=$TOK_DIR/softhsm2.conf
	# the test CA that issues every test certificate
	if [ ! -f "$TOK_DIR/ca.key" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$TOK_DIR/ca.key" -out "$TOK_DIR/ca.crt" -days 30 -utf8 \
			-subj "/CN=kyso test CA/O=kyso tests" 2>/dev/null || return 1
	fi
}

tok_create() {
	softhsm2-util --init-token --free --label "$1" --so-pin "$TOK_SO_PIN" \
		--pin "$TOK_PIN" >/dev/null
}

# The SubjectPublicKeyInfo DER prefix for an EC point of each curve.
tok_spki_prefix() {
	case $1 in
	ec:p256) echo 3059301306072a8648ce3d020106082a8648ce3d030107034200 ;;
	ec:p384) echo 3076301006072a8648ce3d020106052b81040022036200 ;;
	ed25519) echo 302a300506032b6570032100 ;;
	esac
}

tok_key() {
	local label=$1 id=$2 type=$3 name=$4 p11type point extra=()
	[ "${5:-}" = always-auth ] && extra=(--always-auth)
	local p11=(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$label")
	case $type in
	rsa:*) p11type=$type ;;
	ec:p256) p11type=EC:prime256v1 ;;
	ec:p384) p11type=EC:secp384r1 ;;
	ed25519) p11type=EC:edwards25519 ;;
	*) echo "tok_key: unknown key type $type" >&2; return 1 ;;
	esac
	"${p11[@]}" --login --pin "$TOK_PIN" --keypairgen --key-type "$p11type" --id "$id" \
		--label "$name" "${extra[@]}" > "$TOK_DIR/keygen.out" 2>&1 ||
		{ echo "tok_key: keygen $type failed" >&2; cat "$TOK_DIR/keygen.out" >&2; return 1; }
	case $type in
	rsa:*)
		"${p11[@]}" --read-object --type pubkey --id "$id" -o "$TOK_DIR/$name.pub.der" \
			>/dev/null 2>&1 || return 1
		openssl pkey -pubin -inform DER -in "$TOK_DIR/$name.pub.der" \
			-out "$TOK_DIR/$name.pub.pem" || return 1 ;;
	*)
		# CKA_EC_POINT (printed by the key generation) is a DER OCTET STRING around
		# the point: drop its 2-byte header
		point=$(awk '/EC_POINT:/ {print $2; exit}' "$TOK_DIR/keygen.out")
		[ -n "$point" ] || { echo "tok_key: no EC_POINT for $name" >&2; return 1; }
		{ tok_spki_prefix "$type"; echo "${point:4}"; } | tr -d '\n' | xxd -r -p \
			> "$TOK_DIR/$name.pub.der"
		openssl pkey -pubin -inform DER -in "$TOK_DIR/$name.pub.der" \
			-out "$TOK_DIR/$name.pub.pem" || return 1 ;;
	esac
	# a certificate for the token's public key, issued by the test CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TOK_DIR/throwaway.key" -utf8 -subj "/CN=$name officer/O=kyso tests/OU=$label" \
		-out "$TOK_DIR/$name.csr" 2>/dev/null || return 1
	printf 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\n' \
		> "$TOK_DIR/ext.cnf"
	openssl x509 -req -in "$TOK_DIR/$name.csr" -CA "$TOK_DIR/ca.crt" \
		-CAkey "$TOK_DIR/ca.key" -CAcreateserial -days 30 \
		-force_pubkey "$TOK_DIR/$name.pub.pem" -extfile "$TOK_DIR/ext.cnf" \
		-out "$TOK_DIR/$name.crt.pem" 2>/dev/null || return 1
	openssl x509 -in "$TOK_DIR/$name.crt.pem" -outform DER -out "$TOK_DIR/$name.crt.der"
	"${p11[@]}" --login --pin "$TOK_PIN" --write-object "$TOK_DIR/$name.crt.der" --type cert \
		--id "$id" --label "$name" >/dev/null 2>&1 || { echo "tok_key: cert import failed" >&2; return 1; }
	rm -f "$TOK_DIR/throwaway.key" "$TOK_DIR/$name.csr"
}

# tok_ca LABEL: stores the test CA's certificate on token LABEL (a CA certificate without
# a key, as kyso-admin import-cert --chain stores it), for the chains kysod puts in CMS.
tok_ca() {
	openssl x509 -in "$TOK_DIR/ca.crt" -outform DER -out "$TOK_DIR/ca.der" &&
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$1" --login --pin "$TOK_PIN" \
		--write-object "$TOK_DIR/ca.der" --type cert --id ca01 --label "kyso test CA" \
		>/dev/null 2>&1
}

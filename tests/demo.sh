#!/usr/bin/env bash
# tests/demo.sh — what `make demo` runs: the main job of kyso on a built-in demo token.
# A SoftHSM token gets a key generated on the token and a certificate from a demo CA;
# kysod starts; kyso lists the certificate and signs a document; OpenSSL verifies the
# signature; the agent stops. Everything lives in a temporary directory, removed at exit.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
K=$BUILD/kyso
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
step() { printf '  %s\n' "$*"; }
die() { printf '\n\033[31mdemo failed: %s\033[0m\n' "$*"; exit 1; }

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kyso-demo.XXXXXX")
AGENT_PID=
cleanup() {
	[ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	rm -rf "$T_DIR"
}
trap cleanup EXIT
. "$top/tests/lib/tokens.sh"

say "kyso demo: sign a document with a key that never leaves its token"
[ -x "$BUILD/kysod" ] && [ -x "$K" ] || die "build kyso first (make)"

say "1. Making a demo token"
tok_init "$T_DIR/token" >/dev/null && tok_create "kyso demo" || die "cannot create a SoftHSM token"
tok_key "kyso demo" 01 ec:p256 "Demo" || die "cannot generate the key"
step "A SoftHSM software token labelled 'kyso demo' now lives in $T_DIR/token."
step "An ECDSA P-256 key pair was generated ON the token: the private key cannot be read out."
step "A demo CA issued a certificate for it: $(openssl x509 -in "$T_DIR/token/Demo.crt.pem" -noout -subject | sed 's/^subject=//')"
step "The token's user PIN is $TOK_PIN (a real officer would type it)."

say "2. Starting the agent (kysod)"
export KYSO_SOCKET=$T_DIR/agent.sock
# the demo's own settings and audit log; the PIN comes from the demo, so no PIN dialog
export XDG_CONFIG_HOME=$T_DIR/config XDG_STATE_HOME=$T_DIR/state
"$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" --module "$SOFTHSM_MODULE" \
	--pinentry none --log-level warning 2>"$T_DIR/kysod.log" &
AGENT_PID=$!
for _ in $(seq 100); do $K info >/dev/null 2>&1 && break; sleep 0.05; done
$K info >/dev/null 2>&1 || { cat "$T_DIR/kysod.log"; die "the agent did not start"; }
step "kysod listens on $KYSO_SOCKET (mode 0600, only you may connect)."
step "It loaded SoftHSM's PKCS#11 module; apps talk to it with JSON over that socket."

say "3. What the agent sees (kyso tokens, kyso certs)"
$K tokens | sed 's/^/  /'
echo
$K certs | sed 's/^/  /'
id=$($K certs --json | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin) if c["can_sign"]][0])') ||
	die "no certificate that can sign"

say "4. Signing a document"
doc=$T_DIR/memo.txt
printf 'To: all units\nSubject: exercise schedule\nThe exercise starts at 06:00.\n' > "$doc"
step "Document: memo.txt ($(wc -c < "$doc") bytes). kyso hashes it (SHA-256) and asks the agent"
step "to sign the hash with certificate ${id:0:16}…; the token computes the signature."
echo "$TOK_PIN" | $K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/memo.sig" \
	--description "memo.txt (demo)" --pin-stdin || die "signing failed"
step "Signature (DER, $(stat -c %s "$T_DIR/memo.sig") bytes): $(base64 -w0 "$T_DIR/memo.sig" | cut -c1-48)…"

say "5. Checking the signature with OpenSSL, independently of kyso"
$K certs --json | python3 -c "import json,sys,base64; sys.stdout.buffer.write(base64.b64decode([c['der'] for c in json.load(sys.stdin) if c['id']=='$id'][0]))" > "$T_DIR/cert.der"
openssl x509 -inform DER -in "$T_DIR/cert.der" -out "$T_DIR/cert.pem"
openssl x509 -in "$T_DIR/cert.pem" -noout -pubkey > "$T_DIR/pub.pem"
out=$(openssl dgst -sha256 -verify "$T_DIR/pub.pem" -signature "$T_DIR/memo.sig" "$doc" 2>&1) ||
	die "OpenSSL rejected the signature: $out"
step "openssl dgst -verify with the certificate's public key: $out"
out=$(openssl verify -CAfile "$T_DIR/token/ca.crt" "$T_DIR/cert.pem" 2>&1) || die "$out"
step "openssl verify of the certificate against the demo CA: OK"
printf 'Tampered.\n' >> "$doc"
if openssl dgst -sha256 -verify "$T_DIR/pub.pem" -signature "$T_DIR/memo.sig" "$doc" >/dev/null 2>&1; then
	die "a changed document still verified"
fi
step "After changing one line of the memo, the same check fails, as it must."

say "6. The audit log: who signed what, and when (kyso audit)"
$K audit | sed 's/^/  /'
step "Every signing request, granted or refused, is one line in $XDG_STATE_HOME/kyso/audit.log,"
step "written to disk before the signature was returned; the PIN is never in it."

say "7. Stopping the agent"
kill -TERM "$AGENT_PID"; wait "$AGENT_PID"; rc=$?; AGENT_PID=
[ "$rc" = 0 ] || die "kysod exited with status $rc"
[ -e "$KYSO_SOCKET" ] && die "the socket was left behind"
step "kysod stopped cleanly and removed its socket; the demo token is deleted."

say "Demo complete: the document was signed on the token and the signature verified."

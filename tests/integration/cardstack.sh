#!/usr/bin/env bash
# The real-card fixture itself (tests/lib/cardstack.sh), checked with independent peers
# only, no kysod: OpenSC's pkcs11-tool sees the emulated CAC card through the private
# pcscd, lists its certificate, signs with SHA256-RSA-PKCS and OpenSSL verifies against the
# certificate; the card pulled, the token goes; re-inserted, it comes back and signs again
# (measured from the emulator's hang-up/reconnection, then through the waiting helpers).
# Skipped (never passed) where the stack cannot run.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/cardstack.sh"
trap 'card_stack_stop; t_cleanup' EXIT

if ! why=$(card_stack_possible); then
	t_skip "a real card stack (pcscd + vpcd + emulated CAC + OpenSC)" "$why"
	t_done; exit
fi

now_ms() { echo $(( ${EPOCHREALTIME//[.,]/} / 1000 )); }
t0=$(now_ms)
card_stack_start "$T_DIR/card" || { t_flunk "the card stack starts"; t_done; exit 1; }
t_pass "the card stack starts ($(( $(now_ms) - t0 )) ms)"

p11() { timeout 30 pkcs11-tool --module "$CARD_MODULE" "$@"; }
# has_token: pkcs11-tool -L shows our token in some slot
has_token() { p11 -L 2>/dev/null | grep -q "token label *: $CARD_TOKEN_LABEL\$"; }
no_token() { out=$(p11 -L 2>&1) && ! printf '%s\n' "$out" | grep -q 'token label'; }
# wait_for SECONDS CMD...: repeat CMD until it succeeds; prints the elapsed ms
wait_for() {
	local limit=$1 start; shift
	start=$(now_ms)
	while ! "$@"; do
		[ $(( $(now_ms) - start )) -lt $(( limit * 1000 )) ] || { echo "timeout"; return 1; }
		sleep 0.1
	done
	echo "$(( $(now_ms) - start ))"
}

t0=$(now_ms)
out=$(p11 -L 2>&1)
t_match "pkcs11-tool -L lists the card's token (in $(( $(now_ms) - t0 )) ms)" \
	"token label *: $CARD_TOKEN_LABEL" "$out"
t_match "  ... as a token that needs a login" 'token flags *:.*login required' "$out"

out=$(p11 -O 2>&1 | tr '\n' ' ')
t_match "listing the objects shows the certificate" \
	"Certificate Object; type = X.509 cert .*subject: *DN: O=kyso tests, CN=$CARD_TOKEN_LABEL" \
	"$out"
t_match "  ... and its public key, with CKA_ID $CARD_KEY_ID" \
	"Public Key Object; RSA 2048 bits .*ID: *$CARD_KEY_ID" "$out"
p11 --read-object --type cert --id "$CARD_KEY_ID" -o "$T_DIR/card.crt.der" >/dev/null 2>&1
t_eq "the certificate read from the token is the card's" \
	"$(openssl x509 -in "$CARD_CERT_PEM" -outform DER | sha256sum)" \
	"$(sha256sum < "$T_DIR/card.crt.der" 2>/dev/null)"

doc=$T_DIR/doc; printf 'a document signed by a real card stack\n' > "$doc"
sign() {
	rm -f "$T_DIR/$1"
	p11 --login --pin "$CARD_PIN" --sign --mechanism SHA256-RSA-PKCS --id "$CARD_KEY_ID" \
		-i "$doc" -o "$T_DIR/$1"
}
verify() { openssl dgst -sha256 -verify "$CARD_PUB_PEM" -signature "$T_DIR/$1" "$doc"; }
t0=$(now_ms)
t_ok "SHA256-RSA-PKCS signature through OpenSC" sign sig1
echo "# pkcs11-tool sign (C_Initialize, login, sign): $(( $(now_ms) - t0 )) ms"
t_ok "  ... verifies with openssl dgst -verify against the certificate's key" verify sig1

t_fail "a wrong PIN is refused" \
	p11 --login --pin 999999 --sign --mechanism SHA256-RSA-PKCS --id "$CARD_KEY_ID" \
	-i "$doc" -o "$T_DIR/sig0"

# the emulator hangs up; how long until OpenSC no longer lists the token
t_ok "card_pull --nowait" card_pull --nowait
ms=$(wait_for 10 no_token)
t_ok "pulled, the token is gone from pkcs11-tool -L (in ${ms} ms)" test "$ms" != timeout
t_fail "  ... and signing fails" sign sig2
t_ok "card_insert --nowait" card_insert --nowait
ms=$(wait_for 10 has_token)
t_ok "re-inserted, the token is back (in ${ms} ms)" test "$ms" != timeout
t_ok "  ... signs again" sign sig3
t_ok "  ... and the signature verifies" verify sig3

# the waiting forms return only once PC/SC agrees: no polling needed after them
t_ok "card_pull waits until PC/SC sees the reader empty" card_pull
t_ok "  ... so the token is already gone" no_token
t_ok "card_insert waits until PC/SC sees the card" card_insert
t_ok "  ... so the token is already back" has_token
t_ok "  ... and signs" sign sig4
t_ok "  ... verifiably" verify sig4

pcscd=$CARD_PCSCD_PID emu=$CARD_EMU_PID
card_stack_stop
if _card_running "$pcscd" || _card_running "$emu"; then
	t_flunk "card_stack_stop ends pcscd and the emulator"
else
	t_pass "card_stack_stop ends pcscd and the emulator"
fi
t_done

#!/usr/bin/env bash
# SignDigests pipelined to the module's helper (issue 15): chunk k+1 is at the token
# while kysod converts, encodes and records chunk k, each chunk as many digests as the
# token signs in about 16 ms. Every signature of pipelined calls (P-256 and RSA-2048, 300
# digests each) verified by OpenSSL over its own document, so the results are
# byte-correct and in order; on a slow token (40 ms a signature) a Lock in the middle of
# a call is seen after the signature at the token, not after a chunk of a hundred; the
# helper crashing in C_Sign
# in the middle of a 1000-digest call (the tests' fault module, a sign of progress in its
# trace first) gives TokenError naming the crash, no signature in the reply and no
# "granted" record of that call; the helper restarted, the next call signs.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/digests.sh"
. "$T_TOP/tests/lib/mock.sh"
PY=/usr/bin/python3

tok_init "$T_DIR/tok" && tok_create dig && tok_key dig 01 ec:p256 ec &&
	tok_key dig 02 rsa:2048 rsa ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock"
mock_slot 1 dig
agent_start --module "$MOCK_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
cec=$(cert_id "$TOK_DIR/ec.crt.pem"); crsa=$(cert_id "$TOK_DIR/rsa.crt.pem")
AUDIT=$XDG_STATE_HOME/kyso/audit.log
asan=$(ldd "$BUILD/kyso-p11-helper" | grep -c libasan || true)

out=$(sign_digests "$cec" ecdsa-sha256 300 "$T_DIR/ec" "$TOK_PIN" "pipelined p256")
t_match "300 P-256 digests, pipelined in chunks to the helper: signed" "^ok [0-9a-f]{16}$" "$out"
t_eq "  ... OpenSSL verifies each of the 300 signatures over its own document (in order)" 0 \
	"$(verify_all ecdsa-sha256 "$TOK_DIR/ec.pub.pem" "$T_DIR/ec" 300)"
batch=${out#ok }
t_eq "  ... 300 granted records with the call's batch id" 300 \
	"$(grep -c "\"batch\":\"$batch\".*\"result\":\"granted\"" "$AUDIT")"
d=$(openssl dgst -sha256 -hex "$T_DIR/ec/doc.200" | awk '{ print $NF }')
t_eq "  ... document 200's record holds its digest" 1 \
	"$(grep -c "\"digest\":\"$d\".*\"batch\":\"$batch\".*\"result\":\"granted\"" "$AUDIT")"

out=$(sign_digests "$crsa" rsa-pkcs1v15-sha256 300 "$T_DIR/rsa" "" "pipelined rsa")
t_match "300 RSA-2048 digests, pipelined: signed" "^ok [0-9a-f]{16}$" "$out"
t_eq "  ... OpenSSL verifies each of the 300 signatures over its own document (in order)" 0 \
	"$(verify_all rsa-pkcs1v15-sha256 "$TOK_DIR/rsa.pub.pem" "$T_DIR/rsa" 300)"

# ---- the helper crashes in C_Sign in the middle of a pipelined call ----
crash='the module crashed \(SIGSEGV\)'
[ "$asan" -gt 0 ] && crash='the module (crashed \(SIGSEGV\)|aborted \(SIGABRT\))|the module.s helper process exited with an error'
mock_rule "C_Sign delay 2 dig"
: > "$KYSO_FAULTY_TRACE"
sign_digests "$cec" ecdsa-sha256 1000 "$T_DIR/crash" "" "crash in the middle" > "$T_DIR/crash.out" &
bg=$!
# a sign of progress: a few chunks' C_Sign calls at the token, the call not answered yet
for _ in $(seq 1 600); do
	[ "$(mock_calls C_Sign)" -ge 400 ] && break
	kill -0 "$bg" 2>/dev/null || break
	sleep 0.05
done
t_ok "the call is in the middle: over 400 C_Sign in the trace, no answer yet" \
	test "$(mock_calls C_Sign)" -ge 400 -a -z "$(cat "$T_DIR/crash.out")"
helper0=$(agent_helpers)
mock_rule "C_Sign crash segv dig"
wait "$bg"
t_eq "the helper crashed in C_Sign in the middle: TokenError" "io.kyso.Agent.TokenError " \
	"$(cat "$T_DIR/crash.out")"
out=$(cat "$T_DIR/crash/error.json" 2>/dev/null)
t_match "  ... naming the crash" "\"message\": \"[^\"]*$crash" "$out"
t_ok "  ... no signature in the reply" test -z "$(grep -i signatures <<< "$out")"
t_eq "  ... no granted record of that call" 0 \
	"$(grep -c '"description":"crash in the middle".*"result":"granted"' "$AUDIT")"
t_eq "  ... a TokenError record for each of its 1000 digests" 1000 \
	"$(grep -c '"description":"crash in the middle".*"result":"io.kyso.Agent.TokenError"' "$AUDIT")"
mock_unrule "C_Sign"
back() { h=$(agent_helpers); [ -n "$h" ] && [ "$h" != "$helper0" ] && $K tokens 2>/dev/null | grep -q dig; }
t_wait back
out=$(sign_digests "$cec" ecdsa-sha256 200 "$T_DIR/after" "$TOK_PIN" "after the crash")
t_match "the helper restarted: the next call (200 digests) signs" "^ok [0-9a-f]{16}$" "$out"
t_eq "  ... OpenSSL verifies its 200 signatures" 0 \
	"$(verify_all ecdsa-sha256 "$TOK_DIR/ec.pub.pem" "$T_DIR/after" 200)"

# ---- a slow token: chunks of one, so a Lock is seen at once ----
mock_rule "C_Sign delay 20 dig"  # C_Sign twice a signature (length, then signature)
: > "$KYSO_FAULTY_TRACE"
sign_digests "$cec" ecdsa-sha256 200 "$T_DIR/slow" "" "slow token" > "$T_DIR/slow.out" &
bg=$!
started() { [ "$(mock_calls C_Sign)" -ge 6 ]; }
t_wait started
$K lock >/dev/null 2>&1
wait "$bg"
t_match "Lock in the middle of 200 digests on a slow token: the call is refused" \
	"^io.kyso.Agent" "$(cat "$T_DIR/slow.out")"
# a chunk sized by count (128 before) would have had 256 C_Sign calls at the token
t_ok "  ... within a few signatures: $(mock_calls C_Sign) C_Sign calls in all (of 400)" \
	test "$(mock_calls C_Sign)" -lt 60
t_eq "  ... no granted record of that call" 0 \
	"$(grep -c '"description":"slow token".*"result":"granted"' "$AUDIT")"
mock_unrule "C_Sign"

t_ok "agent alive" agent_alive
t_agent_stops
t_done

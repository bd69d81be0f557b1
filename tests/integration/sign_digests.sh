#!/usr/bin/env bash
# io.kyso.Agent.SignDigests (issue 15): many raw digests in one call, with P-256 and
# RSA-2048 keys on SoftHSM — every signature of a 100-digest call verified by OpenSSL
# against its document, a 1000-digest call (the cap) answered in full with one audit
# record per digest, sharing one batch id (one write and one fsync: test_audit_group);
# the refusals name
# what was wrong (1001 digests, a digest of the wrong length, PinRequired before any
# login); libkyso's kyso_sign_digests from a program linking libkyso (digests_probe): its
# signatures verified, its description recorded exactly, a PIN that is not UTF-8 refused
# before anything is sent.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/digests.sh"

tok_init "$T_DIR/tok" && tok_create dig && tok_key dig 01 ec:p256 ec &&
	tok_key dig 02 rsa:2048 rsa ||
	{ t_flunk "make the test token"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
cec=$(cert_id "$TOK_DIR/ec.crt.pem"); crsa=$(cert_id "$TOK_DIR/rsa.crt.pem")
AUDIT=$XDG_STATE_HOME/kyso/audit.log

out=$(sign_digests "$cec" ecdsa-sha256 5 "$T_DIR/nopin")
t_eq "before any login, without a PIN and no dialog: PinRequired" \
	"io.kyso.Agent.PinRequired " "$out"
t_eq "  ... recorded once for the call, as SignDigests" 1 \
	"$(grep -c '"method":"io.kyso.Agent.SignDigests".*"result":"io.kyso.Agent.PinRequired"' "$AUDIT")"

out=$(sign_digests "$cec" ecdsa-sha256 100 "$T_DIR/ec" "$TOK_PIN")
t_like "100 P-256 digests with the PIN in the call: signed" "^ok [0-9a-f]{16}$" "$out"
t_eq "  ... OpenSSL verifies every one of the 100 signatures" 0 \
	"$(verify_all ecdsa-sha256 "$TOK_DIR/ec.pub.pem" "$T_DIR/ec" 100)"
batch=${out#ok }
t_eq "  ... 100 granted records sharing the call's batch id" 100 \
	"$(grep -c "\"batch\":\"$batch\".*\"result\":\"granted\"" "$AUDIT")"
d7=$(openssl dgst -sha256 -hex "$T_DIR/ec/doc.7" | awk '{ print $NF }')
t_eq "  ... each with its own digest (document 7's)" 1 \
	"$(grep -c "\"digest\":\"$d7\".*\"batch\":\"$batch\"" "$AUDIT")"

out=$(sign_digests "$crsa" rsa-pkcs1v15-sha256 100 "$T_DIR/rsa")
t_like "100 RSA-2048 digests, logged in since: signed" "^ok [0-9a-f]{16}$" "$out"
t_eq "  ... OpenSSL verifies every one of the 100 signatures" 0 \
	"$(verify_all rsa-pkcs1v15-sha256 "$TOK_DIR/rsa.pub.pem" "$T_DIR/rsa" 100)"

out=$(sign_digests "$cec" ecdsa-sha256 1000 "$T_DIR/big")
t_like "1000 digests (the cap) in one call" "^ok [0-9a-f]{16}$" "$out"
batch=${out#ok }
t_eq "  ... 1000 records with its batch id" 1000 "$(grep -c "\"batch\":\"$batch\"" "$AUDIT")"
for i in 0 499 999; do
	t_ok "  ... OpenSSL verifies signature $i" verify_sig ecdsa-sha256 "$TOK_DIR/ec.pub.pem" \
		"$T_DIR/big/sig.$i" "$T_DIR/big/doc.$i"
done

out=$(sign_digests "$cec" ecdsa-sha256 1001 "$T_DIR/over")
t_eq "1001 digests: InvalidParameter naming digests" "org.varlink.service.InvalidParameter digests" "$out"
out=$(python3 - "$KYSO_SOCKET" "$cec" <<'PY'
import base64, json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
d = [base64.b64encode(bytes(32)).decode()] * 5 + [base64.b64encode(bytes(20)).decode()]
s.sendall(json.dumps({"method": "io.kyso.Agent.SignDigests", "parameters": {
    "certificate": sys.argv[2], "algorithm": "ecdsa-sha256", "digests": d}}).encode() + b"\0")
r = json.loads(s.recv(65536).split(b"\0")[0])
print(r["error"], r["parameters"].get("parameter"))
PY
)
t_eq "a digest shorter than the others: InvalidParameter naming digests[5]" \
	"org.varlink.service.InvalidParameter digests[5]" "$out"
out=$(python3 - "$KYSO_SOCKET" "$cec" <<'PY'
import base64, json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
d = [base64.b64encode(bytes(48)).decode()] * 3
s.sendall(json.dumps({"method": "io.kyso.Agent.SignDigests", "parameters": {
    "certificate": sys.argv[2], "algorithm": "ecdsa-sha256", "digests": d}}).encode() + b"\0")
r = json.loads(s.recv(65536).split(b"\0")[0])
print(r["error"])
PY
)
t_eq "SHA-384-long digests for ecdsa-sha256: InvalidDigest" "io.kyso.Agent.InvalidDigest" "$out"

# ---- libkyso's kyso_sign_digests, from a program linking libkyso (digests_probe) ----
mkdir -p "$T_DIR/lib" "$T_DIR/librsa"
for i in $(seq 0 199); do
	{ head -c 64 /dev/urandom; echo "document $i"; } > "$T_DIR/lib/doc.$i"
	cp "$T_DIR/lib/doc.$i" "$T_DIR/librsa/doc.$i"
done
desc=$'libkyso: "quoted" \\ back\tslash, công văn số 12/QĐ'
t_eq "libkyso's kyso_sign_digests: 200 P-256 digests in one call" ok \
	"$("$BUILD/tests/digests_probe" "$cec" ecdsa-sha256 "$T_DIR/lib" 200 "" "$desc")"
t_eq "  ... OpenSSL verifies every one of the 200 signatures (DER, in order)" 0 \
	"$(verify_all ecdsa-sha256 "$TOK_DIR/ec.pub.pem" "$T_DIR/lib" 200)"
t_eq "  ... 200 granted records carry the description exactly (quotes, backslash, tab, Vietnamese)" \
	200 "$(/usr/bin/python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    n += r.get("description") == sys.argv[2] and r.get("result") == "granted"
print(n)' "$AUDIT" "$desc")"
t_eq "libkyso's kyso_sign_digests: 50 RSA-2048 digests" ok \
	"$("$BUILD/tests/digests_probe" "$crsa" rsa-pkcs1v15-sha256 "$T_DIR/librsa" 50)"
t_eq "  ... OpenSSL verifies every one of the 50 signatures" 0 \
	"$(verify_all rsa-pkcs1v15-sha256 "$TOK_DIR/rsa.pub.pem" "$T_DIR/librsa" 50)"
n0=$(wc -l < "$AUDIT")
out=$("$BUILD/tests/digests_probe" "$cec" ecdsa-sha256 "$T_DIR/lib" 2 $'12\xff34')
t_like "a PIN that is not UTF-8: libkyso refuses it, naming it, and sends nothing" \
	"^-.*PIN.*not valid UTF-8" "$out"
t_eq "  ... no record (the agent was not asked)" "$n0" "$(wc -l < "$AUDIT")"

t_ok "agent alive" agent_alive
t_agent_stops
t_done

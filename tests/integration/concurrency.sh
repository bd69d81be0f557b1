#!/usr/bin/env bash
# Many clients signing at once on two tokens while others list: every call is answered
# (a lost wake-up between the workers and the loop would hang a client), every answer is
# the right one, and sampled signatures verify with OpenSSL.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

tok_init "$T_DIR/tok" && tok_create one && tok_key one 01 ec:p256 k1 &&
	tok_create two && tok_key two 02 ec:p256 k2 ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
for t in one two; do echo "$TOK_PIN" | $K login --token $t --pin-stdin >/dev/null 2>&1; done
c1=$(cert_id "$TOK_DIR/k1.crt.pem"); c2=$(cert_id "$TOK_DIR/k2.crt.pem")
doc=$T_DIR/doc; echo "concurrency" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)

worker() {  # CERT N OUT: N signatures on one connection; writes ok count and last sig
	timeout 120 python3 - "$KYSO_SOCKET" "$1" "$dig" "$2" "$3" <<'PY'
import base64, json, socket, sys
path, cert, dig, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_UNIX); s.connect(path)
call = json.dumps({"method": "io.kyso.Agent.Sign", "parameters": {
    "certificate": cert, "algorithm": "ecdsa-sha256", "digest": dig}}).encode() + b"\0"
ok, buf, sig = 0, b"", b""
for i in range(n):
    s.sendall(call)
    while b"\0" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("agent closed the connection")
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    r = json.loads(msg)
    if r.get("parameters", {}).get("certificate") == cert and "signature" in r["parameters"]:
        ok += 1
        sig = base64.b64decode(r["parameters"]["signature"])
open(out, "wb").write(sig)
print(ok)
PY
}
pids=()
for i in 1 2 3 4 5 6 7 8; do
	if [ $((i % 2)) = 0 ]; then c=$c1; else c=$c2; fi
	worker "$c" 150 "$T_DIR/sig.$i" > "$T_DIR/ok.$i" 2>&1 &
	pids+=($!)
done
lists=0
for _ in $(seq 20); do $K certs >/dev/null 2>&1 && lists=$((lists + 1)); done
wait "${pids[@]}"
t_eq "8 clients x 150 signatures on two tokens: every one answered with its certificate" \
	1200 "$(cat "$T_DIR"/ok.* | paste -sd+ | bc)"
t_eq "listings meanwhile all answered" 20 "$lists"
t_ok "a signature by token one verifies" verify_sig ecdsa-sha256 "$TOK_DIR/k1.pub.pem" "$T_DIR/sig.2" "$doc"
t_ok "a signature by token two verifies" verify_sig ecdsa-sha256 "$TOK_DIR/k2.pub.pem" "$T_DIR/sig.1" "$doc"
t_ok "agent alive" agent_alive
t_agent_stops
t_done

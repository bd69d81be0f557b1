#!/usr/bin/env bash
# The agent survives every client, with a real token behind it: 1500 calls mutated from
# valid ones (tests/tools/fuzz_live.py: wrong types, lengths and encodings, lists past
# their limits, broken envelopes and UTF-8, cut and split messages, hang-ups in the middle
# of streamed batches) at a kysod with a SoftHSM token it is logged in to, so that the
# calls that pass the checks reach the worker, the token, the CMS builder and the audit
# log. Every reply is JSON with a declared error; afterwards kysod still signs (OpenSSL
# verifies), every audit line is JSON, and it stops cleanly (under ASan+UBSan: no report).
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

tok_init "$T_DIR/tok" && tok_create fuzz && tok_key fuzz 01 ec:p256 k ||
	{ t_flunk "make the test token"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
cert=$(cert_id "$TOK_DIR/k.crt.pem")
echo "$TOK_PIN" | $K login --token fuzz --pin-stdin >/dev/null 2>&1

out=$(python3 "$T_TOP/tests/tools/fuzz_live.py" "$KYSO_SOCKET" "$T_TOP/docs/io.kyso.Agent.varlink" \
	"$cert" fuzz "$TOK_PIN" 1500 20261207 2>&1)
rc=$?
echo "# $(echo "$out" | tail -n 1)"
t_eq "1500 mutated calls: every reply is JSON, every error one the interface declares" 0 "$rc"
[ "$rc" = 0 ] || echo "$out" | head -n 20 | sed 's/^/# /'
t_match "  ... and some reached the token: signatures granted" '"result":"granted"' \
	"$(cat "$XDG_STATE_HOME/kyso/audit.log")"
t_ok "the agent is still alive" agent_alive
doc=$T_DIR/doc; echo "after the storm" > "$doc"
t_ok "  ... and signs (a Lock among the calls may have logged it out: the PIN goes along)" \
	eval "echo $TOK_PIN | $K sign --cert $cert --alg ecdsa-sha256 --in $doc --out $T_DIR/sig --pin-stdin"
t_ok "  ... a signature OpenSSL verifies" verify_sig ecdsa-sha256 "$TOK_DIR/k.pub.pem" "$T_DIR/sig" "$doc"
t_ok "every line of the audit log is a JSON object" python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    if not isinstance(json.loads(line), dict):
        sys.exit("line %d" % n)' "$XDG_STATE_HOME/kyso/audit.log"
t_agent_stops
t_done

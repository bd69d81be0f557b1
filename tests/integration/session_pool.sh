#!/usr/bin/env bash
# The session pool per token (issue 15), through the test module wrapping SoftHSM (whose
# slots are not removable, so "auto" gives the token four sessions), with ordering
# assertions, no timings: four Signs reach the token together while two more wait their
# turn; Lock ends the waiting ones, and the logout on one session logs the token's four
# sessions out (the login is shared); many clients at once, every signature verified;
# sessions_per_token = 1 keeps one C_Sign at a time; a bad value is refused by name.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"

tok_init "$T_DIR/tok" && tok_create pool && tok_key pool 01 ec:p256 pk ||
	{ t_flunk "make the test token"; t_done; exit 1; }
mock_env "$T_DIR/mock"
agent_start --module "$MOCK_MODULE" --module-timeout 300s ||
	{ t_flunk "start kysod"; t_done; exit 1; }
t_match "auto: a token in a slot that is not removable gets four sessions" \
	"token 'pool' .*: 4 session\(s\) at once" "$(cat "$T_DIR/kysod.log")"
echo "$TOK_PIN" | $K login --token pool --pin-stdin >/dev/null 2>&1
cert=$(cert_id "$TOK_DIR/pk.crt.pem")
doc=$T_DIR/doc; echo "pooled" > "$doc"

signs_logged() { grep -c "): sign with certificate" "$T_DIR/kysod.log"; }

base=$(mock_calls C_Sign)
logged=$(signs_logged)
mock_rule 'C_Sign delay 60000 pool'
# one after the other, each once the one before is at the token: four sessions, four
# C_Sign calls at once (Signs queued together would be signed as a group instead)
pids=()
sign_bg() {
	( $K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/sig.$1" \
		2> "$T_DIR/err.$1"; echo $? > "$T_DIR/rc.$1" ) &
	pids+=($!)
}
for i in 1 2 3 4; do
	sign_bg $i
	t_wait eval '[ "$(mock_calls C_Sign)" -ge $((base + i)) ]' || break
done
t_eq "four C_Sign calls are at the token together (a session each)" \
	$((base + 4)) "$(mock_calls C_Sign)"
sign_bg 5
sign_bg 6
t_ok "  ... and the agent has taken two more calls" \
	t_wait eval '[ "$(signs_logged)" -ge $((logged + 6)) ]'
t_eq "  ... the other two wait: no fifth C_Sign while the four sessions are busy" \
	$((base + 4)) "$(mock_calls C_Sign)"
# Lock answers once its logout ran, which is after the signatures at the token. The Signs
# not at the token end Cancelled: those in the queue at once; one that a lane had taken
# into a group behind a signature at the token (fast tokens sign queued Signs together)
# as soon as that signature is back, its own thrown away
$K lock >/dev/null 2>&1 &
lockpid=$!
t_ok "Lock ends a waiting Sign at once" \
	t_wait eval '[ "$(cat "$T_DIR"/rc.* 2>/dev/null | wc -l)" -ge 1 ]'
mock_unrule 'C_Sign delay'
wait $lockpid
t_eq "  ... and answers once the four at the token are done" 0 $?
wait "${pids[@]}"
t_eq "the two that were not at the token: Cancelled (exit 9)" "9 9" \
	"$(cat "$T_DIR"/rc.* | grep -v '^0$' | sort | tr '\n' ' ' | sed 's/ $//')"
t_eq "  ... saying the request was ended by the lock" 2 "$(cat "$T_DIR"/err.* | grep -ci 'lock')"
ok=0 bad=0
for i in 1 2 3 4 5 6; do
	if [ "$(cat "$T_DIR/rc.$i")" = 0 ]; then
		if verify_sig ecdsa-sha256 "$TOK_DIR/pk.pub.pem" "$T_DIR/sig.$i" "$doc" >/dev/null 2>&1
		then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	fi
done
t_eq "the four already at the token when Lock came finish, and OpenSSL verifies them" \
	"4 0" "$ok $bad"
$K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/after" 2> "$T_DIR/err.after"
t_eq "after Lock a Sign without a PIN is refused: the logout on one session logged out all four" \
	4 $?
t_match "  ... PinRequired" "PIN" "$(cat "$T_DIR/err.after")"

# many clients at once on the pooled token
echo "$TOK_PIN" | $K login --token pool --pin-stdin >/dev/null 2>&1
granted() { grep -c '"certificate":"'"$cert"'".*"result":"granted"' "$XDG_STATE_HOME/kyso/audit.log"; }
granted0=$(granted)
pids=()
for i in $(seq 1 8); do
	( n=0; for k in $(seq 1 15); do
		$K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/c$i.$k" &&
			n=$((n + 1)); done; echo "$n" > "$T_DIR/n.$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
t_eq "8 clients x 15 Signs on the pooled token: every one signed" 120 \
	"$(cat "$T_DIR"/n.* | paste -sd+ | bc)"
bad=0
for i in $(seq 1 8); do
	for k in 1 15; do
		verify_sig ecdsa-sha256 "$TOK_DIR/pk.pub.pem" "$T_DIR/c$i.$k" "$doc" >/dev/null 2>&1 ||
			bad=$((bad + 1))
	done
done
t_eq "  ... OpenSSL verifies the first and last of each client" 0 "$bad"
t_eq "  ... 120 more granted records in the audit log, no more, no fewer" 120 \
	$(( $(granted) - granted0 ))
t_agent_stops

# sessions_per_token = 1: one session, one C_Sign at a time
echo "sessions_per_token = 1" >> "$XDG_CONFIG_HOME/kyso/kysod.conf"
: > "$T_DIR/kysod.log"
agent_start --module "$MOCK_MODULE" --module-timeout 300s ||
	{ t_flunk "start kysod"; t_done; exit 1; }
t_match "sessions_per_token = 1: one session" "token 'pool' .*: 1 session\(s\)$" \
	"$(grep "token 'pool'" "$T_DIR/kysod.log")"
echo "$TOK_PIN" | $K login --token pool --pin-stdin >/dev/null 2>&1
base=$(mock_calls C_Sign)
logged=$(signs_logged)
mock_rule 'C_Sign delay 60000 pool'
$K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/one.1" 2>/dev/null &
pids=($!)
t_ok "the first Sign is at the token" t_wait eval '[ "$(mock_calls C_Sign)" -ge $((base + 1)) ]'
$K sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/one.2" 2>/dev/null &
pids+=($!)
t_ok "  ... the agent has taken the second" t_wait eval '[ "$(signs_logged)" -ge $((logged + 2)) ]'
t_eq "  ... the second waits for it (one session)" $((base + 1)) "$(mock_calls C_Sign)"
mock_unrule 'C_Sign delay'
wait "${pids[@]}"
t_ok "  ... then both signed" verify_sig ecdsa-sha256 "$TOK_DIR/pk.pub.pem" "$T_DIR/one.2" "$doc"
t_agent_stops

echo "sessions_per_token = 17" > "$XDG_CONFIG_HOME/kyso/kysod.conf"
out=$("$BUILD/kysod" --foreground --socket "$T_DIR/bad.sock" --module "$MOCK_MODULE" 2>&1)
t_eq "sessions_per_token = 17: kysod refuses to start" 1 $?
t_match "  ... naming the key and the range" "sessions_per_token: '17' is not 'auto' or a number of sessions from 1 to 16" "$out"
t_done

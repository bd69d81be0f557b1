#!/usr/bin/env bash
# Tokens come and go through the test module (tests/mock: SoftHSM tokens in removable
# virtual slots, with slot events): insertion, removal, removal during a Sign,
# re-insertion, a token swap in the same slot, a module that breaks and recovers (and one
# that keeps failing: backoff), polling when the module has no events, and no head-of-line
# blocking (ordering assertions, no timing thresholds). One agent process throughout.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
VCALL=$T_TOP/tests/lib/vcall.py
SUB=
trap '[ -n "$SUB" ] && kill "$SUB" 2>/dev/null; t_cleanup' EXIT

tok_init "$T_DIR/tok" && tok_create tokA && tok_key tokA 01 ec:p256 keyA &&
	tok_create tokB && tok_key tokB 02 ec:p256 keyB &&
	tok_create other && tok_key other 03 ec:p256 keyO ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
certA=$(cert_id "$TOK_DIR/keyA.crt.pem"); certB=$(cert_id "$TOK_DIR/keyB.crt.pem")
certO=$(cert_id "$TOK_DIR/keyO.crt.pem")
mock_env "$T_DIR/mock" && mock_slot 1 tokA && mock_slot 2 - && mock_slot 3 other ||
	{ t_flunk "set up the mock"; t_done; exit 1; }
agent_start --module "$MOCK_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
agent_pid=$AGENT_PID

doc=$T_DIR/doc; echo "orders of the day" > "$doc"
sign() {  # CERT PUB OUT: sign with the PIN, then verify
	echo "$TOK_PIN" | $K sign --cert "$1" --alg ecdsa-sha256 --in "$doc" --out "$T_DIR/$3" \
		--pin-stdin && verify_sig ecdsa-sha256 "$TOK_DIR/$2.pub.pem" "$T_DIR/$3" "$doc"
}
list() { python3 "$VCALL" call "io.kyso.Agent.List$1"; }
wait_for() {  # SECONDS WHAT(Tokens|Certificates|Modules) REGEX: until the listing matches
	local i
	for i in $(seq $(($1 * 10))); do list "$2" | grep -Eq "$3" && return 0; sleep 0.1; done
	return 1
}
wait_gone() {
	local i
	for i in $(seq $(($1 * 10))); do list "$2" | grep -Eq "$3" || return 0; sleep 0.1; done
	return 1
}
events() { grep -c "\"event\":\"$1\".*\"label\":\"$2\"" "$T_DIR/events"; }
wait_event() {  # SECONDS EVENT LABEL COUNT
	local i
	for i in $(seq $(($1 * 10))); do [ "$(events "$2" "$3")" -ge "$4" ] && return 0; sleep 0.1; done
	return 1
}

timeout 300 python3 "$VCALL" subscribe > "$T_DIR/events" 2>&1 &
SUB=$!
for _ in $(seq 50); do grep -q '"subscribed"' "$T_DIR/events" && break; sleep 0.1; done

t_match "at start: the tokens in occupied slots" '"label":"tokA".*"label":"other"' "$(list Tokens)"
t_match "  ... the module's slot events are used" '"events":"slot-events"' "$(list Modules)"

# --- insertion ---
mock_slot 2 tokB
t_ok "a token inserted is listed without restart" wait_for 5 Tokens '"label":"tokB"'
t_ok "  ... announced by token-added" wait_event 5 token-added tokB 1
t_match "  ... with its certificate" "\"id\":\"$certB\"" "$(list Certificates)"
t_ok "  ... and it signs (verified by OpenSSL)" sign "$certB" keyB s1

# --- removal ---
mock_slot 2 -
t_ok "a token pulled out is announced by token-removed" wait_event 5 token-removed tokB 1
t_match "  ... and no longer listed" '"label":"tokA".*"label":"other"' "$(list Tokens)"
t_ok "  ... nor its certificate" wait_gone 2 Certificates "\"id\":\"$certB\""
r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$certB\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}")
t_match "  ... a Sign for it: NoSuchCertificate" '"error":"io.kyso.Agent.NoSuchCertificate"' "$r"

# --- removal during a Sign; the other token and the listings go on ---
echo "$TOK_PIN" | $K login --token tokA --pin-stdin >/dev/null &&
	echo "$TOK_PIN" | $K login --token other --pin-stdin >/dev/null || t_flunk "log in"
mock_rule 'C_Sign delay 5000 tokA'
: > "$T_DIR/order"
( r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$certA\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}")
  echo "slow $r" >> "$T_DIR/order" ) &
slow=$!
sleep 0.5
( sign "$certO" keyO s2 && echo "other signed" >> "$T_DIR/order" )
list Tokens | grep -q '"label":"tokA"' && echo "listed" >> "$T_DIR/order"
mock_slot 1 -
wait "$slow"
t_match "a Sign on a slow token does not delay another token's Sign, nor a listing" \
	'^other signed listed slow' "$(tr '\n' ' ' < "$T_DIR/order")"
t_match "the token pulled during its Sign: TokenNotPresent, not a generic error" \
	'slow \{"error":"io.kyso.Agent.TokenNotPresent"' "$(cat "$T_DIR/order")"
t_ok "  ... the removal is announced" wait_event 5 token-removed tokA 1
mock_unrule 'C_Sign delay'
t_match "the other token is unaffected: still logged in" '"label":"other"[^}]*"logged_in":true' "$(list Tokens)"
t_ok "  ... and it signs" sign "$certO" keyO s3

# --- re-insertion of the same token ---
mock_slot 1 tokA again
t_ok "the same token back: token-added" wait_event 5 token-added tokA 1
t_match "  ... its login was forgotten" '"label":"tokA"[^}]*"logged_in":false' "$(list Tokens)"
r=$(python3 "$VCALL" call io.kyso.Agent.Sign "{\"certificate\":\"$certA\",\"algorithm\":\"ecdsa-sha256\",\"data\":\"YQ==\"}")
t_match "  ... so a Sign without PIN says PinRequired" '"error":"io.kyso.Agent.PinRequired"' "$r"
t_ok "  ... with the PIN it signs again" sign "$certA" keyA s4

# --- a different token in the same slot ---
idA=$(list Tokens | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin)["parameters"]["tokens"] if t["label"]=="tokA"][0])')
mock_slot 1 tokB
t_ok "another token in the same slot: the first is removed" wait_event 5 token-removed tokA 2
t_ok "  ... the new one added" wait_event 5 token-added tokB 2
r=$(list Tokens)
t_ok "  ... as a different token (another id)" sh -c "! echo '$r' | grep -q '\"id\":\"$idA\"'"
t_ok "  ... whose key signs" sign "$certB" keyB s5
t_ok "  ... and the old token's certificate is gone" wait_gone 2 Certificates "\"id\":\"$certA\""
mock_slot 1 tokA; wait_for 5 Tokens '"label":"tokA"' || t_flunk "tokA back in slot 1"

# --- a slow module scan never blocks the loop ---
mock_rule 'C_GetSlotList delay 3000'
mock_slot 2 tokB later
sleep 0.3  # the event arrives and the scan starts, then sits in C_GetSlotList
: > "$T_DIR/order"
list Tokens | grep -q '"label":"tokB"' || echo "listed without tokB" >> "$T_DIR/order"
echo "$TOK_PIN" | $K login --token tokA --pin-stdin >/dev/null 2>&1
sign "$certA" keyA s6 && echo "signed" >> "$T_DIR/order"
mock_unrule 'C_GetSlotList delay'
wait_event 10 token-added tokB 3 && echo "then tokB added" >> "$T_DIR/order"
t_eq "a module scan stuck in the module delays neither listings nor signatures" \
	"listed without tokB signed then tokB added" "$(tr '\n' ' ' < "$T_DIR/order" | sed 's/ $//')"

# --- the module breaks, then recovers ---
inits0=$(mock_calls C_Initialize)
mock_rule '* break CKR_DEVICE_ERROR'
kill -HUP "$AGENT_PID"  # a rescan now: the module's next call breaks it
t_ok "a module that breaks is reported failing" wait_for 5 Modules '"state":"failing"'
t_match "  ... with the CKR code" '"error":\{"ckr":"CKR_DEVICE_ERROR"' "$(list Modules)"
t_ok "  ... its tokens are removed" wait_for 5 Tokens '"tokens":\[\]'
t_ok "  ... with events" wait_event 5 token-removed other 1
mock_unrule break
t_ok "the cause gone, the module recovers by itself" wait_for 15 Modules '"state":"ok"'
t_ok "  ... re-initialised (C_Finalize + C_Initialize)" test "$(mock_calls C_Initialize)" -gt "$inits0"
t_ok "  ... its tokens come back" wait_for 5 Tokens '"label":"other"'
t_ok "  ... announced" wait_event 5 token-added other 1
t_ok "  ... and sign again" sign "$certO" keyO s7

# --- a module that lost its initialisation (CKR_CRYPTOKI_NOT_INITIALIZED) comes back too ---
mock_rule '* break CKR_CRYPTOKI_NOT_INITIALIZED'
kill -HUP "$AGENT_PID"
t_ok "CKR_CRYPTOKI_NOT_INITIALIZED: reported failing" wait_for 5 Modules '"ckr":"CKR_CRYPTOKI_NOT_INITIALIZED"'
mock_unrule break
t_ok "  ... and re-initialised: its tokens come back" wait_for 15 Tokens '"label":"other"'

# --- a module that keeps failing: backoff, not a hot loop ---
mock_rule '* break CKR_DEVICE_ERROR'
mock_rule 'C_Initialize fail CKR_DEVICE_ERROR'
inits0=$(mock_calls C_Initialize)
kill -HUP "$AGENT_PID"
wait_for 5 Modules '"state":"failing"' || t_flunk "the module fails"
sleep 6
n=$(( $(mock_calls C_Initialize) - inits0 ))
t_ok "a module that keeps failing is retried with backoff ($n C_Initialize in ~6 s)" test "$n" -ge 1 -a "$n" -le 4
t_match "  ... and reported with its failures and the next attempt (and how it was watched)" '"state":"failing","events":"slot-events","tokens":0,"failures":[2-9][0-9]*,"error":\{[^}]*\},"retry_in":[0-9]+' "$(list Modules)"
t_match "  ... in the log" 'still fails after [0-9]+ attempts' "$(cat "$T_DIR/kysod.log")"
mock_unrule 'C_Initialize fail'; mock_unrule break
t_ok "  ... and recovers when the cause goes (within its backoff)" wait_for 20 Tokens '"label":"other"'

t_eq "one agent process throughout" "$agent_pid" "$AGENT_PID"
t_ok "  ... alive" agent_alive
kill "$SUB" 2>/dev/null; wait "$SUB" 2>/dev/null; SUB=
t_agent_stops

# --- a module without slot events: the slow poll ---
mock_env "$T_DIR/mock2" && mock_slot 1 tokA && mock_slot 2 - && mock_events off
agent_start --module "$MOCK_MODULE" || { t_flunk "start kysod (no events)"; t_done; exit 1; }
t_match "without slot events (and no USB here) the module is polled" '"events":"poll"' "$(list Modules)"
mock_slot 2 tokB
t_ok "  ... an inserted token is still found" wait_for 5 Tokens '"label":"tokB"'
mock_slot 2 -
t_ok "  ... and a removed one dropped" wait_gone 5 Tokens '"label":"tokB"'

# a swap the agent has not seen yet (between two polls): tokA's jobs, and its PIN, must
# never reach tokB, which now sits in tokA's slot
echo "$TOK_PIN" | $K login --token tokA --pin-stdin >/dev/null || t_flunk "log in to tokA"
idA=$(list Tokens | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin)["parameters"]["tokens"] if t["label"]=="tokA"][0])')
mock_slot 1 tokB
r=$(python3 "$VCALL" call io.kyso.Agent.Login "{\"token\":\"$idA\",\"pin\":\"999999\"}")
t_match "a Login for a token swapped out meanwhile: TokenNotPresent (or, once seen, NoSuchToken)" \
	'"error":"io.kyso.Agent.(TokenNotPresent|NoSuchToken)"' "$r"
t_eq "  ... the other token never got the PIN (the module's trace: no C_Login on tokB)" 0 \
	"$(grep -c '^C_Login tokB' "$KYSO_FAULTY_TRACE")"
t_ok "  ... and the swap is seen at the next poll" wait_for 5 Tokens '"label":"tokB"'
t_agent_stops
t_done

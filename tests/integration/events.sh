#!/usr/bin/env bash
# Token events and the subscribers that do not keep up: a subscriber that never reads is
# dropped with a reason once its unread events pass the bound, and it delays nobody — the
# client causing the events, a subscriber that reads (it gets every event, in order), and
# listings all go on.
. "$(dirname "$0")/../lib/common.sh"
VCALL=$T_TOP/tests/lib/vcall.py

tok_init "$T_DIR/tok" && tok_create evt && tok_key evt 01 ec:p256 ekey ||
	{ t_flunk "make the test token"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

r=$(python3 "$VCALL" call io.kyso.Agent.Subscribe)
t_match "Subscribe without \"more\" → ExpectedMore" '"error":"org.varlink.service.ExpectedMore"' "$r"

python3 "$VCALL" sleeper > "$T_DIR/sleeper" 2>&1 &
sleeper=$!
timeout 120 python3 "$VCALL" subscribe > "$T_DIR/reader" 2>&1 &
reader=$!
for _ in $(seq 50); do
	grep -q subscribed "$T_DIR/sleeper" && grep -q '"event":"subscribed"' "$T_DIR/reader" && break
	sleep 0.1
done
t_match "a subscriber first gets the tokens present" '"event":"subscribed","tokens":\[\{"id":"[0-9a-f]{16}","label":"evt"' "$(head -n 1 "$T_DIR/reader")"

# 400 logins and locks: 800 token-changed events, far more than a non-reader may hold
n=$(PIN=$TOK_PIN timeout 120 python3 "$VCALL" cycle 400 evt)
t_eq "the client causing events is never held up by a subscriber that does not read" 800 "$n"
t_match "the agent drops the sleeping subscriber with a reason" \
	'left [0-9]+ bytes of events unread; its subscription is ended' "$(cat "$T_DIR/kysod.log")"
t_match "listings go on meanwhile" '"label":"evt"' "$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"

for _ in $(seq 100); do
	[ "$(grep -c '"event":"token-changed"' "$T_DIR/reader")" -ge 800 ] && break
	sleep 0.1
done
t_eq "the subscriber that reads got every event" 800 "$(grep -c '"event":"token-changed"' "$T_DIR/reader")"
t_eq "  ... alternating logged in and out, in order" 0 "$(grep '"event":"token-changed"' "$T_DIR/reader" |
	grep -o '"logged_in":[a-z]*' | awk 'NR % 2 == 1 && $0 != "\"logged_in\":true" { bad++ }
		NR % 2 == 0 && $0 != "\"logged_in\":false" { bad++ } END { print bad + 0 }')"
kill "$sleeper" "$reader" 2>/dev/null; wait "$sleeper" "$reader" 2>/dev/null
t_ok "the agent is alive" agent_alive
t_agent_stops
t_done

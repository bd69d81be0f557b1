#!/usr/bin/env bash
# Token events end to end: `kyso watch` (text and --json) shows the tokens present, then a
# login, a wrong PIN, a token that disappears and a lock, in the order they happened;
# Subscribe without "more" is refused; `kyso modules` and `kyso info` show the module; a C
# program through libkyso gets KYSO_ERR_TIMEOUT when nothing happens, then the events that
# piled up while it did not read; a watcher ends with 0 on SIGINT/SIGTERM, 3 when the agent
# stops. Then, on the test module (tests/mock): a token plugged in, and a module that
# breaks and recovers, as kyso watch, kyso modules and kyso info show it. Every wait is
# bounded; nothing depends on how fast an event comes.
. "$(dirname "$0")/../lib/common.sh"

tok_init "$T_DIR/tok" && tok_create alpha && tok_create beta && tok_create gamma ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

# wait_for FILE REGEX [N]: true once N (default 1) lines of FILE match; gives up after 30 s
wait_for() {
	local _
	for _ in $(seq 1 300); do
		[ "$(grep -Ec -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
# the SoftHSM directory of the token with this serial (the end of the directory's name)
tok_store_dir() {
	local d
	for d in "$TOK_DIR"/store/*/; do
		d=${d%/}
		[[ ${d//-/} == *"$1" ]] && { echo "$d"; return 0; }
	done
	return 1
}
serial_of() {
	"$K" tokens --json | python3 -c 'import json, sys
print([t["serial"] for t in json.load(sys.stdin) if t["label"] == sys.argv[1]][0])' "$1"
}
# one line per --json line: "EVENT LABEL logged_in count_low", or "BAD ..." for a line
# that is not a JSON object with a time and the Token fields
json_summary() {
	python3 - "$1" <<'PY'
import json, re, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
        ok = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", o["time"])
        for k in ("id", "serial", "manufacturer", "model", "module", "slot_description"):
            ok = ok and isinstance(o[k], str)
        print("%s %s %s %s" % (o["event"], o["label"], str(o["logged_in"]).lower(),
                               str(o["user_pin_count_low"]).lower()) if ok else
              "BAD " + line.strip())
    except (ValueError, KeyError, TypeError):
        print("BAD " + line.strip())
PY
}

alpha=$(serial_of alpha) beta=$(serial_of beta) gamma=$(serial_of gamma)
t_ok "three tokens, three SoftHSM directories" test -d "$(tok_store_dir "$beta")" -a \
	-d "$(tok_store_dir "$gamma")" -a -n "$alpha"

# --- the protocol: a stream needs "more" ---
out=$(python3 "$T_TOP/tests/lib/vcall.py" call io.kyso.Agent.Subscribe)
t_match "Subscribe without \"more\": org.varlink.service.ExpectedMore" \
	'^\{"error":"org.varlink.service.ExpectedMore","parameters":\{"message":"[^"]+' "$out"

# --- two watchers: the tokens present ---
timeout 300 "$K" watch --json > "$T_DIR/w.json" 2> "$T_DIR/w.json.err" & wj=$!
timeout 300 "$K" watch > "$T_DIR/w.txt" 2> "$T_DIR/w.txt.err" & wt=$!
wait_for "$T_DIR/w.json" '"label":"gamma"' && wait_for "$T_DIR/w.json" '"label":"beta"' &&
	wait_for "$T_DIR/w.json" '"label":"alpha"'
t_eq "kyso watch --json: one line per token present, with the time and the Token fields" \
	"token-present alpha false false|token-present beta false false|token-present gamma false false" \
	"$(json_summary "$T_DIR/w.json" | sort | paste -sd'|')"
wait_for "$T_DIR/w.txt" "token present: 'gamma'" && wait_for "$T_DIR/w.txt" "token present: 'beta'" &&
	wait_for "$T_DIR/w.txt" "token present: 'alpha'"
t_match "kyso watch: a line per token with the local time, label, serial, maker and state" \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  token present: 'alpha' \(serial $alpha, SoftHSM project SoftHSM v2\): not logged in$" \
	"$(cat "$T_DIR/w.txt")"

# --- events, each awaited before the next action so that their order is known ---
echo "$TOK_PIN" | "$K" login --token alpha --pin-stdin >/dev/null 2>&1
t_ok "a login: token-changed, logged_in true" \
	wait_for "$T_DIR/w.json" '"event":"token-changed".*"label":"alpha".*"logged_in":true'
echo 000000 | "$K" login --token beta --pin-stdin >/dev/null 2>&1
t_ok "a wrong PIN: token-changed, user_pin_count_low true" \
	wait_for "$T_DIR/w.json" '"event":"token-changed".*"label":"beta".*"user_pin_count_low":true'
rm -rf "$(tok_store_dir "$beta")"
t_ok "a token that disappears: token-removed" \
	wait_for "$T_DIR/w.json" '"event":"token-removed".*"label":"beta"'
t_fail "  ... and kyso tokens no longer lists it" grep -q "beta" <<<"$("$K" tokens)"
"$K" lock >/dev/null 2>&1
t_ok "kyso lock: token-changed, logged_in false" \
	wait_for "$T_DIR/w.json" '"event":"token-changed".*"label":"alpha".*"logged_in":false'
t_eq "kyso watch --json: the events in the order they happened, nothing else" \
	"token-changed alpha true false|token-changed beta false true|token-removed beta false true|token-changed alpha false false" \
	"$(json_summary "$T_DIR/w.json" | grep -v '^token-present' | paste -sd'|')"
wait_for "$T_DIR/w.txt" "token changed: 'alpha' .*: not logged in$"
t_eq "kyso watch: the same events in words" \
"token changed: 'alpha' (serial $alpha, SoftHSM project SoftHSM v2): logged in
token changed: 'beta' (serial $beta, SoftHSM project SoftHSM v2): not logged in, few PIN tries left
token removed: 'beta' (serial $beta, SoftHSM project SoftHSM v2)
token changed: 'alpha' (serial $alpha, SoftHSM project SoftHSM v2): not logged in" \
	"$(grep -v 'token present' "$T_DIR/w.txt" | cut -c22-)"

# --- modules ---
out=$("$K" modules --json)
t_match "kyso modules --json: the module, ok, how it is watched, its 2 tokens, no failures" \
	"\"path\": \"$SOFTHSM_MODULE\", \"state\": \"ok\", \"events\": \"(slot-events|usb-hotplug|poll)\", \"tokens\": 2, \"failures\": 0 }" \
	"$(echo $out)"
t_match "kyso modules: a table" "^ok +(slot-events|usb-hotplug|poll) +2  $SOFTHSM_MODULE$" \
	"$("$K" modules)"
t_match "kyso info: the agent, the socket and the module" \
	"kysod .*socket: +$KYSO_SOCKET .*module: +$SOFTHSM_MODULE \(ok, 2 tokens, watched by (slot events|USB hotplug|polling)\)" \
	"$("$K" info | tr '\n' ' ')"
t_match "kyso info --json: GetInfo with the modules" '"product": "kysod", .*"modules": \[ \{ "path"' \
	"$(echo $("$K" info --json))"

# --- libkyso from C: kyso_subscribe, a timeout, then events that piled up unread ---
root=$T_DIR/root
make -s -C "$T_TOP" BUILD="$BUILD" PREFIX=/usr DESTDIR="$root" install >"$T_DIR/install.log" 2>&1
pc=$root/usr/lib/pkgconfig
cflags=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --cflags kyso)
libs=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --libs kyso)
san=
ldd "$root/usr/lib/libkyso.so.1" | grep -q libasan && san="-fsanitize=address,undefined"
cat > "$T_DIR/events.c" <<'C'
/* events.c GOFILE: subscribes, waits for GOFILE, then reads events until a removal. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kyso.h>

static const char *
code(int e)
{
	return e == KYSO_OK ? "KYSO_OK" : e == KYSO_ERR_TIMEOUT ? "KYSO_ERR_TIMEOUT" :
	    e == KYSO_ERR_INVALID_ARG ? "KYSO_ERR_INVALID_ARG" : kyso_strerror(e);
}

int
main(int argc, char **argv)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	kyso_token **t;
	kyso_event *ev;
	kyso_client *c;
	char *reply;
	size_t n;
	int e;

	if (argc != 2 || kyso_connect(NULL, &c) != KYSO_OK)
		return 2;
	printf("next_event before subscribing: %s\n", code(kyso_next_event(c, 0, &ev)));
	if ((e = kyso_subscribe(c, &t, &n)) != KYSO_OK) {
		printf("subscribe: %s\n", kyso_error_message(c));
		return 1;
	}
	printf("subscribed, tokens present:");
	for (size_t i = 0; i < n; i++)
		printf(" %s", kyso_token_label(t[i]));
	printf("\n");
	kyso_tokens_free(t);
	printf("nothing happens: %s\n", code(kyso_next_event(c, 300, &ev)));
	printf("a call on the subscribed connection: %s\n",
	    code(kyso_call(c, "io.kyso.Agent.ListTokens", NULL, &reply)));
	printf("subscribing twice: %s\n", code(kyso_subscribe(c, &t, &n)));
	printf("socket to poll: %s\n", kyso_fd(c) >= 0 ? "yes" : "no");
	printf("ready\n");
	fflush(stdout);
	/* the events the test makes now pile up unread, and arrive together */
	for (int i = 0; i < 600 && access(argv[1], F_OK) != 0; i++)
		nanosleep(&tick, NULL);
	while ((e = kyso_next_event(c, 30000, &ev)) == KYSO_OK) {
		const kyso_token *tok = kyso_event_token(ev);
		int last = strcmp(kyso_event_name(ev), "token-removed") == 0;

		printf("event %s %s logged_in=%d json=%s\n", kyso_event_name(ev),
		    kyso_token_label(tok), (kyso_token_flags(tok) & KYSO_TOKEN_LOGGED_IN) != 0,
		    strstr(kyso_event_json(ev), "\"slot_description\"") ? "full" : "?");
		kyso_event_free(ev);
		if (last)
			break;
	}
	if (e != KYSO_OK)
		printf("next_event: %s: %s\n", code(e), kyso_error_message(c));
	printf("then: %s\n", code(kyso_next_event(c, 0, &ev)));
	kyso_disconnect(c);
	return 0;
}
C
t_ok "a C client of kyso_subscribe and kyso_next_event builds with pkg-config" \
	cc -std=c11 -Wall -Wextra -Werror $san $cflags -o "$T_DIR/events" "$T_DIR/events.c" $libs
LD_LIBRARY_PATH=$root/usr/lib timeout 120 "$T_DIR/events" "$T_DIR/go" > "$T_DIR/events.out" 2>&1 &
ev=$!
wait_for "$T_DIR/events.out" '^ready$'
out=$(cat "$T_DIR/events.out")
t_match "kyso_next_event before kyso_subscribe: KYSO_ERR_INVALID_ARG" \
	'before subscribing: KYSO_ERR_INVALID_ARG' "$out"
t_eq "kyso_subscribe returns the tokens present" "alpha gamma" \
	"$(grep -o 'tokens present:.*' <<<"$out" | cut -d: -f2 | tr ' ' '\n' | sort | paste -sd' ' | sed 's/^ //')"
t_match "nothing happens: kyso_next_event(300 ms) returns KYSO_ERR_TIMEOUT" \
	'nothing happens: KYSO_ERR_TIMEOUT' "$out"
t_match "a call on the subscribed connection is refused" \
	'call on the subscribed connection: KYSO_ERR_INVALID_ARG' "$out"
t_match "subscribing twice is refused" 'subscribing twice: KYSO_ERR_INVALID_ARG' "$out"
echo "$TOK_PIN" | "$K" login --token alpha --pin-stdin >/dev/null 2>&1
wait_for "$T_DIR/w.json" '"event":"token-changed".*"label":"alpha".*"logged_in":true' 2 &&
	"$K" lock >/dev/null 2>&1
rm -rf "$(tok_store_dir "$gamma")"
wait_for "$T_DIR/w.json" '"event":"token-removed".*"label":"gamma"'
touch "$T_DIR/go"
wait $ev; t_eq "the C client ends well" 0 $?  # bounded: it runs under timeout
t_eq "kyso_next_event: the three events that arrived together, in order, one per call" \
	"event token-changed alpha logged_in=1 json=full|event token-changed alpha logged_in=0 json=full|event token-removed gamma logged_in=0 json=full|then: KYSO_ERR_TIMEOUT" \
	"$(sed -n '/^ready$/,$p' "$T_DIR/events.out" | sed 1d | paste -sd'|')"

# --- signals end a watcher with 0 ---
# The signal goes to kyso itself, not to `timeout` (which would also send the process
# group SIGCONT: that can cancel the SIGSTOP of LeakSanitizer's exit check in the ASan
# build, and the check then waits forever). The watchers run under timeout: wait is bounded.
kill -INT "$(pgrep -P $wt)"; wait $wt
t_eq "kyso watch ends with 0 on SIGINT" 0 $?
kill -TERM "$(pgrep -P $wj)"; wait $wj
t_eq "kyso watch --json ends with 0 on SIGTERM" 0 $?
t_eq "  ... saying nothing on stderr" "" "$(cat "$T_DIR/w.txt.err" "$T_DIR/w.json.err")"
t_eq "kyso watch --json: every line whole, the C phase's events too" \
	"token-changed alpha true false|token-changed alpha false false|token-removed gamma false false" \
	"$(json_summary "$T_DIR/w.json" | grep -v '^token-present' | tail -n 3 | paste -sd'|')"

# --- the agent stops under a watcher ---
timeout 300 "$K" watch > "$T_DIR/w2.txt" 2> "$T_DIR/w2.err" & w2=$!
wait_for "$T_DIR/w2.txt" "token present: 'alpha'"
t_agent_stops
wait $w2; t_eq "kyso watch: exit 3 when the agent stops" 3 $?
t_match "  ... with a sentence" '^kyso: the agent closed the connection \(it stopped or restarted\)' \
	"$(cat "$T_DIR/w2.err")"
out=$("$K" watch 2>&1); rc=$?
t_eq "kyso watch without an agent: exit 3" 3 "$rc"

# --- the test module (tests/mock): a token plugged in, a module that breaks and recovers ---
. "$T_TOP/tests/lib/mock.sh"
tok_create delta || t_flunk "make the token delta"
mock_env "$T_DIR/mock" && mock_slot 1 alpha && mock_slot 2 -
agent_start --module "$MOCK_MODULE" || { t_flunk "start kysod on the test module"; t_done; exit 1; }
timeout 300 "$K" watch > "$T_DIR/w3.txt" 2> "$T_DIR/w3.err" & w3=$!
wait_for "$T_DIR/w3.txt" "token present: 'alpha'"
mock_slot 2 delta
t_ok "a token plugged in: token added, with its state" \
	wait_for "$T_DIR/w3.txt" "token added: 'delta' \(serial [0-9a-f]+, SoftHSM project SoftHSM v2\): not logged in$"
# the module breaks the way p11-kit-client.so does when its server dies
mock_rule 'C_WaitForSlotEvent break CKR_DEVICE_ERROR'
wait_for "$T_DIR/w3.txt" "token removed: 'alpha'" && wait_for "$T_DIR/w3.txt" "token removed: 'delta'"
t_pass "the module breaks: its tokens are removed"
out=$("$K" modules)
t_match "kyso modules: failing, no tokens, what failed, how often, when it is tried again" \
	"^failing +[a-z-]+ +0  $MOCK_MODULE
 +CKR_DEVICE_ERROR in C_[A-Za-z]+, [0-9]+ failures? in a row; next try in [0-9]+ s$" "$out"
t_eq "kyso modules --json: state, error, failures and retry_in" "failing CKR_DEVICE_ERROR C_ True True" \
	"$("$K" modules --json | python3 -c 'import json, sys
m = json.load(sys.stdin)[0]
print(m["state"], m["error"]["ckr"], m["error"]["call"][:2], m["failures"] >= 1,
      isinstance(m["retry_in"], int) and m["retry_in"] >= 0)')"
t_match "kyso info: the failing module in one line" \
	"module: +$MOCK_MODULE \(failing: CKR_DEVICE_ERROR in C_[A-Za-z]+, [0-9]+ failures? in a row; next try in [0-9]+ s\)" \
	"$("$K" info)"
mock_unrule
wait_for "$T_DIR/w3.txt" "token added: 'alpha'" && wait_for "$T_DIR/w3.txt" "token added: 'delta'"
t_pass "the module recovers: its tokens are added again"
t_match "kyso modules: ok again, with both tokens" "^ok +[a-z-]+ +2  $MOCK_MODULE$" "$("$K" modules)"
# the tokens of one module leave (and come back) in no set order among themselves
story=$(cut -c22- "$T_DIR/w3.txt" | sed 's/ (serial.*//')
phase() { sed -n "$1p" <<<"$story" | sort | paste -sd'|'; }
t_eq "kyso watch: the story in order, nothing else" \
	"token present: 'alpha'|token added: 'delta' / token removed: 'alpha'|token removed: 'delta' / token added: 'alpha'|token added: 'delta' / 6" \
	"$(sed -n 1,2p <<<"$story" | paste -sd'|') / $(phase 3,4) / $(phase 5,6) / $(wc -l <<<"$story")"
kill -INT "$(pgrep -P $w3)"; wait $w3
t_eq "  ... and it ends with 0 on SIGINT" 0 $?
t_agent_stops
t_done

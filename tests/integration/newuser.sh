#!/usr/bin/env bash
# What a new user met (issue 13's frictions), each fixed: a detached kysod says on the
# terminal why it cannot start; "no dialog can be shown" in plain words with what to
# do; docs/examples/kyso_client.py sends no PIN, takes one only from a no-echo prompt or
# standard input, never from its command line; kyso-admin provision creates --out
# (0700) and kyso-admin tokens says what to do with an empty token; kyso --help lists
# every exit status, an unknown --alg lists the valid ones, an ambiguous --cert is a
# usage error (2); kyso audit --last N (50 by default on a terminal); `make` without
# the build's packages stops before compiling and names packaging/deps.sh.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

tok_init "$T_DIR/tok" && tok_create one && tok_key one 01 ec:p256 onekey && tok_create two ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }

# --- a detached kysod says why it stopped ---
mkdir -m 777 "$T_DIR/open"
out=$("$BUILD/kysod" --module "$SOFTHSM_MODULE" --socket "$T_DIR/open/agent.sock" 2>&1); rc=$?
t_eq "detached kysod on an unsafe directory: exit 1" 1 "$rc"
t_match "  ... the reason on the terminal, not only in a system log" \
	"^kysod: socket directory $T_DIR/open is writable by others \\(mode 777\\); run: chmod 700" "$out"
mkdir -m 700 "$T_DIR/d"
out=$("$BUILD/kysod" --module "$SOFTHSM_MODULE" --socket "$T_DIR/d/agent.sock" 2>&1); rc=$?
t_eq "detached kysod that can start: exit 0, silent" "0 " "$rc $out"
export KYSO_SOCKET=$T_DIR/d/agent.sock
t_ok "  ... and serving" "$K" info
dpid=$(python3 "$T_TOP/tests/lib/vcall.py" call org.varlink.service.GetInfo >/dev/null 2>&1; \
	for p in $(pgrep -x kysod); do tr '\0' '\n' < /proc/$p/cmdline 2>/dev/null | grep -qx "$T_DIR/d/agent.sock" && echo $p; done | head -1)
[ -n "$dpid" ] && kill "$dpid"
for _ in $(seq 100); do [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
unset KYSO_SOCKET

# --- no dialog can be shown here: plain words, and what to do ---
cert=$(cert_id "$TOK_DIR/onekey.crt.pem")
dig=$(printf '%064d' 0)
pinentry=$(command -v pinentry-curses || true)
if [ -z "$pinentry" ] || ! command -v setsid >/dev/null; then
	t_skip "no dialog: the message says what to do" "pinentry-curses or setsid is missing"
else
	# an agent with no display and no terminal (a session-less process, as a service
	# started at login), and a request to sign without a PIN
	headless_agent() {
		env -u DISPLAY -u WAYLAND_DISPLAY -u GPG_TTY setsid "$BUILD/kysod" --foreground \
			--socket "$KYSO_SOCKET" --module "$SOFTHSM_MODULE" < /dev/null >> "$T_DIR/kysod.log" 2>&1 &
		AGENT_PID=$!
		for _ in $(seq 200); do "$K" info >/dev/null 2>&1 && break; sleep 0.05; done
	}
	sign_without_pin() {
		python3 "$T_TOP/tests/lib/vcall.py" call io.kyso.Agent.Sign \
			"{\"certificate\": \"$cert\", \"algorithm\": \"ecdsa-sha256\", \"digest\": \"$(head -c 32 /dev/zero | base64)\"}"
	}
	export KYSO_SOCKET=$T_DIR/agent.sock
	echo "pinentry = $pinentry" > "$XDG_CONFIG_HOME/kyso/kysod.conf"
	headless_agent
	msg=$(sign_without_pin)
	t_match "no display, no terminal: PinRequired" '"error":"io.kyso.Agent.PinRequired"' "$msg"
	t_match "  ... 'no PIN dialog could be shown here', and why in plain words" \
		"no PIN dialog could be shown here \\(pinentry '$pinentry' could not show a dialog: it found no display and no terminal to show it on\\)" "$msg"
	t_match "  ... and what to do: kyso login in a terminal, a PIN pad, or send the PIN" \
		"Log in first with 'kyso login' in a terminal \\(it asks for the PIN there\\), use a reader with a PIN pad, or send the PIN" "$msg"
	t_eq "  ... not the bare 'Inappropriate ioctl for device'" "" "$(grep -o 'Inappropriate ioctl' <<<"$msg" || true)"
	agent_stop
	printf 'pinentry = %s\nclient_pin = no\n' "$pinentry" > "$XDG_CONFIG_HOME/kyso/kysod.conf"
	headless_agent
	msg=$(sign_without_pin)
	t_match "  ... where the policy forbids PINs from programs: a PIN pad, or the administrator" \
		"The policy allows PINs only in kysod's dialog: use a reader with a PIN pad, or ask the administrator" "$msg"
	agent_stop
	echo "pinentry = none" > "$XDG_CONFIG_HOME/kyso/kysod.conf"
fi

agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

# --- docs/examples/kyso_client.py: no PIN on its command line ---
py=$T_TOP/docs/examples/kyso_client.py
doc=$T_DIR/doc.txt; echo "a memo" > "$doc"
out=$(/usr/bin/python3 "$py" "$doc" "$TOK_PIN" 2>&1); rc=$?
t_match "kyso_client.py FILE PIN: refused, with its usage (a PIN in argv is visible in ps)" \
	'usage: kyso_client.py FILE \[--pin-stdin\]' "$out"
t_eq "  ... exit 1, and nothing signed" "1 0" "$rc $(cat "$XDG_STATE_HOME/kyso/audit.log" 2>/dev/null | grep -c '"result":"granted"')"
out=$(/usr/bin/python3 "$py" "$doc" < /dev/null 2>&1)
t_match "first the no-PIN way: without a terminal it reports the agent's PinRequired" \
	'^kyso_client: io.kyso.Agent.PinRequired: ' "$out"
out=$(echo "$TOK_PIN" | /usr/bin/python3 "$py" "$doc" --pin-stdin 2>&1)
echo "$out" | head -1 | base64 -d > "$T_DIR/py1.sig" 2>/dev/null
t_ok "--pin-stdin: the PIN from standard input; OpenSSL verifies the signature" \
	verify_sig ecdsa-sha256 "$TOK_DIR/onekey.pub.pem" "$T_DIR/py1.sig" "$doc"
"$K" lock >/dev/null 2>&1
if command -v script >/dev/null 2>&1; then
	# the PIN is typed once the prompt is up: getpass turns echo off (and flushes what
	# was typed before) before it prints it; never after a fixed time, which a loaded
	# machine outruns (the PIN echoed, then flushed)
	: > "$T_DIR/typescript"
	{ for _ in $(seq 600); do
		grep -q 'PIN for the token' "$T_DIR/typescript" 2>/dev/null && break; sleep 0.05
	  done; echo "$TOK_PIN"; } |
		script -qfec "/usr/bin/python3 $py $doc" "$T_DIR/typescript" > "$T_DIR/script.out" 2>&1
	t_match "on a terminal it asks once" 'PIN for the token \(no dialog can be shown here\):' \
		"$(cat "$T_DIR/typescript")"
	t_eq "  ... without echo (the PIN is nowhere in the terminal's transcript)" 0 \
		"$(grep -c "$TOK_PIN" "$T_DIR/typescript")"
	sig=$(grep -aoE '^[A-Za-z0-9+/]{40,}={0,2}' "$T_DIR/typescript" | head -1)
	echo "$sig" | base64 -d > "$T_DIR/py2.sig" 2>/dev/null
	t_ok "  ... and signs" verify_sig ecdsa-sha256 "$TOK_DIR/onekey.pub.pem" "$T_DIR/py2.sig" "$doc"
	"$K" lock >/dev/null 2>&1
else
	t_skip "kyso_client.py asks on a terminal without echo" "script (bsdutils) is missing"
fi
t_eq "docs/protocol.md prints the example as it is in docs/examples/" "" \
	"$(diff <(awk '/^```python$/ {on = 1; next} /^```$/ {on = 0} on' "$T_TOP/docs/protocol.md") "$py")"

# --- kyso's exit statuses, algorithms and ambiguous prefixes ---
help=$("$K" --help)
for st in "9 cancelled" "10 forbidden by the policy" "11 the audit log cannot be written"; do
	t_match "kyso --help lists exit status ${st%% *}" "${st%% *} ${st#* }" "$(echo $help)"
done
out=$("$K" sign --cert "$cert" --alg ecdsa-sha1 --digest "$dig" 2>&1); rc=$?
t_eq "kyso sign --alg ecdsa-sha1: a usage error (2)" 2 "$rc"
t_match "  ... listing the valid algorithms" "unknown algorithm 'ecdsa-sha1'; use one of: rsa-pkcs1v15-sha256\\|384\\|512, rsa-pss-sha256\\|384\\|512, ecdsa-sha256\\|384\\|512, ed25519" "$out"
out=$(echo "$TOK_PIN" | "$K" sign --cert "$cert" --alg rsa-pss-sha256 --digest "$dig" --pin-stdin 2>&1); rc=$?
t_eq "an algorithm the key cannot use: exit 7" 7 "$rc"
t_match "  ... naming those it can" 'this key signs with: ecdsa-sha256, ecdsa-sha384, ecdsa-sha512' "$out"
# --- kyso audit --last ---
for i in 1 2 3; do
	echo "$TOK_PIN" | "$K" sign --cert "$(cert_id "$TOK_DIR/onekey.crt.pem")" --alg ecdsa-sha256 \
		--digest "$dig" --description "memo $i" --pin-stdin >/dev/null 2>&1
done
n=$("$K" audit --json | grep -c '"time"')
t_ok "the audit log holds several records ($n)" test "$n" -ge 4
t_eq "kyso audit --last 2: the last two, oldest first" "memo 2|memo 3" \
	"$("$K" audit --json --last 2 | grep -o '"description":"memo [0-9]"' | cut -d'"' -f4 | paste -sd'|')"
t_eq "kyso audit --last 0: all" "$n" "$("$K" audit --json --last 0 | grep -c '"time"')"
t_eq "kyso audit -n 1 --result granted: the last granted one" "memo 3" \
	"$("$K" audit -n 1 --result granted | grep -o 'memo [0-9]')"
"$K" audit --last x > /dev/null 2>&1
t_eq "kyso audit --last x: a usage error (2)" 2 "$?"
big=$T_DIR/big.log
for i in $(seq 1 60); do
	printf '{"time":"2026-01-10T08:%02d:00.000Z","uid":1000,"pid":42,"exe":"/usr/bin/app","method":"io.kyso.Agent.Sign","certificate":"%s","algorithm":"ecdsa-sha256","description":"record %d","result":"granted"}\n' \
		"$((i % 60))" "$cert" "$i" >> "$big"
done
if command -v script >/dev/null 2>&1; then
	out=$(COLUMNS=200 script -qec "stty cols 200; $K audit -f $big" /dev/null | tr -d '\r')
	t_eq "kyso audit on a terminal: the last 50 rows" 50 "$(grep -c 'record [0-9]' <<<"$out")"
	t_match "  ... from the 11th, and says how to see the rest" \
		'record 11 .*\(the last 50 of 60 records; --last N or --since for others, --last 0 for all\)' "$(echo $out)"
	t_eq "  ... while a pipe gets them all" 60 "$("$K" audit -f "$big" | grep -c 'record [0-9]')"
else
	t_skip "kyso audit on a terminal: the last 50" "script (bsdutils) is missing"
fi

# --- kyso-admin ---
A=("$BUILD/kyso-admin" --module "$SOFTHSM_MODULE")
out=$("${A[@]}" tokens 2>&1)
t_match "kyso-admin tokens: an empty token comes with the whole command to initialise it" \
	'token not initialised \(.*\); to initialise it: kyso-admin init --slot [0-9]+ --label LABEL$' "$out"
t_eq "  ... no unfinished sentence" "" "$(grep -E ' can$' <<<"$out" || true)"
slot=$(sed -n 's/.*kyso-admin init --slot \([0-9]*\) --label LABEL$/\1/p' <<<"$out" | head -1)
printf '[token]\nlabel = ${name}\n[pin]\nmin_length = 6\n[key]\ntype = ec:p256\nlabel = signing\nid = 02\n[subject]\ntemplate = CN=${name},O=kyso tests\n' \
	> "$T_DIR/p.ini"
echo 87654321 > "$T_DIR/so"; echo 424242 > "$T_DIR/user"
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/p.ini" --out "$T_DIR/nodir/requests/" \
	--set name=three --so-pin-file "$T_DIR/so" --new-pin-file "$T_DIR/user" </dev/null 2>&1); rc=$?
t_eq "provision --out DIR whose parent is missing: a usage error (2)" 2 "$rc"
t_match "  ... that says only the last part is made" "its parent $T_DIR/nodir is not a directory" "$out"
t_match "  ... and the slot is still empty" 'token not initialised' "$("${A[@]}" tokens 2>&1 | grep -A1 "slot $slot:")"
out=$("${A[@]}" provision --slot "$slot" --profile "$T_DIR/p.ini" --out "$T_DIR/requests/" \
	--set name=three --so-pin-file "$T_DIR/so" --new-pin-file "$T_DIR/user" </dev/null 2>&1); rc=$?
t_eq "provision --out requests/ (as the example profile says; no such directory yet): exit 0" 0 "$rc"
t_eq "  ... created, mode 700" 700 "$(stat -c %a "$T_DIR/requests" 2>&1)"
t_match "  ... with the request and the record in it" '^[0-9a-f]+\.csr\.pem [0-9a-f]+\.json$' \
	"$(ls "$T_DIR/requests" | paste -sd' ')"

# the same certificate on a second token: its id prefix names two certificates
agent_stop
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label two --login --pin "$TOK_PIN" \
	--write-object "$TOK_DIR/onekey.crt.der" --type cert --id 01 --label onekey >/dev/null 2>&1
agent_start --module "$SOFTHSM_MODULE" || t_flunk "start kysod again"
t_eq "the certificate is on two tokens" 2 "$("$K" certs --json | grep -c "\"id\": \"$cert\"")"
out=$("$K" sign --cert "${cert:0:8}" --alg ecdsa-sha256 --digest "$dig" 2>&1); rc=$?
t_eq "an ambiguous --cert prefix: exit 2 (a usage error)" 2 "$rc"
t_match "  ... saying so" "matches 2 certificates; give more digits" "$out"
t_agent_stops

# --- make names packaging/deps.sh before compiling anything ---
out=$(PKG_CONFIG_LIBDIR=$T_DIR/none PKG_CONFIG_PATH= make -C "$T_TOP" BUILD="$T_DIR/b" 2>&1); rc=$?
t_ok "make without the build's packages fails" test "$rc" -ne 0
t_match "  ... at once, naming them and packaging/deps.sh" \
	'missing .*jansson.*inih.*sudo packaging/deps.sh build' "$(echo $out)"
t_eq "  ... before compiling anything" "" "$(ls "$T_DIR/b" 2>/dev/null)"
t_eq "  ... while 'make clean' and 'make deps --check' still run" "0" \
	"$(PKG_CONFIG_LIBDIR=$T_DIR/none make -s -C "$T_TOP" BUILD="$T_DIR/b" -n clean >/dev/null 2>&1; echo $?)"
t_done

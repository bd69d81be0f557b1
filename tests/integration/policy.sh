#!/usr/bin/env bash
# The administrator's policy and the user's settings (kysod.conf(5)), each checked through
# what kysod does: client_pin = no refuses PINs from programs; login_idle_ttl and
# login_max_ttl forget logins (a user file may shorten them, never lengthen them), and a
# Sign racing the forgetting logout needs the PIN again; login_cache = no logs out after
# every request and refuses Login; a modules list refuses other modules (compared by real
# path); an admin's pinentry beats --pinentry; bad files stop kysod with a sentence naming
# the file and the line; log_level from the files; and logind's session Lock and
# PrepareForSleep(true), on a private D-Bus bus, forget every login. The token is SoftHSM,
# mostly behind the tests' fault module (a trace of every Cryptoki call). Runs as root
# (KYSO_ADMIN_CONFIG is honoured only then).
TOK_PIN=918273
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
VCALL=$T_TOP/tests/lib/vcall.py
FAKE=$T_TOP/tests/tools/fake-pinentry
ADMIN=$KYSO_ADMIN_CONFIG
UCONF=$XDG_CONFIG_HOME/kyso/kysod.conf
LOG=$T_DIR/kysod.log
FAULTY=$BUILD/tests/libkyso-faulty.so

if [ "$(id -u)" -ne 0 ]; then
	t_skip "policy tests" "not root: kysod ignores KYSO_ADMIN_CONFIG"
	t_done; exit 0
fi
tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
export KYSO_FAULTY_MODULE=$SOFTHSM_MODULE KYSO_FAULTY_CONTROL=$T_DIR/rules \
	KYSO_FAULTY_TRACE=$T_DIR/trace
: > "$T_DIR/rules"; : > "$T_DIR/trace"; : > "$LOG"

id=$(cert_id "$TOK_DIR/key1.crt.pem")
doc=$T_DIR/doc; echo "the document" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)

# admin LINE... / user LINE...: the admin file / the user file holds exactly these lines
admin() { printf '%s\n' "$@" > "$ADMIN"; }
user() { printf '%s\n' "$@" > "$UCONF"; }
# the log since the last start (the whole log stays in $LOG for t_cleanup)
MARK=0
since() { tail -n +$((MARK + 1)) "$LOG"; }
mark() { MARK=$(wc -l < "$LOG"); }
# stop: SIGTERM the running kysod (if any); a failure unless it exits 0 (under ASan: no
# leak, no error on the way out)
stop() {
	local pid=${AGENT_PID:-} rc
	[ -n "$pid" ] || return 0
	agent_stop >/dev/null 2>&1; rc=$?
	[ "$rc" -eq 0 ] || t_flunk "kysod (pid $pid) exits 0 on SIGTERM" "exit status $rc"
}
# start [KYSOD ARGS...]: stops the running kysod, starts a new one on $MOD (default: the
# fault module) with --log-level debug, and empties the call trace
start() {
	stop
	mark
	: > "$T_DIR/trace"
	agent_start --module "${MOD:-$FAULTY}" "$@"
}
# start_plain [KYSOD ARGS...]: the same without --log-level (agent_start always passes it)
start_plain() {
	local _
	stop
	mark
	export KYSO_SOCKET=$T_DIR/agent.sock
	rm -f "$KYSO_SOCKET"
	"$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" "$@" >> "$LOG" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 1 200); do
		"$K" info >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
# try_kysod ARGS...: a kysod expected to exit by itself (it is killed after 10 s); sets RC
# and OUT (its standard output and error)
try_kysod() {
	stop
	rm -f "$T_DIR/try.sock"
	OUT=$(timeout 10 "$BUILD/kysod" --foreground --socket "$T_DIR/try.sock" "$@" 2>&1)
	RC=$?
}
sign() {  # [PIN]
	local pin=${1:+,\"pin\":\"$1\"}
	python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$id\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\"$pin}"
}
login() {  # [PIN]
	local pin=${1:+,\"pin\":\"$1\"}
	python3 "$VCALL" call io.kyso.Agent.Login "{\"token\":\"officer\"$pin}"
}
sig_of() { python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["parameters"]["signature"]))'; }
logged_in() {
	python3 "$VCALL" call io.kyso.Agent.ListTokens | python3 -c 'import json,sys
t = json.load(sys.stdin).get("parameters", {}).get("tokens", [])
print(str(t[0]["logged_in"]).lower() if t else "no token")'
}
calls() { grep -c "^$1 " "$T_DIR/trace" || true; }
now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }
# wait_logout LIMIT_MS: polls ListTokens until the token is logged out; prints the
# milliseconds it took, or fails after LIMIT_MS
wait_logout() {
	local t0; t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt "$1" ]; do
		if [ "$(logged_in)" = false ]; then echo $(($(now_ms) - t0)); return 0; fi
		sleep 0.1
	done
	return 1
}
# t_between DESC LOW HIGH VALUE
t_between() {
	if [ -n "$4" ] && [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then t_pass "$1"
	else t_flunk "$1" "expected $2..$3, got [${4}]"; fi
}
# t_nomatch DESC REGEX TEXT
t_nomatch() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		t_flunk "$1" "unexpected /$2/ in: $(printf '%s' "$3" | grep -E -- "$2" | head -n 3)"
	else t_pass "$1"; fi
}

# ---- client_pin = no ----
admin "client_pin = no"
user "pinentry = none" "client_pin = yes"
start || { t_flunk "start kysod (client_pin = no)"; t_done; exit 1; }
r=$(sign $TOK_PIN)
t_match "client_pin = no: Sign with a PIN → PolicyDenied" '"error":"io.kyso.Agent.PolicyDenied"' "$r"
t_match "  ... naming the setting client_pin" '"setting":"client_pin"' "$r"
t_match "  ... with a sentence naming the policy's file" \
	"\"message\":\"the policy \\(client_pin = no, $ADMIN or $UCONF\\) forbids PINs" "$r"
r=$(login $TOK_PIN)
t_match "Login with a PIN → PolicyDenied, setting client_pin" \
	'"error":"io.kyso.Agent.PolicyDenied".*"setting":"client_pin".*"message":"the policy' "$r"
t_eq "  ... the PIN never reached the token (no C_Login) and nothing is logged in" "0 false" \
	"$(calls C_Login) $(logged_in)"
t_match "Sign without a PIN (no pinentry) → PinRequired" '"error":"io.kyso.Agent.PinRequired"' "$(sign)"
t_match "the user's client_pin = yes is ignored, with a warning naming both files" \
	"warning: $UCONF line 2: client_pin = yes ignored: it would loosen client_pin = no set by $ADMIN line 1" \
	"$(since)"
t_match "  ... and the policy in force says client PINs are refused" 'policy: .*client PINs refused' "$(since)"

# ---- login_idle_ttl (admin), a user's longer value ignored ----
admin "login_idle_ttl = 2s"
user "pinentry = none" "login_idle_ttl = 1h"
start || { t_flunk "start kysod (login_idle_ttl)"; t_done; exit 1; }
t_match "admin login_idle_ttl = 2s, user 1h: the policy in force is 2s" \
	'policy: login cache 2s idle / 2h max' "$(since)"
t_match "  ... and a warning names both files" \
	"$UCONF line 2: login_idle_ttl = 1h ignored: it would loosen login_idle_ttl = 2s set by $ADMIN line 1" \
	"$(since)"
t_match "Login with the PIN" '^\{"parameters":\{"already_logged_in":false\}' "$(login $TOK_PIN)"
t_match "  ... Sign without a PIN works at once" '"signature":' "$(sign)"
sleep 1.2
t_match "  ... and 1.2 s later" '"signature":' "$(sign)"
sleep 1.2
t_match "  ... and 2.4 s after the Login: each use restarts the idle time" '"signature":' "$(sign)"
: > "$T_DIR/trace"
ms=$(wait_logout 4000)
t_between "unused, the login is forgotten after ~2 s (ms after the last Sign)" 1400 3200 "$ms"
t_eq "  ... with one C_Logout" 1 "$(calls C_Logout)"
t_match "  ... Sign without a PIN → PinRequired" '"error":"io.kyso.Agent.PinRequired"' "$(sign)"
t_match "  ... the log says why" \
	"login to token 'officer' \\(serial [0-9a-f]+\\) forgotten: unused for login_idle_ttl" "$(since)"

# ---- login_max_ttl: forgotten however busy ----
admin "login_max_ttl = 3s"
user "pinentry = none"
start || { t_flunk "start kysod (login_max_ttl)"; t_done; exit 1; }
t_match "admin login_max_ttl = 3s: the policy in force" 'policy: login cache 10m idle / 3s max' "$(since)"
login $TOK_PIN >/dev/null
t0=$(now_ms); ok=0; gone=
for i in 1 2 3 4 5 6; do
	# one Sign every second, counted from the Login
	w=$((i * 1000 - ($(now_ms) - t0)))
	[ "$w" -gt 0 ] && sleep "$(awk -v w="$w" 'BEGIN { printf "%.3f", w / 1000 }')"
	r=$(sign)
	if [[ $r == *'"signature":'* ]]; then ok=$((ok + 1))
	elif [[ $r == *PinRequired* ]]; then gone=$(($(now_ms) - t0)); break
	else t_flunk "Sign every second" "$r"; break; fi
done
t_between "a Sign every second: the first ones use the login" 2 3 "$ok"
t_between "  ... still forgotten ~3 s after the Login (ms; PinRequired then)" 3000 4600 "$gone"
t_match "  ... the log says login_max_ttl" \
	"login to token 'officer' \\(serial [0-9a-f]+\\) forgotten: login_max_ttl reached" "$(since)"
t_eq "  ... logged_in false" false "$(logged_in)"

# ---- the user tightens the admin's TTL ----
admin "login_idle_ttl = 1h"
user "pinentry = none" "login_idle_ttl = 2s"
start || { t_flunk "start kysod (user login_idle_ttl)"; t_done; exit 1; }
t_match "admin login_idle_ttl = 1h, user 2s: 2s applies" 'policy: login cache 2s idle' "$(since)"
t_nomatch "  ... without a warning" 'warning: .*ignored' "$(since)"
login $TOK_PIN >/dev/null
t_match "  ... Sign without a PIN at once" '"signature":' "$(sign)"
ms=$(wait_logout 4000)
t_between "  ... and the login is forgotten after ~2 s (ms)" 1400 3200 "$ms"
t_match "  ... Sign without a PIN → PinRequired" 'PinRequired' "$(sign)"

# ---- a Sign while the forgetting logout is under way ----
# The expired login's C_Logout is queued on the token's worker (here it takes 1.5 s: the
# fault module delays it); until it finishes ListTokens still says logged_in. A Sign
# without a PIN in that window runs after the logout and must get PinRequired.
admin "login_idle_ttl = 1s"
user "pinentry = none"
start || { t_flunk "start kysod (logout race)"; t_done; exit 1; }
echo "C_Logout delay 1500" > "$T_DIR/rules"
login $TOK_PIN >/dev/null
t_match "login_idle_ttl = 1s: Sign without a PIN at once" '"signature":' "$(sign)"
for _ in $(seq 1 60); do
	since | grep -q 'forgotten: unused for login_idle_ttl' && break
	sleep 0.05
done
r=$(sign)
t_match "a Sign without a PIN while the forgetting C_Logout runs → PinRequired" \
	'"error":"io.kyso.Agent.PinRequired"' "$r"
: > "$T_DIR/rules"
ms=$(wait_logout 3000)
t_ok "  ... and the token ends logged out (${ms:-never} ms)" [ -n "$ms" ]

# ---- login_cache = no ----
admin "login_cache = no"
user "pinentry = none" "login_cache = yes"
start || { t_flunk "start kysod (login_cache = no)"; t_done; exit 1; }
t_match "admin login_cache = no: the policy in force" 'policy: no login cache' "$(since)"
t_match "  ... the user's login_cache = yes is ignored, naming both files" \
	"$UCONF line 2: login_cache = yes ignored: it would loosen login_cache = no set by $ADMIN line 1" \
	"$(since)"
sign $TOK_PIN | sig_of > "$T_DIR/nc1.sig" 2>/dev/null
t_ok "Sign with the PIN signs (OpenSSL verifies)" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/nc1.sig" "$doc"
t_eq "  ... logging in and out for it (C_Login, C_Logout)" "1 1" "$(calls C_Login) $(calls C_Logout)"
t_eq "  ... and the token is logged out after it" false "$(logged_in)"
t_match "the next Sign without a PIN → PinRequired" '"error":"io.kyso.Agent.PinRequired"' "$(sign)"
r=$(login $TOK_PIN)
t_match "Login → PolicyDenied, setting login_cache, with a sentence" \
	'"error":"io.kyso.Agent.PolicyDenied".*"setting":"login_cache".*"message":"the policy \(login_cache = no' "$r"
t_eq "  ... without touching the token" "1 false" "$(calls C_Login) $(logged_in)"
sign $TOK_PIN | sig_of > "$T_DIR/nc2.sig" 2>/dev/null
t_ok "a second Sign with the PIN signs too" \
	verify_sig ecdsa-sha256 "$TOK_DIR/key1.pub.pem" "$T_DIR/nc2.sig" "$doc"
t_eq "  ... and logs out again" "2 2 false" "$(calls C_Login) $(calls C_Logout) $(logged_in)"

# ---- modules ----
user "pinentry = none"
admin "modules = /usr/lib/kyso-tests-nowhere/other-pkcs11.so"
try_kysod --module "$SOFTHSM_MODULE"
t_eq "modules not listing the module: kysod --module exits 1" 1 "$RC"
t_match "  ... with a sentence naming the module and the policy" \
	"PKCS#11 module $SOFTHSM_MODULE is not allowed by the policy \\(modules = \\.\\.\\. in $ADMIN" "$OUT"
t_match "  ... (the missing entry gets a warning)" "$ADMIN line 1: modules: '/usr/lib/kyso-tests-nowhere/other-pkcs11.so' cannot be resolved" "$OUT"
if [ -e "$T_DIR/try.sock" ]; then t_flunk "  ... and leaves no socket"; else t_pass "  ... and leaves no socket"; fi
mkdir -p "$T_DIR/lnk"
ln -s "$(readlink -f "$SOFTHSM_MODULE")" "$T_DIR/lnk/p11.so"
admin "# the token's module, through a link" "modules = $T_DIR/lnk/p11.so"
MOD=$SOFTHSM_MODULE start
t_eq "modules listing the module through a symbolic link: kysod starts" 0 $?
t_match "  ... and sees the token" '"label":"officer"' "$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
t_match "  ... the policy says one module is allowed" 'policy: .*1 module\(s\) allowed' "$(since)"
user "pinentry = none" "modules = $FAULTY $SOFTHSM_MODULE"
try_kysod --module "$FAULTY"
t_eq "a module only the user's file lists: kysod --module exits 1" 1 "$RC"
t_match "  ... naming the module and the policy" \
	"PKCS#11 module $FAULTY is not allowed by the policy" "$OUT"
t_match "  ... and the user's entry is dropped with a warning naming both files" \
	"$UCONF line 2: modules: '$FAULTY' dropped: $ADMIN line 2 does not allow it" "$OUT"
MOD=$SOFTHSM_MODULE start
t_eq "  ... while the module both lists allow starts" 0 $?
stop

# without --module: the policy's list is loaded, and a module registered with p11-kit that
# it leaves out (OpenSC, registered by Debian's package) is never even opened: it is not
# mapped into kysod
osc=$(readlink -f /usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so 2>/dev/null)
if [ -n "$osc" ] && [ -e /usr/share/p11-kit/modules/opensc-pkcs11.module ]; then
	admin "modules = $SOFTHSM_MODULE"
	user "pinentry = none"
	start_plain --log-level debug
	t_match "modules set, no --module: the listed module is loaded and its token seen" \
		'"label":"officer"' "$(python3 "$VCALL" call io.kyso.Agent.ListTokens)"
	t_eq "  ... and the registered OpenSC module it leaves out is not even mapped (in kysod or a helper)" 0 \
		"$(for h in $AGENT_PID $(agent_helpers); do cat "/proc/$h/maps"; done | grep -c -F "$osc")"
	t_match "  ... (the log names the policy's list)" "loaded PKCS#11 module .*\\(the policy's list\\)" "$(since)"
	admin ""
	start_plain --log-level debug
	t_ok "control: without modules, the registered OpenSC module is mapped, in a helper" \
		grep -q -F "$osc" $(for h in $(agent_helpers); do echo "/proc/$h/maps"; done)
	t_eq "  ... never in kysod itself" 0 "$(grep -c -F "$osc" "/proc/$AGENT_PID/maps")"
	stop
else
	t_skip "modules set: registered modules left out are not opened" "OpenSC is not registered with p11-kit here"
fi

# audit_log in the admin file with %u: a file of the user's own
admin "audit_log = $T_DIR/audit/%u.log"
user "pinentry = none"
start
sign $TOK_PIN >/dev/null
t_ok "audit_log = DIR/%u.log: the record goes to DIR/$(id -un).log" \
	grep -q '"result":"granted"' "$T_DIR/audit/$(id -un).log"
stop

# ---- pinentry fixed by the admin ----
export FAKE_PINENTRY_SCRIPT=$T_DIR/pe.script FAKE_PINENTRY_LOG=$T_DIR/pe.log
: > "$FAKE_PINENTRY_LOG"
admin
user "pinentry = none"
echo "pin $TOK_PIN" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"
start --pinentry "$FAKE" || { t_flunk "start kysod (--pinentry)"; t_done; exit 1; }
t_match "without an admin pinentry, --pinentry shows the dialog (and Sign signs)" '"signature":' "$(sign)"
t_eq "  ... (one dialog)" 1 "$(grep -c . "$FAKE_PINENTRY_LOG")"
admin "pinentry = none"
user "pinentry = $FAKE"
echo "pin $TOK_PIN" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"
: > "$FAKE_PINENTRY_LOG"
start --pinentry "$FAKE" || { t_flunk "start kysod (admin pinentry)"; t_done; exit 1; }
t_match "admin pinentry = none and --pinentry FAKE: Sign without a PIN → PinRequired" \
	'"error":"io.kyso.Agent.PinRequired"' "$(sign)"
t_eq "  ... no dialog was shown, no C_Login" "0 0" "$(grep -c . "$FAKE_PINENTRY_LOG") $(calls C_Login)"
t_match "  ... the log says --pinentry was ignored" \
	"--pinentry $FAKE ignored: the administrator's policy sets pinentry = none" "$(since)"
t_match "  ... the user's pinentry too, naming both files" \
	"$UCONF line 1: pinentry = $FAKE ignored: $ADMIN line 1 fixes it to none" "$(since)"
t_match "  ... the policy says no pinentry (fixed)" 'policy: .*no pinentry \(fixed\)' "$(since)"
stop

# ---- --pinentry none: the policy line shows the program in force, not the files' ----
admin "login_idle_ttl = 1h"
user "confirm = no"
start --pinentry none || { t_flunk "start kysod (--pinentry none)"; t_done; exit 1; }
t_match "kysod --pinentry none: the policy line says no pinentry" 'policy: .*, no pinentry' \
	"$(since)"
t_nomatch "  ... not the files' (default) pinentry" "pinentry 'pinentry'" "$(since)"
t_match "Sign without a PIN → PinRequired (no dialog)" '"error":"io.kyso.Agent.PinRequired"' \
	"$(sign)"
stop

# ---- bad files: kysod does not start ----
# bad WHERE DESC REGEX LINES...: the file WHERE (admin or user) holds LINES (the other
# file is harmless); kysod must exit 1 with a sentence matching REGEX
bad() {
	local where=$1 desc=$2 re=$3; shift 3
	if [ "$where" = admin ]; then admin "$@"; user "pinentry = none"
	else admin "login_idle_ttl = 1h"; user "$@"; fi
	try_kysod --module "$FAULTY"
	t_eq "$desc: kysod exits 1" 1 "$RC"
	t_match "  ... with a sentence naming the file and the line" "error: $re" "$OUT"
}
bad admin "admin file, unknown key" "$ADMIN line 2: unknown key 'login_tll'" \
	"login_idle_ttl = 10m" "login_tll = 5m"
bad admin "admin file, bad duration" "$ADMIN line 3: login_max_ttl: '5x' is not a duration" \
	"# a comment" "[kysod]" "login_max_ttl = 5x"
bad admin "admin file, unknown section" "$ADMIN line 2: unknown section \\[kysdo\\]" \
	"client_pin = no" "[kysdo]" "confirm = yes"
bad user "user file, unknown key" "$UCONF line 2: unknown key 'pin_entry'" \
	"pinentry = none" "pin_entry = none"
bad user "user file, bad duration" "$UCONF line 2: login_idle_ttl: '10 minutes' is not a duration" \
	"pinentry = none" "login_idle_ttl = 10 minutes"
bad user "user file, unknown section" "$UCONF line 2: unknown section \\[agent\\]" \
	"pinentry = none" "[agent]" "confirm = yes"
admin; user "pinentry = none"
try_kysod --module "$FAULTY" --config "$T_DIR/no-such.conf"
t_eq "--config naming a file that does not exist: exit 1" 1 "$RC"
t_match "  ... naming it" "$T_DIR/no-such.conf: cannot read: No such file" "$OUT"
try_kysod --module "$FAULTY" --config "$T_DIR/tok"
t_eq "--config naming a directory: exit 1" 1 "$RC"
t_match "  ... naming it" "$T_DIR/tok: cannot read: not a regular file" "$OUT"

# ---- log_level from the files ----
admin "log_level = error"
user "pinentry = none" "log_level = debug"
start_plain --module "$FAULTY" || t_flunk "start kysod without --log-level"
python3 "$VCALL" call io.kyso.Agent.ListTokens >/dev/null
stop
t_match "user log_level = debug (admin: error), no --log-level: debug lines" \
	'debug: client [0-9]+ connected' "$(since)"
admin
user "pinentry = none" "log_level = warning"
start_plain --module "$FAULTY" || t_flunk "start kysod without --log-level"
python3 "$VCALL" call io.kyso.Agent.ListTokens >/dev/null
stop
t_nomatch "user log_level = warning: no info or debug lines" '(info|debug): ' "$(since)"
user "pinentry = none" "log_level = debug"
start_plain --module "$FAULTY" --log-level info || t_flunk "start kysod --log-level info"
python3 "$VCALL" call io.kyso.Agent.ListTokens >/dev/null
stop
t_nomatch "--log-level info beats the user's log_level = debug" 'debug: ' "$(since)"
t_match "  ... (info lines are there)" 'info: ready' "$(since)"

# ---- logind: session lock and sleep on a private bus ----
# logind's object path for session $1 (sd_bus_path_encode: what is not a letter, or a
# digit after the first character, becomes _XX)
session_path() {
	python3 -c 'import sys
s = sys.argv[1]
print("/org/freedesktop/login1/session/" + "".join(c if (c.isascii() and c.isalpha()) or (i > 0 and c.isdigit()) else "_%02x" % ord(c) for i, c in enumerate(s)))' "$1"
}
LOGIND_TESTS=12
if ! command -v dbus-daemon >/dev/null || ! command -v dbus-send >/dev/null; then
	for _ in $(seq 1 $LOGIND_TESTS); do
		t_skip "logind: session lock and sleep" "dbus-daemon or dbus-send is missing (Debian package dbus)"
	done
	admin; user "pinentry = none"
	start || t_flunk "start kysod"
else
	mkdir -p "$T_DIR/bus"
	cat > "$T_DIR/bus/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T_DIR/bus/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
	dbus-daemon --nofork --nopidfile --print-address=1 --config-file "$T_DIR/bus/bus.conf" \
		> "$T_DIR/bus/address" 2> "$T_DIR/bus/daemon.log" &
	BUS_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$T_DIR/bus/address" ] && break
		sleep 0.05
	done
	BUS=$(head -n 1 "$T_DIR/bus/address")
	# a Lock counts on a session of this user; without logind (containers) on any session
	sess=1
	if [ -r "/run/systemd/users/$(id -u)" ]; then
		s=$(sed -n 's/^SESSIONS=//p' "/run/systemd/users/$(id -u)" | awk '{print $1}')
		[ -n "$s" ] && sess=$s
	fi
	SP=$(session_path "$sess")
	emit() { dbus-send --bus="$BUS" --type=signal "$@"; }
	admin
	user "pinentry = none"
	export KYSO_LOGIND_BUS=$BUS
	start; rc=$?
	unset KYSO_LOGIND_BUS
	if [ -z "$BUS" ] || [ $rc -ne 0 ]; then
		t_flunk "logind: a private bus and kysod on it" "bus [$BUS]: $(cat "$T_DIR/bus/daemon.log")"
	else
		t_nomatch "kysod subscribes to logind's signals on the private bus (KYSO_LOGIND_BUS)" \
			'logins are not forgotten on session lock' "$(since)"
		login $TOK_PIN >/dev/null
		t_match "logged in with the client's PIN, Sign without a PIN works" '"signature":' "$(sign)"
		emit "$SP" org.freedesktop.login1.Session.Lock
		ms=$(wait_logout 1000)
		t_ok "Session.Lock on $SP: logged out within a second (${ms:-never} ms)" [ -n "$ms" ]
		t_match "  ... Sign without a PIN → PinRequired" '"error":"io.kyso.Agent.PinRequired"' "$(sign)"
		t_match "  ... the log says the session was locked" \
			'the session was locked: logged out of 1 token\(s\)' "$(since)"
		login $TOK_PIN >/dev/null
		emit /org/freedesktop/login1 org.freedesktop.login1.Manager.PrepareForSleep boolean:true
		ms=$(wait_logout 1000)
		t_ok "PrepareForSleep(true): logged out within a second (${ms:-never} ms)" [ -n "$ms" ]
		t_match "  ... Sign without a PIN → PinRequired" 'PinRequired' "$(sign)"
		t_match "  ... the log says the machine prepares to sleep" \
			'the machine prepares to sleep: logged out of 1 token\(s\)' "$(since)"
		login $TOK_PIN >/dev/null
		emit /org/freedesktop/login1 org.freedesktop.login1.Manager.PrepareForSleep boolean:false
		emit "$SP" org.freedesktop.login1.Session.Unlock
		sleep 1
		t_eq "PrepareForSleep(false) and Unlock do not log out" true "$(logged_in)"
		t_match "  ... Sign without a PIN still works" '"signature":' "$(sign)"
		kill "$BUS_PID"; wait "$BUS_PID" 2>/dev/null; BUS_PID=
		lost=
		for _ in $(seq 1 40); do
			if since | grep -q 'connection to logind was lost'; then lost=1; break; fi
			sleep 0.05
		done
		t_ok "the bus daemon killed: kysod notes the lost connection" [ -n "$lost" ]
		t_match "  ... and keeps serving (Sign without a PIN, logged in)" '"signature":' "$(sign)"
	fi
	[ -n "${BUS_PID:-}" ] && { kill "$BUS_PID"; wait "$BUS_PID"; } 2>/dev/null
fi

t_ok "agent still alive" agent_alive
t_agent_stops
if grep -Eq 'ERROR: [A-Za-z]+Sanitizer|runtime error: ' "$LOG"; then
	t_flunk "no sanitizer report in kysod's log" "$(grep -E -A5 'Sanitizer|runtime error: ' "$LOG" | head -n 20)"
else
	t_pass "no sanitizer report in kysod's log"
fi
t_done

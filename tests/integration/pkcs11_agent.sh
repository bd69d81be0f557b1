#!/usr/bin/env bash
# kyso-pkcs11.so as a library inside someone else's process, against a kysod that is not
# there, comes later, or restarts: an empty slot list at once (never a hang), a blocking
# C_WaitForSlotEvent that waits for the agent to come, reconnection after a restart (and
# no SIGPIPE in a program that does not ignore it), fork (C_Initialize in the child, the
# parent's connections untouched), several C_Initialize/C_Finalize cycles, threads
# signing at once, C_Initialize's arguments, and nothing written on the program's
# stdout or stderr (also with the debug log on).
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/kp11.sh"

tok_init "$T_DIR/tok" && tok_create alpha && tok_key alpha 03 ec:p256 p256 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
doc=$T_DIR/doc; echo "a memo" > "$doc"
openssl dgst -sha256 -binary "$doc" > "$T_DIR/h32"
O=$T_DIR/probe
export KYSO_SOCKET=$T_DIR/agent.sock

# an agent the probe's sh starts (and the test stops, by the pid it wrote)
cat > "$T_DIR/start-agent.sh" <<EOF
#!/bin/bash
rm -f "$KYSO_SOCKET"
setsid "$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" --module "$SOFTHSM_MODULE" \
	--log-level debug >> "$T_DIR/kysod2.log" 2>&1 < /dev/null &
echo \$! > "$T_DIR/agent2.pid"
for i in \$(seq 200); do "$BUILD/kyso" info >/dev/null 2>&1 && exit 0; sleep 0.05; done
exit 1
EOF
chmod +x "$T_DIR/start-agent.sh"
stop_agent2() {
	local pid
	[ -f "$T_DIR/agent2.pid" ] || return 0
	pid=$(cat "$T_DIR/agent2.pid"); rm -f "$T_DIR/agent2.pid"
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
}
trap 'stop_agent2; t_cleanup' EXIT

# ---- no agent ----
kp11_probe "$O" init allslots slots poll open 1 final
t_eq "no agent: C_Initialize succeeds" "init CKR_OK" "$(kp11_line "$O" 1)"
t_eq "  ... C_GetSlotList(FALSE) lists only the spare slot" "allslots CKR_OK 1" "$(kp11_line "$O" 2)"
t_eq "  ... C_GetSlotList(TRUE) is empty" "slots CKR_OK" "$(kp11_line "$O" 3)"
t_eq "  ... no slot event (CKF_DONT_BLOCK)" "poll CKR_NO_EVENT 0" "$(kp11_line "$O" 4)"
t_eq "  ... no token to open a session with" "open CKR_TOKEN_NOT_PRESENT" "$(kp11_line "$O" 5)"
t_eq "  ... and C_Finalize" "final CKR_OK" "$(kp11_line "$O" 6)"
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

# ---- a blocking C_WaitForSlotEvent waits for the agent to come ----
kp11_probe "$O" init bg wait sh "touch '$T_DIR/waiting'" join slots final &
probe=$!
for _ in $(seq 200); do [ -e "$T_DIR/waiting" ] && break; sleep 0.05; done
"$T_DIR/start-agent.sh" || t_flunk "start kysod"
wait "$probe"
t_eq "no agent at C_Initialize, a blocked C_WaitForSlotEvent: the agent's token comes as an event" \
	"wait CKR_OK 1" "$(grep '^wait' "$O")"
t_eq "  ... and C_GetSlotList(TRUE) lists it" "slots CKR_OK 1" "$(grep '^slots' "$O")"

# ---- signing; the agent restarts ----
kp11_probe "$O" init open 1 login "$TOK_PIN" find priv 03 signinit ecdsa \
	sign "$T_DIR/h32" "$T_DIR/s1.sig" \
	sh "kill -TERM \$(cat '$T_DIR/agent2.pid'); while [ -S '$KYSO_SOCKET' ]; do sleep 0.05; done" \
	signinit ecdsa slots \
	sh "'$T_DIR/start-agent.sh'" \
	untilslots 1 10000 sessinfo close open 1 login "$TOK_PIN" find priv 03 signinit ecdsa \
	sign "$T_DIR/h32" "$T_DIR/s2.sig" final
t_eq "the module signs through kysod" "sign CKR_OK 64" "$(grep '^sign ' "$O" | head -n 1)"
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" "$T_DIR/s1.sig" \
	"$doc" raw
t_eq "kysod stopped: the session's token is gone (CKR_DEVICE_REMOVED)" "signinit CKR_DEVICE_REMOVED" \
	"$(grep '^signinit' "$O" | sed -n 2p)"
t_eq "  ... no token is listed" "slots CKR_OK" "$(grep '^slots' "$O")"
t_eq "  ... the program (which does not ignore SIGPIPE) lives on to its end" "final CKR_OK" \
	"$(tail -n 1 "$O")"
t_eq "kysod started again: the module reconnects, the token is back in its slot" \
	"untilslots CKR_OK 1" "$(grep '^untilslots' "$O")"
t_eq "  ... the old session is over" "sessinfo CKR_DEVICE_REMOVED slot=0 state=0" "$(grep '^sessinfo' "$O")"
t_eq "  ... a new session signs" "sign CKR_OK 64" "$(grep '^sign ' "$O" | sed -n 2p)"
t_ok "  ... (OpenSSL verifies it)" verify_sig ecdsa-sha256 "$TOK_DIR/p256.pub.pem" \
	"$T_DIR/s2.sig" "$doc" raw
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

# ---- fork ----
export KYSO_PKCS11_DEBUG=$T_DIR/debug.log
kp11_probe "$O" init open 1 login "$TOK_PIN" find priv 03 \
	fork "slots;init;slots;open;1;login;$TOK_PIN;find;priv;03;signinit;ecdsa;sign;$T_DIR/h32;$T_DIR/child.sig;final" \
	signinit ecdsa sign "$T_DIR/h32" "$T_DIR/parent.sig" final
t_eq "fork: the child must call C_Initialize first" "slots CKR_CRYPTOKI_NOT_INITIALIZED" \
	"$(grep '^slots' "$O" | head -n 1)"
t_eq "  ... C_Initialize in the child works" "init CKR_OK,init CKR_OK" "$(grep '^init' "$O" | paste -sd,)"
t_eq "  ... the child signs" "sign CKR_OK 64" "$(grep '^sign ' "$O" | head -n 1)"
t_ok "  ... (OpenSSL verifies the child's signature)" verify_sig ecdsa-sha256 \
	"$TOK_DIR/p256.pub.pem" "$T_DIR/child.sig" "$doc" raw
t_eq "  ... the child exits cleanly" "fork 0" "$(grep '^fork' "$O")"
t_eq "  ... and the parent, its connections untouched, signs after the child is gone" \
	"sign CKR_OK 64" "$(grep '^sign ' "$O" | tail -n 1)"
t_ok "  ... (OpenSSL verifies the parent's signature)" verify_sig ecdsa-sha256 \
	"$TOK_DIR/p256.pub.pem" "$T_DIR/parent.sig" "$doc" raw
t_kp11_quiet "with the debug log on, still nothing on stdout or stderr" "$O"
t_match "  ... the debug log got lines from both processes" "C_Initialize: subscribed" \
	"$(cat "$T_DIR/debug.log")"
t_eq "  ... and no PIN" 0 "$(grep -c "$TOK_PIN" "$T_DIR/debug.log")"
unset KYSO_PKCS11_DEBUG

# ---- cycles, threads, arguments ----
kp11_probe "$O" cycles 3 init open 1 login "$TOK_PIN" find priv 03 signinit ecdsa \
	sign "$T_DIR/h32" "$T_DIR/c1.sig" final init open 1 login "$TOK_PIN" find priv 03 \
	signinit ecdsa threads 8 25 "$T_DIR/h32" final \
	initargs reserved initargs mutexes initnull initnull final final
t_eq "three C_Initialize/C_Finalize cycles" "cycles CKR_OK 3" "$(grep '^cycles' "$O")"
t_eq "  ... then a fourth signs" "sign CKR_OK 64" "$(grep '^sign ' "$O")"
t_eq "  ... and a fifth: 8 threads sign 25 times each at once (200 signatures)" \
	"threads CKR_OK 200" "$(grep '^threads' "$O")"
t_eq "C_Initialize with pReserved set: CKR_ARGUMENTS_BAD" "initargs CKR_ARGUMENTS_BAD" \
	"$(grep '^initargs' "$O" | head -n 1)"
t_eq "C_Initialize with the program's own mutexes and no CKF_OS_LOCKING_OK: CKR_CANT_LOCK" \
	"initargs CKR_CANT_LOCK" "$(grep '^initargs' "$O" | tail -n 1)"
t_eq "C_Initialize twice: CKR_CRYPTOKI_ALREADY_INITIALIZED" \
	"initnull CKR_OK,initnull CKR_CRYPTOKI_ALREADY_INITIALIZED" "$(grep '^initnull' "$O" | paste -sd,)"
t_eq "C_Finalize twice: CKR_CRYPTOKI_NOT_INITIALIZED" \
	"final CKR_OK" "$(grep '^final' "$O" | tail -n 2 | head -n 1)"
t_eq "  ... (the second)" "final CKR_CRYPTOKI_NOT_INITIALIZED" "$(grep '^final' "$O" | tail -n 1)"
t_eq "the audit log has every signature of the threads, by this program" 200 \
	"$(grep -c "\"exe\":\"$KP11_PROBE\".*\"result\":\"granted\"" "$XDG_STATE_HOME/kyso/audit.log" | \
	awk '{ print ($1 >= 200) ? 200 : $1 }')"
t_kp11_quiet "  ... nothing on stdout or stderr" "$O"

# ---- a daemon that closed its standard descriptors; more threads than kysod takes
# connections of one process (32) ----
kp11_probe "$O" nostdio init open 1 login "$TOK_PIN" find priv 03 signinit ecdsa \
	sign "$T_DIR/h32" "$T_DIR/d1.sig" threads 50 4 "$T_DIR/h32" stdio final
t_eq "a program without descriptors 0, 1 and 2 signs" "sign CKR_OK 64" "$(grep '^sign ' "$O")"
t_eq "  ... and the module took none of them (the program's next printf is its own)" \
	"stdio closed closed closed" "$(grep '^stdio' "$O")"
t_eq "50 threads sign at once, 4 times each: every signature made (the module's calls wait \
their turn, at most 16 at once)" "threads CKR_OK 200" "$(grep '^threads' "$O")"

# ---- a peer at the socket that floods every connection with bytes that never end a message
python3 "$T_TOP/tests/tools/flood_agent.py" "$T_DIR/flood.sock" "$T_DIR/drops" &
flood_pid=$!
for _ in $(seq 400); do [ -S "$T_DIR/flood.sock" ] && break; sleep 0.05; done
# a blocking C_WaitForSlotEvent for 2 s (the window in which connections are counted),
# then C_Finalize
KYSO_SOCKET=$T_DIR/flood.sock kp11_probe "$O" init bg wait sleep 2000 final join
kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null
t_eq "a peer at the socket that floods the stream: a blocking C_WaitForSlotEvent waits" \
	"final CKR_OK" "$(grep '^final' "$O")"
t_ok "  ... connecting again after a growing pause, not in a loop (connections in 2 s: \
$(grep -c . "$T_DIR/drops"))" test "$(grep -c . "$T_DIR/drops")" -le 8

t_done

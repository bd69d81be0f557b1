# tests/lib/p11kit.sh — p11-kit remoting as a real module for a test: p11-kit-client.so
# in kysod talking to a `p11-kit server` that exports SoftHSM's tokens over a socket in
# $T_DIR. Sourced after common.sh.
#
#   p11kit_need WHAT       skips the test (t_skip WHAT, t_done, exit 0) unless
#                          p11-kit-client.so and p11-kit are installed; sets P11KIT_CLIENT
#   p11kit_start [CONF]    starts the server on $T_DIR/p11.sock (SoftHSM with SOFTHSM2_CONF
#                          CONF, else the current one), waits for its socket; 1 if it
#                          does not come up (its log: $T_DIR/p11kit.log)
#   p11kit_stop            kills it and the per-connection processes it forked (they
#                          outlive it) and removes the socket; nothing running is fine
#   P11KIT_ADDRESS         the address for P11_KIT_SERVER_ADDRESS

P11KIT_CLIENT=$(ls /usr/lib/*/pkcs11/p11-kit-client.so 2>/dev/null | head -n 1)
P11KIT_ADDRESS=unix:path=$T_DIR/p11.sock
P11KIT_PID=

p11kit_need() {
	if [ -z "$P11KIT_CLIENT" ] || ! command -v p11-kit >/dev/null; then
		t_skip "$1" "p11-kit-client.so or p11-kit is not installed"
		t_done
		exit 0
	fi
}

p11kit_start() {
	local conf=${1:-$SOFTHSM2_CONF}
	rm -f "$T_DIR/p11.sock"
	SOFTHSM2_CONF=$conf p11-kit server -f --provider "$SOFTHSM_MODULE" \
		-n "$T_DIR/p11.sock" "pkcs11:" >> "$T_DIR/p11kit.log" 2>&1 &
	P11KIT_PID=$!
	for _ in $(seq 200); do
		[ -S "$T_DIR/p11.sock" ] && return 0
		kill -0 "$P11KIT_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

p11kit_stop() {
	local pid
	[ -n "$P11KIT_PID" ] || return 0
	for pid in $(ps -o pid= --ppid "$P11KIT_PID" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	kill -9 "$P11KIT_PID" 2>/dev/null
	wait "$P11KIT_PID" 2>/dev/null
	P11KIT_PID=
	rm -f "$T_DIR/p11.sock"
}

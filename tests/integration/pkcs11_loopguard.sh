#!/usr/bin/env bash
# kysod never loads kyso-pkcs11.so (it forwards to kysod: a loop), however it is named:
# --module, a copy under another name, the policy's modules list, p11-kit's registry
# (a private user configuration, read by p11-kit only for a user other than root: this
# part runs as nobody with setpriv), and its tokens passed on through p11-kit remoting.
# The registration file kyso installs (packaging/kyso-pkcs11.module.in) lets p11-kit's
# programs find the module, and keeps p11-kit itself from loading it into kysod.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/kp11.sh"

tok_init "$T_DIR/tok" && tok_create alpha && tok_key alpha 03 ec:p256 p256 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
cp "$KP11" "$T_DIR/innocent-pkcs11.so"

# kysod_try ARGS...: runs kysod in the foreground until it is up (or exits); RC, OUT
kysod_try() {
	rm -f "$T_DIR/try.sock"
	"$BUILD/kysod" --foreground --log-level debug --socket "$T_DIR/try.sock" "$@" \
		> "$T_DIR/try.log" 2>&1 &
	local pid=$! i
	for i in $(seq 200); do
		KYSO_SOCKET=$T_DIR/try.sock "$BUILD/kyso" info >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		TRY_TOKENS=$(KYSO_SOCKET=$T_DIR/try.sock "$BUILD/kyso" tokens --json 2>&1)
		kill -TERM "$pid"
	fi
	wait "$pid"; RC=$?
	OUT=$(cat "$T_DIR/try.log")
}

kysod_try --module "$KP11"
t_eq "kysod --module kyso-pkcs11.so: refused, kysod does not start" 1 "$RC"
t_match "  ... saying why" "refusing to load $KP11: it is kyso-pkcs11, the module that forwards to kysod itself \\(a loop\\)" "$OUT"
kysod_try --module "$T_DIR/innocent-pkcs11.so"
t_eq "a copy under another name: refused too" 1 "$RC"
t_match "  ... (by the marker it exports)" "refusing to load $T_DIR/innocent-pkcs11.so: it is kyso-pkcs11" "$OUT"
t_eq "  ... by kysod itself: no kyso-p11-helper is started for it" 0 \
	"$(grep -c 'innocent-pkcs11.so runs in kyso-p11-helper' "$T_DIR/try.log")"
kysod_try --module "$SOFTHSM_MODULE" --module "$T_DIR/innocent-pkcs11.so"
t_eq "  ... also beside another module" 1 "$RC"

echo "modules = $SOFTHSM_MODULE $T_DIR/innocent-pkcs11.so" > "$KYSO_ADMIN_CONFIG"
kysod_try
t_eq "the policy's modules list naming a copy: kysod starts with the other module" 0 "$RC"
t_match "  ... the copy is not loaded, and the log says why" \
	"PKCS#11 module $T_DIR/innocent-pkcs11.so \\(allowed by the policy\\) not loaded: .*is kyso-pkcs11" "$OUT"
t_match "  ... the other module's token is there" '"label": ?"alpha"' "$TRY_TOKENS"
rm -f "$KYSO_ADMIN_CONFIG"

# the module's own guard: a socket this very process serves (kysod loading it by a path
# the agent did not recognise) is refused
KYSO_SOCKET=$T_DIR/self.sock KYSO_PKCS11_DEBUG=$T_DIR/self.log \
	kp11_probe "$T_DIR/self" selfsock "$T_DIR/self.sock" init allslots slots final
t_eq "the module inside the process that serves the socket: no tokens, no loop" \
	"init CKR_OK,allslots CKR_OK 1,slots CKR_OK,final CKR_OK" "$(paste -sd, "$T_DIR/self")"
t_match "  ... its debug log says why" "served by this very process: kyso-pkcs11 was loaded into kysod, and refuses to talk to itself" \
	"$(cat "$T_DIR/self.log")"

# ---- p11-kit remoting: kysod loads p11-kit-client.so, whose server runs kyso-pkcs11 ----
client_so=$(ls /usr/lib/*/pkcs11/p11-kit-client.so 2>/dev/null | head -n 1)
if [ -n "$client_so" ] && command -v p11-kit >/dev/null; then
	agent_start --module "$SOFTHSM_MODULE" || t_flunk "start kysod"
	kp11_host p11-kit server -f --provider "$KP11" -n "$T_DIR/p11.sock" "pkcs11:" \
		> "$T_DIR/p11kit.log" 2>&1 &
	srv=$!
	for _ in $(seq 100); do [ -S "$T_DIR/p11.sock" ] && break; sleep 0.05; done
	# a second agent, on p11-kit-client: its tokens would be the first agent's
	P11_KIT_SERVER_ADDRESS=unix:path=$T_DIR/p11.sock \
		kysod_try --module "$client_so" --module "$SOFTHSM_MODULE"
	t_match "kyso-pkcs11's tokens through p11-kit remoting: the slots are recognised and skipped" \
		"p11-kit-client.so offers the tokens of kyso-pkcs11 .*its slots are skipped" "$OUT"
	t_eq "  ... the token is listed once, from its own module" 1 \
		"$(printf '%s' "$TRY_TOKENS" | grep -Eo '"label": ?"alpha"' | grep -c .)"
	for pid in $(ps -o pid= --ppid "$srv" 2>/dev/null); do kill "$pid" 2>/dev/null; done
	kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
	agent_stop
else
	t_skip "kyso-pkcs11 through p11-kit remoting" "p11-kit-client.so or p11-kit is not installed"
fi

# ---- p11-kit's registry, as a user (p11-kit reads no user configuration for root) ----
if ! command -v setpriv >/dev/null || [ "$(id -u)" != 0 ]; then
	t_skip "the registry" "needs root and setpriv to run as another user"
	t_done; exit $?
fi
U=$(mktemp -d "${TMPDIR:-/tmp}/kyso-reg.XXXXXX")
nb=
# kysod as nobody is stopped by its pid, also when the test ends early
trap '[ -n "$nb" ] && kill -TERM "$nb" 2>/dev/null && wait "$nb"; t_cleanup; rm -rf "$U"' EXIT
mkdir -p "$U/home/.config/pkcs11/modules" "$U/tok" "$U/run" "$U/state" "$U/home/.config/kyso"
cp "$KP11" "$U/kyso-pkcs11.so"
cp "$T_DIR/innocent-pkcs11.so" "$U/innocent-pkcs11.so"
# the programs too: the build directory need not be reachable for nobody (kysod finds
# its kyso-p11-helper beside itself)
cp "$BUILD/kysod" "$BUILD/kyso" "$BUILD/kyso-p11-helper" "$U/"
# the file kyso installs, pointing at this copy; and the copy registered without disable-in
sed "s|@MODULE@|$U/kyso-pkcs11.so|" "$T_TOP/packaging/kyso-pkcs11.module.in" \
	> "$U/home/.config/pkcs11/modules/kyso-pkcs11.module"
printf 'module: %s\n' "$U/innocent-pkcs11.so" > "$U/home/.config/pkcs11/modules/innocent.module"
# nobody's own SoftHSM token
cat > "$U/softhsm2.conf" <<EOF
directories.tokendir = $U/tok
objectstore.backend = file
log.level = ERROR
EOF
echo "pinentry = none" > "$U/home/.config/kyso/kysod.conf"
chown -R 65534:65534 "$U"
chmod 755 "$U"
# the sanitizer runtime for programs that load the module (tests/lib/kp11.sh)
SAN_ENV=()
kp11_asan && SAN_ENV=(LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1)
# an array, not only a function: "&" on it gives kysod's own pid (setpriv and env exec)
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH="$PATH" HOME="$U/home"
	${SAN_ENV[@]+"${SAN_ENV[@]}"}
	XDG_CONFIG_HOME="$U/home/.config" XDG_STATE_HOME="$U/state"
	XDG_RUNTIME_DIR="$U/run" SOFTHSM2_CONF="$U/softhsm2.conf"
	KYSO_SOCKET="$U/run/agent.sock")
as_nobody() { "${NOBODY[@]}" "$@"; }
as_nobody softhsm2-util --init-token --free --label nobodytok --so-pin "$TOK_SO_PIN" \
	--pin "$TOK_PIN" >/dev/null 2>&1 || t_flunk "make nobody's token"
"${NOBODY[@]}" "$U/kysod" --foreground --log-level debug > "$U/kysod.log" 2>&1 &
nb=$!
for _ in $(seq 300); do
	as_nobody "$U/kyso" info >/dev/null 2>&1 && break
	kill -0 "$nb" 2>/dev/null || break
	sleep 0.05
done
t_ok "kysod with p11-kit's registry (as a user with kyso-pkcs11 registered twice) runs" kill -0 "$nb"
t_match "  ... the copy registered without disable-in is refused, by its marker" \
	"refusing to load the registered module .*innocent-pkcs11.so: it is kyso-pkcs11" "$(cat "$U/kysod.log")"
t_eq "  ... the module registered with kyso's file is never even loaded (disable-in: kysod)" 0 \
	"$(grep -c "$U/kyso-pkcs11.so" "$U/kysod.log")"
t_match "  ... and the user's token is served" '"label": ?"nobodytok"' \
	"$(as_nobody "$U/kyso" tokens --json 2>&1)"
if kp11_asan; then
	# p11-kit's own p11-kit-trust.so deadlocks in its constructor (newlocale) when the
	# sanitizer runtime is preloaded into p11-kit; the plain build checks this
	t_skip "p11-kit's programs find kyso-pkcs11 through the registration file" \
		"p11-kit with a preloaded ASan runtime hangs loading p11-kit-trust.so"
else
	out=$(as_nobody p11-kit list-modules 2>&1)
	t_match "p11-kit's programs find kyso-pkcs11 through the registration file" \
		"kyso-pkcs11: $U/kyso-pkcs11.so" "$out"
	t_match "  ... and the token kysod serves, through it" \
		"kyso-pkcs11: $U/kyso-pkcs11.so.*library-description: kyso: tokens through kysod.*token: nobodytok" \
		"$(echo "$out" | tr '\n' ' ')"
fi
kill -TERM "$nb"; wait "$nb"; nb=
t_done

#!/usr/bin/env bash
# kysod.service as systemd runs it, for real. First the unit's confinement as
# systemd-analyze scores it (an exposure of 3.0 or lower) and `systemd-analyze verify`;
# then kysod as a Type=notify service whose stderr is the journal, without a manager
# (tests/lib/journal_stream.py): READY=1 once the socket serves, "<N>" priorities.
# Then a real user manager (tests/lib/usermgr.sh: `systemd --user` for a test user, in a
# private mount namespace, on a machine whose PID 1 may not be systemd) runs the units as
# installed: kysod.socket starts kysod.service on the first connection (Type=notify: the
# start returns once the socket serves), kysod signs in its sandbox on a SoftHSM token (the
# user's, OpenSSL verifies) and on the emulated card behind pcscd through OpenSC (the
# real card stack) — each module in a kyso-p11-helper that kysod forks and execs inside the
# sandbox, with its own seccomp filter on top of the unit's —, names its caller from
# /proc/PID/exe, and the sandbox is really in place (no new privileges, seccomp, no
# capabilities, a user namespace, / read-only).
# Its lines reach the (fake) journal with their priorities: journalctl -p err would show
# the errors. A stop is clean. (ASan builds run it all, without the exit-time leak check,
# which needs ptrace: the unit denies it.)
. "$(dirname "$0")/../lib/usermgr.sh"
if [ "$(id -u)" = 0 ] && um_possible >/dev/null; then um_enter "$0" "$@"; fi
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/cardstack.sh"

UDIR=$(mktemp -d "${TMPDIR:-/tmp}/kyso-um.XXXXXX") && chmod 755 "$UDIR"
trap 'agent_stop >/dev/null 2>&1; card_stack_stop; [ -n "${KEEP_JOURNAL:-}" ] && cp "$UM_DIR/journal.jsonl" "$KEEP_JOURNAL"; um_stop; rm -rf "$UDIR"; t_cleanup' EXIT

# --- the unit file: its confinement as systemd-analyze scores it ---
units=$T_DIR/units
mkdir -p "$units" "$T_DIR/xdg"
chmod 700 "$T_DIR/xdg"
sed "s|@BINDIR@|$BUILD|" "$T_TOP/packaging/kysod.service.in" > "$units/kysod.service"
sed "s|@LIBEXECDIR@/kyso/kysod-whois|$BUILD/kysod-whois|" \
	"$T_TOP/packaging/kysod-whois.service.in" > "$units/kysod-whois.service"
cp "$T_TOP/packaging/kysod.socket" "$T_TOP/packaging/kysod-whois.socket" "$units/"
(cd "$units" && XDG_RUNTIME_DIR=$T_DIR/xdg systemd-analyze --user security --offline=true \
	kysod.service) > "$T_DIR/security.out" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for kysod.service: \([0-9.]*\).*/\1/p' "$T_DIR/security.out")
echo "# systemd-analyze --user security --offline=true kysod.service: ${exposure:-?}"
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 3.0) }'; then
	t_pass "systemd-analyze --user security: exposure $exposure, 3.0 or lower"
else
	t_flunk "systemd-analyze --user security: exposure 3.0 or lower" "$(tail -n 30 "$T_DIR/security.out")"
fi
wexp=$(cd "$units" && XDG_RUNTIME_DIR=$T_DIR/xdg systemd-analyze --user security --offline=true \
	kysod-whois.service 2>&1 | sed -n 's/.*Overall exposure level for kysod-whois.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze --user security --offline=true kysod-whois.service: ${wexp:-?} (outside the user namespace: filters only)"
out=$(cd "$units" && XDG_RUNTIME_DIR=$T_DIR/xdg systemd-analyze --user verify --man=no kysod.socket \
	kysod.service kysod-whois.socket kysod-whois.service 2>&1)
t_eq "systemd-analyze --user verify: the units have no error" "" "$out"

# --- Type=notify and the journal's priorities, as systemd would see them (no manager) ---
tok_init "$T_DIR/tok0" && tok_create n0 || t_flunk "make a token"
js() {  # OUT KYSOD-ARGS...: kysod under tests/lib/journal_stream.py
	local out=$1; shift
	/usr/bin/python3 "$T_TOP/tests/lib/journal_stream.py" "$out" "$T_DIR/n.sock" \
		"$BUILD/kysod" --foreground --socket "$T_DIR/n.sock" "$@"
}
js "$T_DIR/notify.jsonl" --module "$SOFTHSM_MODULE"
order=$(/usr/bin/python3 -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e[0] for e in ev]
print(" ".join(k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]))' "$T_DIR/notify.jsonl")
t_match "kysod sends READY=1 to NOTIFY_SOCKET, after its start-up lines" '^log notify served' "$order"
t_match "  ... with its status" '"notify", "READY=1\\nSTATUS=serving, [0-9]+ token\(s\) at start"' "$(cat "$T_DIR/notify.jsonl")"
t_match "  ... once the socket serves: a client connecting at once is answered" '\["served", true\]' "$(cat "$T_DIR/notify.jsonl")"
t_match "  ... and STOPPING=1 on SIGTERM" '"notify", "STOPPING=1"' "$(cat "$T_DIR/notify.jsonl")"
t_match "with JOURNAL_STREAM naming its stderr, lines carry '<6>' for information" \
	'\["log", "<6>ready: [0-9]+ token\(s\)"\]' "$(cat "$T_DIR/notify.jsonl")"
t_eq "  ... and no 'kysod[pid]: level:' prefix (the journal adds the name and pid)" "" \
	"$(grep -E '"log", "(kysod\[|[^<])' "$T_DIR/notify.jsonl" || true)"
printf 'modules = /nonexistent/module.so\n' > "$T_DIR/warn.conf"
js "$T_DIR/warn.jsonl" --config "$T_DIR/warn.conf"
t_match "  ... '<4>' for a warning" '\["log", "<4>no PKCS#11 module is loaded' "$(cat "$T_DIR/warn.jsonl")"
js "$T_DIR/err.jsonl" --module /nonexistent/module.so
t_match "  ... '<3>' for an error" '\["log", "<3>cannot load PKCS#11 module /nonexistent/module.so' "$(cat "$T_DIR/err.jsonl")"
t_eq "  ... and a JOURNAL_STREAM that names another file changes nothing" "kysod[" \
	"$(JOURNAL_STREAM=1:1 "$BUILD/kysod" --foreground --socket "$T_DIR/x.sock" --module /nonexistent/module.so 2>&1 | head -1 | cut -c1-6)"
# a module's helper writes into kysod's journal stream (its standard error is kysod's): its
# lines carry their priority too, and name it (the journal credits them to kysod)
/usr/bin/python3 - "$BUILD/kyso-p11-helper" "$T_DIR/helper.err" <<'PY'
import os, socket, subprocess, sys
err = open(sys.argv[2], "w+")
st = os.fstat(err.fileno())
a, b = socket.socketpair()
env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
p = subprocess.Popen([sys.argv[1], "--log-level", "debug", "--", "/nonexistent/module.so"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                     pass_fds=(3,), preexec_fn=lambda: os.dup2(b.fileno(), 3))
b.close()
a.settimeout(60)
a.recv(4096)  # its hello: the module did not load
a.close()     # kysod gone: the helper ends
p.wait(60)
PY
t_match "a module's helper in kysod's journal stream: '<7>' and its name and pid" \
	'^<7>kyso-p11-helper\[[0-9]+\]: .*/nonexistent/module.so' "$(head -n 1 "$T_DIR/helper.err")"

if ! why=$(um_possible); then
	t_skip "kysod under a real systemd user manager" "$why"
	t_done; exit
fi

# --- a user, its manager, its token ---
um_start "$UDIR/um" || { t_flunk "start a systemd user manager"; t_done; exit 1; }
t_pass "a systemd user manager runs for a test user (uid $UM_UID)"
[ -d /etc/kyso ] && mount -t tmpfs -o mode=755 kyso-test /etc/kyso  # no host policy here
tok_init "$UDIR/tok" && tok_create svc && tok_key svc 01 ec:p256 svckey ||
	{ t_flunk "make the user's token"; t_done; exit 1; }
chown -R "$UM_UID:$UM_UID" "$UDIR/tok"
mkdir -p "$UM_HOME/.config/systemd/user" "$UM_HOME/.config/kyso"
cp "$units"/kysod*.s* "$UM_HOME/.config/systemd/user/"
echo "pinentry = none" > "$UM_HOME/.config/kyso/kysod.conf"
chown -R "$UM_UID:$UM_UID" "$UM_HOME/.config"
um_as systemctl --user set-environment SOFTHSM2_CONF="$SOFTHSM2_CONF" KYSO_USB_HOTPLUG=0
if ldd "$BUILD/kysod" | grep -q libasan; then
	# ASan runs in the sandbox; its leak check at exit does not: LeakSanitizer ptraces the
	# process, and the unit's system call filter denies ptrace (@debug)
	um_as systemctl --user set-environment ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1}"
fi
um_as systemctl --user daemon-reload
t_ok "systemctl --user start kysod.socket" um_as systemctl --user start kysod.socket
sock=$UM_RUN/kyso/agent.sock
t_eq "  ... listening at \$XDG_RUNTIME_DIR/kyso/agent.sock, mode 600" 600 "$(stat -c %a "$sock" 2>&1)"
t_eq "  ... kysod.service not started yet" inactive "$(um_as systemctl --user is-active kysod.service)"

# --- the first connection starts the service; Type=notify ---
certs=$(um_as "$K" certs 2>&1)
t_match "the first connection starts kysod.service, which lists the token's certificate" 'svckey officer' "$certs"
show=$(um_as systemctl --user show kysod.service -p Type -p ActiveState -p SubState -p StatusText -p MainPID)
t_match "  ... Type=notify, active (running)" 'Type=notify.*ActiveState=active.*SubState=running' "$(echo $show)"
t_match "  ... its status from sd_notify" 'StatusText=serving, [0-9]+ token\(s\) at start' "$show"
pid=$(sed -n 's/^MainPID=//p' <<<"$show")
um_as systemctl --user stop kysod.service 2>/dev/null
t_ok "systemctl --user start kysod.service returns once it serves (READY=1)..." \
	um_as systemctl --user start kysod.service
t_ok "  ... so a client right after it is answered at once" um_as "$K" info
pid=$(um_as systemctl --user show kysod.service -p MainPID --value)

# --- the sandbox, as the kernel sees it ---
st=$(cat "/proc/$pid/status" 2>&1)
t_match "the agent runs with no new privileges" '^NoNewPrivs:[[:space:]]+1' "$(grep NoNewPrivs <<<"$st")"
t_match "  ... under a seccomp filter" '^Seccomp:[[:space:]]+2' "$(grep '^Seccomp:' <<<"$st")"
t_match "  ... with no capability in its bounding set" '^CapBnd:[[:space:]]+0+$' "$(grep CapBnd <<<"$st")"
t_ok "  ... in a user namespace of its own (PrivateUsers=)" \
	test "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)"
t_match "  ... where / is read-only (ProtectSystem=strict)" ' / / ro[, ]' \
	"$(grep ' / / ' "/proc/$pid/mountinfo")"
t_eq "  ... running as the user" "$UM_UID" "$(stat -c %u "/proc/$pid")"

# --- signing on the SoftHSM token, in the sandbox ---
out_dir=$UDIR/out; mkdir -m 755 "$out_dir"; chown "$UM_UID:$UM_UID" "$out_dir"
doc=$UDIR/memo.txt; echo "hardened memo" > "$doc"; chmod 644 "$doc"
cert=$(um_as "$K" certs --json | /usr/bin/python3 -c 'import json, sys
print([c["id"] for c in json.load(sys.stdin) if "svckey" in c["subject"]][0])')
out=$(echo "$TOK_PIN" | um_as "$K" sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" \
	--out "$out_dir/memo.sig" --pin-stdin 2>&1)
t_ok "the confined agent signs on the SoftHSM token; OpenSSL verifies" \
	verify_sig ecdsa-sha256 "$TOK_DIR/svckey.pub.pem" "$out_dir/memo.sig" "$doc"
[ -s "$out_dir/memo.sig" ] || echo "# kyso sign: $out"
# the module ran in kyso-p11-helper, which kysod forked and exec'd inside the unit's sandbox
helper=
for h in $(agent_helpers "$pid"); do grep -q libsofthsm2 "/proc/$h/maps" 2>/dev/null && helper=$h; done
t_ok "  ... through SoftHSM in a kyso-p11-helper, kysod's child in the sandbox" test -n "$helper"
hst=$(cat "/proc/${helper:-0}/status" 2>&1)
t_eq "  ... kysod maps no module" 0 "$(grep -c -e libsofthsm2 -e opensc "/proc/$pid/maps")"
t_match "  ... the helper: no new privileges" '^NoNewPrivs:[[:space:]]+1' "$(grep NoNewPrivs <<<"$hst")"
kf=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' <<<"$st")
hf=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' <<<"$hst")
t_ok "  ... the unit's seccomp filters and its own on top ($hf filters, kysod $kf)" \
	test "${hf:-0}" -gt "${kf:-0}"
t_ok "  ... in kysod's user namespace" \
	test "$(readlink "/proc/${helper:-0}/ns/user")" = "$(readlink "/proc/$pid/ns/user")"
audit=$UM_HOME/.local/state/kyso/audit.log
t_match "  ... the audit log (in the home directory) names the caller: kysod-whois read /proc/PID/exe" \
	"\"exe\":\"$BUILD/kyso\".*\"result\":\"granted\"" "$(cat "$audit" 2>&1)"
t_eq "  ... kysod-whois.service came with it" active "$(um_as systemctl --user is-active kysod-whois.service)"
# control: without kysod-whois the confined agent cannot name its callers (the kernel
# keeps /proc/PID/exe from a process in another user namespace)
um_as systemctl --user stop kysod-whois.socket kysod-whois.service
echo "$TOK_PIN" | um_as "$K" sign --cert "$cert" --alg ecdsa-sha256 --in "$doc" \
	--out "$out_dir/memo2.sig" --pin-stdin >/dev/null 2>&1
t_match "control: without kysod-whois, the caller is '?' in the audit log" '"exe":"\?".*"result":"granted"' \
	"$(tail -n 1 "$audit" 2>&1)"
t_match "  ... and kysod says why, once" 'cannot tell which program connects .*Permission denied' \
	"$(um_journal | grep '"SYSLOG_IDENTIFIER": "kysod"' | grep 'cannot tell which')"
um_as systemctl --user start kysod-whois.socket

# --- a web page's call: the browser (the caller's parent) is named through kysod-whois too
echo "web_origins = https://vanban.example.vn" >> "$UM_HOME/.config/kyso/kysod.conf"
um_as systemctl --user restart kysod.service
dig=$(openssl dgst -sha256 -binary "$doc" | base64 -w0)
# the caller's parent is a shell of the user, as a browser is (bash forks for the call)
out=$(um_as KYSO_SOCKET="$sock" /usr/bin/bash -c '/usr/bin/python3 "$0" call io.kyso.Agent.Sign "$1"; true' \
	"$T_TOP/tests/lib/vcall.py" \
	"{\"certificate\":\"$cert\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\",\"origin\":\"https://vanban.example.vn\"}")
t_match "a web page's Sign in the sandbox: signed" '"signature":' "$out"
t_match "  ... its record names the page, and the browser (the caller's parent) through kysod-whois" \
	"\"origin\":\"https://vanban.example.vn\",\"browser\":\"$(readlink -f /usr/bin/bash)\".*\"result\":\"granted\"" \
	"$(tail -n 1 "$audit" 2>&1)"

# --- the journal: priorities from the "<N>" prefixes ---
jr() { # PRIORITY REGEX: a journal entry of kysod with that priority and message
	um_journal | /usr/bin/python3 -c 'import json, re, sys
p, rx = sys.argv[1], re.compile(sys.argv[2])
for line in sys.stdin:
    e = json.loads(line)
    if e.get("SYSLOG_IDENTIFIER") == "kysod" and e.get("PRIORITY") == p and rx.search(e.get("MESSAGE", "")):
        print(e["MESSAGE"]); break' "$1" "$2"
}
t_match "the journal has kysod's 'ready' at priority 6 (info)" '^ready: [0-9]+ token' "$(jr 6 '^ready')"
t_eq "  ... and it served once its tokens were read, never 'still scanning'" "" \
	"$(um_journal | grep 'still scanning' || true)"
t_eq "  ... and a stop ends the helpers through kysod (KillMode=mixed), no warning about them" "" \
	"$(um_journal | grep "helper process was stopped" || true)"
um_as systemd-run --user --wait --quiet -p StandardError=journal "$BUILD/kysod" --foreground \
	--socket "$UM_RUN/second.sock" --module /nonexistent/module.so >/dev/null 2>&1
t_match "  ... an error at priority 3 (err): journalctl -p err shows it" \
	'cannot load PKCS#11 module /nonexistent/module.so' "$(jr 3 'cannot load')"
cfg=$UDIR/warn.conf; echo "modules = /nonexistent/module.so" > "$cfg"; chmod 644 "$cfg"
um_as systemd-run --user --quiet --unit=kysod-warn -p StandardError=journal "$BUILD/kysod" \
	--foreground --socket "$UM_RUN/warn.sock" --config "$cfg" >/dev/null 2>&1
for _ in $(seq 200); do [ -n "$(jr 4 'no PKCS#11 module')" ] && break; sleep 0.05; done
um_as systemctl --user stop kysod-warn.service >/dev/null 2>&1
t_match "  ... a warning at priority 4 (warning)" 'no PKCS#11 module is loaded' "$(jr 4 'no PKCS#11 module')"
t_eq "  ... and no message keeps a '<N>' prefix or a 'kysod[pid]:' prefix" "" \
	"$(um_journal | grep '"SYSLOG_IDENTIFIER": "kysod"' | grep -E '"MESSAGE": "(<[0-9]>|kysod\[)' || true)"

# --- OpenSC and the card stack, through pcscd's socket ---
if ! reason=$(card_stack_possible); then
	t_skip "the confined agent signs on a card through pcscd and OpenSC" "$reason"
else
	mkdir -m 755 "$UDIR/card"
	if card_stack_start "$UDIR/card"; then
		chmod 755 "$UDIR/card" "$UDIR/card/run"
		um_as systemctl --user stop kysod.service 2>/dev/null
		um_as systemctl --user set-environment PCSCLITE_CSOCK_NAME="$PCSCLITE_CSOCK_NAME" \
			OPENSC_CONF="$OPENSC_CONF"
		ccert=$(um_as "$K" certs --json 2>/dev/null | /usr/bin/python3 -c 'import json, sys
print(([c["id"] for c in json.load(sys.stdin) if c["key_type"] == "rsa"] + [""])[0])')
		t_ok "  kysod.service, started again, sees the card through OpenSC (p11-kit registry)" test -n "$ccert"
		echo "hardened card memo" > "$UDIR/card.txt"; chmod 644 "$UDIR/card.txt"
		out=$(echo "$CARD_PIN" | um_as "$K" sign --cert "$ccert" --alg rsa-pkcs1v15-sha256 \
			--in "$UDIR/card.txt" --out "$out_dir/card.sig" --pin-stdin 2>&1)
		t_ok "  ... and signs on the card; OpenSSL verifies" \
			verify_sig rsa-pkcs1v15-sha256 "$CARD_PUB_PEM" "$out_dir/card.sig" "$UDIR/card.txt"
		[ -s "$out_dir/card.sig" ] || echo "# kyso sign: $out"
		cpid=$(um_as systemctl --user show kysod.service -p MainPID --value)
		oh=""
		for h in $(agent_helpers "$cpid"); do
			grep -q 'opensc-pkcs11' "/proc/$h/maps" 2>/dev/null && oh=$h
		done
		t_ok "  ... OpenSC running in a kyso-p11-helper of the confined kysod" test -n "$oh"
		t_eq "  ... not in kysod" 0 "$(grep -c opensc "/proc/$cpid/maps" 2>&1)"
		t_match "  ... the helper under its seccomp filter, no new privileges" \
			'NoNewPrivs:[[:space:]]+1 Seccomp:[[:space:]]+2' \
			"$(grep -E '^(NoNewPrivs|Seccomp):' "/proc/${oh:-0}/status" 2>&1 | paste -sd' ')"
	else
		t_flunk "start the card stack"
	fi
fi

# --- a clean stop ---
t_ok "systemctl --user stop kysod.service" um_as systemctl --user stop kysod.service
t_eq "  ... the service ended well" "Result=success" \
	"$(um_as systemctl --user show kysod.service -p Result)"
t_eq "  ... the socket stays, for the next connection" active \
	"$(um_as systemctl --user is-active kysod.socket)"
if [ "$T_FAILED" -gt 0 ]; then
	echo "# the journal (last 30 entries):"; um_journal | tail -n 30 | sed 's/^/#   /'
fi
t_done

#!/usr/bin/env bash
# Vendor modules in helper processes: a module that crashes (SIGSEGV in C_Sign, C_Login,
# C_GetSlotList), aborts, exits, hangs or leaks costs only its own tokens. Module A is the
# test module over a SoftHSM store; module B is p11-kit-client.so talking to a `p11-kit
# server` over another SoftHSM store (a second real module, in a helper of its own).
# For each fault: the request on A's token fails with TokenError naming the cause,
# token-removed goes out for A's token only, a signature on B's token goes through
# meanwhile, the subscriber and other clients stay connected, and once the fault is gone
# A's helper is started again and its token comes back (token-added) and signs.
# A batch of documents (SignDocuments) fares the same. Also: kysod maps no module (the helpers do); each helper has no new privileges, a
# seccomp filter, none of kysod's descriptors (the socket, the audit log) and a small
# environment (with glibc's malloc tuned unless kysod's GLIBC_TUNABLES says otherwise); a PIN-pad login may take longer than the module timeout.
TOK_PIN=246813
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"
VCALL=$T_TOP/tests/lib/vcall.py

. "$T_TOP/tests/lib/p11kit.sh"
p11kit_need "modules in helper processes"
client_so=$P11KIT_CLIENT

# module B's store, served by p11-kit server (its own SOFTHSM2_CONF)
tok_init "$T_DIR/tokb" && tok_create tokB && tok_key tokB 02 ec:p256 keyb ||
	{ t_flunk "make token B"; t_done; exit 1; }
B_CONF=$SOFTHSM2_CONF B_DIR=$TOK_DIR
trap 'p11kit_stop; kill $SUB 2>/dev/null; t_cleanup' EXIT
p11kit_start "$B_CONF" || { t_flunk "start p11-kit server"; t_done; exit 1; }
export P11_KIT_SERVER_ADDRESS=$P11KIT_ADDRESS

# module A's store: the test module's own
tok_init "$T_DIR/toka" && tok_create tokA && tok_key tokA 01 ec:p256 keya ||
	{ t_flunk "make token A"; t_done; exit 1; }
A_DIR=$TOK_DIR
mock_env "$T_DIR/mock"
mock_slot 1 tokA
agent_start --module "$MOCK_MODULE" --module "$client_so" --module-timeout 3s ||
	{ t_flunk "start kysod"; t_done; exit 1; }
ida=$(cert_id "$A_DIR/keya.crt.pem")
idb=$(cert_id "$B_DIR/keyb.crt.pem")
dig=$(printf 'the orders' | openssl dgst -sha256 -binary | base64 -w0)
sign() {  # CERT [EXTRA_JSON]
	python3 "$VCALL" call io.kyso.Agent.Sign \
		"{\"certificate\":\"$1\",\"algorithm\":\"ecdsa-sha256\",\"digest\":\"$dig\",\"pin\":\"$TOK_PIN\"${2:-}}"
}
listed() { python3 "$VCALL" call io.kyso.Agent.ListTokens | grep -q "\"label\":\"$1\""; }
signs() { sign "$1" | grep -q '"signature"'; }
events() { grep -c "\"event\":\"$1\".*\"label\":\"$2\"" "$T_DIR/sub.out" || true; }
helper_of() {  # the pid of the helper that runs module $1
	local h
	for h in $(agent_helpers); do
		tr '\0' '\n' < "/proc/$h/cmdline" | grep -qxF "$1" && echo "$h"
	done
}

t_ok "both tokens are listed" eval 'listed tokA && listed tokB'
t_match "module A's token signs" '"signature":' "$(sign "$ida")"
t_match "module B's token signs (p11-kit-client in its helper)" '"signature":' "$(sign "$idb")"

# ---- what runs where ----
ha=$(helper_of "$MOCK_MODULE") hb=$(helper_of "$client_so")
t_ok "each module has a helper process of its own, a child of kysod (A $ha, B $hb)" \
	test -n "$ha" -a -n "$hb" -a "$ha" != "$hb"
t_eq "  ... started by exec: kyso-p11-helper, not a copy of kysod" \
	"$BUILD/kyso-p11-helper $BUILD/kyso-p11-helper" \
	"$(readlink "/proc/$ha/exe") $(readlink "/proc/$hb/exe")"
for lib in libkyso-faulty libsofthsm2 p11-kit-client; do
	t_eq "kysod has no $lib mapped" 0 "$(grep -c "$lib" "/proc/$AGENT_PID/maps")"
done
t_ok "  ... the helpers do (A: the test module and SoftHSM; B: p11-kit-client)" \
	eval 'grep -q libkyso-faulty /proc/$ha/maps && grep -q libsofthsm2 /proc/$ha/maps &&
		grep -q p11-kit-client /proc/$hb/maps'
t_eq "kysod does not link one either (ldd)" "" \
	"$(ldd "$BUILD/kysod" | grep -E 'softhsm|opensc|faulty|p11-kit-client' || true)"
for h in "$ha" "$hb"; do
	st=$(cat "/proc/$h/status")
	t_match "helper $h: no new privileges" $'NoNewPrivs:\t1' "$st"
	t_match "  ... a seccomp filter (mode 2)" $'Seccomp:\t2' "$st"
	fds=$(for f in /proc/$h/fd/*; do readlink "$f"; done)
	t_ok "  ... none of kysod's descriptors: not its socket, nor the audit log" \
		eval '! printf "%s\n" "$fds" | grep -q -e "$KYSO_SOCKET" -e audit.log'
	t_eq "  ... standard input and output on /dev/null" "/dev/null /dev/null" \
		"$(readlink "/proc/$h/fd/0") $(readlink "/proc/$h/fd/1")"
	t_eq "  ... a small environment: not kysod's socket nor its state directory" "" \
		"$(tr '\0' '\n' < "/proc/$h/environ" | grep -E '^(KYSO_SOCKET|XDG_STATE_HOME)=' || true)"
	t_eq "  ... glibc's malloc keeps more free blocks per thread (kysod's GLIBC_TUNABLES if set)" \
		"GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.tcache_count=200}" \
		"$(tr '\0' '\n' < "/proc/$h/environ" | grep '^GLIBC_TUNABLES=' || true)"
done

# ---- the faults ----
python3 "$VCALL" subscribe > "$T_DIR/sub.out" 2>&1 &
SUB=$!
t_wait grep -q '"subscribed"' "$T_DIR/sub.out"
exec 5< <(python3 "$VCALL" subscribe 2>&1)  # another client, idle meanwhile

# fault RULE CAUSE_REGEX DESC: A's token fails with TokenError naming the cause, B's signs,
# A comes back once the rule is gone; the subscriber sees A go and come back, not B
fault() {
	local rule=$1 cause=$2 desc=$3 r0 a0 b0 r pid
	r0=$(events token-removed tokA) a0=$(events token-added tokA) b0=$(events token-removed tokB)
	pid=$(helper_of "$MOCK_MODULE")
	mock_rule "$rule"
	sign "$ida" > "$T_DIR/fault.out" &
	local sp=$!
	t_match "$desc: module B's token signs meanwhile" '"signature":' "$(sign "$idb")"
	wait $sp
	r=$(cat "$T_DIR/fault.out")
	t_match "  ... the Sign on A's token fails: TokenError naming the cause" \
		"\"error\":\"io.kyso.Agent.TokenError\".*\"cause\":\"$cause" "$r"
	t_wait eval '[ "$(events token-removed tokA)" -gt "$r0" ]'
	t_eq "  ... token-removed for A's token" 1 "$(( $(events token-removed tokA) - r0 ))"
	t_wait eval '! kill -0 $pid 2>/dev/null'  # reaped by kysod (a zombie until then)
	t_ok "  ... its helper ($pid) is gone" eval '! kill -0 $pid 2>/dev/null'
	mock_unrule "${rule%% *} "
	t_wait eval '[ "$(events token-added tokA)" -gt "$a0" ]'
	t_eq "  ... the rule gone, a new helper starts and A's token comes back (token-added)" \
		1 "$(( $(events token-added tokA) - a0 ))"
	t_match "  ... and signs" '"signature":' "$(sign "$ida")"
	t_eq "  ... B's token was never removed" 0 "$(( $(events token-removed tokB) - b0 ))"
	t_ok "  ... kysod and the subscriber live on" eval 'agent_alive && kill -0 $SUB'
}
asan=$(ldd "$BUILD/kyso-p11-helper" | grep -c libasan || true)
crash='the module crashed \(SIGSEGV\)'
[ "$asan" -gt 0 ] && crash='the module (crashed \(SIGSEGV\)|aborted \(SIGABRT\))'  # ASan's handler
fault "C_Sign crash segv tokA" "$crash" "SIGSEGV in C_Sign"
fault "C_Sign abort now tokA" 'the module aborted \(SIGABRT\)' "abort() in C_Sign"
fault "C_Sign exit 3 tokA" "the module's helper process exited with an error" "exit(3) in C_Sign"
start=$(date +%s)
fault "C_Sign hang forever tokA" 'the module did not answer in time' "C_Sign that never returns"
t_ok "  ... given up after the module timeout (3 s), not later ($(( $(date +%s) - start )) s for all)" \
	test $(( $(date +%s) - start )) -lt 20
t_match "  ... the log says so" 'no answer to C_Sign within 3 s; its helper process .* is ended' \
	"$(cat "$T_DIR/kysod.log")"
$K lock >/dev/null 2>&1
fault "C_Login crash segv tokA" "$crash" "SIGSEGV in C_Login"

# a batch of documents (SignDocuments) on A's token when its module crashes in C_Sign: the
# document at the token fails with TokenError naming the cause, the batch stops and
# records every document; a batch on B's token goes through meanwhile;
# A's token comes back and signs a batch
docs() {  # PREFIX: three documents
	local i out=
	for i in 1 2 3; do
		out="$out${out:+,}{\"name\":\"$1-$i.pdf\",\"digest\":\"$dig\",\"digest_algorithm\":\"sha256\"}"
	done
	echo "$out"
}
batch() {  # CERT PREFIX
	python3 "$VCALL" call io.kyso.Agent.SignDocuments \
		"{\"certificate\":\"$1\",\"pin\":\"$TOK_PIN\",\"documents\":[$(docs "$2")]}"
}
a0=$(events token-added tokA) b0=$(events token-removed tokB)
mock_rule "C_Sign crash segv tokA"
batch "$ida" crashed > "$T_DIR/batch.out" &
bp=$!
t_match "SIGSEGV in C_Sign during a batch: a batch on module B's token signs meanwhile" \
	'"signed":3,' "$(batch "$idb" meanwhile)"
wait $bp
r=$(cat "$T_DIR/batch.out")
t_match "  ... A's batch: the document at the token fails with TokenError naming the cause" \
	"\"name\":\"crashed-1.pdf\",\"error\":\"io.kyso.Agent.TokenError\",\"message\":\"[^\"]*$crash" "$r"
# which comes first, the worker's failure or the loop removing the module's token, varies
t_match "  ... the batch stops (token-error, or token-removed), nothing signed" \
	'"signed":0,.*"stopped":"token-(error|removed)"' "$r"
t_eq "  ... three audit records, the first naming the cause" "3 1" \
	"$(grep -c '"document":"crashed-' "$XDG_STATE_HOME/kyso/audit.log") $(grep \
	'"document":"crashed-1.pdf"' "$XDG_STATE_HOME/kyso/audit.log" | grep -cE "$crash")"
mock_unrule "C_Sign "
t_wait eval '[ "$(events token-added tokA)" -gt "$a0" ]'
t_match "  ... the rule gone, A's token comes back and signs a batch" '"signed":3,' \
	"$(batch "$ida" back)"
t_eq "  ... B's token was never removed" 0 "$(( $(events token-removed tokB) - b0 ))"

# C_GetSlotList crashes: the scan (SIGHUP asks for one) takes A's helper down, again at
# each restart, with the backoff, until the rule goes
r0=$(events token-removed tokA) a0=$(events token-added tokA)
mock_rule "C_GetSlotList crash segv"
kill -HUP "$AGENT_PID"
t_wait eval '[ "$(events token-removed tokA)" -gt "$r0" ]'
t_eq "SIGSEGV in C_GetSlotList: A's token is removed" 1 "$(( $(events token-removed tokA) - r0 ))"
t_match "  ... module B's token still signs" '"signature":' "$(sign "$idb")"
t_match "  ... ListModules shows A failing, with the cause" \
	'"state":"failing".*"cause":"the module' "$(python3 "$VCALL" call io.kyso.Agent.ListModules)"
mock_unrule "C_GetSlotList "
t_wait eval '[ "$(events token-added tokA)" -gt "$a0" ]'
t_eq "  ... the rule gone: A's token comes back" 1 "$(( $(events token-added tokA) - a0 ))"
t_match "  ... and signs" '"signature":' "$(sign "$ida")"

# a leak stays in the helper
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ha=$(helper_of "$MOCK_MODULE")
k0=$(rss "$AGENT_PID") h0=$(rss "$ha")
mock_rule "C_Sign leak 8388608 tokA"
for _ in 1 2 3 4 5; do sign "$ida" > /dev/null; done
t_match "a module that leaks 8 MiB per signature still signs" '"signature":' "$(sign "$ida")"
t_ok "  ... the leak is the helper's ($h0 → $(rss "$ha") kB)" test $(( $(rss "$ha") - h0 )) -gt 40000
t_ok "  ... not kysod's ($k0 → $(rss "$AGENT_PID") kB)" test $(( $(rss "$AGENT_PID") - k0 )) -lt 8000
mock_unrule "C_Sign leak"

# a PIN pad: the login may take longer than the module timeout (3 s), not for ever
$K lock >/dev/null 2>&1
mock_pinpad tokA "$TOK_PIN" 4500
kill -HUP "$AGENT_PID"  # a scan reads the token's new flags
t_wait eval 'python3 "$VCALL" call io.kyso.Agent.ListTokens | grep -q "\"label\":\"tokA\"[^}]*\"protected_auth_path\":true"'
start=$(date +%s)
r=$(python3 "$VCALL" call io.kyso.Agent.Login '{"token":"tokA"}')
t_match "a PIN-pad login that takes 4.5 s (module timeout 3 s) succeeds" '"parameters":\{' "$r"
t_ok "  ... the helper was not ended" eval 'kill -0 $ha'
mock_unpinpad tokA

exec 5<&-
t_ok "agent still alive" agent_alive
hs=$(agent_helpers)
t_ok "  ... with its two helpers ($(echo $hs))" test "$(echo "$hs" | wc -w)" = 2
t_agent_stops
left=""
for h in $hs; do kill -0 "$h" 2>/dev/null && left="$left $h"; done
t_eq "no helper process of this kysod is left after it stops" "" "$left"
# the administrator's own tunables for kysod are the helpers' (in place of kyso's)
GLIBC_TUNABLES=glibc.malloc.tcache_count=3 agent_start --module "$MOCK_MODULE" ||
	t_flunk "start kysod with GLIBC_TUNABLES"
h=$(agent_helpers)
t_eq "kysod started with GLIBC_TUNABLES gives its helper that one" \
	"GLIBC_TUNABLES=glibc.malloc.tcache_count=3" \
	"$(tr '\0' '\n' < "/proc/${h:-0}/environ" 2>/dev/null | grep '^GLIBC_TUNABLES=' || true)"
t_match "  ... and its token signs" '"signature":' "$(sign "$ida")"
agent_stop
for f in "$T_DIR/kysod.log" "$XDG_STATE_HOME/kyso/audit.log"; do
	if grep -q -e "$TOK_PIN" "$f"; then t_flunk "no PIN in $(basename "$f")"; else t_pass "no PIN in $(basename "$f")"; fi
done
t_done

#!/usr/bin/env bash
# The test PKCS#11 module itself (build/tests/libkyso-faulty.so over SoftHSM), checked
# with independent tools and without kysod: pkcs11-tool sees virtual slots, insertion,
# removal and swaps; a signature through the module verifies with OpenSSL; mock_probe
# (tests/tools/mock_probe.c, one process driving the module step by step) sees slot events,
# CKR_DEVICE_REMOVED for a call in progress, dead sessions and a lost login, failure
# injection, a module that breaks and recovers through C_Finalize + C_Initialize, and
# tokens in PIN-pad readers (the flag, NULL-PIN logins typed on the "keypad").
# Every wait is bounded by `timeout`; timings are only checked with wide margins.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/mock.sh"

tok_init "$T_DIR/tok" && tok_create tokA && tok_key tokA 01 ec:p256 keyA &&
	tok_key tokA 03 ec:p256 keyAA always-auth &&
	tok_create tokB && tok_key tokB 02 ec:p256 keyB ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
mock_env "$T_DIR/mock"
PROBE=$BUILD/tests/mock_probe
doc=$T_DIR/doc; echo "the mock signs this" > "$doc"
openssl dgst -sha256 -binary "$doc" > "$T_DIR/hash"

# probe COMMAND...: its lines (all of them also kept in probe.log)
probe() { timeout 30 "$PROBE" "$MOCK_MODULE" "$@" 2>&1 | tee -a "$T_DIR/probe.log"; }
# pkcs11-tool is not instrumented: with the ASan build's module it needs the runtime first
P11_ENV=(env)
asan=$(ldd "$MOCK_MODULE" 2>/dev/null | awk '/libasan/ { print $3 }')
[ -n "$asan" ] && P11_ENV=(env LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0)
p11() { timeout 30 "${P11_ENV[@]}" pkcs11-tool --module "$MOCK_MODULE" "$@"; }
# "0x1:tokA 0x2:empty ..." from pkcs11-tool -L
slots_seen() {
	p11 -L 2>&1 | awk '
		/^Slot [0-9]+ \(0x[0-9a-f]+\)/ {
			if (s != "") printf "%s:%s ", s, l
			s = $3; gsub(/[():]/, "", s); l = "?" }
		/\(empty\)/ { l = "empty" }
		/token label/ { sub(/.*: /, ""); sub(/ +$/, ""); l = $0 }
		END { if (s != "") printf "%s:%s", s, l }'
}
# p11sign SLOT ID OUT: ECDSA over the document's SHA-256 through the module
p11sign() {
	p11 --slot "$1" --login --pin "$TOK_PIN" --sign -m ECDSA --id "$2" -i "$T_DIR/hash" \
		-o "$3" >/dev/null 2>&1
}
# line N of TEXT
line() { printf '%s\n' "$2" | sed -n "${1}p"; }
# ms=N at the end of a joined line
ms() { printf '%s' "$1" | sed -n 's/.* ms=\([0-9]*\)$/\1/p'; }

# ---- without slot lines, SoftHSM's slots pass through ----
out=$(p11 -L 2>&1)
t_match "no slot line: pkcs11-tool sees SoftHSM's tokens through the module" \
	'token label +: tokA' "$out"
t_fail "  ... in SoftHSM's own slots" grep -q 'kyso mock slot' <<< "$out"

# ---- virtual slots ----
mock_slot 1 tokA; mock_slot 2 -; mock_slot 3 tokB
t_eq "pkcs11-tool -L: slot 1 holds tokA, slot 2 is empty, slot 3 holds tokB" \
	"0x1:tokA 0x2:empty 0x3:tokB" "$(slots_seen)"
t_match "  ... described as the mock's removable slots" \
	'Slot 0 \(0x1\): kyso mock slot 1' "$(p11 -L 2>&1)"
t_eq "pkcs11-tool -T lists the occupied slots only" "2" "$(p11 -T 2>&1 | grep -c '^Slot')"
out=$(probe init slots allslots slotinfo 1 slotinfo 2 slotinfo 4 token 1 token 2 token 4 \
	mechs 3 open 2 open 3 sessinfo final)
t_eq "C_GetSlotList(TRUE) lists the occupied slots" "slots CKR_OK 1 3" "$(line 2 "$out")"
t_eq "C_GetSlotList(FALSE) every declared slot" "allslots CKR_OK 1 2 3" "$(line 3 "$out")"
t_eq "C_GetSlotInfo: description, manufacturer, present and removable" \
	"slotinfo CKR_OK present removable desc=kyso mock slot 1 manufacturer=kyso tests" \
	"$(line 4 "$out")"
t_eq "C_GetSlotInfo on an empty slot: removable, no token" \
	"slotinfo CKR_OK empty removable desc=kyso mock slot 2 manufacturer=kyso tests" \
	"$(line 5 "$out")"
t_eq "C_GetSlotInfo on an undeclared slot: CKR_SLOT_ID_INVALID" \
	"slotinfo CKR_SLOT_ID_INVALID" "$(line 6 "$out")"
t_eq "C_GetTokenInfo maps the slot to its token" "token CKR_OK tokA" "$(line 7 "$out")"
t_eq "  ... CKR_TOKEN_NOT_PRESENT on an empty slot" "token CKR_TOKEN_NOT_PRESENT" \
	"$(line 8 "$out")"
t_eq "  ... CKR_SLOT_ID_INVALID on an undeclared one" "token CKR_SLOT_ID_INVALID" \
	"$(line 9 "$out")"
t_match "C_GetMechanismList answers for the token's SoftHSM slot" '^mechs CKR_OK [1-9]' \
	"$(line 10 "$out")"
t_eq "C_OpenSession on an empty slot: CKR_TOKEN_NOT_PRESENT" "open CKR_TOKEN_NOT_PRESENT" \
	"$(line 11 "$out")"
t_eq "C_GetSessionInfo gives the virtual slot" "sessinfo CKR_OK slot=3" "$(line 13 "$out")"

t_ok "pkcs11-tool signs on virtual slot 3" p11sign 3 02 "$T_DIR/s1"
t_ok "  ... and OpenSSL verifies it with tokB's key" \
	verify_sig ecdsa-sha256 "$TOK_DIR/keyB.pub.pem" "$T_DIR/s1" "$doc" raw

# ---- removal, insertion, swap, seen by pkcs11-tool ----
mock_slot 1 -
t_eq "removal: pkcs11-tool sees slot 1 empty" "0x1:empty 0x2:empty 0x3:tokB" "$(slots_seen)"
t_fail "  ... and cannot sign on it" p11sign 1 01 "$T_DIR/s2"
mock_slot 2 tokA
t_eq "insertion: tokA in slot 2" "0x1:empty 0x2:tokA 0x3:tokB" "$(slots_seen)"
t_ok "  ... signs there" p11sign 2 01 "$T_DIR/s3"
t_ok "  ... verified" verify_sig ecdsa-sha256 "$TOK_DIR/keyA.pub.pem" "$T_DIR/s3" "$doc" raw
mock_slot 2 tokB; mock_slot 3 tokA
t_eq "swap: slots 2 and 3 exchange their tokens" "0x1:empty 0x2:tokB 0x3:tokA" \
	"$(slots_seen)"
t_ok "  ... slot 3 now signs with tokA's key" p11sign 3 01 "$T_DIR/s4"
t_ok "  ... verified" verify_sig ecdsa-sha256 "$TOK_DIR/keyA.pub.pem" "$T_DIR/s4" "$doc" raw
mock_unslot 2
t_eq "mock_unslot: slot 2 no longer exists" "0x1:empty 0x3:tokA" "$(slots_seen)"

# ---- a removal during a call, dead sessions, the login gone ----
: > "$KYSO_FAULTY_CONTROL"; mock_slot 1 tokA; mock_slot 2 tokB
mock_rule 'C_Sign delay 20000 tokA'
out=$(probe init open 1 login "$TOK_PIN" find 01 signinit bg sign sleep 300 \
	sh 'mock_slot 1 -' join sign sessinfo close close open 1 sh 'mock_slot 1 tokA' \
	open 1 find 01 login "$TOK_PIN" find 01 final)
j=$(line 6 "$out")
t_match "a C_Sign held by a delay returns CKR_DEVICE_REMOVED when the token goes" \
	'^sign CKR_DEVICE_REMOVED ms=' "$j"
t_ok "  ... promptly, not at the end of the 20 s delay ($(ms "$j") ms)" \
	test "$(ms "$j")" -lt 5000
t_eq "later calls on that session: CKR_SESSION_HANDLE_INVALID" \
	"sign CKR_SESSION_HANDLE_INVALID/sessinfo CKR_SESSION_HANDLE_INVALID" \
	"$(line 7 "$out")/$(line 8 "$out")"
t_eq "C_CloseSession on the dead handle: CKR_OK, then the handle is unknown" \
	"close CKR_OK/close CKR_SESSION_HANDLE_INVALID" "$(line 9 "$out")/$(line 10 "$out")"
t_eq "no session on the empty slot" "open CKR_TOKEN_NOT_PRESENT" "$(line 11 "$out")"
t_eq "re-inserted: a new session sees no private key (the login is gone)" \
	"open CKR_OK/find CKR_OK 0" "$(line 12 "$out")/$(line 13 "$out")"
t_eq "  ... until a new C_Login" "login CKR_OK/find CKR_OK 1" \
	"$(line 14 "$out")/$(line 15 "$out")"

mock_unrule
out=$(probe init open 1 login "$TOK_PIN" find 01 open 2 sh 'mock_slot 1 tokB' use 1 \
	signinit use 2 sessinfo token 1 sh 'mock_slot 1 tokB again' token 1 open 1 \
	sh 'mock_slot 1 tokB again' sessinfo final)
t_eq "a swap kills the sessions of the slot" "signinit CKR_SESSION_HANDLE_INVALID" \
	"$(line 6 "$out")"
t_eq "  ... not those of another slot" "sessinfo CKR_OK slot=2" "$(line 7 "$out")"
t_eq "  ... and the slot holds the new token" "token CKR_OK tokB" "$(line 8 "$out")"
t_eq "the same label with the same tag again changes nothing" "open CKR_OK/sessinfo CKR_OK slot=1" \
	"$(line 10 "$out")/$(line 11 "$out")"
out=$(probe init open 1 sh 'mock_slot 1 tokB second' sessinfo final)
t_eq "a new tag is a re-insertion: the session dies" "sessinfo CKR_SESSION_HANDLE_INVALID" \
	"$(line 3 "$out")"

# ---- slot events ----
: > "$KYSO_FAULTY_CONTROL"; mock_slot 1 tokA; mock_slot 2 -; mock_slot 3 tokB
out=$(probe init poll sh 'mock_slot 3 -; mock_slot 2 tokB' poll poll poll \
	bg wait sleep 200 sh 'mock_slot 1 -' join \
	sh 'mock_slot 1 tokA; mock_unslot 2' wait wait poll \
	bg wait sleep 300 final join wait)
t_eq "no event right after C_Initialize" "poll CKR_NO_EVENT" "$(line 2 "$out")"
t_eq "two slots changed: one event per call, then CKR_NO_EVENT" \
	"poll CKR_OK 2/poll CKR_OK 3/poll CKR_NO_EVENT" \
	"$(line 3 "$out")/$(line 4 "$out")/$(line 5 "$out")"
j=$(line 6 "$out")
t_match "a blocked C_WaitForSlotEvent returns the removed token's slot" '^wait CKR_OK 1 ms=' "$j"
t_ok "  ... promptly ($(ms "$j") ms after it started, 200 ms before the removal)" \
	test "$(ms "$j")" -lt 3000
t_eq "insertion and an undeclared slot: events for both" "wait CKR_OK 1/wait CKR_OK 2" \
	"$(line 7 "$out")/$(line 8 "$out")"
t_eq "  ... and nothing more" "poll CKR_NO_EVENT" "$(line 9 "$out")"
j=$(line 11 "$out")
t_match "C_Finalize wakes a blocked C_WaitForSlotEvent: CKR_CRYPTOKI_NOT_INITIALIZED" \
	'^wait CKR_CRYPTOKI_NOT_INITIALIZED ms=' "$j"
t_ok "  ... promptly ($(ms "$j") ms, C_Finalize at 300 ms)" test "$(ms "$j")" -lt 3000
t_eq "  ... as does a call after it" "wait CKR_CRYPTOKI_NOT_INITIALIZED" "$(line 12 "$out")"
mock_events off
out=$(probe init wait final)
t_eq "events off: CKR_FUNCTION_NOT_SUPPORTED, like SoftHSM" \
	"wait CKR_FUNCTION_NOT_SUPPORTED" "$(line 2 "$out")"
mock_events on
out=$(probe init sh 'mock_slot 2 tokB' final init poll final)
t_eq "a change while finalised is no event after the next C_Initialize" "poll CKR_NO_EVENT" \
	"$(line 4 "$out")"

# ---- failure injection ----
: > "$KYSO_FAULTY_CONTROL"; : > "$KYSO_FAULTY_TRACE"
mock_slot 1 tokA; mock_slot 2 tokB
mock_rule '* fail CKR_DEVICE_ERROR tokB'
mock_rule 'C_GetSlotList fail-once CKR_GENERAL_ERROR'
mock_rule 'C_GetTokenInfo delay 400 tokA'
out=$(probe init slots slots token 2 token 1 open 1 sessinfo bg token 1 sleep 100 \
	sh "mock_unrule 'delay 400'" join final)
t_eq "'*' with a label fails every call on that token" "token CKR_DEVICE_ERROR" \
	"$(line 4 "$out")"
t_eq "fail-once fails the first call only" "slots CKR_GENERAL_ERROR/slots CKR_OK 1 2" \
	"$(line 2 "$out")/$(line 3 "$out")"
t_eq "other tokens are untouched" "open CKR_OK/sessinfo CKR_OK slot=1" \
	"$(line 6 "$out")/$(line 7 "$out")"
t_match "a delay holds the call" '^token CKR_OK tokA$' "$(line 5 "$out")"
j=$(line 8 "$out")
t_match "  ... and ends early when its line leaves the file" '^token CKR_OK tokA ms=' "$j"
t_ok "  ... ($(ms "$j") ms, removed at 100 ms of 400)" test "$(ms "$j")" -lt 400
t_eq "the trace names calls and tokens" 2 "$(grep -c '^C_GetTokenInfo tokA$' "$KYSO_FAULTY_TRACE")"
mock_unrule
mock_rule 'C_Initialize fail CKR_GENERAL_ERROR'
t_fail "C_Initialize fail: pkcs11-tool cannot start" p11 -L
out=$(probe init sh 'mock_unrule' init final)
t_eq "  ... C_Initialize answers the code, then works once the rule is gone" \
	"init CKR_GENERAL_ERROR/init CKR_OK" "$(line 1 "$out")/$(line 2 "$out")"

# ---- a broken module ----
: > "$KYSO_FAULTY_TRACE"
mock_rule '* break CKR_DEVICE_ERROR'
t_fail "break: pkcs11-tool -L fails" p11 -L
mock_unrule
t_eq "  ... a fresh process after the rule is gone works" "0x1:tokA 0x2:tokB" "$(slots_seen)"
: > "$KYSO_FAULTY_TRACE"
out=$(probe init open 1 bg wait sleep 100 sh "mock_rule '* break CKR_DEVICE_ERROR'" slots \
	join sh mock_unrule slots token 1 sessinfo init final \
	sh "mock_rule '* break CKR_DEVICE_ERROR'" init sh mock_unrule init slots final)
t_eq "the matching call breaks the module" "slots CKR_DEVICE_ERROR" "$(line 3 "$out")"
t_match "  ... which wakes a blocked C_WaitForSlotEvent with the code" \
	'^wait CKR_DEVICE_ERROR ms=' "$(line 4 "$out")"
t_eq "broken even after the rule is gone: every call" \
	"slots CKR_DEVICE_ERROR/token CKR_DEVICE_ERROR/sessinfo CKR_DEVICE_ERROR" \
	"$(line 5 "$out")/$(line 6 "$out")/$(line 7 "$out")"
t_eq "  ... C_Initialize without C_Finalize: already initialised" \
	"init CKR_CRYPTOKI_ALREADY_INITIALIZED" "$(line 8 "$out")"
t_eq "C_Finalize works on a broken module" "final CKR_OK" "$(line 9 "$out")"
t_eq "C_Initialize while a break rule is present fails and leaves it uninitialised" \
	"init CKR_DEVICE_ERROR" "$(line 10 "$out")"
t_eq "C_Initialize without the rule recovers the module" "init CKR_OK/slots CKR_OK 1 2" \
	"$(line 11 "$out")/$(line 12 "$out")"
t_eq "the trace shows every C_Initialize call, refused ones too" 4 \
	"$(mock_calls C_Initialize)"
out=$(probe init sh "mock_rule 'C_WaitForSlotEvent break CKR_DEVICE_ERROR'" wait \
	sh mock_unrule slots final init slots final)
t_eq "C_WaitForSlotEvent break: the module breaks from the waiting thread" \
	"wait CKR_DEVICE_ERROR/slots CKR_DEVICE_ERROR" "$(line 2 "$out")/$(line 3 "$out")"
t_eq "  ... and recovers the same way" "slots CKR_OK 1 2" "$(line 6 "$out")"

# ---- PIN pads ----
: > "$KYSO_FAULTY_CONTROL"; : > "$KYSO_FAULTY_TRACE"
mock_slot 1 tokA; mock_slot 2 tokB
mock_pinpad tokA "$TOK_PIN" 900; mock_pinpad tokA "$TOK_PIN" 400
t_eq "mock_pinpad replaces the token's earlier pinpad line" "pinpad tokA $TOK_PIN 400" \
	"$(grep '^pinpad' "$KYSO_FAULTY_CONTROL")"
out=$(p11 -L 2>&1)
# flags_of LABEL: the token flags pkcs11-tool -L printed for the token LABEL
flags_of() {
	printf '%s\n' "$out" | awk -v l="$1" '/token label/ { sub(/.*: /, ""); sub(/ +$/, "");
		t = $0 } /token flags/ && t == l { sub(/.*: /, ""); print }'
}
t_match "pkcs11-tool -L: the pinpad token's flags say \"PIN pad present\"" \
	'login required, PIN pad present' "$(flags_of tokA)"
t_match "  ... the other token's do not" '^login required, rng' "$(flags_of tokB)"
start=$(date +%s%N)
p11 --slot 1 --login --sign -m ECDSA --id 01 -i "$T_DIR/hash" -o "$T_DIR/s5" \
	</dev/null >/dev/null 2>&1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_ok "pkcs11-tool --login without a PIN logs in on the \"keypad\" and signs" \
	verify_sig ecdsa-sha256 "$TOK_DIR/keyA.pub.pem" "$T_DIR/s5" "$doc" raw
t_ok "  ... after the typing delay (${ms} ms, 400 ms typing)" test "$ms" -ge 400
: > "$KYSO_FAULTY_TRACE"
out=$(probe init padflag 1 padflag 2 open 1 bg padlogin join find 01 find 03 signinit sign \
	signinit bg ctxpad join sign open 1 bg login "$TOK_PIN" join final)
t_eq "C_GetTokenInfo: CKF_PROTECTED_AUTHENTICATION_PATH on the pinpad token only" \
	"padflag CKR_OK yes/padflag CKR_OK no" "$(line 2 "$out")/$(line 3 "$out")"
j=$(line 5 "$out")
t_match "C_Login(CKU_USER, NULL, 0) logs in with the line's PIN" '^padlogin CKR_OK ms=' "$j"
t_ok "  ... after DELAY_MS ($(ms "$j") ms of 400)" test "$(ms "$j")" -ge 390
t_eq "  ... the private keys are visible" "find CKR_OK 1" "$(line 6 "$out")"
t_eq "an always-authenticate key wants its context login" "signinit CKR_OK/sign CKR_USER_NOT_LOGGED_IN" \
	"$(line 8 "$out")/$(line 9 "$out")"
j=$(line 11 "$out")
t_match "C_Login(CKU_CONTEXT_SPECIFIC, NULL, 0) is typed on the keypad too" '^ctxpad CKR_OK ms=' "$j"
t_ok "  ... ($(ms "$j") ms of 400)" test "$(ms "$j")" -ge 390
t_eq "  ... and the signature follows" "sign CKR_OK" "$(line 12 "$out")"
j=$(line 14 "$out")
t_match "a C_Login with a PIN passes through (SoftHSM: already logged in)" \
	'^login CKR_USER_ALREADY_LOGGED_IN ms=' "$j"
t_ok "  ... without the typing delay ($(ms "$j") ms)" test "$(ms "$j")" -lt 390
t_eq "the trace shows each C_Login once" 3 "$(grep -c '^C_Login tokA$' "$KYSO_FAULTY_TRACE")"
mock_pinpad tokA 000000
out=$(probe init open 1 padlogin find 01 final)
t_eq "a wrong PIN in the line: CKR_PIN_INCORRECT, as a mistyped keypad entry" \
	"padlogin CKR_PIN_INCORRECT/find CKR_OK 0" "$(line 3 "$out")/$(line 4 "$out")"
mock_pinpad tokA "$TOK_PIN" 20000
out=$(probe init open 1 bg padlogin sleep 200 sh 'mock_slot 1 -' join final)
j=$(line 3 "$out")
t_match "the token pulled out while the person types: CKR_DEVICE_REMOVED" \
	'^padlogin CKR_DEVICE_REMOVED ms=' "$j"
t_ok "  ... promptly ($(ms "$j") ms, not the 20 s of typing)" test "$(ms "$j")" -lt 5000
mock_slot 1 tokA
out=$(probe init open 1 bg padlogin sleep 200 sh 'mock_unpinpad tokA' join find 01 padflag 1 \
	final)
j=$(line 3 "$out")
t_match "the line removed while the person types: the login goes on with its PIN" \
	'^padlogin CKR_OK ms=' "$j"
t_ok "  ... at once ($(ms "$j") ms)" test "$(ms "$j")" -lt 5000
t_eq "  ... logged in; the token has no PIN pad any more" "find CKR_OK 1/padflag CKR_OK no" \
	"$(line 4 "$out")/$(line 5 "$out")"
out=$(probe init open 1 padlogin ctxpad final)
t_eq "no pinpad line: a NULL PIN reaches SoftHSM (CKR_ARGUMENTS_BAD)" \
	"padlogin CKR_ARGUMENTS_BAD/ctxpad CKR_ARGUMENTS_BAD" "$(line 3 "$out")/$(line 4 "$out")"
mock_pinpad tokA "$TOK_PIN" 50; mock_rule 'C_Sign delay 10 tokA'; mock_unrule
t_eq "mock_unrule leaves the pinpad line" "pinpad tokA $TOK_PIN 50" \
	"$(grep -v '^slot' "$KYSO_FAULTY_CONTROL")"
mock_pinpad tokA "$TOK_PIN" x 2>/dev/null
t_eq "mock_pinpad refuses a delay that is not a number" "pinpad tokA $TOK_PIN 50" \
	"$(grep '^pinpad' "$KYSO_FAULTY_CONTROL")"
printf 'slot 1 tokA\npinpad tokA %s\n' "$TOK_PIN" > "$KYSO_FAULTY_CONTROL"
t_eq "a line without DELAY_MS is a PIN pad (control for the malformed lines)" \
	"padflag CKR_OK yes" "$(line 2 "$(probe init padflag 1 final)")"
for bad in "pinpad tokA" "pinpad tokA $TOK_PIN 5x" "pinpad tokA $TOK_PIN -1" \
	"pinpad tokA $TOK_PIN 10 extra"; do
	printf 'slot 1 tokA\n%s\n' "$bad" > "$KYSO_FAULTY_CONTROL"
	t_eq "a malformed line is ignored: '$bad'" "padflag CKR_OK no" \
		"$(line 2 "$(probe init padflag 1 final)")"
done
mock_unpinpad tokA
t_eq "mock_unpinpad removes the line" "" "$(grep '^pinpad' "$KYSO_FAULTY_CONTROL")"

# ---- mock.sh ----
t_eq "mock.sh rewrites the control file atomically (no temporary file left)" "control trace" \
	"$(ls "$T_DIR/mock" | tr '\n' ' ' | sed 's/ $//')"
t_fail "no sanitizer or usage error from the probe" \
	grep -E 'Sanitizer|runtime error|mock_probe:|unknown command|sh failed' "$T_DIR/probe.log"
t_done

#!/usr/bin/env bash
# The kyso command line: help everywhere, usage errors, every documented exit status, and
# a PIN typed at a terminal (driven through a pseudo-terminal, as a person would).
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

tok_init "$T_DIR/tok" && tok_create desk && tok_key desk 01 ec:p256 deskkey ||
	{ t_flunk "make the test token"; t_done; exit 1; }
id=$(cert_id "$TOK_DIR/deskkey.crt.pem")
doc=$T_DIR/doc; echo "circular" > "$doc"

# before any agent runs
export KYSO_SOCKET=$T_DIR/none.sock
out=$($K tokens 2>&1); rc=$?
t_eq "no agent: exit 3" 3 "$rc"
t_match "  ... saying the agent is not running and where it looked" "not running.*$KYSO_SOCKET" "$out"

for cmd in tokens certs sign login lock info watch modules; do
	t_match "kyso $cmd --help" "Usage: kyso $cmd" "$($K $cmd --help 2>&1)"
done
t_match "kyso --help lists the commands and exit statuses" 'sign .*Exit status' "$($K --help | tr '\n' ' ')"
t_match "kyso --version" '^kyso [0-9]+\.[0-9]+\.[0-9]+$' "$($K --version)"
$K >/dev/null 2>&1; t_eq "no command: exit 2" 2 $?
$K frobnicate >/dev/null 2>&1; t_eq "unknown command: exit 2" 2 $?
$K tokens --bogus >/dev/null 2>&1; t_eq "unknown option: exit 2" 2 $?
$K watch now >/dev/null 2>&1; t_eq "watch with an argument: exit 2" 2 $?
$K sign --cert x >/dev/null 2>&1; t_eq "sign without --alg: exit 2" 2 $?
$K sign --cert x --alg ed25519 --digest 00 --in "$doc" >/dev/null 2>&1
t_eq "sign with both --digest and --in: exit 2" 2 $?
$K sign --cert x --alg ecdsa-sha256 --digest zz >/dev/null 2>&1
t_eq "sign with a non-hex digest: exit 2" 2 $?
$K sign --cert x --alg ecdsa-sha256 --in - --pin-stdin </dev/null >/dev/null 2>&1
t_eq "--pin-stdin with --in -: exit 2" 2 $?
for c in "sign --alg ecdsa-sha256 --in $doc --out /dev/null" "sign-cms -o /dev/null $doc" \
    "sign-pdf -o /dev/null $doc"; do
	# shellcheck disable=SC2086  # the words of one command line
	out=$($K ${c%% *} --cert "" ${c#* } 2>&1); rc=$?
	t_eq "${c%% *} --cert '' (empty): exit 2" 2 "$rc"
	t_match "  ... and the error names --cert, not memory" "--cert is empty" "$out"
done

agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }
t_match "kyso info names the agent and the socket" "kysod .*socket: +$KYSO_SOCKET" "$($K info | tr '\n' ' ')"
$K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" </dev/null >/dev/null 2>&1
t_eq "PIN required, no terminal: exit 4" 4 $?
echo 000000 | $K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --pin-stdin >/dev/null 2>&1
t_eq "wrong PIN: exit 4" 4 $?
$K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --pin-stdin </dev/null >/dev/null 2>&1
t_eq "--pin-stdin with nothing on stdin: exit 4" 4 $?
$K sign --cert ffffffffff --alg ecdsa-sha256 --in "$doc" >/dev/null 2>&1
t_eq "unknown certificate: exit 6" 6 $?
echo "$TOK_PIN" | $K sign --cert "$id" --alg rsa-pss-sha256 --in "$doc" --pin-stdin >/dev/null 2>&1
t_eq "algorithm the key cannot do: exit 7" 7 $?
$K sign --cert "$id" --alg ecdsa-sha384 --digest 00112233 >/dev/null 2>&1
t_eq "digest of the wrong length: exit 7" 7 $?
echo "$TOK_PIN" | $K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --pin-stdin --out "$T_DIR/s" 2>&1
t_eq "sign with --pin-stdin: exit 0" 0 $?
t_ok "  ... OpenSSL verifies it" verify_sig ecdsa-sha256 "$TOK_DIR/deskkey.pub.pem" "$T_DIR/s" "$doc"
out=$($K sign --cert "$id" --alg ecdsa-sha256 --in "$doc" --json)
t_match "sign --json prints signature and algorithm" '"signature": "[A-Za-z0-9+/=]+",.*"algorithm": "ecdsa-sha256"' "$(echo $out)"
$K lock >/dev/null 2>&1; t_eq "kyso lock: exit 0" 0 $?

# a PIN typed at a terminal: kyso prompts once (echo off), naming the token
if command -v script >/dev/null; then
	out=$( { sleep 1; echo "$TOK_PIN"; } | script -qefc \
		"$K sign --cert $id --alg ecdsa-sha256 --in $doc --out $T_DIR/tty.sig" /dev/null 2>&1); rc=$?
	t_eq "PIN typed at the terminal: exit 0" 0 "$rc"
	t_match "  ... after a prompt naming the token and its serial" "PIN for token 'desk' \(serial [0-9a-f]+\)" "$out"
	t_fail "  ... without echoing the PIN" grep -q "$TOK_PIN" <<<"$out"
	t_ok "  ... and OpenSSL verifies the signature" verify_sig ecdsa-sha256 "$TOK_DIR/deskkey.pub.pem" "$T_DIR/tty.sig" "$doc"
	$K lock >/dev/null 2>&1
	out=$( { sleep 1; echo 999999; } | script -qefc \
		"$K login --token desk" /dev/null 2>&1); rc=$?
	t_eq "kyso login with a wrong PIN at the terminal: exit 4" 4 "$rc"
	t_eq "  ... asked once, not retried" 1 "$(grep -c "PIN for token 'desk':" <<<"$out")"
else
	t_skip "PIN typed at a terminal" "script(1) is not installed"
fi
t_agent_stops
t_done

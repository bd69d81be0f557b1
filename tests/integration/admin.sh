#!/usr/bin/env bash
# kyso-admin on fresh SoftHSM tokens: init, PINs, keygen of every type (attributes checked
# by pkcs11-tool and GnuTLS p11tool, signatures by OpenSSL), list, delete, inventory, and
# every refusal path leaving the token as it was.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

M=$SOFTHSM_MODULE
A=("$BUILD/kyso-admin" --module "$M")
tok_init "$T_DIR/tok" || { t_flunk "SoftHSM store"; t_done; exit 1; }
P=$T_DIR/pins; mkdir -p "$P"
echo 87654321 > "$P/so"; echo 4242 > "$P/user"; echo 13579 > "$P/user2"
echo 24680 > "$P/user3"; echo 11223344 > "$P/so2"; echo 12 > "$P/short"; echo 0000 > "$P/wrong"
echo 99999999 > "$P/wrongso"
P11=(pkcs11-tool --module "$M")
# the objects of token adm as pkcs11-tool sees them after a login with PIN $1
objs() { "${P11[@]}" --token-label adm --login --pin "$1" --list-objects 2>/dev/null; }
state() { "${P11[@]}" -L 2>/dev/null; }
has_script() { command -v script >/dev/null; }
# block Private|Public ID: that key's block of a pkcs11-tool listing, lines joined by '|'
block() {
	python3 -c '
import sys, re
kind, want = sys.argv[1], sys.argv[2]
for b in re.split(r"\n(?=\S)", sys.stdin.read()):
    if b.startswith(kind + " Key Object") and re.search(r"\n\s*ID:\s*" + want + r"\s*(\n|$)", b):
        print("|".join(b.splitlines()) + "|")
        break' "$1" "$2"
}

# ---- help and usage ----
for c in tokens init change-pin unblock-pin set-so-pin keygen list delete inventory; do
	t_match "kyso-admin $c --help" "Usage: kyso-admin $c" "$("${A[@]}" $c --help 2>&1)"
done
t_match "kyso-admin --help lists the commands and exit statuses" 'keygen .*Exit status.*9 refused' \
	"$("$BUILD/kyso-admin" --help | tr '\n' ' ')"
"$BUILD/kyso-admin" frob >/dev/null 2>&1; t_eq "unknown command: exit 2" 2 $?
"${A[@]}" tokens --label x >/dev/null 2>&1; t_eq "an option the command does not take: exit 2" 2 $?
"${A[@]}" keygen --pin 1234 >/dev/null 2>&1; t_eq "no PIN on the command line (--pin is no option): exit 2" 2 $?

# ---- tokens, and init of SoftHSM's free slot ----
json=$("${A[@]}" tokens --json)
slot=$(python3 -c 'import json,sys; s=[s for s in json.loads(sys.argv[1])["modules"][0]["slots"] if s["token_present"] and not s["token"]["initialized"]]; print(s[0]["slot"])' "$json" 2>/dev/null)
t_match "tokens --json lists the free, uninitialised slot" '^[0-9]+$' "$slot"
t_match "tokens says the token is not initialised" "slot $slot: .*token not initialised" "$("${A[@]}" tokens | tr '\n' ' ')"

before=$(state)
out=$("${A[@]}" init --slot "$slot" --label adm --so-pin-file "$P/so" --new-pin-file "$P/short" 2>&1); rc=$?
t_eq "init with a user PIN shorter than the policy: exit 2" 2 $rc
t_match "  ... saying it is too short, and nothing changed" 'user PIN is too short: 2 characters.*at least 4.*nothing was changed' "$out"
t_eq "  ... and the slot is still uninitialised (pkcs11-tool -L)" "$before" "$(state)"
out=$("${A[@]}" init --slot "$slot" --label adm --so-pin-file "$P/so" --new-pin-file "$P/user" \
	--min-pin-length 6 2>&1); rc=$?
t_eq "init with --min-pin-length 6 and a 4-digit PIN: exit 2" 2 $rc
out=$("${A[@]}" init --slot "$slot" --label adm --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "init --slot: exit 0" 0 $rc
t_match "  ... says what it did" "token 'adm' \(serial [0-9a-f]+\) initialised" "$out"
t_match "pkcs11-tool sees token adm, initialised, user PIN set" 'token label +: adm.*PIN initialized' "$(state | tr '\n' ' ')"
t_ok "  ... and the user PIN logs in (pkcs11-tool)" "${P11[@]}" --token-label adm --login --pin 4242 --list-objects
serial=$(python3 -c 'import json,sys; print([s["token"]["serial"] for s in json.loads(sys.argv[1])["modules"][0]["slots"] if s["token_present"] and s["token"]["label"]=="adm"][0])' "$("${A[@]}" tokens --json)")
t_match "tokens --json gives the token's serial and PIN state" '^[0-9a-f]{16}$' "$serial"

# ---- keygen of every type ----
n=0
for type in rsa:2048 rsa:3072 rsa:4096 ec:p256 ec:p384 ed25519; do
	n=$((n + 1)); id=0$n; name=${type/:/-}
	out=$("${A[@]}" keygen --token adm --type "$type" --label "$name" --id "$id" \
		--pin-file "$P/user" --pubkey-out "$T_DIR/$name.pem" 2>&1)
	t_eq "keygen $type: exit 0" 0 $?
	t_match "  ... prints the id" "^id $id\$" "$(grep '^id' <<<"$out")"
done
list=$(objs 4242)
for id in 01 02 03 04 05 06; do
	priv=$(block Private "$id" <<<"$list")
	t_match "pkcs11-tool: private key $id is sign-only" 'Usage: *sign\|' "$priv"
	t_match "  ... sensitive, always sensitive, never extractable, local" \
		'Access: *sensitive, always sensitive, never extractable, local' "$priv"
	pub=$(block Public "$id" <<<"$list")
	t_match "  ... its public key has the same ID and only verifies" 'Usage: *verify\|' "$pub"
done
t_match "pkcs11-tool: RSA sizes 2048, 3072, 4096" 'RSA 2048 bits.*RSA 3072 bits.*RSA 4096 bits' \
	"$(grep -o 'RSA [0-9]* bits' <<<"$list" | sort -u | tr '\n' ' ')"
gnutls=$(p11tool --provider "$M" --list-all --login --set-pin=4242 "pkcs11:token=adm" 2>/dev/null)
for id in 01 02 03 04 05 06; do
	t_eq "p11tool: private and public key share ID $id" 2 "$(grep -c "ID: $id\$" <<<"$gnutls")"
done
t_eq "p11tool: every private key CKA_PRIVATE, CKA_NEVER_EXTRACTABLE, CKA_SENSITIVE" 6 \
	"$(grep -c 'Flags: CKA_PRIVATE; CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE;' <<<"$gnutls")"
t_match "p11tool: key types RSA-2048/3072/4096, P-256, P-384, Ed25519" \
	'SECP256R1.*SECP384R1.*Ed25519.*RSA-2048.*RSA-3072.*RSA-4096' \
	"$(grep -o 'Type: Private key ([^)]*)' <<<"$gnutls" | sort | tr '\n' ' ')"

# ---- the keys sign (pkcs11-tool) and OpenSSL verifies against the exported public keys ----
doc=$T_DIR/doc; echo "provisioned by kyso-admin" > "$doc"
"${P11[@]}" --token-label adm --read-object --type pubkey --id 01 -o "$T_DIR/01.der" >/dev/null 2>&1
t_ok "pkcs11-tool exports the RSA public key" test -s "$T_DIR/01.der"
t_eq "kyso-admin's RSA public key is the one pkcs11-tool exports" \
	"$(openssl pkey -pubin -inform DER -in "$T_DIR/01.der" -outform DER 2>/dev/null | sha256sum)" \
	"$(openssl pkey -pubin -in "$T_DIR/rsa-2048.pem" -outform DER 2>/dev/null | sha256sum)"
for e in "05 ec-p384" "06 ed25519" "04 ec-p256"; do
	set -- $e
	point=$(block Public "$1" <<<"$list" | tr '|' '\n' | awk '$1 == "EC_POINT:" {print $2}')
	[ -n "$point" ] || t_flunk "pkcs11-tool lists CKA_EC_POINT of key $1"
	mine=$(openssl pkey -pubin -in "$T_DIR/$2.pem" -outform DER 2>/dev/null | xxd -p | tr -d '\n')
	t_match "public key $2 (--pubkey-out) holds CKA_EC_POINT as pkcs11-tool lists it" "${point:4}\$" "$mine"
done
sign() { "${P11[@]}" --token-label adm --login --pin 4242 --sign --id "$1" -m "$2" -i "$3" -o "$4" >/dev/null 2>&1; }
for e in "01 rsa-2048" "02 rsa-3072" "03 rsa-4096"; do
	set -- $e
	sign "$1" SHA256-RSA-PKCS "$doc" "$T_DIR/$2.sig"
	t_ok "$2 key signs (SHA256-RSA-PKCS); OpenSSL verifies" verify_sig rsa-pkcs1v15-sha256 "$T_DIR/$2.pem" "$T_DIR/$2.sig" "$doc"
done
openssl dgst -sha256 -binary "$doc" > "$T_DIR/h256"; openssl dgst -sha384 -binary "$doc" > "$T_DIR/h384"
sign 04 ECDSA "$T_DIR/h256" "$T_DIR/p256.sig"
t_ok "ec:p256 key signs (ECDSA); OpenSSL verifies" verify_sig ecdsa-sha256 "$T_DIR/ec-p256.pem" "$T_DIR/p256.sig" "$doc" raw
sign 05 ECDSA "$T_DIR/h384" "$T_DIR/p384.sig"
t_ok "ec:p384 key signs (ECDSA); OpenSSL verifies" verify_sig ecdsa-sha384 "$T_DIR/ec-p384.pem" "$T_DIR/p384.sig" "$doc" raw
sign 06 EDDSA "$doc" "$T_DIR/ed.sig"
t_ok "ed25519 key signs (EDDSA); OpenSSL verifies" verify_sig ed25519 "$T_DIR/ed25519.pem" "$T_DIR/ed.sig" "$doc"

agent_start --module "$M" || t_flunk "start kysod"
t_match "kysod sees the token kyso-admin made" "adm" "$($K tokens 2>&1)"
t_eq "  ... with no certificate on it yet (kyso certs --json)" 0 \
	"$($K certs --token adm --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["certificates"] if isinstance(d, dict) else d))' 2>&1)"
agent_stop

# ---- list and inventory ----
out=$("${A[@]}" list --token adm --pin-file "$P/user" 2>&1)
t_eq "list: 12 objects" 12 "$(grep -c '^p[a-z]*-key ' <<<"$out")"
t_match "list shows type and attributes" 'private-key +id 05 +label .ec-p384. +ec:p384 .*sensitive never-extractable local sign' "$(tr '\n' ' ' <<<"$out")"
inv=$("${A[@]}" inventory --json --token adm --pin-file - < "$P/user")
t_eq "inventory --json: serial, label, 12 keys, key types" \
	"$serial adm 12 ec:p256,ec:p384,ed25519,rsa:2048,rsa:3072,rsa:4096 True" \
	"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); k=d["keys"]; print(d["serial"], d["label"], len(k), ",".join(sorted({x["type"] for x in k})), all(x["sensitive"] and x["never_extractable"] and x["sign"] and not x["extractable"] and not x["decrypt"] for x in k if x["class"]=="private-key"))' "$inv" 2>&1)"
# a certificate (written by pkcs11-tool) shows up with subject, issuer and expiry
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T_DIR/c.key" \
	-out "$T_DIR/c.pem" -days 10 -subj "/CN=Officer One/O=kyso tests" 2>/dev/null
openssl x509 -in "$T_DIR/c.pem" -outform DER -out "$T_DIR/c.der"
"${P11[@]}" --token-label adm --login --pin 4242 --write-object "$T_DIR/c.der" --type cert --id 04 --label ec-p256 >/dev/null 2>&1
inv=$("${A[@]}" inventory --token adm --pin-file "$P/user")
t_eq "inventory: the certificate with subject, issuer, expiry and its key" \
	"O=kyso tests,CN=Officer One|O=kyso tests,CN=Officer One|$(date -u -d "$(openssl x509 -in "$T_DIR/c.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)|True" \
	"$(python3 -c 'import json,sys; c=json.loads(sys.argv[1])["certificates"][0]; print(c["subject"], c["issuer"], c["not_after"], c["has_private_key"], sep="|")' "$inv" 2>&1)"

# ---- refusals: nothing changes on the token ----
snap=$(objs 4242)
out=$("${A[@]}" keygen --token adm --type ec:p256 --label dup --id 04 --pin-file "$P/user" 2>&1); rc=$?
t_eq "keygen with an id in use: exit 9" 9 $rc
t_match "  ... says so" 'already holds objects with id 04' "$out"
out=$("${A[@]}" keygen --token adm --type ec:p256 --label x --pin-file "$P/wrong" 2>&1); rc=$?
t_eq "keygen with a wrong user PIN: exit 4" 4 $rc
t_match "  ... says the PIN is incorrect" 'user PIN: .*incorrect.*CKR_PIN_INCORRECT' "$out"
out=$("${A[@]}" keygen --token adm --type rsa:1024 --label x --pin-file "$P/user" 2>&1); rc=$?
t_eq "keygen --type rsa:1024: exit 2 listing the types" 2 $rc
# a token that cannot generate: the fault module hides every mechanism's details
export KYSO_FAULTY_MODULE=$M KYSO_FAULTY_CONTROL=$T_DIR/rules KYSO_FAULTY_TRACE=$T_DIR/trace
echo "C_GetMechanismInfo fail CKR_MECHANISM_INVALID" > "$T_DIR/rules"
F=("$BUILD/kyso-admin" --module "$BUILD/tests/libkyso-faulty.so")
out=$("${F[@]}" keygen --token adm --type ed25519 --label x --pin-file "$P/user" 2>&1); rc=$?
t_eq "keygen of a type the token cannot make: exit 7" 7 $rc
t_match "  ... names the type and what the token can make" "cannot generate ed25519 keys; it can generate: none" "$out"
echo "C_Login fail CKR_PIN_LOCKED" > "$T_DIR/rules"
out=$("${F[@]}" list --token adm --pin-file "$P/user" 2>&1); rc=$?
t_eq "a locked user PIN: exit 5" 5 $rc
t_match "  ... says it is locked and how to unblock it" 'locked; unblock it with .kyso-admin unblock-pin' "$out"
: > "$T_DIR/rules"
out=$("${A[@]}" delete --token adm --id 06 --pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "delete without --yes and no terminal: exit 9" 9 $rc
t_match "  ... says to add --yes" 'add --yes.*nothing was deleted' "$out"
"${A[@]}" delete --token adm --id 77 --yes --pin-file "$P/user" >/dev/null 2>&1
t_eq "delete of an id not on the token: exit 6" 6 $?
out=$("${A[@]}" init --token adm --label other --so-pin-file "$P/so" --new-pin-file "$P/user" 2>&1); rc=$?
t_eq "init of a token in use without --force: exit 9" 9 $rc
t_match "  ... says it holds objects and to use --force" 'in use: it holds [0-9]+ objects.*--force' "$out"
out=$("${A[@]}" init --token adm --label other --force --so-pin-file "$P/so" --new-pin-file "$P/user" </dev/null 2>&1); rc=$?
t_eq "init --force without a terminal to confirm on: exit 9" 9 $rc
if has_script; then
	out=$( { sleep 1; echo wronglabel; } | script -qefc "${A[*]} init --token adm --label other --force --so-pin-file $P/so --new-pin-file $P/user" /dev/null 2>&1); rc=$?
	t_eq "init --force with the wrong label typed: exit 9" 9 $rc
	t_match "  ... says the label does not match" 'label typed does not match' "$out"
	out=$( { sleep 1; echo adm; } | script -qefc "${A[*]} init --token adm --label other --force --so-pin-file $P/wrongso --new-pin-file $P/user" /dev/null 2>&1); rc=$?
	t_eq "init --force, label confirmed, wrong SO PIN: exit 4" 4 $rc
	t_match "  ... says the SO PIN is incorrect" 'SO PIN: .*incorrect' "$out"
else
	t_skip "init --force confirmation" "script(1) is not installed"
fi
out=$("${A[@]}" unblock-pin --token adm --so-pin-file "$P/wrongso" --new-pin-file "$P/user2" 2>&1); rc=$?
t_eq "unblock-pin with a wrong SO PIN: exit 4" 4 $rc
t_match "  ... says the SO PIN is incorrect" 'SO PIN: .*incorrect' "$out"
out=$("${A[@]}" change-pin --token adm --pin-file "$P/wrong" --new-pin-file "$P/user2" 2>&1); rc=$?
t_eq "change-pin with a wrong current PIN: exit 4" 4 $rc
out=$("${A[@]}" change-pin --token adm --pin-file "$P/user" --new-pin-file "$P/short" 2>&1); rc=$?
t_eq "change-pin to a PIN too short: exit 2" 2 $rc
out=$("${A[@]}" set-so-pin --token adm --so-pin-file "$P/wrongso" --new-pin-file "$P/so2" 2>&1); rc=$?
t_eq "set-so-pin with a wrong SO PIN: exit 4" 4 $rc
t_eq "after every refusal the token's objects are unchanged (pkcs11-tool)" "$snap" "$(objs 4242)"
t_match "  ... and its label too" 'token label +: adm' "$(state)"

# ---- PIN changes ----
t_ok "change-pin: exit 0" "${A[@]}" change-pin --token adm --pin-file "$P/user" --new-pin-file "$P/user2"
t_fail "  ... the old user PIN no longer logs in" "${P11[@]}" --token-label adm --login --pin 4242 --list-objects
t_ok "  ... the new one does" "${P11[@]}" --token-label adm --login --pin 13579 --list-objects
for i in 1 2 3; do "${P11[@]}" --token-label adm --login --pin 0000 --list-objects >/dev/null 2>&1; done
t_match "three wrong user PINs (pkcs11-tool): tokens shows the PIN state" 'state: initialised, user PIN set' \
	"$("${A[@]}" tokens | tr '\n' ' ')"
t_ok "unblock-pin with the SO PIN: exit 0" "${A[@]}" unblock-pin --token adm --so-pin-file "$P/so" --new-pin-file - < "$P/user3"
t_ok "  ... the new user PIN logs in" "${P11[@]}" --token-label adm --login --pin 24680 --list-objects
t_fail "  ... the one before does not" "${P11[@]}" --token-label adm --login --pin 13579 --list-objects
t_ok "set-so-pin: exit 0" "${A[@]}" set-so-pin --token adm --so-pin-file "$P/so" --new-pin-file "$P/so2"
t_fail "  ... the old one no longer works (pkcs11-tool --init-pin as SO)" "${P11[@]}" --token-label adm --login --login-type so --so-pin 87654321 --init-pin --new-pin 24680
t_ok "  ... the new one does" "${P11[@]}" --token-label adm --login --login-type so --so-pin 11223344 --init-pin --new-pin 24680
if has_script; then
	out=$( { sleep 1; echo 24680; sleep 0.5; echo 97531; sleep 0.5; echo 97531; } | script -qefc "${A[*]} change-pin --token adm" /dev/null 2>&1); rc=$?
	t_eq "change-pin with the PINs typed at the terminal (new one twice): exit 0" 0 $rc
	t_fail "  ... no PIN echoed" grep -q -e 24680 -e 97531 <<<"$out"
	t_ok "  ... the typed PIN logs in" "${P11[@]}" --token-label adm --login --pin 97531 --list-objects
	out=$( { sleep 1; echo 97531; sleep 0.5; echo 11111; sleep 0.5; echo 22222; } | script -qefc "${A[*]} change-pin --token adm" /dev/null 2>&1); rc=$?
	t_eq "new PINs typed differently: exit 2" 2 $rc
	t_match "  ... saying they differ" 'two entries of the new user PIN differ' "$out"
	echo 97531 > "$P/user4"
else
	t_skip "PINs typed at a terminal" "script(1) is not installed"
	echo 24680 > "$P/user4"
fi

# ---- delete ----
t_ok "delete --id 06 --yes: exit 0" "${A[@]}" delete --token adm --id 06 --yes --pin-file "$P/user4"
after=$(objs "$(cat "$P/user4")")
t_fail "  ... pkcs11-tool lists no object with ID 06" grep -q 'ID: *06$' <<<"$after"
t_match "  ... and the others are still there" 'ID: *05' "$after"

# ---- re-init with --force and the label typed: the token is empty ----
if has_script; then
	out=$( { sleep 1; echo adm; } | script -qefc "${A[*]} init --token adm --label fresh --force --so-pin-file $P/so2 --new-pin-file $P/user" /dev/null 2>&1); rc=$?
	t_eq "init --force with the label typed back: exit 0" 0 $rc
	t_eq "  ... the token is empty" 0 "$("${P11[@]}" --token-label fresh --login --pin 4242 --list-objects 2>/dev/null | grep -c 'Object')"
else
	t_skip "init --force re-initialises" "script(1) is not installed"
fi
t_done

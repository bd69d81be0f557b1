#!/usr/bin/env bash
# pdf_agent.sh — PDFs signed through kysod and SoftHSM tokens: a batch of 50 under one
# consent (the scripted pinentry sees one dialog, the audit log gets 50 records), an
# officer's P-256 signature then an organisation's RSA-2048 on another token (both valid
# for pdfsig, OpenSSL and kyso verify), Cancel in the middle of a batch (a key that wants
# its PIN for every signature: the files signed before are written, the rest not), B-T
# with a local time-stamp authority, the Python example over the socket, the C example
# built with pkg-config against an installed libkyso-pdf, and kyso sign-cms --tsa.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"
. "$T_TOP/tests/lib/pdf.sh"
FAKE=$T_TOP/tests/tools/fake-pinentry

tok_init "$T_DIR/tok" && tok_create officer && tok_key officer 01 ec:p256 officer &&
	tok_create org && tok_key org 02 rsa:2048 org &&
	tok_create careful && tok_key careful 03 ec:p256 careful always-auth ||
	{ t_flunk "make the test tokens"; t_done; exit 1; }
PKI=$TOK_DIR F=$T_DIR/f O=$T_DIR/out
mkdir -p "$O" "$F/batch"
printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' \
	> "$PKI/tsa.cnf"
pdf_pki_cert "$PKI" tsa "ec -pkeyopt ec_paramgen_curve:prime256v1" "/CN=kyso test TSA/O=kyso tests" \
	tsa.cnf && pdf_fixtures "$F" || { t_flunk "test PDFs made"; t_done; exit 1; }
for i in $(seq 1 50); do
	$PY "$MKPDF" scan "$F/batch/letter-$i.pdf" 16 "$i"
done
export FAKE_PINENTRY_SCRIPT=$T_DIR/pinentry.script FAKE_PINENTRY_LOG=$T_DIR/dialogs.log
# script ACTION...: what the next dialogs answer, from the first line again
script() { printf '%s\n' "$@" > "$FAKE_PINENTRY_SCRIPT"; rm -f "$FAKE_PINENTRY_SCRIPT.pos"; }
script "pin $TOK_PIN"
agent_start --module "$SOFTHSM_MODULE" --pinentry "$FAKE" || { t_flunk "start kysod"; t_done; exit 1; }
trap 'tsa_stop; t_cleanup' EXIT
officer_id=$(cert_id "$TOK_DIR/officer.crt.pem")
org_id=$(cert_id "$TOK_DIR/org.crt.pem")
careful_id=$(cert_id "$TOK_DIR/careful.crt.pem")
audit=$XDG_STATE_HOME/kyso/audit.log

# a batch of 50, one consent
mkdir -p "$O/b50"
out=$("$K" sign-pdf --cert "$officer_id" --reason "Phê duyệt" --out-dir "$O/b50" "$F"/batch/*.pdf 2>&1)
t_eq "50 PDFs in one batch: exit 0" 0 $?
t_eq "  ... 50 signed" 50 "$(echo "$out" | grep -c '^signed [0-9]*/50: ')"
t_eq "  ... one dialog for them all (the scripted pinentry saw one GETPIN)" 1 \
	"$(grep -c '"cmd": "GETPIN"' "$T_DIR/dialogs.log")"
t_match "  ... which says how many documents it is about" '50' \
	"$(grep '"cmd": "GETPIN"' "$T_DIR/dialogs.log" | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["desc"])')"
t_eq "  ... 50 audit records, one per document, granted" 50 \
	"$(grep '"document":"letter-' "$audit" | grep -c '"result":"granted"')"
t_eq "  ... all with the same batch id" 1 \
	"$(grep '"document":"letter-' "$audit" | grep -o '"batch":"[0-9a-f]*"' | sort -u | wc -l)"
bad=0
for i in $(seq 1 50); do
	pdfsig_valid "$O/b50/letter-$i.pdf" 1 >/dev/null || bad=$((bad + 1))
done
t_eq "  ... pdfsig validates all 50" 0 "$bad"
t_ok "  ... OpenSSL cms -verify accepts one (the 50th)" sh -c "
	. '$T_TOP/tests/lib/pdf.sh'; pdf_cms '$O/b50/letter-50.pdf' 1 '$O/50.der' '$O/50.bin' &&
	cms_verify_openssl '$O/50.der' '$O/50.bin' '$PKI/ca.crt'"
t_ok "  ... kyso verify: valid, chained to the test CA" "$K" verify --ca "$PKI/ca.crt" "$O/b50/letter-25.pdf"
t_ok "  ... the originals' bytes head the signed files" \
	cmp -n "$(stat -c %s "$F/batch/letter-7.pdf")" "$F/batch/letter-7.pdf" "$O/b50/letter-7.pdf"

# the officer (P-256), then the organisation (RSA-2048, another token, its seal)
script "pin $TOK_PIN"
t_ok "the officer signs a letter, visibly (P-256)" "$K" sign-pdf -q --cert "$officer_id" \
	--rect 330,60,230,70 --page 1 -o "$O/letter-1.pdf" "$F/gs.pdf"
t_ok "the organisation signs it, its seal over the officer's signature (RSA-2048)" \
	"$K" sign-pdf -q --cert "$org_id" --rect 300,50,90,90 --page 1 --image "$F/seal.png" --text "" \
	-o "$O/letter-2.pdf" "$O/letter-1.pdf"
t_ok "  ... pdfsig: both valid, the last over the whole document" pdfsig_valid "$O/letter-2.pdf" 2
t_match "  ... pdfsig names both signers" "officer officer.*org officer" \
	"$(pdfsig "$O/letter-2.pdf" 2>/dev/null | grep 'Common Name' | tr '\n' ' ')"
pdf_cms "$O/letter-2.pdf" 1 "$O/s1.der" "$O/s1.bin"
pdf_cms "$O/letter-2.pdf" 2 "$O/s2.der" "$O/s2.bin"
t_ok "  ... OpenSSL cms -verify accepts the officer's CMS" cms_verify_openssl "$O/s1.der" "$O/s1.bin" "$PKI/ca.crt"
t_ok "  ... and the organisation's" cms_verify_openssl "$O/s2.der" "$O/s2.bin" "$PKI/ca.crt"
t_match "  ... which is RSA" 'rsaEncryption' "$(openssl cms -cmsout -print -inform DER -in "$O/s2.der" | grep -m1 'algorithm: rsa')"
t_ok "  ... kyso verify: both valid" "$K" verify --ca "$PKI/ca.crt" "$O/letter-2.pdf"

# Cancel in the middle: a key that wants its PIN for every signature
mkdir -p "$O/cancel"
script "pin $TOK_PIN" "pin $TOK_PIN" cancel
: > "$T_DIR/dialogs.log"
out=$("$K" sign-pdf --cert "$careful_id" --out-dir "$O/cancel" "$F"/batch/letter-{1,2,3,4,5}.pdf 2>&1)
rc=$?
n=$(echo "$out" | grep -c '^signed [0-9]/5: ')
t_eq "Cancel in the middle of a batch: exit 9 (cancelled)" 9 $rc
t_ok "  ... some were signed before the cancel, not all ($n of 5)" test "$n" -ge 1 -a "$n" -lt 5
t_eq "  ... those are written, and only those" "$n" "$(ls "$O/cancel" | wc -l)"
t_match "  ... the others are said not to be signed" "not signed: .*(cancel|stopped)" "$out"
for f in "$O"/cancel/*.pdf; do
	t_ok "  ... $(basename "$f") is valid" pdfsig_valid "$f" 1
done
t_eq "  ... no temporary file left" "" "$(ls -A "$O/cancel" | grep -v '^letter-[0-9]*\.pdf$')"

# B-T through the agent
if tsa_start "$T_DIR/tsa" ok; then
	script "pin $TOK_PIN"
	t_ok "B-T through the agent" "$K" sign-pdf -q --cert "$officer_id" --tsa "$TSA_URL" \
		--tsa-ca "$PKI/ca.crt" -o "$O/bt.pdf" "$F/os.pdf"
	t_match "  ... kyso verify sees the time stamp" "time stamp: .* by kyso test TSA: valid" \
		"$("$K" verify --ca "$PKI/ca.crt" "$O/bt.pdf")"
	t_ok "  ... pdfsig validates it" pdfsig_valid "$O/bt.pdf" 1
	echo "hello" > "$O/memo.txt"
	t_ok "kyso sign-cms --tsa: a CAdES-B-T .p7s" "$K" sign-cms --cert "$officer_id" --tsa "$TSA_URL" \
		-o "$O/memo.p7s" "$O/memo.txt"
	t_ok "  ... OpenSSL cms -verify accepts it" openssl cms -verify -binary -inform DER \
		-in "$O/memo.p7s" -content "$O/memo.txt" -CAfile "$PKI/ca.crt" -purpose any -out /dev/null
	if $PY "$T_TOP/tests/tools/cms_parts.py" "$O/memo.p7s" "$O/memo.sig" "$O/memo.tst"; then
		t_match "  ... openssl ts -verify: the token is over its signature value" 'Verification: OK' \
			"$(openssl ts -verify -data "$O/memo.sig" -in "$O/memo.tst" -token_in \
			-CAfile "$PKI/ca.crt" -untrusted "$PKI/tsa.crt" 2>&1)"
	else
		t_flunk "  ... the .p7s holds a time-stamp token"
	fi
	t_match "  ... kyso verify: valid, with its time stamp" "time stamp: .* valid" \
		"$("$K" verify --ca "$PKI/ca.crt" --content "$O/memo.txt" "$O/memo.p7s")"
	out=$("$K" sign-cms --cert "$officer_id" --tsa "http://127.0.0.1:$(free_port)/" \
		-o "$O/memo2.p7s" "$O/memo.txt" 2>&1)
	t_eq "  ... an unreachable TSA: not written" "1 no" "$? $([ -e "$O/memo2.p7s" ] && echo yes || echo no)"
	t_match "  ... says why" "cannot reach the time-stamp authority" "$out"
	tsa_stop
else
	t_flunk "the test TSA starts"
fi

# the Python example, over the socket
script "pin $TOK_PIN"
out=$($PY "$T_TOP/docs/examples/sign_pdf.py" "$officer_id" "$F/gs.pdf" "$O/py.pdf" 2>&1)
t_eq "docs/examples/sign_pdf.py signs over the socket" 0 $?
t_ok "  ... pdfsig validates its signature" pdfsig_valid "$O/py.pdf" 1
t_ok "  ... kyso verify too" "$K" verify --ca "$PKI/ca.crt" "$O/py.pdf"
t_ok "  ... and the original's bytes head the file" \
	cmp -n "$(stat -c %s "$F/gs.pdf")" "$F/gs.pdf" "$O/py.pdf"

# the C example, against an installed libkyso-pdf
root=$T_DIR/root
make -s -C "$T_TOP" BUILD="$BUILD" PREFIX=/usr DESTDIR="$root" install > "$T_DIR/install.log" 2>&1
pc=$root/usr/lib/pkgconfig
san=
ldd "$root/usr/lib/libkyso-pdf.so.0" | grep -q libasan && san="-fsanitize=address,undefined"
t_ok "docs/examples/sign_pdf.c builds with pkg-config kyso-pdf" sh -c "cc -std=c11 -Wall -Werror $san \
	\$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --cflags kyso-pdf) \
	-o '$T_DIR/sign_pdf' '$T_TOP/docs/examples/sign_pdf.c' \
	\$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --libs kyso-pdf)"
t_eq "libkyso-pdf.so exports only kyso_* symbols" "" \
	"$(nm -D --defined-only "$root/usr/lib/libkyso-pdf.so.0" | awk '{print $3}' | grep -v '^KYSO_PDF_0$' | grep -v '^kyso_')"
t_eq "libkyso.so needs no qpdf, cairo, pango or libcurl" "" \
	"$(ldd "$root/usr/lib/libkyso.so.0" | grep -E 'qpdf|cairo|pango|curl')"
mkdir -p "$O/c"
out=$(LD_LIBRARY_PATH=$root/usr/lib "$T_DIR/sign_pdf" "$officer_id" "$O/c" "$F/gs.pdf" "$F/form.pdf" 2>&1)
t_match "  ... it signs two files in one batch" "1/2 .*gs.pdf: signed.*2/2 .*form.pdf: signed" "$(echo "$out" | tr '\n' ' ')"
t_ok "  ... pdfsig validates them" pdfsig_valid "$O/c/form.pdf" 1
t_done

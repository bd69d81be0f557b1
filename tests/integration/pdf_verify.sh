#!/usr/bin/env bash
# pdf_verify.sh — kyso verify: what it reports for signed PDFs and .p7s files, and that
# tampering is caught with a sentence that says what: a byte changed inside the signed
# bytes, bytes or a whole unsigned revision appended after the last signature, a damaged
# CMS, a changed signature value, padding in /Contents changed, an untrusted chain; a
# .p7s over a changed file, or without its content. Exit status 0 only when all is valid,
# 12 when not. poppler's pdfsig agrees where it can tell.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/pdf.sh"

pdf_setup
officer -q --reason "Phê duyệt" -o "$O/one.pdf" "$F/gs.pdf" &&
	org -q -o "$O/two.pdf" "$O/one.pdf" || t_flunk "signed files made"

out=$("$K" verify --ca "$PKI/ca.crt" "$O/two.pdf"); rc=$?
t_eq "two valid signatures: exit 0" 0 $rc
t_match "  ... the officer, with the name from the certificate" \
	"signer: +OU=Trưởng phòng Hành chính,O=Bộ Quốc phòng,CN=Nguyễn Văn Thắng" "$out"
t_match "  ... the claimed time from /M, in Vietnam's time zone" \
	"signed at: +20[0-9-]+T[0-9:]+\+07:00 \(claimed, /M\)" "$out"
t_match "  ... the first covers revision 2 of 3, and says the document changed after it" \
	"covers: +revision 2 of 3: the document was changed after this signature" "$out"
t_match "  ... the second covers the whole document" "covers: +the whole document \(revision 3 of 3\)" "$out"
t_match "  ... digest, signature, attributes, chain" \
	"digest: +sha256, matches the signed bytes.*signature: +valid.*signing-certificate-v2 matches.*chain: +trusted by the CA bundle" \
	"$(echo "$out" | tr '\n' ' ')"
t_match "  ... and the verdict" "All signatures are valid." "$out"
json=$("$K" verify --ca "$PKI/ca.crt" --json "$O/two.pdf")
t_eq "--json: valid, two signatures, the second whole" "True 2 False True" \
	"$(echo "$json" | $PY -c 'import json,sys; r=json.load(sys.stdin); s=r["signatures"]; print(r["valid"], len(s), s[0]["whole_document"], s[1]["whole_document"])')"

# tamper TAMPERED DESC WANT [pdfsig]: exit 12 and the sentence
tampered() {
	local file=$1 desc=$2 want=$3 out rc
	out=$("$K" verify --ca "$PKI/ca.crt" "$file" 2>&1); rc=$?
	t_eq "$desc: not valid (exit 12)" 12 $rc
	t_match "  ... says: $want" "$want" "$out"
	t_match "  ... and the verdict" "NOT VALID" "$out"
}
cp "$O/two.pdf" "$O/t-byte.pdf"
printf 'X' | dd of="$O/t-byte.pdf" bs=1 seek=200 conv=notrunc 2>/dev/null
tampered "$O/t-byte.pdf" "a byte changed inside both signatures' bytes" \
	"the signed bytes were changed: their digest is not the one the signature holds"
t_eq "  ... both signatures are caught" 2 \
	"$("$K" verify --ca "$PKI/ca.crt" "$O/t-byte.pdf" | grep -c 'digest: .*DOES NOT match')"
t_match "  ... pdfsig agrees" "Digest Mismatch|Signature is Invalid" "$(pdfsig "$O/t-byte.pdf" 2>&1)"
cp "$O/two.pdf" "$O/t-tail.pdf"
echo "% appended" >> "$O/t-tail.pdf"
tampered "$O/t-tail.pdf" "bytes appended after the last signature" \
	"the document was changed after its last signature: 11 bytes after offset [0-9]+ are not covered"
# an unsigned incremental update: a new page content object, a table, a trailer
$PY - "$O/two.pdf" "$O/t-rev.pdf" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
size = int(re.findall(rb"/Size (\d+)", d)[-1])
prev = int(re.findall(rb"startxref\s+(\d+)", d)[-1])
obj = b"%d 0 obj\n(changed)\nendobj\n" % size
off = len(d)
x = off + len(obj)
d += obj + b"xref\n%d 1\n%010d 00000 n\r\ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, off, size + 1, prev, x)
open(sys.argv[2], "wb").write(d)
PY
tampered "$O/t-rev.pdf" "an unsigned revision appended" "the document was changed after its last signature"
t_match "  ... the last signature now covers revision 3 of 4" "covers: +revision 3 of 4" \
	"$("$K" verify --ca "$PKI/ca.crt" "$O/t-rev.pdf")"
# the CMS itself: its header damaged, its signature value changed, its padding changed
pdf_cms "$O/one.pdf" 1 "$O/one.der" "$O/one.bin"
at=$(grep -abo '/Contents <' "$O/one.pdf" | head -n 1 | cut -d: -f1)
at=$((at + 11))
cp "$O/one.pdf" "$O/t-cms.pdf"
printf 'FF' | dd of="$O/t-cms.pdf" bs=1 seek=$((at + 4)) conv=notrunc 2>/dev/null
tampered "$O/t-cms.pdf" "a damaged CMS (its length bytes)" "cannot be decoded as a CMS SignedData"
len=$(stat -c %s "$O/one.der")
cp "$O/one.pdf" "$O/t-sig.pdf"
# the last bytes of the DER are the ECDSA signature value's: one of them changed (to 00, or
# to FF when it is 00 already: a random signature has a 00 there once in 256 runs)
was=$(dd if="$O/t-sig.pdf" bs=1 skip=$((at + 2 * len - 4)) count=2 2>/dev/null)
[ "$was" = 00 ] && new=FF || new=00
printf '%s' "$new" | dd of="$O/t-sig.pdf" bs=1 seek=$((at + 2 * len - 4)) conv=notrunc 2>/dev/null
tampered "$O/t-sig.pdf" "a changed signature value" "the signature value does not verify"
cp "$O/one.pdf" "$O/t-pad.pdf"
printf '7' | dd of="$O/t-pad.pdf" bs=1 seek=$((at + 2 * len + 10)) conv=notrunc 2>/dev/null
tampered "$O/t-pad.pdf" "padding in /Contents changed" "bytes that are not zeros in the [0-9]+ bytes of padding"
out=$("$K" verify "$O/one.pdf" 2>&1); rc=$?
t_eq "a chain the system does not trust: exit 12" 12 $rc
t_match "  ... says so" "not trusted by the system's CA certificates" "$out"
out=$("$K" verify "$F/gs.pdf" 2>&1); rc=$?
t_eq "a PDF without signatures: exit 12" 12 $rc
t_match "  ... says so" "no signature found" "$out"
out=$("$K" verify --ca "$PKI/ca.crt" "$F/docmdp.pdf" 2>&1); rc=$?
t_eq "a document certified with DocMDP P=1 and changed after: exit 12" 12 $rc
t_match "  ... says so" 'certified with "no changes allowed" \(DocMDP P=1\) and was changed' "$out"
echo "not a signature" > "$O/junk.p7s"
out=$("$K" verify --content "$F/gs.ps" "$O/junk.p7s" 2>&1); rc=$?
t_eq "a .p7s that is not CMS: exit 12" 12 $rc
t_match "  ... says so" "cannot be decoded as a CMS SignedData" "$out"

# .p7s: CAdES made by OpenSSL, checked by kyso
openssl cms -sign -binary -cades -in "$F/gs.ps" -signer "$PKI/officer.crt" -inkey "$PKI/officer.key" \
	-outform DER -out "$O/gs.p7s" 2>/dev/null
out=$("$K" verify --ca "$PKI/ca.crt" --content "$F/gs.ps" "$O/gs.p7s"); rc=$?
t_eq "a CAdES .p7s made by OpenSSL over its file: valid" 0 $rc
t_match "  ... with its signing-time as the claimed time" "signed at: +20[0-9-]+T[0-9:]+Z \(claimed, signing-time\)" "$out"
cp "$F/gs.ps" "$O/changed.ps"; echo "%" >> "$O/changed.ps"
out=$("$K" verify --ca "$PKI/ca.crt" --content "$O/changed.ps" "$O/gs.p7s"); rc=$?
t_eq "  ... over a changed file: exit 12" 12 $rc
t_match "  ... says so" "the signed bytes were changed" "$out"
out=$("$K" verify --ca "$PKI/ca.crt" "$O/gs.p7s"); rc=$?
t_eq "  ... without its content: exit 12" 12 $rc
t_match "  ... asks for it" "give the signed file \(--content\)" "$out"
openssl cms -sign -binary -cades -nodetach -in "$F/gs.ps" -signer "$PKI/officer.crt" \
	-inkey "$PKI/officer.key" -outform PEM -out "$O/att.p7s" 2>/dev/null
t_ok "an attached CAdES signature (PEM), content inside: valid" \
	"$K" verify --ca "$PKI/ca.crt" "$O/att.p7s"

# damaged files: kyso verify and sign-pdf answer (a status, a sentence), never crash
# (under ASan in the sanitizer pass): bytes overwritten at seeded random places
crashed=0 answered=0
for seed in $(seq 1 ${PDF_MUTATIONS:-60}); do
	$PY - "$O/two.pdf" "$O/m.pdf" "$seed" <<'PY'
import random, sys
d = bytearray(open(sys.argv[1], "rb").read())
r = random.Random(int(sys.argv[3]))
for _ in range(r.randint(1, 8)):
    at = r.randrange(len(d))
    n = r.randint(1, 16)
    d[at:at + n] = bytes(r.choice(b"0123456789<>[]/() RobjendxfFEOP\n\x00\xff") for _ in range(n))
open(sys.argv[2], "wb").write(d)
PY
	"$K" verify --ca "$PKI/ca.crt" "$O/m.pdf" > "$O/m.out" 2>&1; rc=$?
	if [ $rc -ge 128 ] || grep -q 'Sanitizer' "$O/m.out"; then
		crashed=$((crashed + 1)); echo "# seed $seed: kyso verify exit $rc"; sed 's/^/#   /' "$O/m.out" | head -n 20
	fi
	[ $rc = 0 ] || [ $rc = 12 ] || [ $rc = 1 ] && answered=$((answered + 1))
	rm -f "$O/m-signed.pdf"
	officer -q -o "$O/m-signed.pdf" "$O/m.pdf" > "$O/m.out" 2>&1; rc=$?
	if [ $rc -ge 128 ] || grep -q 'Sanitizer' "$O/m.out"; then
		crashed=$((crashed + 1)); echo "# seed $seed: sign-pdf exit $rc"; sed 's/^/#   /' "$O/m.out" | head -n 20
	fi
done
t_eq "${PDF_MUTATIONS:-60} damaged copies: kyso verify and sign-pdf never crash" 0 "$crashed"
t_eq "  ... and kyso verify always answers 0, 1 or 12" "${PDF_MUTATIONS:-60}" "$answered"
t_done

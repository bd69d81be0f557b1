#!/usr/bin/env bash
# pdf_files.sh — PAdES on PDFs of every kind, checked by independent verifiers: poppler's
# pdfsig ("Signature is Valid", ETSI.CAdES.detached, the last "Total document signed"),
# OpenSSL cms -verify over the bytes the /ByteRange covers, qpdf --check, cmp (the
# original bytes unchanged at the head of the signed file). Two signatures in sequence
# (an officer's P-256, then the organisation's RSA-2048) both stay valid. PDFs from
# Ghostscript, with object streams and a cross-reference stream, 200 pages, forms (the
# /AcroForm indirect or direct, /Fields and /Annots indirect), a file without an end of
# line after %%EOF, and LibreOffice (once, in the normal build). Visible signatures are
# drawn with Vietnamese text (pdftotext reads it back) and a transparent seal.
# The CMS comes from a software key through sign-pdf's own code (tests/tools/pdf_softsign):
# the PDF machinery is tested here without a token; pdf_agent.sh signs through kysod.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/pdf.sh"

pdf_setup

# check_signed ORIGINAL SIGNED N: every independent check of a file with N signatures
check_signed() {
	local orig=$1 out=$2 n=$3 name
	name=$(basename "$out")
	t_ok "$name: pdfsig validates $n signature(s), the last covering the whole file" \
		pdfsig_valid "$out" "$n"
	t_ok "$name: the original's bytes are its first bytes (cmp)" \
		cmp -n "$(stat -c %s "$orig")" "$orig" "$out"
	t_ok "$name: qpdf --check finds no error" qpdf --check "$out"
	pdf_cms "$out" "$n" "$O/$name.der" "$O/$name.bin"
	t_ok "$name: OpenSSL cms -verify accepts the last CMS over its /ByteRange" \
		cms_verify_openssl "$O/$name.der" "$O/$name.bin" "$PKI/ca.crt"
	t_eq "$name: the CMS holds signing-certificate-v2 and no signing-time (OpenSSL)" \
		"object:id-smime-aa-signingCertificateV2(1.2.840.113549.1.9.16.2.47)" \
		"$(openssl cms -cmsout -print -inform DER -in "$O/$name.der" | grep -E 'object: (id-smime-aa-signingCertificateV2|signingTime)' | tr -d ' ')"
	t_ok "$name: kyso verify: every signature valid, chained to the test CA" \
		"$K" verify --ca "$PKI/ca.crt" "$out"
}

for f in gs os p200 form form-direct noeol; do
	t_ok "$f.pdf: the officer signs (P-256)" officer -q -o "$O/$f-1.pdf" "$F/$f.pdf"
	check_signed "$F/$f.pdf" "$O/$f-1.pdf" 1
	t_ok "$f.pdf: then the organisation signs (RSA-2048)" org -q -o "$O/$f-2.pdf" "$O/$f-1.pdf"
	check_signed "$O/$f-1.pdf" "$O/$f-2.pdf" 2
done
t_match "a cross-reference stream is continued by a cross-reference stream" '/Type /XRef' \
	"$(tail -c +"$(($(stat -c %s "$F/os.pdf") + 1))" "$O/os-1.pdf" | grep -a -o '/Type /XRef' | head -n 1)"
t_match "a table is continued by a table" '^xref' \
	"$(tail -c +"$(($(stat -c %s "$F/gs.pdf") + 1))" "$O/gs-1.pdf" | grep -a '^xref' | head -n 1)"
t_match "an existing form keeps its field and gains both signatures" \
	'Fields \[ 6 0 R [0-9]+ 0 R [0-9]+ 0 R \]' "$(qpdf --show-object=8 "$O/form-2.pdf")"
t_eq "the 200 pages are all still there" 200 "$(qpdf --show-npages "$O/p200-2.pdf")"

# a visible signature: Vietnamese text, a transparent seal; drawn and read back
t_ok "a visible signature with a seal on page 1" officer -q --reason "Phê duyệt văn bản" \
	--location "Hà Nội" --rect 300,560,250,80 --page 1 --image "$F/seal.png" \
	-o "$O/visible.pdf" "$F/gs.pdf"
check_signed "$F/gs.pdf" "$O/visible.pdf" 1
text=$(pdftotext "$O/visible.pdf" - 2>/dev/null)
for s in "Ký số bởi: Nguyễn Văn Thắng" "Bộ Quốc phòng" "Lý do: Phê duyệt văn bản" \
	"Nơi ký: Hà Nội" "Thời gian ký: 20[0-9-]+T[0-9:]+\+07:00"; do
	t_match "pdftotext reads \"$s\" from the appearance" "$s" "$text"
done
t_match "the font is embedded as a subset with a ToUnicode map" '/ToUnicode' \
	"$(qpdf --qdf --object-streams=disable "$O/visible.pdf" - | grep -a -o '/ToUnicode' | head -n 1)"
t_match "the seal's transparency is kept (an SMask)" '/SMask' \
	"$(qpdf --qdf --object-streams=disable "$O/visible.pdf" - | grep -a -o '/SMask' | head -n 1)"
t_ok "the organisation signs next to it (its seal over the officer's signature)" \
	org -q --rect 250,560,90,90 --page 1 --image "$F/seal.png" --text "" \
	-o "$O/visible-2.pdf" "$O/visible.pdf"
check_signed "$O/visible.pdf" "$O/visible-2.pdf" 2
t_ok "the organisation's signature as small italic text on the last page" \
	org -q --rect 400,800,180,30 --font "DejaVu Sans Italic" --text '%o\n%t' \
	-o "$O/visible-3.pdf" "$O/visible-2.pdf"
check_signed "$O/visible-2.pdf" "$O/visible-3.pdf" 3
t_match "  ... on the last page (2)" 'Bộ Quốc phòng' \
	"$(pdftotext -f 2 -l 2 "$O/visible-3.pdf" - 2>/dev/null)"
# the first page as an officer sees it, kept for people to look at
rm -f "$O"/page-*.png
pdftoppm -r 150 -f 1 -l 1 -png "$O/visible-3.pdf" "$O/page" 2>/dev/null
if [ -f "$O/page-1.png" ]; then
	cp "$O/page-1.png" "$BUILD/tests/pdf-visible-signatures.png"
	t_pass "pdftoppm draws the signed page ($BUILD/tests/pdf-visible-signatures.png)"
else
	t_flunk "pdftoppm draws the signed page"
fi

# an empty signature field the author placed: --field signs into it, at its place
$PY "$MKPDF" pages "$F/p1.pdf" 1
$PY - "$F/p1.pdf" "$F/placed.pdf" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
size = int(re.findall(rb"/Size (\d+)", d)[-1])
prev = int(re.findall(rb"startxref\s+(\d+)", d)[-1])
root = re.findall(rb"/Root (\d+) 0 R", d)[-1]
cat = d[d.rindex(b"\n" + root + b" 0 obj"):]
cat = cat[cat.index(b"<<"):cat.index(b"endobj")].strip()[:-2]
page = re.search(rb"/Kids \[(\d+) 0 R", d).group(1)
pg = d[d.rindex(b"\n" + page + b" 0 obj"):]
pg = pg[pg.index(b"<<"):pg.index(b"endobj")].strip()[:-2]
f, fo = size, size + 1
# the field merged with its widget, as Acrobat and LibreOffice make them
objs = [(f, b"<< /FT /Sig /T (ChuKy) /Type /Annot /Subtype /Widget /Rect [300 500 500 560] "
         b"/P %s 0 R /F 4 >>" % page),
        (int(page), pg + b" /Annots [%d 0 R] >>" % f),
        (int(root), cat + b" /AcroForm %d 0 R >>" % (f + 1)),
        (f + 1, b"<< /Fields [%d 0 R] >>" % f)]
out = bytearray(d)
offs = {}
for n, body in objs:
    offs[n] = len(out)
    out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
x = len(out)
out += b"xref\n"
for n in sorted(offs):
    out += b"%d 1\n%010d 00000 n\r\n" % (n, offs[n])
out += b"trailer\n<< /Size %d /Root %s 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size + 2, root, prev, x)
open(sys.argv[2], "wb").write(out)
PY
t_ok "a PDF with an empty signature field 'ChuKy' (qpdf --check)" qpdf --check "$F/placed.pdf"
t_ok "--field ChuKy signs into it" officer -q --field ChuKy -o "$O/placed-1.pdf" "$F/placed.pdf"
check_signed "$F/placed.pdf" "$O/placed-1.pdf" 1
t_match "  ... in that field, not a new one" "Signature Field Name: ChuKy" "$(pdfsig "$O/placed-1.pdf" 2>/dev/null)"
t_eq "  ... the form still has one field" "1" \
	"$(qpdf --show-object="$(grep -a -o '/AcroForm [0-9]*' "$O/placed-1.pdf" | tail -n 1 | cut -d' ' -f2)" "$O/placed-1.pdf" | grep -o '[0-9]* 0 R' | wc -l)"
t_match "  ... drawn where the author placed it" 'Ký số bởi' \
	"$(pdftotext -x 290 -y 270 -W 220 -H 80 "$O/placed-1.pdf" - 2>/dev/null)"
out=$(officer --field ChuKy -o "$O/placed-2.pdf" "$O/placed-1.pdf" 2>&1)
t_eq "  ... a second --field ChuKy: refused, it is signed" 1 $?
t_match "  ... says so" "already has a field named 'ChuKy', signed" "$out"
out=$(officer --field ChuKy --rect 1,1,50,20 -o "$O/placed-3.pdf" "$F/placed.pdf" 2>&1)
t_eq "  ... --rect with it: refused, the field has its place" 1 $?

# pages shown turned (/Rotate): the rectangle is where the officer sees it, the text upright
qpdf --rotate=+90 "$F/gs.pdf" "$F/rot90.pdf"
qpdf --rotate=+180 "$F/gs.pdf" "$F/rot180.pdf"
t_ok "a page turned 90°: a visible signature at 20,20 as shown" officer -q --rect 20,20,250,70 \
	--page 1 -o "$O/rot90.pdf" "$F/rot90.pdf"
check_signed "$F/rot90.pdf" "$O/rot90.pdf" 1
t_match "  ... its widget is at the shown lower-left corner, turned (/Rect)" \
	'/Rect \[505.00 20.00 575.00 270.00\]' "$(grep -a -o '/Rect \[[^]]*\]' "$O/rot90.pdf")"
t_match "  ... its appearance turned back (/Matrix)" '/Matrix \[0 1 -1 0 0 0\]' \
	"$(grep -a -o '/Matrix \[[^]]*\]' "$O/rot90.pdf")"
t_ok "a page turned 180°: signed visibly" officer -q --rect 20,20,250,70 --page 1 \
	-o "$O/rot180.pdf" "$F/rot180.pdf"
check_signed "$F/rot180.pdf" "$O/rot180.pdf" 1
t_match "  ... at the shown lower-left corner" '/Rect \[325.00 752.00 575.00 822.00\]' \
	"$(grep -a -o '/Rect \[[^]]*\]' "$O/rot180.pdf")"

# LibreOffice's PDF (a slow peer: once, in the normal build only)
if ldd "$BUILD/kyso" | grep -q libasan; then
	t_skip "a LibreOffice PDF, signed twice" "the ASan pass (LibreOffice runs once, in the normal build)"
elif ! command -v soffice >/dev/null; then
	t_skip "a LibreOffice PDF, signed twice" "soffice is not installed (libreoffice-writer-nogui)"
else
	printf 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n\nCông văn số 123\n' \
		> "$F/lo.txt"
	if HOME=$T_DIR/lohome timeout 300 soffice --headless --convert-to pdf --outdir "$F" \
		"$F/lo.txt" > "$T_DIR/soffice.log" 2>&1 && [ -s "$F/lo.pdf" ]; then
		t_ok "a LibreOffice PDF: the officer signs, visibly" officer -q --rect 300,600,250,70 \
			-o "$O/lo-1.pdf" "$F/lo.pdf"
		check_signed "$F/lo.pdf" "$O/lo-1.pdf" 1
		t_ok "  ... then the organisation" org -q -o "$O/lo-2.pdf" "$O/lo-1.pdf"
		check_signed "$O/lo-1.pdf" "$O/lo-2.pdf" 2
	else
		t_flunk "LibreOffice converts a text file to PDF" "$(cat "$T_DIR/soffice.log")"
	fi
fi
t_done

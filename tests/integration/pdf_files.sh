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

# pages shown turned (/Rotate): the rectangle is where the officer sees it, the text upright
qpdf --rotate=+90 "$F/gs.pdf" "$F/rot90.pdf"
qpdf --rotate=+180 "$F/gs.pdf" "$F/rot180.pdf"
t_ok "a page turned 90°: a visible signature at 20,20 as shown" officer -q --rect 20,20,250,70 \
	--page 1 -o "$O/rot90.pdf" "$F/rot90.pdf"
check_signed "$F/rot90.pdf" "$O/rot90.pdf" 1
t_match "  ... its widget is at the shown lower-left corner, turned (/Rect), its appearance turned back (/Matrix)" \
	'/Rect \[505.00 20.00 575.00 270.00\] /Matrix \[0 1 -1 0 0 0\]' \
	"$(grep -a -o '/Matrix \[[^]]*\]\|/Rect \[505[^]]*\]' "$O/rot90.pdf" | tr '\n' ' ')"
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

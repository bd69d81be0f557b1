#!/usr/bin/env bash
# pdf_refuse.sh — what sign-pdf refuses, and that nothing half-written is ever left: not
# a PDF, truncated or damaged, encrypted (with and without a password), certified with
# DocMDP P=1, a field name that exists, a page out of range, an image that is not a PNG,
# an output that exists (unless --force), the input as the output, a batch with one bad
# file (nothing signed), a missing output directory, a full disk (a 64 KiB tmpfs in a
# private mount namespace, as root). The inputs are never changed.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/pdf.sh"

pdf_setup
before=$(cd "$F" && sha256sum ./*)

# refused DESC WANT ARGS...: exit 1, the message, and no file at all in $O
refused() {
	local desc=$1 want=$2 out rc; shift 2
	rm -rf "${O:?}"/* "$O"/.[!.]* 2>/dev/null
	out=$(officer "$@" 2>&1); rc=$?
	t_eq "$desc: refused (exit 1)" 1 "$rc"
	t_match "  ... says: $want" "$want" "$out"
	t_eq "  ... nothing written (not even a temporary file)" "" "$(ls -A "$O")"
}

echo "just text" > "$F/text.pdf"
refused "not a PDF" "text.pdf is not a PDF file" -o "$O/x.pdf" "$F/text.pdf"
head -c $(($(stat -c %s "$F/gs.pdf") / 2)) "$F/gs.pdf" > "$F/half.pdf"
refused "a truncated PDF (half of it)" "half.pdf is damaged or truncated" -o "$O/x.pdf" "$F/half.pdf"
head -c $(($(stat -c %s "$F/gs.pdf") - 30)) "$F/gs.pdf" > "$F/noend.pdf"
refused "a PDF without its last 30 bytes (startxref, %%EOF)" "noend.pdf is damaged or truncated" \
	-o "$O/x.pdf" "$F/noend.pdf"
sed 's/startxref/startxrex/' "$F/gs.pdf" > "$F/damaged.pdf"
refused "a damaged PDF (no startxref)" "damaged.pdf is damaged" -o "$O/x.pdf" "$F/damaged.pdf"
refused "an encrypted PDF (empty user password)" "enc.pdf is encrypted: kyso does not sign encrypted PDFs" \
	-o "$O/x.pdf" "$F/enc.pdf"
qpdf --encrypt user owner 256 -- "$F/gs.pdf" "$F/encpw.pdf"
refused "an encrypted PDF that needs a password" "encpw.pdf is encrypted \(it needs a password\)" \
	-o "$O/x.pdf" "$F/encpw.pdf"
refused "a PDF certified with DocMDP P=1" 'certified with "no changes allowed" \(DocMDP P=1\)' \
	-o "$O/x.pdf" "$F/docmdp.pdf"
officer -q -o "$T_DIR/signed.pdf" "$F/gs.pdf"
refused "a field name that exists (--field Signature1)" "already has a field named 'Signature1'" \
	--field Signature1 -o "$O/x.pdf" "$T_DIR/signed.pdf"
refused "a form field that exists (--field Name)" "already has a field named 'Name'" \
	--field Name -o "$O/x.pdf" "$F/form.pdf"
refused "a page out of range (--page 3 of 2)" "gs.pdf has 2 pages: there is no page 3" \
	--page 3 --rect 10,10,100,40 -o "$O/x.pdf" "$F/gs.pdf"
refused "an image that is not a PNG" "is not a PNG image cairo can read" \
	--rect 10,10,100,40 --image "$F/gs.ps" -o "$O/x.pdf" "$F/gs.pdf"
refused "a batch with one bad file: nothing is signed" "text.pdf is not a PDF file.*nothing was signed" \
	--out-dir "$O" "$F/gs.pdf" "$F/text.pdf" "$F/os.pdf"
refused "an output directory that does not exist" "is not a directory you can write in; nothing was signed" \
	--out-dir "$O/missing" "$F/gs.pdf"
out=$(officer -o "$O/x.pdf" --page 1 "$F/gs.pdf" 2>&1)
t_eq "a page without a rectangle is no visible signature: signed (exit 0)" 0 $?
out=$(officer --visible -o "$O/y.pdf" "$F/gs.pdf" 2>&1)
t_eq "--visible without --rect: usage error (exit 2)" 2 $?
t_match "  ... says so" "--visible needs --rect" "$out"

# the output exists; --force; the input as the output
rm -rf "${O:?}"/*
echo "precious" > "$O/exists.pdf"
out=$(officer -o "$O/exists.pdf" "$F/gs.pdf" 2>&1)
t_eq "an output that exists: refused (exit 1)" 1 $?
t_match "  ... says: use --force" "exists.pdf exists \(use --force to replace it\)" "$out"
t_eq "  ... and leaves it as it was" "precious" "$(cat "$O/exists.pdf")"
t_ok "with --force it is replaced" officer -q --force -o "$O/exists.pdf" "$F/gs.pdf"
t_ok "  ... by the signed file" pdfsig_valid "$O/exists.pdf" 1
cp "$F/gs.pdf" "$O/same.pdf"
out=$(officer --force -o "$O/same.pdf" "$O/same.pdf" 2>&1)
t_eq "the input as the output, even with --force: refused" 1 $?
t_match "  ... says why" "never changes the document it signs" "$out"
t_ok "  ... the input is as it was" cmp "$F/gs.pdf" "$O/same.pdf"
t_eq "no temporary file left anywhere in the output directory" "" \
	"$(ls -A "$O" | grep -v -x -e exists.pdf -e same.pdf)"
t_eq "every input is unchanged (sha256)" "$before" \
	"$(cd "$F" && sha256sum $(echo "$before" | awk '{print $2}'))"

# a full disk: the write fails, nothing is left behind
ns=$T_DIR/full
mkdir -p "$ns"
$PY "$MKPDF" pages "$F/big.pdf" 2000
if [ "$(id -u)" != 0 ]; then
	t_skip "a full disk: an error, nothing left" "needs root for a tmpfs in a private mount namespace"
elif ! unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k tmpfs "$1"' _ "$ns" \
	2> "$T_DIR/unshare.err"; then
	t_skip "a full disk: an error, nothing left" "cannot mount a tmpfs: $(head -n 1 "$T_DIR/unshare.err")"
else
	out=$(unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k tmpfs "$1" &&
		shift && "$@"; echo "rc=$?"; echo "left: $(ls -A "$0")"' "$ns" "$ns" \
		"$BUILD/tests/pdf_softsign" "$PKI/officer.key" "$PKI/ca.crt" sign-pdf \
		--cert "$PKI/officer.crt" -o "$ns/big-signed.pdf" "$F/big.pdf" 2>&1)
	t_match "a full disk (a 64 KiB tmpfs, a $(($(stat -c %s "$F/big.pdf") / 1024)) KiB PDF): exit 1" \
		"rc=1" "$out"
	t_match "  ... says: No space left on device" "cannot write .*big-signed.pdf: No space left on device" "$out"
	t_match "  ... nothing is left on it (no half file, no temporary file)" "left: $" "$out"
fi
t_done

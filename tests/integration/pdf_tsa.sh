#!/usr/bin/env bash
# pdf_tsa.sh — PAdES B-T: an RFC 3161 time stamp over the signature value, from a local
# time-stamp authority (OpenSSL's `ts -reply` behind tests/tools/tsa-server.py on
# 127.0.0.1, a port the system chose). pdfsig still validates the signature; OpenSSL
# sees the token in the CMS (cms -cmsout -print) and `ts -verify` accepts it over the
# signature value against the test CA; kyso verify shows its time. A TSA that cannot be
# reached, answers HTTP 500, garbage, or a token over another imprint: an error naming
# it, and no output file (the officer asked for B-T).
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/pdf.sh"

pdf_setup
trap 'tsa_stop; t_cleanup' EXIT

if ! tsa_start "$T_DIR/tsa" ok; then
	t_flunk "the test TSA starts"; t_done; exit 1
fi
t_ok "B-T: the officer signs with a time stamp" officer -q --tsa "$TSA_URL" \
	--tsa-ca "$PKI/ca.crt" -o "$O/bt.pdf" "$F/gs.pdf"
t_ok "  ... pdfsig validates it (ETSI.CAdES.detached, whole document)" pdfsig_valid "$O/bt.pdf" 1
t_ok "  ... the original's bytes are its first bytes" \
	cmp -n "$(stat -c %s "$F/gs.pdf")" "$F/gs.pdf" "$O/bt.pdf"
pdf_cms "$O/bt.pdf" 1 "$O/bt.der" "$O/bt.bin"
t_ok "  ... OpenSSL cms -verify accepts the CMS with its token added" \
	cms_verify_openssl "$O/bt.der" "$O/bt.bin" "$PKI/ca.crt"
t_match "  ... OpenSSL sees the unsigned attribute id-smime-aa-timeStampToken" \
	'id-smime-aa-timeStampToken' "$(openssl cms -cmsout -print -inform DER -in "$O/bt.der")"
if $PY "$T_TOP/tests/tools/cms_parts.py" "$O/bt.der" "$O/sigvalue.bin" "$O/token.der"; then
	t_match "  ... openssl ts -verify: the token is over the signature value, signed by the TSA" \
		'Verification: OK' "$(openssl ts -verify -data "$O/sigvalue.bin" -in "$O/token.der" \
		-token_in -CAfile "$PKI/ca.crt" -untrusted "$PKI/tsa.crt" 2>&1)"
	t_match "  ... the token's time is now (openssl ts -reply -text)" \
		"Time stamp: $(date -u +'%b %e')" "$(openssl ts -reply -in "$O/token.der" -token_in -text 2>&1)"
else
	t_flunk "  ... the CMS holds a time-stamp token"
fi
out=$("$K" verify --ca "$PKI/ca.crt" "$O/bt.pdf")
t_eq "  ... kyso verify: valid" 0 $?
t_match "  ... kyso verify shows the time stamp and its authority" \
	"time stamp: +$(date -u +%Y-%m-%d)T[0-9:]+Z by kyso test TSA: valid" "$out"
t_eq "  ... the TSA got one application/timestamp-query" "application/timestamp-query" \
	"$(cat "$T_DIR/tsa/requests")"
t_ok "B-T without a CA bundle: the token is checked with the certificate it carries" \
	org -q --tsa "$TSA_URL" -o "$O/bt2.pdf" "$O/bt.pdf"
t_ok "  ... both signatures valid (pdfsig)" pdfsig_valid "$O/bt2.pdf" 2
t_ok "  ... both valid, both time-stamped (kyso verify)" "$K" verify --ca "$PKI/ca.crt" "$O/bt2.pdf"
t_eq "  ... two tokens in the file" 2 \
	"$("$K" verify --ca "$PKI/ca.crt" --json "$O/bt2.pdf" | grep -c '"authority": "kyso test TSA"')"
: > "$T_DIR/tsa/requests"
mkdir -p "$O/batch"
t_ok "a batch of three, time-stamped" officer -q --tsa "$TSA_URL" --out-dir "$O/batch" \
	"$F/gs.pdf" "$F/os.pdf" "$F/form.pdf"
t_eq "  ... one time-stamp request per document" 3 "$(wc -l < "$T_DIR/tsa/requests")"
for f in gs os form; do
	t_ok "  ... $f.pdf time-stamped and valid" "$K" verify --ca "$PKI/ca.crt" "$O/batch/$f.pdf"
done
tsa_stop

# what goes wrong: an error that names it, and no file
fail_case() {
	local desc=$1 url=$2 want=$3 out rc
	out=$(officer -q --tsa "$url" -o "$O/none.pdf" "$F/gs.pdf" 2>&1); rc=$?
	t_eq "$desc: exit status 1" 1 "$rc"
	t_match "  ... says: $want" "$want" "$out"
	t_ok "  ... and writes no file (not even a temporary one)" \
		test -z "$(ls -A "$O" | grep -v -E '^(bt|bt2)\.(pdf|der|bin)$|^sigvalue.bin$|^token.der$|^batch$')"
}
fail_case "an unreachable TSA" "http://127.0.0.1:$(free_port)/" \
	"cannot reach the time-stamp authority at http://127.0.0.1:[0-9]+/"
for mode in garbage http500 imprint; do
	if ! tsa_start "$T_DIR/tsa-$mode" "$mode"; then
		t_flunk "the test TSA starts ($mode)"; continue
	fi
	case $mode in
	garbage) want="did not answer with a time-stamp response" ;;
	http500) want="answered HTTP 500" ;;
	imprint) want="does not match the request or does not verify" ;;
	esac
	fail_case "a TSA answering $mode" "$TSA_URL" "$want"
	tsa_stop
done
t_done

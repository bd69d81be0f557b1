# tests/lib/pdf.sh — fixtures and independent checks for the PDF tests.
#   pdf_pki DIR                  a test CA (DIR/ca.crt), an officer's P-256 key and
#                                certificate with Vietnamese names (DIR/officer.key/.crt),
#                                an organisation's RSA-2048 (DIR/org.key/.crt), a TSA's
#                                (DIR/tsa.key/.crt, EKU timeStamping)
#   pdf_fixtures DIR             test PDFs: gs.pdf (Ghostscript, 2 pages), os.pdf (object
#                                streams and a cross-reference stream), p200.pdf, form.pdf,
#                                form-direct.pdf, docmdp.pdf, noeol.pdf, enc.pdf
#                                (encrypted), seal.png (red, transparent)
#   pdf_setup                    pdf_pki and pdf_fixtures into $PKI, $F, and $O for outputs
#   officer / org ARGS...        sign-pdf with the officer's / organisation's software key
#   pdf_softsign KEY CERT ARGS... sign-pdf with a software key (no agent)
#   pdfsig_valid FILE N          poppler's pdfsig: N signatures, all valid, the last
#                                "Total document signed", all ETSI.CAdES.detached
#   pdf_cms FILE I OUT.der OUT.bin  signature I (1-based) of FILE: its CMS and the bytes
#                                its /ByteRange covers
#   cms_verify_openssl DER BIN CA   OpenSSL cms -verify of a detached CMS over BIN
#   tsa_start DIR MODE / tsa_stop  the local time-stamp authority (tests/tools/tsa-server.py)
# Needs $T_DIR, $BUILD, $T_TOP.

PY=/usr/bin/python3
MKPDF=$T_TOP/tests/tools/mkpdf.py

pdf_pki() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.crt" -days 30 \
		-subj "/CN=kyso test CA/O=kyso tests" 2>/dev/null || return 1
	printf 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\n' \
		> "$d/sign.cnf"
	printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' \
		> "$d/tsa.cnf"
	pdf_pki_cert "$d" officer "ec -pkeyopt ec_paramgen_curve:prime256v1" \
		"/CN=Nguyễn Văn Thắng/O=Bộ Quốc phòng/OU=Trưởng phòng Hành chính" sign.cnf &&
	pdf_pki_cert "$d" org "rsa:2048" "/CN=Văn phòng Bộ Quốc phòng/O=Bộ Quốc phòng" sign.cnf &&
	pdf_pki_cert "$d" tsa "ec -pkeyopt ec_paramgen_curve:prime256v1" \
		"/CN=kyso test TSA/O=kyso tests" tsa.cnf
}

# pdf_pki_cert DIR NAME KEYSPEC SUBJECT EXTFILE
pdf_pki_cert() {
	local d=$1 name=$2
	# shellcheck disable=SC2086
	openssl req -new -newkey $3 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" \
		-utf8 -subj "$4" 2>/dev/null &&
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -days 30 -extfile "$d/$5" -out "$d/$name.crt" 2>/dev/null
}

pdf_fixtures() {
	local d=$1
	mkdir -p "$d"
	printf '%%!PS\n/Helvetica findfont 20 scalefont setfont\n72 700 moveto (Official letter 123) show showpage\n72 700 moveto (Page 2) show showpage\n' \
		> "$d/gs.ps"
	ps2pdf "$d/gs.ps" "$d/gs.pdf" || return 1
	qpdf --object-streams=generate "$d/gs.pdf" "$d/os.pdf" || return 1
	for k in form form-direct docmdp noeol; do
		$PY "$MKPDF" $k "$d/$k.pdf" || return 1
	done
	$PY "$MKPDF" pages "$d/p200.pdf" 200 || return 1
	qpdf --encrypt "" owner 256 -- "$d/gs.pdf" "$d/enc.pdf" || return 1
	$PY - "$d/seal.png" <<'PY'
import struct, sys, zlib
w = h = 120
rows = b""
for y in range(h):
    rows += b"\0"
    for x in range(w):
        d = ((x - 60) ** 2 + (y - 60) ** 2) ** 0.5
        rows += bytes([210, 20, 30, 255 if 44 < d < 58 or (abs(x - 60) < 18 and abs(y - 60) < 18) else 0])
def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
}

# pdf_setup: the PKI in $PKI, the fixtures in $F, an output directory $O (all in $T_DIR);
# ends the test if they cannot be made. officer and org then sign with software keys.
pdf_setup() {
	PKI=$T_DIR/pki F=$T_DIR/f O=$T_DIR/out
	mkdir -p "$O"
	if ! pdf_pki "$PKI" || ! pdf_fixtures "$F"; then
		t_flunk "test PKI and PDFs made"; t_done; exit 1
	fi
}
officer() { pdf_softsign "$PKI/officer.key" "$PKI/officer.crt" "$@"; }
org() { pdf_softsign "$PKI/org.key" "$PKI/org.crt" "$@"; }

# pdf_softsign KEY CERT ARGS...: kyso sign-pdf's code with a software key
pdf_softsign() {
	local key=$1 cert=$2; shift 2
	"$BUILD/tests/pdf_softsign" "$key" "$PKI/ca.crt" sign-pdf --cert "$cert" "$@"
}

# pdfsig_valid FILE N: prints what is wrong, returns 1 if anything is
pdfsig_valid() {
	local out n
	out=$(pdfsig "$1" 2>&1)
	n=$(printf '%s\n' "$out" | grep -c 'Signature Validation: Signature is Valid.')
	if [ "$n" != "$2" ]; then echo "pdfsig: $n of $2 valid"; echo "$out"; return 1; fi
	if [ "$(printf '%s\n' "$out" | grep -c 'Signature Type: ETSI.CAdES.detached')" != "$2" ]; then
		echo "pdfsig: not all ETSI.CAdES.detached"; echo "$out"; return 1
	fi
	if ! printf '%s\n' "$out" | tail -n 6 | grep -q 'Total document signed'; then
		echo "pdfsig: the last signature does not cover the whole document"; echo "$out"; return 1
	fi
}

# pdf_cms FILE I CMS.der SIGNED.bin
pdf_cms() {
	$PY - "$@" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
i = int(sys.argv[2])
ranges = [tuple(map(int, m.groups())) for m in
          re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)]
a0, a1, b0, b1 = sorted(ranges, key=lambda r: r[2] + r[3])[i - 1]
gap = data[a1:b0].strip(b"<>")
der = bytes.fromhex(gap.decode())
# the DER length of the outer SEQUENCE: the rest is padding
n = der[1]
if n & 0x80:
    k = n & 0x7f
    n = int.from_bytes(der[2:2 + k], "big") + 2 + k
else:
    n += 2
open(sys.argv[3], "wb").write(der[:n])
open(sys.argv[4], "wb").write(data[a0:a0 + a1] + data[b0:b0 + b1])
PY
}

# cms_verify_openssl CMS.der SIGNED.bin CA: OpenSSL accepts the detached CMS
cms_verify_openssl() {
	openssl cms -verify -inform DER -in "$1" -content "$2" -binary -CAfile "$3" \
		-purpose any -out /dev/null 2>&1
}

tsa_start() {
	local d=$1 mode=$2
	mkdir -p "$d"
	rm -f "$d/port" "$d/requests"
	[ -f "$d/serial" ] || echo 01 > "$d/serial"
	cat > "$d/tsa.cnf" <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $d/serial
signer_cert = $PKI/tsa.crt
certs = $PKI/tsa.crt
signer_key = $PKI/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
	$PY "$T_TOP/tests/tools/tsa-server.py" "$d" "$mode" 2>> "$d/server.log" &
	TSA_PID=$!
	# ready when it has written its port (no fixed sleep)
	for _ in $(seq 1 400); do
		[ -s "$d/port" ] && { TSA_URL="http://127.0.0.1:$(cat "$d/port")/"; return 0; }
		kill -0 "$TSA_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# the test TSA did not start:"; sed 's/^/#   /' "$d/server.log"
	return 1
}

tsa_stop() {
	[ -n "${TSA_PID:-}" ] || return 0
	kill "$TSA_PID" 2>/dev/null
	wait "$TSA_PID" 2>/dev/null
	TSA_PID=
}

# A port on 127.0.0.1 that nothing listens on (bound, then closed).
free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

#!/bin/bash
# bench/pdf.sh — signing PDFs: 100 scanned letters of about 1 MiB each, P-256 on SoftHSM,
# in one run, two ways:
#
#   kyso  kyso sign-pdf --out-dir: every file prepared, the digests signed by kysod in one
#         SignDocuments batch (one consent: the PIN given once), each file completed and
#         written (synced)
#   java  Apache PDFBox 2 (Debian's libpdfbox2-java) with Bouncy Castle's CMS and the
#         JDK's SunPKCS11 straight on libsofthsm2.so, logged in once
#         (bench/java/PdfBoxSign.java, compiled here with javac); each file synced too
#
# Each round runs both (in turn first), each signing all the files into a fresh directory;
# the table shows the medians of BENCH_ROUNDS rounds: documents per second with
# everything counted (the JVM's start, the agent's round trips), Java also without its
# JVM start and login, the ratio, and where kyso's time goes (sign-pdf --timings; the
# token's share from kyso_bench's direct PKCS#11 signatures on the same key). Both
# outputs are checked by pdfsig. Run by `make bench`; figures in docs/performance.md.
#
# Environment: BUILD (default build), BENCH_ROUNDS (3), BENCH_PDF_COUNT (100),
# BENCH_PDF_KB (1024), BENCH_KEEP=1 keeps the temp dir.
# Exit status: 0 when the benchmark ran (whether or not kyso was faster), 1 if not.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$ROOT/build}" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
COUNT=${BENCH_PDF_COUNT:-100}
KB=${BENCH_PDF_KB:-1024}
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
PY=/usr/bin/python3
JARS=/usr/share/java
CP="$JARS/pdfbox2.jar:$JARS/fontbox2.jar:$JARS/commons-logging.jar:$JARS/bcprov.jar:$JARS/bcpkix.jar:$JARS/bcutil.jar"
die() { echo "bench/pdf: $*" >&2; exit 1; }
for v in "$ROUNDS" "$COUNT" "$KB"; do
	case $v in '' | *[!0-9]* | 0) die "BENCH_ROUNDS, BENCH_PDF_COUNT and BENCH_PDF_KB are counts" ;; esac
done
for f in "$BUILD/kysod" "$BUILD/kyso" "$BUILD/bench/kyso_bench" "$SOFTHSM" "$JARS/pdfbox2.jar" \
	"$JARS/bcpkix.jar"; do
	[ -e "$f" ] || die "$f is missing (run 'make bench')"
done
for c in javac java pdfsig softhsm2-util pkcs11-tool openssl xxd; do
	command -v "$c" >/dev/null || die "'$c' is missing (run packaging/deps.sh)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/kyso-bench-pdf.XXXXXX")
chmod 700 "$T"
AGENT_PID=
cleanup() {
	if [ -n "$AGENT_PID" ]; then kill "$AGENT_PID" 2>/dev/null || true; wait "$AGENT_PID" 2>/dev/null || true; fi
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench/pdf: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
now() { date +%s.%N; }

# the token, its key and certificate (tests/lib/tokens.sh), the documents
T_DIR=$T
. "$ROOT/tests/lib/tokens.sh"
tok_init "$T/tok" >/dev/null && tok_create kyso-bench-pdf && tok_key kyso-bench-pdf 01 ec:p256 p256 ||
	die "cannot make the SoftHSM token"
CERT=$(openssl x509 -in "$T/tok/p256.crt.pem" -outform DER | sha256sum | cut -d' ' -f1)
mkdir -p "$T/in"
for i in $(seq 1 "$COUNT"); do
	$PY "$ROOT/tests/tools/mkpdf.py" scan "$T/in/letter-$i.pdf" "$KB" "$i"
done
total_mb=$(du -sm "$T/in" | cut -f1)

# kysod on the token, no dialogs: the PIN comes with the batch
export XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/state KYSO_SOCKET=$T/agent.sock
mkdir -p "$XDG_CONFIG_HOME/kyso"
echo "pinentry = none" > "$XDG_CONFIG_HOME/kyso/kysod.conf"
"$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" --module "$SOFTHSM" > "$T/kysod.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 400); do "$BUILD/kyso" info >/dev/null 2>&1 && break; sleep 0.05; done
"$BUILD/kyso" info >/dev/null 2>&1 || die "kysod did not start: $(tail -n 5 "$T/kysod.log")"

# Java: compiled here, SunPKCS11 on the same token
mkdir -p "$T/java"
javac -nowarn -cp "$CP" -d "$T/java" "$ROOT/bench/java/PdfBoxSign.java" 2> "$T/javac.log" ||
	die "javac failed: $(cat "$T/javac.log")"
printf 'name = SoftHSM\nlibrary = %s\nslotListIndex = 0\n' "$SOFTHSM" > "$T/p11.cfg"

run_kyso() {
	local out=$T/kyso-$1 t0 t1
	rm -rf "$out"; mkdir -p "$out"; sync
	t0=$(now)
	echo "$TOK_PIN" | "$BUILD/kyso" sign-pdf --cert "$CERT" --pin-stdin --timings -q \
		--out-dir "$out" "$T"/in/*.pdf 2> "$T/kyso-$1.err" || die "kyso sign-pdf failed: $(cat "$T/kyso-$1.err")"
	t1=$(now)
	# the six phases, in order: open, prepare, certificate, sign, complete, write
	echo "kyso $(echo "$t1 - $t0" | bc -l) $(grep 'timings: ' "$T/kyso-$1.err" |
		grep -o '[0-9]\+\.[0-9]\+ s' | awk '{printf "%s ", $1}')" >> "$T/raw"
}
run_java() {
	local out=$T/java-$1 t0 t1
	rm -rf "$out"; mkdir -p "$out"; sync
	t0=$(now)
	java -cp "$T/java:$CP" PdfBoxSign "$T/p11.cfg" "$TOK_PIN" p256 "$out" "$T"/in/*.pdf \
		2> "$T/java-$1.err" || die "java failed: $(tail -n 5 "$T/java-$1.err")"
	t1=$(now)
	echo "java $(echo "$t1 - $t0" | bc -l) $(grep -o 'java-timings: .*' "$T/java-$1.err" |
		awk '{print $3, $6}')" >> "$T/raw"
}
: > "$T/raw"
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then run_kyso "$r"; run_java "$r"; else run_java "$r"; run_kyso "$r"; fi
done
# both sets of signed files are valid PAdES for poppler
for d in "$T/kyso-1" "$T/java-1"; do
	for f in "$d/letter-1.pdf" "$d/letter-$COUNT.pdf"; do
		pdfsig "$f" 2>/dev/null | grep -q 'Signature is Valid' || die "pdfsig rejects $f"
	done
done
# the token's own speed: direct PKCS#11 signatures with the same key
token_ops=$("$BUILD/bench/kyso_bench" direct -k p256 -L p256 -t kyso-bench-pdf -P "$TOK_PIN" \
	-m "$SOFTHSM" -n 200 -q 2>/dev/null || echo 0)

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -v w="$1" -v c="$2" '$1 == w {print $c}' "$T/raw" | median; }
k_wall=$(col kyso 2) j_wall=$(col java 2) j_sign=$(col java 4)
k_open=$(col kyso 3) k_prep=$(col kyso 4) k_cert=$(col kyso 5) k_sign=$(col kyso 6)
k_comp=$(col kyso 7) k_write=$(col kyso 8)
awk -v n="$COUNT" -v mb="$total_mb" -v kw="$k_wall" -v jw="$j_wall" -v js="$j_sign" \
	-v o="$k_open" -v p="$k_prep" -v c="$k_cert" -v s="$k_sign" -v cp="$k_comp" -v w="$k_write" \
	-v tok="$token_ops" -v rounds="$ROUNDS" 'BEGIN {
	printf "PDF signing: %d PDFs of about %d MiB in total, P-256 on SoftHSM, median of %d rounds\n\n", n, mb, rounds
	printf "%-58s %9s %9s\n", "", "seconds", "docs/s"
	printf "%-58s %9.2f %9.1f\n", "kyso sign-pdf, one batch, one consent (all counted)", kw, n / kw
	printf "%-58s %9.2f %9.1f\n", "Java PDFBox + SunPKCS11 (JVM start and login counted)", jw, n / jw
	printf "%-58s %9.2f %9.1f\n", "Java PDFBox + SunPKCS11 (signing loop only)", js, n / js
	printf "\nkyso / Java: %.2fx the documents per second (%.2fx against Java'"'"'s loop alone)\n", jw / kw, js / kw
	tok_s = tok > 0 ? n / tok : 0
	printf "\nWhere kyso'"'"'s time goes (sign-pdf --timings):\n"
	printf "  %-52s %7.3f s\n", "open: read, parse with qpdf, check", o
	printf "  %-52s %7.3f s\n", "prepare: lay out the revision, hash the signed bytes", p
	printf "  %-52s %7.3f s\n", "certificate: ListCertificates", c
	printf "  %-52s %7.3f s\n", "sign: SignDocuments (agent and token)", s
	if (tok > 0) {
		printf "  %-52s %7.3f s\n", "  of which the token (direct PKCS#11: " sprintf("%.0f", tok) " sig/s)", tok_s
		printf "  %-52s %7.3f s\n", "  of which the agent (CMS, audit records, protocol)", s - tok_s
	}
	printf "  %-52s %7.3f s\n", "complete: check each CMS, embed it", cp
	printf "  %-52s %7.3f s\n", "write: write, fsync, rename", w
	rest = kw - o - p - c - s - cp - w
	printf "  %-52s %7.3f s\n", "the rest (process start, connecting, output)", rest > 0 ? rest : 0
}'

#!/usr/bin/env bash
# libkyso as a C application uses it: installed headers, pkg-config, the shared library
# exporting only the API, opaque objects read through accessors, a signature OpenSSL
# accepts, errors with names; the static archive, whose internal symbols are local, linked
# by a program that has its own b64_encode and kbuf_init.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

tok_init "$T_DIR/tok" && tok_create app && tok_key app 07 ec:p256 appkey ||
	{ t_flunk "make the test token"; t_done; exit 1; }
agent_start --module "$SOFTHSM_MODULE" || { t_flunk "start kysod"; t_done; exit 1; }

# install into a staging root and build the client with pkg-config, as an app would
root=$T_DIR/root
make -s -C "$T_TOP" BUILD="$BUILD" PREFIX=/usr DESTDIR="$root" install >"$T_DIR/install.log" 2>&1
t_ok "make install into a staging root" test -f "$root/usr/include/kyso/kyso.h"
t_ok "  ... with the man pages" test -f "$root/usr/share/man/man1/kysod.1"
t_ok "  ... and the systemd user units" test -f "$root/usr/lib/systemd/user/kysod.socket"
pc=$root/usr/lib/pkgconfig
cflags=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --cflags kyso)
libs=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --libs kyso)
t_match "pkg-config --cflags kyso" "-I$root/usr/include/kyso" "$cflags"
# a sanitizer build of libkyso needs a client built the same way
san=
ldd "$root/usr/lib/libkyso.so.1" | grep -q libasan && san="-fsanitize=address,undefined"
t_ok "a C client compiles and links against libkyso.so" \
	cc -std=c11 -Wall -Wextra -Werror $san $cflags -o "$T_DIR/client" "$T_TOP/tests/integration/c/libkyso_client.c" $libs
exported=$(nm -D --defined-only "$root/usr/lib/libkyso.so.1" | awk '{print $3}' | grep -v '^KYSO_1$' | grep -v '^kyso_[a-z0-9_]*@@KYSO_1$' || true)
t_eq "libkyso.so exports only kyso_* symbols, each versioned KYSO_1" "" "$exported"
t_eq "libkyso.so has the soname libkyso.so.1" "libkyso.so.1" \
	"$(objdump -p "$root/usr/lib/libkyso.so.1" | awk '/SONAME/ {print $2}')"
t_eq "kyso.h declares no struct a program could lay out (the objects are opaque)" "" \
	"$(grep -E '^struct kyso_[a-z_]+ \{' "$root/usr/include/kyso/kyso.h" || true)"

doc=$T_DIR/doc; echo "memo" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | xxd -p -c 64)
out=$(LD_LIBRARY_PATH=$root/usr/lib "$T_DIR/client" "$dig" "$T_DIR/sig" "$TOK_PIN" 2>&1)
t_match "lists tokens: a NULL-terminated array, flags" 'tokens 1, first label app, terminated 1, flags login_required 1' "$out"
t_match "  ... the token's JSON as the agent sent it" 'token json has the serial: 1' "$out"
t_match "lists certificates with subjects" "certificate $(cert_id "$TOK_DIR/appkey.crt.pem") subject .*CN=appkey officer" "$out"
t_match "  ... curve, size, DER and algorithms through accessors" \
	'curve P-256 bits 256 der 1.*algorithms: ecdsa-sha256 ecdsa-sha384 ecdsa-sha512' "$(echo $out)"
t_match "a missing PIN comes back as a code, a name and a sentence" \
	'without pin: the token needs a PIN \(io.kyso.Agent.PinRequired, token .app. needs the user PIN' "$out"
t_ok "the signature verifies with OpenSSL" verify_sig ecdsa-sha256 "$TOK_DIR/appkey.pub.pem" "$T_DIR/sig" "$doc"
t_match "a short digest: KYSO_ERR_INVALID_DIGEST with the error's parameters" \
	'short digest: 1 io.kyso.Agent.InvalidDigest \{"expected_length":32,"actual_length":31' "$out"
t_match "kyso_sign_request_new without an algorithm: KYSO_ERR_INVALID_ARG, no object" \
	'request without an algorithm: 1 1' "$out"
t_match "setters on NULL and kyso_sign without a request: KYSO_ERR_INVALID_ARG" \
	'setters on NULL: 1.*kyso_sign\(NULL request\): 1' "$(echo $out)"
t_match "accessors on NULL: \"\", 0, 0, NULL" 'accessors on NULL: \[\] 0 0 \(nil\)' "$out"

# --- the static archive: only the API is global; a program's own helpers do not clash ---
a=$root/usr/lib/libkyso.a
internal=$(nm --defined-only "$a" | awk 'NF == 3 && $2 ~ /^[A-Z]$/ {print $3}' | grep -v '^kyso_' || true)
t_eq "libkyso.a defines no global symbol but the API's" "" "$internal"
t_eq "libkyso.a's global symbols are the shared library's" \
	"$(nm -D --defined-only "$root/usr/lib/libkyso.so.1" | awk '{print $3}' | sed 's/@.*//' | grep '^kyso_' | sort)" \
	"$(nm --defined-only "$a" | awk 'NF == 3 && $2 ~ /^[A-Z]$/ {print $3}' | sort)"
cat > "$T_DIR/own.c" <<'C'
/* own.c: an application with helpers named like libkyso's internal ones */
#include <stdio.h>
#include <string.h>
#include <kyso.h>

/* not base64 at all, and another kbuf_init: libkyso must not call these */
char *b64_encode(const unsigned char *p, size_t len);
char *b64_encode(const unsigned char *p, size_t len) { (void)p; (void)len; return "mine"; }
int kbuf_init(int x);
int kbuf_init(int x) { return x + 1; }

int
main(void)
{
	kyso_token **t;
	kyso_client *c;
	size_t n;

	if (kyso_connect(NULL, &c) != KYSO_OK || kyso_list_tokens(c, &t, &n) != KYSO_OK) {
		printf("failed: %s\n", c ? kyso_error_message(c) : "no memory");
		return 1;
	}
	printf("own b64_encode: %s, own kbuf_init: %d, libkyso lists %zu token(s): %s\n",
	    b64_encode(NULL, 0), kbuf_init(1), n, n ? kyso_token_label(t[0]) : "-");
	kyso_tokens_free(t);
	kyso_disconnect(c);
	return 0;
}
C
slibs=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$root pkg-config --static --libs-only-l kyso | sed 's/-lkyso//')
if cc -std=c11 -Wall -Werror $san $cflags -o "$T_DIR/own" "$T_DIR/own.c" "$a" $slibs > "$T_DIR/own.log" 2>&1; then
	t_pass "a program with its own b64_encode and kbuf_init links libkyso.a statically"
	t_eq "  ... it needs no libkyso.so" "" "$(ldd "$T_DIR/own" | grep libkyso || true)"
	t_match "  ... and both its helpers and libkyso work" \
		'own b64_encode: mine, own kbuf_init: 2, libkyso lists 1 token\(s\): app' "$("$T_DIR/own" 2>&1)"
else
	t_flunk "a program with its own b64_encode and kbuf_init links libkyso.a statically" "$(cat "$T_DIR/own.log")"
fi
# control: the same program against libkyso's objects as they are compiled clashes
objs=$(ls "$BUILD"/obj/client/libkyso*.o "$BUILD"/obj/common/*.o)
t_match "control: linked with the plain objects, the names clash" 'multiple definition of .(b64_encode|kbuf_init)' \
	"$(cc $san $cflags -o "$T_DIR/own-plain" "$T_DIR/own.c" $objs $slibs 2>&1)"

# the C examples of docs/protocol.md ("C: libkyso") compile as they are, and sign.c signs
awk '/^```c$/ {keep = 1; n++; next} /^```$/ {keep = 0} keep {print > (dir "/doc" n ".c")}' \
	dir="$T_DIR" "$T_TOP/docs/protocol.md"
docsign=$(grep -l '^/\* sign.c' "$T_DIR"/doc*.c | head -1)
docwatch=$(grep -l '^/\* watch.c' "$T_DIR"/doc*.c | head -1)
t_ok "docs/protocol.md: sign.c compiles against the installed kyso.h" \
	cc -std=c11 -Wall -Wextra -Werror $san $cflags -o "$T_DIR/docsign" "$docsign" $libs
t_ok "docs/protocol.md: watch.c compiles against the installed kyso.h" \
	cc -std=c11 -Wall -Wextra -Werror $san $cflags -o "$T_DIR/docwatch" "$docwatch" $libs
echo "$TOK_PIN" | "$K" login --token app --pin-stdin >/dev/null 2>&1
LD_LIBRARY_PATH=$root/usr/lib "$T_DIR/docsign" "$(cert_id "$TOK_DIR/appkey.crt.pem" | cut -c1-8)" "$dig" \
	> "$T_DIR/docsign.sig" 2> "$T_DIR/docsign.err"
t_ok "  ... sign.c, once the token is logged in, signs what OpenSSL verifies" \
	verify_sig ecdsa-sha256 "$TOK_DIR/appkey.pub.pem" "$T_DIR/docsign.sig" "$doc"
"$K" lock >/dev/null 2>&1

# the Python client shown in docs/protocol.md
if [ -f "$T_TOP/docs/examples/kyso_client.py" ]; then
	echo "$TOK_PIN" > "$T_DIR/pin"
	out=$(/usr/bin/python3 "$T_TOP/docs/examples/kyso_client.py" "$doc" --pin-stdin < "$T_DIR/pin" 2>&1)
	t_match "docs/examples/kyso_client.py signs" '[A-Za-z0-9+/=]{40,}' "$out"
	echo "$out" | grep -Eo '^[A-Za-z0-9+/]{40,}={0,2}$' | head -1 | base64 -d > "$T_DIR/py.sig" 2>/dev/null
	alg=$(echo "$out" | grep -Eo '(ecdsa|rsa-p[a-z0-9]+|ed25519)[a-z0-9-]*' | head -1)
	t_ok "  ... a signature OpenSSL accepts ($alg)" verify_sig "${alg:-ecdsa-sha256}" \
		"$TOK_DIR/appkey.pub.pem" "$T_DIR/py.sig" "$doc"
else
	t_flunk "docs/examples/kyso_client.py exists"
fi
t_agent_stops
t_done

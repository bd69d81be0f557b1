#!/usr/bin/env bash
# libkyso as a C application uses it: installed headers, pkg-config, the shared library
# exporting only the API, typed listings, a signature OpenSSL accepts, errors with names.
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
ldd "$root/usr/lib/libkyso.so.0" | grep -q libasan && san="-fsanitize=address,undefined"
t_ok "a C client compiles and links against libkyso.so" \
	cc -std=c11 -Wall -Werror $san $cflags -o "$T_DIR/client" "$T_TOP/tests/integration/c/libkyso_client.c" $libs
exported=$(nm -D --defined-only "$root/usr/lib/libkyso.so.0" | awk '{print $3}' | grep -v '^KYSO_0$' | grep -v '^kyso_' || true)
t_eq "libkyso.so exports only kyso_* symbols" "" "$exported"
t_eq "libkyso.so has the soname libkyso.so.0" "libkyso.so.0" \
	"$(objdump -p "$root/usr/lib/libkyso.so.0" | awk '/SONAME/ {print $2}')"

doc=$T_DIR/doc; echo "memo" > "$doc"
dig=$(openssl dgst -sha256 -binary "$doc" | xxd -p -c 64)
out=$(LD_LIBRARY_PATH=$root/usr/lib "$T_DIR/client" "$dig" "$T_DIR/sig" "$TOK_PIN" 2>&1)
t_match "lists tokens" 'tokens 1, first label app' "$out"
t_match "lists certificates with subjects" "certificate $(cert_id "$TOK_DIR/appkey.crt.pem") subject .*CN=appkey officer" "$out"
t_match "a missing PIN comes back as a code, a name and a sentence" \
	'without pin: the token needs a PIN \(io.kyso.Agent.PinRequired, token .app. needs the user PIN' "$out"
t_ok "the signature verifies with OpenSSL" verify_sig ecdsa-sha256 "$TOK_DIR/appkey.pub.pem" "$T_DIR/sig" "$doc"
t_match "a short digest: KYSO_ERR_INVALID_DIGEST with the error's parameters" \
	'short digest: 1 io.kyso.Agent.InvalidDigest \{"expected_length":32,"actual_length":31' "$out"

# the Python client shown in docs/protocol.md
if [ -f "$T_TOP/docs/examples/kyso_client.py" ]; then
	echo "$TOK_PIN" > "$T_DIR/pin"
	out=$(python3 "$T_TOP/docs/examples/kyso_client.py" "$doc" "$TOK_PIN" 2>&1)
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

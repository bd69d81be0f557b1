#!/usr/bin/env bash
# The Debian packages, as an administrator gets them: `make dist`, then
# `dpkg-buildpackage -us -uc -b` in the unpacked tarball (dpkg-buildflags, no -Werror);
# lintian (no error, no warning, pedantic); the packages' contents (multiarch paths,
# symbols file, conffiles, hardened binaries); then, as root on a machine where kyso is
# not installed, `apt install ./*.deb` (nothing else pulled in), a smoke test of the
# installed programs (the installed kysod signs on a SoftHSM token and OpenSSL verifies;
# a program built with the installed kyso.pc runs against the installed library), and
# `apt purge`, after which no file is left (a listing of /etc /usr /lib /var/lib before
# and after). Run once, after the suite (tests/check.sh): it installs system-wide for a
# few seconds (/usr/bin, the udev rule, the user units' enablement) and removes it all.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

for c in dpkg-buildpackage dh lintian; do
	command -v "$c" >/dev/null 2>&1 || { t_skip "the Debian packages" "$c is missing (packaging/deps.sh test)"; t_done; exit 0; }
done
start=$(date +%s)

# --- build from the release tarball ---
make -s -C "$T_TOP" BUILD="$T_DIR" dist > "$T_DIR/dist.log" 2>&1
tarball=$T_DIR/kyso-$(sed -n 's/^VERSION := //p' "$T_TOP/Makefile").tar.gz
t_ok "make dist makes $(basename "$tarball")" test -s "$tarball"
mkdir "$T_DIR/src" && tar -C "$T_DIR/src" -xzf "$tarball"
src=$(echo "$T_DIR"/src/kyso-*)
t0=$(date +%s)
( cd "$src" && DEB_BUILD_OPTIONS=noddebs dpkg-buildpackage -us -uc -b ) > "$T_DIR/build.log" 2>&1
rc=$?
echo "# dpkg-buildpackage -us -uc -b: $(( $(date +%s) - t0 )) s"
t_eq "dpkg-buildpackage -us -uc -b builds from the tarball" 0 "$rc"
[ "$rc" = 0 ] || { tail -n 30 "$T_DIR/build.log" | sed 's/^/#   /'; t_done; exit 1; }
t_match "  ... with dpkg-buildflags' flags after the project's hardening, and no -Werror" \
	'-fstack-clash-protection .*-D_FORTIFY_SOURCE=2 .*-ffile-prefix-map=' \
	"$(grep -m1 '^cc .*agent/kysod.c' "$T_DIR/build.log")"
t_eq "  ... not one -Werror" "" "$(grep -m1 '^cc .*-Werror ' "$T_DIR/build.log" | grep -v 'Werror=format-security' || true)"
t_eq "  ... and no compiler warning" "" "$(grep -m3 'warning:' "$T_DIR/build.log" || true)"
deb() { echo "$T_DIR"/src/"$1"_*.deb; }
# every binary package debian/control defines
KYSO_PKGS=$(sed -n 's/^Package: //p' "$T_TOP/debian/control" | paste -sd' ')
t_eq "  ... the packages debian/control defines" \
	"kyso kyso-browser kyso-pkcs11 libkyso-dev libkyso-pdf-dev libkyso-pdf0 libkyso1" \
	"$(printf '%s\n' $KYSO_PKGS | LC_ALL=C sort | paste -sd' ')"
for p in $KYSO_PKGS; do t_ok "  ... $p.deb" test -s "$(deb $p)"; done

# --- lintian ---
lintian --allow-root -I -E --pedantic "$T_DIR"/src/kyso_*_*.changes > "$T_DIR/lintian.out" 2>&1
echo "# lintian -I -E --pedantic: $(wc -l < "$T_DIR/lintian.out") line(s)"
sed 's/^/#   /' "$T_DIR/lintian.out"
t_eq "lintian: no error, no warning (pedantic)" "" "$(grep -E '^[EW]: ' "$T_DIR/lintian.out" || true)"

# --- contents ---
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
t_match "libkyso1 holds libkyso.so.1 in the multiarch directory" "\\./usr/lib/$arch/libkyso\\.so\\.1\$" \
	"$(dpkg-deb -c "$(deb libkyso1)" | awk '{print $6}')"
t_eq "  ... and the symbols file, every symbol at KYSO_1" \
	"$(sed -n 's/^[[:space:]]*\(kyso_[a-z0-9_]*\);$/\1/p' "$T_TOP/client/libkyso.map" | sort | paste -sd' ')" \
	"$(dpkg-deb --ctrl-tarfile "$(deb libkyso1)" | tar -xOf - ./symbols | sed -n 's/^ \(kyso_[a-z0-9_]*\)@KYSO_1 .*/\1/p' | sort | paste -sd' ')"
t_match "libkyso-dev: header, .so link, .a and kyso.pc" \
	"include/kyso/kyso.h .*$arch/libkyso.a .*$arch/libkyso.so .*$arch/pkgconfig/kyso.pc" \
	"$(dpkg-deb -c "$(deb libkyso-dev)" | awk '{print $6}' | sort | paste -sd' ')"
kc=$(dpkg-deb -c "$(deb kyso)" | awk '{print $6}')
for f in usr/bin/kysod usr/bin/kyso usr/bin/kyso-admin usr/libexec/kyso/kysod-whois \
	usr/libexec/kyso/kyso-p11-helper \
	usr/lib/systemd/user/kysod.socket usr/lib/systemd/user/kysod.service \
	usr/lib/systemd/user/kysod-whois.socket lib/udev/rules.d/70-kyso-tokens.rules \
	usr/share/man/man1/kysod.1.gz usr/share/man/man5/kysod.conf.5.gz \
	usr/share/bash-completion/completions/kyso-admin etc/xdg/autostart/kysod.desktop \
	usr/share/metainfo/io.kyso.kysod.metainfo.xml usr/share/locale/vi/LC_MESSAGES/kyso.mo; do
	t_match "kyso holds /$f" "^\\./$f\$" "$kc"
done
t_match "kyso-pkcs11 holds the module in the multiarch PKCS#11 directory" \
	"\\./usr/lib/$arch/pkcs11/kyso-pkcs11\\.so\$" "$(dpkg-deb -c "$(deb kyso-pkcs11)" | awk '{print $6}')"
t_eq "  ... and its p11-kit registration names it by its bare name (the same file on every architecture)" \
	"module: kyso-pkcs11.so" "$(dpkg-deb --fsys-tarfile "$(deb kyso-pkcs11)" |
	tar -xOf - ./usr/share/p11-kit/modules/kyso-pkcs11.module | grep '^module:')"
kb=$(dpkg-deb -c "$(deb kyso-browser)" | awk '{print $6}')
for f in usr/libexec/kyso/kyso-browser-host etc/chromium/native-messaging-hosts/io.kyso.browser_host.json \
	usr/lib/mozilla/native-messaging-hosts/io.kyso.browser_host.json \
	usr/share/kyso/browser/chromium/manifest.json usr/share/kyso/browser/firefox/manifest.json \
	usr/share/kyso/web/kyso-web.js; do
	t_match "kyso-browser holds /$f" "^\\./$f\$" "$kb"
done
t_match "  ... its host manifest names the installed host" '"path": "/usr/libexec/kyso/kyso-browser-host"' \
	"$(dpkg-deb --fsys-tarfile "$(deb kyso-browser)" | tar -xOf - ./etc/chromium/native-messaging-hosts/io.kyso.browser_host.json)"
t_eq "  ... /etc/kyso/kysod.conf and the autostart entry are conffiles" \
	"/etc/kyso/kysod.conf /etc/xdg/autostart/kysod.desktop" \
	"$(dpkg-deb --ctrl-tarfile "$(deb kyso)" | tar -xOf - ./conffiles | sort | paste -sd' ')"

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	t_skip "install, smoke test and purge" "needs root and apt"
	t_done; exit 0
fi
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $KYSO_PKGS 2>/dev/null | grep '^ii' || true)
if [ -n "$installed" ]; then
	t_skip "install, smoke test and purge" "kyso is installed on this machine already; the test would remove it"
	t_done; exit 0
fi

# --- the machine before ---
listing() {
	find /etc /usr /lib /var/lib -xdev \( -path /var/lib/apt -o -path /var/lib/dpkg/updates \
		-o -path /var/lib/dpkg/triggers -o -path /var/lib/systemd/catalog \) -prune -o -print \
		2>/dev/null | sort
}
listing > "$T_DIR/before"
export DEBIAN_FRONTEND=noninteractive
apt() { apt-get -o DPkg::Lock::Timeout=600 -q -y "$@"; }
debs=(); for p in $KYSO_PKGS; do debs+=("$(deb "$p")"); done
want=$(printf '%s\n' $KYSO_PKGS | sort | paste -sd' ')
sim=$(apt-get -s install --no-install-recommends "${debs[@]}" 2>&1 | awk '/^Inst / {print $2}' | sort | paste -sd' ')
t_eq "apt would install our $(echo $KYSO_PKGS | wc -w) packages and nothing else" "$want" "$sim"
[ "$sim" = "$want" ] || { t_done; exit 1; }
trap 'agent_stop >/dev/null 2>&1; apt purge $KYSO_PKGS >/dev/null 2>&1; t_cleanup' EXIT
t0=$(date +%s)
apt install --no-install-recommends "${debs[@]}" > "$T_DIR/install.log" 2>&1
t_eq "apt install of our packages ($(( $(date +%s) - t0 )) s)" \
	"$(printf 'ii %s\n' $KYSO_PKGS | sort -k2 | paste -sd' ')" \
	"$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $KYSO_PKGS | sed 's/ *$//;s/   */ /' | sort -k2 | paste -sd' ' | tr -s ' ')"

# --- the installed programs ---
t_match "/usr/bin/kysod --version" '^kysod [0-9]' "$(/usr/bin/kysod --version)"
t_match "the user unit runs the installed kysod" '^ExecStart=/usr/bin/kysod --foreground$' \
	"$(grep ^ExecStart= /usr/lib/systemd/user/kysod.service)"
t_match "  ... and its caller-naming helper" '^ExecStart=/usr/libexec/kyso/kysod-whois$' \
	"$(grep ^ExecStart= /usr/lib/systemd/user/kysod-whois.service)"
t_ok "  ... kysod.socket is enabled for every user (as gpg-agent.socket is)" \
	test -L /etc/systemd/user/sockets.target.wants/kysod.socket
hard=$(readelf -d -l /usr/bin/kysod 2>/dev/null)
t_match "the installed kysod is PIE, with full RELRO" 'GNU_RELRO.*FLAGS.*BIND_NOW.*PIE' "$(echo $hard)"
t_match "  ... built with the stack protector and FORTIFY_SOURCE" '__stack_chk_fail.*_chk@' \
	"$(nm -D /usr/bin/kysod | awk '{print $NF}' | grep -E '__stack_chk_fail|_chk@' | sort | paste -sd' ')"
tok_init "$T_DIR/tok" && tok_create pkg && tok_key pkg 01 ec:p256 pkgkey || t_flunk "make the test token"
export KYSO_SOCKET=$T_DIR/pkg.sock
/usr/bin/kysod --foreground --socket "$KYSO_SOCKET" --module "$SOFTHSM_MODULE" >> "$T_DIR/kysod.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 200); do /usr/bin/kyso info >/dev/null 2>&1 && break; sleep 0.05; done
echo "an installed memo" > "$T_DIR/memo"
echo "$TOK_PIN" | /usr/bin/kyso sign --cert "$(cert_id "$TOK_DIR/pkgkey.crt.pem")" --alg ecdsa-sha256 \
	--in "$T_DIR/memo" --out "$T_DIR/memo.sig" --pin-stdin > "$T_DIR/sign.out" 2>&1
t_ok "the installed kysod signs on a SoftHSM token (installed kyso); OpenSSL verifies" \
	verify_sig ecdsa-sha256 "$TOK_DIR/pkgkey.pub.pem" "$T_DIR/memo.sig" "$T_DIR/memo"
helpers=$(for p in $(pgrep -P "$AGENT_PID"); do readlink "/proc/$p/exe"; done | sort -u)
t_eq "  ... through the installed module helper, kysod's child" \
	"/usr/libexec/kyso/kyso-p11-helper" "$helpers"
t_eq "  ... which maps SoftHSM; kysod does not" "0 1" \
	"$(grep -c libsofthsm2 /proc/$AGENT_PID/maps) $(for p in $(pgrep -P "$AGENT_PID"); do grep -q libsofthsm2 "/proc/$p/maps" && echo 1; done | wc -l)"
hard=$(readelf -d -l /usr/libexec/kyso/kyso-p11-helper 2>/dev/null)
t_match "  ... the helper is PIE, with full RELRO" 'GNU_RELRO.*FLAGS.*BIND_NOW.*PIE' "$(echo $hard)"
# the installed catalog, where the installed programs look (LOCALEDIR, no KYSO_LOCALEDIR)
if [ -e /usr/share/i18n/locales/vi_VN ] && localedef -i vi_VN -f UTF-8 "$T_DIR/vi_VN.UTF-8" 2>/dev/null; then
	t_match "the installed kyso speaks Vietnamese in a Vietnamese session" 'Cách dùng: kyso' \
		"$(env -u KYSO_LOCALEDIR LOCPATH="$T_DIR" LANG=vi_VN.UTF-8 /usr/bin/kyso --help)"
else
	t_skip "the installed kyso speaks Vietnamese in a Vietnamese session" "no vi_VN locale sources (locales)"
fi
cat > "$T_DIR/app.c" <<'C'
#include <stdio.h>
#include <kyso.h>
int main(void)
{
	kyso_token **t;
	kyso_client *c;
	size_t n;

	if (kyso_connect(NULL, &c) != KYSO_OK || kyso_list_tokens(c, &t, &n) != KYSO_OK)
		return 1;
	printf("libkyso %s: %zu token(s), %s\n", kyso_version(), n, n ? kyso_token_label(t[0]) : "-");
	kyso_tokens_free(t);
	kyso_disconnect(c);
	return 0;
}
C
t_ok "a program builds with the installed kyso.pc (no PKG_CONFIG_PATH)" \
	sh -c "cc -std=c11 -Wall -Werror -o '$T_DIR/app' '$T_DIR/app.c' \$(env -u PKG_CONFIG_PATH pkg-config --cflags --libs kyso)"
t_match "  ... and runs against the installed libkyso.so.1" "libkyso.so.1 => (/usr)?/lib/$arch/libkyso.so.1" \
	"$(ldd "$T_DIR/app")"
t_match "  ... talking to the installed agent" '^libkyso [0-9.]+: 1 token\(s\), pkg$' "$("$T_DIR/app" 2>&1)"
t_ok "  ... and statically with the installed libkyso.a" \
	sh -c "cc -std=c11 \$(pkg-config --cflags kyso) -o '$T_DIR/app-static' '$T_DIR/app.c' /usr/lib/$arch/libkyso.a \$(pkg-config --static --libs-only-l kyso | sed 's/-lkyso//')"
out=$(p11-kit list-modules 2>&1)
t_match "p11-kit finds the installed kyso-pkcs11 through its registration" \
	"kyso-pkcs11: kyso-pkcs11.so.*library-description: kyso: tokens through kysod.*token: pkg" \
	"$(echo "$out" | tr '\n' ' ')"
t_match "  ... and pkcs11-tool lists the installed agent's token through the installed module" \
	"token label +: pkg" "$(pkcs11-tool --module "/usr/lib/$arch/pkcs11/kyso-pkcs11.so" --list-slots 2>&1)"
t_match "the installed completion completes kyso's commands" 'complete -F _kyso kyso' \
	"$(bash -c '. /usr/share/bash-completion/completions/kyso && complete -p kyso')"
agent_stop

# the maintainer scripts replay the USB devices' udev events where udevd runs (here it does
# not: apt install above succeeded without it); a udevadm that answers shows the calls
mkdir -p "$T_DIR/fakebin"
printf '#!/bin/sh\necho "udevadm $*" >> "%s"\n' "$T_DIR/udevadm.log" > "$T_DIR/fakebin/udevadm"
chmod 755 "$T_DIR/fakebin/udevadm"
PATH=$T_DIR/fakebin:$PATH sh /var/lib/dpkg/info/kyso.postinst configure >/dev/null 2>&1
t_eq "postinst (udevd running): reloads the rules, replays the USB devices' events" \
	"udevadm control --reload-rules|udevadm trigger --action=change --subsystem-match=usb" \
	"$(paste -sd'|' "$T_DIR/udevadm.log" 2>/dev/null)"
: > "$T_DIR/udevadm.log"
PATH=$T_DIR/fakebin:$PATH sh /var/lib/dpkg/info/kyso.postrm upgrade >/dev/null 2>&1
t_eq "  ... postrm upgrade leaves udev alone" "" "$(cat "$T_DIR/udevadm.log")"

# --- purge: nothing left ---
t0=$(date +%s)
apt purge $KYSO_PKGS > "$T_DIR/purge.log" 2>&1
t_eq "apt purge ($(( $(date +%s) - t0 )) s): the packages are gone" "" \
	"$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $KYSO_PKGS 2>/dev/null | grep -v '^un' || true)"
trap t_cleanup EXIT
listing > "$T_DIR/after"
# a concurrent apt run of another program may add or remove files of its own packages:
# only paths no package owns count
unowned() { while read -r f; do dpkg -S "$f" >/dev/null 2>&1 || echo "$f"; done; }
left=$(comm -13 "$T_DIR/before" "$T_DIR/after" | unowned)
gone=$(comm -23 "$T_DIR/before" "$T_DIR/after" | unowned)
t_eq "no file is left behind (/etc /usr /lib /var/lib listed before and after)" "" "$left"
t_eq "  ... and none that was there before is gone" "" "$gone"
echo "# the package step took $(( $(date +%s) - start )) s"
t_done

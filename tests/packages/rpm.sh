#!/usr/bin/env bash
# The RPM spec (packaging/kyso.spec) with Debian's rpm: `make dist`, then `rpmbuild -bb`
# with a private _topdir; the three packages and their files. Debian's rpm cannot see the
# BuildRequires (they are dpkg packages here) and has no debugedit: --nodeps and
# debug_package %{nil} (a Fedora or RHEL build needs neither).
. "$(dirname "$0")/../lib/common.sh"

command -v rpmbuild >/dev/null 2>&1 || { t_skip "rpmbuild -bb" "rpm is not installed (packaging/deps.sh test)"; t_done; exit 0; }
ver=$(sed -n 's/^VERSION := //p' "$T_TOP/Makefile")
t_eq "the spec's Version is the Makefile's" "$ver" "$(sed -n 's/^Version: *//p' "$T_TOP/packaging/kyso.spec")"
top=$T_DIR/rpm
mkdir -p "$top/SOURCES"
make -s -C "$T_TOP" BUILD="$top/SOURCES" dist > "$T_DIR/dist.log" 2>&1
t_ok "make dist" test -s "$top/SOURCES/kyso-$ver.tar.gz"
t0=$(date +%s)
# Debian's rpm has no systemd or udev macros: stand-ins that show where the spec calls them
rpmbuild -bb --nodeps --define "_topdir $top" --define "debug_package %{nil}" \
	--define "systemd_user_post() systemd-user-post %*" \
	--define "systemd_user_preun() systemd-user-preun %*" \
	--define "udev_rules_update() udev-rules-update" \
	"$T_TOP/packaging/kyso.spec" > "$T_DIR/rpmbuild.log" 2>&1
rc=$?
echo "# rpmbuild -bb --nodeps --define '_topdir ...' --define 'debug_package %{nil}': $(( $(date +%s) - t0 )) s"
t_eq "rpmbuild -bb builds the spec from the tarball" 0 "$rc"
[ "$rc" = 0 ] || { tail -n 25 "$T_DIR/rpmbuild.log" | sed 's/^/#   /'; t_done; exit 1; }
rpms=$(cd "$top/RPMS" && ls */*.rpm | sort | paste -sd' ')
t_match "kyso, libkyso and libkyso-devel" "kyso-$ver-1.*\\.rpm .*libkyso-$ver-1.*\\.rpm .*libkyso-devel-$ver-1.*\\.rpm" "$rpms"
for r in "$top"/RPMS/*/*.rpm; do
	echo "# $(basename "$r"):"; rpm -qlp "$r" 2>/dev/null | grep -v '/\.build-id' | sed 's/^/#   /'
done
files=$(rpm -qlp "$top"/RPMS/*/kyso-"$ver"-*.rpm 2>/dev/null)
for f in /usr/bin/kysod /usr/libexec/kyso/kysod-whois /usr/libexec/kyso/kyso-p11-helper /usr/lib/systemd/user/kysod.socket \
	/usr/lib/udev/rules.d/70-kyso-tokens.rules /etc/kyso/kysod.conf \
	/usr/share/locale/vi/LC_MESSAGES/kyso.mo; do
	t_match "kyso.rpm holds $f" "^$f\$" "$files"
done
t_match "  ... with /etc/kyso/kysod.conf as %config(noreplace)" '/etc/kyso/kysod.conf' \
	"$(rpm -qcp "$top"/RPMS/*/kyso-"$ver"-*.rpm 2>/dev/null)"
scripts=$(rpm -qp --scripts "$top"/RPMS/*/kyso-"$ver"-*.rpm 2>/dev/null | tr '\n' ' ')
t_match "kyso.rpm enables kysod.socket for the users at install (%systemd_user_post)" \
	'postinstall scriptlet.*systemd-user-post kysod.socket.*udev-rules-update' "$scripts"
t_match "  ... and disables it at removal (%systemd_user_preun)" \
	'preuninstall scriptlet.*systemd-user-preun kysod.socket' "$scripts"
lib=$(rpm --eval '%{_libdir}')
t_eq "libkyso.rpm holds $lib/libkyso.so.1" "$lib/libkyso.so.1" \
	"$(rpm -qlp "$top"/RPMS/*/libkyso-"$ver"-*.rpm 2>/dev/null)"
t_match "libkyso-devel's kyso.pc names $lib" "^libdir=$lib\$" \
	"$(rpm2archive - < "$(echo "$top"/RPMS/*/libkyso-devel-"$ver"-*.rpm)" | tar -xzOf - ".$lib/pkgconfig/kyso.pc")"
t_done

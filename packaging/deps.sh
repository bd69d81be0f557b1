#!/bin/sh
# packaging/deps.sh — install the Debian 12 packages kyso needs to build, test and demo.
#
#   packaging/deps.sh [--check] [build|test|all]
#
# "build" installs what `make` needs; "test" adds the tokens and independent peers that
# `make check`, `make demo` and `make bench` use (with the browsers' test driver,
# puppeteer-core from npm, into tests/browser/node_modules by `npm ci`, and gnuplot, which
# draws the benchmark's plot of docs/performance.md); "all" (the default) is both.
# --check only reports what is missing (exit 1 if anything is) and installs nothing.
# Installing needs root; run as another user it says which command to run instead.
set -eu

BUILD_PKGS="gcc make pkg-config libc6-dev libssl-dev libp11-kit-dev libjansson-dev
libsystemd-dev libcmocka-dev libusb-1.0-0-dev libinih-dev libassuan-dev libgpg-error-dev
libqpdf-dev libcurl4-openssl-dev libcairo2-dev libpango1.0-dev fonts-dejavu-core
libseccomp-dev gettext"
TEST_PKGS="openssl p11-kit softhsm2 opensc gnutls-bin xxd python3 util-linux procps bc bsdutils
ca-certificates pcscd vsmartcard-vpcd libcacard-dev libglib2.0-dev libnss3-dev libnss3-tools
iproute2 libengine-pkcs11-openssl pinentry-curses pinentry-tty tmux dbus gdb locales
debhelper lintian rpm udev bash-completion desktop-file-utils
qpdf poppler-utils ghostscript libpdfbox2-java libbcpkix-java openjdk-17-jdk-headless
libreoffice-writer-nogui
chromium firefox-esr nodejs zip gnuplot-nox"

check_only=0
set_name=all
for arg in "$@"; do
	case "$arg" in
	--check) check_only=1 ;;
	build|test|all) set_name=$arg ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
	esac
done

case "$set_name" in
build) want=$BUILD_PKGS ;;
test) want=$TEST_PKGS ;;
all) want="$BUILD_PKGS $TEST_PKGS" ;;
esac

# the browser tests drive chromium and firefox-esr with puppeteer-core (npm), installed
# into the project (tests/browser/node_modules) from the committed package-lock.json
top=$(cd "$(dirname "$0")/.." && pwd)
npm_stale() {
	[ "$set_name" != build ] || return 1
	[ -f "$top/tests/browser/node_modules/.package-lock.json" ] || return 0
	[ "$top/tests/browser/package-lock.json" -nt "$top/tests/browser/node_modules/.package-lock.json" ]
}
npm_install() {
	if ! command -v npm >/dev/null 2>&1; then
		echo "deps.sh: npm is missing (it comes with nodejs): the browser tests will skip" >&2
		return 0
	fi
	echo "deps.sh: npm ci in tests/browser (puppeteer-core, for the browser tests)"
	(cd "$top/tests/browser" && npm ci --no-audit --no-fund --ignore-scripts \
		--loglevel=error >/dev/null) || echo "deps.sh: npm ci failed: the browser tests will skip" >&2
}

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	if npm_stale; then
		[ "$check_only" = 1 ] && { echo "deps.sh: tests/browser/node_modules is missing or stale (npm ci)" >&2; exit 1; }
		npm_install
	fi
	exit 0
fi
if [ "$check_only" = 1 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	npm_stale && echo "deps.sh: tests/browser/node_modules is missing or stale (npm ci)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: run as root: apt-get install$missing" >&2
	exit 1
fi
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# another apt or dpkg may be running (unattended upgrades, a parallel build): wait for it
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
if npm_stale; then
	npm_install
fi
echo "deps.sh: done"

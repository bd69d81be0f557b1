# tests/lib/common.sh — sourced first by every integration test.
# Sets BUILD (absolute), T_DIR (a fresh temp dir removed at exit), K (the kyso CLI) and
# loads the TAP, token and agent helpers.
set -u
T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${BUILD:-$T_TOP/build}" && pwd)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kyso-test.XXXXXX")
chmod 700 "$T_DIR"
K=$BUILD/kyso
. "$T_TOP/tests/lib/tap.sh"
. "$T_TOP/tests/lib/tokens.sh"
. "$T_TOP/tests/lib/agent.sh"

t_cleanup() {
	agent_stop >/dev/null 2>&1
	if [ "$T_FAILED" -gt 0 ] && [ -f "$T_DIR/kysod.log" ]; then
		echo "# kysod log (last 40 lines):"; tail -n 40 "$T_DIR/kysod.log" | sed 's/^/#   /'
	fi
	[ -n "${KEEP_TEST_DIR:-}" ] || rm -rf "$T_DIR"
}
trap t_cleanup EXIT

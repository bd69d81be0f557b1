# tests/lib/common.sh — sourced first by every integration test.
# Sets BUILD (absolute), T_DIR (a fresh temp dir removed at exit), K (the kyso CLI),
# T_PYTHON (the interpreter `python3` runs: tests/lib/python.sh), the
# per-test configuration and audit log places (XDG_CONFIG_HOME, XDG_STATE_HOME,
# KYSO_ADMIN_CONFIG) and loads the TAP, token and agent helpers.
set -u
T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${BUILD:-$T_TOP/build}" && pwd)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kyso-test.XXXXXX")
chmod 700 "$T_DIR"
K=$BUILD/kyso
. "$T_TOP/tests/lib/python.sh"
# each test has its own settings, audit log and (as root) administrator's policy; the
# user file says "no dialogs" unless a test says otherwise (kysod --pinentry overrides it)
export XDG_CONFIG_HOME=$T_DIR/config XDG_STATE_HOME=$T_DIR/state
export KYSO_ADMIN_CONFIG=$T_DIR/admin.conf
mkdir -p "$XDG_CONFIG_HOME/kyso"
# kysod's module helpers get a small environment: the test module's settings are named
export KYSO_HELPER_ENV=KYSO_FAULTY_MODULE,KYSO_FAULTY_CONTROL,KYSO_FAULTY_TRACE
echo "pinentry = none" > "$XDG_CONFIG_HOME/kyso/kysod.conf"
. "$T_TOP/tests/lib/tap.sh"
. "$T_TOP/tests/lib/tokens.sh"
. "$T_TOP/tests/lib/agent.sh"

# t_wait CMD...: runs CMD until it succeeds, at most T_WAIT_S seconds (default 30): a sign
# that another process got somewhere, never a fixed wait. 1 if it never did.
t_wait() {
	local _
	for _ in $(seq 1 $(( ${T_WAIT_S:-30} * 10 ))); do "$@" && return 0; sleep 0.1; done
	return 1
}

t_cleanup() {
	agent_stop >/dev/null 2>&1
	if [ "$T_FAILED" -gt 0 ] && [ -f "$T_DIR/kysod.log" ]; then
		echo "# kysod log (last 40 lines):"; tail -n 40 "$T_DIR/kysod.log" | sed 's/^/#   /'
	fi
	[ -n "${KEEP_TEST_DIR:-}" ] || rm -rf "$T_DIR"
}
trap t_cleanup EXIT

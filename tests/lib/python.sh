# tests/lib/python.sh — the Python interpreter the suite runs: $KYSO_TEST_PYTHON if set,
# else /usr/bin/python3 (Debian's; python3 first on a developer's or CI machine's PATH may
# be a shim that takes half a second to start, as pyenv's does), else python3 from PATH.
# Sourced by tests/run.sh and tests/lib/common.sh; needs $BUILD. Sets T_PYTHON and puts
# $BUILD/tests/bin, holding a python3 link to it, first on PATH: `python3` in the tests
# and the `#!/usr/bin/env python3` test tools (the fake pinentry kysod starts) run it.
if [ -z "${T_PYTHON:-}" ]; then
	T_PYTHON=${KYSO_TEST_PYTHON:-}
	[ -n "$T_PYTHON" ] || { [ -x /usr/bin/python3 ] && T_PYTHON=/usr/bin/python3; } ||
		T_PYTHON=$(command -v python3)
	mkdir -p "$BUILD/tests/bin"
	# the link names the interpreter itself, so that /proc/PID/exe (what the agent shows)
	# is the interpreter, not the link
	ln -sfn "$T_PYTHON" "$BUILD/tests/bin/python3"
	export T_PYTHON PATH="$BUILD/tests/bin:$PATH"
fi

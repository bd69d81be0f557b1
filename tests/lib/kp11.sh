# tests/lib/kp11.sh — kyso-pkcs11.so, the module kyso offers, in shell tests. Source it
# after tests/lib/common.sh.
#   KP11          the module ($BUILD/kyso-pkcs11.so, an absolute path: p11-kit resolves
#                 relative names in its own module directory)
#   KP11_PROBE    tests/tools/kp11_probe.c, built
#   kp11_asan     true when the build is the ASan+UBSan one
#   kp11_host CMD...   runs a program that loads the module (pkcs11-tool, openssl, NSS's
#                 tools): in the ASan build with the sanitizer runtime preloaded (the
#                 module needs it first in the process) and without leak checks of the
#                 program itself
#   kp11_probe OUT ARGS...   runs the probe with its lines in OUT; its own stdout and
#                 stderr (where the module must never write) in OUT.stdout, OUT.stderr;
#                 a probe still running after 120 s is stopped ("probe timed out" in OUT)
#   kp11_line OUT N          line N of OUT
#   t_kp11_quiet DESC OUT    the probe run's stdout and stderr are empty

KP11=$BUILD/kyso-pkcs11.so
KP11_PROBE=$BUILD/tests/kp11_probe

kp11_asan() { ldd "$BUILD/kysod" 2>/dev/null | grep -q libasan; }

kp11_host() {
	if kp11_asan; then
		LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
			ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "$@"
	else
		"$@"
	fi
}

kp11_probe() {
	local out=$1; shift
	timeout 120 "$KP11_PROBE" -o "$out" "$KP11" "$@" > "$out.stdout" 2> "$out.stderr"
	[ $? -ne 124 ] || echo "probe timed out" >> "$out"
}

kp11_line() { sed -n "${2}p" "$1"; }

t_kp11_quiet() {
	if [ -s "$2.stdout" ] || [ -s "$2.stderr" ]; then
		t_flunk "$1" "stdout: $(head -c 500 "$2.stdout") stderr: $(head -c 500 "$2.stderr")"
	else
		t_pass "$1"
	fi
}

# tests/lib/failsync.sh — the failing-fsync shim (tests/tools/failsync.c): the audit log
# made unsyncable on demand. Source it after tests/lib/common.sh, then:
#   failsync_build    builds the shim into $T_DIR, sets FAILSYNC_PRELOAD (the LD_PRELOAD
#                     for kysod or a test's program: under ASan the sanitizer's runtime
#                     first) and exports KYSO_TEST_FAILSYNC=$T_DIR/failsync.on (while
#                     that file exists, syncs of a file named *audit.log fail with EIO);
#                     1 with the compiler's message in $T_DIR/cc.err if it cannot
failsync_build() {
	cc -std=c11 -shared -fPIC -Wall -Werror -o "$T_DIR/failsync.so" \
		"$T_TOP/tests/tools/failsync.c" -ldl 2>"$T_DIR/cc.err" || return 1
	FAILSYNC_PRELOAD=$T_DIR/failsync.so
	if ldd "$BUILD/kysod" | grep -q libasan; then
		FAILSYNC_PRELOAD="$(gcc -print-file-name=libasan.so) $FAILSYNC_PRELOAD"
	fi
	export KYSO_TEST_FAILSYNC=$T_DIR/failsync.on
}

#!/usr/bin/env bash
# tests/check.sh — what `make check` runs: the whole suite on the normal build, then again
# on the ASan+UBSan build, then the threaded parts under ThreadSanitizer (tests/tsan.sh,
# build-tsan), then once the packages (tests/packages/: the Debian packages
# built, installed, tried and purged; the RPM built), last because they install
# system-wide for a moment; ends with the total "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
total_p=0 total_f=0 total_s=0 rc=0
for variant in build build-asan; do
	echo "=== tests on $variant ==="
	if [ "$variant" = build-asan ]; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:fast_unwind_on_malloc=0
		export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	fi
	bash tests/run.sh "$variant" || rc=1
	if read -r p f s < "$variant/counts"; then
		total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
	else
		total_f=$((total_f + 1)); rc=1
	fi
	unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
done
echo "=== threaded parts under ThreadSanitizer (build-tsan) ==="
bash tests/tsan.sh build-tsan || rc=1
if read -r p f s < build-tsan/counts; then
	total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
else
	total_f=$((total_f + 1)); rc=1
fi
echo "=== packages (once) ==="
bash tests/run.sh build tests/packages/*.sh || rc=1
if read -r p f s < build/counts; then
	total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
else
	total_f=$((total_f + 1)); rc=1
fi
echo "=== total (normal and ASan+UBSan builds, ThreadSanitizer, packages) ==="
echo "$total_p passed, $total_f failed, $total_s skipped"
exit $rc

#!/usr/bin/env bash
# tests/run.sh BUILD [TEST...] — runs the unit test binaries and integration scripts
# against the programs in BUILD, reading their TAP, and prints per-test results and the
# closing line "N passed, N failed, N skipped". Counts are also written to BUILD/counts.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: run.sh BUILD [TEST...]}" && pwd); shift
export BUILD
. "$top/tests/lib/python.sh"
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	tests=("$BUILD"/tests/unit/test_* "$top"/tests/integration/*.sh)
fi
pass=0 fail=0 skip=0 broken=0
for t in "${tests[@]}"; do
	[ -e "$t" ] || continue
	name=${t#"$top"/}; name=${name#"$BUILD"/}
	start=$(date +%s)
	if [[ $t == *.sh ]]; then
		out=$(timeout 600 bash "$t" 2>&1); rc=$?
	else
		out=$(CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" 2>&1); rc=$?
	fi
	p=$(printf '%s\n' "$out" | grep -Ec '^ok [0-9]+' || true)
	s=$(printf '%s\n' "$out" | grep -Ec '^ok [0-9]+.*# (SKIP|skip)' || true)
	f=$(printf '%s\n' "$out" | grep -Ec '^not ok [0-9]+' || true)
	p=$((p - s))
	# a script that died or printed nothing counts as a failure, not as a pass
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; broken=$((broken + 1)); fi
	if [ $((p + f + s)) -eq 0 ]; then f=1; broken=$((broken + 1)); fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-44s %3d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" \
		$(( $(date +%s) - start ))
	if [ "$f" -gt 0 ] || [ -n "${VERBOSE:-}" ]; then
		printf '%s\n' "$out" | grep -Ev '^ok [0-9]+' | sed 's/^/    /' | head -n 80
		[ "$rc" -ne 0 ] && echo "    (exit status $rc)"
	fi
	if [ "$s" -gt 0 ]; then
		printf '%s\n' "$out" | grep -E '^ok [0-9]+.*# (SKIP|skip)' | sed 's/^/    /'
	fi
done
echo "$pass $fail $skip" > "$BUILD/counts"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

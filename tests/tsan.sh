#!/usr/bin/env bash
# tests/tsan.sh BUILD — the threaded parts of kysod and kyso-p11-helper under
# ThreadSanitizer (BUILD made with `make SAN=thread BUILD=BUILD`): the audit log's group
# commit, the token's lanes and session pool with Lock racing signatures, records written
# ahead of signatures and synced while the token signs (groups too), many clients at
# once, document batches, the helper's channels, kysod-whois asked off the loop, and
# kyso-pkcs11 in a program (threads signing through its 16 turns, C_Finalize waking the
# calls in progress, fork, its event stream). The tests' own checks count as usual; then
# "no ThreadSanitizer report" is one more test, which fails with the reports printed
# (kysod's, the helpers', the unit test's and the probe's, each written to its own file). Part of `make check` (tests/check.sh), after the normal and
# the ASan+UBSan runs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: tsan.sh BUILD}" && pwd)
cd "$top"
logs=$(mktemp -d /tmp/kyso-tsan.XXXXXX)
trap 'rm -rf "$logs"' EXIT
export TSAN_OPTIONS="halt_on_error=0 exitcode=0 second_deadlock_stack=1 log_path=$logs/tsan suppressions=$top/tests/tsan.supp"
bash tests/run.sh "$BUILD" \
	"$BUILD/tests/unit/test_audit_group" \
	tests/integration/session_pool.sh \
	tests/integration/concurrency.sh \
	tests/integration/documents_batch.sh \
	tests/integration/sign_digests.sh \
	tests/integration/sign_ahead.sh \
	tests/integration/documents_sync.sh \
	tests/integration/whois_async.sh \
	tests/integration/pkcs11_agent.sh \
	tests/integration/pkcs11_login.sh
rc=$?
read -r p f s < "$BUILD/counts" || { p=0 f=1 s=0; }
reports=$(grep -l "WARNING: ThreadSanitizer" "$logs"/tsan.* 2>/dev/null)
if [ -z "$reports" ]; then
	p=$((p + 1))
	printf '%-44s %3d passed %3d failed %3d skipped\n' "ThreadSanitizer reports" 1 0 0
else
	f=$((f + 1)); rc=1
	printf '%-44s %3d passed %3d failed %3d skipped\n' "ThreadSanitizer reports" 0 1 0
	for r in $reports; do
		echo "    --- $(basename "$r") ($(grep -m1 -o 'pid=[0-9]*' "$r"))"
		grep -E '^(WARNING|SUMMARY)|^    #[0-9]' "$r" | head -n 40 | sed 's/^/    /'
	done
fi
echo "$p $f $s" > "$BUILD/counts"
echo "$p passed, $f failed, $s skipped"
exit $rc

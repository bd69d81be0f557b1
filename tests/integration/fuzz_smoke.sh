#!/usr/bin/env bash
# The fuzz target (tests/fuzz/fuzz_call.c) over its corpus and 100,000 fixed mutations:
# framing, JSON, the varlink envelope, every method's validation, the decoders and the
# certificate parser. Under the ASan+UBSan build any memory error or UB aborts it.
. "$(dirname "$0")/../lib/common.sh"
out=$("$BUILD/tests/fuzz_call_smoke" -n 100000 "$T_TOP"/tests/fuzz/corpus/* 2>&1); rc=$?
t_eq "fuzz smoke run exits 0 (no crash, no sanitizer report)" 0 "$rc"
t_match "  ... and ran every mutation" 'no crash' "$out"
[ "$rc" = 0 ] || echo "$out" | tail -30 | sed 's/^/# /'
t_done

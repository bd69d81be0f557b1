#!/usr/bin/env bash
# `make demo` keeps working: the demo script runs end to end and says so.
. "$(dirname "$0")/../lib/common.sh"
out=$(BUILD=$BUILD bash "$T_TOP/tests/demo.sh" 2>&1); rc=$?
t_eq "the demo exits 0" 0 "$rc"
for step in "Making a demo token" "Starting the agent" "What the agent sees" \
	"Signing a document" "Verified OK" "the same check fails" "stopped cleanly" "Demo complete"; do
	t_match "the demo says: $step" "$step" "$out"
done
[ "$rc" = 0 ] || echo "$out" | tail -20 | sed 's/^/# /'
t_done

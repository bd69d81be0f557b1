#!/usr/bin/env bash
# The audit records in the systemd journal, for real: in a private mount namespace (root;
# nothing is mounted on the host) a tmpfs covers /run/systemd, a Python listener binds
# the journal's socket /run/systemd/journal/socket, and the audit writer (test_audit
# --probe: a granted and a refused record) sends its datagrams there. They must carry
# MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=kysod and the KYSO_* fields (a description with a
# newline in the journal's binary-safe form), and nothing like a PIN. Then a journal
# socket nobody reads, and no journal at all: the records still go to the file, the
# writer reports the failure, and nothing fails.
. "$(dirname "$0")/../lib/common.sh"

probe=$BUILD/tests/unit/test_audit
[ -x "$probe" ] || { t_flunk "build/tests/unit/test_audit is built"; t_done; exit 1; }
if [ "$(id -u)" != 0 ]; then
	t_skip "audit records in the journal" "needs root for a private mount namespace"
	t_done; exit 0
fi
if ! unshare -m --propagation private true 2>/dev/null; then
	t_skip "audit records in the journal" "cannot make a mount namespace here"
	t_done; exit 0
fi

# the journal's side: receives datagrams until N came (or 10 s), writes them as JSON
cat > "$T_DIR/journald.py" <<'PY'
import json, os, socket, struct, sys
path, out, want, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
if mode == "dead":  # bound, then nobody reads: senders get ECONNREFUSED
    s.close()
    sys.exit(0)
s.settimeout(10)
entries = []
try:
    while len(entries) < want:
        d = s.recv(1 << 20)
        e, i = {}, 0
        while i < len(d):
            nl = d.index(b"\n", i)
            line = d[i:nl]
            if b"=" in line:              # NAME=value
                k, v = line.split(b"=", 1)
                i = nl + 1
            else:                         # NAME\n, 64-bit LE size, value, \n
                k = line
                n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
                v = d[nl + 9:nl + 9 + n]
                i = nl + 9 + n + 1
            e[k.decode()] = v.decode("utf-8", "replace")
        entries.append(e)
except socket.timeout:
    pass
json.dump(entries, open(out, "w"))
PY

# MODE: live (a listener), dead (a socket nobody reads), none (no socket)
run_probe() {
	local mode=$1
	rm -f "$T_DIR/$mode.json"
	unshare -m --propagation private bash -c '
		T=$1 mode=$2 probe=$3
		if [ -d /run/systemd ]; then over=/run/systemd; else over=/run; fi
		mount -t tmpfs -o mode=755 kyso-test "$over" || exit 90
		mkdir -p /run/systemd/journal
		if [ "$mode" != none ]; then
			python3 "$T/journald.py" /run/systemd/journal/socket "$T/$mode.json" 2 "$mode" &
			for _ in $(seq 1 100); do
				[ -S /run/systemd/journal/socket ] && break; sleep 0.05
			done
			[ "$mode" = dead ] && wait
		fi
		"$probe" --probe "$T/$mode/audit.log" > "$T/$mode.out" 2> "$T/$mode.err"
		rc=$?
		wait
		exit $rc' _ "$T_DIR" "$mode" "$probe"
}

# field ENTRY NAME: the value of NAME in the ENTRY-th datagram (or "<absent>")
field() {
	python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))
print(e[int(sys.argv[2])].get(sys.argv[3], "<absent>") if len(e) > int(sys.argv[2]) else "<none>")' \
		"$T_DIR/live.json" "$1" "$2"
}

run_probe live; rc=$?
if [ "$rc" = 90 ]; then
	t_skip "audit records in the journal" "cannot mount a tmpfs in the namespace"
	t_done; exit 0
fi
t_eq "the writer succeeds with a journal listening" 0 "$rc"
t_eq "  ... and reports no journal failure" "journal failures: 0" "$(cat "$T_DIR/live.out")"
t_eq "two datagrams reached the journal socket" 2 \
	"$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$T_DIR/live.json")"
t_eq "SYSLOG_IDENTIFIER=kysod" "kysod kysod" "$(field 0 SYSLOG_IDENTIFIER) $(field 1 SYSLOG_IDENTIFIER)"
t_eq "PRIORITY: info for granted, warning for a wrong PIN" "6 4" "$(field 0 PRIORITY) $(field 1 PRIORITY)"
t_match "MESSAGE of a granted request" \
	'^kyso: signature granted to /usr/bin/evince \(pid 4242, uid 1000\): certificate 7c8eae3f0fad8461 \(CN=rsa2048 officer,O=Example\) on token .alpha., rsa-pss-sha256: "memo\.pdf\?second line"$' \
	"$(field 0 MESSAGE)"
t_match "MESSAGE of a refusal" \
	'^kyso: signature refused to /usr/bin/evince .*: io\.kyso\.Agent\.PinIncorrect: the PIN is incorrect$' \
	"$(field 1 MESSAGE)"
want=(KYSO_UID=1000 KYSO_PID=4242 KYSO_EXE=/usr/bin/evince KYSO_METHOD=io.kyso.Agent.Sign
	KYSO_TOKEN_SERIAL=9309623000dfb4c8 KYSO_TOKEN_LABEL=alpha
	KYSO_CERTIFICATE=7c8eae3f0fad8461aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55
	"KYSO_SUBJECT=CN=rsa2048 officer,O=Example" KYSO_ALGORITHM=rsa-pss-sha256
	KYSO_DIGEST=deadbeef0102030405060708090a0b0c0d0e0f101112131415161718191a1bff
	KYSO_DIGEST_ALG=sha256 KYSO_RESULT=granted KYSO_TIME=2026-12-06T10:00:00.123Z)
for kv in "${want[@]}"; do
	t_eq "the structured field ${kv%%=*}" "${kv#*=}" "$(field 0 "${kv%%=*}")"
done
t_eq "KYSO_DESCRIPTION keeps its newline (binary-safe field)" "memo.pdf
second line" "$(field 0 KYSO_DESCRIPTION)"
t_eq "a refusal: KYSO_RESULT, KYSO_MESSAGE, and no digest" \
	"io.kyso.Agent.PinIncorrect|the PIN is incorrect|<absent>" \
	"$(field 1 KYSO_RESULT)|$(field 1 KYSO_MESSAGE)|$(field 1 KYSO_DIGEST)"
t_eq "a granted request has no KYSO_MESSAGE" "<absent>" "$(field 0 KYSO_MESSAGE)"
t_eq "no field is about a PIN" "" "$(python3 -c 'import json, sys
print(" ".join(k for e in json.load(open(sys.argv[1])) for k in e if "PIN" in k.upper()))' \
	"$T_DIR/live.json")"
t_eq "the file has both records too" 2 "$(wc -l < "$T_DIR/live/audit.log")"

run_probe dead; rc=$?
t_eq "a journal socket nobody reads: the writer still succeeds" 0 "$rc"
t_match "  ... and reports the journal failure" \
	'^journal failures: 2: cannot send the audit records to the journal: Connection refused$' \
	"$(cat "$T_DIR/dead.out")"
t_match "  ... logged once" 'warning: .*journal.*still written to' "$(cat "$T_DIR/dead.err")"
t_eq "  ... once only" 1 "$(grep -c journal "$T_DIR/dead.err")"
t_eq "  ... and the file has both records" 2 "$(wc -l < "$T_DIR/dead/audit.log")"

run_probe none; rc=$?
t_eq "no journal at all: the writer succeeds" 0 "$rc"
t_eq "  ... and it is not a failure" "journal failures: 0" "$(cat "$T_DIR/none.out")"
t_eq "  ... the file has both records" 2 "$(wc -l < "$T_DIR/none/audit.log")"
t_done

#!/usr/bin/env bash
# kyso audit: a handcrafted audit log (granted and refused requests, two certificates,
# old and recent times, lines that are not records) read through the default path and
# --file; the table (local time, short error names, program[pid], the subject's CN, text
# made safe for the terminal, the description cut to a terminal's width), the filters
# (--since/--until relative, absolute with an offset, a local date; --cert; --result),
# --json, and what happens without a file, with an unreadable one and with a bad command
# line. Then the records the agent's own writer makes (test_audit --probe) read back.
. "$(dirname "$0")/../lib/common.sh"

export TZ=UTC
unset XDG_STATE_HOME
A=7c8eae3f0fad8461aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55
B=d04b7ea41019adc8bb66bb66bb66bb66bb66bb66bb66bb66bb66bb66bb66bb66
log=$T_DIR/state/kyso/audit.log
mkdir -p "$T_DIR/state/kyso"
# TIME [EXTRA JSON MEMBERS]: one record line; TIME is RFC 3339 or "N minutes ago"
rec() {
	python3 - "$@" <<'PY'
import datetime, json, sys
t = sys.argv[1]
if t.endswith("ago"):
    t = (datetime.datetime.now(datetime.timezone.utc) -
         datetime.timedelta(minutes=int(t.split()[0]))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
o = {"time": t, "uid": 0, "pid": 100, "method": "io.kyso.Agent.Sign"}
o.update(json.loads(sys.argv[2]))
print(json.dumps(o, separators=(",", ":"), ensure_ascii=False))
PY
}
{
	rec 2026-01-10T08:00:00.000Z '{"exe":"/usr/bin/evince","certificate":"'$A'",
	  "subject":"CN=Alice Officer,O=Example","algorithm":"ecdsa-sha256",
	  "digest":"00ff","digest_alg":"sha256","description":"memo.pdf","result":"granted"}'
	rec 2026-01-10T09:00:00.000Z '{"exe":"/usr/bin/okular","pid":101,"certificate":"'$A'",
	  "subject":"CN=Alice Officer,O=Example","algorithm":"ecdsa-sha256",
	  "result":"io.kyso.Agent.PinIncorrect","message":"the PIN is incorrect"}'
	echo 'this is not a record'
	rec 2026-01-11T10:00:00.000Z '{"exe":"/opt/app","certificate":"'$B'",
	  "subject":"O=Example,CN=Bob","algorithm":"rsa-pss-sha256",
	  "description":"two\nlines \u001b[31mred\u001b[0m k\u00fd s\u1ed1","result":"granted"}'
	echo '{"uid":0,"result":"granted"}'
	rec "90 ago" '{"pid":7,"algorithm":"ed25519","result":"io.kyso.Agent.NoSuchCertificate"}'
	rec "10 ago" '{"exe":"/usr/bin/libreoffice","certificate":"'$B'","subject":"CN=Bob",
	  "algorithm":"rsa-pss-sha256","description":"recent","result":"granted"}'
} > "$log" || { t_flunk "write the test audit log"; t_done; exit 1; }
export XDG_STATE_HOME=$T_DIR/state

# json_count [ARGS...]: how many records `kyso audit --json ARGS` prints, or "bad JSON"
json_count() {
	"$K" audit --json "$@" 2>/dev/null | python3 -c 'import json, sys
a = json.load(sys.stdin)
print(len(a) if isinstance(a, list) and all(isinstance(o, dict) for o in a) else "bad")' \
	2>/dev/null || echo "bad JSON"
}

t_match "kyso audit --help" 'Usage: kyso audit.*--since.*--cert.*--result.*--file.*--json' \
	"$($K audit --help | tr '\n' ' ')"
t_match "kyso --help lists audit" ' audit +show the audit log' "$($K --help)"

out=$($K audit 2>"$T_DIR/err"); rc=$?
t_eq "the default path under \$XDG_STATE_HOME: exit 0" 0 "$rc"
t_eq "five records, a header" 6 "$(printf '%s\n' "$out" | wc -l)"
t_match "the header" '^TIME +RESULT +PROGRAM +CERTIFICATE +ALGORITHM +DOCUMENT / DESCRIPTION' "$out"
t_match "a granted request: local time, program[pid], the CN, algorithm, description" \
	'2026-01-10 08:00:00  granted +evince\[100\] +Alice Officer +ecdsa-sha256 +memo\.pdf' "$out"
t_match "a refusal by its short error name" \
	'2026-01-10 09:00:00  PinIncorrect +okular\[101\] +Alice Officer +ecdsa-sha256$' "$out"
t_match "a refusal with no program or certificate known" \
	'NoSuchCertificate +pid 7 +- +ed25519$' "$out"
t_match "the CN where it is not first; line ends and escapes made harmless" \
	'granted +app\[100\] +Bob +rsa-pss-sha256 +two lines \?\[31mred\?\[0m ký số$' "$out"
t_eq "no escape character reaches the terminal" 0 "$(printf '%s' "$out" | grep -c $'\e')"
t_eq "the lines that are not records are reported, with their number" \
	"kyso audit: $log line 3 is not a valid record; skipped
kyso audit: $log line 5 is not a valid record; skipped" "$(cat "$T_DIR/err")"
t_match "local time follows TZ" '2026-01-10 15:00:00  granted' "$(TZ='<+07>-7' $K audit 2>/dev/null)"

t_eq "--json: an array of every record" 5 "$(json_count)"
t_eq "--json prints the records as written" "$(sed -n 1p "$log")" \
	"$($K audit --json --until 2026-01-10T08:30:00Z 2>/dev/null | sed -n 2p | sed 's/^  //')"
t_eq "--since 1h: the recent one" 1 "$(json_count --since 1h)"
t_eq "--since 2h: also the refusal 90 minutes ago" 2 "$(json_count --since 2h)"
t_eq "--since 120m is the same" 2 "$(json_count --since 120m)"
t_eq "--since 7d --result refused" 1 "$(json_count --since 7d --result refused)"
t_eq "--since a UTC time" 4 "$(json_count --since 2026-01-10T08:30:00Z)"
t_eq "--since a time with an offset (08:30Z)" 4 "$(json_count --since 2026-01-10T10:30:00+02:00)"
t_eq "--since a date: local midnight" 3 "$(json_count --since 2026-01-11)"
t_eq "--since a date in another zone (UTC-12)" 2 "$(TZ='<-12>12' json_count --since 2026-01-11)"
t_eq "--until is exclusive" 1 "$(json_count --until 2026-01-10T09:00:00.000Z)"
t_eq "--since and --until: one day" 2 "$(json_count --since 2026-01-10 --until 2026-01-11)"
t_eq "--cert: an 8-digit id prefix" 2 "$(json_count --cert 7c8eae3f)"
t_eq "--cert: upper case, and the whole id" "2 2" \
	"$(json_count --cert D04B7EA4) $(json_count --cert "$A")"
t_eq "--result granted" 3 "$(json_count --result granted)"
t_eq "--result refused" 2 "$(json_count --result refused)"
t_eq "--result PinIncorrect (short or full name)" "1 1" \
	"$(json_count --result PinIncorrect) $(json_count -r io.kyso.Agent.PinIncorrect)"
t_eq "filters together" 1 "$(json_count --cert 7c8eae3f --result granted --until 2026-01-11)"
t_eq "nothing matches: an empty array" "[]" "$($K audit --json --cert 00000000 2>/dev/null)"
t_eq "nothing matches: said in words" "No record matches." "$($K audit -c 00000000 2>/dev/null)"

# bad command lines: exit 2 with a sentence
for bad in "--since yesterday" "--since 2026-13-01" "--until 2026-02-30" "--since 5" \
	"--since 2026-01-10T25:00Z" "--cert 7c8eae3" "--cert 7c8eae3g" "--result maybe" "extra"; do
	# shellcheck disable=SC2086
	err=$($K audit $bad 2>&1 >/dev/null); rc=$?
	t_eq "kyso audit $bad: exit 2" 2 "$rc"
	t_match "  ... with a sentence" '^kyso audit: .{20,}' "$err"
done
t_match "a bad time says which forms are understood" "'yesterday' is not a time: give .*30m" \
	"$($K audit --since yesterday 2>&1)"

# no file, or one that cannot be read
out=$($K audit --file "$T_DIR/none.log" 2>&1); rc=$?
t_eq "no audit log yet: exit 0" 0 "$rc"
t_eq "  ... saying so" "kyso audit: no audit log at $T_DIR/none.log yet (nothing has been signed)" "$out"
t_eq "  ... --json: []" "[]" "$($K audit --json --file "$T_DIR/none.log" 2>/dev/null)"
t_match "the default path under HOME without \$XDG_STATE_HOME" \
	"no audit log at $T_DIR/home/.local/state/kyso/audit.log yet" \
	"$(env -u XDG_STATE_HOME HOME="$T_DIR/home" "$K" audit 2>&1)"
out=$($K audit --file "$T_DIR/state" 2>&1); rc=$?
t_eq "a directory for a file: exit 1" 1 "$rc"
t_eq "  ... saying why" "kyso audit: cannot read the audit log $T_DIR/state: Is a directory" "$out"
: > "$T_DIR/empty.log"
t_eq "an empty log" "The audit log is empty." "$($K audit -f "$T_DIR/empty.log")"

# a terminal: the description is cut to its width
if command -v script >/dev/null; then
	long=$(printf 'd%.0s' $(seq 1 300))
	rec "5 ago" '{"description":"'"$long"'","result":"granted"}' > "$T_DIR/long.log"
	out=$(COLUMNS=140 LC_ALL=C.UTF-8 script -qec "stty cols 140; $K audit -f $T_DIR/long.log" \
		/dev/null | tr -d '\r' | tail -n 1)
	t_eq "on a terminal the description is cut to its width..." \
		140 "$(printf '%s' "$out" | LC_ALL=C.UTF-8 wc -m | tr -d ' ')"
	t_match "  ... with an ellipsis" 'dd…$' "$out"
	t_eq "  ... and not in a pipe" 300 "$($K audit -f "$T_DIR/long.log" | tail -n 1 |
		grep -o 'd*$' | tr -d '\n' | wc -c)"
else
	t_skip "the description cut to the terminal's width" "script(1) is not installed"
fi

# records as the agent writes them
probe=$BUILD/tests/unit/test_audit
if [ -x "$probe" ] && "$probe" --probe "$T_DIR/agent/audit.log" >/dev/null 2>&1; then
	t_eq "the agent's records: both read back" 2 "$(json_count -f "$T_DIR/agent/audit.log")"
	out=$($K audit -f "$T_DIR/agent/audit.log" 2>&1)
	t_match "  ... shown as a table, without a warning" \
		'granted +evince\[4242\] +rsa2048 officer +rsa-pss-sha256 +memo\.pdf second line.*PinIncorrect' \
		"$(printf '%s' "$out" | tr '\n' ' ')"
	t_eq "  ... file mode 0600, directory 0700" "600 700" \
		"$(stat -c %a "$T_DIR/agent/audit.log") $(stat -c %a "$T_DIR/agent")"
else
	t_flunk "write records with test_audit --probe"
fi
t_done

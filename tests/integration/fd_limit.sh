#!/usr/bin/env bash
# Out of file descriptors: kysod under `prlimit --nofile=40:40` and 60 clients at once.
# accept4 fails with EMFILE while the listening socket stays readable; the agent must
# stop accepting until a descriptor is freed (not spin at 100 % CPU writing a log line
# per attempt), say so once, and serve the clients that waited once others leave. It
# keeps a few descriptors from clients (modules, dialogs, the audit log need them), so
# most of the time it stops at its own count; the limit lowered under the running agent
# (prlimit --pid) makes accept4 itself fail.
. "$(dirname "$0")/../lib/common.sh"
. "$T_TOP/tests/lib/verify.sh"

if ! command -v prlimit >/dev/null 2>&1; then
	t_skip "kysod out of file descriptors" "prlimit (util-linux) is not installed"
	t_done; exit 0
fi
tok_init "$T_DIR/tok" && tok_create main && tok_key main 01 ec:p256 key1 ||
	{ t_flunk "make the test token"; t_done; exit 1; }
export KYSO_SOCKET=$T_DIR/agent.sock
prlimit --nofile=40:40 "$BUILD/kysod" --foreground --socket "$KYSO_SOCKET" \
	--module "$SOFTHSM_MODULE" >> "$T_DIR/kysod.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 200); do $K info >/dev/null 2>&1 && break; sleep 0.05; done
t_ok "kysod with 40 file descriptors serves" $K info
open0=$(ls /proc/$AGENT_PID/fd | wc -l)

ticks() { awk '{print $14 + $15}' "/proc/$AGENT_PID/stat"; }
# the clients: 60 connections held open, each sends GetInfo; the script prints how many
# were answered, then (on "go" from the test, a line on its stdin) closes the answered
# ones and waits for the others to be answered too
mkfifo "$T_DIR/go"
cat > "$T_DIR/clients.py" <<'PY'
import select, socket, sys
socks = []
for _ in range(60):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])  # waits in the backlog when the agent does not accept
    s.sendall(b'{"method":"org.varlink.service.GetInfo"}\0')
    socks.append(s)
def answered(pending, timeout, close=False):
    done = []
    while pending:
        r, _, _ = select.select(pending, [], [], timeout)
        if not r:
            break
        for s in r:
            if b'"vendor"' in s.recv(65536):
                done.append(s)
            pending.remove(s)
            if close:
                s.close()
        timeout = 0.5
    return done
first = answered(list(socks), 10)
print("first", len(first), flush=True)
sys.stdin.readline()
for s in first:
    s.close()
rest = [s for s in socks if s not in first]
later = answered(list(rest), 30, True)
print("later", len(later), "of", len(rest), flush=True)
PY
python3 "$T_DIR/clients.py" "$KYSO_SOCKET" > "$T_DIR/clients.out" 2>&1 < "$T_DIR/go" &
clients=$!
exec 3> "$T_DIR/go"
for _ in $(seq 200); do grep -q '^first' "$T_DIR/clients.out" && break; sleep 0.05; done
first=$(awk '/^first/ {print $2}' "$T_DIR/clients.out")
t_ok "some clients are served at once ($first of 60), not all (the limit holds)" \
	test "${first:-0}" -gt 0 -a "${first:-60}" -lt 60
t_match "the agent says it stops accepting, naming the cause" \
	'file descriptor.*not accepting connections' "$(cat "$T_DIR/kysod.log")"
# a measurement window, not a wait for another process: the agent's CPU time in 2 s
t0=$(ticks); sleep 2; t1=$(ticks)
hz=$(getconf CLK_TCK)
t_ok "  ... and, while the others wait, it does not spin ($((t1 - t0)) ticks of CPU in 2 s at $hz/s)" \
	test $((t1 - t0)) -lt $((hz / 4))
lines=$(grep -c -i -e 'accept' -e 'descriptors' "$T_DIR/kysod.log")
t_ok "  ... nor fill its log ($lines lines about accepting)" test "$lines" -le 3
echo go >&3
exec 3>&-
wait $clients
t_match "once the first clients leave, every waiting client is served" \
	"^later $((60 - first)) of $((60 - first))\$" "$(grep '^later' "$T_DIR/clients.out")"
t_eq "  ... and the agent says so once it accepts again (once)" 1 \
	"$(grep -c 'accepting connections again' "$T_DIR/kysod.log")"

t_ok "kysod still signs" $K sign --cert "$(cert_id "$TOK_DIR/key1.crt.pem")" \
	--alg ecdsa-sha256 --pin-stdin --digest "$(printf x | sha256sum | cut -d' ' -f1)" \
	<<< "$TOK_PIN"
t_ok "  ... and uses no more descriptors than before ($(ls /proc/$AGENT_PID/fd | wc -l) vs $open0)" \
	test "$(ls /proc/$AGENT_PID/fd | wc -l)" -le $((open0 + 2))

# the limit lowered under the running agent (below what it counted on): accept4 itself
# fails with EMFILE; the agent pauses and tries again each second, quietly
n=$(ls /proc/$AGENT_PID/fd | wc -l)
prlimit --pid "$AGENT_PID" --nofile=$n:40
python3 - "$KYSO_SOCKET" > "$T_DIR/emfile.out" 2>&1 <<'PY' &
import select, socket, sys
socks = []
for _ in range(5):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b'{"method":"org.varlink.service.GetInfo"}\0')
    socks.append(s)
served = 0
while socks:
    r, _, _ = select.select(socks, [], [], 30)
    if not r:
        break
    for s in r:
        served += b'"vendor"' in s.recv(65536)
        socks.remove(s)
print("served", served, flush=True)
PY
emfile=$!
for _ in $(seq 200); do grep -q 'out of file descriptors' "$T_DIR/kysod.log" && break; sleep 0.05; done
t_match "accept4 failing with EMFILE: the agent says so" \
	'out of file descriptors \(Too many open files\): not accepting' "$(cat "$T_DIR/kysod.log")"
t0=$(ticks); sleep 2; t1=$(ticks)
t_ok "  ... does not spin ($((t1 - t0)) ticks in 2 s)" test $((t1 - t0)) -lt $((hz / 4))
t_eq "  ... and says it once" 1 "$(grep -c 'out of file descriptors' "$T_DIR/kysod.log")"
prlimit --pid "$AGENT_PID" --nofile=40:40
wait $emfile
t_eq "  ... with descriptors again, the waiting clients are served" "served 5" "$(cat "$T_DIR/emfile.out")"
# (SoftHSM, unable to open its token's files meanwhile, may lose the token until it is
# initialised again: this part comes last)
t_ok "  ... and the agent serves" $K info
t_agent_stops
t_done

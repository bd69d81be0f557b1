# tests/lib/digests.sh — SignDigests from shell tests (sign_digests.sh,
# sign_digests_pipeline.sh). Source it after tests/lib/common.sh and verify.sh.
#
#   sign_digests CERT ALG N OUTDIR [PIN [DESCRIPTION]]
#       N documents OUTDIR/doc.I, one SignDigests call over their SHA-256 digests (with
#       DESCRIPTION, default "digests test"), the signatures written to OUTDIR/sig.I;
#       prints "ok BATCH", or the error's name and parameter (the whole error reply in
#       OUTDIR/error.json)
#   verify_all ALG PUB DIR N
#       OpenSSL verifies DIR/sig.I over DIR/doc.I for every I; prints how many failed

sign_digests() {
	/usr/bin/python3 - "$KYSO_SOCKET" "$@" <<'PY'
import base64, hashlib, json, os, socket, sys
path, cert, alg, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
pin = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
desc = sys.argv[7] if len(sys.argv) > 7 else "digests test"
os.makedirs(out, exist_ok=True)
digests = []
for i in range(n):
    doc = os.urandom(64) + b"document %d" % i
    open(os.path.join(out, "doc.%d" % i), "wb").write(doc)
    digests.append(base64.b64encode(hashlib.sha256(doc).digest()).decode())
params = {"certificate": cert, "algorithm": alg, "digests": digests, "description": desc}
if pin:
    params["pin"] = pin
s = socket.socket(socket.AF_UNIX); s.connect(path)
s.sendall(json.dumps({"method": "io.kyso.Agent.SignDigests", "parameters": params}).encode() + b"\0")
buf = b""
while b"\0" not in buf:
    chunk = s.recv(1 << 20)
    if not chunk:
        raise SystemExit("the agent closed the connection")
    buf += chunk
r = json.loads(buf.split(b"\0", 1)[0])
if "error" in r:
    open(os.path.join(out, "error.json"), "w").write(json.dumps(r))
    print(r["error"], r.get("parameters", {}).get("parameter", ""))
    raise SystemExit(0)
sigs = r["parameters"]["signatures"]
if len(sigs) != n or r["parameters"]["certificate"] != cert:
    raise SystemExit("wrong reply: %d signatures" % len(sigs))
for i, sig in enumerate(sigs):
    open(os.path.join(out, "sig.%d" % i), "wb").write(base64.b64decode(sig))
print("ok", r["parameters"]["batch"])
PY
}

verify_all() {
	local bad=0 i
	for i in $(seq 0 $(($4 - 1))); do
		verify_sig "$1" "$2" "$3/sig.$i" "$3/doc.$i" >/dev/null 2>&1 || bad=$((bad + 1))
	done
	echo "$bad"
}

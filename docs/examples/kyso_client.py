#!/usr/bin/env python3
"""Signs the SHA-256 of FILE through the kyso agent. Usage: kyso_client.py FILE [PIN]"""
import base64, hashlib, json, os, socket, sys

def call(sock, method, **parameters):
    sock.sendall(json.dumps({"method": method, "parameters": parameters}).encode() + b"\0")
    reply = b""
    while not reply.endswith(b"\0"):
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("kyso_client: the agent closed the connection")
        reply += chunk
    reply = json.loads(reply[:-1])
    if "error" in reply:
        sys.exit("kyso_client: %s: %s" % (reply["error"], reply["parameters"].get("message")))
    return reply["parameters"]

if len(sys.argv) not in (2, 3):
    sys.exit("usage: kyso_client.py FILE [PIN]")
run = os.environ.get("XDG_RUNTIME_DIR", "")
path = os.environ.get("KYSO_SOCKET") or (run + "/kyso/agent.sock" if run.startswith("/")
                                         else "/tmp/kyso-%d/agent.sock" % os.getuid())
with open(sys.argv[1], "rb") as f:
    digest = hashlib.sha256(f.read()).digest()
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
for cert in call(sock, "io.kyso.Agent.ListCertificates")["certificates"]:
    algs = [a for a in ("rsa-pss-sha256", "rsa-pkcs1v15-sha256", "ecdsa-sha256")
            if a in cert["algorithms"]]
    if cert["can_sign"] and algs:
        break
else:
    sys.exit("kyso_client: no certificate can sign a SHA-256 digest")
request = {"certificate": cert["id"], "algorithm": algs[0], "digest":
           base64.b64encode(digest).decode(), "description": os.path.basename(sys.argv[1])}
if len(sys.argv) == 3:
    request["pin"] = sys.argv[2]
result = call(sock, "io.kyso.Agent.Sign", **request)
print(result["signature"])
print(result["certificate"], result["algorithm"])

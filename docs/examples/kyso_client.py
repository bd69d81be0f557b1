#!/usr/bin/env python3
"""Signs the SHA-256 of FILE through the kyso agent. Usage: kyso_client.py FILE [--pin-stdin]

It sends no PIN: the agent asks the officer in its own dialog. Only where the agent can
show none does this client ask for the PIN itself, once: on the terminal (not echoed), or
with --pin-stdin from the first line of standard input; never from the command line."""
import base64, getpass, hashlib, json, os, socket, sys

def call(sock, method, **parameters):
    sock.sendall(json.dumps({"method": method, "parameters": parameters}).encode() + b"\0")
    reply = b""
    while not reply.endswith(b"\0"):
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("kyso_client: the agent closed the connection")
        reply += chunk
    reply = json.loads(reply[:-1])
    return reply.get("error"), reply.get("parameters", {})

def check(error, parameters):
    if error:
        sys.exit("kyso_client: %s: %s" % (error, parameters.get("message")))
    return parameters

if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--pin-stdin"]):
    sys.exit("usage: kyso_client.py FILE [--pin-stdin]")
run = os.environ.get("XDG_RUNTIME_DIR", "")
path = os.environ.get("KYSO_SOCKET") or (run + "/kyso/agent.sock" if run.startswith("/")
                                         else "/tmp/kyso-%d/agent.sock" % os.getuid())
with open(sys.argv[1], "rb") as f:
    digest = hashlib.sha256(f.read()).digest()
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
for cert in check(*call(sock, "io.kyso.Agent.ListCertificates"))["certificates"]:
    algs = [a for a in ("rsa-pss-sha256", "rsa-pkcs1v15-sha256", "ecdsa-sha256")
            if a in cert["algorithms"]]
    if cert["can_sign"] and algs:
        break
else:
    sys.exit("kyso_client: no certificate can sign a SHA-256 digest")
request = {"certificate": cert["id"], "algorithm": algs[0], "digest":
           base64.b64encode(digest).decode(), "description": os.path.basename(sys.argv[1])}
error, result = call(sock, "io.kyso.Agent.Sign", **request)
if error == "io.kyso.Agent.PinRequired" and (sys.argv[2:] or sys.stdin.isatty()):
    # the agent could not ask the officer itself: ask here, once (a wrong PIN is final)
    request["pin"] = (sys.stdin.readline().rstrip("\r\n") if sys.argv[2:] else
                      getpass.getpass("PIN for the token (no dialog can be shown here): "))
    error, result = call(sock, "io.kyso.Agent.Sign", **request)
result = check(error, result)
print(result["signature"])
print(result["certificate"], result["algorithm"])

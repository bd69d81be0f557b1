#!/usr/bin/env python3
"""fuzz_live.py SOCKET VARLINK CERT TOKEN PIN COUNT SEED — mutated calls at a live kysod.

Starts from valid calls of every method (Sign, SignDigests, SignDocuments with both
profiles, Login, the List methods, GetInfo, Lock...) and mutates them: keys dropped or
added, values of the wrong type, too long, not base64 or of the wrong length, lists past
their limits, unknown methods, broken envelopes, invalid UTF-8, cut or joined messages,
clients that hang up in the middle of a streamed batch. Every reply must be JSON, and an
error must be one the interface declares (VARLINK) or org.varlink.service's. Prints one
line per violation, then a summary; exits 0 when there was none. Deterministic for SEED.
"""
import base64
import json
import random
import re
import socket
import sys

sock_path, varlink, cert, token, pin, count, seed = sys.argv[1:8]
count, rnd = int(count), random.Random(int(seed))
KNOWN = {"io.kyso.Agent." + n for n in re.findall(r"^error (\w+)", open(varlink).read(), re.M)}
KNOWN |= {"org.varlink.service." + n for n in ("InterfaceNotFound", "MethodNotFound",
          "MethodNotImplemented", "InvalidParameter", "PermissionDenied", "ExpectedMore")}
violations, replies, errors = [], 0, {}


def b64(n):
    return base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(n))).decode()


def document(i):
    return {"name": "doc-%d.pdf" % i, "digest": b64(32), "digest_algorithm": "sha256"}


def valid():
    m = rnd.choice(["Sign"] * 4 + ["SignDigests"] * 2 + ["SignDocuments"] * 3 +
                   ["Login", "ListTokens", "ListCertificates", "ListModules", "GetInfo",
                    "ListWebOrigins", "ForgetWebOrigins", "Lock"])
    p = {}
    if m == "Sign":
        p = {"certificate": cert, "algorithm": "ecdsa-sha256", "digest": b64(32), "pin": pin,
             "description": "fuzz é " + str(rnd.random())}
    elif m == "SignDigests":
        p = {"certificate": cert, "algorithm": "ecdsa-sha256", "pin": pin,
             "digests": [b64(32) for _ in range(rnd.randint(1, 6))]}
    elif m == "SignDocuments":
        p = {"certificate": cert, "pin": pin, "profile": rnd.choice(["cades", "pades"]),
             "documents": [document(i) for i in range(rnd.randint(1, 4))]}
    elif m == "Login":
        p = {"token": token, "pin": pin}
    elif m == "ListCertificates":
        p = {"token": token}
    elif m == "ForgetWebOrigins":
        p = {"origin": "https://fuzz.example"}
    iface = "org.varlink.service." if m == "GetInfo" else "io.kyso.Agent."
    return {"method": iface + m, "parameters": p}


WEIRD = [None, True, 0, -1, 2**63, 1.5, "", "é" * 300, "x" * 70000, [], {}, [[[]]],
         {"a": {"b": {"c": 1}}}, "!!not base64!!", "AAAA", "=" * 5, "\u202e\u0007tab\t"]


def mutate(msg):
    p = msg.get("parameters")
    for _ in range(rnd.randint(1, 3)):
        k = rnd.random()
        if isinstance(p, dict) and p and k < 0.25:
            p.pop(rnd.choice(list(p)))
        elif isinstance(p, dict) and k < 0.45:
            key = rnd.choice(list(p) or ["x"]) if rnd.random() < 0.8 else "é" * 40
            p[key] = rnd.choice(WEIRD)
        elif isinstance(p, dict) and "documents" in p and k < 0.6:
            docs = p["documents"] if isinstance(p["documents"], list) else []
            r = rnd.random()
            if r < 0.2:
                p["documents"] = [document(i) for i in range(1001)]
            elif r < 0.4 and docs:
                docs.append(dict(docs[0]))          # a name twice
            elif docs and isinstance(docs[0], dict):
                d = rnd.choice(docs)
                d[rnd.choice(["name", "digest", "digest_algorithm", "content_type",
                              "signing_time"])] = rnd.choice(WEIRD + ["1.2.3", "sha1",
                              "2000-01-01T00:00:00Z", "\x01ctl", b64(31), b64(64)])
        elif isinstance(p, dict) and "digests" in p and k < 0.7:
            p["digests"] = rnd.choice([[], [b64(32)] * 1001, [b64(20)], [5], "x"])
        elif k < 0.8:
            msg["method"] = rnd.choice(["io.kyso.Agent.Nope", "io.kyso.agent.Sign", "",
                                        "Sign", "io.kyso.Agent.", 7, "org.varlink.service.x"])
        elif k < 0.9:
            msg[rnd.choice(["more", "oneway", "upgrade", "x"])] = rnd.choice([True, False, 1, "y"])
        else:
            msg["parameters"] = rnd.choice(WEIRD)
    return msg


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock_path)
    return s


def read_reply(s, buf):
    while b"\0" not in buf:
        chunk = s.recv(1 << 20)
        if not chunk:
            return None, buf
        buf += chunk
    i = buf.index(b"\0")
    return buf[:i], buf[i + 1:]


def check(raw, what):
    global replies
    replies += 1
    try:
        r = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        violations.append("%s: a reply that is not JSON (%s): %r" % (what, e, raw[:200]))
        return None
    if not isinstance(r, dict):
        violations.append("%s: a reply that is not an object: %r" % (what, raw[:200]))
        return None
    if "error" in r:
        name = r["error"]
        errors[name] = errors.get(name, 0) + 1
        if name not in KNOWN:
            violations.append("%s: an error the interface does not declare: %s" % (what, name))
        msg = (r.get("parameters") or {}).get("message")
        if msg is not None and not isinstance(msg, str):
            violations.append("%s: a message that is not a string: %r" % (what, msg))
    return r


s, buf = connect(), b""
for i in range(count):
    msg = valid()
    if rnd.random() < 0.75:
        msg = mutate(msg)
    wants_more = msg.get("more") is True
    oneway = msg.get("oneway") is True
    what = "call %d (%s)" % (i, str(msg.get("method"))[:40])
    data = json.dumps(msg).encode() + b"\0"
    shape = rnd.random()
    try:
        if shape < 0.03:
            data = data[:-1] + b"\xff\xfe\0"            # invalid UTF-8 before the NUL
        elif shape < 0.06:
            data = data[: rnd.randint(1, len(data) - 1)] + b"\0"   # cut JSON
        if 0.09 <= shape < 0.12 or oneway:
            s.sendall(data)                              # and hang up at once
            s.close()
            s, buf = connect(), b""
            continue
        if 0.12 <= shape < 0.15:
            half = len(data) // 2                        # in two pieces
            s.sendall(data[:half])
            s.sendall(data[half:])
        else:
            s.sendall(data)
        while True:
            raw, buf = read_reply(s, buf)
            if raw is None:
                break                                    # kysod closed it (a fatal error)
            r = check(raw, what)
            if not (r and r.get("continues")):
                break
            if wants_more and rnd.random() < 0.1:        # hang up in the middle of a batch
                break
        if raw is None or (r and r.get("continues")):
            s.close()
            s, buf = connect(), b""
    except socket.timeout:
        violations.append("%s: no reply within 60 s (kysod stuck: the run stops)" % what)
        break
    except (BrokenPipeError, ConnectionResetError):
        s.close()
        s, buf = connect(), b""
s.close()
for v in violations:
    print("VIOLATION " + v)
print("calls %d, replies %d, violations %d; errors: %s" % (count, replies, len(violations),
      ", ".join("%s %d" % (k.split(".")[-1], v) for k, v in sorted(errors.items()))))
sys.exit(1 if violations else 0)

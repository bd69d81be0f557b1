#!/usr/bin/env python3
"""tests/lib/vcall.py — a raw varlink client for kyso's tests (stdlib only).

  vcall.py call METHOD [PARAMS_JSON]   one call; prints the reply object (compact JSON)
  vcall.py raw                         sends stdin's bytes as they are, then half-closes;
                                       prints every reply (one per line) until the agent
                                       closes (then "CLOSED") or 10 s pass
  vcall.py vanish METHOD PARAMS_JSON   sends a call and disconnects without reading
  vcall.py half                        sends half a message and disconnects
  vcall.py parallel N METHOD           N connections at once, each calls METHOD; prints
                                       how many got a successful reply
  vcall.py subscribe                   Subscribe with "more"; prints each reply as it
                                       comes (one per line, flushed) until the agent
                                       closes (then "CLOSED")
  vcall.py sleeper                     Subscribe with "more" and never read (until killed)
  vcall.py cycle N TOKEN               on one connection, N times Login (PIN from $PIN)
                                       then Lock; prints how many calls succeeded
  vcall.py seq CALLS_JSON              on one connection, the calls of CALLS_JSON
                                       ([[METHOD, PARAMS], ...]) one after the other;
                                       prints each reply (one per line)
  vcall.py hold METHOD PARAMS FILE N   sends a call, waits until FILE has N lines (a
                                       dialog is up: the fake pinentry's log), then
                                       disconnects without reading; exit 1 after 30 s
The socket is $KYSO_SOCKET.
"""
import json
import os
import socket
import sys
import threading


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["KYSO_SOCKET"])
    return s


def read_replies(s, timeout=3.0, limit=None):
    s.settimeout(timeout)
    buf, out, closed = b"", [], False
    while limit is None or len(out) < limit:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        buf += chunk
        while b"\0" in buf:
            msg, buf = buf.split(b"\0", 1)
            out.append(msg.decode())
    return out, closed


def call(method, params):
    s = connect()
    s.sendall(json.dumps({"method": method, "parameters": params}).encode() + b"\0")
    replies, _ = read_replies(s, timeout=30, limit=1)
    s.close()
    return replies[0] if replies else "NO REPLY"


def main():
    cmd = sys.argv[1]
    if cmd == "call":
        params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
        print(call(sys.argv[2], params))
    elif cmd == "raw":
        s = connect()
        try:
            s.sendall(sys.stdin.buffer.read())
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the agent refused the rest; its reply may still be readable
        replies, closed = read_replies(s, timeout=10)
        for r in replies:
            print(r)
        if closed:
            print("CLOSED")
    elif cmd == "vanish":
        s = connect()
        s.sendall(json.dumps({"method": sys.argv[2],
                              "parameters": json.loads(sys.argv[3])}).encode() + b"\0")
        s.close()
    elif cmd == "half":
        s = connect()
        s.sendall(b'{"method": "io.kyso.Agent.ListTo')
        s.close()
    elif cmd == "subscribe":
        s = connect()
        s.sendall(b'{"method":"io.kyso.Agent.Subscribe","more":true}\0')
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                print("CLOSED", flush=True)
                break
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                print(msg.decode(), flush=True)
    elif cmd == "sleeper":
        s = connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b'{"method":"io.kyso.Agent.Subscribe","more":true}\0')
        print("subscribed", flush=True)
        threading.Event().wait()
    elif cmd == "cycle":
        n, token, ok = int(sys.argv[2]), sys.argv[3], 0
        s = connect()
        login = json.dumps({"method": "io.kyso.Agent.Login",
                            "parameters": {"token": token, "pin": os.environ["PIN"]}})
        lock = json.dumps({"method": "io.kyso.Agent.Lock"})
        for _ in range(n):
            for msg in (login, lock):
                s.sendall(msg.encode() + b"\0")
                r, _ = read_replies(s, timeout=30, limit=1)
                if r and "error" not in json.loads(r[0]):
                    ok += 1
        print(ok)
    elif cmd == "seq":
        s = connect()
        for method, params in json.loads(sys.argv[2]):
            s.sendall(json.dumps({"method": method, "parameters": params}).encode() + b"\0")
            r, _ = read_replies(s, timeout=60, limit=1)
            print(r[0] if r else "NO REPLY", flush=True)
        s.close()
    elif cmd == "hold":
        s = connect()
        s.sendall(json.dumps({"method": sys.argv[2],
                              "parameters": json.loads(sys.argv[3])}).encode() + b"\0")
        path, want = sys.argv[4], int(sys.argv[5])
        for _ in range(3000):
            try:
                with open(path) as f:
                    if sum(1 for _ in f) >= want:
                        break
            except OSError:
                pass
            threading.Event().wait(0.01)
        else:
            sys.exit(1)
        s.close()
    elif cmd == "parallel":
        n, method, ok = int(sys.argv[2]), sys.argv[3], []
        socks = [connect() for _ in range(n)]  # all connected before any call

        def one(s):
            s.sendall(json.dumps({"method": method}).encode() + b"\0")
            r, _ = read_replies(s, timeout=30, limit=1)
            if r and "error" not in json.loads(r[0]):
                ok.append(1)
            s.close()
        threads = [threading.Thread(target=one, args=(s,)) for s in socks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(len(ok))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""fake_whois.py MODE SOCKET DIR — a kysod-whois for tests (agent/whois.h's protocol).

MODE answer: answers as kysod-whois does ('W': the peer's pid and /proc/PID/exe, 'P': its
  parent's), except that while DIR/hold exists a 'W' question is held (its peer's pid
  written to DIR/held) until DIR/release exists. Each question's letter is appended to
  DIR/asked as it comes.
MODE silent: accepts connections, reads nothing, answers nothing.
MODE deaf: listens with a backlog of 1 and never accepts.
"""
import os
import socket
import struct
import sys
import time

mode, path, d = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(1 if mode == "deaf" else 8)
if mode == "deaf":
    while True:
        time.sleep(3600)
held = []
while True:
    c, _ = s.accept()
    if mode == "silent":
        held.append(c)
        continue
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(c, 16, 1)
        except OSError:
            break
        if not msg:
            break
        with open(os.path.join(d, "asked"), "a") as f:
            f.write(msg.decode(errors="replace") + "\n")
        peer = socket.socket(fileno=fds[0]) if fds else None
        try:
            pid = struct.unpack("3i", peer.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                      12))[0]
            if msg == b"W" and os.path.exists(os.path.join(d, "hold")):
                with open(os.path.join(d, "held"), "a") as f:
                    f.write("%d\n" % pid)
                while not os.path.exists(os.path.join(d, "release")):
                    time.sleep(0.02)
            if msg == b"P":
                pid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
            reply = "OK %d %s" % (pid, os.readlink("/proc/%d/exe" % pid))
        except (OSError, ValueError, AttributeError) as e:
            reply = "ERR %s" % e
        finally:
            if peer is not None:
                peer.close()
        c.send(reply.encode())

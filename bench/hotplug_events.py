#!/usr/bin/env python3
"""bench/hotplug_events.py — how long a token takes to disappear and reappear for an app.

  hotplug_events.py ROUNDS REMOVE_CMD INSERT_CMD

Subscribes to kysod's token events ($KYSO_SOCKET), then ROUNDS times: runs REMOVE_CMD (a
shell command that pulls the token) and times until the token-removed event arrives,
then runs INSERT_CMD and times until token-added arrives (the token is then listed with
its certificates). Prints one line per round, "remove_ms insert_ms", then the medians:
"median remove_ms insert_ms". The clock starts right before the command runs.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time


class Events:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(os.environ["KYSO_SOCKET"])
        self.s.sendall(b'{"method":"io.kyso.Agent.Subscribe","more":true}\0')
        self.buf = b""
        first = self.next(10)
        if first.get("event") != "subscribed":
            sys.exit("hotplug_events: Subscribe failed: %r" % first)

    def next(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit("hotplug_events: no event within %d s" % timeout)
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                sys.exit("hotplug_events: the agent closed the connection")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        reply = json.loads(msg)
        if "error" in reply:
            sys.exit("hotplug_events: %s" % reply["error"])
        return reply["parameters"]

    def wait_for(self, event, timeout=30):
        while True:
            if self.next(timeout).get("event") == event:
                return


def timed(cmd, events, event):
    t0 = time.monotonic()
    subprocess.run(cmd, shell=True, check=True)
    events.wait_for(event)
    return (time.monotonic() - t0) * 1000


def main():
    rounds, remove_cmd, insert_cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ev = Events()
    removes, inserts = [], []
    for _ in range(rounds):
        removes.append(timed(remove_cmd, ev, "token-removed"))
        time.sleep(0.2)
        inserts.append(timed(insert_cmd, ev, "token-added"))
        time.sleep(0.2)
        print("%.0f %.0f" % (removes[-1], inserts[-1]), flush=True)
    print("median %.0f %.0f" % (statistics.median(removes), statistics.median(inserts)))


if __name__ == "__main__":
    main()

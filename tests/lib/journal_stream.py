#!/usr/bin/python3
"""journal_stream.py OUT SOCKET CMD... — runs CMD (kysod) as systemd would run a service
of Type=notify whose standard error is the journal, and records what it says.

CMD's standard error is one end of a socket pair and JOURNAL_STREAM names it
("DEVICE:INODE", as systemd sets it); NOTIFY_SOCKET is a datagram socket read here. Every
line CMD writes and every notification it sends go to OUT, one JSON list per line, in the
order they came: ["log", LINE] or ["notify", MESSAGE]. When READY=1 comes, a client
connects to SOCKET at once and asks GetInfo (["served", true|false]): the agent must
serve by then. Then CMD gets SIGTERM. Exits with CMD's status; gives up after 60 s."""
import json, os, selectors, signal, socket, subprocess, sys, tempfile, time

out, sockpath, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
log = open(out, "w", buffering=1)
rec = lambda *e: log.write(json.dumps(list(e)) + "\n")
mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
st = os.fstat(theirs.fileno())
d = tempfile.mkdtemp()
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(os.path.join(d, "notify"))
env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino),
           NOTIFY_SOCKET=os.path.join(d, "notify"))
p = subprocess.Popen(cmd, stderr=theirs.fileno(), stdout=subprocess.DEVNULL, env=env)
theirs.close()
sel = selectors.DefaultSelector()
sel.register(mine, selectors.EVENT_READ, "log")
sel.register(notify, selectors.EVENT_READ, "notify")
buf, end, stopped = b"", time.monotonic() + 60, False
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.5):
        if key.data == "notify":
            msg = notify.recv(4096).decode("utf-8", "replace")
            rec("notify", msg)
            if "READY=1" in msg.split("\n") and not stopped:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    c.connect(sockpath)
                    c.sendall(b'{"method":"org.varlink.service.GetInfo"}\0')
                    c.settimeout(10)
                    rec("served", b'"product"' in c.recv(65536))
                except OSError as e:
                    rec("served", False, str(e))
                c.close()
                p.send_signal(signal.SIGTERM)
                stopped = True
            continue
        chunk = mine.recv(65536)
        if not chunk:
            sel.unregister(mine)
            end = 0
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            rec("log", line.decode("utf-8", "replace"))
if p.poll() is None:
    p.kill()
sys.exit(p.wait())

#!/usr/bin/python3
"""fake_journald.py DIR OUT — the two sockets of systemd-journald in DIR, for tests.

DIR/socket (datagrams, the native protocol: sd_journal_send, systemd's own logging) and
DIR/stdout (streams: a service's standard output and error, StandardOutput=journal:
a header of seven lines, then one line per message, "<N>" prefixes when level_prefix is
set). Every entry is appended to OUT as one JSON object per line, with PRIORITY (the
stream's default, or its "<N>" prefix), MESSAGE, SYSLOG_IDENTIFIER and, for streams,
_STREAM_UNIT (the unit systemd named in the header). DIR/ready appears once both sockets
listen. Runs until killed."""
import json, os, selectors, socket, struct, sys

d, out = sys.argv[1], sys.argv[2]
sel = selectors.DefaultSelector()
log = open(out, "a", buffering=1)

def emit(entry):
    log.write(json.dumps(entry) + "\n")

def native(data):
    e, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:  # NAME\n, 64-bit LE size, value, \n
            k = line
            n = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        e[k.decode()] = v.decode("utf-8", "replace")
    emit(e)

dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
dg.bind(os.path.join(d, "socket"))
st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
st.bind(os.path.join(d, "stdout"))
st.listen(64)
for p in ("socket", "stdout"):
    os.chmod(os.path.join(d, p), 0o666)  # the user manager's services run as its user
sel.register(dg, selectors.EVENT_READ, "dgram")
sel.register(st, selectors.EVENT_READ, "listen")
streams = {}
open(os.path.join(d, "ready"), "w").close()
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if key.data == "dgram":
            native(s.recv(1 << 20))
        elif key.data == "listen":
            c, _ = s.accept()
            streams[c] = {"buf": b"", "header": None}
            sel.register(c, selectors.EVENT_READ, "stream")
        else:
            chunk = s.recv(65536)
            state = streams[s]
            state["buf"] += chunk
            while b"\n" in state["buf"]:
                line, state["buf"] = state["buf"].split(b"\n", 1)
                if state["header"] is None:
                    state.setdefault("lines", []).append(line.decode("utf-8", "replace"))
                    if len(state["lines"]) == 7:
                        ident, unit, prio, prefix = state["lines"][:4]
                        state["header"] = (ident, unit, int(prio), prefix == "1")
                    continue
                ident, unit, prio, prefix = state["header"]
                text = line.decode("utf-8", "replace")
                p = prio
                if prefix and len(text) >= 3 and text[0] == "<" and text[2] == ">" \
                        and text[1].isdigit():
                    p, text = int(text[1]), text[3:]
                emit({"PRIORITY": str(p), "MESSAGE": text, "SYSLOG_IDENTIFIER": ident,
                      "_STREAM_UNIT": unit})
            if not chunk:
                sel.unregister(s)
                s.close()
                del streams[s]

#!/usr/bin/env python3
# flood_agent.py SOCKET COUNTFILE — a peer at kysod's socket that answers every
# connection with an endless stream of bytes that never end a message (no NUL), writing
# a line to COUNTFILE for each connection: what a broken or hostile agent looks like to
# kyso-pkcs11, whose event stream must then not reconnect in a loop. Runs until killed.
import os
import socket
import sys
import threading

path, count = sys.argv[1], sys.argv[2]
junk = b"x" * 65536


def flood(conn):
    try:
        while True:
            conn.sendall(junk)
    except OSError:
        pass
    conn.close()


try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + ".tmp")
srv.listen(64)
os.rename(path + ".tmp", path)  # the socket appears only once it listens
while True:
    conn, _ = srv.accept()
    with open(count, "a") as f:
        f.write("connection\n")
    threading.Thread(target=flood, args=(conn,), daemon=True).start()

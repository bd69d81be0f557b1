#!/usr/bin/python3
# tsa-server.py — a local RFC 3161 time-stamp authority for kyso's tests.
#
#   tsa-server.py DIR MODE
#
# Listens on 127.0.0.1 on a port the system chooses, writes that port to DIR/port (the
# sign that it is ready), and answers every POST by running
#   openssl ts -reply -config DIR/tsa.cnf -queryfile REQUEST
# (DIR/tsa.cnf names the TSA's key, certificate and serial file). MODE:
#   ok        the time-stamp response
#   garbage   200 with bytes that are not a time-stamp response
#   http500   an HTTP 500 error
#   imprint   a response to another request (its imprint is not ours)
# Each request is counted in DIR/requests (one line each). Stops on SIGTERM.
import http.server
import os
import subprocess
import sys
import tempfile

DIR, MODE = sys.argv[1], sys.argv[2]


def reply_for(query):
    with tempfile.NamedTemporaryFile(dir=DIR, suffix=".tsq") as q:
        q.write(query)
        q.flush()
        out = subprocess.run(["openssl", "ts", "-reply", "-config", os.path.join(DIR, "tsa.cnf"),
                              "-queryfile", q.name], capture_output=True, check=True)
        return out.stdout


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(n)
        with open(os.path.join(DIR, "requests"), "a") as f:
            f.write(self.headers.get("Content-Type", "") + "\n")
        if MODE == "http500":
            self.send_error(500, "TSA broken")
            return
        if MODE == "garbage":
            body = b"<html>this is not a time stamp</html>" * 3
        elif MODE == "imprint":
            other = subprocess.run(["openssl", "ts", "-query", "-digest", "00" * 32, "-sha256",
                                    "-cert"], capture_output=True, check=True).stdout
            body = reply_for(other)
        else:
            body = reply_for(query)
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
tmp = os.path.join(DIR, "port.tmp")
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, os.path.join(DIR, "port"))
server.serve_forever()

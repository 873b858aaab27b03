#!/usr/bin/python3
"""A fake IP camera for the ingest tests (stdlib only).

Serves a JPEG (and a PNG) given on the command line, on 127.0.0.1 at a free port, which it
prints as "PORT <n>" on stdout once it listens. Paths select the behaviour:

  /mjpeg          multipart/x-mixed-replace stream of the JPEG. Query parameters:
                    interval=MS   pause between parts (default 50)
                    frames=N      end the response after N parts (default: never)
                    nolength=1    omit Content-Length in the parts
                    dashed=1      put "--" into the boundary parameter (a camera quirk)
                    noboundary=1  Content-Type without a boundary parameter
  /snapshot.jpg   the JPEG
  /png            the PNG, but labelled image/jpeg
  /basic          the JPEG behind HTTP basic auth (--user / --password)
  /digest         the JPEG behind HTTP digest auth (MD5, qop=auth)
  /garbage        200 with an HTML body
  /lying          200 image/jpeg whose body is junk after a JPEG signature
  /slow           accepts and never answers
  /error500       500
  anything else   404
"""

import argparse
import hashlib
import http.server
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "FakeCamera/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_camera: " + (fmt % args) + "\n")

    # -- helpers --------------------------------------------------------------------------
    def send_body(self, code, content_type, body, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def unauthorized(self, challenge):
        self.send_body(401, "text/plain", b"unauthorized\n", {"WWW-Authenticate": challenge})

    def basic_ok(self):
        import base64
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return False
        return user == self.server.user and password == self.server.password

    def digest_ok(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Digest "):
            return False
        params = {}
        for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]*))', h[7:]):
            params[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
        if params.get("username") != self.server.user:
            return False
        if params.get("nonce") not in self.server.nonces:
            return False
        ha1 = md5(f"{self.server.user}:{self.server.realm}:{self.server.password}")
        ha2 = md5(f"{self.command}:{params.get('uri', '')}")
        if params.get("qop"):
            expected = md5(":".join([ha1, params["nonce"], params.get("nc", ""),
                                     params.get("cnonce", ""), params["qop"], ha2]))
        else:
            expected = md5(f"{ha1}:{params['nonce']}:{ha2}")
        return params.get("response") == expected

    # -- routes ---------------------------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        with self.server.lock:
            self.server.hits[url.path] = self.server.hits.get(url.path, 0) + 1
        try:
            if url.path == "/mjpeg":
                self.mjpeg(q)
            elif url.path == "/snapshot.jpg":
                self.send_body(200, "image/jpeg", self.server.jpeg)
            elif url.path == "/png":
                self.send_body(200, "image/jpeg", self.server.png)
            elif url.path == "/basic":
                if self.basic_ok():
                    self.send_body(200, "image/jpeg", self.server.jpeg)
                else:
                    self.unauthorized(f'Basic realm="{self.server.realm}"')
            elif url.path == "/digest":
                if self.digest_ok():
                    self.send_body(200, "image/jpeg", self.server.jpeg)
                else:
                    nonce = os.urandom(16).hex()
                    with self.server.lock:
                        self.server.nonces.add(nonce)
                    self.unauthorized(f'Digest realm="{self.server.realm}", nonce="{nonce}", '
                                      f'qop="auth", algorithm=MD5')
            elif url.path == "/garbage":
                self.send_body(200, "text/html", b"<html><body>Welcome to the camera</body></html>")
            elif url.path == "/lying":
                self.send_body(200, "image/jpeg", b"\xff\xd8\xff\xe0" + os.urandom(2000))
            elif url.path == "/slow":
                time.sleep(60)
            elif url.path == "/error500":
                self.send_body(500, "text/plain", b"internal error\n")
            elif url.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", q.get("to", "/snapshot.jpg"))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_body(404, "text/plain", b"not found\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def mjpeg(self, q):
        interval = float(q.get("interval", "50")) / 1000.0
        frames = int(q.get("frames", "0"))
        boundary = "argusframe"
        ct = "multipart/x-mixed-replace"
        if q.get("noboundary") != "1":
            ct += "; boundary=" + ("--" if q.get("dashed") == "1" else "") + boundary
        self.send_response(200)
        self.send_header("Content-Type", ct)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        n = 0
        while frames == 0 or n < frames:
            head = b"--" + boundary.encode() + b"\r\nContent-Type: image/jpeg\r\n"
            if q.get("nolength") != "1":
                head += b"Content-Length: %d\r\n" % len(self.server.jpeg)
            self.wfile.write(head + b"\r\n" + self.server.jpeg + b"\r\n")
            self.wfile.flush()
            n += 1
            time.sleep(interval)
        self.wfile.write(b"--" + boundary.encode() + b"--\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jpeg", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    server = Server(("127.0.0.1", 0), Handler)
    with open(args.jpeg, "rb") as f:
        server.jpeg = f.read()
    with open(args.png, "rb") as f:
        server.png = f.read()
    server.user = args.user
    server.password = args.password
    server.realm = "argus"
    server.nonces = set()
    server.hits = {}
    server.lock = threading.Lock()
    server.verbose = args.verbose
    # Exit with the test binary even if it dies without stopping us.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

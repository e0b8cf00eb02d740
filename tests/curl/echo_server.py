#!/usr/bin/python3
"""An https (and plain http) echo server for the curl plug-in tests.

Every request is answered with a JSON document describing it (method, path,
Host, every Authorization and x-ms-* header) and appended to a JSON-lines log,
so a test can tell exactly which credentials reached which server.

  /redirect?to=URL   302 to URL
  /flaky/...         503 on the first request for each path, then 200
  anything else      200 with the description

Listens on 127.0.0.1 only, never connects anywhere; standard library only.
"""

import argparse
import http.server
import json
import os
import ssl
import sys
import threading
import urllib.parse

LOCK = threading.Lock()
SEEN = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "echo"
    wbufsize = 65536  # one write per answer (flushed by handle_one_request)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _describe(self, body_len):
        return {
            "server": self.server.name,
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host", ""),
            "authorization": self.headers.get_all("Authorization") or [],
            "x_ms_version": self.headers.get_all("x-ms-version") or [],
            "x_ms_file_request_intent": self.headers.get_all("x-ms-file-request-intent") or [],
            "body_len": body_len,
        }

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        desc = self._describe(length)
        if self.server.log is not None:
            with LOCK:
                self.server.log.write(json.dumps(desc) + "\n")
                self.server.log.flush()
        url = urllib.parse.urlsplit(self.path)
        status, extra = 200, {}
        if url.path.endswith("/redirect"):
            to = urllib.parse.parse_qs(url.query).get("to", [""])[0]
            status, extra = 302, {"Location": to}
        elif url.path.startswith(("/challenge/", "/challenge-arm/")):
            with LOCK:
                first = url.path not in SEEN
                SEEN.add(url.path)
            if first or url.path.startswith("/challenge-arm/"):
                res = "https://management.azure.com" if url.path.startswith("/challenge-arm/") else \
                    "https://storage.azure.com"
                status = 401
                extra = {"WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline.com/"
                         "5c1e8a7d-3f0b-4e42-9a6d-2b7f4c0d9e11/oauth2/authorize resource_id=" + res}
                body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code>'
                        '<Message>Server failed to authenticate the request.</Message></Error>\n').encode()
        elif url.path.startswith("/flaky/"):
            with LOCK:
                first = url.path not in SEEN
                SEEN.add(url.path)
            status = 503 if first else 200
        if status != 401:
            body = (json.dumps(desc) + "\n").encode()
        if self.command == "HEAD":
            body = b""
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--https-port", type=int, required=True)
    ap.add_argument("--http-port", type=int)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--name", default="echo")
    ap.add_argument("--log")
    args = ap.parse_args()
    log = open(args.log, "a") if args.log else None
    servers = []
    s = Server(("127.0.0.1", args.https_port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    servers.append(s)
    if args.http_port:
        servers.append(Server(("127.0.0.1", args.http_port), Handler))
    for srv in servers:
        srv.name = args.name
        srv.log = log
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()

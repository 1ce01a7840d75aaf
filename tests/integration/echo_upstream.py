"""A tiny upstream for the gateway tests and the demo: it answers every
request with the request line and the headers it received, as JSON:

    {"method": "GET", "path": "/app/", "headers": [["Host", "..."], ...]}

In tests it runs in a thread of the test process (EchoUpstream, port 0 so
the kernel picks a free one); the demo runs it as a program:

    python3 echo_upstream.py --port 8081
"""
import argparse
import http.server
import json
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }, indent=1).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _echo

    def log_message(self, *args):
        pass


class EchoUpstream:
    """start() binds 127.0.0.1 on a free port; url is then http://127.0.0.1:PORT."""

    def __init__(self, host="127.0.0.1", port=0):
        self._server = http.server.ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread = None

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def headers_of(response):
    """The headers an EchoUpstream received, from a requests.Response, as a
    list of (name, value) pairs, names as sent."""
    return [tuple(h) for h in response.json()["headers"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer((args.host, args.port), _Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

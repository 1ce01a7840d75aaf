"""A FastCGI responder for the gateway tests: it answers every request with
the parameters nginx sent (CGI variables: an identity header X-Remote-User
arrives as HTTP_X_REMOTE_USER), as JSON:

    {"params": {"REQUEST_URI": "/fcgi/x", "HTTP_X_REMOTE_USER": "alice", ...}}

The record layer of the FastCGI 1.0 specification, enough for nginx's
fastcgi_pass (one request per connection, no multiplexing). Runs in a thread
of the test process on a free port.
"""
import json
import socketserver
import struct
import threading

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
HEADER = struct.Struct(">BBHHBx")


def _read_exact(f, n):
    data = f.read(n)
    if len(data) != n:
        raise EOFError("short FastCGI record")
    return data


def _length(buf, i):
    """A name or value length: one byte, or four with the high bit set."""
    if buf[i] < 0x80:
        return buf[i], i + 1
    return struct.unpack(">I", buf[i:i + 4])[0] & 0x7FFFFFFF, i + 4


def parse_params(buf):
    out, i = {}, 0
    while i < len(buf):
        nlen, i = _length(buf, i)
        vlen, i = _length(buf, i)
        name = buf[i:i + nlen].decode("latin-1")
        i += nlen
        out[name] = buf[i:i + vlen].decode("latin-1")
        i += vlen
    return out


def record(kind, request_id, content):
    pad = -len(content) % 8
    return HEADER.pack(VERSION, kind, request_id, len(content), pad) + content + b"\0" * pad


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        params, request_id = b"", 1
        while True:
            version, kind, request_id, length, pad = HEADER.unpack(_read_exact(self.rfile, 8))
            content = _read_exact(self.rfile, length)
            _read_exact(self.rfile, pad)
            if kind == PARAMS:
                params += content
            elif kind == STDIN and length == 0:
                break           # the (empty) body is complete: answer
        body = json.dumps({"params": parse_params(params)}, indent=1).encode()
        out = (b"Status: 200 OK\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.wfile.write(record(STDOUT, request_id, out) + record(STDOUT, request_id, b"")
                         + record(END_REQUEST, request_id, struct.pack(">IB3x", 0, 0)))


class FcgiEcho:
    """start() binds 127.0.0.1 on a free port (address: 127.0.0.1:PORT)."""

    def __init__(self):
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True

    @property
    def address(self):
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

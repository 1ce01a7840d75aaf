"""A SCIM 2.0 server on loopback that behaves like AWS IAM Identity Center.

It enforces the rules AWS documents (../shared/reference/aws-interop-facts.md,
part 3): required user attributes, no photos, one primary email, eq-only
filters, capped list results, at most 100 member changes per PatchGroup, no
"replace" of members, groups always returned with an EMPTY members list, 409
on a duplicate userName or displayName, bearer token, and no PUT on /Groups.
Errors use AWS's envelope (string "status", extra "schema" key).

Tests inject faults (a status such as 429 with Retry-After or 500, a
dropped connection, or a "garbage" body: any bytes with any status) and read
per-method request counters.

    srv = ScimServer(token="t"); srv.start(); ... srv.url ...; srv.stop()
"""
import json
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_REQUIRED = ("userName", "displayName")
UNSUPPORTED_USER = ("password", "ims", "photos", "x509Certificates", "entitlements", "groups")
USER_PATCHABLE = {"userName", "active", "externalId", "displayName", "nickName", "profileUrl",
                  "title", "userType", "preferredLanguage", "locale", "timezone", "name",
                  "emails", "addresses", "phoneNumbers"}
FILTER_RE = re.compile(r'^\s*([A-Za-z][\w.]*) eq "((?:[^"\\]|\\.)*)"\s*$')
MAX_MEMBER_CHANGES = 100


class ScimError(Exception):
    def __init__(self, status, detail, name):
        super().__init__(detail)
        self.status, self.detail, self.name = status, detail, name


def bad(detail):
    return ScimError(400, detail, "ValidationException")


@dataclass
class Fault:
    """Applies to the next `count` requests matching method/path prefix."""
    kind: str                 # "status", "drop" or "garbage"
    count: int = 1
    status: int = 500
    retry_after: str = None
    method: str = None
    path_prefix: str = None
    body: bytes = None        # "garbage": sent as is, with `status`
    content_type: str = "application/scim+json"


@dataclass
class Store:
    users: dict = field(default_factory=dict)    # id -> resource
    groups: dict = field(default_factory=dict)   # id -> resource (members kept apart)
    members: dict = field(default_factory=dict)  # group id -> set(user id)


class ScimServer:
    def __init__(self, token, max_results=50, delay=0.0):
        self.token = token
        self.max_results = max_results
        self.delay = delay
        self.store = Store()
        self.lock = threading.Lock()
        self.faults = []
        self.counts = {}
        self.connections = 0
        self.rejections = []  # (method, path, status, detail) of rule violations
        self.auth_headers = set()
        self._httpd = None
        self.url = None

    # --- test control -----------------------------------------------------
    def add_fault(self, **kw):
        with self.lock:
            self.faults.append(Fault(**kw))

    def reset_counts(self):
        with self.lock:
            self.counts = {}
            self.rejections = []

    def writes(self):
        with self.lock:
            return sum(n for m, n in self.counts.items() if m != "GET")

    def user_by_name(self, name):
        with self.lock:
            return [u for u in self.store.users.values() if u["userName"] == name]

    def group_by_name(self, name):
        with self.lock:
            return [g for g in self.store.groups.values() if g["displayName"] == name]

    def group_member_names(self, display_name):
        with self.lock:
            gs = [g for g in self.store.groups.values() if g["displayName"] == display_name]
            if not gs:
                return None
            ids = self.store.members.get(gs[0]["id"], set())
            return sorted(self.store.users[i]["userName"] for i in ids if i in self.store.users)

    def start(self, certfile=None, keyfile=None):
        server = self

        class Handler(_Handler):
            srv = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        scheme = "http"
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        port = self._httpd.server_address[1]
        host = "localhost" if certfile else "127.0.0.1"
        self.url = f"{scheme}://{host}:{port}/scim/v2"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self.url

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    # --- request handling -------------------------------------------------
    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.count > 0 and (f.method in (None, method)) and \
                        (f.path_prefix is None or path.startswith(f.path_prefix)):
                    f.count -= 1
                    return f
        return None

    def handle(self, method, path, query, body):
        if path.startswith("/scim/v2"):
            path = path[len("/scim/v2"):]
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("Users", "Groups"):
            raise ScimError(404, "Unknown resource", "ResourceNotFoundException")
        kind, rid = parts[0], (unquote(parts[1]) if len(parts) > 1 else None)
        with self.lock:
            if kind == "Users":
                return self._users(method, rid, query, body)
            return self._groups(method, rid, query, body)

    def _users(self, method, rid, query, body):
        st = self.store
        if method == "POST" and rid is None:
            self._check_user(body)
            if any(u["userName"] == body["userName"] for u in st.users.values()):
                raise ScimError(409, "Duplicate userName", "ConflictException")
            u = dict(body, id=str(uuid.uuid4()))
            u.setdefault("active", True)
            st.users[u["id"]] = u
            return 201, u
        if method == "GET" and rid is None:
            return 200, self._list(st.users.values(), query, {"userName", "externalId", "id"})
        u = st.users.get(rid)
        if u is None:
            raise ScimError(404, "User not found", "ResourceNotFoundException")
        if method == "GET":
            return 200, u
        if method == "PUT":
            self._check_user(body)
            if any(o["userName"] == body["userName"] and o["id"] != rid for o in st.users.values()):
                raise ScimError(409, "Duplicate userName", "ConflictException")
            new = dict(body, id=rid)
            new.setdefault("active", True)
            st.users[rid] = new
            return 200, new
        if method == "PATCH":
            ops = self._ops(body)
            touched = [o.get("path") for o in ops if o.get("path") in ("userName", "active")]
            if len(touched) > 1:
                raise bad("Several PATCH operations on userName or active")
            for op in ops:
                path = op.get("path")
                if path is None:
                    raise bad("path is required")
                if path.split(".")[0] not in USER_PATCHABLE:
                    raise bad(f"Attribute {path} cannot be patched")
                if op["op"] == "remove":
                    if path in ("userName", "active"):
                        raise bad("Cannot remove " + path)
                    u.pop(path, None)
                else:
                    u[path] = op["value"]
            return 200, u
        if method == "DELETE":
            del st.users[rid]
            for m in st.members.values():
                m.discard(rid)
            return 204, None
        raise ScimError(405, "Method not supported", "ValidationException")

    def _groups(self, method, rid, query, body):
        st = self.store
        if method == "PUT":
            raise ScimError(405, "PutGroup is not supported", "ValidationException")
        if method == "POST" and rid is None:
            if not isinstance(body, dict) or not body.get("displayName"):
                raise bad("displayName is required")
            if any(g["displayName"] == body["displayName"] for g in st.groups.values()):
                raise ScimError(409, "Group already exists", "ConflictException")
            members = body.get("members") or []
            if len(members) > MAX_MEMBER_CHANGES:
                raise bad("Too many members")
            g = {k: v for k, v in body.items() if k != "members"}
            g["id"] = str(uuid.uuid4())
            st.groups[g["id"]] = g
            st.members[g["id"]] = {m["value"] for m in members}
            return 201, dict(g, members=[])
        if method == "GET" and rid is None:
            return 200, self._list(st.groups.values(), query, {"displayName", "externalId", "id"},
                                   group=True)
        g = st.groups.get(rid)
        if g is None:
            raise ScimError(404, "Group not found", "ResourceNotFoundException")
        if method == "GET":
            return 200, dict(g, members=[])  # AWS never lists members back
        if method == "PATCH":
            ops = self._ops(body)
            changes = 0
            for op in ops:
                path = op.get("path")
                if path == "members":
                    if op["op"] == "replace":
                        raise bad("Replacing group memberships is not supported.")
                    values = op.get("value")
                    if not isinstance(values, list) or not values:
                        raise bad("Removing all members is not supported.")
                    changes += len(values)
                elif path in ("displayName", "externalId"):
                    if op["op"] == "remove":
                        raise bad("Cannot remove " + path)
                elif path is None:
                    raise bad("path is required")
                else:
                    raise bad(f"Attribute {path} cannot be patched")
            if changes > MAX_MEMBER_CHANGES:
                raise bad(f"{changes} member changes; at most {MAX_MEMBER_CHANGES} are allowed")
            for op in ops:
                path = op["path"]
                if path == "members":
                    for v in op["value"]:
                        if v.get("value") not in st.users:
                            raise ScimError(404, "Member not found", "ResourceNotFoundException")
                    ids = {v["value"] for v in op["value"]}
                    if op["op"] == "add":
                        st.members[rid] |= ids
                    else:
                        st.members[rid] -= ids
                else:
                    if path == "displayName" and any(
                            o["displayName"] == op["value"] and o["id"] != rid
                            for o in st.groups.values()):
                        raise ScimError(409, "Group already exists", "ConflictException")
                    g[path] = op["value"]
            return 204, None
        if method == "DELETE":
            del st.groups[rid]
            st.members.pop(rid, None)
            return 204, None
        raise ScimError(405, "Method not supported", "ValidationException")

    def _ops(self, body):
        if not isinstance(body, dict) or PATCH_SCHEMA not in body.get("schemas", []):
            raise bad("PatchOp schema is required")
        ops = body.get("Operations")
        if not isinstance(ops, list) or not ops:
            raise bad("Operations are required")
        for op in ops:
            if op.get("op") not in ("add", "replace", "remove"):
                raise bad("op is required")
            if op["op"] in ("add", "replace") and "value" not in op:
                raise bad("value is required")
        return ops

    def _check_user(self, body):
        if not isinstance(body, dict):
            raise bad("Request is unparsable, syntactically incorrect, or violates schema.")
        for key in UNSUPPORTED_USER:
            if key in body:
                raise bad(f"Attribute {key} is not supported")
        for key in USER_REQUIRED:
            if not isinstance(body.get(key), str) or not body[key]:
                raise bad(f"{key} is required")
        name = body.get("name")
        if not isinstance(name, dict) or not name.get("givenName") or not name.get("familyName"):
            raise bad("name.givenName and name.familyName are required")
        for multi in ("emails", "addresses", "phoneNumbers", "roles"):
            values = body.get(multi)
            if values is None:
                continue
            if not isinstance(values, list) or len(values) > 1:
                raise bad("Request is unparsable, syntactically incorrect, or violates schema.")
            if multi == "emails" and values and values[0].get("primary") is not True:
                raise bad("The single email must be primary")
            if values and "display" in values[0]:
                raise bad("display sub-attribute is not supported")

    def _list(self, items, query, filterable, group=False):
        if "startIndex" in query or "attributes" in query or "excludedAttributes" in query:
            raise bad("startIndex, attributes and excludedAttributes are not supported")
        items = list(items)
        flt = query.get("filter", [None])[0]
        if flt is not None:
            m = FILTER_RE.match(flt)
            if not m or m.group(1) not in filterable:
                raise bad("Only eq filters on " + ", ".join(sorted(filterable)) + " are supported")
            attr, value = m.group(1), re.sub(r'\\(.)', r'\1', m.group(2))
            items = [i for i in items if i.get(attr) == value]
        total = len(items)
        items = items[:self.max_results]  # capped, as AWS lists are
        if group:
            items = [dict(i, members=[]) for i in items]
        return {"schemas": [LIST_SCHEMA], "totalResults": total, "itemsPerPage": len(items),
                "startIndex": 1, "Resources": items}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
    # One write per response: headers and body in separate small writes meet
    # Nagle + delayed ACK and cost 40 ms each, which would measure the test
    # server instead of the client.
    wbufsize = 1 << 16
    srv = None

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.srv.lock:
            self.srv.connections += 1

    def _any(self):
        srv = self.srv
        method = self.command
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with srv.lock:
            srv.counts[method] = srv.counts.get(method, 0) + 1
            srv.auth_headers.add(self.headers.get("Authorization", ""))
        if srv.delay:
            time.sleep(srv.delay)
        fault = srv.take_fault(method, split.path.replace("/scim/v2", "", 1))
        if fault and fault.kind == "drop":
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        if fault and fault.kind == "garbage":
            body = fault.body or b""
            self.send_response(fault.status)
            self.send_header("Content-Type", fault.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if fault:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self._error(ScimError(fault.status, "Injected fault",
                                         "ThrottlingException" if fault.status == 429
                                         else "InternalServerException"), headers)
        if self.headers.get("Authorization") != "Bearer " + srv.token:
            return self._error(ScimError(401, "Unauthorized", "UnauthorizedException"))
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._error(bad("Request is unparsable, syntactically incorrect, "
                                       "or violates schema."))
        try:
            status, out = srv.handle(method, split.path, parse_qs(split.query), body)
        except ScimError as e:
            if e.status in (400, 405):
                with srv.lock:
                    srv.rejections.append((method, self.path, e.status, e.detail))
            return self._error(e)
        self._send(status, out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def _error(self, e, headers=None):
        body = {"schema": ERROR_SCHEMA, "schemas": [ERROR_SCHEMA], "detail": e.detail,
                "status": str(e.status), "exceptionRequestId": str(uuid.uuid4()),
                "timeStamp": time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())}
        self._send(e.status, body, headers)

    def _send(self, status, obj, headers=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

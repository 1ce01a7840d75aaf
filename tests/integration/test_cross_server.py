"""One session across an nginx and an Apache gateway (issue 4, item 3).

Both servers load the same edgeidp.toml (same session keys, same directory,
same revocation file) and listen on 127.0.0.1, each on its own port. The
sealed cookie is bound to its name and the request's host name (the Host
header without the port: nginx's headers_in.server, Apache's r->hostname),
so a cookie issued by one is valid on the other, as it is for a browser,
whose cookies are not separated by port either. A cookie sent with another
Host name is refused by both.

Every scenario logs in on one server and uses the cookie, as sent, on the
other: identity headers upstream, the group check, the launcher, the SAML
page, a refreshed cookie, and a revocation that ends it on both.
"""
import html
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import requests  # noqa: E402

import tap  # noqa: E402
from echo_upstream import EchoUpstream  # noqa: E402
from fixture import DEMO_PASSWORDS, edgeidp, make_setup  # noqa: E402
from portal_client import COOKIE, IDP, ROLE, csrf_of, stop_all  # noqa: E402
from saml_check import onelogin_validate  # noqa: E402
from servers import make_server  # noqa: E402

S = None
UP = None
NGX = None     # nginx gateway
APA = None     # Apache gateway


def setup_module():
    global S, UP, NGX, APA
    S = make_setup()
    UP = EchoUpstream().start()
    NGX = make_server(S, UP.url, "nginx")
    APA = make_server(S, UP.url, "apache")
    NGX.start()
    APA.start()
    assert NGX.port != APA.port


def teardown_module():
    stop_all(NGX, APA, UP, S)


def login(srv, user):
    """Logs in through srv's portal; returns the session cookie's value."""
    sess = requests.Session()
    form = sess.get(srv.url("/edgeidp/login"), timeout=30)
    assert form.status_code == 200, (srv.name, form.status_code)
    r = sess.post(srv.url("/edgeidp/login"), allow_redirects=False, timeout=60,
                  data={"csrf": csrf_of(form.text), "username": user,
                        "password": DEMO_PASSWORDS[user]})
    assert r.status_code == 302, (srv.name, r.status_code, r.text[:300])
    value = sess.cookies.get(COOKIE)
    assert value, (srv.name, r.headers)
    return value


def get(srv, path, cookie, host=None, **kw):
    """GET with exactly this cookie (no cookie jar), optionally another Host."""
    headers = {"Cookie": f"{COOKIE}={cookie}"}
    if host:
        headers["Host"] = host
    headers.update(kw.pop("headers", {}))
    return requests.get(srv.url(path), headers=headers, allow_redirects=False,
                        timeout=30, **kw)


def identity(r):
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return {k.lower(): v for k, v in r.json()["headers"]
            if k.lower().startswith("x-remote-")}


def test_both_gateways_share_one_configuration():
    assert NGX.setup.config == APA.setup.config
    for srv in (NGX, APA):
        r = requests.get(srv.url("/app/"), allow_redirects=False, timeout=30)
        assert r.status_code == 302 and "/edgeidp/login" in r.headers["Location"], \
            (srv.name, r.status_code, r.headers)


def test_nginx_session_works_on_apache():
    cookie = login(NGX, "alice")
    for srv in (NGX, APA):
        ids = identity(get(srv, "/app/", cookie))
        assert ids.get("x-remote-user") == "alice", (srv.name, ids)
        assert ids.get("x-remote-email") == "alice@example.com", (srv.name, ids)
        assert ids.get("x-remote-groups") == "aws-admins,aws-readonly,staff", (srv.name, ids)
        assert get(srv, "/admin/", cookie).status_code == 200, srv.name
    print(f"# nginx :{NGX.port} issued the cookie, apache :{APA.port} accepted it")


def test_apache_session_works_on_nginx():
    cookie = login(APA, "bob")
    for srv in (APA, NGX):
        ids = identity(get(srv, "/app/", cookie))
        assert ids.get("x-remote-user") == "bob", (srv.name, ids)
        assert ids.get("x-remote-groups") == "aws-readonly,staff", (srv.name, ids)
        # bob is not in aws-admins: both refuse /admin/ with 403
        assert get(srv, "/admin/", cookie).status_code == 403, srv.name


def test_spoofed_headers_are_stripped_on_both():
    cookie = login(NGX, "bob")
    for srv in (NGX, APA):
        ids = identity(get(srv, "/app/", cookie, headers={
            "X-Remote-User": "alice", "X-Remote-Groups": "aws-admins"}))
        assert ids.get("x-remote-user") == "bob", (srv.name, ids)
        assert ids.get("x-remote-groups") == "aws-readonly,staff", (srv.name, ids)


def test_launcher_and_saml_page_on_the_other_server():
    cookie = login(NGX, "alice")
    r = get(APA, "/edgeidp/", cookie)
    assert r.status_code == 200 and "Alice Example" in r.text, (r.status_code, r.text[:500])
    assert "AWS console" in r.text
    r = get(APA, "/aws", cookie)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    b64 = html.unescape(re.search(r'name="SAMLResponse" value="([^"]+)"', r.text).group(1))
    ok, errors, attrs, _ = onelogin_validate(b64, S.cert_pem(), IDP)
    assert ok, errors
    assert len(attrs[ROLE]) == 2, attrs[ROLE]


def test_cookie_is_bound_to_the_host_name_on_both():
    cookie = login(APA, "alice")
    for srv in (NGX, APA):
        assert get(srv, "/app/", cookie).status_code == 200, srv.name
        # the same cookie for another host name: refused by both
        r = get(srv, "/app/", cookie, host=f"other.example:{srv.port}")
        assert r.status_code == 302, (srv.name, r.status_code)
        # the port is not part of the binding (cookies ignore ports too)
        r = get(srv, "/app/", cookie, host="127.0.0.1:1")
        assert r.status_code == 200, (srv.name, r.status_code)


def mint(setup, payload, host="127.0.0.1"):
    """A cookie sealed as the core seals one (see test_gateway.mint_cookie),
    for a session the servers would not issue now (one idle for a while)."""
    import base64
    import hashlib
    import json
    import secrets
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    with open(os.path.join(setup.dir, "keys", "session.key"), encoding="ascii") as f:
        key = base64.b64decode(f.read().strip())
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(payload).encode(),
                                 f"edgeidp/v1|{COOKIE}|{host}".encode())
    raw = bytes([hashlib.sha256(key).digest()[0]]) + nonce + sealed
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cookie_refreshed_by_one_server_works_on_the_other():
    # an idle session is refreshed by whichever server sees it next; the
    # new cookie works on the other one
    now = int(time.time())
    idle = mint(S, {"u": "alice", "at": now - 600, "ls": now - 300})
    for first, second in ((NGX, APA), (APA, NGX)):
        r = get(first, "/app/", idle)
        assert r.status_code == 200, (first.name, r.status_code)
        m = re.search(rf"{COOKIE}=([^;]+)", r.headers.get("Set-Cookie", ""))
        assert m, (first.name, r.headers)
        assert identity(get(second, "/app/", m.group(1))).get("x-remote-user") == "alice"


def test_revocation_ends_the_session_on_both():
    cookie = login(NGX, "carol")
    for srv in (NGX, APA):
        assert get(srv, "/app/", cookie).status_code == 200, srv.name
    p = edgeidp("revoke", "-c", S.config, "--user", "carol")
    assert p.returncode == 0, p.stdout + p.stderr
    os.chmod(os.path.join(S.dir, "revoked.txt"), 0o644)
    for srv in (NGX, APA):
        deadline = time.monotonic() + 15
        while get(srv, "/app/", cookie).status_code != 302:
            assert time.monotonic() < deadline, f"{srv.name}: revoked session still works"
            time.sleep(0.3)


def test_no_server_crashed():
    for srv in (NGX, APA):
        log = srv.error_log()
        for bad in ("signal 11", "signal 6", "exited on signal", "Segmentation fault"):
            assert bad not in log, (srv.name, bad, log[-2000:])
        assert srv.proc.poll() is None, f"{srv.name} exited"


tap.main(globals())

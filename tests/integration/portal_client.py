"""What the gateway scenarios share: starting and stopping the server under
test (an echo upstream behind a web server with the module) and a small
client for the portal (GET without following redirects, the login form and
its CSRF token, logging in).

    from portal_client import require_module, start_gateway, stop_all, get, login

    def setup_module():
        global S, UP, SRV
        require_module()                     # EDGEIDP_SERVER's module is built
        S = make_setup()
        UP, SRV = start_gateway(S)           # the helpers below now use SRV

    def teardown_module():
        stop_all(SRV, UP, S)

The helpers talk to the server the last start_gateway() (or use()) picked;
each test program runs one at a time, so that is its own server.
"""
import html
import os
import re

import requests

import apache_server  # noqa: F401  (registers EDGEIDP_SERVER=apache)
from echo_upstream import EchoUpstream
from fixture import DEMO_PASSWORDS
from servers import NGINX_MODULE, make_server

IDP = "https://sso.example.com/edgeidp"
ROLE = "https://aws.amazon.com/SAML/Attributes/Role"
COOKIE = "edgeidp"
PORTAL = "/edgeidp"

_server = None           # servers.Server the helpers talk to
_fresh_connection_logins = False


# -- the server under test ----------------------------------------------------

def require_module(kind=None):
    """Fails (AssertionError) when the module for the server kind
    (EDGEIDP_SERVER by default, nginx if unset) was not built."""
    kind = kind or os.environ.get("EDGEIDP_SERVER", "nginx")
    module = {"nginx": NGINX_MODULE, "apache": apache_server.APACHE_MODULE}[kind]
    if not os.path.exists(module):
        raise AssertionError(f"module not built: {module}")


def start_gateway(setup, make=None, prepare=None, fresh_connection_logins=False):
    """Starts an EchoUpstream and a server in front of it: make(setup,
    upstream_url) (default servers.make_server, EDGEIDP_SERVER's kind), then
    prepare(server) if given, then server.start(). Points the portal helpers
    at the server (see use()). Returns (upstream, server)."""
    upstream = EchoUpstream().start()
    server = (make or make_server)(setup, upstream.url)
    if prepare:
        prepare(server)
    server.start()
    use(server, fresh_connection_logins)
    return upstream, server


def use(server, fresh_connection_logins=False):
    """The server get(), login() and the others talk to. With
    fresh_connection_logins every login POST goes on a new connection
    (Connection: close), so the server's processes share the work."""
    global _server, _fresh_connection_logins
    _server = server
    _fresh_connection_logins = fresh_connection_logins


def stop_all(*parts):
    """teardown_module: in the order given, cleans up each of servers
    (stop, then the temp folder), setups (fixture.Setup) and anything with
    stop() (upstreams, stand-in servers); None (never started) is skipped.
    A server that crashed raises ServerError, and the rest is left alone."""
    for part in parts:
        if part:
            cleanup = getattr(part, "cleanup", None)
            (cleanup or part.stop)()


# -- the portal client ----------------------------------------------------------

def get_url(sess, url, **kw):
    """GET without following redirects."""
    kw.setdefault("allow_redirects", False)
    kw.setdefault("timeout", 30)
    return sess.get(url, **kw)


def get(sess, path, **kw):
    """GET of a path on the server, without following redirects."""
    return get_url(sess, _server.url(path), **kw)


def csrf_of(page):
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, "no csrf field in the login page:\n" + page[:2000]
    return html.unescape(m.group(1))


def login_form(return_to=None, sess=None, path=None):
    """Fetches the login form (PORTAL/login, with return_to, or path as
    given, a redirect's Location); returns (session, CSRF token)."""
    sess = sess or requests.Session()
    params = {"return_to": return_to} if return_to is not None else None
    form = get(sess, path or PORTAL + "/login", params=params)
    assert form.status_code == 200, (form.status_code, form.text[:500])
    return sess, csrf_of(form.text)


def post_login(sess, token, user, password=None):
    """Posts the login form with the token; the demo password of user
    unless password is given. Returns the response."""
    data = {"csrf": token, "username": user,
            "password": DEMO_PASSWORDS.get(user, "x") if password is None else password}
    url = _server.url(PORTAL + "/login")
    if not _fresh_connection_logins:
        return sess.post(url, data=data, allow_redirects=False, timeout=60)
    r = requests.post(url, data=data, allow_redirects=False, timeout=60,
                      cookies=sess.cookies, headers={"Connection": "close"})
    sess.cookies.update(r.cookies)
    return r


def login(user, password=None, return_to=None, sess=None):
    """Fetches the login form (with return_to) and posts it. Returns
    (session, response to the POST)."""
    sess, token = login_form(return_to, sess)
    return sess, post_login(sess, token, user, password)


def logged_in(user):
    """A session logged in as user (with the demo password)."""
    sess, r = login(user)
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert COOKIE in sess.cookies, sess.cookies
    return sess

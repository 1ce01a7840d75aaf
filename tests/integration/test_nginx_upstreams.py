"""What protected upstreams receive from nginx, beyond proxy_pass to HTTP:
identity headers through fastcgi_pass and grpc_pass (nginx's other upstream
protocols walk the same header list), the signed identity header
([headers] jwt_key, verified here with the openssl command line against the
key the portal publishes), $edgeidp_cookie, and edgeidp_login_url.
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import requests  # noqa: E402

import tap  # noqa: E402
from echo_upstream import EchoUpstream  # noqa: E402
from fcgi_echo import FcgiEcho  # noqa: E402
from jwt_check import b64url, check_token  # noqa: E402
from fixture import DEMO_PASSWORDS, edgeidp, make_setup  # noqa: E402
from portal_client import csrf_of, logged_in, require_module, stop_all, use  # noqa: E402
from servers import NGINX, NginxServer, free_port  # noqa: E402

LOGIN_PATH = "/portal2"
S = UP = FCGI = SRV = GRPC = None
GRPC_PORT = None
COOKIE = None   # alice's session cookie


def setup_module():
    global S, UP, FCGI, SRV, GRPC_PORT, COOKIE
    require_module("nginx")
    S = make_setup()
    p = edgeidp("keygen", "--identity-key", os.path.join(S.dir, "keys", "identity.pem"))
    assert p.returncode == 0 and "EC P-256" in p.stdout, p.stdout + p.stderr
    S.edit_config('prefix = "X-Remote-"',
                  'prefix = "X-Remote-"\njwt_key = "keys/identity.pem"\njwt_lifetime = 3600')
    UP = EchoUpstream().start()
    FCGI = FcgiEcho().start()
    start_grpc_backend()
    SRV = NginxServer(S, UP.url, extra_server=f"""
        location /fcgi/ {{
            edgeidp_protect on;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_pass {FCGI.address};
        }}
        location /grpc/ {{
            edgeidp_protect on;
            grpc_pass grpc://127.0.0.1:{GRPC_PORT};
        }}
        location /nocookie/ {{
            edgeidp_protect on;
            proxy_set_header Cookie $edgeidp_cookie;
            proxy_pass {UP.url};
        }}
        location /portal2/ {{
            edgeidp_portal;
        }}
        location /elsewhere/ {{
            edgeidp_protect on;
            edgeidp_login_url {LOGIN_PATH};
            proxy_pass {UP.url};
        }}
""")
    SRV.start()
    use(SRV)
    COOKIE = logged_in("alice").cookies["edgeidp"]


def start_grpc_backend():
    """The gRPC upstream: a stock nginx without edgeidp (which would strip
    the identity headers it receives), plain-text HTTP/2, echoing what
    grpc_pass sent it."""
    global GRPC, GRPC_PORT
    GRPC_PORT = free_port()
    d = os.path.join(S.dir, "grpc")
    os.makedirs(d)
    os.chmod(S.dir, 0o755)
    os.chmod(d, 0o755)
    temp = "".join(f"{k}_temp_path {d}/tmp_{k}; " for k in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(os.path.join(d, "nginx.conf"), "w", encoding="ascii") as f:
        f.write(f"""worker_processes 1;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ }}
http {{
    access_log off; {temp}
    server {{
        listen 127.0.0.1:{GRPC_PORT} http2;
        location / {{
            default_type application/json;
            return 200 '{{"user": "$http_x_remote_user", "groups": "$http_x_remote_groups"}}';
        }}
    }}
}}
""")
    GRPC = subprocess.Popen([NGINX, "-p", d + "/", "-c", f"{d}/nginx.conf", "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", GRPC_PORT), timeout=1).close()
            return
        except OSError:
            assert GRPC.poll() is None, "the gRPC backend nginx exited"
            assert time.monotonic() < deadline, "the gRPC backend nginx did not listen"
            time.sleep(0.05)


def teardown_module():
    if GRPC:
        GRPC.terminate()
        GRPC.wait(timeout=15)
    stop_all(SRV, FCGI, UP, S)


def get(path, cookie_header=None, headers=None):
    h = dict(headers or {})
    h["Cookie"] = cookie_header if cookie_header is not None else f"edgeidp={COOKIE}"
    return requests.get(SRV.url(path), headers=h, allow_redirects=False, timeout=30)


def upstream_headers(r):
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return {k.lower(): v for k, v in r.json()["headers"]}


# -- fastcgi and grpc ---------------------------------------------------------

def test_fastcgi_gets_identity_and_spoofs_are_stripped():
    r = get("/fcgi/x", headers={"X-Remote-User": "mallory", "X_Remote_Groups": "aws-admins"})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    params = r.json()["params"]
    assert params["REQUEST_URI"] == "/fcgi/x", params
    assert params["HTTP_X_REMOTE_USER"] == "alice", params
    assert params["HTTP_X_REMOTE_GROUPS"] == "aws-admins,aws-readonly,staff", params
    assert params["HTTP_X_REMOTE_EMAIL"] == "alice@example.com", params
    assert "mallory" not in json.dumps(params), params


def test_fastcgi_without_session_is_redirected():
    r = get("/fcgi/x", cookie_header="")
    assert r.status_code == 302 and "/edgeidp/login" in r.headers["Location"], r.status_code


def test_grpc_gets_identity_and_spoofs_are_stripped():
    r = get("/grpc/x", headers={"X-Remote-User": "mallory"})
    assert r.status_code == 200, (r.status_code, r.text[:300], SRV.error_log()[-2000:])
    assert r.json() == {"user": "alice", "groups": "aws-admins,aws-readonly,staff"}, r.text


# -- $edgeidp_cookie ------------------------------------------------------------

def test_edgeidp_cookie_keeps_the_apps_cookies_only():
    h = upstream_headers(get("/nocookie/", f"theme=dark; edgeidp={COOKIE}; lang=en"))
    assert h.get("cookie") == "theme=dark; lang=en", h.get("cookie")
    assert h["x-remote-user"] == "alice"


def test_edgeidp_cookie_empty_sends_no_cookie_header():
    h = upstream_headers(get("/nocookie/"))
    assert "cookie" not in h, h.get("cookie")
    # Without the variable, proxy_pass passes Cookie as the client sent it.
    assert f"edgeidp={COOKIE}" in upstream_headers(get("/app/"))["cookie"]


# -- edgeidp_login_url ------------------------------------------------------------

def test_login_url_sends_people_to_the_portal_mounted_there():
    r = get("/elsewhere/page?x=1", cookie_header="")
    assert r.status_code == 302, r.status_code
    loc = r.headers["Location"]
    assert loc == LOGIN_PATH + "/login?return_to=%2Felsewhere%2Fpage%3Fx%3D1", loc
    # and that portal logs people in and sends them back
    sess = requests.Session()
    csrf = csrf_of(sess.get(SRV.url(loc), timeout=30).text)
    r = sess.post(SRV.url(LOGIN_PATH + "/login"), allow_redirects=False, timeout=30,
                  data={"csrf": csrf, "username": "bob", "password": DEMO_PASSWORDS["bob"]})
    assert r.status_code == 302 and r.headers["Location"] == "/elsewhere/page?x=1", (
        r.status_code, r.headers.get("Location"), r.text[:300])
    h = upstream_headers(sess.get(SRV.url("/elsewhere/page?x=1"), allow_redirects=False,
                                  timeout=30))
    assert h["x-remote-user"] == "bob", h


# -- the signed identity header -------------------------------------------------------

def test_signed_identity_header_verifies_with_the_published_key():
    h = upstream_headers(get("/app/", headers={"X-Remote-Jwt": "forged.token.here"}))
    claims = check_token(h["x-remote-jwt"], SRV.url("/edgeidp/jwks.json"))
    assert claims["sub"] == "alice" and claims["email"] == "alice@example.com", claims
    assert claims["groups"] == ["aws-admins", "aws-readonly", "staff"], claims
    assert claims["aud"] == "127.0.0.1", claims   # the host name, as nginx routed it
    assert claims["iss"] == "https://sso.example.com/edgeidp", claims
    assert claims["exp"] - claims["iat"] == 3600, claims


def test_jwks_answers_get_and_head_only():
    url = SRV.url("/edgeidp/jwks.json")
    assert requests.head(url, timeout=30).status_code == 200
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = requests.request(method, url, data=b"{}", timeout=30)
        assert r.status_code == 405, (method, r.status_code)
        assert r.headers.get("Allow") == "GET, HEAD", (method, r.headers)
        assert "keys" not in r.text, method


def test_signed_identity_header_is_reused_then_renewed_on_a_group_change():
    # ECDSA signatures are randomised: equal tokens mean one signature,
    # reused. Each of the two workers makes its own.
    tokens = {upstream_headers(get("/app/"))["x-remote-jwt"] for _ in range(12)}
    assert 1 <= len(tokens) <= 2, len(tokens)
    S.edit_directory('groups = ["aws-admins", "aws-readonly", "staff"]',
                     'groups = ["staff", "aws-readonly"]')
    try:
        # Within the directory's check interval, every worker signs anew.
        deadline = time.monotonic() + 15
        streak = 0   # requests in a row with the new groups
        while streak < 8:
            token = upstream_headers(get("/app/"))["x-remote-jwt"]
            groups = json.loads(b64url(token.split(".")[1]))["groups"]
            if groups == ["aws-readonly", "staff"]:
                assert token not in tokens
                streak += 1
            else:
                assert time.monotonic() < deadline, "old groups after the directory change"
                time.sleep(0.3)
                streak = 0
    finally:
        S.edit_directory('groups = ["staff", "aws-readonly"]',
                         'groups = ["aws-admins", "aws-readonly", "staff"]')


def test_a_key_that_is_not_p256_fails_nginx_t():
    rsa = os.path.join(S.dir, "keys", "rsa.pem")
    p = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", rsa], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    os.chmod(rsa, 0o600)
    bad = os.path.join(S.dir, "bad.toml")
    with open(S.config, encoding="utf-8") as f:
        text = f.read().replace('jwt_key = "keys/identity.pem"', 'jwt_key = "keys/rsa.pem"')
    with open(bad, "w", encoding="utf-8") as f:
        f.write(text)
    ok, out = SRV.check_config(edgeidp_config=bad)
    assert not ok, out
    assert "jwt_key" in out and "EC P-256" in out, out


def test_no_worker_crashed():
    log = SRV.error_log()
    for bad in ("signal 11", "signal 6", "exited on signal", "Segmentation fault"):
        assert bad not in log, log[-2000:]


tap.main(globals())

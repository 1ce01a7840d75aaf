"""The portal in a real browser: Debian's headless Chromium, driven by
playwright-core (tests/browser/flow.js), against the real nginx with the
module. A person opens a protected page, signs in through the login form,
opens the launcher and follows the AWS link; the auto-POST lands on a
stand-in ACS (a small HTTP server in this process) whose recorded
SAMLResponse must satisfy a strict SAML SP (python3-onelogin-saml2) with
AWS's audience and that ACS URL.

The AWS app of the test's edgeidp.toml is a `generic` app with AWS's
audience and Role attributes, because the `aws-iam` preset only accepts an
https:// ACS.

playwright-core comes from the npm registry: tests/browser/package.json and
package-lock.json are installed with `npm ci` into BUILD/browser/ when
missing or changed (never `npx playwright install`: the browser is Debian's
/usr/bin/chromium, from conf/install-deps). Screenshots of the login,
launcher and SAML pages are saved in BUILD/test-output/browser-SERVER/.
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(__file__))

import tap  # noqa: E402
from fixture import DEMO_PASSWORDS, make_setup  # noqa: E402
from portal_client import IDP, ROLE, login, require_module, start_gateway, stop_all  # noqa: E402
from saml_check import onelogin_validate  # noqa: E402
from servers import BUILD_ROOT, SOURCE_ROOT  # noqa: E402

RELAY = "https://console.aws.amazon.com/ec2/home"
CHROMIUM = os.environ.get("EDGEIDP_CHROMIUM", "/usr/bin/chromium")
PACKAGE_DIR = os.path.join(SOURCE_ROOT, "tests", "browser")
INSTALL_DIR = os.path.join(BUILD_ROOT, "browser")
OUT_DIR = os.path.join(BUILD_ROOT, "test-output",
                       "browser-" + os.environ.get("EDGEIDP_SERVER", "nginx"))

S = None      # fixture.Setup
UP = None     # EchoUpstream
SRV = None    # servers.Server
ACS = None    # StandInAcs


class StandInAcs:
    """Records every POST (form fields) and answers with a small page."""

    def __init__(self):
        posts = self.posts = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("ascii", "replace")
                posts.append({"path": self.path,
                              "content_type": self.headers.get("Content-Type", ""),
                              "origin": self.headers.get("Origin"),
                              "fields": parse_qs(body, keep_blank_values=True)})
                out = (b"<!doctype html><html lang=en><title>Stand-in ACS</title>"
                       b"<p>SAML response received</p></html>")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/saml"

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def install_playwright_core():
    """npm ci of tests/browser into BUILD/browser, unless the same lock file
    is installed there already. Returns the node_modules folder."""
    lock = os.path.join(PACKAGE_DIR, "package-lock.json")
    installed_lock = os.path.join(INSTALL_DIR, "package-lock.json")
    modules = os.path.join(INSTALL_DIR, "node_modules")
    with open(lock, "rb") as f:
        want = f.read()
    if os.path.exists(os.path.join(modules, "playwright-core", "package.json")) and \
            os.path.exists(installed_lock):
        with open(installed_lock, "rb") as f:
            if f.read() == want:
                return modules
    npm = shutil.which("npm")
    assert npm, "npm not found: run conf/install-deps (as root)"
    os.makedirs(INSTALL_DIR, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(PACKAGE_DIR, name), os.path.join(INSTALL_DIR, name))
    p = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=INSTALL_DIR, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, f"npm ci in {INSTALL_DIR} failed:\n{p.stdout}{p.stderr}"
    print(f"# installed playwright-core into {modules}", flush=True)
    return modules


def setup_module():
    global S, UP, SRV, ACS
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: run conf/install-deps (as root)"
    assert shutil.which("node"), "node not found: run conf/install-deps (as root)"
    require_module()
    setup_module.modules = install_playwright_core()
    os.makedirs(OUT_DIR, exist_ok=True)
    ACS = StandInAcs()
    S = make_setup()
    # The AWS app, pointed at the stand-in: same audience and attributes.
    S.edit_config('preset = "aws-iam"',
                  f'preset = "generic"\nacs = "{ACS.url}"\n'
                  f'audience = "urn:amazon:webservices"\nrelay_state = "{RELAY}"')
    UP, SRV = start_gateway(S)


def teardown_module():
    stop_all(SRV, UP, ACS, S)


def run_flow(user, javascript=True):
    opts = {"base": SRV.url("").rstrip("/"), "acs": ACS.url, "user": user,
            "password": DEMO_PASSWORDS[user], "out": OUT_DIR,
            "modules": setup_module.modules, "javascript": javascript}
    p = subprocess.run(["node", os.path.join(PACKAGE_DIR, "flow.js"), json.dumps(opts)],
                       capture_output=True, text=True, timeout=180)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    seen = json.loads(lines[-1]) if lines else {}
    assert p.returncode == 0 and seen.get("steps", [{}])[-1].get("step") == "done", (
        f"browser flow failed (exit {p.returncode}) at {seen.get('failed_step')!r}:\n"
        f"{json.dumps(seen, indent=1)}\nstderr:\n{p.stderr[-3000:]}\n"
        f"server error log:\n{SRV.error_log()[-3000:]}")
    return seen


def check_posted(post, want_roles):
    assert post["path"] == "/saml", post
    assert post["content_type"].startswith("application/x-www-form-urlencoded"), post
    fields = post["fields"]
    assert set(fields) <= {"SAMLResponse", "RelayState"}, fields.keys()
    assert fields.get("RelayState") == [RELAY], fields.get("RelayState")
    (b64,) = fields["SAMLResponse"]
    ok, errors, attrs, nameid = onelogin_validate(
        b64, S.cert_pem(), IDP, sp_entity_id="urn:amazon:webservices", acs=ACS.url)
    assert ok, errors
    assert nameid, nameid
    roles = sorted(r.split(",")[0].rsplit("/", 1)[1] for r in attrs[ROLE])
    assert roles == want_roles, attrs[ROLE]
    return attrs


# -- tests -----------------------------------------------------------------

def test_login_launcher_and_aws_link_post_a_valid_response():
    before = len(ACS.posts)
    seen = run_flow("alice")
    # the login form brought alice back to the protected page she asked for
    assert seen["after_login_url"] == SRV.url("/app/"), seen["after_login_url"]
    # ... and the upstream saw her identity headers (the echo upstream's JSON)
    text = seen["after_login_text"]
    echoed = {k.lower(): v for k, v in json.loads(text[text.index("{"):])["headers"]}
    assert echoed.get("x-remote-user") == "alice", echoed
    labels = [ln["text"] for ln in seen["launcher_links"]]
    assert any("AWS console" in t for t in labels), labels
    assert seen["acs_url"] == ACS.url, seen["acs_url"]
    assert "SAML response received" in seen["acs_text"], seen["acs_text"]
    assert len(ACS.posts) == before + 1, ACS.posts[before:]
    attrs = check_posted(ACS.posts[-1], ["AdministratorAccess", "ReadOnlyAccess"])
    session = attrs["https://aws.amazon.com/SAML/Attributes/RoleSessionName"]
    assert session == ["alice"], session
    assert not seen["console_errors"], seen["console_errors"]
    print(f"# screenshots: {OUT_DIR}", flush=True)


def test_pages_are_plain_and_accessible():
    seen = run_flow("bob")
    assert seen["login_lang"], "the login page has no lang attribute"
    assert seen["login_title"].strip(), "the login page has no title"
    assert seen["launcher_title"].strip(), "the launcher has no title"
    for name in ("login-js.png", "launcher-js.png"):
        path = os.path.join(OUT_DIR, name)
        assert os.path.getsize(path) > 1000, path
    check_posted(ACS.posts[-1], ["ReadOnlyAccess"])


def test_without_javascript_the_fallback_button_posts():
    before = len(ACS.posts)
    seen = run_flow("alice", javascript=False)
    assert seen["fallback_label"], seen
    assert seen["acs_url"] == ACS.url, seen["acs_url"]
    assert len(ACS.posts) == before + 1
    check_posted(ACS.posts[-1], ["AdministratorAccess", "ReadOnlyAccess"])


def test_a_user_without_an_aws_role_sees_no_aws_link():
    # carol may sign in but has no AWS role: the launcher has no AWS link
    sess, r = login("carol")
    assert r.status_code == 302, r.status_code
    page = sess.get(SRV.url("/edgeidp/"), timeout=30).text
    assert "AWS console" not in page, page[:2000]


tap.main(globals())

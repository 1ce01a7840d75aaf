"""SP-initiated sign-in (issue 5) through the real web server: a service
provider built with python3-onelogin-saml2 sends real AuthnRequests (both
bindings, unsigned and signed) to the portal's /sso endpoint; the user logs
in; the response posted back is judged by that same SP in strict mode, with
InResponseTo and RelayState. Runs against nginx, or Apache with
EDGEIDP_SERVER=apache."""
import base64
import html
import os
import re
import subprocess
import sys
import time
import zlib
from urllib.parse import parse_qs, quote, urlencode, urlsplit

sys.path.insert(0, os.path.dirname(__file__))
import requests  # noqa: E402
from onelogin.saml2.auth import OneLogin_Saml2_Auth  # noqa: E402
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request  # noqa: E402
from onelogin.saml2.settings import OneLogin_Saml2_Settings  # noqa: E402
from onelogin.saml2.utils import OneLogin_Saml2_Utils  # noqa: E402

import tap  # noqa: E402
from fixture import make_setup  # noqa: E402
from portal_client import (IDP, PORTAL, get_url, login_form, post_login,  # noqa: E402
                           require_module, start_gateway, stop_all)
from saml_check import onelogin_validate  # noqa: E402

SSO_URL = IDP + "/sso"          # what the IdP metadata advertises
SP = "https://sp.example.test/metadata"
ACS = "https://sp.example.test/acs"
SIGNED_SP = "https://signed-sp.example.test/metadata"
SIGNED_ACS = "https://signed-sp.example.test/acs"

S = UP = SRV = None
SP_KEY = SP_CERT = None


def sp_settings(entity, acs, signed=False):
    settings = {
        "strict": True,
        "sp": {
            "entityId": entity,
            "assertionConsumerService": {
                "url": acs, "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        },
        "idp": {
            "entityId": IDP,
            "singleSignOnService": {
                "url": SSO_URL, "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "x509cert": S.cert_pem(),
        },
        "security": {"authnRequestsSigned": signed, "wantAssertionsSigned": True,
                      "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                      "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256"},
    }
    if signed:
        settings["sp"]["x509cert"] = SP_CERT
        settings["sp"]["privateKey"] = SP_KEY
    return OneLogin_Saml2_Settings(settings, sp_validation_only=True)


def make_sp_keys(d):
    key, cert = os.path.join(d, "sp.key"), os.path.join(d, "sp.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=signed-sp", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    with open(key, encoding="ascii") as f:
        k = f.read()
    with open(cert, encoding="ascii") as f:
        c = f.read()
    return k, c


def setup_module():
    global S, UP, SRV, SP_KEY, SP_CERT
    require_module()
    S = make_setup()
    SP_KEY, SP_CERT = make_sp_keys(S.dir)
    for name, settings in (("sp-metadata.xml", sp_settings(SP, ACS)),
                           ("signed-sp-metadata.xml",
                            sp_settings(SIGNED_SP, SIGNED_ACS, signed=True))):
        md = settings.get_sp_metadata()
        with open(os.path.join(S.dir, name), "w", encoding="utf-8") as f:
            f.write(md.decode() if isinstance(md, bytes) else md)
    with open(S.config, "a", encoding="utf-8") as f:
        f.write("""
[[app]]
name = "sp"
display_name = "Test SP"
preset = "generic"
sp_metadata = "sp-metadata.xml"
name_id_format = "email"
name_id = "{user.email}"

[[app]]
name = "signed-sp"
preset = "generic"
sp_metadata = "signed-sp-metadata.xml"
name_id_format = "email"
name_id = "{user.email}"
""")
    UP, SRV = start_gateway(S)


def teardown_module():
    stop_all(SRV, UP, S)


# -- helpers (get_url, login_form, post_login: portal_client.py) -------------

def local(url):
    """The IdP URL as advertised, sent to the test server instead."""
    parts = urlsplit(url)
    assert url.startswith(IDP), url
    return SRV.url(parts.path.replace("/edgeidp", PORTAL, 1) + ("?" + parts.query if parts.query else ""))


def login_via_form(sess, location, user="alice"):
    """Follows a redirect to the login form, logs in, returns the response
    of the POST (a redirect back to where the flow continues)."""
    _, token = login_form(sess=sess, path=location)
    return post_login(sess, token, user)


def auto_post(page):
    """(action, SAMLResponse, RelayState or None) of the auto-POST page."""
    assert page.status_code == 200, (page.status_code, page.text[:500])
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page.text).group(1))
    resp = html.unescape(re.search(r'name="SAMLResponse" value="([^"]+)"', page.text).group(1))
    m = re.search(r'name="RelayState" value="([^"]*)"', page.text)
    return action, resp, (html.unescape(m.group(1)) if m else None)


def redirect_request(settings, relay_state="relay-123", force_authn=False):
    """(URL at the IdP, request ID) as the SP's login() makes them."""
    auth = OneLogin_Saml2_Auth({"https": "on", "http_host": "sp.example.test",
                                "script_name": "/login", "get_data": {}, "post_data": {}},
                               old_settings=settings)
    url = auth.login(return_to=relay_state, force_authn=force_authn)
    return url, auth.get_last_request_id()


def run_flow(sess, url, user="alice", expect_login=True):
    r = get_url(sess, local(url))
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert r.headers["Location"].endswith("/sso/continue"), r.headers
    r = get_url(sess, SRV.url(r.headers["Location"]))
    if expect_login:
        assert r.status_code == 302 and "/login?return_to=" in r.headers["Location"], r.headers
        r = login_via_form(sess, r.headers["Location"], user)
        assert r.status_code == 302, (r.status_code, r.text[:300])
        r = get_url(sess, SRV.url(r.headers["Location"]))
    return auto_post(r)


def refusal(r, why):
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "Sign-in request refused" in r.text
    deadline = time.time() + 5
    while why not in SRV.error_log() and time.time() < deadline:
        time.sleep(0.1)
    assert why in SRV.error_log(), f"{why!r} not in the error log"


# -- the flows --------------------------------------------------------------

def test_redirect_binding_full_flow():
    sess = requests.Session()
    url, req_id = redirect_request(sp_settings(SP, ACS))
    action, resp, relay = run_flow(sess, url)
    assert action == ACS
    assert relay == "relay-123"
    ok, errors, _, nameid = onelogin_validate(resp, S.cert_pem(), IDP, sp_entity_id=SP, acs=ACS,
                                              request_id=req_id, want_attribute_statement=False)
    assert ok, errors
    assert nameid == "alice@example.com"
    xml = base64.b64decode(resp).decode()
    assert f'InResponseTo="{req_id}"' in xml


def test_existing_session_answers_without_login():
    sess = requests.Session()
    url, _ = redirect_request(sp_settings(SP, ACS))
    run_flow(sess, url)
    url, req_id = redirect_request(sp_settings(SP, ACS), relay_state="second")
    action, resp, relay = run_flow(sess, url, expect_login=False)
    assert relay == "second"
    ok, errors, _, _ = onelogin_validate(resp, S.cert_pem(), IDP, sp_entity_id=SP, acs=ACS,
                                         request_id=req_id, want_attribute_statement=False)
    assert ok, errors


def test_force_authn_asks_for_the_password_again():
    sess = requests.Session()
    url, _ = redirect_request(sp_settings(SP, ACS))
    run_flow(sess, url)
    time.sleep(1.1)  # the new request must be later than the first login
    url, req_id = redirect_request(sp_settings(SP, ACS), force_authn=True)
    _, resp, _ = run_flow(sess, url, expect_login=True)
    ok, errors, _, _ = onelogin_validate(resp, S.cert_pem(), IDP, sp_entity_id=SP, acs=ACS,
                                         request_id=req_id, want_attribute_statement=False)
    assert ok, errors


def test_post_binding_full_flow():
    sess = requests.Session()
    req = OneLogin_Saml2_Authn_Request(sp_settings(SP, ACS))
    r = sess.post(SRV.url(PORTAL + "/sso"),
                  data={"SAMLRequest": req.get_request(deflate=False), "RelayState": "post-relay"},
                  allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].endswith("/sso/continue"), r.text[:300]
    r = get_url(sess, SRV.url(r.headers["Location"]))
    r = login_via_form(sess, r.headers["Location"], "bob")
    r = get_url(sess, SRV.url(r.headers["Location"]))
    action, resp, relay = auto_post(r)
    assert action == ACS and relay == "post-relay"
    ok, errors, _, nameid = onelogin_validate(resp, S.cert_pem(), IDP, sp_entity_id=SP, acs=ACS,
                                              request_id=req.get_id(),
                                              want_attribute_statement=False)
    assert ok, errors
    assert nameid == "bob@example.com"


def test_signed_redirect_request_is_verified():
    sess = requests.Session()
    url, req_id = redirect_request(sp_settings(SIGNED_SP, SIGNED_ACS, signed=True))
    assert "Signature=" in url and "SigAlg=" in url
    action, resp, _ = run_flow(sess, url)
    assert action == SIGNED_ACS
    ok, errors, _, _ = onelogin_validate(resp, S.cert_pem(), IDP, sp_entity_id=SIGNED_SP,
                                         acs=SIGNED_ACS, request_id=req_id,
                                         want_attribute_statement=False)
    assert ok, errors


def test_signed_post_request_is_verified():
    sess = requests.Session()
    req = OneLogin_Saml2_Authn_Request(sp_settings(SIGNED_SP, SIGNED_ACS, signed=True))
    signed = OneLogin_Saml2_Utils.add_sign(
        req.get_xml(), SP_KEY, SP_CERT,
        sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    r = sess.post(SRV.url(PORTAL + "/sso"),
                  data={"SAMLRequest": base64.b64encode(signed).decode()},
                  allow_redirects=False, timeout=30)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    # The same request with its content changed after signing is refused.
    req2 = OneLogin_Saml2_Authn_Request(sp_settings(SIGNED_SP, SIGNED_ACS, signed=True))
    signed2 = OneLogin_Saml2_Utils.add_sign(
        req2.get_xml(), SP_KEY, SP_CERT,
        sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    tampered = signed2.replace(b"signed-sp.example.test/acs", b"signed-sp.example.test/acz")
    r = sess.post(SRV.url(PORTAL + "/sso"),
                  data={"SAMLRequest": base64.b64encode(tampered).decode()},
                  allow_redirects=False, timeout=30)
    refusal(r, "SP-initiated request refused")


def test_unsigned_request_refused_when_metadata_says_signed():
    url, _ = redirect_request(sp_settings(SIGNED_SP, SIGNED_ACS, signed=False))
    r = get_url(requests.Session(), local(url))
    refusal(r, "the request is not signed")


def test_tampered_redirect_signature_refused():
    url, _ = redirect_request(sp_settings(SIGNED_SP, SIGNED_ACS, signed=True),
                              relay_state="original")
    bad = url.replace("RelayState=original", "RelayState=changed")
    assert bad != url
    r = get_url(requests.Session(), local(bad))
    refusal(r, "the signature does not verify")


def test_idp_initiated_to_the_same_sp():
    sess = requests.Session()
    url, _ = redirect_request(sp_settings(SP, ACS))
    run_flow(sess, url)  # logs in
    action, resp, relay = auto_post(get_url(sess, SRV.url(PORTAL + "/app/sp")))
    assert action == ACS and relay is None
    ok, errors, _, _ = onelogin_validate(resp, S.cert_pem(), IDP, sp_entity_id=SP, acs=ACS,
                                         want_attribute_statement=False)
    assert ok, errors
    assert "InResponseTo" not in base64.b64decode(resp).decode()


# -- refused requests: never a response, never to a foreign URL -------------

def redirect_with(xml):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = c.compress(xml.encode()) + c.flush()
    return SRV.url(PORTAL + "/sso?SAMLRequest=" + quote(base64.b64encode(deflated).decode(), safe=""))


def request_xml(issuer=SP, acs=ACS, req_id=None, instant=None):
    req_id = req_id or "_" + os.urandom(10).hex()
    instant = instant or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="{req_id}" Version="2.0" IssueInstant="{instant}" '
            f'AssertionConsumerServiceURL="{acs}"><saml:Issuer>{issuer}</saml:Issuer>'
            '</samlp:AuthnRequest>')


def test_hand_made_request_is_accepted():
    # The control for the refusals below: the same construction works.
    r = get_url(requests.Session(), redirect_with(request_xml()))
    assert r.status_code == 302, (r.status_code, r.text[:300])


def test_unknown_issuer_refused():
    r = get_url(requests.Session(), redirect_with(request_xml(issuer="https://evil.example/sp")))
    refusal(r, 'unknown Issuer "https://evil.example/sp"')


def test_acs_not_in_metadata_refused():
    r = get_url(requests.Session(), redirect_with(request_xml(acs="https://evil.example/acs")))
    refusal(r, 'AssertionConsumerServiceURL "https://evil.example/acs" is not in the SP metadata')
    assert "evil.example" not in r.text


def test_stale_request_refused():
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    r = get_url(requests.Session(), redirect_with(request_xml(instant=old)))
    refusal(r, "stale or future IssueInstant")


def test_replayed_request_refused():
    xml = request_xml(req_id="_replay_" + os.urandom(6).hex())
    r = get_url(requests.Session(), redirect_with(xml))
    assert r.status_code == 302
    r = get_url(requests.Session(), redirect_with(xml))
    refusal(r, "replayed request ID")


def test_pending_cookie_from_nowhere_is_refused():
    r = get_url(requests.Session(), SRV.url(PORTAL + "/sso/continue"),
            headers={"Cookie": "edgeidp_sso=forged"})
    assert r.status_code == 400 and "Sign-in expired" in r.text


def test_no_worker_crashed():
    log = SRV.error_log()
    for bad in ("exited on signal", "exit signal Segmentation", "AddressSanitizer"):
        assert bad not in log, log[-2000:]


tap.main(globals())

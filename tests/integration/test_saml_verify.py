"""edgeidp's SAML responses, judged by independent code: the xmlsec1 command
line and python3-onelogin-saml2 configured as a strict SP with AWS's ACS and
audience. Our own parser is never the judge here."""
import base64
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from fixture import edgeidp, make_setup  # noqa: E402
from saml_check import onelogin_validate, xmlsec_verify  # noqa: E402

ROLE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
IDP = "https://sso.example.com/edgeidp"
S = None


def setup_module():
    global S
    S = make_setup()


def teardown_module():
    S.cleanup()


def response(user, *extra):
    p = edgeidp("saml-response", "-c", S.config, "--app", "aws", "--user", user, *extra,
                check=True)
    return p.stdout.strip()


def validate(b64, **kw):
    return onelogin_validate(b64, S.cert_pem(), IDP, **kw)


def tamper(b64, old, new):
    xml = base64.b64decode(b64)
    assert old.encode() in xml, old
    return base64.b64encode(xml.replace(old.encode(), new.encode(), 1)).decode()


def test_xmlsec1_verifies_response_and_assertion_signatures():
    ok, out = xmlsec_verify(base64.b64decode(response("alice")), S.cert)
    assert ok, out


def test_strict_sp_accepts_multi_role_response():
    ok, errors, attrs, nameid = validate(response("alice"))
    assert ok, errors
    assert sorted(attrs[ROLE]) == [
        "arn:aws:iam::123412341234:role/AdministratorAccess,"
        "arn:aws:iam::123412341234:saml-provider/edgeidp",
        "arn:aws:iam::123412341234:role/ReadOnlyAccess,"
        "arn:aws:iam::123412341234:saml-provider/edgeidp"], attrs[ROLE]
    assert attrs[SESSION_NAME] == ["alice"]
    assert attrs["https://aws.amazon.com/SAML/Attributes/SessionDuration"] == ["3600"]
    assert nameid


def test_strict_sp_accepts_single_role_response():
    ok, errors, attrs, _ = validate(response("bob"))
    assert ok, errors
    assert attrs[ROLE] == ["arn:aws:iam::123412341234:role/ReadOnlyAccess,"
                           "arn:aws:iam::123412341234:saml-provider/edgeidp"]


def test_one_changed_byte_in_signed_content_is_rejected():
    good = response("alice")
    bad = tamper(good, "role/ReadOnlyAccess", "role/ReadOnlyAccesS")
    ok, out = xmlsec_verify(base64.b64decode(bad), S.cert)
    assert not ok, "xmlsec1 accepted a tampered response"
    ok, errors, _, _ = validate(bad)
    assert not ok, "the strict SP accepted a tampered response"


def test_changed_name_id_is_rejected():
    good = response("bob")
    xml = base64.b64decode(good).decode()
    start = xml.index("<saml:NameID")
    end = xml.index("</saml:NameID>")
    value = xml[xml.index(">", start) + 1:end]
    bad = tamper(good, value + "</saml:NameID>", value[:-1] + "x</saml:NameID>")
    ok, errors, _, _ = validate(bad)
    assert not ok


def test_wrong_audience_is_rejected_by_the_sp():
    ok, errors, _, _ = validate(response("bob"), sp_entity_id="urn:amazon:webservices:govcloud")
    assert not ok


def test_expired_response_is_rejected():
    ok, errors, _, _ = validate(response("bob", "--now", str(int(time.time()) - 3600)))
    assert not ok
    assert any("expired" in e.lower() or "notonorafter" in e.lower() for e in errors), errors


def test_in_response_to_is_carried():
    ok, errors, _, _ = validate(response("bob", "--in-response-to", "_req-12345"),
                                request_id="_req-12345")
    assert ok, errors
    ok, errors, _, _ = validate(response("bob", "--in-response-to", "_req-12345"),
                                request_id="_other")
    assert not ok


def test_assertion_only_signature_is_accepted():
    S.edit_config('preset = "aws-iam"', 'preset = "aws-iam"\nsign_response = false')
    try:
        b64 = response("bob")
        xml = base64.b64decode(b64).decode()
        assert xml.count("<ds:SignatureValue") == 1, xml
        ok, errors, _, _ = validate(b64, want_messages_signed=False)
        assert ok, errors
        # An SP that wants the whole message signed notices it is not.
        ok, errors, _, _ = validate(b64)
        assert not ok
    finally:
        S.edit_config('\nsign_response = false', "")


def test_regional_acs_sets_destination_and_recipient():
    regional = "https://eu-west-1.signin.aws.amazon.com/saml"
    S.edit_config('preset = "aws-iam"', f'preset = "aws-iam"\nacs = "{regional}"')
    try:
        b64 = response("bob")
        ok, errors, _, _ = validate(b64, acs=regional)
        assert ok, errors
        ok, errors, _, _ = validate(b64)  # the global endpoint is not the Destination
        assert not ok
    finally:
        S.edit_config(f'\nacs = "{regional}"', "")


tap.main(globals())

"""AWS IAM Identity Center: the preset built from AWS's SP metadata, and the
NameID / SCIM userName check of `edgeidp check`. The SP-initiated flow
against the real web servers is in test_gateway.py."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from fixture import SOURCE_ROOT, edgeidp, make_setup  # noqa: E402

S = None
METADATA = os.path.join(SOURCE_ROOT, "tests", "data", "aws-identity-center-sp-metadata.xml")
APP = """
[[app]]
name = "aws-sso"
preset = "aws-identity-center"
sp_metadata = "aws-sso-metadata.xml"
name_id = "{user.email}"
groups = ["aws-admins", "aws-readonly"]
"""
SCIM = """
[[scim]]
name = "idc"
app = "aws-sso"
endpoint = "https://scim.eu-central-1.amazonaws.com/abc/scim/v2"
token_file = "scim-token"
[scim.user]
user_name = "USERNAME"
"""


def setup_module():
    global S
    S = make_setup()
    shutil.copy(METADATA, os.path.join(S.dir, "aws-sso-metadata.xml"))
    with open(S.config, "a", encoding="utf-8") as f:
        f.write(APP)


def teardown_module():
    S.cleanup()


def with_scim(user_name):
    with open(S.config, encoding="utf-8") as f:
        base = f.read()
    with open(S.config, "a", encoding="utf-8") as f:
        f.write(SCIM.replace("USERNAME", user_name))
    return base


def restore(text):
    with open(S.config, "w", encoding="utf-8") as f:
        f.write(text)


def test_preset_reads_aws_metadata():
    p = edgeidp("saml-response", "-c", S.config, "--app", "aws-sso", "--user", "bob", "--xml",
                check=True)
    xml = p.stdout
    acs = ("https://eu-central-1.signin.aws.amazon.com/platform/saml/acs/"
           "e4f71ab4-31d3-46cd-a105-2c2c38ec0032")
    entity = "https://eu-central-1.signin.aws.amazon.com/platform/saml/d-99677451d0"
    assert f'Destination="{acs}"' in xml and f'Recipient="{acs}"' in xml, xml
    assert f"<saml:Audience>{entity}</saml:Audience>" in xml, xml
    assert ('Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">bob@example.com<'
            in xml), xml


def test_response_validates_for_identity_center_sp():
    from saml_check import onelogin_validate
    p = edgeidp("saml-response", "-c", S.config, "--app", "aws-sso", "--user", "alice",
                check=True)
    ok, errors, _, nameid = onelogin_validate(
        p.stdout.strip(), S.cert_pem(), "https://sso.example.com/edgeidp",
        sp_entity_id="https://eu-central-1.signin.aws.amazon.com/platform/saml/d-99677451d0",
        acs="https://eu-central-1.signin.aws.amazon.com/platform/saml/acs/"
            "e4f71ab4-31d3-46cd-a105-2c2c38ec0032",
        want_attribute_statement=False)
    assert ok, errors
    assert nameid == "alice@example.com"


def test_check_accepts_matching_scim_user_name():
    base = with_scim("{user.email}")
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        restore(base)


def test_check_refuses_name_id_that_differs_from_scim_user_name():
    base = with_scim("{user.username}")
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1, p.stdout
        assert ('app aws-sso, user alice: the NameID "alice@example.com" (name_id "{user.email}") '
                'differs from the userName "alice"') in p.stdout, p.stdout
    finally:
        restore(base)


def test_non_email_name_id_is_an_error_for_that_user():
    base = None
    with open(S.config, encoding="utf-8") as f:
        base = f.read()
    restore(base.replace('name_id = "{user.email}"', 'name_id = "{user.username}"'))
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1, p.stdout
        assert 'NameID "alice" is not an email address' in p.stdout, p.stdout
    finally:
        restore(base)


def test_bad_sp_metadata_is_a_config_error():
    path = os.path.join(S.dir, "aws-sso-metadata.xml")
    with open(path, encoding="utf-8") as f:
        good = f.read()
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1
        assert "app[1].sp_metadata" in p.stderr and "DTD" in p.stderr, p.stderr
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(good)


tap.main(globals())

"""The edgeidp program, run as an operator would run it."""
import os
import stat
import sys

from lxml import etree

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from fixture import edgeidp, make_setup  # noqa: E402

S = None


def setup_module():
    global S
    S = make_setup()


def teardown_module():
    S.cleanup()


def test_check_accepts_the_example_config():
    p = edgeidp("check", "-c", S.config)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "app aws (aws-iam): 2 user(s) may sign in" in p.stdout, p.stdout
    assert "0 error(s)" in p.stdout, p.stdout


def test_check_reports_unknown_key_with_file_line_and_key():
    S.edit_config('display_name = "AWS console"', 'display_name = "AWS console"\ncolour = "red"')
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1
        with open(S.config, encoding="utf-8") as f:
            line = f.read().splitlines().index('colour = "red"') + 1
        assert f"{S.config}:{line}: app[0].colour: unknown key" in p.stderr, p.stderr
    finally:
        S.edit_config('\ncolour = "red"', "")


def test_check_lists_users_whose_role_aws_would_refuse():
    S.edit_config("arn:aws:iam::123412341234:role/", "arn:aws:iam::1234:role/")
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1, p.stdout
        assert "app aws, user alice: Role value" in p.stdout, p.stdout
        assert "account ID must be 12 digits" in p.stdout, p.stdout
    finally:
        S.edit_config("arn:aws:iam::1234:role/", "arn:aws:iam::123412341234:role/")


def test_check_lints_acs_against_preset():
    S.edit_config('# acs = "https://eu-west-1', 'acs = "https://eu-west-1.signin.amazonaws-us-gov.com/saml"\n# x = "')
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1
        assert "is not an AWS sign-in endpoint" in p.stdout, p.stdout
    finally:
        S.edit_config('acs = "https://eu-west-1.signin.amazonaws-us-gov.com/saml"\n# x = "',
                      '# acs = "https://eu-west-1')


def test_check_refuses_group_readable_key():
    os.chmod(S.key, 0o640)
    try:
        p = edgeidp("check", "-c", S.config)
        assert p.returncode == 1
        assert "idp.signing_key" in p.stderr and "chmod 600" in p.stderr, p.stderr
    finally:
        os.chmod(S.key, 0o600)


def test_check_warns_about_expiring_certificate():
    p = edgeidp("check", "-c", S.config, "--now", str(int(os.path.getmtime(S.cert)) + 1080 * 86400))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "warning: the signing certificate expires in" in p.stdout, p.stdout


def test_keygen_makes_a_private_key_and_refuses_to_overwrite():
    mode = stat.S_IMODE(os.stat(S.key).st_mode)
    assert mode == 0o600, oct(mode)
    p = edgeidp("keygen", "--key", S.key, "--cert", S.cert)
    assert p.returncode == 1 and "refusing to replace" in p.stderr, p.stderr


def test_hash_password_reads_stdin_and_never_argv():
    p = edgeidp("hash-password", "--method", "bcrypt", stdin="s3cret pass\n", check=True)
    h = p.stdout.strip()
    assert h.startswith("$2b$"), h
    import crypt  # Debian's python3.11 still ships it; an independent check
    assert crypt.crypt("s3cret pass", h) == h
    p = edgeidp("hash-password", "s3cret")
    assert p.returncode == 2 and "unknown argument" in p.stderr
    # docs/directory.md: 1 to 511 bytes
    h = edgeidp("hash-password", "--method", "bcrypt", "--cost", "4", stdin="p" * 511 + "\n",
                check=True).stdout.strip()
    assert crypt.crypt("p" * 511, h) == h
    p = edgeidp("hash-password", "--method", "bcrypt", stdin="p" * 512 + "\n")
    assert p.returncode == 1 and "password must be 1 to 511 bytes" in p.stderr, p.stderr


def test_metadata_is_parsable_idp_metadata():
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
    p = edgeidp("metadata", "-c", S.config, check=True)
    assert not p.stdout.startswith("\ufeff")
    root = etree.fromstring(p.stdout.encode())
    assert root.get("entityID") == "https://sso.example.com/edgeidp"
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(p.stdout)
    idp = parsed["idp"]
    assert idp["entityId"] == "https://sso.example.com/edgeidp"
    assert idp["singleSignOnService"]["url"] == "https://sso.example.com/edgeidp/sso"
    cert = S.cert_pem().replace("-----BEGIN CERTIFICATE-----", "") \
        .replace("-----END CERTIFICATE-----", "").replace("\n", "")
    assert idp["x509cert"] == cert
    bindings = {e.get("Binding") for e in root.iter("{*}SingleSignOnService")}
    assert bindings == {"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}, bindings


def test_saml_response_refuses_user_without_role():
    p = edgeidp("saml-response", "-c", S.config, "--app", "aws", "--user", "carol")
    assert p.returncode == 1
    assert "user carol" in p.stderr and "none of the app's groups" in p.stderr, p.stderr


def test_saml_response_refuses_inactive_user():
    p = edgeidp("saml-response", "-c", S.config, "--app", "aws", "--user", "dave")
    assert p.returncode == 1 and "inactive" in p.stderr, p.stderr


def test_saml_response_unknown_app_and_user():
    p = edgeidp("saml-response", "-c", S.config, "--app", "nope", "--user", "alice")
    assert p.returncode == 1 and 'no app named "nope"' in p.stderr
    p = edgeidp("saml-response", "-c", S.config, "--app", "aws", "--user", "zed")
    assert p.returncode == 1 and 'no user named "zed"' in p.stderr


tap.main(globals())

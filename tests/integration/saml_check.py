"""Judging edgeidp's SAML output with independent SAML code.

Two referees, neither of them ours:

  xmlsec_verify      the xmlsec1 command line tool checks the Response
                     signature and the Assertion signature, one run each.
  onelogin_validate  python3-onelogin-saml2 as a strict SP (what AWS's
                     sign-in endpoint does, as far as it is documented).

Used by test_saml_verify.py; both functions return plain values and never
raise for a bad response, so a test can assert on the result and print the
referee's own words on failure.
"""
import os
import subprocess
import tempfile
from urllib.parse import urlsplit

from lxml import etree

SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

_ELEMENTS = {
    "Response": (SAMLP_NS, "/samlp:Response"),
    "Assertion": (SAML_NS, "/samlp:Response/saml:Assertion"),
}
_NSMAP = {"samlp": SAMLP_NS, "saml": SAML_NS, "ds": DS_NS}


def _signed_element(doc, which):
    """The element's ID if it carries its own enveloped signature whose one
    Reference points at it; otherwise (None, reason). xmlsec1 --node-id
    starts a depth-first search for ds:Signature at the element, so without
    this check an unsigned Response would "verify" with the Assertion's
    signature."""
    _, path = _ELEMENTS[which]
    nodes = doc.xpath(path, namespaces=_NSMAP)
    if len(nodes) != 1:
        return None, f"expected exactly one {which}, found {len(nodes)}"
    node = nodes[0]
    node_id = node.get("ID")
    if not node_id:
        return None, f"{which} has no ID attribute"
    sigs = node.findall(f"{{{DS_NS}}}Signature")
    if len(sigs) != 1:
        return None, f"{which} has {len(sigs)} direct ds:Signature children, expected 1"
    refs = sigs[0].findall(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")
    uris = [r.get("URI") for r in refs]
    if uris != ["#" + node_id]:
        return None, f"{which} signature references {uris}, expected ['#{node_id}']"
    return node_id, ""


def _run_xmlsec1(xml_path, cert_pem_path, node_id):
    cmd = [
        "xmlsec1", "--verify",
        "--pubkey-cert-pem", cert_pem_path,
        "--id-attr:ID", f"{SAMLP_NS}:Response",
        "--id-attr:ID", f"{SAML_NS}:Assertion",
        "--enabled-reference-uris", "same-doc",
        "--node-id", node_id,
        xml_path,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    output = (proc.stdout + proc.stderr).strip()
    return proc.returncode == 0, " ".join(cmd) + "\n" + output


def xmlsec_verify(xml_bytes, cert_pem_path, require=("Response", "Assertion")):
    """Verifies each element named in 'require' ("Response", "Assertion")
    with xmlsec1, one invocation per signature, selecting the element by
    its ID. Returns (ok, output): ok only if every required element has its
    own signature over itself and xmlsec1 accepts each; output holds every
    command line and what xmlsec1 said."""
    if isinstance(xml_bytes, str):
        xml_bytes = xml_bytes.encode("utf-8")
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        doc = etree.fromstring(xml_bytes, parser).getroottree()
    except etree.XMLSyntaxError as e:
        return False, f"not well-formed XML: {e}"
    ok = True
    report = []
    with tempfile.TemporaryDirectory(prefix="edgeidp-xmlsec-") as tmp:
        xml_path = os.path.join(tmp, "response.xml")
        with open(xml_path, "wb") as f:
            f.write(xml_bytes)
        for which in require:
            node_id, why = _signed_element(doc, which)
            if node_id is None:
                ok = False
                report.append(f"[{which}] {why}")
                continue
            verified, output = _run_xmlsec1(xml_path, cert_pem_path, node_id)
            ok = ok and verified
            report.append(f"[{which}] {'OK' if verified else 'FAILED'}: {output}")
    return ok, "\n".join(report)


def _pem_text(cert):
    """Accepts PEM text or the path of a PEM file."""
    if "-----BEGIN" not in cert and os.path.exists(cert):
        with open(cert, encoding="ascii") as f:
            return f.read()
    return cert


def _request_data(acs, saml_response_b64):
    """The request_data python3-saml expects, as if the POST arrived at the
    ACS URL itself (its Destination and Recipient checks compare with it)."""
    url = urlsplit(acs)
    host = url.hostname or ""
    if url.port is not None:
        host += f":{url.port}"
    return {
        "https": "on" if url.scheme == "https" else "off",
        "http_host": host,
        "script_name": url.path,
        "get_data": {},
        "post_data": {"SAMLResponse": saml_response_b64},
    }


def onelogin_settings(idp_cert_pem, idp_entity_id, sp_entity_id, acs, want_messages_signed,
                      want_attribute_statement=True):
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp_entity_id,
            "assertionConsumerService": {"url": acs, "binding": POST_BINDING},
            "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        },
        "idp": {
            "entityId": idp_entity_id,
            # Not used to validate a response; the settings object wants one.
            "singleSignOnService": {"url": "https://idp.invalid/sso", "binding": REDIRECT_BINDING},
            "x509cert": _pem_text(idp_cert_pem),
        },
        "security": {
            "wantAssertionsSigned": True,
            "wantMessagesSigned": bool(want_messages_signed),
            "wantNameId": True,
            "wantAssertionsEncrypted": False,
            "wantNameIdEncrypted": False,
            "rejectDeprecatedAlgorithm": True,
            # Identity Center needs no attributes; AWS IAM needs Role.
            "wantAttributeStatement": bool(want_attribute_statement),
        },
    }


def onelogin_validate(saml_response_b64, idp_cert_pem, idp_entity_id,
                      sp_entity_id="urn:amazon:webservices",
                      acs="https://signin.aws.amazon.com/saml",
                      request_id=None, want_messages_signed=True,
                      want_attribute_statement=True):
    """Validates a base64 SAMLResponse as a strict python3-saml SP.
    idp_cert_pem is PEM text or a PEM file path. Returns
    (ok, errors, attributes, nameid): errors is a list of strings, empty
    when ok; attributes maps each Name to its list of values."""
    # Imported here so xmlsec_verify works without python3-saml installed.
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings

    if isinstance(saml_response_b64, bytes):
        saml_response_b64 = saml_response_b64.decode("ascii")
    try:
        settings = OneLogin_Saml2_Settings(
            onelogin_settings(idp_cert_pem, idp_entity_id, sp_entity_id, acs,
                              want_messages_signed, want_attribute_statement),
            sp_validation_only=False)
        response = OneLogin_Saml2_Response(settings, saml_response_b64)
        ok = response.is_valid(_request_data(acs, saml_response_b64), request_id=request_id)
    except Exception as e:  # a malformed response makes the constructor raise
        return False, [f"{type(e).__name__}: {e}"], {}, None
    if not ok:
        return False, [response.get_error() or "invalid response"], {}, None
    return True, [], response.get_attributes(), response.get_nameid()

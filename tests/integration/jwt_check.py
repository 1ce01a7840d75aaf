"""Checks of the signed identity header ([headers] jwt_key) by independent
code: the OpenSSL command line verifies the ES256 signature against the
public key the portal publishes at PORTAL/jwks.json.

    claims = check_token(token, SRV.url("/edgeidp/jwks.json"))
"""
import base64
import hashlib
import json
import os
import subprocess
import tempfile

import requests


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwk_to_pem(jwk, d):
    """A P-256 public key from its JWK, as PEM (SubjectPublicKeyInfo)."""
    spki_prefix = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004")
    der = spki_prefix + b64url(jwk["x"]) + b64url(jwk["y"])
    path = os.path.join(d, "pub.pem")
    with open(path, "w", encoding="ascii") as f:
        f.write("-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der).decode()
                + "-----END PUBLIC KEY-----\n")
    return path


def der_signature(raw):
    """JWS r || s as the DER ECDSA-Sig-Value that openssl dgst wants."""
    def integer(b):
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return bytes([2, len(b)]) + b
    body = integer(raw[:32]) + integer(raw[32:])
    return bytes([0x30, len(body)]) + body


def openssl_verifies(token, pub, d):
    signed, _, sig = token.rpartition(".")
    with open(os.path.join(d, "data"), "wb") as f:
        f.write(signed.encode())
    with open(os.path.join(d, "sig"), "wb") as f:
        f.write(der_signature(b64url(sig)))
    p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature",
                        os.path.join(d, "sig"), os.path.join(d, "data")],
                       capture_output=True, text=True)
    return p.returncode == 0 and "Verified OK" in p.stdout


def check_token(token, jwks_url):
    """Asserts the token's shape, its header and its signature (and that a
    forged payload under the same signature fails); returns the claims."""
    assert token.count(".") == 2, token
    jwks = requests.get(jwks_url, timeout=30)
    assert jwks.status_code == 200, jwks.status_code
    assert jwks.headers["Content-Type"].startswith("application/jwk-set+json"), jwks.headers
    (jwk,) = jwks.json()["keys"]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256", jwk
    # kid: the RFC 7638 thumbprint (required members, sorted, no spaces)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")},
                           separators=(",", ":"), sort_keys=True)
    assert jwk["kid"] == b64url_encode(hashlib.sha256(canonical.encode()).digest()), jwk
    head, payload, sig = token.split(".")
    assert json.loads(b64url(head)) == {"alg": "ES256", "typ": "JWT", "kid": jwk["kid"]}, head
    claims = json.loads(b64url(payload))
    with tempfile.TemporaryDirectory() as d:
        pub = jwk_to_pem(jwk, d)
        assert openssl_verifies(token, pub, d), "openssl does not verify the token"
        forged = b64url_encode(json.dumps(dict(claims, sub="mallory")).encode())
        assert not openssl_verifies(".".join([head, forged, sig]), pub, d), "forgery verified"
    return claims
